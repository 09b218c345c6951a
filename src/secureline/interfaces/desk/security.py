"""What every desk response carries, and how desk requests are trusted.

- **Headers** on every response (:class:`SecurityHeaders`): a strict Content-Security-Policy
  (only this node's own scripts, styles and images; no inline code, no eval, no framing),
  HSTS, ``nosniff``, ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store`` (a
  page holds police information: no copy stays in a shared browser's cache).
- **Cookies**: the session cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/desk`` and
  ``Secure``, except when the browser talks plain HTTP to a loopback name (``127.0.0.1``,
  ``localhost``, ``[::1]``): a cookie for a loopback host never leaves the machine, and a
  browser would refuse a ``Secure`` cookie over plain HTTP. Behind a reverse proxy the
  browser uses the public name, so the cookie is ``Secure``.
- **CSRF**: every form carries a token; a post without the right one is refused (403
  ``csrf_missing`` or ``csrf_invalid``). Signed in, the token is bound to the session
  (:func:`secureline.services.desk_auth.csrf_token`); before, on the sign-in form, it is a
  double-submit cookie. ``SameSite=Strict`` already keeps the cookies off cross-site posts.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
SESSION_COOKIE = "sl_desk"
LOGIN_CSRF_COOKIE = "sl_desk_signin"
MAX_FORM_BYTES = 256 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class SecurityHeaders:
    """Pure ASGI: the headers go on every response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *[
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() != b"cache-control"
                    ],
                    *[(k, v) for k, v in HEADERS if k not in names or k == b"cache-control"],
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class CsrfRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class FormTooLarge(Exception):
    pass


def secure_cookies(request: Request) -> bool:
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
    if request.headers.get("host", "").startswith("[::1]"):
        host = "[::1]"
    return not (request.url.scheme == "http" and host in LOOPBACK_HOSTS)


def cookie_options(request: Request) -> dict[str, Any]:
    return {
        "path": "/desk",
        "httponly": True,
        "samesite": "strict",
        "secure": secure_cookies(request),
    }


async def read_form(request: Request) -> dict[str, list[str]]:
    """A urlencoded form, bounded in size; every value kept (a field may repeat)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise FormTooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
    form: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, []).append(value)
    return form


def check_csrf(form: dict[str, list[str]], expected: str | None) -> None:
    given = form.get("csrf", [""])[0]
    if not given:
        raise CsrfRefused("csrf_missing", "the form had no CSRF token: reload the page")
    if expected is None or not hmac.compare_digest(given, expected):
        raise CsrfRefused("csrf_invalid", "the form's CSRF token is wrong: reload the page")


def new_login_token() -> str:
    return secrets.token_urlsafe(32)
