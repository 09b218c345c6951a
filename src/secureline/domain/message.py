"""Messages: a signed, routable header and a content part that may be encrypted.

A message is two parts so that relays can enforce the rules without reading the content:

* the **header** carries everything routing and the rules of sharing need (kind, crime
  area, handling code, data subject categories, classification...) plus a digest of the
  content and the count of entities by schema, so that the destination can prove that the
  content it decrypted is the content the origin declared;
* the **content** (body, FollowTheMoney entities, attachment descriptors) is serialised once
  by the origin; its exact bytes are what the digest covers.

Users submit a :class:`Draft`; :func:`compose` turns it into a :class:`Message` with the
rules applied (deadline, digest, entity checks). Parsing from the wire is
:func:`parse_header` / :func:`parse_content`: parse, then trust.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from secureline.domain.addresses import AddressField
from secureline.domain.deadlines import default_deadline
from secureline.domain.document import Document, check_document
from secureline.domain.entities import carries_personal_data, check_entities, schema_counts
from secureline.domain.errors import InvalidMessage, translate
from secureline.domain.evaluation import EvaluationField
from secureline.domain.jsontext import DuplicateKey, loads_unique
from secureline.domain.kinds import every_unit_of_bare_nodes, every_unit_problem
from secureline.domain.kinds import facts as kind_facts
from secureline.domain.limits import (
    CASE_REF_MAX_CHARS,
    GRANT_SIGNATURE_MAX_CHARS,
    HANDLING_CONDITIONS_MAX_CHARS,
    ID_MAX_CHARS,
    ID_PATTERN,
    MAX_GRANTS,
    MAX_SCHEMATA,
    NAME_MAX_CHARS,
    PURPOSE_MAX_CHARS,
    SCHEMA_NAME_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    attachment_name_problem,
    control_character,
)
from secureline.domain.vocabulary import (
    AlertType,
    Classification,
    CrimeArea,
    DataSubject,
    HandlingCode,
    Kind,
    Priority,
)

MESSAGE_ID = re.compile(ID_PATTERN)
MAX_BODY_CHARS = 1_000_000
MAX_ENTITIES = 1_000
MAX_RECIPIENTS = 500
MAX_ATTACHMENTS = 1_000
SHA256_HEX = r"[0-9a-f]{64}"

M = TypeVar("M", bound=BaseModel)


def _one_line(value: str) -> str:
    bad = control_character(value)
    if bad is not None:
        raise InvalidMessage("", f"must not hold control character {bad!r}", code="bad_characters")
    return value


def _lines(value: str) -> str:
    bad = control_character(value, multiline=True)
    if bad is not None:
        raise InvalidMessage("", f"must not hold control character {bad!r}", code="bad_characters")
    return value


def _file_name(value: str) -> str:
    problem = attachment_name_problem(value)
    if problem is not None:
        raise InvalidMessage("", f"the attachment name {problem}", code="unsafe_attachment_name")
    return value


# Bounded where the bytes come in (domain/limits.py): a length first (pydantic checks it
# before the pattern, so a 10,000-character id costs no regex), the pattern anchored, since
# pydantic's ``pattern`` searches rather than matches.
Id = Annotated[str, Field(max_length=ID_MAX_CHARS, pattern=f"^{ID_PATTERN}$")]
Text = Annotated[str, Field(min_length=1, max_length=PURPOSE_MAX_CHARS), AfterValidator(_one_line)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Attachment(_Strict):
    """An attachment described by what identifies it; the bytes travel content-addressed."""

    name: Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_file_name)]
    media_type: Annotated[str, Field(pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")]
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=f"^{SHA256_HEX}$")]


class GrantScope(StrEnum):
    """What a provider's permission allows a recipient to do with its information."""

    ONWARD_TRANSFER = "onward-transfer"  # H2: pass it to grantee
    JUDICIAL_USE = "judicial-use"  # H1: use it in judicial proceedings
    OTHER_PURPOSE = "other-purpose"  # H0: use it for a purpose other than the stated one


class Grant(_Strict):
    """A provider's permission, signed by the provider's node (checked by the services)."""

    id: Id
    message_id: Id
    provider: AddressField
    grantee: Annotated[
        str, Field(min_length=1, max_length=NAME_MAX_CHARS), AfterValidator(_one_line)
    ]
    scope: GrantScope
    purpose: (
        Annotated[str, Field(max_length=PURPOSE_MAX_CHARS), AfterValidator(_one_line)] | None
    ) = None
    until: AwareDatetime  # compared with aware times: a naive one is refused
    signature: Annotated[str, Field(max_length=GRANT_SIGNATURE_MAX_CHARS)] | None = None


class Forwarded(_Strict):
    """Set when a recipient passes on what a provider sent: the provider's rules come along."""

    message_id: Id
    provider: AddressField
    handling: HandlingCode
    purpose: Text
    grants: Annotated[tuple[Grant, ...], Field(max_length=MAX_GRANTS)] = ()


Subject = Annotated[
    str, Field(min_length=1, max_length=SUBJECT_MAX_CHARS), AfterValidator(_one_line)
]
Conditions = Annotated[str, Field(max_length=HANDLING_CONDITIONS_MAX_CHARS), AfterValidator(_lines)]
CaseRef = Annotated[
    str, Field(min_length=1, max_length=CASE_REF_MAX_CHARS), AfterValidator(_one_line)
]

#: What a confidential message's signed header says in place of the sealed fields.
SEALED = "(sealed)"


class _Marking(_Strict):
    """Header fields a user chooses; shared by drafts and headers."""

    kind: Kind
    crime_area: CrimeArea
    subject: Subject
    handling: HandlingCode
    handling_conditions: Conditions | None = None
    evaluation: EvaluationField
    purpose: Text
    data_subjects: Annotated[tuple[DataSubject, ...], Field(max_length=len(DataSubject))] = ()
    priority: Priority = Priority.NORMAL
    deadline: datetime | None = None
    classification: Classification = Classification.BASIC
    review_date: date | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    case_ref: CaseRef | None = None
    reply_to: Id | None = None
    alert: AlertType | None = None
    confidential: bool = False
    forwarded: Forwarded | None = None

    @field_validator("deadline")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-12-01T12:00:00Z")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.handling is HandlingCode.H3 and not (self.handling_conditions or "").strip():
            raise ValueError("handling_conditions: H3 needs its conditions stated in text")
        if self.handling is not HandlingCode.H3 and self.handling_conditions:
            raise ValueError("handling_conditions: conditions are stated only with H3")
        alert_type = kind_facts(self.kind).alert_type
        if alert_type and self.alert is None:
            raise ValueError("alert: an alert needs its type (red, blue, green, ...)")
        if not alert_type and self.alert is not None:
            raise ValueError("alert: only a message of kind 'alert' has an alert type")
        if len(set(self.data_subjects)) != len(self.data_subjects):
            raise ValueError("data_subjects: a category is listed twice")
        return self


class _Addressed(_Marking):
    """A marking with its recipients: ``all-units@node`` only for a kind that may go to every
    unit of a node (domain/kinds.py)."""

    to: Annotated[tuple[AddressField, ...], Field(min_length=1, max_length=MAX_RECIPIENTS)]

    @model_validator(mode="after")
    def _every_unit(self) -> Self:
        problem = every_unit_problem(self.kind, (a.unit for a in self.to))
        if problem is not None:
            raise ValueError(problem)
        return self


class Draft(_Addressed):
    """What a user or national system submits: the marking, recipients and content. A bare
    node in ``to`` is its every unit, for a kind that may go to every unit."""

    body: Annotated[str, Field(max_length=MAX_BODY_CHARS)] = ""
    entities: Annotated[tuple[dict[str, Any], ...], Field(max_length=MAX_ENTITIES)] = ()
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()

    _bare_nodes = model_validator(mode="before")(every_unit_of_bare_nodes)


class DocumentDraft(Draft):
    """A draft that carries a structured document (domain/document.py): made by the services
    that import a partner format (services/interop), after validating it against that
    format. The API takes plain drafts only."""

    document: dict[str, Any]


class Header(_Addressed):
    """The signed header: readable by every node on the route."""

    id: Id
    sender: AddressField
    created_at: AwareDatetime  # compared with aware times: a naive one is refused
    content_digest: Annotated[str, Field(max_length=64, pattern=f"^{SHA256_HEX}$")]
    entity_schemata: Annotated[
        dict[
            Annotated[str, Field(max_length=SCHEMA_NAME_MAX_CHARS)],
            Annotated[int, Field(ge=1, le=MAX_ENTITIES)],
        ],
        Field(max_length=MAX_SCHEMATA),
    ] = Field(default_factory=dict)
    personal_data: bool = False
    # The attachments' total size, so that every relay applies the link's limit even when it
    # cannot read the content; the destination checks it against the content.
    attachment_bytes: Annotated[int, Field(ge=0, le=2**53)] = 0
    hop_limit: Annotated[int, Field(ge=1, le=16)] = 8

    @property
    def destination_nodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.node for a in self.to))


_CONTENT_FIELDS = ("body", "entities", "attachments")  # a draft's, not in its header
_CONTENT_KEYS = frozenset({"body", "entities", "attachments", "sealed", "document"})
_HOP_LIMIT: int = Header.model_fields["hop_limit"].default


#: Header fields a confidential message carries inside its encrypted content instead: routing
#: and the rules of sharing never read them, so no relay needs to see them.
SEALED_FIELDS = ("subject", "case_ref", "handling_conditions")


class Sealed(_Strict):
    """A confidential message's own subject, case reference and H3 conditions."""

    subject: Subject
    case_ref: CaseRef | None = None
    handling_conditions: Conditions | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """What the header's digest covers: encrypted end to end when the message is confidential.

    Built only from checked parts (by :func:`compose` and :func:`parse_content`), so a plain
    dataclass: nothing here is validated twice."""

    body: str = ""
    entities: tuple[dict[str, Any], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    sealed: Sealed | None = None  # a confidential message's sealed header fields
    document: Document | None = None  # a STIX bundle or MISP event kept whole

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "body": self.body,
            "entities": list(self.entities),
            "attachments": [a.model_dump(mode="json") for a in self.attachments],
        }
        if self.sealed is not None:
            data["sealed"] = self.sealed.model_dump(mode="json")
        if self.document is not None:  # absent otherwise: other contents keep their bytes
            data["document"] = self.document.as_json()
        return orjson.dumps(data)


@dataclass(frozen=True, slots=True)
class Message:
    header: Header  # whole: what this node stores and shows
    header_json: dict[str, Any]  # the header's JSON form as signed (sealed fields replaced)
    content: Content
    content_bytes: bytes
    stored_json: dict[str, Any]  # the whole header's JSON form, kept by the origin


def unseal(header_json: dict[str, Any], sealed: Sealed | None) -> dict[str, Any]:
    """A received header's JSON with its sealed fields put back (the form stored and shown at
    the destination); the header itself when nothing was sealed."""
    if sealed is None:
        return header_json
    return {**header_json, **sealed.model_dump(mode="json")}


def content_digest(content_bytes: bytes) -> str:
    return hashlib.sha256(content_bytes).hexdigest()


def compose(
    draft: Draft,
    *,
    message_id: str,
    sender: AddressField,
    now: datetime,
    default_review_date: date | None = None,
) -> Message:
    """Apply the rules that turn a draft into a sendable message, or raise a DomainError."""
    if MESSAGE_ID.fullmatch(message_id) is None:
        raise InvalidMessage("id", f"{message_id!r} is not a message id")
    entities = tuple(check_entities(draft.entities, now.date()))
    personal = carries_personal_data(entities)
    if personal and not draft.data_subjects:
        raise InvalidMessage(
            "data_subjects",
            "the message carries persons: state their categories (suspect, victim, witness, ...)",
        )
    sealed = (
        _trusted(
            Sealed,
            {
                "subject": draft.subject,
                "case_ref": draft.case_ref,
                "handling_conditions": draft.handling_conditions,
            },
        )
        if draft.confidential
        else None
    )
    document = (
        check_document(draft.document, "document") if isinstance(draft, DocumentDraft) else None
    )
    # The entities were just checked and the draft validated: build without validating again.
    content = Content(
        body=draft.body,
        entities=entities,
        attachments=draft.attachments,
        sealed=sealed,
        document=document,
    )
    content_bytes = content.to_bytes()
    # The draft's fields but its content are the header's marking and recipients.
    values = dict(draft.__dict__)
    for name in _CONTENT_FIELDS:
        del values[name]
    values.pop("document", None)
    if values["deadline"] is None:
        values["deadline"] = default_deadline(draft.kind, draft.priority, now)
    if personal and values["review_date"] is None:
        values["review_date"] = default_review_date
    values["id"] = message_id
    values["sender"] = sender
    values["created_at"] = now.astimezone(UTC)
    values["content_digest"] = content_digest(content_bytes)
    values["entity_schemata"] = schema_counts(entities)
    values["personal_data"] = personal
    values["attachment_bytes"] = sum(a.size for a in draft.attachments)
    values["hop_limit"] = _HOP_LIMIT
    # Every field comes from the validated draft or is made here, so the header is built
    # without validating it all again (the hot path of every submission).
    header = _trusted(Header, values)
    stored_json = header.model_dump(mode="json")
    signed_json = stored_json
    if sealed is not None:
        signed_json = {
            **stored_json,
            "subject": SEALED,
            "case_ref": None,
            "handling_conditions": SEALED if draft.handling_conditions else None,
        }
    return Message(
        header=header,
        header_json=signed_json,
        content=content,
        content_bytes=content_bytes,
        stored_json=stored_json,
    )


def _trusted(cls: type[M], values: dict[str, Any]) -> M:
    """A model from values that are already valid, every field given: what pydantic's
    ``model_construct`` makes, without its per-field defaulting (a sixth of the cost).
    tests/unit/domain/test_message.py checks the result equals a validated model."""
    if values.keys() != cls.model_fields.keys():
        raise InvalidMessage("header", f"fields {sorted(values.keys() ^ cls.model_fields.keys())}")
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", set(values))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def parse_draft(data: Mapping[str, Any]) -> Draft:
    return _build(Draft, data)


def parse_header(data: Mapping[str, Any]) -> Header:
    return _build(Header, data)


def parse_content(content_bytes: bytes, header: Header, today: date) -> Content:
    """Check decrypted or received content against what the signed header declared."""
    if content_digest(content_bytes) != header.content_digest:
        raise InvalidMessage("content", "does not match the digest its header declares")
    try:
        raw = loads_unique(content_bytes)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage("content", f"is not JSON: {exc}") from None
    except DuplicateKey as exc:
        raise InvalidMessage("content", str(exc)) from None
    if not isinstance(raw, dict) or set(raw) - _CONTENT_KEYS:
        raise InvalidMessage("content", "must be an object with body, entities and attachments")
    body, listed = raw.get("body", ""), raw.get("entities", [])
    if not isinstance(body, str) or len(body) > MAX_BODY_CHARS:
        raise InvalidMessage("content.body", f"must be text of at most {MAX_BODY_CHARS} characters")
    if not isinstance(listed, list) or len(listed) > MAX_ENTITIES:
        raise InvalidMessage("content.entities", f"must be a list of at most {MAX_ENTITIES}")
    listed_attachments = raw.get("attachments", [])
    if not isinstance(listed_attachments, list) or len(listed_attachments) > MAX_ATTACHMENTS:
        raise InvalidMessage("content.attachments", f"must be a list of at most {MAX_ATTACHMENTS}")
    attachments = tuple(_build(Attachment, a) for a in listed_attachments)
    if sum(a.size for a in attachments) != header.attachment_bytes:
        raise InvalidMessage("content.attachments", "differ from the size its header declares")
    sealed = _sealed(raw.get("sealed"), header)
    entities = check_entities(listed, today)
    if schema_counts(entities) != header.entity_schemata:
        raise InvalidMessage("content", "entities differ from the counts its header declares")
    if carries_personal_data(entities) and not header.personal_data:
        raise InvalidMessage("content", "carries personal data its header does not declare")
    document = check_document(raw["document"]) if "document" in raw else None
    return Content(
        body=body,
        entities=tuple(entities),
        attachments=attachments,
        sealed=sealed,
        document=document,
    )


def _sealed(raw: Any, header: Header) -> Sealed | None:
    """A confidential message's sealed fields, which it must carry; no other message has any."""
    if not header.confidential:
        if raw is not None:
            raise InvalidMessage("content.sealed", "only a confidential message seals fields")
        return None
    if raw is None:
        raise InvalidMessage("content.sealed", "a confidential message seals its subject")
    sealed = _build(Sealed, raw)
    if (header.handling is HandlingCode.H3) != bool((sealed.handling_conditions or "").strip()):
        raise InvalidMessage(
            "content.sealed.handling_conditions", "stated exactly when the handling code is H3"
        )
    return sealed


def _build(cls: type[M], data: Any) -> M:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise translate(exc) from None
