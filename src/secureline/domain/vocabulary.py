"""The closed vocabularies of a message header (see ../shared/DOMAIN.md).

Values are lower-case wire strings; they travel in envelopes and agreement files, so a value
is never renamed once released: a new one is added instead.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Kind(StrEnum):
    """What a message is for."""

    REQUEST = "request"
    REPLY = "reply"
    INFORMATION = "information"
    ALERT = "alert"
    STRATEGIC_REPORT = "strategic-report"
    ACTION_PLAN_UPDATE = "action-plan-update"
    PERMISSION_REQUEST = "permission-request"
    PERMISSION_GRANT = "permission-grant"
    ACKNOWLEDGEMENT = "acknowledgement"
    CORRECTION = "correction"
    DELETION = "deletion"


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
#: What a kind of any version looks like (a newer partner's included): lower-case words.
KIND_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
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
