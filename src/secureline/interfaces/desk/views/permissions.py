"""Permissions (``services/unit_permissions.py``, ``Sharing``): the requests the user's unit
received, to grant with a scope and an end date or to refuse with a reason, and the requests
it sent, with their state.

- ``GET /desk/permissions``
- ``POST /desk/permissions/{request_id}/grant`` (``scope``, ``until`` a date, ``purpose``)
- ``POST /desk/permissions/{request_id}/refuse`` (``reason``)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.domain.message import GrantScope
from secureline.interfaces.desk.views.common import field, message_id
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import InvalidInput, NotFoundError, ServiceError


class PermissionViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.sharing = desk.services.sharing
        self.permissions = desk.services.permissions

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/permissions", guard(self.listing)),
            Route("/permissions/{message_id}/grant", guard(self.grant), methods=["POST"]),
            Route("/permissions/{message_id}/refuse", guard(self.refuse), methods=["POST"]),
        ]

    async def listing(
        self,
        request: Request,
        session: DeskSession,
        problem: ServiceError | None = None,
        about: str = "",
    ) -> Response:
        """GET /desk/permissions: received (pending first) and sent, each with its state."""
        received = await run_in_threadpool(self.permissions.received, session.principal)
        sent = await run_in_threadpool(self.permissions.sent, session.principal)
        return self.desk.render(
            request,
            "permissions.html",
            problem.status if problem else 200,
            session=session,
            received=received,
            sent=sent,
            scopes=list(GrantScope),
            problem=problem,
            about=about,
        )

    async def grant(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/permissions/{request_id}/grant: sign and send the grant to the
        requester (``Sharing.grant_permission``)."""
        rid, form = message_id(request), request.state.form

        def call() -> object:
            return self.sharing.grant_permission(
                session.principal,
                rid,
                scope=field(form, "scope") or None,
                until=_end_of(field(form, "until")),
                purpose=field(form, "purpose") or None,
            )

        return await self._decide(request, session, rid, call)

    async def refuse(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/permissions/{request_id}/refuse: refused here, with its reason."""
        rid, reason = message_id(request), field(request.state.form, "reason")
        return await self._decide(
            request,
            session,
            rid,
            lambda: self.sharing.refuse_permission(session.principal, rid, reason),
        )

    async def _decide(
        self, request: Request, session: DeskSession, rid: str, call: Callable[[], object]
    ) -> Response:
        try:
            await run_in_threadpool(call)
        except NotFoundError:
            raise
        except ServiceError as exc:
            return await self.listing(request, session, exc, rid)
        return RedirectResponse("/desk/permissions", 303)


def _end_of(text: str) -> datetime | None:
    """A date from the form as the end of that day, UTC; empty: the service's default."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("until", f"{text!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(23, 59, 59), UTC)
