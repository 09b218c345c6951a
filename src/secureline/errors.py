"""The project's one exception tree: its root and the branches every layer's errors hang from.

Every error the project raises on purpose is a :class:`SecurelineError`, with a stable
machine ``code`` and an HTTP ``status`` hint, so that a boundary (the API, the CLI, the line)
can catch the whole project with one clause and no library error passes for one of ours.
The branches say what kind of failure it is; each layer keeps its own tree under them
(docs/architecture.md, "Exception trees")::

    SecurelineError      "error"           500  root; unclassified is internal
    ├── BadInput         "invalid_input"   422  services.InvalidInput, domain.DomainError
    ├── NotAuthenticated "not_authenticated" 401  services.NotAuthenticated
    ├── Forbidden        "forbidden"       403  services.Forbidden (own_alert, not_holding_unit...)
    ├── Refusal          "refused"         403  a rule said no, ``code`` names it:
    │                                           services.Refused (every reason of the rules of
    │                                           sharing), services.NoRoute (422), the line's
    │                                           Refusal, WireError, LineError, GrantError,
    │                                           crypto.CryptoError (its codes are wire codes)
    ├── NotFound         "not_found"       404  services.NotFoundError
    ├── Conflict         "conflict"        409  services.Conflict
    └── Internal         "internal_error"  500  store.StoreError; never shown in detail

The ``status`` of a class is a hint: the API answers a :class:`~secureline.services.errors.
ServiceError` with it and anything else as an opaque 500; the CLI prints the code's message
on one line and exits 2. This module imports nothing, so every layer may hang from it.
"""

from __future__ import annotations


class SecurelineError(Exception):
    """The root: an error the project raised on purpose."""

    code: str = "error"
    status: int = 500
    #: the input the error is about (a service's or the domain's name for it), if any
    field: str | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadInput(SecurelineError):
    """What was asked breaks a rule of form: a field, a value, a message."""

    code = "invalid_input"
    status = 422


class NotAuthenticated(SecurelineError):
    """Who asks is not known (no credential, an unknown or ended one)."""

    code = "not_authenticated"
    status = 401


class Forbidden(SecurelineError):
    """Who asks is known and may not do this (their role, their unit)."""

    code = "forbidden"
    status = 403


class Refusal(SecurelineError):
    """A rule said no to what was asked or sent; ``code`` names the rule, stably."""

    code = "refused"
    status = 403


class NotFound(SecurelineError):
    """No such thing here (or none that the asker may know of)."""

    code = "not_found"
    status = 404


class Conflict(SecurelineError):
    """It conflicts with what is stored (decided already, exists already)."""

    code = "conflict"
    status = 409


class Internal(SecurelineError):
    """The node could not do it; the details are for the log, never for the asker."""

    code = "internal_error"
    status = 500
