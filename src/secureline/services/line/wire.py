"""The line's wire forms: envelopes, evidence documents and transactions (docs/protocol.md).

Envelope payload (JWS compact, typ ``secureline-envelope+jws``, signed by the origin node)::

    {"v": 1, "destination": "<node>", "header": {...}, "content": "<content JSON text>"}
    {"v": 1, "destination": "<node>", "header": {...}, "content_jwe": "<JWE compact>"}

The content travels as the exact text the origin serialised, so the header's
``content_digest`` can be checked without any canonicalisation.

Evidence document (JWS, typ ``secureline-evidence+jws``, signed by the issuing node)::

    {"v": 1, "id": "...", "issuer": "<node>", "issued_at": "...", "checkpoint": "<JWS>|null",
     "items": [{"message_id", "origin", "destination", "kind", "reason_code", "reason_text",
                "envelope_sha256"}]}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from secureline.crypto.encoding import b64url_decode
from secureline.crypto.envelope import sign_envelope, verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import SigningKey, VerifyKey
from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.jsontext import DuplicateKey, loads_unique
from secureline.domain.message import MESSAGE_ID, Message
from secureline.errors import Refusal
from secureline.services.line.settings import LineError

VERSION = 1
ENVELOPE_TYPE = "secureline-envelope+jws"
EVIDENCE_TYPE = "secureline-evidence+jws"
_NODE = re.compile(NAME_PATTERN)


class WireError(Refusal):
    """A wire document that does not have the documented form (a ``Refusal``, named)."""

    code = "malformed_envelope"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code=code or None)


class EvidenceKind(StrEnum):
    RELAYED = "relayed"  # a relay took custody and forwards it
    DELIVERED = "delivered"  # the destination committed it to its store
    READ = "read"  # a recipient opened it for the first time
    REFUSED = "refused"  # a node refused it; the reason says why


_KINDS = {kind.value: kind for kind in EvidenceKind}  # a look-up, where EvidenceKind() is slow


class EvidenceItem(NamedTuple):
    """One statement about one envelope. A tuple: one is made per message at each end."""

    message_id: str
    origin: str
    destination: str
    kind: EvidenceKind
    envelope_sha256: str
    reason_code: str | None = None
    reason_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "origin": self.origin,
            "destination": self.destination,
            "kind": self.kind.value,
            "envelope_sha256": self.envelope_sha256,
            "reason_code": self.reason_code,
            "reason_text": self.reason_text,
        }


@dataclass(frozen=True)
class EvidenceDocument:
    id: str
    issuer: str
    issued_at: datetime
    items: tuple[EvidenceItem, ...]
    checkpoint: str | None
    token: str


def envelope_payload(message: Message, destination: str, content_jwe: str | None) -> bytes:
    body: dict[str, Any] = {
        "v": VERSION,
        "destination": destination,
        "header": message.header_json,
    }
    if content_jwe is None:
        body["content"] = message.content_bytes.decode()
    else:
        body["content_jwe"] = content_jwe
    return orjson.dumps(body)


def sign_message_envelope(payload: bytes, key: SigningKey) -> str:
    return sign_envelope(payload, key, typ=ENVELOPE_TYPE)


class OpenedEnvelope(NamedTuple):
    signer_node: str
    destination: str
    header_json: dict[str, Any]
    content: bytes | None
    content_jwe: str | None


def open_envelope(token: str, keys: dict[str, VerifyKey]) -> OpenedEnvelope:
    """Verify the origin's signature and split the payload; the header is parsed by the caller."""
    verified = verify_envelope(token, keys, typ=ENVELOPE_TYPE)
    try:
        body = loads_unique(verified.payload)
    except orjson.JSONDecodeError:
        raise WireError("envelope payload is not JSON") from None
    except DuplicateKey as exc:
        raise WireError(f"envelope payload {exc}", code="duplicate_key") from None
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise WireError(f"envelope version must be {VERSION}")
    unknown = set(body) - {"v", "destination", "header", "content", "content_jwe"}
    if unknown:
        raise WireError(f"envelope has unknown fields {sorted(unknown)}")
    destination, header = body.get("destination"), body.get("header")
    content, content_jwe = body.get("content"), body.get("content_jwe")
    if not isinstance(destination, str) or not isinstance(header, dict):
        raise WireError("envelope needs a destination and a header")
    if (content is None) == (content_jwe is None):
        raise WireError("envelope needs exactly one of content and content_jwe")
    if content is not None and not isinstance(content, str):
        raise WireError("envelope content must be JSON text")
    if content_jwe is not None and not isinstance(content_jwe, str):
        raise WireError("envelope content_jwe must be a JWE compact string")
    return OpenedEnvelope(
        signer_node=node_of_kid(verified.kid),
        destination=destination,
        header_json=header,
        content=content.encode() if content is not None else None,
        content_jwe=content_jwe,
    )


#: The message id a refusal names when the envelope's header could not be read:
#: ``unreadable-`` and 16 hex digits of the envelope's SHA-256 (the item names the whole digest).
UNREADABLE = "unreadable-"


def claimed_identity(token: str) -> tuple[str, str] | None:
    """The (message id, origin node) an envelope *claims*, read without verifying it.

    Used only to address a refusal of an envelope whose signature failed, so that the
    refusal can find its way back along the route; the refusal names the envelope's digest,
    so it cannot be mistaken for a statement about any other envelope."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = orjson.loads(b64url_decode(parts[1]))["header"]
        message_id, sender = header["id"], header["sender"]
        node = sender.partition("@")[2]
    except (CryptoError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None
    if not (isinstance(message_id, str) and MESSAGE_ID.fullmatch(message_id)):
        return None
    if _NODE.fullmatch(node) is None:
        return None
    return message_id, node


def node_of_kid(kid: str) -> str:
    return kid.split("/", 1)[0]


def envelope_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_evidence(
    token_id: str,
    issuer: str,
    issued_at: datetime,
    items: Sequence[EvidenceItem],
    checkpoint: str | None,
    key: SigningKey,
) -> str:
    payload = orjson.dumps(
        {
            "v": VERSION,
            "id": token_id,
            "issuer": issuer,
            "issued_at": issued_at.isoformat(),
            "checkpoint": checkpoint,
            "items": [item.to_json() for item in items],
        }
    )
    return sign_envelope(payload, key, typ=EVIDENCE_TYPE)


def open_evidence(token: str, keys: dict[str, VerifyKey]) -> EvidenceDocument:
    verified = verify_envelope(token, keys, typ=EVIDENCE_TYPE)
    try:
        body = loads_unique(verified.payload)
        issuer = body["issuer"]
        if issuer != node_of_kid(verified.kid):
            raise WireError("evidence issuer is not its signer", code="wrong_signer")
        items = tuple(
            EvidenceItem(
                str(i["message_id"]),
                str(i["origin"]),
                str(i["destination"]),
                _KINDS[i["kind"]],
                str(i["envelope_sha256"]),
                i.get("reason_code"),
                i.get("reason_text"),
            )
            for i in body["items"]
        )
        return EvidenceDocument(
            id=str(body["id"]),
            issuer=str(issuer),
            issued_at=datetime.fromisoformat(body["issued_at"]),
            items=items,
            checkpoint=body.get("checkpoint"),
            token=token,
        )
    except (KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise WireError(f"evidence document is malformed: {exc}") from None


# --- transactions (PUT /line/v1/transactions/{txn_id}; docs/protocol.md) ---------------------


class InboundEnvelope(NamedTuple):
    token: str
    path: list[Any]  # checked by the receiver (a short list of node names)


class Transaction(NamedTuple):
    envelopes: list[InboundEnvelope]
    evidence: list[str]
    #: the sender's signed statement of what it supports (None: an older node's transaction)
    capabilities: object = None


def parse_transaction(body: bytes, max_items: int) -> Transaction:
    """A transaction's body, or LineError 400 ``malformed_transaction`` (413
    ``batch_too_large`` over ``max_items`` envelopes and evidence documents)::

        {"v": 1, "envelopes": [{"token": "<JWS>", "path": ["<node>", ...]}],
         "evidence": ["<JWS>", ...], "capabilities": "<JWS>"}

    ``capabilities`` (optional: an older node omits it) is checked by the directory
    (services/line/capabilities.py ``open_statement``), not here."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise LineError(400, "malformed_transaction", "the body is not JSON") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise LineError(400, "malformed_transaction", "expected an object with v=1")
    envelopes, evidence = data.get("envelopes", []), data.get("evidence", [])
    if not isinstance(envelopes, list) or not isinstance(evidence, list):
        raise LineError(400, "malformed_transaction", "envelopes and evidence must be lists")
    if len(envelopes) + len(evidence) > max_items:
        raise LineError(413, "batch_too_large", f"over {max_items} items in one transaction")
    for item in envelopes:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("token"), str)
            and isinstance(item.get("path"), list)
        ):
            raise LineError(400, "malformed_transaction", "each envelope needs token and path")
    if not all(isinstance(t, str) for t in evidence):
        raise LineError(400, "malformed_transaction", "evidence items must be strings")
    return Transaction(
        [InboundEnvelope(e["token"], e["path"]) for e in envelopes],
        evidence,
        data.get("capabilities"),
    )


def transaction_answer(
    txn_id: str,
    evidence: Sequence[str],
    taken: int,
    rejected: Sequence[str],
    capabilities: str | None = None,
) -> bytes:
    """The receiver's answer: its signed evidence, how many of the peer's evidence
    documents it took in or rejected (with why), and its signed statement of what it
    supports (``capabilities``, which an older node's answer lacks)."""
    answer: dict[str, Any] = {
        "v": VERSION,
        "txn_id": txn_id,
        "evidence": list(evidence),
        "evidence_taken": taken,
        "evidence_rejected": list(rejected),
    }
    if capabilities is not None:
        answer["capabilities"] = capabilities
    return orjson.dumps(answer)
