"""Strategic reports: trends and threats, with no personal data (issue 17, item 3).

A ``strategic-report`` carries a typed report as its JSON body (:class:`StrategicReport`: a
title, a summary text, figures and tables) and may carry attachments and entities as any
message does. The 2011 agreement separates strategic from operational information: a
strategic report names no person. :func:`personal_data_found` is that rule, and says what
it found, for the sender's refusal at submit and the receiver's on arrival (both
``personal_data_in_strategic``, services/kinds/strategic_report.py):

* an entity of a personal FollowTheMoney schema (Person, Passport, ..., as
  :func:`~secureline.domain.entities.carries_personal_data` reads them);
* a data subject category in the header, or a header that declares personal data;
* a strong identifier in an entity: a property of a type that names a person's contact
  (phone, email, IBAN, IP address) or one of the identity numbers of
  :data:`IDENTIFIER_PROPERTIES` (the matcher's strong identifiers, services/matching, less
  those of vessels and web sites, which a report on maritime piracy may name);
* a strong identifier written in the text (the subject, the report's title, summary, figure
  labels and units, table captions, columns and cells, attachment names): an e-mail
  address, an E.164 phone number, an IBAN (its check digits verified), an IPv4 or IPv6
  address, a crypto-currency wallet (Bitcoin, Ethereum).

What was found is named by kind and place (``a phone number in tables[0].rows[2][1]``),
never quoted: the reason travels in evidence and audit records.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any

from followthemoney import model
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from secureline.domain.entities import PERSONAL_SCHEMATA
from secureline.domain.limits import SUBJECT_MAX_CHARS, control_character
from secureline.domain.message import Content, Header

#: the refusal code, at the sender (a reason of ``refused``) and on arrival (evidence)
PERSONAL_DATA_IN_STRATEGIC = "personal_data_in_strategic"
MAX_FIGURES = 200
MAX_TABLES = 50
MAX_COLUMNS = 50
MAX_ROWS = 2_000
MAX_CELL_CHARS = 1_000
MAX_SUMMARY_CHARS = 200_000
#: findings named in one reason (the first ones; the count of the rest follows)
MAX_NAMED = 10

#: entity properties that are a person's identifier, by name (services/matching/identifiers.py
#: CLASSES: identity documents, tax number, wallet, vehicle; tests keep the two in step)
IDENTIFIER_PROPERTIES = {
    "passportNumber": "a passport number",
    "idNumber": "an identity number",
    "personalNumber": "a personal number",
    "socialSecurityNumber": "a social security number",
    "number": "a document number",
    "taxNumber": "a tax number",
    "iban": "an IBAN",
    "cryptoAddress": "a crypto wallet",
    "publicKey": "a crypto wallet",
    "vinCode": "a vehicle identification number",
}
#: entity property types that are a person's identifier, by FollowTheMoney type name
IDENTIFIER_TYPES = {
    "phone": "a phone number",
    "email": "an e-mail address",
    "iban": "an IBAN",
    "ip": "an IP address",
}


def _text(value: str) -> str:
    bad = control_character(value, multiline=True)
    if bad is not None:
        raise ValueError(f"must not hold control character {bad!r}")
    return value


Line = Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX_CHARS), AfterValidator(_text)]
Cell = Annotated[str, Field(max_length=MAX_CELL_CHARS), AfterValidator(_text)] | int | float | None


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Figure(_Strict):
    """One key figure: ``{"label": "attacks", "value": 42, "unit": "incidents"}``."""

    label: Line
    value: int | float
    unit: Annotated[str, Field(max_length=SUBJECT_MAX_CHARS), AfterValidator(_text)] = ""


class Table(_Strict):
    """A table: its caption, its column names and its rows, each as long as the columns."""

    caption: Line
    columns: Annotated[tuple[Line, ...], Field(min_length=1, max_length=MAX_COLUMNS)]
    rows: Annotated[tuple[tuple[Cell, ...], ...], Field(max_length=MAX_ROWS)] = ()

    @model_validator(mode="after")
    def _shape(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows[{i}] has {len(row)} cells for {len(self.columns)} columns")
        return self


class StrategicReport(_Strict):
    """The body of a ``strategic-report``, as JSON."""

    title: Line
    summary: Annotated[
        str, Field(min_length=1, max_length=MAX_SUMMARY_CHARS), AfterValidator(_text)
    ]
    figures: Annotated[tuple[Figure, ...], Field(max_length=MAX_FIGURES)] = ()
    tables: Annotated[tuple[Table, ...], Field(max_length=MAX_TABLES)] = ()


def read_report(body: str) -> StrategicReport | None:
    """The body as a report; None when it is not one (the payload check refuses it)."""
    try:
        return StrategicReport.model_validate_json(body or "null")
    except ValidationError:
        return None


# --- identifiers written in text ------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+[1-9](?:[ ().-]?[0-9]){6,14}(?![0-9])")
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b")
_IPV4 = re.compile(r"(?<![\d.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_WALLET = re.compile(
    r"\b(?:0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})\b"
)


def _iban_checks(text: str) -> bool:
    compact = text.replace(" ", "")
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def identifiers_in_text(text: str) -> list[str]:
    """The kinds of strong identifier written in ``text``, each once, in a fixed order."""
    found = []
    if _EMAIL.search(text):
        found.append("an e-mail address")
    if _PHONE.search(text):
        found.append("a phone number")
    if any(_iban_checks(m.group()) for m in _IBAN.finditer(text)):
        found.append("an IBAN")
    if any(_is_ip(m.group()) for m in (*_IPV4.finditer(text), *_IPV6.finditer(text))):
        found.append("an IP address")
    if _WALLET.search(text):
        found.append("a crypto wallet")
    return found


# --- the rule -------------------------------------------------------------------------------


def _texts(header: Header, content: Content) -> Iterator[tuple[str, str]]:
    """(place, text) of everything written in the message that is shown as text."""
    yield "subject", header.subject
    if content.sealed is not None:
        yield "subject", content.sealed.subject
    for i, attachment in enumerate(content.attachments):
        yield f"attachments[{i}].name", attachment.name
    report = read_report(content.body)
    if report is None:
        yield "body", content.body
        return
    yield "title", report.title
    yield "summary", report.summary
    for i, figure in enumerate(report.figures):
        yield f"figures[{i}].label", figure.label
        yield f"figures[{i}].unit", figure.unit
    for t, table in enumerate(report.tables):
        yield f"tables[{t}].caption", table.caption
        for c, column in enumerate(table.columns):
            yield f"tables[{t}].columns[{c}]", column
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row):
                if isinstance(cell, str):
                    yield f"tables[{t}].rows[{r}][{c}]", cell


def _in_entities(entities: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for i, entity in enumerate(entities):
        schema_name = str(entity.get("schema"))
        if schema_name in PERSONAL_SCHEMATA:
            yield f"a {schema_name} entity (entities[{i}])"
            continue
        schema = model.get(schema_name)
        for name, values in (entity.get("properties") or {}).items():
            if not values:
                continue
            prop = schema.properties.get(name) if schema is not None else None
            what = IDENTIFIER_PROPERTIES.get(name) or (
                IDENTIFIER_TYPES.get(prop.type.name) if prop is not None else None
            )
            if what is None and schema_name == "Vehicle" and name == "registrationNumber":
                what = "a vehicle registration number"
            if what is not None:
                yield f"{what} (entities[{i}].properties.{name})"


def personal_data_found(header: Header, content: Content) -> list[str]:
    """What in this strategic report is personal data, named by kind and place (empty: none).
    A pure function of the message: the sender and the receiver decide alike."""
    found: list[str] = []
    if header.data_subjects:
        categories = ", ".join(s.value for s in header.data_subjects)
        found.append(f"data subject categories ({categories})")
    in_entities = list(_in_entities(content.entities))
    personal = [s for s in header.entity_schemata if s in PERSONAL_SCHEMATA]
    if header.personal_data and not personal:
        found.append("personal data declared in its header")
    if not content.entities:  # what the header counts, should the content not say it
        found.extend(f"a {s} entity (entity_schemata)" for s in personal)
    found.extend(in_entities)
    for place, text in _texts(header, content):
        found.extend(f"{what} in {place}" for what in identifiers_in_text(text))
    return found


def reason(found: Sequence[str]) -> str:
    """The refusal's text: what was found, the first :data:`MAX_NAMED` of it."""
    named = "; ".join(found[:MAX_NAMED])
    more = f"; and {len(found) - MAX_NAMED} more" if len(found) > MAX_NAMED else ""
    return f"a strategic report carries no personal data, and this one has: {named}{more}"
