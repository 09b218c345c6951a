"""``stix import`` and ``stix export``: a STIX 2.1 bundle as one message, and back.

Import: the file is read within bounds (``common.read_source``), every object is checked by
the OASIS validator (``stix2-validator``, its schemas and the specification's MUSTs) and by
``domain/interop/stix.py`` (spec version, types, references, markings); the message's marking
is the most restrictive of the objects'; the objects go whole into the message's document and
those with a FollowTheMoney counterpart also become its entities.

Export: the document's objects as they came, each object that carried no marking given the
message's (TLP 2.0, and a statement for H3 conditions TLP does not say), the published TLP
marking definitions in their published form; the bundle is validated again before it is
written, and the export is audited (``message.exported``, format ``stix``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.document import DocumentFormat
from secureline.domain.errors import DomainError
from secureline.domain.interop import markings as interop_markings
from secureline.domain.interop.stix import Problem, bundle_marking, check_bundle, check_envelope
from secureline.domain.interop.stix_entities import entities_of
from secureline.domain.markings import Tlp
from secureline.domain.message import MAX_ENTITIES
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput
from secureline.services.interop.common import (
    Imported,
    build_draft,
    no_document,
    opened_document,
    read_source,
    send_imported,
    translated,
)
from secureline.services.messaging import Messaging
from secureline.services.roles import Principal
from secureline.store.database import Database

#: The validator's message names the object, then (usually) the field: "<id>: <field>: why".
_FIELD = re.compile(r"([A-Za-z0-9_.\[\]'-]{1,200}): (.*)", re.DOTALL)
#: Raised by the validator for a published TLP 1.0 definition written without its ``name``
#: (as the specification's own examples do); ``read_definition`` checks id and level instead.
_TLP_SPELLING = "TLP marking definitions must match one of those defined"


@dataclass(frozen=True)
class StixOptions:
    to: Sequence[str]
    unmarked: Tlp = Tlp.AMBER
    skip_invalid: bool = False
    dry_run: bool = False
    data_subjects: Sequence[str] = ()
    evaluation: str = "B2"
    purpose: str = "prevent and combat serious crime"
    confidential: bool = False


def schema_problems(objects: list[Any]) -> dict[int, list[Problem]]:
    """The validator's errors, per object index, as problems naming the field."""
    # stix2-validator takes seconds and tens of MB to import: only a node that imports or
    # exports STIX pays for it, not every `secureline` command and node start.
    from stix2validator import ValidationOptions, validate_parsed_json

    options = ValidationOptions(version="2.1")
    found: dict[int, list[Problem]] = {}
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue  # refused by check_bundle, which names it
        name = str(obj.get("id", f"objects[{index}]"))[:100]
        try:
            result = validate_parsed_json(obj, options)
        except Exception as exc:  # noqa: BLE001 -- the validator's own failure refuses the object
            # its text is the library's internals: the type is enough to say what failed
            reason = f"the STIX validator could not check it ({type(exc).__name__})"
            found[index] = [Problem(name, "", reason)]
            continue
        problems = []
        for error in result.errors:
            text = str(error)
            if _TLP_SPELLING in text:
                continue
            text = text.removeprefix(f"{obj.get('id')}: ")
            matched = _FIELD.fullmatch(text)
            field, reason = (matched.group(1), matched.group(2)) if matched else ("", text)
            problems.append(Problem(name, field, reason[:500]))
        if problems:
            found[index] = problems
    return found


class Stix:
    def __init__(self, messaging: Messaging, db: Database, audit: AuditLog) -> None:
        self._messaging = messaging
        self._db = db
        self._audit = audit

    def import_bundle(self, principal: Principal, path: Path, options: StixOptions) -> Imported:
        self._messaging.check_may_send(principal)
        source = read_source(path, "STIX bundle")
        try:
            _, listed = check_envelope(source.data)
            checked = check_bundle(
                source.data, schema_problems(listed), skip_invalid=options.skip_invalid
            )
            marking = bundle_marking(checked.objects, options.unmarked)
            entities = entities_of(checked.objects)
        except DomainError as exc:
            raise translated(exc) from None
        if len(entities) > MAX_ENTITIES:
            raise InvalidInput(
                "objects",
                f"{len(entities)} objects with a FollowTheMoney counterpart: at most "
                f"{MAX_ENTITIES} in one message; split the bundle",
                code="too_many_entities",
            )
        skipped = [p.as_json() for p in checked.skipped]
        taken = len(checked.objects)
        if not options.to and not options.dry_run:
            raise InvalidInput("to", "give --to: every message goes to at least one unit")
        draft_data: dict[str, Any] = {
            "to": list(options.to) or ["preview@preview"],
            "kind": "information",
            "crime_area": "cyber-crime",
            "subject": _subject(checked.objects, checked.bundle_id),
            "body": _body(source.name, checked.bundle_id, checked.objects, skipped),
            "handling": marking.handling,
            "classification": marking.classification,
            "evaluation": options.evaluation,
            "purpose": options.purpose,
            "data_subjects": list(options.data_subjects),
            "confidential": options.confidential,
            "entities": entities,
            "document": {
                "format": DocumentFormat.STIX_BUNDLE.value,
                "data": {"type": "bundle", "id": checked.bundle_id, "objects": checked.objects},
            },
        }
        if marking.conditions:
            draft_data["handling_conditions"] = marking.conditions
        draft = build_draft(draft_data)
        if options.dry_run:
            return Imported(None, taken, len(entities), skipped, marking.handling.value)
        message_id, replayed = send_imported(
            self._messaging,
            principal,
            draft,
            key=f"stix-import:{source.sha256}",
            detail={
                "format": "stix-2.1",
                "source": source.name[:200],
                "sha256": source.sha256,
                "bundle": checked.bundle_id,
                "objects": str(taken),
                "entities": str(len(entities)),
                "skipped": str(len(skipped)),
            },
        )
        return Imported(message_id, taken, len(entities), skipped, marking.handling.value, replayed)

    def export_bundle(
        self, principal: Principal, message_id: str, *, acknowledge_conditions: bool = False
    ) -> dict[str, Any]:
        header, content = opened_document(
            self._messaging, principal, message_id, acknowledge_conditions=acknowledge_conditions
        )
        document = content.get("document") or {}
        if document.get("format") != DocumentFormat.STIX_BUNDLE.value:
            raise no_document(message_id, "STIX bundle")
        created = header.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        ours = interop_markings.stix_markings_for(
            header.handling, header.classification, header.handling_conditions, created
        )
        bundle = export_objects(document["data"], ours)
        problems = schema_problems(bundle["objects"])
        if problems:  # fail closed: never write what the validator refuses
            first = problems[min(problems)][0]
            raise InvalidInput(first.where, first.reason, code="invalid_stix")
        with self._db.transaction() as conn:
            self._audit.record(
                conn,
                [
                    AuditEvent(
                        principal.username,
                        AuditAction.MESSAGE_EXPORTED,
                        message_id,
                        "ok",
                        {"format": "stix-2.1", "objects": str(len(bundle["objects"]))},
                    )
                ],
            )
        return bundle


def export_objects(data: dict[str, Any], ours: list[dict[str, Any]]) -> dict[str, Any]:
    """The bundle to write: the objects as they came, unmarked ones given ``ours``."""
    refs = [m["id"] for m in ours]
    objects: list[dict[str, Any]] = []
    used: set[str] = set()
    for given in data["objects"]:
        if given["type"] == "marking-definition":
            continue
        marked = bool(given.get("object_marking_refs") or given.get("granular_markings"))
        obj = given if marked else {**given, "object_marking_refs": refs}
        objects.append(obj)
        used.update(obj.get("object_marking_refs") or ())
        used.update(
            g["marking_ref"] for g in obj.get("granular_markings") or () if "marking_ref" in g
        )
    definitions: dict[str, dict[str, Any]] = {}
    for obj in [*data["objects"], *ours]:
        if obj["type"] == "marking-definition" and obj["id"] in used:
            definitions[obj["id"]] = interop_markings.canonical_definition(obj["id"]) or obj
    for ref in sorted(used - definitions.keys()):
        published = interop_markings.canonical_definition(ref)
        if published is not None:
            definitions[ref] = published
    return {
        "type": "bundle",
        "id": data.get("id") or f"bundle--{uuid.uuid4()}",
        "objects": [*definitions.values(), *objects],
    }


def _subject(objects: list[dict[str, Any]], bundle_id: str) -> str:
    for obj in objects:
        if obj["type"] == "report" and isinstance(obj.get("name"), str) and obj["name"].strip():
            return f"STIX report: {' '.join(obj['name'].split())}"[:200]
    return f"STIX bundle {bundle_id}"


def _body(name: str, bundle_id: str, objects: list[dict[str, Any]], skipped: list[Any]) -> str:
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    listed = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    text = f"Imported from {name} ({bundle_id}): {listed}."
    if skipped:
        text += f" {len(skipped)} invalid object(s) left out."
    return text
