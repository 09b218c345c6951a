"""The services' exception tree, translated to HTTP or CLI at the interfaces.

Every error has a stable machine ``code`` (the API returns it) and an HTTP ``status`` hint.
Refusals by the rules of sharing carry every reason the decision gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from secureline.domain.policy import Reason


class ServiceError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(ServiceError):
    code = "invalid_input"
    status = 422

    def __init__(self, field: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {reason}", code=code)
        self.field = field


class NotAuthenticated(ServiceError):
    code = "not_authenticated"
    status = 401


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class NotFoundError(ServiceError):
    code = "not_found"
    status = 404


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class NoRoute(ServiceError):
    code = "no_route"
    status = 422


class Refused(ServiceError):
    """The rules of sharing refused; nothing was queued."""

    code = "refused"
    status = 403

    def __init__(self, reasons: Sequence[Reason]) -> None:
        super().__init__("; ".join(f"{r.code}: {r.text}" for r in reasons))
        self.reasons = tuple(reasons)


def error_json(exc: ServiceError) -> dict[str, Any]:
    """``{code, message, field, reasons?}``: an error as the API and the CLI show it."""
    detail: dict[str, Any] = {
        "code": exc.code,
        "message": exc.message,
        "field": getattr(exc, "field", None),
    }
    reasons = getattr(exc, "reasons", None)
    if reasons:
        detail["reasons"] = [{"code": r.code, "text": r.text} for r in reasons]
    return detail
