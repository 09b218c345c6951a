"""Search over the messages a person may read, for every face (the desk and the API).

Who may see what is the message view's rule (``Messaging.open``), applied inside the query
rather than to its results, so that nothing else reaches a page, a count or a total: a
message is found by a member of a unit whose mailbox holds it, or of the unit that sent it
from this node; nobody finds a message relayed through here. Roles widen nothing: an
administrator or the data protection officer searches their own unit, as they open only
their own unit's messages (the DPO inquires through the audit chain instead).

What is searchable of a message is the store's rule (store/search.py): its subject and case
reference, and, unless it is H3 (whose content shows only behind its conditions), its body,
its entities' names and identifiers and its attachments' names. A purged message is gone
from the index, a corrected one is found by its corrected content.

Showing a result is not opening the message: no read receipt, no ``message.read`` record.
So a result shows only the header (what the inbox shows), never words of the content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from secureline.domain.addresses import Address
from secureline.domain.errors import DomainError
from secureline.domain.message import Header, parse_header
from secureline.domain.vocabulary import CrimeArea, HandlingCode, Kind
from secureline.services.errors import InvalidInput
from secureline.services.paging import MAX_SEQ
from secureline.services.roles import Principal
from secureline.store import search as store
from secureline.store.database import Database
from secureline.store.paging import Keyset

MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
MAX_OFFSET = 10_000


@dataclass(frozen=True)
class Criteria:
    """What a person asks for; every field optional. Dates are whole days (UTC): ``since``
    from its start, ``until`` to its end."""

    text: str = ""
    sender: str | None = None
    crime_area: str | None = None
    handling: str | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 50
    offset: int = 0  # the API's first paging, kept for its callers: pages go by cursor
    #: the page's place (store/paging.py): results older than ``before`` (a result's
    #: ``cursor``), or newer than ``after``; neither, the newest
    before: int | None = None
    after: int | None = None


@dataclass(frozen=True)
class Result:
    header: Header
    direction: str  # in: received by the unit; out: sent by it
    read_at: datetime | None
    cursor: int = 0  # the index's seq: pass it as ``before`` for the results after it


@dataclass(frozen=True)
class Results:
    results: list[Result]
    total: int  # at most store.MAX_COUNTED
    criteria: Criteria
    more: bool = False  # more than ``total`` match
    older: int | None = None  # ``before`` for the next (older) page, None at the end
    newer: int | None = None  # ``after`` for the previous (newer) page, None at the start


class Search:
    def __init__(self, node: str, db: Database) -> None:
        self._node = node
        self._db = db

    def search(self, principal: Principal, criteria: Criteria) -> Results:
        query = store.Query(
            unit=principal.unit,
            sender_address=f"{principal.unit}@{self._node}",
            tokens=tuple(_tokens(criteria.text)),
            sender=_address(criteria.sender),
            crime_area=_choice("crime_area", criteria.crime_area, CrimeArea),
            handling=_choice("handling", criteria.handling, HandlingCode),
            kind=_choice("kind", criteria.kind, Kind),
            since=_day_start(criteria.since),
            until=_day_start(criteria.until + timedelta(days=1)) if criteria.until else None,
            limit=_bounded("limit", criteria.limit, 1, MAX_LIMIT),
            offset=_bounded("offset", criteria.offset, 0, MAX_OFFSET),
            keyset=_keyset(criteria),
        )
        if not principal.unit:
            return Results([], 0, criteria)  # a person of no unit holds no messages
        found = store.search(self._db, query)
        results = [
            Result(parse_header(orjson.loads(h.header_json)), h.direction, h.read_at, h.seq)
            for h in found.hits
        ]
        more = found.total > store.MAX_COUNTED
        total = min(found.total, store.MAX_COUNTED)
        return Results(results, total, criteria, more, found.older, found.newer)


def _keyset(criteria: Criteria) -> Keyset[int]:
    for field in ("before", "after"):
        value = getattr(criteria, field)
        if value is not None:
            _bounded(field, value, 0, MAX_SEQ)
    if criteria.before is not None and criteria.after is not None:
        raise InvalidInput("after", "one of before and after, not both")
    if criteria.offset and (criteria.before is not None or criteria.after is not None):
        raise InvalidInput("offset", "an offset or a cursor, not both")
    return Keyset(criteria.before, criteria.after)


def _tokens(text: str) -> list[str]:
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput("q", f"at most {MAX_QUERY_CHARS} characters")
    return store.tokens(text)


def _address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(Address.parse(value.strip()))
    except DomainError as exc:
        raise InvalidInput("sender", exc.reason) from None


def _choice(field: str, value: str | None, allowed: Any) -> str | None:
    if not value:
        return None
    try:
        return str(allowed(value).value)
    except ValueError:
        raise InvalidInput(field, f"{value!r} is not one of {', '.join(allowed)}") from None


def _bounded(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInput(field, f"must be between {low} and {high}")
    return value


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)
