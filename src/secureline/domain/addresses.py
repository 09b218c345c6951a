"""Addresses: ``unit@node``.

Grammar (documented in docs/protocol.md)::

    address = unit "@" node
    unit    = name
    node    = name
    name    = lower-alnum *( lower-alnum / "-" / "_" / "." ) ; 1 to 63 characters

Names are lower case so that an address has exactly one spelling; the parser folds case
and strips surrounding blanks, and refuses everything else rather than guessing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from secureline.domain.errors import InvalidAddress
from secureline.domain.limits import ADDRESS_MAX_CHARS, NAME_MAX_CHARS

#: The unit name that means every unit of its node: ``all-units@europol``. It fits the name
#: grammar, so every node on a route parses it; only a kind whose facts allow it
#: (domain/kinds.py ``every_unit``: a strategic report) may carry it, and no node has a unit
#: of that name (services/accounts.py refuses it).
EVERY_UNIT = "all-units"
NAME_PATTERN = rf"[a-z0-9][a-z0-9._-]{{0,{NAME_MAX_CHARS - 1}}}"
_NAME = re.compile(NAME_PATTERN)


def check_name(value: str, what: str = "name") -> str:
    """Return ``value`` when it is a valid unit or node name, else raise InvalidAddress."""
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise InvalidAddress(
            what,
            f"{_shown(value)} is not a valid {what}: use 1-63 lower-case letters, digits, '.', '-' "
            "or '_', starting with a letter or digit",
        )
    return value


def _shown(value: object) -> str:
    """A value quoted in an error: cut short, since errors travel in evidence and logs."""
    text = repr(value)
    return text if len(text) <= 2 * ADDRESS_MAX_CHARS else text[: 2 * ADDRESS_MAX_CHARS] + "..."


@dataclass(frozen=True, order=True, slots=True)
class Address:
    """A unit inside a node: where a message is delivered and who sent it."""

    unit: str
    node: str

    @classmethod
    def parse(cls, text: str) -> Address:
        if not isinstance(text, str):
            raise InvalidAddress("address", f"expected text like 'unit@node', got {_shown(text)}")
        if len(text) > 2 * ADDRESS_MAX_CHARS:  # blanks around it are trimmed; not that many
            raise InvalidAddress(
                "address", f"longer than {ADDRESS_MAX_CHARS} characters", code="field_too_long"
            )
        cleaned = text.strip().lower()
        if len(cleaned) > ADDRESS_MAX_CHARS:
            raise InvalidAddress(
                "address", f"longer than {ADDRESS_MAX_CHARS} characters", code="field_too_long"
            )
        unit, at, node = cleaned.partition("@")
        if not at:
            raise InvalidAddress("address", f"{_shown(text)} has no '@': write it as unit@node")
        if "@" in node:
            raise InvalidAddress("address", f"{_shown(text)} has more than one '@'")
        return cls(check_name(unit, "unit"), check_name(node, "node"))

    def __str__(self) -> str:
        return f"{self.unit}@{self.node}"


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> Address:
    # Every header names its sender and recipients again; a node sees few distinct ones.
    # Only successful parses are kept (an exception is never cached), and at most 4096.
    return Address.parse(text)


def _to_address(value: Any) -> Address:
    if isinstance(value, Address):
        return value
    return _parsed(value) if isinstance(value, str) else Address.parse(value)


AddressField = Annotated[
    Address, BeforeValidator(_to_address), PlainSerializer(str, return_type=str)
]
"""An Address inside a pydantic model: parsed from and serialised to ``unit@node``."""
