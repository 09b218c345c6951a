"""``GET /api/v1/peers``: each link's health."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from secureline.interfaces.api.deps import Services, User


def add_peer_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/peers")
    def peers(user: User) -> list[dict[str, Any]]:
        """GET /api/v1/peers: each link's health: connected, queue depth, oldest undelivered."""
        return services.peers()
