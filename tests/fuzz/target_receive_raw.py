"""LineInbox.receive over raw transaction bodies (seeds: real signed transactions)."""

from __future__ import annotations

from tests.fuzz import line_support

TARGET = "receive_raw"


def seeds() -> list[bytes]:
    envelopes = [line_support.sign(p) for p in line_support.payloads(2)]
    return [
        line_support.body(envelopes[:1]),
        line_support.body(envelopes),
        line_support.body([]),
    ]


def one_input(data: bytes) -> None:
    line_support.receive(data)
