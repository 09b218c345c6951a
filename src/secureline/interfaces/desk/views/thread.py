"""``GET /desk/messages/{id}/thread``: a message with its replies, permission requests and
grants, corrections and retractions, oldest first (``Threads.thread``), each with its
markings and where it stands. ``secureline bench desk`` measures this route."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from secureline.interfaces.desk.views.common import message_id
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession


class ThreadViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.threads = desk.services.threads

    def routes(self) -> list[Route]:
        return [Route("/messages/{message_id}/thread", self.desk.signed_in(self.thread))]

    async def thread(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/messages/{id}/thread: the thread as the user's unit may see it."""
        mid = message_id(request)
        items = await run_in_threadpool(self.threads.thread, session.principal, mid)
        return self.desk.render(
            request,
            "thread.html",
            session=session,
            items=items,
            asked=mid,
            now=datetime.now(UTC),
        )
