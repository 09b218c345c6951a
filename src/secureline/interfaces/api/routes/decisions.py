"""The second person's decisions over the API: alerts held for four-eyes review (the queue,
approve, reject) and the provider's refusal of a permission request.

Registered by ``create_app`` (app.py); the rules live in services/alert_review.py and
services/permission_decisions.py, so the CLI decides exactly as the API does.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from pydantic import BaseModel

from secureline.interfaces.api.deps import MessageId, ReasonIn, Services, User


class HeldAlertOut(BaseModel):
    id: str
    author: str
    unit: str
    created_at: datetime
    destinations: list[str]
    subject: str
    alert: str | None
    to: list[str]


class RejectedOut(BaseModel):
    id: str
    refused: list[str]  # the destinations whose deliveries are now refused (alert_rejected)


def add_decision_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/alerts/held")
    def held_alerts(user: User) -> list[HeldAlertOut]:
        """GET /api/v1/alerts/held: alerts composed here that wait for a second officer,
        oldest first (officers and administrators)."""
        return [
            HeldAlertOut(
                id=h.id,
                author=h.author,
                unit=h.unit,
                created_at=h.created_at,
                destinations=list(h.destinations),
                subject=h.subject,
                alert=h.alert,
                to=list(h.to),
            )
            for h in services.messaging.held_alerts(user)
        ]

    @app.post("/api/v1/messages/{message_id}/reject")
    def reject_alert(message_id: MessageId, body: ReasonIn, user: User) -> RejectedOut:
        """POST /api/v1/messages/{id}/reject: a second officer refuses a held alert for good,
        stating why; it never leaves (its deliveries: refused, ``alert_rejected``)."""
        refused = services.messaging.reject_alert(user, message_id, body.reason)
        return RejectedOut(id=message_id, refused=refused)

    @app.post("/api/v1/permissions/{request_id}/refuse", status_code=204)
    def refuse_permission(request_id: MessageId, body: ReasonIn, user: User) -> None:
        """POST /api/v1/permissions/{id}/refuse: as the provider, refuse the permission
        request ``id`` (a permission-request message received here), stating why."""
        services.sharing.refuse_permission(user, request_id, body.reason)
