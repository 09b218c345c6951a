"""The data protection officer's pages under ``/desk/dpo``: the audit chain filtered by user,
object (a message id) and action; its verification; the partners' checkpoints kept here;
who read a message; and the chain's export for an inquiry.

The data protection officer only (``read-audit`` in services/roles.py, as the API's audit
routes): anyone else gets 403 on every path here. Reading the chain changes nothing (GET);
the export is a POST with its CSRF token, because it is itself recorded (``audit.exported``,
by ``AuditLog.export``) before a line leaves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from secureline.domain.audit import AuditAction
from secureline.interfaces.desk.web import Desk, page_links
from secureline.services import roles
from secureline.services.audit import AuditChainBroken
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import InvalidInput
from secureline.services.paging import seq_keyset

#: records on one page, newest first (older and newer pages by seq: store/paging.py)
SHOWN = 200
#: the longest user name or object a filter takes (the audit chain's own bound)
MAX_FILTER_CHARS = 200


def require_dpo(session: DeskSession) -> None:
    roles.require(
        session.principal,
        roles.Action.READ_AUDIT,
        "only the data protection officer reads the audit chain",
        code="dpo_only",
    )


class DpoPages:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.audit = desk.services.audit

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        return [
            Route("/dpo", guard(self.chain)),
            Route("/dpo/verify", guard(self.verify)),
            Route("/dpo/export", guard(self.export), methods=["POST"]),
        ]

    async def chain(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/dpo: the newest records matching the filters, who read the message a
        filter names, our latest checkpoint and the partners' checkpoints."""
        require_dpo(session)
        asked = {k: v.strip() for k, v in request.query_params.items()}
        error: InvalidInput | None = None
        try:
            filters = _filters(asked)
        except InvalidInput as exc:
            error, filters = exc, None

        def read() -> dict[str, Any]:
            found: dict[str, Any] = {
                "latest": self.audit.latest_checkpoint(),
                "partners": [
                    (peer, self.audit.partner_checkpoints(peer)) for peer in self.audit.partners()
                ],
                "records": [],
                "readers": None,
                "pages": {},
            }
            if filters is not None:
                page = self.audit.find(limit=SHOWN, **filters)
                found["records"] = page.rows
                found["pages"] = page_links(request, page.older, page.newer)
                if filters.get("obj"):
                    found["readers"] = self.audit.who_read(filters["obj"])
            return found

        found = await run_in_threadpool(read)
        return self.desk.render(
            request,
            "dpo.html",
            error.status if error else 200,
            session=session,
            asked=asked,
            error=error,
            actions=list(AuditAction),
            shown=SHOWN,
            **found,
        )

    async def verify(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/dpo/verify: every record and checkpoint checked, in seq order; the
        first wrong record named."""
        require_dpo(session)

        def check() -> AuditChainBroken | None:
            try:
                self.audit.verify()
            except AuditChainBroken as exc:
                return exc
            return None

        broken = await run_in_threadpool(check)
        return self.desk.render(
            request,
            "dpo_verify.html",
            200 if broken is None else 409,
            session=session,
            broken=broken,
        )

    async def export(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/dpo/export: the chain from a day to a day (UTC, both included) as
        JSON lines or CSV, to download; recorded first as ``audit.exported``."""
        require_dpo(session)
        form = {k: (v or [""])[0].strip() for k, v in request.state.form.items()}
        fmt = form.get("format", "jsonl")
        try:
            since = _day("from", form.get("from"))
            until = _day("to", form.get("to"))
            if fmt not in ("jsonl", "csv"):
                raise InvalidInput("format", "jsonl or csv")
        except InvalidInput as exc:
            return self.desk.refused(request, 422, exc.code, f"{exc.field}: {exc.message}")
        to_at = until + timedelta(days=1) if until else None
        lines = await run_in_threadpool(
            lambda: self.audit.export(since, to_at, fmt, actor=session.principal.username)
        )
        media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        name = f"audit-{self.desk.services.node}.{fmt}"
        return StreamingResponse(
            iterate_in_threadpool(lines),
            media_type=f"{media}; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )


def _filters(asked: dict[str, str]) -> dict[str, Any] | None:
    """The chain's filters, or None when none is given (the page shows only the form)."""
    actor, obj, action = asked.get("actor"), asked.get("object"), asked.get("action")
    since, until = asked.get("from"), asked.get("to")
    if not any((actor, obj, action, since, until)):
        return None
    for field, value in (("actor", actor), ("object", obj)):
        if value and len(value) > MAX_FILTER_CHARS:
            raise InvalidInput(field, f"at most {MAX_FILTER_CHARS} characters")
    if action and action not in {a.value for a in AuditAction}:
        raise InvalidInput("action", f"{action!r} is not an action of the chain")
    start, end = _day("from", since), _day("to", until)
    return {
        "keyset": seq_keyset(asked.get("before"), asked.get("after")),
        "actor": actor or None,
        "obj": obj or None,
        "action": action or None,
        "from_at": start,
        "to_at": end + timedelta(days=1) if end else None,
    }


def _day(field: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "a day as YYYY-MM-DD") from None
    return datetime.combine(day, time(), tzinfo=UTC)
