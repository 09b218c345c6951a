"""Retention (``services/retention.py``): the review queue of the user's unit, where an
officer keeps a message until a new date, with a reason, or purges it now; each choice is
explained on the page, and so is what happens when nobody decides.

- ``GET /desk/retention``
- ``POST /desk/retention/{id}/keep`` (``until`` a date, ``reason``)
- ``POST /desk/retention/{id}/purge`` (``reason``)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.interfaces.desk.views.common import field, message_id
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import InvalidInput, NotFoundError, ServiceError


class RetentionViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.retention = desk.services.retention
        self.threads = desk.services.threads

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/retention", guard(self.queue)),
            Route("/retention/{message_id}/keep", guard(self.keep), methods=["POST"]),
            Route("/retention/{message_id}/purge", guard(self.purge), methods=["POST"]),
        ]

    async def queue(
        self,
        request: Request,
        session: DeskSession,
        problem: ServiceError | None = None,
        about: str = "",
    ) -> Response:
        """GET /desk/retention: the unit's items due for a decision, oldest date first."""
        items = await run_in_threadpool(self.retention.queue, session.principal)
        headers = await run_in_threadpool(
            self.threads.headers, session.principal, [i.message_id for i in items]
        )
        today = datetime.now(UTC).date()
        return self.desk.render(
            request,
            "retention.html",
            problem.status if problem else 200,
            session=session,
            items=items,
            headers=headers,
            today=today,
            problem=problem,
            about=about,
        )

    async def keep(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/retention/{id}/keep: keep it until the date given, for the reason given."""
        mid, form = message_id(request), request.state.form

        def call() -> None:
            until = _date(field(form, "until"))
            self.retention.keep(session.principal, mid, until, field(form, "reason"))

        return await self._decide(request, session, mid, call)

    async def purge(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/retention/{id}/purge: remove its content now; a tombstone stays."""
        mid, reason = message_id(request), field(request.state.form, "reason")
        return await self._decide(
            request, session, mid, lambda: self.retention.purge(session.principal, mid, reason)
        )

    async def _decide(
        self, request: Request, session: DeskSession, mid: str, call: Callable[[], object]
    ) -> Response:
        try:
            await run_in_threadpool(call)
        except NotFoundError:
            raise
        except ServiceError as exc:
            return await self.queue(request, session, exc, mid)
        return RedirectResponse("/desk/retention", 303)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("until", f"{text!r} is not a date (YYYY-MM-DD)") from None
