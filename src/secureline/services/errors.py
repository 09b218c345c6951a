"""The services' exception tree, translated to HTTP or CLI at the interfaces.

Every error has a stable machine ``code`` (the API returns it) and an HTTP ``status`` hint.
Refusals by the rules of sharing carry every reason the decision gave. Each class also sits
on its branch of the project's tree (:mod:`secureline.errors`), so that ``except Forbidden``
there catches this layer's ``Forbidden`` too::

    ServiceError      "error"              400
    ├── InvalidInput  "invalid_input"      422  BadInput, with the ``field``
    ├── NotAuthenticated                   401  NotAuthenticated
    ├── Forbidden     "forbidden"          403  Forbidden (or a named code: own_alert, ...)
    ├── NotFoundError "not_found"          404  NotFound
    ├── Conflict      "conflict"           409  Conflict (or alert_not_held, ...)
    ├── NoRoute       "no_route"           422  Refusal
    └── Refused       "refused"            403  Refusal, with every reason
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from secureline import errors as tree
from secureline.domain.policy import Reason


class ServiceError(tree.SecurelineError):
    """What the services raise for the interfaces to translate (the API: ``status``)."""

    code = "error"
    status = 400


class InvalidInput(ServiceError, tree.BadInput):
    code = "invalid_input"
    status = 422

    def __init__(self, field: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {reason}", code=code)
        self.field = field


class NotAuthenticated(ServiceError, tree.NotAuthenticated):
    code = "not_authenticated"
    status = 401


class Forbidden(ServiceError, tree.Forbidden):
    code = "forbidden"
    status = 403


class NotFoundError(ServiceError, tree.NotFound):
    code = "not_found"
    status = 404


class Conflict(ServiceError, tree.Conflict):
    code = "conflict"
    status = 409


class NoRoute(ServiceError, tree.Refusal):
    code = "no_route"
    status = 422


class Refused(ServiceError, tree.Refusal):
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
