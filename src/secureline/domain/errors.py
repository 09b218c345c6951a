"""The domain's one exception tree.

Every rule the domain checks raises :class:`DomainError` or a subclass, carrying a stable
machine ``code`` and the ``field`` it is about, so that the CLI can print one readable line
and the API can answer 4xx with the same code. Nothing in the domain raises a library error
raw: pydantic's errors are translated by :func:`secureline.domain.message.parse_message`.
"""

from __future__ import annotations

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
