"""Link agreements: the machine-readable twin of the memorandum of understanding for one link.

Both nodes of a link load the same agreement text; each computes :meth:`Agreement.digest`
and reports it over the line, and the policy refuses traffic when the two digests differ, so
a link never runs on terms only one side signed up to.

The file is TOML with one ``[agreement]`` table; every key is required, because a missing
term must stop the link rather than fall back to a default nobody agreed to::

    [agreement]
    id = "interpol-europol-2011"              # a name: lower-case letters, digits, . - _
    version = 3                               # >= 1; raise it whenever a term changes
    parties = ["interpol", "europol"]         # the two node names, order irrelevant
    crime_areas = ["maritime-piracy", "counter-terrorism", "major-events", "cyber-crime",
                   "child-sexual-exploitation"]          # or ["*"] for every area
    kinds = ["request", "reply", "information", "alert"]  # message kinds, or ["*"]
    classification_ceiling = "restricted"     # unclassified | basic | restricted | confidential
    purposes = ["prevent and combat serious crime"]     # allowed purposes; ["*"] = any
    personal_data = true
    data_subjects = ["suspect", "convicted", "contact"] # victim, witness, informant only if listed
    max_attachment_bytes = 52428800           # per message, in bytes (SIENA: 50 MB)
    onward_transfer = "with-permission"       # never | with-permission | allowed
    retention_max_days = 1825                 # review date at most this long after sending
    alerts_need_review = true                 # four-eyes review before an alert leaves
    confidentiality = "optional"              # optional | required (end-to-end encrypted body)

One key is optional: ``protocol = 1`` names the protocol version whose kinds and crime
areas ``"*"`` stands for (domain/vocabulary.py's PROTOCOL_KINDS and PROTOCOL_CRIME_AREAS);
absent, it is 1. ``"*"`` is expanded when the file is parsed into the fixed set of that
version, never into what the running software happens to know, so a node that learns a new
kind computes the same digest for an agreement already in force. The digest covers the
expanded sets, not the ``protocol`` key, so stating ``protocol = 1`` changes nothing. A
version this software does not know is refused: fail closed rather than guess what ``*``
meant.

Purposes are kept as written (surrounding blanks stripped); the policy compares them
case-insensitively with blanks collapsed (:func:`normalise_purpose`).

Errors are :class:`~secureline.domain.errors.InvalidAgreement` naming the key: ``toml`` for
a syntax error, the key itself otherwise; an unknown key or value comes with the closest
valid one, because most bad agreement files are typos.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar, cast

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.errors import InvalidAgreement
from secureline.domain.vocabulary import (
    PROTOCOL_CRIME_AREAS,
    PROTOCOL_KINDS,
    Classification,
    CrimeArea,
    DataSubject,
    Kind,
)

__all__ = [
    "Agreement",
    "Confidentiality",
    "OnwardTransfer",
    "WILDCARD",
    "KEYS",
    "OPTIONAL_KEYS",
    "parse_agreement",
    "agreement_to_toml",
    "normalise_purpose",
]

# a closed vocabulary (StrEnum) or the open, validated Kind: both made by calling with a
# value and iterated for their known members
E = TypeVar("E", bound=str)

WILDCARD = "*"
_NAME = re.compile(NAME_PATTERN)
MAX_PURPOSE_CHARS = 500


class OnwardTransfer(StrEnum):
    """May a recipient pass on, over this link, what a third party provided?"""

    NEVER = "never"  # no forwarded message crosses the link
    WITH_PERMISSION = "with-permission"  # every forward needs the provider's grant
    ALLOWED = "allowed"  # H0/H1 forwards pass; H2/H3 still need the provider's grant


class Confidentiality(StrEnum):
    """Must message bodies crossing the link be encrypted end to end?"""

    OPTIONAL = "optional"
    REQUIRED = "required"


# The keys of the [agreement] table, in the order agreement_to_toml writes them.
KEYS = (
    "id",
    "version",
    "parties",
    "crime_areas",
    "kinds",
    "classification_ceiling",
    "purposes",
    "personal_data",
    "data_subjects",
    "max_attachment_bytes",
    "onward_transfer",
    "retention_max_days",
    "alerts_need_review",
    "confidentiality",
)
#: Keys that may be left out, with the value an absent one means.
OPTIONAL_KEYS = {"protocol": 1}


def normalise_purpose(text: str) -> str:
    """The form purposes are compared in: case folded, blanks collapsed."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Agreement:
    """The terms of one link. Build it with :func:`parse_agreement`; the constructor only
    re-checks the invariants so that a hand-built agreement cannot be looser than a parsed one.
    """

    id: str
    version: int
    parties: frozenset[str]
    crime_areas: frozenset[CrimeArea]
    kinds: frozenset[Kind]
    classification_ceiling: Classification
    purposes: frozenset[str] | None  # None: any purpose
    personal_data: bool
    data_subjects: frozenset[DataSubject]
    max_attachment_bytes: int
    onward_transfer: OnwardTransfer
    retention_max_days: int
    alerts_need_review: bool
    confidentiality: Confidentiality
    _purposes_normalised: frozenset[str] | None = field(
        init=False, repr=False, compare=False, hash=False, default=None
    )

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or _NAME.fullmatch(self.id) is None:
            raise InvalidAgreement(
                "id", f"{self.id!r} is not a valid id: use 1-63 lower-case letters, digits, . - _"
            )
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise InvalidAgreement("version", f"must be an integer, got {self.version!r}")
        if self.version < 1:
            raise InvalidAgreement("version", f"must be 1 or more, got {self.version}")
        _check_parties(self.parties)
        if not self.crime_areas:
            raise InvalidAgreement("crime_areas", "an empty list allows nothing: list areas or '*'")
        if not self.kinds:
            raise InvalidAgreement("kinds", "an empty list allows nothing: list kinds or '*'")
        if self.purposes is not None:
            _check_purposes(self.purposes)
            normalised = frozenset(normalise_purpose(p) for p in self.purposes)
            object.__setattr__(self, "_purposes_normalised", normalised)
        for key in ("max_attachment_bytes", "retention_max_days"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidAgreement(key, f"must be an integer, got {value!r}")
        if self.max_attachment_bytes < 0:
            raise InvalidAgreement("max_attachment_bytes", "must be 0 or more")
        if self.retention_max_days < 1:
            raise InvalidAgreement("retention_max_days", "must be 1 or more")

    @property
    def label(self) -> str:
        """How reasons and logs name the agreement: ``interpol-europol-2011 v3``."""
        return f"{self.id} v{self.version}"

    def covers(self, node_a: str, node_b: str) -> bool:
        """True when the agreement is the one for the link between these two nodes."""
        return frozenset((node_a, node_b)) == self.parties

    def allows_purpose(self, purpose: str) -> bool:
        if self._purposes_normalised is None:
            return True
        return normalise_purpose(purpose) in self._purposes_normalised

    def canonical(self) -> dict[str, Any]:
        """The agreement as plain JSON values, lists sorted: what the digest covers."""
        return {
            "id": self.id,
            "version": self.version,
            "parties": sorted(self.parties),
            "crime_areas": sorted(str(a) for a in self.crime_areas),
            "kinds": sorted(str(k) for k in self.kinds),
            "classification_ceiling": str(self.classification_ceiling),
            "purposes": [WILDCARD] if self.purposes is None else sorted(self.purposes),
            "personal_data": self.personal_data,
            "data_subjects": sorted(str(s) for s in self.data_subjects),
            "max_attachment_bytes": self.max_attachment_bytes,
            "onward_transfer": str(self.onward_transfer),
            "retention_max_days": self.retention_max_days,
            "alerts_need_review": self.alerts_need_review,
            "confidentiality": str(self.confidentiality),
        }

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON form; both sides of a link compare it."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        text = json.dumps(
            self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_parties(parties: frozenset[str]) -> None:
    if len(parties) != 2:
        raise InvalidAgreement(
            "parties", f"name exactly two distinct nodes, got {sorted(map(str, parties))}"
        )
    for party in sorted(parties):
        if not isinstance(party, str) or _NAME.fullmatch(party) is None:
            raise InvalidAgreement(
                "parties",
                f"{party!r} is not a valid node name: use 1-63 lower-case letters, digits, "
                "'.', '-' or '_', starting with a letter or digit",
            )


def _check_purposes(purposes: frozenset[str]) -> None:
    if not purposes:
        raise InvalidAgreement("purposes", "an empty list allows nothing: list purposes or '*'")
    for purpose in sorted(purposes):
        if not isinstance(purpose, str) or not purpose.strip():
            raise InvalidAgreement("purposes", "a purpose must be non-empty text")
        if purpose != purpose.strip():
            raise InvalidAgreement("purposes", f"{purpose!r} has surrounding blanks")
        if purpose == WILDCARD:
            raise InvalidAgreement("purposes", "'*' stands alone: write purposes = ['*']")
        if len(purpose) > MAX_PURPOSE_CHARS:
            raise InvalidAgreement("purposes", f"a purpose is longer than {MAX_PURPOSE_CHARS}")


# --- parsing ---------------------------------------------------------------------------------


def parse_agreement(text: str) -> Agreement:
    """Parse an agreement file's text, or raise InvalidAgreement naming the bad key."""
    if not isinstance(text, str):
        raise InvalidAgreement("toml", f"expected the text of a TOML file, got {type(text)}")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidAgreement("toml", f"not valid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a value nested
        # a thousand deep exhausts the stack. No agreement nests more than one level.
        raise InvalidAgreement("toml", "not valid TOML: values nested too deeply") from None
    _refuse_unknown(document, ("agreement",), where="top level")
    if "agreement" not in document:
        raise InvalidAgreement("agreement", "the file needs an [agreement] table")
    raw = document["agreement"]
    if not isinstance(raw, dict):
        raise InvalidAgreement("agreement", f"must be a table, got {_toml_type(raw)}")
    _refuse_unknown(raw, (*KEYS, *OPTIONAL_KEYS), where="[agreement]")
    missing = [key for key in KEYS if key not in raw]
    if missing:
        raise InvalidAgreement(
            missing[0], f"required key(s) missing from [agreement]: {', '.join(missing)}"
        )
    purposes = _str_list(raw, "purposes")
    protocol = _protocol(raw)
    return Agreement(
        id=_typed(raw, "id", str),
        version=_typed(raw, "version", int),
        parties=_parties(raw),
        crime_areas=_enum_set(raw, "crime_areas", CrimeArea, PROTOCOL_CRIME_AREAS[protocol]),
        kinds=_enum_set(raw, "kinds", Kind, PROTOCOL_KINDS[protocol]),
        classification_ceiling=_enum(raw, "classification_ceiling", Classification),
        purposes=_purposes(purposes),
        personal_data=_typed(raw, "personal_data", bool),
        data_subjects=_enum_set(raw, "data_subjects", DataSubject, None),
        max_attachment_bytes=_typed(raw, "max_attachment_bytes", int),
        onward_transfer=_enum(raw, "onward_transfer", OnwardTransfer),
        retention_max_days=_typed(raw, "retention_max_days", int),
        alerts_need_review=_typed(raw, "alerts_need_review", bool),
        confidentiality=_enum(raw, "confidentiality", Confidentiality),
    )


def _refuse_unknown(table: Mapping[str, Any], known: Iterable[str], *, where: str) -> None:
    known = tuple(known)
    unknown = [key for key in table if key not in known]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"unknown key {key!r}"
        if close:
            hint += f" (did you mean {close[0]!r}?)"
        hints.append(hint)
    raise InvalidAgreement(
        unknown[0], f"{'; '.join(hints)} in {where}; valid keys: {', '.join(known)}"
    )


_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: bool is a subclass of int
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (list, "an array"),
    (dict, "a table"),
    (datetime, "a date-time"),
    (date, "a date"),
    (time, "a time"),
)


def _toml_type(value: Any) -> str:
    for python_type, name in _TOML_TYPES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__  # pragma: no cover - tomllib yields only the types above


T = TypeVar("T", str, int, bool)


def _typed(raw: Mapping[str, Any], key: str, expected: type[T]) -> T:
    value = raw[key]
    wrong_bool = isinstance(value, bool) and expected is not bool
    if wrong_bool or not isinstance(value, expected):
        wanted = dict(_TOML_TYPES)[expected]
        raise InvalidAgreement(key, f"must be {wanted}, got {_toml_type(value)} {value!r}")
    return value


def _str_list(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidAgreement(
            key, f"must be an array of strings, got {_toml_type(value)} {value!r}"
        )
    return value


def _parties(raw: Mapping[str, Any]) -> frozenset[str]:
    names = _str_list(raw, "parties")
    parties = frozenset(names)
    if len(names) != 2 or len(parties) != 2:
        raise InvalidAgreement("parties", f"name exactly two distinct nodes, got {names}")
    return parties


def _purposes(values: list[str]) -> frozenset[str] | None:
    if values == [WILDCARD]:
        return None
    if WILDCARD in values:
        raise InvalidAgreement("purposes", "'*' stands alone: write purposes = ['*']")
    return frozenset(value.strip() for value in values)


def _enum(raw: Mapping[str, Any], key: str, enum: type[E]) -> E:
    return _member(_typed(raw, key, str), key, enum)


def _member(value: str, key: str, enum: type[E]) -> E:
    try:
        return enum(value)
    except ValueError:
        names = [str(member) for member in cast("Iterable[E]", enum)]
        close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidAgreement(
            key, f"{value!r} is not a known value{hint} (known: {', '.join(names)})"
        ) from None


def _protocol(raw: Mapping[str, Any]) -> int:
    if "protocol" not in raw:
        return OPTIONAL_KEYS["protocol"]
    version = _typed(raw, "protocol", int)
    if version not in PROTOCOL_KINDS:
        known = ", ".join(str(v) for v in sorted(PROTOCOL_KINDS))
        raise InvalidAgreement(
            "protocol", f"protocol version {version} is not known to this node (known: {known})"
        )
    return version


def _enum_set(
    raw: Mapping[str, Any], key: str, enum: type[E], wildcard: frozenset[E] | None
) -> frozenset[E]:
    """The listed values, or (``["*"]``) the ``wildcard`` set; None: ``"*"`` is refused."""
    values = _str_list(raw, key)
    if wildcard is not None and values == [WILDCARD]:
        return wildcard
    if WILDCARD in values:
        reason = (
            "'*' stands alone: write [\"*\"]" if wildcard is not None else "'*' is not allowed here"
        )
        raise InvalidAgreement(key, reason)
    if len(set(values)) != len(values):
        twice = next(v for v in values if values.count(v) > 1)
        raise InvalidAgreement(key, f"{twice!r} is listed twice")
    return frozenset(_member(value, key, enum) for value in values)


# --- writing ---------------------------------------------------------------------------------


def agreement_to_toml(agreement: Agreement) -> str:
    """The agreement as a file :func:`parse_agreement` reads back to an equal Agreement."""

    # Lists are written out in full, never folded back to "*": a file written today must not
    # grow to cover values a later version of the software adds.
    def values(items: Iterable[str]) -> str:
        return "[" + ", ".join(_toml_string(item) for item in sorted(map(str, items))) + "]"

    purposes = values([WILDCARD]) if agreement.purposes is None else values(agreement.purposes)
    lines = [
        "[agreement]",
        f"id = {_toml_string(agreement.id)}",
        f"version = {agreement.version}",
        f"parties = {values(agreement.parties)}",
        f"crime_areas = {values(agreement.crime_areas)}",
        f"kinds = {values(agreement.kinds)}",
        f"classification_ceiling = {_toml_string(agreement.classification_ceiling)}",
        f"purposes = {purposes}",
        f"personal_data = {_toml_bool(agreement.personal_data)}",
        f"data_subjects = {values(agreement.data_subjects)}",
        f"max_attachment_bytes = {agreement.max_attachment_bytes}",
        f"onward_transfer = {_toml_string(agreement.onward_transfer)}",
        f"retention_max_days = {agreement.retention_max_days}",
        f"alerts_need_review = {_toml_bool(agreement.alerts_need_review)}",
        f"confidentiality = {_toml_string(agreement.confidentiality)}",
    ]
    return "\n".join(lines) + "\n"


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in str(value):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
