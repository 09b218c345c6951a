"""The provider stays in control: forward a received message, ask for and grant
permissions, list them, and the provider's deletion and correction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from secureline.interfaces.api.deps import (
    IdempotencyKey,
    In,
    MessageId,
    Reason,
    ReasonIn,
    Services,
    SubmittedOut,
    User,
    submitted,
)


class ForwardIn(In):
    to: list[str]
    purpose: str | None = None
    grants: list[dict[str, Any]] | None = None


class PermissionRequestIn(In):
    scope: str
    grantee: str
    purpose: str | None = None
    reason: str = ""


class GrantIn(In):
    request_id: str | None = None
    message_id: str | None = None
    grantee: str | None = None
    scope: str | None = None
    until: datetime | None = None
    purpose: str | None = None
    to: list[str] | None = None


class GrantOut(BaseModel):
    grant: dict[str, Any]
    carrier: SubmittedOut


class CorrectionIn(In):
    reason: Reason
    body: str | None = None
    entities: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    data_subjects: list[str] | None = None


def add_sharing_routes(app: FastAPI, services: Services) -> None:
    @app.post("/api/v1/messages/{message_id}/forward", status_code=201)
    def forward(
        message_id: MessageId, body: ForwardIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/forward: pass a received message on; the provider's
        handling code, purpose and grants travel with it (``grants`` omitted: the grants
        this node received for it)."""
        return submitted(
            services.sharing.forward(user, message_id, body.to, body.purpose, body.grants, key=key)
        )

    @app.post("/api/v1/messages/{message_id}/permission-requests", status_code=201)
    def request_permission(
        message_id: MessageId, body: PermissionRequestIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/permission-requests: ask the provider of a received
        message for a permission (scope onward-transfer, judicial-use or other-purpose)."""
        return submitted(
            services.sharing.request_permission(
                user, message_id, body.scope, body.grantee, body.purpose, body.reason, key=key
            )
        )

    @app.post("/api/v1/permissions/grants", status_code=201)
    def grant_permission(body: GrantIn, user: User) -> GrantOut:
        """POST /api/v1/permissions/grants: as the provider, grant a permission (answering
        ``request_id``, or naming message_id, grantee and scope). The signed grant is sent
        in a permission-grant message."""
        grant, carrier = services.sharing.grant_permission(
            user,
            body.request_id,
            message_id=body.message_id,
            grantee=body.grantee,
            scope=body.scope,
            until=body.until,
            purpose=body.purpose,
            to=body.to,
        )
        return GrantOut(grant=grant.model_dump(mode="json"), carrier=submitted(carrier))

    @app.get("/api/v1/permissions")
    def permissions(user: User) -> list[dict[str, Any]]:
        """GET /api/v1/permissions: the grants this node issued and received, the requests
        it refused (with the reason), and the requests pending in the user's unit: each with
        its ``state``, pending, granted or refused."""
        return [
            {
                **{k: v for k, v in vars(p).items() if k not in ("until", "decided_at")},
                "until": p.until.isoformat() if p.until else None,
                "decided_at": p.decided_at.isoformat() if p.decided_at else None,
            }
            for p in services.sharing.permission_items(user)
        ]

    @app.post("/api/v1/messages/{message_id}/retract", status_code=201)
    def retract(
        message_id: MessageId, body: ReasonIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/retract: the provider deletes a message it sent at every
        recipient; follow the deletion message's status for the confirmations."""
        return submitted(services.sharing.retract(user, message_id, body.reason, key=key))

    @app.post("/api/v1/messages/{message_id}/correct", status_code=201)
    def correct(
        message_id: MessageId, body: CorrectionIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/correct: the provider replaces the content of a
        message it sent, at every recipient (fields left out stay as they were)."""
        return submitted(
            services.sharing.correct(
                user,
                message_id,
                body.reason,
                body=body.body,
                entities=body.entities,
                attachments=body.attachments,
                data_subjects=body.data_subjects,
                key=key,
            )
        )
