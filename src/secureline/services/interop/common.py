"""What every import shares: reading a partner's file within bounds, the answer, and
sending the message idempotently with its audit record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.document import MAX_DEPTH, depth_problem
from secureline.domain.errors import DomainError, translate
from secureline.domain.jsontext import DuplicateKey, loads_unique
from secureline.domain.message import DocumentDraft, Message
from secureline.services.errors import InvalidInput, NotFoundError
from secureline.services.messaging import Messaging
from secureline.services.roles import Principal

#: The largest file an import reads: a message must fit a line transaction (16 MiB, with
#: its signature and, when confidential, its encryption) and the API's request bound (8 MiB).
MAX_IMPORT_BYTES = 8 * 2**20


@dataclass(frozen=True)
class SourceFile:
    name: str
    sha256: str
    data: Any


@dataclass(frozen=True)
class Imported:
    """What an import took in (``--json`` prints :meth:`as_json`); ``message_id`` is None for
    a dry run."""

    message_id: str | None
    objects: int
    entities: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    handling: str = ""
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "objects": self.objects,
            "entities": self.entities,
            "skipped": self.skipped,
        }


def read_source(path: Path, what: str) -> SourceFile:
    """The file's JSON, bounded in size and depth, with one reading of every key."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(str(path), exc.strerror or "cannot be read", code="unreadable") from None
    if size > MAX_IMPORT_BYTES:
        raise InvalidInput(
            str(path),
            f"{size:,} bytes: a {what} of at most {MAX_IMPORT_BYTES:,} bytes is imported at once",
            code="too_large",
        )
    with path.open("rb") as f:
        raw = f.read(MAX_IMPORT_BYTES + 1)  # the file may have grown since stat
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput(str(path), f"more than {MAX_IMPORT_BYTES:,} bytes", code="too_large")
    try:
        data = loads_unique(raw)
    except DuplicateKey as exc:
        raise InvalidInput(str(path), str(exc), code="invalid_json") from None
    except orjson.JSONDecodeError as exc:
        too_deep = "recursion" in str(exc) or "depth" in str(exc)
        reason = "nests too deeply" if too_deep else f"is not JSON: {exc}"
        raise InvalidInput(str(path), reason, code="invalid_json") from None
    deep = depth_problem(data)
    if deep is not None:
        raise InvalidInput(
            f"{path}: {deep}", f"nests deeper than {MAX_DEPTH} levels", code="too_deep"
        )
    return SourceFile(path.name, hashlib.sha256(raw).hexdigest(), data)


def translated(exc: DomainError) -> InvalidInput:
    return InvalidInput(exc.field, exc.reason, code=exc.code)


def build_draft(data: dict[str, Any]) -> DocumentDraft:
    try:
        return DocumentDraft.model_validate(data)
    except ValidationError as exc:
        raise translated(translate(exc)) from None


def send_imported(
    messaging: Messaging,
    principal: Principal,
    draft: DocumentDraft,
    *,
    key: str,
    detail: dict[str, str],
) -> tuple[str, bool]:
    """Send the draft once per (user, key): the same file imported again returns the first
    message (and is not audited again). The ``interop.imported`` record is written in the
    transaction that stores the message."""
    made: list[str] = []

    def audit(_conn: Any, messages: list[Message]) -> list[AuditEvent]:
        made.extend(m.header.id for m in messages)
        return [
            AuditEvent(principal.username, AuditAction.INTEROP_IMPORTED, m.header.id, "ok", detail)
            for m in messages
        ]

    done = messaging.send(principal, [draft], principal.unit, also=audit, keys=[key])
    return done[0].id, not made


def opened_document(
    messaging: Messaging,
    principal: Principal,
    message_id: str,
    *,
    acknowledge_conditions: bool,
) -> tuple[Any, dict[str, Any]]:
    """The message's header and content as its reader may see them (``Messaging.open``: a
    sender's own or a recipient unit's, H3 only with its conditions acknowledged)."""
    opened = messaging.open(principal, message_id, acknowledge_conditions=acknowledge_conditions)
    if opened.content is None:
        raise InvalidInput(
            "acknowledge_conditions",
            f"{message_id} is H3 (or purged): read its conditions and acknowledge them first",
            code="conditions_not_acknowledged",
        )
    return opened.header, opened.content


def no_document(message_id: str, what: str) -> NotFoundError:
    return NotFoundError(f"{message_id} carries no {what}")


Clock = Callable[[], datetime]
