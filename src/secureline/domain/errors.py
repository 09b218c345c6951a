"""The domain's one exception tree.

Every rule the domain checks raises :class:`DomainError` or a subclass, carrying a stable
machine ``code`` and the ``field`` it is about, so that the CLI can print one readable line
and the API can answer 4xx with the same code. Nothing in the domain raises a library error
raw: pydantic's errors are translated by :func:`translate`.
"""

from __future__ import annotations

from pydantic import ValidationError

from secureline.errors import BadInput


class DomainError(BadInput, ValueError):
    """A value or message that breaks a rule of the domain (the project tree's ``BadInput``).

    A ValueError so that pydantic validators may raise it and report it as a field error.
    """

    code = "invalid"
    field: str

    def __init__(self, field: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        if code is not None:
            self.code = code


class InvalidAddress(DomainError):
    """An address that does not follow the ``unit@node`` grammar."""

    code = "invalid_address"


class InvalidEntity(DomainError):
    """An entity that the FollowTheMoney schema does not accept."""

    code = "invalid_entity"


class InvalidMessage(DomainError):
    """A message header or content that breaks a rule."""

    code = "invalid_message"


class InvalidAgreement(DomainError):
    """An agreement file with an unknown value or key."""

    code = "invalid_agreement"


def translate(exc: ValidationError) -> DomainError:
    """The first pydantic error as one DomainError naming the field and the reason."""
    first = exc.errors(include_url=False)[0]
    # A part of the location may be a key the peer chose: cut short, as errors travel.
    location = ".".join(str(part)[:64] for part in first["loc"])
    reason = str(first["msg"]).removeprefix("Value error, ")
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, DomainError):
        return type(cause)(location or cause.field, cause.reason, code=cause.code)
    if ":" in reason and not location:
        location, _, reason = reason.partition(":")
        reason = reason.strip()
    return InvalidMessage(location or "message", reason, code=_CODES.get(first["type"]))


#: pydantic's error types that break a bound of domain/limits.py, by the code they refuse with.
_CODES = {
    "string_too_long": "field_too_long",
    "too_long": "field_too_long",
    "timezone_aware": "time_without_zone",
}
