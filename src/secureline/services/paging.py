"""Cursors as the faces spell them: where a page of a list starts (store/paging.py).

A list keyed by a sequence (the inbox by mailbox ``seq``, which the API's ``cursor`` already
is; search results by the index's ``seq``; the audit chain by record ``seq``) takes the
number itself. The sent list is keyed by a message's ``(created_at, id)``, spelled
``<microseconds since 1970 UTC>.<id>``. A cursor is only a position: whatever it says, a
page holds only what the person may see, so a forged one shows nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from secureline.domain.limits import ID_PATTERN
from secureline.services.errors import InvalidInput
from secureline.store.messages import SentKey
from secureline.store.paging import Keyset

#: a seq cursor's largest value (a signed 64-bit sequence)
MAX_SEQ = 2**63 - 1
T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SENT = re.compile(rf"([0-9]{{1,17}})\.({ID_PATTERN})")


def seq_keyset(before: str | None, after: str | None) -> Keyset[int]:
    """``before`` or ``after`` (the parameters' text, either or neither) as a seq keyset."""
    return Keyset(_one(before, after, "before", _seq), _one(after, before, "after", _seq))


def sent_keyset(before: str | None, after: str | None) -> Keyset[SentKey]:
    return Keyset(_one(before, after, "before", _sent), _one(after, before, "after", _sent))


def sent_cursor(key: SentKey | None) -> str | None:
    if key is None:
        return None
    when, message_id = key
    micros = (when.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{message_id}"


def _one(
    value: str | None, other: str | None, field: str, parse: Callable[[str, str], T]
) -> T | None:
    if not value:
        return None
    if other:
        raise InvalidInput(field, "one of before and after, not both")
    return parse(field, value)


def _seq(field: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_SEQ:
        raise InvalidInput(field, f"a cursor from 0 to {MAX_SEQ}")
    return int(value)


def _sent(field: str, value: str) -> SentKey:
    found = _SENT.fullmatch(value)
    if found is None:
        raise InvalidInput(field, "a cursor of the sent list (<microseconds>.<message id>)")
    return _EPOCH + timedelta(microseconds=int(found.group(1))), found.group(2)
