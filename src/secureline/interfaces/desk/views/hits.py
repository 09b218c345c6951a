"""Hits (``services/hits.py``): what the cross-check found for the user's unit, each with the
message's side and the holding's, the score and why, and an officer's decision on it
(confirmed or dismissed, with a note), made once and kept.

- ``GET /desk/hits`` (``state`` new, confirmed, dismissed or withdrawn; all by default)
- ``POST /desk/hits/{id}/decision`` (``decision`` confirmed or dismissed, ``note``)
"""

from __future__ import annotations

import re

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.interfaces.desk.views.common import field
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import NotFoundError, ServiceError
from secureline.services.hits import STATES

HIT_ID = re.compile(r"^hit-[0-9a-f]{24}$")


class HitViews:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.hits = desk.services.hits

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/hits", guard(self.page)),
            Route("/hits/{hit_id}/decision", guard(self.decide), methods=["POST"]),
        ]

    async def page(
        self,
        request: Request,
        session: DeskSession,
        problem: ServiceError | None = None,
        about: str = "",
    ) -> Response:
        """GET /desk/hits: the unit's hits, newest first."""
        state = request.query_params.get("state") or None
        if state not in (None, *STATES):
            state = None
        found = await run_in_threadpool(self.hits.list, session.principal, state)
        reasons = {h.id: orjson.loads(h.reasons_json) if h.reasons_json else [] for h in found}
        return self.desk.render(
            request,
            "hits.html",
            problem.status if problem else 200,
            session=session,
            hits=found,
            reasons=reasons,
            state=state,
            states=STATES,
            problem=problem,
            about=about,
        )

    async def decide(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/hits/{id}/decision: confirm or dismiss it, with the note given."""
        hit_id = str(request.path_params["hit_id"])
        if not HIT_ID.fullmatch(hit_id):
            raise NotFoundError("no such hit")
        form = request.state.form
        decision, note = field(form, "decision"), field(form, "note") or None
        try:
            await run_in_threadpool(self.hits.decide, session.principal, hit_id, decision, note)
        except NotFoundError:
            raise
        except ServiceError as exc:
            return await self.page(request, session, exc, hit_id)
        return RedirectResponse("/desk/hits", 303)
