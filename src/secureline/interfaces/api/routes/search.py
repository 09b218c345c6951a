"""``GET /api/v1/search``: the messages the user's unit may read, by words and fields, as
the desk's search finds them (services/search.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel

from secureline.interfaces.api.deps import MAX_CURSOR, Services, User
from secureline.services.errors import InvalidInput
from secureline.services.search import MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS, Criteria

#: a day as YYYY-MM-DD, nothing else (pydantic's date would also take a number of seconds)
Day = Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", max_length=10)]


def _day(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "a day as YYYY-MM-DD") from None


class SearchItem(BaseModel):
    cursor: int
    id: str
    direction: str
    sender: str
    to: list[str]
    kind: str
    crime_area: str
    subject: str
    handling: str
    created_at: datetime
    read_at: datetime | None


class SearchPage(BaseModel):
    total: int  # counted up to 1,000
    more: bool  # more than ``total`` match
    items: list[SearchItem]
    next_cursor: int | None  # ``cursor`` for the next page; None after the last


def add_search_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/search", response_model=SearchPage)
    def search(
        user: User,
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
        sender: Annotated[str | None, Query(max_length=130)] = None,
        crime_area: Annotated[str | None, Query(max_length=40)] = None,
        handling: Annotated[str | None, Query(max_length=4)] = None,
        kind: Annotated[str | None, Query(max_length=40)] = None,
        since: Day = None,
        until: Day = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        cursor: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    ) -> SearchPage:
        """GET /api/v1/search: every word of ``q`` (the last also as a word's beginning)
        in the subject, case reference, body, entities' names and identifiers or
        attachments' names (an H3 message's content is not searched), and the fields
        given, over the messages the unit received or sent; the last stored first, with
        the total (counted up to 1,000; ``more`` says when there are more). The next page:
        pass ``next_cursor`` as ``cursor`` (keyset paging: stable while messages arrive;
        ``offset`` is the older way, not with ``cursor``)."""
        found = services.search.search(
            user,
            Criteria(
                q,
                sender,
                crime_area,
                handling,
                kind,
                _day("since", since),
                _day("until", until),
                limit,
                offset,
                before=cursor,
            ),
        )
        return SearchPage(
            total=found.total,
            more=found.more,
            items=[
                SearchItem(
                    cursor=r.cursor,
                    id=r.header.id,
                    direction=r.direction,
                    sender=str(r.header.sender),
                    to=[str(a) for a in r.header.to],
                    kind=r.header.kind.value,
                    crime_area=r.header.crime_area.value,
                    subject=r.header.subject,
                    handling=r.header.handling.value,
                    created_at=r.header.created_at,
                    read_at=r.read_at,
                )
                for r in found.results
            ],
            next_cursor=found.older,
        )
