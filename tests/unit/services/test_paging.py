"""The cursors as the faces spell them (services/paging.py): read back exactly, and anything
else refused as ``invalid_input`` naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from secureline.services.errors import InvalidInput
from secureline.services.paging import MAX_SEQ, sent_cursor, sent_keyset, seq_keyset
from secureline.store.paging import Keyset


def test_a_seq_cursor_either_way_or_neither() -> None:
    assert seq_keyset(None, None) == Keyset()
    assert seq_keyset("", "") == Keyset()
    assert seq_keyset("42", None) == Keyset(before=42)
    assert seq_keyset(None, str(MAX_SEQ)) == Keyset(after=MAX_SEQ)


@pytest.mark.parametrize(
    ("before", "after", "field"),
    [
        ("-1", None, "before"),
        ("1e3", None, "before"),
        ("١٢", None, "before"),  # Arabic-Indic digits are digits to str.isdigit
        (None, str(MAX_SEQ + 1), "after"),
        (None, "9" * 400, "after"),
        ("3", "4", "before"),
    ],
)
def test_a_bad_seq_cursor_is_refused_naming_its_parameter(
    before: str | None, after: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        seq_keyset(before, after)
    assert refused.value.field == field
    assert refused.value.code == "invalid_input"


def test_a_sent_cursor_reads_back_to_the_same_key() -> None:
    key = (datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC), "msg-0123456789abcdef")
    cursor = sent_cursor(key)
    assert cursor == "1796691723456789.msg-0123456789abcdef"
    assert sent_keyset(cursor, None) == Keyset(before=key)
    assert sent_keyset(None, cursor) == Keyset(after=key)
    assert sent_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    ["1796691723456789", "x.msg-0123456789", "1.MSG-0123456789", "1.msg-01' OR 1=1", "1..a"],
)
def test_a_forged_sent_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="cursor of the sent list"):
        sent_keyset(cursor, None)
