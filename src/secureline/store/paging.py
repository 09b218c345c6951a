"""Keyset paging of the lists people look through, newest first: the inbox and sent, search
results, the audit chain's records (docs/desk.md, Paging).

A page is found from the key of the row it starts after (a mailbox or index ``seq``, or a
message's ``(created_at, id)``), never by an OFFSET: reading page 2,000 costs what page 1
costs, and a message arriving between two pages shifts nothing (an OFFSET page would show
a row twice or skip one). Older pages read down the list's index from ``before``; a newer
page reads up from ``after`` and is turned round; fewer than a page newer than ``after`` is
the newest page itself, so that "newer" always lands on a full page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_

K = TypeVar("K")
R = TypeVar("R")


@dataclass(frozen=True)
class Keyset(Generic[K]):
    """Where a page starts: the rows older than ``before``, or newer than ``after``, or
    (neither) the newest. Both at once is the caller's mistake (services check it)."""

    before: K | None = None
    after: K | None = None


@dataclass(frozen=True)
class Page(Generic[R, K]):
    """A page's rows, newest first, and the keys to ask for the pages on either side
    (None: there is none)."""

    rows: list[R]
    older: K | None
    newer: K | None


def newest_first(
    run: Callable[[Select[Any]], Sequence[R]],
    query: Select[Any],
    key: Sequence[ColumnElement[Any]],
    keyset: Keyset[Any],
    limit: int,
    key_of: Callable[[R], Any],
) -> Page[R, Any]:
    """One page of ``query`` ordered by ``key`` (its columns, most significant first,
    unique together), newest first. ``run`` executes a select and returns its rows in the
    select's order; ``key_of`` reads a row's key back (an int for one column, a tuple)."""
    if keyset.after is not None:
        up = query.where(_compare(key, keyset.after, newer=True))
        rows = list(run(up.order_by(*(k.asc() for k in key)).limit(limit + 1)))
        if len(rows) > limit:
            page = rows[:limit][::-1]
            return Page(page, key_of(page[-1]), key_of(page[0]))
        keyset = Keyset()  # less than a page newer: the newest page
    down = query
    if keyset.before is not None:
        down = down.where(_compare(key, keyset.before, newer=False))
    rows = list(run(down.order_by(*(k.desc() for k in key)).limit(limit + 1)))
    page = rows[:limit]
    older = key_of(page[-1]) if len(rows) > limit else None
    newer = key_of(page[0]) if keyset.before is not None and page else None
    return Page(page, older, newer)


def _compare(key: Sequence[ColumnElement[Any]], value: Any, *, newer: bool) -> ColumnElement[bool]:
    """``key > value`` (newer) or ``key < value``, a row-value comparison for a composite
    key (both engines compare row values in order and read the index for them)."""
    if len(key) == 1:
        bound = literal(value, type_=key[0].type)
        return key[0] > bound if newer else key[0] < bound
    values = tuple_(*(literal(v, type_=k.type) for k, v in zip(key, value, strict=True)))
    columns = tuple_(*key)
    return columns > values if newer else columns < values
