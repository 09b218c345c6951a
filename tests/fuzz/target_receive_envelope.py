"""LineInbox.receive over envelopes that are mutated and then re-signed with europol's real
key (and their content digest made to match), so that every check after the signature is
reached: the header, the route, the content, the effect of a control or grant.

The input is the envelope payload's bytes. A mutant that is JSON is also mutated by
structure: the first byte picks whether, and which, values are replaced by values of
other shapes (numbers, lists, objects, naive times, very long strings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import atheris  # type: ignore[import-untyped]
import orjson

from secureline.crypto.envelope import sign_envelope
from secureline.services.permissions import GRANT_TYPE
from secureline.services.submission import new_message_id
from tests.fuzz import common, line_support

TARGET = "receive_envelope"


def seeds() -> list[bytes]:
    out = line_support.payloads(4)
    for payload in out[:2]:
        # Content as an object, so that the structural mutations reach inside it.
        obj = orjson.loads(payload)
        obj["content"] = orjson.loads(obj["content"])
        out.append(b"S" + orjson.dumps(obj))
    return out


def _slots(value: Any, into: list[tuple[Any, Any]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            into.append((value, key))
            _slots(inner, into)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            into.append((value, index))
            _slots(inner, into)


def _replacement(fdp: atheris.FuzzedDataProvider) -> Any:
    choice = fdp.ConsumeIntInRange(0, 9)
    if choice == 0:
        return fdp.ConsumeInt(9)
    if choice == 1:
        return fdp.ConsumeRegularFloat()
    if choice == 2:
        return None
    if choice == 3:
        return [fdp.ConsumeUnicodeNoSurrogates(8)]
    if choice == 4:
        return {fdp.ConsumeUnicodeNoSurrogates(4): fdp.ConsumeUnicodeNoSurrogates(8)}
    if choice == 5:
        return fdp.ConsumeBool()
    if choice == 6:
        return "2026-01-01T00:00:00"  # a time without a zone
    if choice == 7:
        return "x" * fdp.ConsumeIntInRange(0, 20000)
    return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 64))


def _structured(data: bytes) -> bytes | None:
    """``S`` + JSON: replace a few values chosen by the JSON's own trailing bytes."""
    try:
        obj = orjson.loads(data[1:])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    fdp = atheris.FuzzedDataProvider(data[-32:])
    slots: list[tuple[Any, Any]] = []
    _slots(obj, slots)
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        if not slots:
            break
        container, key = slots[fdp.ConsumeIntInRange(0, len(slots) - 1)]
        container[key] = _replacement(fdp)
    if not isinstance(obj.get("content"), str) and "content" in obj:
        obj["content"] = orjson.dumps(obj["content"]).decode()
    return line_support.reseal(obj)


def _sign_grant(data: bytes) -> bytes:
    payload = orjson.loads(data)
    content = orjson.loads(payload["content"])
    fields = orjson.loads(content["body"])
    fields.pop("signature")
    # Signed as the raw fields, not through the Grant model, which would refuse what the
    # reproducer is about (a time without a zone): the receiver must refuse it itself.
    token = sign_envelope(
        orjson.dumps(fields, option=orjson.OPT_SORT_KEYS),
        common.nodes()["europol"].identity.signing,
        typ=GRANT_TYPE,
    )
    content["body"] = orjson.dumps({**fields, "signature": token}).decode()
    payload["content"] = orjson.dumps(content).decode()
    return line_support.reseal(payload)


def payload_of(data: bytes) -> bytes:
    """The payload to sign. A recorded reproducer writes ``@NOW@`` for its creation time
    (``@NAIVE@``: the same without a zone) and ``@MID@`` for a fresh message id, so that it
    stays recent and new when replayed; a grant in the content whose signature is
    ``@SIGN@`` is signed with this run's europol key (the nodes are built anew per run)."""
    if b"@" in data:
        now = datetime.now(UTC)
        data = (
            data.replace(b"@NOW@", now.isoformat().encode())
            .replace(b"@NAIVE@", now.replace(tzinfo=None).isoformat().encode())
            .replace(b"@MID@", new_message_id().encode())
        )
        if b"@SIGN@" in data:
            data = _sign_grant(data)
    if data.startswith(b"S"):
        structured = _structured(data)
        if structured is not None:
            return structured
    return data


def one_input(data: bytes) -> None:
    token = line_support.sign(payload_of(data))
    line_support.receive(line_support.body([token]))
