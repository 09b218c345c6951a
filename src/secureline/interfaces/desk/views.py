"""The desk's pages: sign-in, inbox, sent, a message, compose (issue 15, first step).

Routes parse the form, authenticate the session and shape the page; every rule is the
services' (the same calls the API makes, see ``interfaces/api/app.py``). Pages are whole
HTML documents that read without JavaScript; forms are plain posts. Jinja2 escapes every
value (autoescape on for every template): nothing a message carries is ever markup here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import segno
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from secureline.domain.message import MESSAGE_ID
from secureline.domain.vocabulary import (
    Classification,
    CrimeArea,
    DataSubject,
    HandlingCode,
    Kind,
    Priority,
)
from secureline.interfaces.desk import explain
from secureline.interfaces.desk.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    FormTooLarge,
    SecurityHeaders,
    check_csrf,
    cookie_options,
    new_login_token,
    read_form,
)
from secureline.services.desk_auth import DeskAuth, DeskSession, csrf_token
from secureline.services.errors import NotAuthenticated, NotFoundError, ServiceError

Page = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class DeskServices:
    """What the desk needs, handed in by the composition root."""

    node: str
    auth: DeskAuth
    messaging: Any


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("secureline.interfaces.desk", "templates"),
        autoescape=True,  # every template, whatever its name: user strings are text
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["explain"] = explain
    env.filters["when"] = _when
    return env


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def create_desk_app(services: DeskServices) -> SecurityHeaders:  # noqa: PLR0915 (one closure a page, sharing render)
    env = templates()
    auth = services.auth

    def render(
        request: Request, name: str, status: int = 200, session: Any = None, **values: Any
    ) -> HTMLResponse:
        secret = request.cookies.get(SESSION_COOKIE, "")
        values.setdefault("csrf", csrf_token(secret) if secret else "")
        page = env.get_template(name).render(node=services.node, session=session, **values)
        return HTMLResponse(page, status_code=status)

    def refused(request: Request, status: int, code: str, message: str) -> HTMLResponse:
        return render(request, "error.html", status, code=code, message=message)

    def source(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def to_sign_in(why: str | None = None) -> RedirectResponse:
        response = RedirectResponse("/desk/sign-in" + (f"?why={why}" if why else ""), 303)
        response.delete_cookie(SESSION_COOKIE, path="/desk")
        return response

    def signed_in(page: Callable[[Request, DeskSession], Awaitable[Response]]) -> Page:
        async def guarded(request: Request) -> Response:
            secret = request.cookies.get(SESSION_COOKIE)
            if not secret:
                return to_sign_in()
            try:
                session = await run_in_threadpool(auth.authenticate, secret)
            except NotAuthenticated as exc:
                return to_sign_in(exc.code)
            try:
                if request.method == "POST":
                    form = await read_form(request)
                    check_csrf(form, csrf_token(secret))
                    request.state.form = form
                return await page(request, session)
            except CsrfRefused as exc:
                return refused(request, 403, exc.code, exc.message)
            except FormTooLarge:
                return refused(request, 413, "form_too_large", "the form is too large")
            except NotFoundError:
                return refused(request, 404, "not_found", "no such message in your unit")

        return guarded

    # --- signing in --------------------------------------------------------------------

    async def sign_in_page(request: Request) -> Response:
        token = new_login_token()
        why = request.query_params.get("why")
        response = render(request, "sign_in.html", csrf=token, why=_WHY.get(why or ""))
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
        return response

    async def sign_in(request: Request) -> Response:
        try:
            form = await read_form(request)
            check_csrf(form, request.cookies.get(LOGIN_CSRF_COOKIE))
        except CsrfRefused as exc:
            return refused(request, 403, exc.code, exc.message)
        except FormTooLarge:
            return refused(request, 413, "form_too_large", "the form is too large")
        username = form.get("username", [""])[0].strip()
        password = form.get("password", [""])[0]
        try:
            secret, half = await run_in_threadpool(auth.begin, username, password, source(request))
        except NotAuthenticated as exc:
            token = new_login_token()
            response = render(
                request,
                "sign_in.html",
                exc.status,
                csrf=token,
                error=exc.message,
                code=exc.code,
                username=username,
            )
            response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
            return response
        onward = RedirectResponse("/desk/second-factor" if half.enrolled else "/desk/enrol", 303)
        onward.set_cookie(SESSION_COOKIE, secret, **cookie_options(request))
        onward.delete_cookie(LOGIN_CSRF_COOKIE, path="/desk")
        return onward

    async def half_session(request: Request) -> tuple[str, DeskSession] | None:
        secret = request.cookies.get(SESSION_COOKIE, "")
        try:
            return secret, await run_in_threadpool(auth.authenticate, secret, "password")
        except NotAuthenticated:
            return None

    async def second_factor(request: Request) -> Response:
        found = await half_session(request)
        if found is None:
            return to_sign_in("session_unknown")
        secret, half = found
        if request.method == "GET":
            return render(request, "second_factor.html", username=half.principal.username)
        try:
            form = await read_form(request)
            check_csrf(form, csrf_token(secret))
        except CsrfRefused as exc:
            return refused(request, 403, exc.code, exc.message)
        except FormTooLarge:
            return refused(request, 413, "form_too_large", "the form is too large")
        code = form.get("code", [""])[0]
        try:
            full_secret, _ = await run_in_threadpool(auth.finish, secret, code, source(request))
        except NotAuthenticated as exc:
            if exc.code in ("session_unknown", "session_ended", "session_expired"):
                return to_sign_in(exc.code)
            return render(
                request,
                "second_factor.html",
                exc.status,
                username=half.principal.username,
                error=exc.message,
                code=exc.code,
            )
        response = RedirectResponse("/desk/inbox", 303)
        response.set_cookie(SESSION_COOKIE, full_secret, **cookie_options(request))
        return response

    async def enrol(request: Request) -> Response:
        found = await half_session(request)
        if found is None:
            return to_sign_in("session_unknown")
        secret, half = found
        try:
            uri = await run_in_threadpool(auth.enrolment, secret)
        except NotAuthenticated:
            return RedirectResponse("/desk/second-factor", 303)
        error = code = None
        if request.method == "POST":
            try:
                form = await read_form(request)
                check_csrf(form, csrf_token(secret))
            except CsrfRefused as exc:
                return refused(request, 403, exc.code, exc.message)
            except FormTooLarge:
                return refused(request, 413, "form_too_large", "the form is too large")
            try:
                full_secret, session, codes = await run_in_threadpool(
                    auth.enrol, secret, form.get("code", [""])[0], source(request)
                )
            except NotAuthenticated as exc:
                error, code = exc.message, exc.code
            else:
                response = render(
                    request,
                    "recovery_codes.html",
                    session=session,
                    codes=codes,
                    csrf=csrf_token(full_secret),
                )
                response.set_cookie(SESSION_COOKIE, full_secret, **cookie_options(request))
                return response
        # The QR code is inline SVG made here (segno): no data: URL for img-src to allow,
        # no request that would carry the key in a URL, and SVG attributes, not styles.
        qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, title="TOTP key"))  # noqa: S704 (segno's own markup of our URI)
        key = uri.split("secret=", 1)[1].split("&", 1)[0]
        return render(
            request,
            "enrol.html",
            400 if error else 200,
            username=half.principal.username,
            qr=qr,
            key=key,
            error=error,
            code=code,
        )

    @signed_in
    async def sign_out(request: Request, session: DeskSession) -> Response:
        await run_in_threadpool(auth.end, request.cookies.get(SESSION_COOKIE, ""))
        return to_sign_in("signed_out")

    # --- the views ---------------------------------------------------------------------

    async def home(request: Request) -> Response:
        return RedirectResponse("/desk/inbox", 303)

    @signed_in
    async def inbox(request: Request, session: DeskSession) -> Response:
        items, unread = await run_in_threadpool(services.messaging.latest, session.principal)
        return render(request, "inbox.html", session=session, items=items, unread=unread)

    @signed_in
    async def sent(request: Request, session: DeskSession) -> Response:
        items = await run_in_threadpool(services.messaging.sent, session.principal)
        return render(request, "sent.html", session=session, items=items)

    @signed_in
    async def message(request: Request, session: DeskSession) -> Response:
        message_id = request.path_params["message_id"]
        if not MESSAGE_ID.fullmatch(message_id):
            raise NotFoundError("no such message")
        acknowledge = request.method == "POST"
        opened = await run_in_threadpool(
            lambda: services.messaging.open(
                session.principal, message_id, acknowledge_conditions=acknowledge
            )
        )
        status = None
        if opened.header.sender.node == services.node:
            try:
                status = await run_in_threadpool(
                    services.messaging.status, session.principal, message_id
                )
            except NotFoundError:
                status = None
        return render(
            request,
            "message.html",
            session=session,
            header=opened.header,
            content=opened.content,
            trail=status,
            mine=opened.header.sender.unit == session.principal.unit
            and opened.header.sender.node == services.node,
        )

    @signed_in
    async def compose(request: Request, session: DeskSession) -> Response:
        values: dict[str, list[str]] = {}
        error: ServiceError | None = None
        if request.method == "POST":
            values = request.state.form
            draft = explain.draft_from_form(values)
            try:
                done = await run_in_threadpool(services.messaging.submit, session.principal, draft)
            except ServiceError as exc:
                error = exc
            else:
                return RedirectResponse(f"/desk/messages/{done.id}?sent=1", 303)
        return render(
            request,
            "compose.html",
            422 if error else 200,
            session=session,
            values=values,
            error=error,
            reasons=getattr(error, "reasons", ()),
            kinds=[Kind.REQUEST, Kind.INFORMATION, Kind.REPLY],
            areas=list(CrimeArea),
            handlings=list(HandlingCode),
            subjects=list(DataSubject),
            priorities=list(Priority),
            classifications=list(Classification),
        )

    static = StaticFiles(directory=str(files("secureline.interfaces.desk") / "static"))
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/sign-in", sign_in_page, methods=["GET"]),
            Route("/sign-in", sign_in, methods=["POST"]),
            Route("/second-factor", second_factor, methods=["GET", "POST"]),
            Route("/enrol", enrol, methods=["GET", "POST"]),
            Route("/sign-out", sign_out, methods=["POST"]),
            Route("/inbox", inbox),
            Route("/sent", sent),
            Route("/compose", compose, methods=["GET", "POST"]),
            Route("/messages/{message_id}", message, methods=["GET", "POST"]),
            Mount("/static", static),
        ],
    )

    async def not_found(request: Request, exc: Exception) -> Response:
        return refused(request, 404, "not_found", "there is no such page")

    async def failed(request: Request, exc: Exception) -> Response:
        return refused(request, 500, "internal", "something went wrong; the log has the details")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    app.add_exception_handler(500, failed)
    return SecurityHeaders(app)


_WHY = {
    "session_unknown": "Sign in to use the desk.",
    "session_ended": "You are signed out.",
    "session_expired": "Your session timed out: sign in again.",
    "signed_out": "You are signed out.",
    "user_disabled": "This user is disabled: ask the node's administrator.",
}
