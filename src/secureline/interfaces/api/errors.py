"""One error shape for every answer that is not a success, the framework's own included:

    {"error": {"code": "...", "message": "...", "field": "body.to[0]" | null, "reasons"?: [...]}}

``code`` is stable and machine-readable, ``message`` is for a person and names the field,
``field`` is the path of the offending input (``body.``, ``query.``, ``path.`` or
``header.`` then the keys and list indexes), ``reasons`` lists every reason a refusal by the
rules of sharing gave. Anything unexpected is an opaque 500 whose details go only to the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from secureline.services.errors import ServiceError

log = logging.getLogger(__name__)

#: a model-level validator names its field first ("handling_conditions: H3 needs ...")
_NAMED = re.compile(r"^(?:Value error, )?([a-z_]+(?:\[\d+\])?): ")


class ReasonOut(BaseModel):
    code: str
    text: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None
    reasons: list[ReasonOut] | None = None


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


def error_body(
    code: str, message: str, field: str | None = None, reasons: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    # input is echoed in messages (an id, a field's name): shown, never passed on raw
    detail: dict[str, Any] = {
        "code": code,
        "message": printable(message),
        "field": printable(field) if field is not None else None,
    }
    if reasons:
        detail["reasons"] = reasons
    return {"error": detail}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters written as ``\\uXXXX``."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "to", 0)`` -> ``body.to[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


#: status -> (code, message) for the framework's own answers (no route, no such method)
_HTTP_CODES = {
    404: ("not_found", "no such route"),
    405: ("method_not_allowed", "this route does not take that method"),
}

#: the status codes every route documents, with what each means here
DOCUMENTED = {
    401: "Not authenticated: no 'Authorization: Bearer <token>', or an unknown token",
    403: "Forbidden, or refused by the rules of sharing (with every reason)",
    404: "No such message, route or item",
    409: "Conflicts with what is stored",
    413: "The request body is larger than [api] max_body_bytes",
    422: "Invalid input: the field path names what is wrong",
    429: "Too many failed authentications from this address",
}


def install(app: FastAPI) -> None:
    """Translate every error the app can raise into the one shape."""

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        reasons = getattr(exc, "reasons", None)
        field = getattr(exc, "field", None)
        body = error_body(
            exc.code,
            exc.message,
            field,  # the service's name for it (it does not know where the API took it from)
            [{"code": r.code, "text": r.text} for r in reasons] if reasons else None,
        )
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = list(first["loc"])
        message = str(first["msg"])
        named = _NAMED.match(message)
        if named and loc[:1] == ["body"] and all(isinstance(p, int) for p in loc[1:]):
            # the body itself, or a draft of a batch (body[3])
            field = f"{field_path(loc)}.{named.group(1)}"
            message = message[named.end() :]
        else:
            # pydantic appends the union member's or validator's name to the location
            loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or "function-" in p))]
            field = field_path(loc)
            message = message.removeprefix("Value error, ")
        return error_response(422, "invalid_input", f"{field}: {message}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # the framework could not read the body (not UTF-8...)
            return error_response(422, "invalid_input", "body: not readable JSON", "body")
        code, message = _HTTP_CODES.get(exc.status_code, ("error", str(exc.detail)))
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("API: unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "internal error")
