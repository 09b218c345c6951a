"""``GET /api/v1/messages/{id}/export``: a received message as a document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from secureline.interfaces.api.deps import MessageId, Services, User
from secureline.services.exports import ExportPurpose


def add_export_routes(app: FastAPI, services: Services) -> None:

    @app.get("/api/v1/messages/{message_id}/export")
    def export(
        message_id: MessageId,
        user: User,
        purpose: ExportPurpose,
        acknowledge_conditions: bool = False,
    ) -> dict[str, Any]:
        """GET /api/v1/messages/{id}/export?purpose=judicial|case-file: the message as a
        document; H1 for judicial use needs the provider's judicial-use grant (403 otherwise)."""
        result: dict[str, Any] = services.exports.export(
            user, message_id, purpose.value, acknowledge_conditions=acknowledge_conditions
        )
        return result
