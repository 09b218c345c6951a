"""Envelopes and transactions for the receive-path targets, made with the project's code:
europol (a real peer, with its real signing key) sends to cc@interpol."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from secureline.cli.samples import draft
from secureline.domain.addresses import Address
from secureline.domain.message import compose, content_digest, parse_draft
from secureline.services.line.settings import LineError
from secureline.services.line.wire import envelope_payload, sign_message_envelope
from secureline.services.submission import new_message_id
from tests.fuzz import common

_TXN = itertools.count()


def payloads(count: int = 4) -> list[bytes]:
    """Valid envelope payloads from europol to cc@interpol, as the sender would sign them."""
    out = []
    for seed in range(count):
        rng = random.Random(seed)
        now = datetime.now(UTC)
        message = compose(
            parse_draft(draft(rng, "cc@interpol", "cyber-crime", f"f{seed}", n_entities=3)),
            message_id=new_message_id(),
            sender=Address("ops", "europol"),
            now=now,
            default_review_date=(now + timedelta(days=365)).date(),
        )
        out.append(envelope_payload(message, "interpol", None))
    return out


def sign(payload: bytes) -> str:
    return sign_message_envelope(payload, common.nodes()["europol"].identity.signing)


def body(tokens: list[str], evidence: list[str] | None = None) -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "envelopes": [{"token": t, "path": ["europol"]} for t in tokens],
            "evidence": evidence or [],
        }
    )


def receive(data: bytes) -> None:
    """What the line server does for PUT /line/v1/transactions/{txn}, past the TLS check."""
    interpol = common.nodes()["interpol"]
    digest = interpol.directory.agreement_digest("europol")
    txn = f"fuzz-{next(_TXN):08d}"

    def call() -> None:
        try:
            interpol.inbox.receive("europol", txn, data, digest)
        except LineError as exc:
            if exc.status >= 500:
                raise common.Finding(("LineError5xx", exc.code), str(exc)) from exc

    common.guarded(call, ())


def reseal(payload: dict[str, Any]) -> bytes:
    """The payload as bytes, with the header's digest made to match its (mutated) content, so
    that the checks after the digest are reached."""
    content = payload.get("content")
    header = payload.get("header")
    if isinstance(content, str) and isinstance(header, dict):
        header["content_digest"] = content_digest(content.encode())
    return orjson.dumps(payload)
