"""The audit chain's pure rules: what an event is, how a record is hashed, what a node signs.

The chain is tamper-evident, not tamper-proof: anyone with write access to the store can
change a row, but not without breaking a hash link, a recomputed hash, or a checkpoint the
node signed (and, once the node handed that checkpoint to a partner, a signature the node
can no longer take back). Everything here is pure so that the exact bytes that are hashed
and signed are defined in one place, which ``docs/protocol.md`` cites.

Record hash (version ``secureline-audit-record/1``)::

    hash = lower-case hex SHA-256 of the UTF-8 JSON text of the array
        ["secureline-audit-record/1", prev_hash, seq, at, actor, action, object, outcome,
         [[key, value], ...]]

* ``seq`` is a JSON integer; every other member is a JSON string.
* ``at`` is the UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits).
* the detail is a list of ``[key, value]`` pairs sorted by key (Unicode code point order),
  so no JSON object and no key-ordering rule is involved.
* the JSON text has no whitespace and escapes only what RFC 8259 requires (``"``, ``\\``
  and U+0000..U+001F, using ``\\n``-style short forms where they exist, else ``\\u00XX``);
  non-ASCII characters are written as themselves. This is exactly Python's
  ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` and orjson's output.

An array (not an object) with a version tag first makes the encoding unambiguous: no two
different records, and no record of another version, encode to the same bytes.

Checkpoint payload (version ``secureline-audit-checkpoint/1``): the JSON object
``{"at": at, "head_hash": hash, "node": node, "seq": seq, "v": version}`` with keys sorted
and the same JSON rules; the node signs these bytes as a JWS of type
``secureline-checkpoint+jws``. A checkpoint at ``seq`` 0 names :data:`GENESIS_HASH`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from secureline.domain.errors import DomainError
from secureline.domain.limits import AUDIT_CODE_MAX_CHARS, AUDIT_NAME_MAX_CHARS

__all__ = [
    "GENESIS_HASH",
    "RECORD_HASH_VERSION",
    "CHECKPOINT_VERSION",
    "MAX_NAME_CHARS",
    "MAX_CODE_CHARS",
    "AuditAction",
    "AuditEvent",
    "AuditRecord",
    "CheckpointStatement",
    "InvalidAuditData",
    "format_at",
    "parse_at",
    "encode_detail",
    "decode_detail",
    "record_hash",
    "checkpoint_payload",
    "parse_checkpoint_payload",
    "is_hash",
]

GENESIS_HASH = "0" * 64
RECORD_HASH_VERSION = "secureline-audit-record/1"
CHECKPOINT_VERSION = "secureline-audit-checkpoint/1"
#: Longest actor or object (the store's column width): ``unit@node``, a user, a message id.
#: Derived from the bounds where the bytes come in, so that no value the line's parser let
#: through can fail here (tests/unit/domain/test_limits.py).
MAX_NAME_CHARS = AUDIT_NAME_MAX_CHARS
#: Longest action or outcome: short machine codes.
MAX_CODE_CHARS = AUDIT_CODE_MAX_CHARS
_HASH_CHARS = 64
_HEX = frozenset("0123456789abcdef")
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class InvalidAuditData(DomainError):
    """An event that cannot be recorded, or a record or checkpoint that cannot be parsed."""

    code = "invalid_audit_data"


class AuditAction(StrEnum):
    """Every security-relevant event of issue 5; the value is what the chain stores."""

    LOGIN_SUCCESS = "login.success"
    LOGIN_FAILURE = "login.failure"
    SESSION_ENDED = "session.ended"  # a person's CLI session ended by logout
    MESSAGE_CREATED = "message.created"
    MESSAGE_SENT = "message.sent"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_RELAYED = "message.relayed"
    MESSAGE_READ = "message.read"
    MESSAGE_REFUSED = "message.refused"
    MESSAGE_EXPORTED = "message.exported"
    MESSAGE_PURGED = "message.purged"
    MESSAGE_CORRECTED = "message.corrected"
    POLICY_DECISION = "policy.decision"
    PERMISSION_REQUESTED = "permission.requested"
    PERMISSION_GRANTED = "permission.granted"
    PERMISSION_REFUSED = "permission.refused"
    USER_CHANGED = "user.changed"
    UNIT_CHANGED = "unit.changed"
    PEER_CHANGED = "peer.changed"
    AGREEMENT_CHANGED = "agreement.changed"
    KEY_CHANGED = "key.changed"
    CONFIG_CHANGED = "config.changed"
    TOKEN_CHANGED = "token.changed"  # noqa: S105 -- an event name, not a secret
    ALERT_APPROVED = "alert.approved"
    ALERT_REJECTED = "alert.rejected"
    AUDIT_EXPORTED = "audit.exported"
    PARTNER_CHECKPOINT = "audit.partner_checkpoint"  # a partner's checkpoint we could not keep
    HOLDINGS_IMPORTED = "holdings.imported"  # a holdings file imported into the index
    MATCH_SEARCHED = "match.searched"  # a person searched the index (never the query itself)
    HIT_CREATED = "hit.created"  # a received message's entity matched a holding
    HIT_DECIDED = "hit.decided"  # an officer confirmed or dismissed a hit (or was refused)
    INTEROP_IMPORTED = "interop.imported"  # a STIX bundle or MISP event became a message


def _check_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidAuditData(name, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidAuditData(name, f"longer than {limit} characters")
    _check_storable(name, value)
    return value


def _check_storable(name: str, value: str) -> None:
    # Refused here rather than failing later in the hash or the store: lone surrogates
    # cannot be UTF-8 encoded, and PostgreSQL text cannot hold NUL.
    if "\x00" in value:
        raise InvalidAuditData(name, "must not contain NUL")
    if value.isascii():
        return  # the common case, and no surrogate is ASCII
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidAuditData(name, "is not valid Unicode (lone surrogate)") from None


def _storable_at_once(*texts: str) -> bool:
    """True when every text is ASCII without NUL, checked in one pass (the common case:
    every message crossing the node makes an event); False sends each to _check_storable."""
    joined = "".join(texts)
    return joined.isascii() and "\x00" not in joined


def _check_detail(detail: object) -> dict[str, str]:
    if not isinstance(detail, Mapping):
        raise InvalidAuditData("detail", "must be a mapping of strings to strings")
    # A private copy, checked: the caller cannot change what is recorded after the fact.
    copied = dict(detail)
    for key, value in copied.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidAuditData("detail", "keys and values must be strings")
    if not _storable_at_once(*copied, *copied.values()):
        for key, value in copied.items():
            _check_storable("detail", key)
            _check_storable("detail", value)
    return copied


@dataclass(frozen=True)
class AuditEvent:
    """Something that happened and must be on the record; the chain adds seq, time, hashes."""

    actor: str
    action: AuditAction
    object: str  # the audit vocabulary (actor, action, object) is the law's
    outcome: str = "ok"
    detail: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        actor, obj, outcome = self.actor, self.object, self.outcome
        plain = (
            actor.__class__ is str
            and obj.__class__ is str
            and outcome.__class__ is str
            and 0 < len(actor) <= MAX_NAME_CHARS
            and 0 < len(obj) <= MAX_NAME_CHARS
            and 0 < len(outcome) <= MAX_CODE_CHARS
            and _storable_at_once(actor, obj, outcome)
        )
        if not plain:  # checked one by one, so that the error names the field
            _check_text("actor", actor, MAX_NAME_CHARS)
            _check_text("object", obj, MAX_NAME_CHARS)
            _check_text("outcome", outcome, MAX_CODE_CHARS)
        if not isinstance(self.action, AuditAction):
            try:
                object.__setattr__(self, "action", AuditAction(self.action))
            except ValueError:
                raise InvalidAuditData("action", f"unknown action {self.action!r}") from None
        if self.detail is not None:
            object.__setattr__(self, "detail", _check_detail(self.detail))


@dataclass(frozen=True)
class AuditRecord:
    """One link of the chain as stored and exported.

    ``action`` is a plain string, not :class:`AuditAction`, so that a record written by a
    newer version (or a partner's) still parses and verifies.
    """

    seq: int
    at: datetime
    actor: str
    action: str
    object: str
    outcome: str
    detail: dict[str, str] = field(hash=False)
    prev_hash: str
    hash: str  # the record's own hash; the name is the protocol's

    def expected_hash(self) -> str:
        """What :attr:`hash` must be for this record's contents and predecessor."""
        return record_hash(
            self.prev_hash,
            self.seq,
            self.at,
            self.actor,
            self.action,
            self.object,
            self.outcome,
            self.detail,
        )

    def to_dict(self) -> dict[str, Any]:
        """The export form (JSON lines): every member of the hash, plus the hashes."""
        return {
            "seq": self.seq,
            "at": format_at(self.at),
            "actor": self.actor,
            "action": self.action,
            "object": self.object,
            "outcome": self.outcome,
            "detail": dict(sorted(self.detail.items())),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """Parse an exported record (ours or a partner's); types are checked, not trusted."""
        if not isinstance(data, Mapping):
            raise InvalidAuditData("record", "must be a JSON object")
        seq = data.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise InvalidAuditData("seq", "must be a positive integer")
        at = data.get("at")
        if not isinstance(at, str):
            raise InvalidAuditData("at", "must be a string")
        texts = {}
        for name in ("actor", "action", "object", "outcome", "prev_hash", "hash"):
            value = data.get(name)
            if not isinstance(value, str):
                raise InvalidAuditData(name, "must be a string")
            texts[name] = value
        return cls(
            seq=seq,
            at=parse_at(at),
            actor=texts["actor"],
            action=texts["action"],
            object=texts["object"],
            outcome=texts["outcome"],
            detail=_check_detail(data.get("detail")),
            prev_hash=texts["prev_hash"],
            hash=texts["hash"],
        )


@functools.lru_cache(maxsize=256)
def format_at(at: datetime) -> str:
    """The one spelling of a time in the chain: UTC, microseconds, ``Z``.

    Cached because a batch of records shares one time and formatting is a third of the
    cost of hashing a record.
    """
    if at.tzinfo is None:
        raise InvalidAuditData("at", "must be timezone-aware")
    return at.astimezone(UTC).strftime(_AT_FORMAT)


def parse_at(text: str) -> datetime:
    """Inverse of :func:`format_at`, refusing every other spelling."""
    try:
        at = datetime.strptime(text, _AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidAuditData("at", f"not a time in the form {_AT_FORMAT}") from None
    if format_at(at) != text:
        raise InvalidAuditData("at", "not in canonical form")
    return at


def encode_detail(detail: Mapping[str, str] | None) -> str:
    """The stored form of a detail: a JSON object with sorted keys (one spelling per value)."""
    return orjson.dumps(dict(sorted(detail.items())) if detail else {}).decode()


def decode_detail(text: str) -> dict[str, str]:
    """Parse a stored detail, refusing any text that is not exactly its canonical form."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidAuditData("detail", "is not JSON") from None
    detail = _check_detail(value)
    if encode_detail(detail) != text:
        raise InvalidAuditData("detail", "is not in canonical form")
    return detail


def record_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object: str,  # noqa: A002 -- named as the record's field
    outcome: str,
    detail: Mapping[str, str],
) -> str:
    """SHA-256 (hex) of the canonical encoding described in the module docstring."""
    encoded = [
        RECORD_HASH_VERSION,
        prev_hash,
        seq,
        format_at(at),
        actor,
        action,
        object,
        outcome,
        [[key, detail[key]] for key in sorted(detail)],
    ]
    try:
        data = orjson.dumps(encoded)
    except (orjson.JSONEncodeError, TypeError) as exc:
        # Lone surrogates, non-string detail, integers beyond 64 bits.
        raise InvalidAuditData("record", f"cannot be encoded: {exc}") from None
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class CheckpointStatement:
    """What a checkpoint asserts: node ``node``'s chain had head ``head_hash`` at ``seq``."""

    node: str
    seq: int
    head_hash: str
    at: datetime


def checkpoint_payload(node: str, seq: int, head_hash: str, at: datetime) -> bytes:
    """The exact bytes a node signs for a checkpoint (see the module docstring)."""
    return orjson.dumps(
        {
            "at": format_at(at),
            "head_hash": head_hash,
            "node": node,
            "seq": seq,
            "v": CHECKPOINT_VERSION,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def parse_checkpoint_payload(data: bytes) -> CheckpointStatement:
    """Parse signed checkpoint bytes, refusing anything but the canonical encoding."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidAuditData("checkpoint", "payload is not JSON") from None
    if not isinstance(value, dict) or value.get("v") != CHECKPOINT_VERSION:
        raise InvalidAuditData("checkpoint", f"payload is not a {CHECKPOINT_VERSION} object")
    node, seq, head_hash, at = (value.get(k) for k in ("node", "seq", "head_hash", "at"))
    if not isinstance(node, str) or not node:
        raise InvalidAuditData("checkpoint", "payload names no node")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidAuditData("checkpoint", "seq must be a non-negative integer")
    if not isinstance(head_hash, str) or not is_hash(head_hash):
        raise InvalidAuditData("checkpoint", "head_hash must be 64 lower-case hex digits")
    if not isinstance(at, str):
        raise InvalidAuditData("checkpoint", "at must be a string")
    statement = CheckpointStatement(node=node, seq=seq, head_hash=head_hash, at=parse_at(at))
    if checkpoint_payload(node, seq, head_hash, statement.at) != data:
        raise InvalidAuditData("checkpoint", "payload is not in canonical form")
    return statement


def is_hash(text: str) -> bool:
    """A SHA-256 hex digest as the chain writes it (64 lower-case hex digits)."""
    return len(text) == _HASH_CHARS and set(text) <= _HEX
