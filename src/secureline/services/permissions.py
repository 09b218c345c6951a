"""Provider's permissions (grants): how they are signed, carried and verified.

A :class:`~secureline.domain.message.Grant` is signed by the provider's node: its
``signature`` is a JWS (EdDSA, ``typ`` ``secureline-grant+jws``) whose payload is the grant's
canonical JSON without the ``signature`` member (keys sorted, no blanks). A grant travels

* inside a ``permission-grant`` message, as that message's body (the grant's JSON text with
  its signature), from the provider to the recipient that asked; and
* inside ``header.forwarded.grants`` of a forwarded message, where every node the message
  crosses verifies it again (the header is signed by the forwarding node, the grant by the
  provider).

:func:`check_grants` verifies the grants of a forwarded header and returns the ids that
count for :func:`secureline.domain.policy.decide` (``valid_grant_ids``), plus a reason for
every grant that does not verify, naming the grant and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import orjson
from pydantic import ValidationError

from secureline.crypto.envelope import sign_envelope, verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import SigningKey, VerifyKey
from secureline.domain.errors import DomainError, translate
from secureline.domain.jsontext import DuplicateKey, loads_unique
from secureline.domain.message import Forwarded, Grant
from secureline.domain.policy import Reason
from secureline.errors import Refusal
from secureline.store.grants import GrantRow

GRANT_TYPE = "secureline-grant+jws"
INVALID_GRANT = "invalid_grant"


class GrantError(Refusal):
    """A grant that does not verify; the text names the grant and the problem."""

    code = INVALID_GRANT

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _build(data: object) -> Grant:
    try:
        return Grant.model_validate(data)
    except ValidationError as exc:
        raise translate(exc) from None


def grant_payload(grant: Grant) -> bytes:
    """The exact bytes the provider signs: canonical JSON without the signature."""
    return orjson.dumps(
        grant.model_dump(mode="json", exclude={"signature"}), option=orjson.OPT_SORT_KEYS
    )


def sign_grant(grant: Grant, key: SigningKey) -> Grant:
    token = sign_envelope(grant_payload(grant), key, typ=GRANT_TYPE)
    return grant.model_copy(update={"signature": token})


def grant_json(grant: Grant) -> str:
    return orjson.dumps(grant.model_dump(mode="json")).decode()


def parse_grant(data: object) -> Grant:
    """A grant from JSON text or a mapping; raises GrantError naming the problem."""
    try:
        raw = orjson.loads(data) if isinstance(data, str | bytes) else data
    except orjson.JSONDecodeError as exc:
        raise GrantError(f"the grant is not JSON: {exc}") from None
    try:
        return _build(raw)
    except DomainError as exc:
        label = raw.get("id") if isinstance(raw, dict) else None
        raise GrantError(f"grant {label or '(no id)'}: {exc}") from None


def verify_grant(grant: Grant, keys: Mapping[str, VerifyKey]) -> None:
    """Check that the provider's node signed exactly this grant; raise GrantError if not."""
    if not grant.signature:
        raise GrantError(f"grant {grant.id} is not signed")
    try:
        verified = verify_envelope(grant.signature, dict(keys), typ=GRANT_TYPE)
    except CryptoError as exc:
        raise GrantError(
            f"grant {grant.id}: the signature does not verify (forged?): {exc}"
        ) from None
    signer = verified.kid.split("/", 1)[0]
    if signer != grant.provider.node:
        raise GrantError(
            f"grant {grant.id} is signed by {signer}, not by its provider {grant.provider.node}"
        )
    try:
        signed = _build(loads_unique(verified.payload))
    except (orjson.JSONDecodeError, DomainError, DuplicateKey):
        raise GrantError(f"grant {grant.id}: the signed payload is not a grant") from None
    if signed != grant.model_copy(update={"signature": None}):
        raise GrantError(
            f"grant {grant.id}: its fields differ from what the provider signed (altered)"
        )


def grant_problem(
    grant: Grant, forwarded: Forwarded, keys: Mapping[str, VerifyKey], now: datetime
) -> str | None:
    """Why ``grant`` cannot count for ``forwarded``, or None when it verifies."""
    if grant.message_id != forwarded.message_id:
        return (
            f"grant {grant.id} is for message {grant.message_id}, "
            f"not for the forwarded message {forwarded.message_id}"
        )
    if grant.provider.node != forwarded.provider.node:
        return (
            f"grant {grant.id} comes from {grant.provider.node}, "
            f"not from the provider {forwarded.provider.node}"
        )
    if grant.until <= now:
        return f"grant {grant.id} expired at {grant.until.isoformat()}"
    try:
        verify_grant(grant, keys)
    except GrantError as exc:
        return exc.text
    return None


def check_grants(
    forwarded: Forwarded | None, keys: Mapping[str, VerifyKey], now: datetime
) -> tuple[frozenset[str], tuple[Reason, ...]]:
    """The ids of the grants that verify, and one ``invalid_grant`` reason per other grant."""
    if forwarded is None:
        return frozenset(), ()
    valid: set[str] = set()
    reasons: list[Reason] = []
    for grant in forwarded.grants:
        problem = grant_problem(grant, forwarded, keys, now)
        if problem is None:
            valid.add(grant.id)
        else:
            reasons.append(Reason(INVALID_GRANT, problem))
    return frozenset(valid), tuple(reasons)


def received_grant_row(grant: Grant, carrier_id: str, now: datetime) -> GrantRow:
    """How a grant that arrived in a permission-grant message is stored."""
    return grant_row(grant, "received", None, carrier_id, now)


def grant_row(
    grant: Grant, direction: str, request_id: str | None, carrier_id: str | None, now: datetime
) -> GrantRow:
    return GrantRow(
        id=grant.id,
        message_id=grant.message_id,
        provider=str(grant.provider),
        grantee=grant.grantee,
        scope=grant.scope.value,
        purpose=grant.purpose,
        until=grant.until,
        grant_json=grant_json(grant),
        direction=direction,
        request_id=request_id,
        carrier_id=carrier_id,
        stored_at=now,
    )
