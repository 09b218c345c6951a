"""``/api/v1/review``: retention: the messages due for a decision, keep or purge one, and
the retention job run now."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import FastAPI
from pydantic import BaseModel

from secureline.interfaces.api.deps import In, MessageId, Reason, ReasonIn, Services, User
from secureline.services import roles


class KeepIn(In):
    until: date
    reason: Reason


class ReviewItemOut(BaseModel):
    message_id: str
    review_date: date
    state: str
    queued_at: datetime | None


class RetentionRunOut(BaseModel):
    queued: list[str]
    purged: list[str]


def add_review_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/review")
    def review_queue(user: User) -> list[ReviewItemOut]:
        """GET /api/v1/review: messages due for a retention decision."""
        return [
            ReviewItemOut(
                message_id=i.message_id,
                review_date=i.review_date,
                state=i.state,
                queued_at=i.queued_at,
            )
            for i in services.retention.queue(user)
        ]

    @app.post("/api/v1/review/{message_id}/keep", status_code=204)
    def review_keep(message_id: MessageId, body: KeepIn, user: User) -> None:
        """POST /api/v1/review/{id}/keep: keep a message until a new review date."""
        services.retention.keep(user, message_id, body.until, body.reason)

    @app.post("/api/v1/review/{message_id}/purge", status_code=204)
    def review_purge(message_id: MessageId, body: ReasonIn, user: User) -> None:
        """POST /api/v1/review/{id}/purge: purge a message now; a tombstone remains."""
        services.retention.purge(user, message_id, body.reason)

    @app.post("/api/v1/review/run")
    def review_run(user: User) -> RetentionRunOut:
        """POST /api/v1/review/run: run the retention job now (administrators)."""
        roles.require(user, roles.Action.RUN_RETENTION, "only administrators run the retention job")
        result = services.retention.run()
        return RetentionRunOut(queued=result.queued, purged=result.purged)
