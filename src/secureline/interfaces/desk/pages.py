"""The desk's working pages: inbox, sent, a message, compose (issue 15, first step)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.domain import vocabulary as vocab
from secureline.interfaces.desk import explain
from secureline.interfaces.desk.views.alerts import AlertViews
from secureline.interfaces.desk.views.hits import HitViews
from secureline.interfaces.desk.views.message import MessageViews
from secureline.interfaces.desk.views.permissions import PermissionViews
from secureline.interfaces.desk.views.retention import RetentionViews
from secureline.interfaces.desk.views.thread import ThreadViews
from secureline.interfaces.desk.web import PAGE, Desk, page_links
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import ServiceError
from secureline.services.paging import sent_cursor, sent_keyset, seq_keyset

#: the kinds a person composes by hand (the others are the node's own: grants, corrections)
COMPOSED_KINDS = (vocab.Kind.REQUEST, vocab.Kind.INFORMATION, vocab.Kind.REPLY, vocab.Kind.ALERT)
#: what a link may fill in on the compose form (a reply's "Reply" link)
PREFILLED = ("to", "kind", "reply_to", "crime_area", "subject", "purpose", "case_ref")


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
            Route("/inbox/live", guard(self.inbox_live)),
            Route("/sent", guard(self.sent)),
            Route("/sent/live", guard(self.sent_live)),
            Route("/compose", guard(self.compose), methods=["GET", "POST"]),
            Route("/compose/check", guard(self.compose_check), methods=["POST"]),
            *MessageViews(self.desk).routes(),
            *ThreadViews(self.desk).routes(),
            *AlertViews(self.desk).routes(),
            *PermissionViews(self.desk).routes(),
            *RetentionViews(self.desk).routes(),
            *HitViews(self.desk).routes(),
        ]

    async def home(self, request: Request) -> Response:
        """GET /desk/: the inbox (which sends a stranger to the sign-in)."""
        return RedirectResponse("/desk/inbox", 303)

    async def inbox(
        self, request: Request, session: DeskSession, template: str = "inbox.html"
    ) -> Response:
        """GET /desk/inbox: a page of the unit's messages, newest first (``before`` or
        ``after`` a mailbox seq: the API inbox's cursor), and its unread count."""
        asked = request.query_params
        keyset = seq_keyset(asked.get("before"), asked.get("after"))
        page, unread = await run_in_threadpool(
            self.messaging.inbox_listing, session.principal, keyset, PAGE
        )
        now = datetime.now(UTC)
        # on each page, what is overdue comes first, the most overdue at the top; then the
        # newest first
        late = [(d, i) for i in page.rows if (d := i.header.deadline) is not None and d < now]
        overdue = [i for _, i in sorted(late, key=lambda pair: pair[0])]
        rest = [i for i in page.rows if i not in overdue]
        return self.desk.render(
            request,
            template,
            session=session,
            items=overdue + rest,
            unread=unread,
            now=now,
            here=str(asked),
            pages=page_links(request, page.older, page.newer),
        )

    async def inbox_live(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/inbox/live: the inbox's list alone (the same page of it), which the page
        polls (htmx, every few seconds) so that new messages, read states, the unread count
        and the deadlines' countdown change without a reload; without JavaScript, reloading
        the page does it."""
        return await self.inbox(request, session, "_inbox_live.html")

    async def sent(
        self, request: Request, session: DeskSession, template: str = "sent.html"
    ) -> Response:
        """GET /desk/sent: a page of what the unit sent, newest first (``before`` or
        ``after`` a message's place: services/paging.py), with each destination's state."""
        asked = request.query_params
        keyset = sent_keyset(asked.get("before"), asked.get("after"))
        page = await run_in_threadpool(self.messaging.sent_listing, session.principal, keyset, PAGE)
        links = page_links(request, sent_cursor(page.older), sent_cursor(page.newer))
        return self.desk.render(
            request, template, session=session, items=page.rows, here=str(asked), pages=links
        )

    async def sent_live(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/sent/live: the sent list's page alone, polled like the inbox's, so that
        the delivery states change as the evidence comes in."""
        return await self.sent(request, session, "_sent_live.html")

    async def compose(self, request: Request, session: DeskSession) -> Response:
        """GET, POST /desk/compose: a refusal shows every reason on the form, kept filled.
        The form's "Check with the rules" button (``action=check``) asks the rules without
        sending: what the destinations' agreements would refuse is said before sending."""
        values: dict[str, list[str]] = {
            k: [v] for k, v in request.query_params.items() if k in PREFILLED
        }
        error: ServiceError | None = None
        check: dict[str, Any] = {}
        if request.method == "POST":
            values = request.state.form
            draft = explain.draft_from_form(values)
            if (values.get("action") or [""])[0] == "check":
                check = await self._check(session, draft)
            else:
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
            alerts=list(vocab.AlertType),
            classifications=list(vocab.Classification),
            **check,
        )

    async def compose_check(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/compose/check: the check alone, which the compose form posts (htmx)
        whenever a field changes, so that the warning is there before "Send" is pressed;
        without JavaScript, the form's "Check with the rules" button does the same."""
        form = request.state.form
        if not (form.get("to") or [""])[0].strip():
            return self.desk.render(request, "_precheck.html", session=session)
        check = await self._check(session, explain.draft_from_form(form))
        return self.desk.render(request, "_precheck.html", session=session, **check)

    async def _check(self, session: DeskSession, draft: dict[str, Any]) -> dict[str, Any]:
        """``checked`` (services/messaging.py ``Checked``), or ``check_error``: a draft that
        cannot be composed or has no route is said as such."""
        try:
            checked = await run_in_threadpool(self.messaging.check, session.principal, draft)
        except ServiceError as exc:
            return {"check_error": exc}
        return {"checked": checked}
