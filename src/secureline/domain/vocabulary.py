"""The vocabularies of a message header (see ../shared/DOMAIN.md).

Values are lower-case wire strings; they travel in envelopes and agreement files, so a value
is never renamed once released: a new one is added instead. Every vocabulary is a closed
enum but ``Kind``, which a kind module may extend (services/kinds/registry.py); what each
protocol version means by ``"*"`` stays fixed (PROTOCOL_KINDS).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

#: What a kind of any version looks like (a newer partner's included): lower-case words.
KIND_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


class _KindType(type):
    """Iterating ``Kind`` gives every kind this software knows, in the order they were defined
    (as iterating an enum would): protocol 1's, then any a kind module registered."""

    def __iter__(cls) -> Iterator[Kind]:
        return iter(tuple(_KNOWN_KINDS.values()))

    def __len__(cls) -> int:
        return len(_KNOWN_KINDS)


class Kind(str, metaclass=_KindType):
    """What a message is for: an open, validated name, so that a kind can be added by one
    module registered outside this file (services/kinds/registry.py) without a new release
    of the vocabulary.

    ``Kind(name)`` gives the one instance of a known kind (so ``is`` compares kinds, as it did
    when this was an enum) and raises ValueError for any other name; ``Kind.define`` makes a
    new one. A well-formed name that this software does not know is not a ``Kind``: the line
    refuses it on arrival with ``unknown_kind`` before the header is parsed."""

    __slots__ = ()

    REQUEST: ClassVar[Kind]
    REPLY: ClassVar[Kind]
    INFORMATION: ClassVar[Kind]
    ALERT: ClassVar[Kind]
    STRATEGIC_REPORT: ClassVar[Kind]
    ACTION_PLAN_UPDATE: ClassVar[Kind]
    PERMISSION_REQUEST: ClassVar[Kind]
    PERMISSION_GRANT: ClassVar[Kind]
    ACKNOWLEDGEMENT: ClassVar[Kind]
    CORRECTION: ClassVar[Kind]
    DELETION: ClassVar[Kind]

    def __new__(cls, value: object) -> Kind:
        known = _KNOWN_KINDS.get(value) if isinstance(value, str) else None
        if known is None:
            raise ValueError(f"{value!r} is not a known kind")
        return known

    @classmethod
    def define(cls, name: str) -> Kind:
        """The kind called ``name``, made once: defining a known name again gives it back."""
        known = _KNOWN_KINDS.get(name)
        if known is not None:
            return known
        if not isinstance(name, str) or KIND_NAME.fullmatch(name) is None:
            raise ValueError(f"{name!r} is not a kind name (lower-case words joined by '-')")
        kind = _KNOWN_KINDS[name] = str.__new__(cls, name)
        return kind

    @property
    def value(self) -> str:
        """The wire string (as an enum member's ``value``)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Kind({str.__str__(self)!r})"

    def __reduce__(self) -> tuple[type[Kind], tuple[str]]:
        return (Kind, (str.__str__(self),))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # A look-up in the known kinds, which also gives the one instance of each; what is
        # not a known kind fails like a value outside an enum did.
        return core_schema.no_info_plain_validator_function(
            _validate_kind,
            ref="Kind",
            serialization=core_schema.plain_serializer_function_ser_schema(
                str.__str__, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        # the kinds of the protocol this software speaks, in their order: the same schema in
        # every process, whatever kinds a module registered besides (the API still takes them)
        protocol = PROTOCOL_KINDS[PROTOCOL_VERSION]
        return {
            "description": "What a message is for.",
            "enum": [str(kind) for kind in cls if kind in protocol],
            "title": "Kind",
            "type": "string",
        }


_KNOWN_KINDS: dict[str, Kind] = {}


def _validate_kind(value: Any) -> Kind:
    known = _KNOWN_KINDS.get(value) if isinstance(value, str) else None
    if known is None:
        # worded as pydantic words a value outside an enum, which this was
        names = [repr(str(k)) for k in _KNOWN_KINDS]
        expected = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})
    return known


for _attribute, _name in (
    ("REQUEST", "request"),
    ("REPLY", "reply"),
    ("INFORMATION", "information"),
    ("ALERT", "alert"),
    ("STRATEGIC_REPORT", "strategic-report"),
    ("ACTION_PLAN_UPDATE", "action-plan-update"),
    ("PERMISSION_REQUEST", "permission-request"),
    ("PERMISSION_GRANT", "permission-grant"),
    ("ACKNOWLEDGEMENT", "acknowledgement"),
    ("CORRECTION", "correction"),
    ("DELETION", "deletion"),
):
    setattr(Kind, _attribute, Kind.define(_name))


class CrimeArea(StrEnum):
    """The five priority areas of the 2011 joint action plans, then the other mandated ones."""

    MARITIME_PIRACY = "maritime-piracy"
    COUNTER_TERRORISM = "counter-terrorism"
    MAJOR_EVENTS = "major-events"
    CYBER_CRIME = "cyber-crime"
    CHILD_SEXUAL_EXPLOITATION = "child-sexual-exploitation"
    DRUG_TRAFFICKING = "drug-trafficking"
    HUMAN_TRAFFICKING = "human-trafficking"
    MIGRANT_SMUGGLING = "migrant-smuggling"
    FIREARMS = "firearms"
    MONEY_LAUNDERING = "money-laundering"
    FRAUD = "fraud"
    CORRUPTION = "corruption"
    ENVIRONMENTAL_CRIME = "environmental-crime"
    PROPERTY_CRIME = "property-crime"
    OTHER = "other"


PRIORITY_AREAS = (
    CrimeArea.MARITIME_PIRACY,
    CrimeArea.COUNTER_TERRORISM,
    CrimeArea.MAJOR_EVENTS,
    CrimeArea.CYBER_CRIME,
    CrimeArea.CHILD_SEXUAL_EXPLOITATION,
)


class HandlingCode(StrEnum):
    """How the recipient may use the information (SIENA handling codes)."""

    H0 = "H0"  # only to prevent and combat crime, for the stated purpose
    H1 = "H1"  # not in judicial proceedings without the provider's permission
    H2 = "H2"  # not to be disseminated further without the provider's permission
    H3 = "H3"  # other restrictions, stated in free text, acknowledged before reading


class DataSubject(StrEnum):
    """Categories of persons whose personal data a message carries."""

    SUSPECT = "suspect"
    CONVICTED = "convicted"
    POTENTIAL_OFFENDER = "potential-offender"
    CONTACT = "contact"
    VICTIM = "victim"
    WITNESS = "witness"
    INFORMANT = "informant"


SENSITIVE_SUBJECTS = frozenset({DataSubject.VICTIM, DataSubject.WITNESS, DataSubject.INFORMANT})


class Priority(StrEnum):
    """Request urgency, which fixes the default deadline (EU Directive 2023/977)."""

    URGENT_DIRECT = "urgent-direct"  # urgent, directly accessible information: 8 hours
    URGENT = "urgent"  # urgent, otherwise: 3 calendar days
    NORMAL = "normal"  # all other requests: 7 calendar days


class Classification(StrEnum):
    """The organisation's sensitivity marking (a convention; links carry a ceiling)."""

    UNCLASSIFIED = "unclassified"
    BASIC = "basic"
    RESTRICTED = "restricted"
    CONFIDENTIAL = "confidential"

    @property
    def rank(self) -> int:
        return _CLASSIFICATION_ORDER.index(self)


_CLASSIFICATION_ORDER = list(Classification)


class AlertType(StrEnum):
    """Notice-like alerts (Interpol's colour-coded notices and the UN special notice)."""

    RED = "red"
    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    BLACK = "black"
    ORANGE = "orange"
    PURPLE = "purple"
    UN_SPECIAL = "un-special"


# Interpol's four working languages first; any ISO 639-1 code is accepted.
WORKING_LANGUAGES = ("en", "fr", "es", "ar")


# --- protocol versions --------------------------------------------------------------------------
#
# A protocol version names a fixed set of kinds (and of crime areas). An agreement's ``"*"``
# means the set of the version it states, never what the running software happens to know,
# so that a node that learns a kind does not change the digest of an agreement in force.
# A version, once released, never changes: a new kind or area goes into a new version.

PROTOCOL_VERSION = 1
"""The newest protocol version this software speaks."""

PROTOCOL_KINDS: dict[int, frozenset[Kind]] = {
    1: frozenset(
        {
            Kind.REQUEST,
            Kind.REPLY,
            Kind.INFORMATION,
            Kind.ALERT,
            Kind.STRATEGIC_REPORT,
            Kind.ACTION_PLAN_UPDATE,
            Kind.PERMISSION_REQUEST,
            Kind.PERMISSION_GRANT,
            Kind.ACKNOWLEDGEMENT,
            Kind.CORRECTION,
            Kind.DELETION,
        }
    ),
}

PROTOCOL_CRIME_AREAS: dict[int, frozenset[CrimeArea]] = {
    1: frozenset(
        {
            CrimeArea.MARITIME_PIRACY,
            CrimeArea.COUNTER_TERRORISM,
            CrimeArea.MAJOR_EVENTS,
            CrimeArea.CYBER_CRIME,
            CrimeArea.CHILD_SEXUAL_EXPLOITATION,
            CrimeArea.DRUG_TRAFFICKING,
            CrimeArea.HUMAN_TRAFFICKING,
            CrimeArea.MIGRANT_SMUGGLING,
            CrimeArea.FIREARMS,
            CrimeArea.MONEY_LAUNDERING,
            CrimeArea.FRAUD,
            CrimeArea.CORRUPTION,
            CrimeArea.ENVIRONMENTAL_CRIME,
            CrimeArea.PROPERTY_CRIME,
            CrimeArea.OTHER,
        }
    ),
}
