"""The desk's working pages: inbox, sent, a message, compose (issue 15, first step)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.domain import vocabulary as vocab
from secureline.domain.message import MESSAGE_ID
from secureline.interfaces.desk import explain
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import NotFoundError, ServiceError

#: the kinds a person composes by hand (the others are the node's own: grants, corrections)
COMPOSED_KINDS = (vocab.Kind.REQUEST, vocab.Kind.INFORMATION, vocab.Kind.REPLY)


class Pages:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.messaging = desk.services.messaging
        self.node = desk.services.node

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/", self.home),
            Route("/inbox", guard(self.inbox)),
            Route("/sent", guard(self.sent)),
            Route("/compose", guard(self.compose), methods=["GET", "POST"]),
            Route("/messages/{message_id}", guard(self.message), methods=["GET", "POST"]),
        ]

    async def home(self, request: Request) -> Response:
        """GET /desk/: the inbox (which sends a stranger to the sign-in)."""
        return RedirectResponse("/desk/inbox", 303)

    async def inbox(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/inbox: the unit's newest messages and its unread count."""
        items, unread = await run_in_threadpool(self.messaging.latest, session.principal)
        now = datetime.now(UTC)
        # what is overdue comes first, the most overdue at the top; then the newest first
        overdue = sorted(
            (i for i in items if i.header.deadline and i.header.deadline < now),
            key=lambda i: i.header.deadline,
        )
        rest = [i for i in items if i not in overdue]
        return self.desk.render(
            request, "inbox.html", session=session, items=overdue + rest, unread=unread, now=now
        )

    async def sent(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/sent: what the unit sent, with each destination's delivery state."""
        items = await run_in_threadpool(self.messaging.sent, session.principal)
        return self.desk.render(request, "sent.html", session=session, items=items)

    async def message(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/messages/{id}; POST acknowledges an H3 message's conditions (audited by
        ``Messaging.open``) and shows its content."""
        message_id = request.path_params["message_id"]
        if not MESSAGE_ID.fullmatch(message_id):
            raise NotFoundError("no such message")
        acknowledge = request.method == "POST"
        opened = await run_in_threadpool(
            lambda: self.messaging.open(
                session.principal, message_id, acknowledge_conditions=acknowledge
            )
        )
        sender = opened.header.sender
        mine = sender.node == self.node and sender.unit == session.principal.unit
        trail = None
        if mine:
            trail = await run_in_threadpool(self.messaging.status, session.principal, message_id)
        return self.desk.render(
            request,
            "message.html",
            session=session,
            header=opened.header,
            content=opened.content,
            trail=trail,
        )

    async def compose(self, request: Request, session: DeskSession) -> Response:
        """GET, POST /desk/compose: a refusal shows every reason on the form, kept filled."""
        values: dict[str, list[str]] = {}
        error: ServiceError | None = None
        if request.method == "POST":
            values = request.state.form
            draft = explain.draft_from_form(values)
            try:
                done = await run_in_threadpool(self.messaging.submit, session.principal, draft)
            except ServiceError as exc:
                error = exc
            else:
                return RedirectResponse(f"/desk/messages/{done.id}", 303)
        return self.desk.render(
            request,
            "compose.html",
            422 if error else 200,
            session=session,
            values=values,
            error=error,
            reasons=getattr(error, "reasons", ()),
            kinds=COMPOSED_KINDS,
            areas=list(vocab.CrimeArea),
            handlings=list(vocab.HandlingCode),
            subjects=list(vocab.DataSubject),
            priorities=list(vocab.Priority),
            classifications=list(vocab.Classification),
        )
