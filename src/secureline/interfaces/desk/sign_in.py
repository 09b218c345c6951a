"""Signing in to the desk: password, then the second factor (or enrolment), and signing out.

The cookie changes at each step: the password's answer sets the half session's, the second
factor's the full session's (rotated at sign-in). See ``services/desk_auth.py`` and
docs/desk.md for the rules.
"""

from __future__ import annotations

import segno
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from secureline.interfaces.desk.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_options,
    new_login_token,
)
from secureline.interfaces.desk.web import Desk
from secureline.services.desk_auth import DeskSession, csrf_token
from secureline.services.errors import NotAuthenticated

_WHY = {
    "session_unknown": "Sign in to use the desk.",
    "session_ended": "You are signed out.",
    "session_expired": "Your session timed out: sign in again.",
    "signed_out": "You are signed out.",
    "user_disabled": "This user is disabled: ask the node's administrator.",
}
_LOST = ("session_unknown", "session_ended", "session_expired")


class SignIn:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.auth = desk.auth

    def routes(self) -> list[Route]:
        return [
            Route("/sign-in", self.page, methods=["GET"]),
            Route("/sign-in", self.password, methods=["POST"]),
            Route("/second-factor", self.second_factor, methods=["GET", "POST"]),
            Route("/enrol", self.enrol, methods=["GET", "POST"]),
            Route("/sign-out", self.desk.signed_in(self.sign_out), methods=["POST"]),
        ]

    def _form_page(self, request: Request, status: int = 200, **values: object) -> Response:
        """The sign-in form with a fresh double-submit CSRF token in its cookie."""
        token = new_login_token()
        response = self.desk.render(request, "sign_in.html", status, csrf=token, **values)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
        return response

    async def page(self, request: Request) -> Response:
        """GET /desk/sign-in"""
        return self._form_page(request, why=_WHY.get(request.query_params.get("why") or ""))

    async def password(self, request: Request) -> Response:
        """POST /desk/sign-in: the password; on to the second factor, or to enrolment."""
        form = await self.desk.posted_form(request, request.cookies.get(LOGIN_CSRF_COOKIE))
        if isinstance(form, Response):
            return form
        username = form.get("username", [""])[0].strip()
        password = form.get("password", [""])[0]
        try:
            secret, half = await run_in_threadpool(
                self.auth.begin, username, password, self.desk.source(request)
            )
        except NotAuthenticated as exc:
            return self._form_page(
                request, exc.status, error=exc.message, code=exc.code, username=username
            )
        onward = RedirectResponse("/desk/second-factor" if half.enrolled else "/desk/enrol", 303)
        onward.set_cookie(SESSION_COOKIE, secret, **cookie_options(request))
        onward.delete_cookie(LOGIN_CSRF_COOKIE, path="/desk")
        return onward

    async def _half_session(self, request: Request) -> tuple[str, DeskSession] | None:
        secret = request.cookies.get(SESSION_COOKIE, "")
        try:
            return secret, await run_in_threadpool(self.auth.authenticate, secret, "password")
        except NotAuthenticated:
            return None

    async def second_factor(self, request: Request) -> Response:
        """GET, POST /desk/second-factor: a TOTP or recovery code ends the half session and
        opens the full one, with a new cookie."""
        found = await self._half_session(request)
        if found is None:
            return self.desk.to_sign_in("session_unknown")
        secret, half = found
        username = half.principal.username
        if request.method == "GET":
            return self.desk.render(request, "second_factor.html", username=username)
        form = await self.desk.posted_form(request, csrf_token(secret))
        if isinstance(form, Response):
            return form
        code = form.get("code", [""])[0]
        try:
            full, _ = await run_in_threadpool(
                self.auth.finish, secret, code, self.desk.source(request)
            )
        except NotAuthenticated as exc:
            if exc.code in _LOST:
                return self.desk.to_sign_in(exc.code)
            return self.desk.render(
                request,
                "second_factor.html",
                exc.status,
                username=username,
                error=exc.message,
                code=exc.code,
            )
        response = RedirectResponse("/desk/inbox", 303)
        response.set_cookie(SESSION_COOKIE, full, **cookie_options(request))
        return response

    async def enrol(self, request: Request) -> Response:
        """GET, POST /desk/enrol: a user with no second factor scans a new key and proves it
        with a code; the recovery codes are shown once, and the user is signed in."""
        found = await self._half_session(request)
        if found is None:
            return self.desk.to_sign_in("session_unknown")
        secret, half = found
        try:
            uri = await run_in_threadpool(self.auth.enrolment, secret)
        except NotAuthenticated:
            return RedirectResponse("/desk/second-factor", 303)
        error = code = None
        if request.method == "POST":
            form = await self.desk.posted_form(request, csrf_token(secret))
            if isinstance(form, Response):
                return form
            try:
                full, session, codes = await run_in_threadpool(
                    self.auth.enrol, secret, form.get("code", [""])[0], self.desk.source(request)
                )
            except NotAuthenticated as exc:
                error, code = exc.message, exc.code
            else:
                response = self.desk.render(
                    request,
                    "recovery_codes.html",
                    session=session,
                    codes=codes,
                    csrf=csrf_token(full),
                )
                response.set_cookie(SESSION_COOKIE, full, **cookie_options(request))
                return response
        # The QR code is inline SVG made here (segno): no data: URL for img-src to allow,
        # no request that would carry the key in a URL, and SVG attributes, not styles.
        qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, title="TOTP key"))  # noqa: S704 (segno's own markup of our URI)
        return self.desk.render(
            request,
            "enrol.html",
            400 if error else 200,
            username=half.principal.username,
            qr=qr,
            key=uri.split("secret=", 1)[1].split("&", 1)[0],
            error=error,
            code=code,
        )

    async def sign_out(self, request: Request, session: DeskSession) -> Response:
        """POST /desk/sign-out: the session ends in the database."""
        await run_in_threadpool(self.auth.end, request.cookies.get(SESSION_COOKIE, ""))
        return self.desk.to_sign_in("signed_out")
