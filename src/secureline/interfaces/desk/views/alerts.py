"""Alerts under four eyes (``services/alert_review.py``): the held-for-review queue of the
user's unit, where a second officer (never the alert's author) approves an alert, which then
leaves, or rejects it with a reason, and it never leaves. Composing an alert to several
units is the compose page's (kind ``alert``); its per-recipient evidence is on its message
page.

- ``GET /desk/alerts``: the queue, oldest first, with what each decision does.
- ``POST /desk/alerts/{id}/approve`` and ``POST /desk/alerts/{id}/reject`` (``reason``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.interfaces.desk.views.common import field, message_id
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import NotFoundError, ServiceError


class AlertViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.review = desk.services.messaging.review

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/alerts", guard(self.queue)),
            Route("/alerts/{message_id}/approve", guard(self.approve), methods=["POST"]),
            Route("/alerts/{message_id}/reject", guard(self.reject), methods=["POST"]),
        ]

    async def queue(
        self,
        request: Request,
        session: DeskSession,
        problem: ServiceError | None = None,
        about: str = "",
    ) -> Response:
        """GET /desk/alerts: the unit's alerts waiting for a second officer."""
        items = await run_in_threadpool(self.review.held_in_units, session.principal)
        return self.desk.render(
            request,
            "alerts.html",
            problem.status if problem else 200,
            session=session,
            items=items,
            problem=problem,
            about=about,
        )

    async def approve(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/alerts/{id}/approve: release it; its deliveries are queued."""
        mid = message_id(request)
        return await self._decide(
            request, session, mid, lambda: self.review.approve_in_unit(session.principal, mid)
        )

    async def reject(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/alerts/{id}/reject: refuse it for good, with the reason given."""
        mid, reason = message_id(request), field(request.state.form, "reason")
        return await self._decide(
            request,
            session,
            mid,
            lambda: self.review.reject_in_unit(session.principal, mid, reason),
        )

    async def _decide(
        self, request: Request, session: DeskSession, mid: str, call: Callable[[], object]
    ) -> Response:
        try:
            await run_in_threadpool(call)
        except NotFoundError:
            raise
        except ServiceError as exc:  # own alert, decided already, no reason: said on the queue
            return await self.queue(request, session, exc, mid)
        return RedirectResponse(f"/desk/messages/{mid}", 303)
