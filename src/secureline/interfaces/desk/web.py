"""What every desk page shares: the templates, rendering, refusals and the session guard.

Routes parse the form, authenticate the session and shape the page; every rule is the
services' (the same calls the API makes, see ``interfaces/api/app.py``). Pages are whole
HTML documents that read without JavaScript; forms are plain posts. Jinja2 escapes every
value (autoescape on for every template): nothing a message carries is ever markup here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from secureline.interfaces.desk import explain
from secureline.interfaces.desk.security import (
    SESSION_COOKIE,
    CsrfRefused,
    FormTooLarge,
    check_csrf,
    read_form,
)
from secureline.services.accounts import Accounts
from secureline.services.audit import AuditLog
from secureline.services.desk_auth import DeskAuth, DeskSession, csrf_token
from secureline.services.errors import NotAuthenticated, NotFoundError, ServiceError
from secureline.services.exports import Exports
from secureline.services.hits import Hits
from secureline.services.messaging import Messaging
from secureline.services.retention import Retention
from secureline.services.search import Search
from secureline.services.sharing import Sharing
from secureline.services.threads import Threads
from secureline.services.unit_permissions import UnitPermissions

Page = Callable[[Request], Awaitable[Response]]
SignedInPage = Callable[[Request, DeskSession], Awaitable[Response]]


class LinkHealth(Protocol):
    """What the administration shows of the links (``node/peering.py`` ``PeerAdmin``, a
    layer above the desk: named here by what it offers)."""

    def link_health(self) -> list[dict[str, Any]]: ...

    def certificate_expiry(self) -> str: ...


@dataclass(frozen=True)
class DeskServices:
    """What the desk needs, handed in by the composition root, each by its own type."""

    node: str
    auth: DeskAuth
    messaging: Messaging
    sharing: Sharing  # forward, permissions, retract, correct
    retention: Retention  # the review queue
    threads: Threads  # a message and what answers it
    permissions: UnitPermissions  # a unit's requests
    search: Search
    accounts: Accounts  # administration
    peering: LinkHealth  # the links' health and the node's certificate
    audit: AuditLog  # the data protection officer's
    exports: Exports  # an inquiry's exports
    hits: Hits  # the cross-check's hits and their decisions


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("secureline.interfaces.desk", "templates"),
        autoescape=True,  # every template, whatever its name: user strings are text
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["explain"] = explain
    env.filters["when"] = _when
    env.globals["due"] = due
    return env


#: rows on a page of the inbox, sent and search results (docs/desk.md, Paging)
PAGE = 50
#: what a page link keeps of the request: every parameter but the page's place
_PLACE = ("before", "after", "offset")


def page_links(
    request: Request, older: object | None, newer: object | None
) -> dict[str, str | None]:
    """The query strings of the older and newer pages (``before``/``after`` the keys the
    store gave: store/paging.py), the request's other parameters kept; None where none."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PLACE]

    def link(place: str, key: object | None) -> str | None:
        return None if key is None else urlencode([*kept, (place, str(key))])

    return {"older": link("before", older), "newer": link("after", newer)}


def due(deadline: datetime | None, now: datetime) -> tuple[str, bool]:
    """A deadline in words, in days and hours from ``now``, and whether it has passed."""
    if deadline is None:
        return "", False
    seconds = int((deadline - now).total_seconds())
    hours = abs(seconds) // 3600
    days, hours = divmod(hours, 24)
    span = f"{days} d {hours} h" if days else f"{hours} h" if hours else "under an hour"
    return (f"overdue by {span}", True) if seconds < 0 else (f"in {span}", False)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class Desk:
    def __init__(self, services: DeskServices) -> None:
        self.services = services
        self.auth = services.auth
        self._env = templates()

    def render(
        self, request: Request, name: str, status: int = 200, session: Any = None, **values: Any
    ) -> HTMLResponse:
        secret = request.cookies.get(SESSION_COOKIE, "")
        values.setdefault("csrf", csrf_token(secret) if secret else "")
        page = self._env.get_template(name).render(
            node=self.services.node, session=session, **values
        )
        return HTMLResponse(page, status_code=status)

    def refused(self, request: Request, status: int, code: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status, code=code, message=message)

    async def posted_form(
        self, request: Request, expected_csrf: str | None
    ) -> dict[str, list[str]] | Response:
        """The posted form once its CSRF token is right, or the page refusing it."""
        try:
            form = await read_form(request)
            check_csrf(form, expected_csrf)
        except CsrfRefused as exc:
            return self.refused(request, 403, exc.code, exc.message)
        except FormTooLarge:
            return self.refused(request, 413, "form_too_large", "the form is too large")
        return form

    @staticmethod
    def source(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @staticmethod
    def to_sign_in(why: str | None = None) -> RedirectResponse:
        response = RedirectResponse("/desk/sign-in" + (f"?why={why}" if why else ""), 303)
        response.delete_cookie(SESSION_COOKIE, path="/desk")
        return response

    @staticmethod
    def _away(request: Request, redirect: RedirectResponse) -> Response:
        """A live fragment's poll (htmx) whose session ended: the whole page goes to the
        sign-in (``HX-Redirect``) instead of the sign-in form landing inside the list."""
        if request.headers.get("hx-request") != "true":
            return redirect
        redirect.status_code = 200
        redirect.headers["hx-redirect"] = redirect.headers["location"]
        del redirect.headers["location"]
        return redirect

    def signed_in(self, page: SignedInPage) -> Page:
        """Only for a full session; a post's CSRF token is checked before the page runs and
        its form is in ``request.state.form``."""

        async def guarded(request: Request) -> Response:
            secret = request.cookies.get(SESSION_COOKIE)
            if not secret:
                return self._away(request, self.to_sign_in())
            try:
                session = await run_in_threadpool(self.auth.authenticate, secret)
            except NotAuthenticated as exc:
                return self._away(request, self.to_sign_in(exc.code))
            if request.method == "POST":
                form = await self.posted_form(request, csrf_token(secret))
                if isinstance(form, Response):
                    return form
                request.state.form = form
            try:
                return await page(request, session)
            except NotFoundError:
                return self.refused(request, 404, "not_found", "no such message in your unit")
            except ServiceError as exc:  # the services' refusal (a role's page: 403), in its words
                return self.refused(request, exc.status, exc.code, exc.message)

        return guarded
