"""One message and what may be done with it (issue 15, the message view).

- ``GET /desk/messages/{id}``: handling code, conditions, evaluation, deadline and provider
  first, then the content (an H3 message's only once its conditions are acknowledged: the
  ``POST`` to the same path, audited by ``Messaging.open``), the entities as cards, and the
  evidence trail (deliveries and signed evidence for the sender, tombstones for anyone).
- The actions, each one service call: reply (compose, filled in), forward
  (``Sharing.forward``), request permission (``Sharing.request_permission``) and, for the
  provider, retract (``Sharing.retract``) and correct (``Sharing.correct``). A refusal is
  shown on the message's page with every reason the rules gave.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.domain.message import GrantScope, Header
from secureline.domain.strategic import StrategicReport, read_report
from secureline.domain.vocabulary import Kind
from secureline.interfaces.desk.views.common import field, message_id
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import Refused, ServiceError

T = TypeVar("T")


class MessageViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.messaging = desk.services.messaging
        self.sharing = desk.services.sharing
        self.retention = desk.services.retention
        self.node = desk.services.node

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/messages/{message_id}", guard(self.message), methods=["GET", "POST"]),
            Route("/messages/{message_id}/forward", guard(self.forward), methods=["POST"]),
            Route(
                "/messages/{message_id}/permission-request",
                guard(self.request_permission),
                methods=["POST"],
            ),
            Route("/messages/{message_id}/retract", guard(self.retract), methods=["POST"]),
            Route("/messages/{message_id}/correct", guard(self.correct), methods=["POST"]),
        ]

    async def message(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/messages/{id}; POST acknowledges an H3 message's conditions (audited by
        ``Messaging.open``) and shows its content."""
        return await self.page(request, session, acknowledge=request.method == "POST")

    async def page(
        self,
        request: Request,
        session: DeskSession,
        *,
        acknowledge: bool = False,
        problem: ServiceError | None = None,
        action: str = "",
    ) -> Response:
        """The message's page; ``problem`` is the refusal of ``action`` (a form on it)."""
        mid = message_id(request)
        opened = await run_in_threadpool(
            lambda: self.messaging.open(session.principal, mid, acknowledge_conditions=acknowledge)
        )
        header: Header = opened.header
        sender = header.sender
        mine = sender.node == self.node and sender.unit == session.principal.unit
        trail = None
        if mine:
            trail = await run_in_threadpool(self.messaging.status, session.principal, mid)
        tombstones = (
            await run_in_threadpool(self.retention.tombstones, mid) if self.retention else []
        )
        form: dict[str, list[str]] = getattr(request.state, "form", {}) if problem else {}
        return self.desk.render(
            request,
            "message.html",
            # a refusal by the rules is an answer about the form, as on compose
            (422 if isinstance(problem, Refused) else problem.status) if problem else 200,
            session=session,
            header=header,
            content=opened.content,
            report=_report(header, opened.content),
            trail=trail,
            mine=mine,
            tombstones=tombstones,
            reply=_reply_link(header) if not mine else "",
            scopes=list(GrantScope),
            problem=problem,
            action=action,
            reasons=getattr(problem, "reasons", ()),
            values=form,
            now=datetime.now(UTC),
        )

    async def _act(
        self,
        request: Request,
        session: DeskSession,
        action: str,
        call: Callable[[], T],
        then: Callable[[T], str],
    ) -> Response:
        """Run one service call; on success go where ``then(result)`` says, on a refusal show
        the message again with the reasons beside the form that was posted."""
        try:
            done = await run_in_threadpool(call)
        except ServiceError as exc:
            if exc.status == 404:
                raise
            return await self.page(request, session, problem=exc, action=action)
        return RedirectResponse(then(done), 303)

    async def forward(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/messages/{id}/forward: pass a received message on (its provider's
        handling code, purpose and grants travel with it); H2 needs the provider's grant."""
        mid, form = message_id(request), request.state.form
        to = [a.strip() for a in field(form, "to").replace(";", ",").split(",") if a.strip()]
        purpose = field(form, "purpose") or None
        return await self._act(
            request,
            session,
            "forward",
            lambda: self.sharing.forward(session.principal, mid, to, purpose),
            lambda done: f"/desk/messages/{done.id}",
        )

    async def request_permission(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/messages/{id}/permission-request: ask the provider of a received
        message for a permission (a permission-request message to it)."""
        mid, form = message_id(request), request.state.form
        return await self._act(
            request,
            session,
            "permission",
            lambda: self.sharing.request_permission(
                session.principal,
                mid,
                field(form, "scope"),
                field(form, "grantee"),
                field(form, "purpose") or None,
                field(form, "reason"),
            ),
            lambda done: "/desk/permissions",
        )

    async def retract(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/messages/{id}/retract: the provider deletes it at every recipient."""
        mid, form = message_id(request), request.state.form
        return await self._act(
            request,
            session,
            "retract",
            lambda: self.sharing.retract(session.principal, mid, field(form, "reason")),
            lambda done: f"/desk/messages/{mid}/thread",
        )

    async def correct(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/messages/{id}/correct: the provider replaces its content everywhere."""
        mid, form = message_id(request), request.state.form
        body = form.get("body", [""])[0]  # the body keeps its own spacing
        return await self._act(
            request,
            session,
            "correct",
            lambda: self.sharing.correct(session.principal, mid, field(form, "reason"), body=body),
            lambda done: f"/desk/messages/{mid}/thread",
        )


def _reply_link(header: Header) -> str:
    """Compose, filled in to answer ``header``: to its sender, same area, purpose, case."""
    subject = header.subject if header.subject.startswith("Re: ") else f"Re: {header.subject}"
    fields = {
        "kind": "reply",
        "to": str(header.sender),
        "reply_to": header.id,
        "crime_area": header.crime_area.value,
        "subject": subject[:300],
        "purpose": header.purpose,
        "case_ref": header.case_ref or "",
    }
    return "/desk/compose?" + urlencode({k: v for k, v in fields.items() if v})


def _report(header: Header, content: dict[str, Any] | None) -> StrategicReport | None:
    """A strategic report's typed report, shown as its text, figures and tables."""
    if header.kind is not Kind.STRATEGIC_REPORT or content is None:
        return None
    return read_report(str(content.get("body") or ""))
