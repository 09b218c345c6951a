"""The administrator's pages under ``/desk/admin``: link health per peer, units, users
(create, disable, reset the second factor) and API tokens.

Administrators only (``manage-users`` in services/roles.py, as the API's people routes):
anyone else gets 403 ``admin_only`` on every path here, reading or posting. Each action
calls the service the CLI and the API call (services/accounts.py, services/desk_auth.py,
node/peering.py's link health), which audits it under the administrator's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.domain.addresses import check_name
from secureline.domain.errors import DomainError
from secureline.interfaces.desk.web import Desk
from secureline.services import roles
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import NotFoundError, ServiceError
from secureline.services.roles import Role

#: a token id in a path: what ids are (hex), else no such page
_TOKEN_ID_CHARS = frozenset("0123456789abcdef")


#: what the overview says after an action (the address names one of these, nothing else)
DONE = {
    "unit-added": "the unit was added",
    "user-added": "the user was added: they enrol a second factor at the first sign-in",
    "user-disabled": "the user was disabled: their password, tokens and sessions stop now",
    "second-factor-reset": "the second factor was reset: they enrol again at the next sign-in",
}


def require_admin(session: DeskSession) -> None:
    roles.require(
        session.principal,
        roles.Action.MANAGE_USERS,
        "only administrators may open the administration",
        code="admin_only",
    )


class AdminPages:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.accounts = desk.services.accounts
        self.auth = desk.services.auth
        self.peering = desk.services.peering

    def routes(self) -> list[Route]:
        guard = self.desk.signed_in
        post = ["POST"]
        return [
            Route("/admin", guard(self.overview)),
            Route("/admin/units", guard(self.add_unit), methods=post),
            Route("/admin/users", guard(self.add_user), methods=post),
            Route("/admin/users/{username}/disable", guard(self.disable), methods=post),
            Route("/admin/users/{username}/second-factor", guard(self.reset), methods=post),
            Route("/admin/users/{username}/tokens", guard(self.tokens), methods=["GET", "POST"]),
            Route("/admin/tokens/{token_id}/revoke", guard(self.revoke), methods=post),
        ]

    async def overview(
        self,
        request: Request,
        session: DeskSession,
        error: ServiceError | None = None,
    ) -> Response:
        """GET /desk/admin: the links' health, the units and the users."""
        require_admin(session)
        links, certificate, units, users = await run_in_threadpool(
            lambda: (
                self.peering.link_health(),
                self.peering.certificate_expiry(),
                self.accounts.units(),
                self.accounts.users(),
            )
        )
        return self.desk.render(
            request,
            "admin.html",
            error.status if error else 200,
            session=session,
            links=links,
            certificate=certificate,
            units=units,
            users=users,
            roles=list(Role),
            error=error,
            done=DONE.get(request.query_params.get("done", ""), ""),
        )

    async def _act(
        self, request: Request, session: DeskSession, action: Callable[[], Any], done: str
    ) -> Response:
        """Run an administrator's action, then back to the overview, saying what was done
        (or, refused, the overview with why)."""
        require_admin(session)
        try:
            await run_in_threadpool(action)
        except ServiceError as exc:
            return await self.overview(request, session, error=exc)
        return RedirectResponse(f"/desk/admin?done={done}", 303)

    async def add_unit(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/admin/units: a new unit (name, description, specialist)."""
        form = request.state.form
        name = _one(form, "name")
        return await self._act(
            request,
            session,
            lambda: self.accounts.add_unit(
                session.principal.username,
                name,
                description=_one(form, "description")[:300],
                specialist=_one(form, "specialist") == "yes",
            ),
            "unit-added",
        )

    async def add_user(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/admin/users: a new user of a unit, with a role and a first password;
        the second factor is enrolled at their first sign-in."""
        form = request.state.form
        return await self._act(
            request,
            session,
            lambda: self.accounts.add_user(
                session.principal.username,
                _one(form, "username"),
                _one(form, "unit"),
                _one(form, "role"),
                _one(form, "password"),
            ),
            "user-added",
        )

    async def disable(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/admin/users/{username}/disable: password, tokens, sessions end now."""
        username = _name(request)
        return await self._act(
            request,
            session,
            lambda: self.accounts.disable_user(session.principal.username, username),
            "user-disabled",
        )

    async def reset(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/admin/users/{username}/second-factor: the key and recovery codes
        removed, the user's sessions ended; they enrol again at the next sign-in."""
        username = _name(request)
        return await self._act(
            request,
            session,
            lambda: self.auth.reset_second_factor(session.principal.username, username),
            "second-factor-reset",
        )

    async def tokens(self, request: Request, session: DeskSession) -> Response:
        """GET, POST /desk/admin/users/{username}/tokens: a user's API tokens (never their
        secrets); a post makes a new one, whose secret this page shows once."""
        require_admin(session)
        username = _name(request)
        secret = None
        error: ServiceError | None = None
        if request.method == "POST":
            label = _one(request.state.form, "label")[:100]
            try:
                secret = await run_in_threadpool(
                    self.accounts.create_token, session.principal.username, username, label
                )
            except ServiceError as exc:
                error = exc
        listed = await run_in_threadpool(self.accounts.tokens, username)
        return self.desk.render(
            request,
            "admin_tokens.html",
            error.status if error else 200,
            session=session,
            username=username,
            tokens=listed,
            secret=secret,
            error=error,
        )

    async def revoke(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/admin/tokens/{token_id}/revoke: refused from the next request on."""
        require_admin(session)
        token_id = request.path_params["token_id"]
        if not (0 < len(token_id) <= 32 and set(token_id) <= _TOKEN_ID_CHARS):
            raise NotFoundError("no such token")
        try:
            token = await run_in_threadpool(
                self.accounts.revoke_token, session.principal.username, token_id
            )
        except ServiceError as exc:
            return await self.overview(request, session, error=exc)
        return RedirectResponse(f"/desk/admin/users/{token.username}/tokens", 303)


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _name(request: Request) -> str:
    try:
        return check_name(request.path_params["username"], "username")
    except DomainError:
        raise NotFoundError("no such user") from None
