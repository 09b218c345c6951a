"""The API's people: ``GET /api/v1/users`` and ``POST /api/v1/users/{username}/disable``,
for administrators only (403 ``admin_only`` for anyone else)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Path
from pydantic import BaseModel

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.limits import NAME_MAX_CHARS
from secureline.interfaces.api.deps import Services, User
from secureline.services import roles
from secureline.services.roles import Principal

#: a user name in a path: what ``check_name`` accepts (anything else is a 422)
Username = Annotated[str, Path(pattern=f"^{NAME_PATTERN}$", max_length=NAME_MAX_CHARS)]


class UserOut(BaseModel):
    username: str
    unit: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


def add_people_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/users", response_model=list[UserOut])
    def users(user: User) -> list[UserOut]:
        """GET /api/v1/users: the node's users (never their passwords), administrators only."""
        _admin(user)
        return [
            UserOut(
                username=u.username,
                unit=u.unit,
                role=u.role,
                created_at=u.created_at,
                disabled_at=u.disabled_at,
            )
            for u in services.accounts.users()
        ]

    @app.post("/api/v1/users/{username}/disable", status_code=204)
    def disable(username: Username, user: User) -> None:
        """POST /api/v1/users/{username}/disable: the user's password, tokens and sessions
        stop working at once (administrators only; 409 if already disabled)."""
        _admin(user)
        services.accounts.disable_user(user.username, username)


def _admin(user: Principal) -> None:
    roles.require(
        user, roles.Action.MANAGE_USERS, "only administrators manage users", code="admin_only"
    )
