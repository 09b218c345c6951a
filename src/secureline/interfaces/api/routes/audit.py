"""``/api/v1/audit``: the chain verified, who read a message, and the export, for the data
protection officer only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from fastapi.responses import StreamingResponse

from secureline.interfaces.api.deps import AuditObject, Services, User
from secureline.services import roles
from secureline.services.audit import AuditChainBroken
from secureline.services.roles import Principal


def add_audit_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/audit/verify")
    def audit_verify(user: User) -> dict[str, Any]:
        """GET /api/v1/audit/verify: check the whole chain (data protection officer only)."""
        _dpo(user)
        try:
            services.audit_log.verify()
        except AuditChainBroken as exc:
            return {"ok": False, "seq": exc.seq, "reason": exc.reason}
        return {"ok": True}

    @app.get("/api/v1/audit/who-read/{message_id}")
    def who_read(message_id: AuditObject, user: User) -> list[dict[str, Any]]:
        """GET /api/v1/audit/who-read/{id}: every opening of a message (DPO only)."""
        _dpo(user)
        return [
            {"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "detail": r.detail}
            for r in services.audit_log.who_read(message_id)
        ]

    @app.get(
        "/api/v1/audit/export",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One JSON record per line, or RFC 4180 CSV with a header.",
                "content": {"application/x-ndjson": {}, "text/csv": {}},
            }
        },
    )
    def audit_export(
        user: User,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
    ) -> StreamingResponse:
        """GET /api/v1/audit/export?from=&to=&format=jsonl|csv: records with from <= at < to
        (ISO times, UTC if no zone), streamed (DPO only). The export is itself recorded."""
        _dpo(user)
        lines = services.audit_log.export(start, end, fmt, actor=user.username)
        media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        return StreamingResponse(lines, media_type=f"{media}; charset=utf-8")


def _dpo(user: Principal) -> None:
    roles.require(
        user, roles.Action.READ_AUDIT, "only the data protection officer reads the audit chain"
    )
