"""``misp import`` and ``misp export``: a MISP event as one message, and a message back as
a MISP event.

Import: the file within bounds (``common.read_source``); the event's shape, attribute types
(MISP's own list, PyMISP's ``describeTypes.json``) and object references checked by
``domain/interop/misp.py``; the marking is the most restrictive of distribution levels and
``tlp:``/``PAP:`` tags; the event goes whole into the message's document and the attributes
and galaxy clusters with a FollowTheMoney counterpart also become its entities.

Export: a message imported from MISP gives its event back, tagged and distributed from the
handling code; any other message (a STIX import, a message with entities) becomes a new
event whose attributes are its entities' values. Audited as ``message.exported`` (format
``misp``).
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.document import DocumentFormat
from secureline.domain.errors import DomainError
from secureline.domain.interop.markings import misp_tags_for
from secureline.domain.interop.misp import (
    attributes_of_entity,
    entities_of_event,
    event_marking,
    marked_event,
    read_event,
)
from secureline.domain.message import MAX_ENTITIES
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput
from secureline.services.interop.common import (
    Imported,
    build_draft,
    opened_document,
    read_source,
    send_imported,
    translated,
)
from secureline.services.messaging import Messaging
from secureline.services.roles import Principal
from secureline.store.database import Database

#: uuid5 namespace of the events and attributes an export makes: one message, one event uuid
_NAMESPACE = uuid.UUID("8a3c5e2d-1f4b-5c6d-9e7f-6d6973702d65")


def describe_types() -> tuple[frozenset[str], dict[str, str]]:
    """MISP's attribute types and each one's default category, as PyMISP ships them (its
    package data only: PyMISP itself is not imported)."""
    spec = importlib.util.find_spec("pymisp")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput("misp", "PyMISP is not installed: MISP import needs its type list")
    where = Path(next(iter(spec.submodule_search_locations))) / "data" / "describeTypes.json"
    text = where.read_text("utf-8")
    result = json.loads(text)["result"]
    defaults = {t: d["default_category"] for t, d in result["sane_defaults"].items()}
    return frozenset(result["types"]), defaults


@dataclass(frozen=True)
class MispOptions:
    to: Sequence[str]
    dry_run: bool = False
    data_subjects: Sequence[str] = ()
    evaluation: str = "B2"
    purpose: str = "prevent and combat serious crime"
    confidential: bool = False


class Misp:
    def __init__(self, messaging: Messaging, db: Database, audit: AuditLog) -> None:
        self._messaging = messaging
        self._db = db
        self._audit = audit
        self._types: tuple[frozenset[str], dict[str, str]] | None = None

    def _described(self) -> tuple[frozenset[str], dict[str, str]]:
        if self._types is None:  # read once, on first use (a node that never sees MISP: never)
            self._types = describe_types()
        return self._types

    def import_event(self, principal: Principal, path: Path, options: MispOptions) -> Imported:
        self._messaging.check_may_send(principal)
        source = read_source(path, "MISP event")
        types, _ = self._described()
        try:
            read = read_event(source.data, types)
            marking = event_marking(read.event)
            entities = entities_of_event(read.event)
        except DomainError as exc:
            raise translated(exc) from None
        if len(entities) > MAX_ENTITIES:
            raise InvalidInput(
                "Event.Attribute",
                f"{len(entities)} attributes with a FollowTheMoney counterpart: at most "
                f"{MAX_ENTITIES} in one message; split the event",
                code="too_many_entities",
            )
        if not options.to and not options.dry_run:
            raise InvalidInput("to", "give --to: every message goes to at least one unit")
        taken = read.attributes + read.objects
        event = read.event
        info = " ".join(str(event.get("info") or "").split())
        label = str(event.get("uuid") or source.sha256[:16])
        draft_data: dict[str, Any] = {
            "to": list(options.to) or ["preview@preview"],
            "kind": "information",
            "crime_area": "cyber-crime",
            "subject": (f"MISP event: {info}" if info else f"MISP event {label}")[:200],
            "body": f"Imported from {source.name}: {read.attributes} attribute(s), "
            f"{read.objects} object(s).",
            "handling": marking.handling,
            "classification": marking.classification,
            "evaluation": options.evaluation,
            "purpose": options.purpose,
            "data_subjects": list(options.data_subjects),
            "confidential": options.confidential,
            "entities": entities,
            "document": {"format": DocumentFormat.MISP_EVENT.value, "data": event},
        }
        if marking.conditions:
            draft_data["handling_conditions"] = marking.conditions
        draft = build_draft(draft_data)
        if options.dry_run:
            return Imported(None, taken, len(entities), [], marking.handling.value)
        message_id, replayed = send_imported(
            self._messaging,
            principal,
            draft,
            key=f"misp-import:{source.sha256}",
            detail={
                "format": "misp",
                "source": source.name[:200],
                "sha256": source.sha256,
                "event": label[:200],
                "objects": str(taken),
                "entities": str(len(entities)),
            },
        )
        return Imported(message_id, taken, len(entities), [], marking.handling.value, replayed)

    def export_event(
        self, principal: Principal, message_id: str, *, acknowledge_conditions: bool = False
    ) -> dict[str, Any]:
        header, content = opened_document(
            self._messaging, principal, message_id, acknowledge_conditions=acknowledge_conditions
        )
        tag, distribution = misp_tags_for(header.handling, header.classification)
        document = content.get("document") or {}
        if document.get("format") == DocumentFormat.MISP_EVENT.value:
            event = marked_event(document["data"], tag, distribution)
        else:
            event = _new_event(header, content, tag, distribution, self._described()[1])
        with self._db.transaction() as conn:
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.MESSAGE_EXPORTED,
                        message_id,
                        "ok",
                        {"format": "misp", "attributes": str(len(event.get("Attribute") or ()))},
                    )
                ],
            )
        return {"Event": event}


def _new_event(
    header: Any, content: dict[str, Any], tag: str, distribution: int, categories: dict[str, str]
) -> dict[str, Any]:
    """A new event for a message not imported from MISP: its entities' values as attributes."""
    attributes = []
    seen: set[tuple[str, str]] = set()
    for entity in content.get("entities") or ():
        for kind, value in attributes_of_entity(entity):
            if (kind, value) in seen:
                continue
            seen.add((kind, value))
            attributes.append(
                {
                    "uuid": str(uuid.uuid5(_NAMESPACE, f"{header.id}/{kind}/{value}")),
                    "type": kind,
                    "category": categories.get(kind, "Other"),
                    "value": value,
                    "to_ids": False,
                    "distribution": 5,
                    "comment": f"FollowTheMoney {entity.get('schema')} {entity.get('id')}"[:255],
                }
            )
    return {
        "uuid": str(uuid.uuid5(_NAMESPACE, header.id)),
        "info": header.subject,
        "date": header.created_at.date().isoformat(),
        "timestamp": str(int(header.created_at.timestamp())),
        "threat_level_id": "4",
        "analysis": "2",
        "distribution": distribution,
        "published": False,
        "Tag": [{"name": tag}],
        "Attribute": attributes,
    }
