"""The API's edge: what every request passes before any route runs (issue 13, 1.7 and 1.8).

In this order, each step refusing with the one error shape:

1. **Authentication** from the headers alone (only ``/healthz`` is open): exactly
   ``Authorization: Bearer <token>``, failures counted per source address in the database
   and audited (:meth:`~secureline.services.accounts.Accounts.authenticate_request`). An
   unauthenticated request is answered before a byte of its body is read, so anonymous
   clients cannot make the node buffer anything.
2. **The body's size**: a ``Content-Length`` over ``[api] max_body_bytes`` is refused (413)
   at once; a body without one is counted as it streams and refused as soon as it passes the
   limit. At most the limit is ever held in memory.
3. **A JSON body's shape**, before the framework parses it: nesting at most
   :data:`MAX_JSON_DEPTH` deep; no control characters in any text (tab, line feed and
   carriage return only in multi-line fields); attachment names that are plain file names.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import orjson

from secureline.domain.limits import attachment_name_problem
from secureline.interfaces.api.errors import error_body
from secureline.services.accounts import Accounts, TooManyFailures
from secureline.services.errors import NotAuthenticated

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 32
OPEN_PATHS = frozenset({"/healthz"})
#: The TAXII server's paths (interfaces/api/taxii.py): refusals there are TAXII error objects.
TAXII_PATHS = ("/taxii2/", "/taxii2")
TAXII_MEDIA_TYPE = b"application/taxii+json;version=2.1"
#: fields whose text may run over several lines (everything else is one line)
MULTI_LINE = frozenset({"body", "handling_conditions", "reason", "purpose"})
_ALWAYS_BAD = frozenset(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]) - set("\t\n\r")
_LINE_BREAKS = frozenset("\t\n\r\u2028\u2029")
#: an attachment of the draft, or of a draft of a batch
_ATTACHMENT = re.compile(r"body(\[\d+\])?\.attachments\[\d+\]")


class EdgeRefusal(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class Edge:
    """Pure ASGI middleware (it must see the body before the framework reads it)."""

    def __init__(self, app: ASGIApp, accounts: Accounts, max_body_bytes: int) -> None:
        self.app = app
        self.accounts = accounts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        taxii = scope["path"].startswith(TAXII_PATHS)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        source = client[0] if client else "unknown"
        try:
            principal = await anyio.to_thread.run_sync(
                self.accounts.authenticate_request, headers.get("authorization"), source
            )
        except TooManyFailures as exc:
            refusal = _refusal(taxii, exc.status, exc.code, exc.message)
            await _answer(send, exc.status, refusal, exc.retry_after, taxii=taxii)
            return
        except NotAuthenticated as exc:
            refusal = _refusal(taxii, exc.status, exc.code, exc.message)
            await _answer(send, exc.status, refusal, taxii=taxii)
            return
        scope.setdefault("state", {})["principal"] = principal
        try:
            body = await self._read_body(headers, receive)
            if body and "json" in headers.get("content-type", ""):
                check_json(body)
        except EdgeRefusal as exc:
            refusal = _refusal(taxii, exc.status, exc.code, exc.message, exc.field)
            await _answer(send, exc.status, refusal, taxii=taxii)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        limit = self.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise EdgeRefusal(413, "body_too_large", _too_large(limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise EdgeRefusal(400, "bad_request", "the client went away mid-body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise EdgeRefusal(413, "body_too_large", _too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes ([api] max_body_bytes)"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as a server does

    return replay


def _refusal(
    taxii: bool, status: int, code: str, message: str, field: str | None = None
) -> dict[str, Any]:
    """The API's error shape, or a TAXII error object under ``/taxii2/`` (the TAXII
    server's clients read those)."""
    if taxii:
        return {
            "title": message,
            "description": message,
            "error_code": code,
            "http_status": str(status),
        }
    return error_body(code, message, field)


async def _answer(
    send: Send, status: int, body: dict[str, Any], retry: int | None = None, *, taxii: bool = False
) -> None:
    payload = orjson.dumps(body)
    media = TAXII_MEDIA_TYPE if taxii else b"application/json"
    headers = [(b"content-type", media), (b"content-length", b"%d" % len(payload))]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    if retry is not None:
        headers.append((b"retry-after", str(retry).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def check_json(body: bytes) -> None:
    """Refuse a JSON body nested too deep, with control characters in its text or with an
    unsafe attachment name. Text that is not JSON is left to the route's parser (422)."""
    try:
        value = orjson.loads(body)  # orjson itself stops at 1024 levels
    except orjson.JSONDecodeError:
        return
    stack: list[tuple[Any, str, int, str]] = [(value, "body", 1, "")]
    while stack:
        item, path, depth, key = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise EdgeRefusal(
                422, "too_deep", f"{path}: JSON nested deeper than {MAX_JSON_DEPTH} levels", path
            )
        if isinstance(item, dict):
            for k, v in item.items():
                _check_text(k, f"{path}.{k}", multi_line=False)
                stack.append((v, f"{path}.{k}", depth + 1, k))
            if _ATTACHMENT.fullmatch(path):
                name = item.get("name")
                if isinstance(name, str):
                    check_attachment_name(name, f"{path}.name")
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]", depth + 1, key) for i, v in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path, multi_line=key in MULTI_LINE or ".entities[" in path)


def _character_class(characters: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(f"\\u{ord(c):04x}" for c in sorted(characters)) + "]")


#: one search per text, not a Python loop per character: a batch of 500 drafts is a megabyte
_BAD_IN_MULTI_LINE = _character_class(_ALWAYS_BAD)
_BAD_IN_ONE_LINE = _character_class(_ALWAYS_BAD | _LINE_BREAKS)


def _check_text(text: str, path: str, *, multi_line: bool) -> None:
    match = (_BAD_IN_MULTI_LINE if multi_line else _BAD_IN_ONE_LINE).search(text)
    if match is not None:
        found = match.group()
        what = (
            "line breaks and tabs are allowed only in multi-line fields"
            if found in (_LINE_BREAKS)
            else "control characters are not allowed in text"
        )
        raise EdgeRefusal(
            422, "control_character", f"{path}: U+{ord(found):04X} found: {what}", path
        )


def check_attachment_name(name: str, path: str) -> None:
    """An attachment's name is a plain file name (``domain.limits.attachment_name_problem``)."""
    problem = attachment_name_problem(name)
    if problem:
        raise EdgeRefusal(
            422, "unsafe_attachment_name", f"{path}: the attachment name {problem}", path
        )
