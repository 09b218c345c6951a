"""The evidence document's wire model: every field typed and bounded once, where it comes in.

A peer's evidence document is checked here before anything else reads it, so no later step
(the store's columns, the audit chain, a log line) can meet a value it cannot hold. A document
that does not fit is refused as a whole with :class:`EvidenceRefused`, whose ``code`` is stable
and whose ``field`` names the offending field; its message never repeats the value (which may
be 10,000 characters, or hold a NUL).

The limits (docs/protocol.md §6) are derived from the store's columns: ids are ``ID``
(64), node names ``NAME`` (63), reason codes the 60 of ``deliveries.reason_code``. Those a
header shares (node names, message ids) are ``domain.limits``'; the others are evidence's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from secureline.crypto.envelope import verify_envelope
from secureline.crypto.keys import VerifyKey
from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.jsontext import DuplicateKey, loads_unique
from secureline.domain.limits import ID_MAX_CHARS, NAME_MAX_CHARS
from secureline.domain.message import MESSAGE_ID
from secureline.services.line.wire import (
    EVIDENCE_TYPE,
    VERSION,
    EvidenceDocument,
    EvidenceItem,
    EvidenceKind,
    WireError,
    node_of_kid,
)

__all__ = [
    "MAX_EVIDENCE_ID_CHARS",
    "MAX_NODE_CHARS",
    "MAX_MESSAGE_ID_CHARS",
    "MAX_REASON_CODE_CHARS",
    "MAX_REASON_TEXT_CHARS",
    "MAX_CHECKPOINT_CHARS",
    "MAX_ISSUED_AT_CHARS",
    "MAX_ITEMS",
    "EvidenceRefused",
    "parse_evidence",
    "read_evidence_payload",
    "fit_item",
]

#: ``evidence_tokens.id`` is ``ID`` (String(64)); ours are ``ev-`` and 24 hex digits.
MAX_EVIDENCE_ID_CHARS = 64
#: A node name (``NAME``, String(63)), as ``domain.addresses.NAME_PATTERN`` allows.
MAX_NODE_CHARS = NAME_MAX_CHARS
#: A message id (``ID``), as ``domain.message.MESSAGE_ID`` allows.
MAX_MESSAGE_ID_CHARS = ID_MAX_CHARS
#: ``deliveries.reason_code`` is String(60); ours are short snake_case codes.
MAX_REASON_CODE_CHARS = 60
#: A refusal's explanation for people; ours are one line. Longer ones are cut when issued.
MAX_REASON_TEXT_CHARS = 1000
#: An audit checkpoint JWS is about 450 characters; room for a longer kid.
MAX_CHECKPOINT_CHARS = 2048
#: ``datetime.isoformat()`` of an aware time is at most 32 characters.
MAX_ISSUED_AT_CHARS = 40
#: More items than any transaction may carry (``max_batch_messages``) is not a document of ours.
MAX_ITEMS = 10_000

_EVIDENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_NODE = re.compile(NAME_PATTERN)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REASON_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,59}")
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# C0 and C1 controls and DEL (NUL among them); lone surrogates are refused by orjson already.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KINDS = {kind.value: kind for kind in EvidenceKind}
_DOCUMENT_MEMBERS = ("v", "id", "issuer", "issued_at", "checkpoint", "items")


class EvidenceRefused(WireError):
    """An evidence document that does not fit its wire model; ``field`` names the field."""

    def __init__(self, code: str, field: str, problem: str) -> None:
        super().__init__(f"evidence field {field}: {problem}", code=code)
        self.field = field


def _malformed(field: str, problem: str) -> EvidenceRefused:
    return EvidenceRefused("malformed_evidence", field, problem)


def _text(data: Mapping[str, Any], key: str, field: str, limit: int, shape: re.Pattern[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _malformed(field, "must be a string")
    if len(value) > limit:
        raise EvidenceRefused("field_too_long", field, f"longer than {limit} characters")
    if shape.fullmatch(value) is None:
        raise EvidenceRefused("invalid_field", field, "has characters or a form not allowed")
    return value


def _reason_text(data: Mapping[str, Any], field: str) -> str | None:
    value = data.get("reason_text")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(field, "must be a string or null")
    if len(value) > MAX_REASON_TEXT_CHARS:
        raise EvidenceRefused(
            "field_too_long", field, f"longer than {MAX_REASON_TEXT_CHARS} characters"
        )
    if _CONTROL.search(value) is not None:
        raise EvidenceRefused("invalid_field", field, "holds control characters")
    return value


def _item(raw: object, index: int) -> EvidenceItem:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise _malformed(where, "must be an object")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise EvidenceRefused("invalid_field", f"{where}.kind", "is not a known kind")
    code = raw.get("reason_code")
    if code is not None:
        code = _text(
            raw, "reason_code", f"{where}.reason_code", MAX_REASON_CODE_CHARS, _REASON_CODE
        )
    return EvidenceItem(
        _text(raw, "message_id", f"{where}.message_id", MAX_MESSAGE_ID_CHARS, MESSAGE_ID),
        _text(raw, "origin", f"{where}.origin", MAX_NODE_CHARS, _NODE),
        _text(raw, "destination", f"{where}.destination", MAX_NODE_CHARS, _NODE),
        _KINDS[kind],
        _text(raw, "envelope_sha256", f"{where}.envelope_sha256", 64, _SHA256),
        code,
        _reason_text(raw, f"{where}.reason_text"),
    )


def _issued_at(data: Mapping[str, Any]) -> datetime:
    value = data.get("issued_at")
    if not isinstance(value, str):
        raise _malformed("issued_at", "must be a string")
    if len(value) > MAX_ISSUED_AT_CHARS:
        raise EvidenceRefused(
            "field_too_long", "issued_at", f"longer than {MAX_ISSUED_AT_CHARS} characters"
        )
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise EvidenceRefused("invalid_field", "issued_at", "is not an ISO 8601 time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        # Compared with aware times later: a naive one would raise there.
        raise EvidenceRefused("invalid_field", "issued_at", "has no time zone offset")
    return at


def _checkpoint(data: Mapping[str, Any]) -> str | None:
    value = data.get("checkpoint")
    if value is None:
        return None
    return _text(data, "checkpoint", "checkpoint", MAX_CHECKPOINT_CHARS, _JWS)


def read_evidence_payload(payload: bytes, signer: str, token: str) -> EvidenceDocument:
    """Type and bound a verified document's payload (``signer``: the node of its kid)."""
    try:
        body = loads_unique(payload)
    except orjson.JSONDecodeError:
        raise _malformed("payload", "is not JSON (or not valid UTF-8)") from None
    except DuplicateKey as exc:
        raise EvidenceRefused("duplicate_key", "payload", str(exc)) from None
    if not isinstance(body, dict):
        raise _malformed("payload", "must be a JSON object")
    if body.get("v") != VERSION:
        raise EvidenceRefused("invalid_field", "v", f"must be {VERSION}")
    missing = [m for m in _DOCUMENT_MEMBERS if m not in body]
    if missing:
        raise _malformed(missing[0], "is missing")
    issuer = _text(body, "issuer", "issuer", MAX_NODE_CHARS, _NODE)
    if issuer != signer:
        raise WireError("evidence issuer is not its signer", code="wrong_signer")
    document_id = _text(body, "id", "id", MAX_EVIDENCE_ID_CHARS, _EVIDENCE_ID)
    issued_at = _issued_at(body)
    checkpoint = _checkpoint(body)
    raw_items = body["items"]
    if not isinstance(raw_items, list):
        raise _malformed("items", "must be a list")
    if len(raw_items) > MAX_ITEMS:
        raise EvidenceRefused("field_too_long", "items", f"more than {MAX_ITEMS} items")
    items = tuple(_item(raw, index) for index, raw in enumerate(raw_items))
    return EvidenceDocument(
        id=document_id,
        issuer=issuer,
        issued_at=issued_at,
        items=items,
        checkpoint=checkpoint,
        token=token,
    )


def parse_evidence(token: object, keys: Mapping[str, VerifyKey]) -> EvidenceDocument:
    """Verify an evidence JWS and type its payload; raises CryptoError or WireError.

    ``token`` is whatever a peer sent: anything but a string is refused here, not deeper."""
    if not isinstance(token, str):
        raise _malformed("evidence", "each document must be a JWS string")
    verified = verify_envelope(token, keys, typ=EVIDENCE_TYPE)
    return read_evidence_payload(verified.payload, node_of_kid(verified.kid), token)


def fit_item(item: EvidenceItem) -> EvidenceItem | None:
    """The item as this node may sign it, so that every receiver's parser takes it in.

    A reason text is cut to its limit with its control characters replaced; an item whose
    ids do not fit (a refusal of an envelope that claimed a 10,000-character destination,
    say) is left out (None): no node can hold a delivery under such a key, so it answers
    nothing, and signing it would make the whole document unreadable to its receiver."""
    if not (
        len(item.message_id) <= MAX_MESSAGE_ID_CHARS
        and MESSAGE_ID.fullmatch(item.message_id)
        and len(item.origin) <= MAX_NODE_CHARS
        and _NODE.fullmatch(item.origin)
        and len(item.destination) <= MAX_NODE_CHARS
        and _NODE.fullmatch(item.destination)
        and _SHA256.fullmatch(item.envelope_sha256)
    ):
        return None
    code, text = item.reason_code, item.reason_text
    if code is not None and not (
        len(code) <= MAX_REASON_CODE_CHARS and _REASON_CODE.fullmatch(code)
    ):
        code = "invalid_reason_code"
    if text is not None and (len(text) > MAX_REASON_TEXT_CHARS or _CONTROL.search(text)):
        text = _CONTROL.sub(" ", text[:MAX_REASON_TEXT_CHARS])
    if text is not None and not text.isascii():
        # A lone surrogate (from a peer's escaped JSON) cannot be signed: orjson refuses it.
        text = text.encode("utf-8", "replace").decode("utf-8")
    if code is item.reason_code and text is item.reason_text:
        return item
    return item._replace(reason_code=code, reason_text=text)
