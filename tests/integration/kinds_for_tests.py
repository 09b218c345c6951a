"""A kind registered only in the test suite: one module plus its registration, as
docs/architecture.md ("Adding a kind, step by step") says a new kind is added.

``test-note`` carries a short note as its JSON body. Delivered at a node that takes it, its
commit-time effect is an audit record (``message.received``, outcome ``noted``) written in
the receiving transaction, and its after-commit effect puts the note in :data:`NOTED`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.kinds import KindFacts
from secureline.domain.message import Content, Header
from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind
from secureline.services.kinds import registry
from secureline.services.kinds.registry import KindSpec, Receipt

TEST_NOTE = Kind.define("test-note")
#: the kinds of a node that takes the test kind (node.toml [line] kinds; agreement kinds)
WITH_TEST_NOTE = sorted([*(str(k) for k in PROTOCOL_KINDS[1]), TEST_NOTE.value])
#: (node, message id, note) of every test note delivered, after its transaction committed
NOTED: list[tuple[str, str, str]] = []


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    note: Annotated[str, Field(min_length=1, max_length=200)]


def _examine(receipt: Receipt, header: Header, content: Content) -> str:
    return Note.model_validate_json(content.body).note


def _commit(conn: Any, header: Header, note: str, now: datetime) -> list[AuditEvent]:
    return [
        AuditEvent(
            str(header.sender), AuditAction.MESSAGE_RECEIVED, header.id, "noted", {"note": note}
        )
    ]


def _after_commit(node: str, header: Header, note: str) -> None:
    NOTED.append((node, header.id, note))


SPEC = registry.register(
    KindSpec(
        TEST_NOTE,
        "a note, for the tests",
        KindFacts(),
        payload=Note,
        payload_checked=True,
        examine=_examine,
        commit=_commit,
        after_commit=_after_commit,
    )
)
