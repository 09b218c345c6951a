"""``GET /api/v1/inbox``: the user's unit's messages, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel

from secureline.interfaces.api.deps import MAX_CURSOR, Services, User


class InboxItem(BaseModel):
    cursor: int
    id: str
    sender: str
    kind: str
    crime_area: str
    subject: str
    handling: str
    created_at: datetime


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: int | None


def add_inbox_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/inbox", response_model=InboxPage)
    def inbox(
        user: User,
        after: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> InboxPage:
        """GET /api/v1/inbox: the user's unit's messages in arrival order; pass the last
        ``cursor`` as ``after`` for the next page (stable while messages arrive)."""
        page = services.messaging.inbox(user, after, limit)
        items = [
            InboxItem(
                cursor=seq,
                id=h.id,
                sender=str(h.sender),
                kind=h.kind.value,
                crime_area=h.crime_area.value,
                subject=h.subject,
                handling=h.handling.value,
                created_at=h.created_at,
            )
            for seq, h in page
        ]
        return InboxPage(items=items, next_cursor=items[-1].cursor if len(items) == limit else None)
