"""Evidence documents: parse_evidence and custody.check, then the whole receive path with the
document in a transaction's ``evidence`` (custody.apply and the audit chain behind it).

The input is the document's payload, re-signed with europol's real key (``S`` + JSON:
mutated by structure as in target_receive_envelope)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson

from secureline.crypto.envelope import sign_envelope, verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.services.line import custody
from secureline.services.line.evidence_model import parse_evidence
from secureline.services.line.wire import (
    EVIDENCE_TYPE,
    EvidenceItem,
    EvidenceKind,
    WireError,
    sign_evidence,
)
from secureline.services.submission import new_message_id
from tests.fuzz import common, line_support
from tests.fuzz.target_receive_envelope import payload_of

TARGET = "evidence"


def seeds() -> list[bytes]:
    europol = common.nodes()["europol"]
    out = []
    for kind in EvidenceKind:
        item = EvidenceItem(
            new_message_id(),
            "interpol",
            "europol",
            kind,
            hashlib.sha256(kind.value.encode()).hexdigest(),
            "unknown_unit" if kind is EvidenceKind.REFUSED else None,
            "no such unit" if kind is EvidenceKind.REFUSED else None,
        )
        token = sign_evidence(
            new_message_id(), "europol", datetime.now(UTC), [item], None, europol.identity.signing
        )
        keys = {europol.identity.signing.kid: europol.identity.signing.verify_key()}
        payload = verify_envelope(token, keys, typ=EVIDENCE_TYPE).payload
        out += [payload, b"S" + payload]
    return out


def one_input(data: bytes) -> None:
    europol, interpol = common.nodes()["europol"], common.nodes()["interpol"]
    token = sign_envelope(payload_of(data), europol.identity.signing, typ=EVIDENCE_TYPE)
    keys = interpol.directory.verify_keys
    common.guarded(lambda: parse_evidence(token, keys), (CryptoError, WireError))
    # custody.check documents that it never raises: every bad document is skipped.
    common.guarded(lambda: custody.check([token, data.decode("latin-1")], interpol.directory), ())
    line_support.receive(orjson.dumps({"v": 1, "envelopes": [], "evidence": [token]}))
