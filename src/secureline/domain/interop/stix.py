"""A STIX 2.1 bundle read for secureline: the checks the format's validator does not make,
the message's marking, and the objects' FollowTheMoney counterparts.

``services/interop/stix.py`` runs the OASIS validator for each object's schema; this module
refuses what a schema cannot see: a spec version other than 2.1, types STIX 2.1 does not
define, references to objects the bundle does not hold (``dangling``), and marking
definitions we cannot honour. Every problem names the object (its id, or its place in the
bundle) and the field. With ``skip_invalid`` the invalid objects are left out, and so is
every object that then refers to one left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from secureline.domain.errors import InvalidMessage
from secureline.domain.interop.markings import (
    TLP1_IDS,
    TLP2_IDS,
    Reading,
    marking_of,
    read_definition,
)
from secureline.domain.markings import Marking, Tlp

__all__ = ["Problem", "Checked", "check_bundle", "bundle_marking", "STIX_TYPES"]

#: Every object type STIX 2.1 defines (sections 4-7 of the specification).
SDO_TYPES = frozenset(
    {
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
        "indicator", "infrastructure", "intrusion-set", "location", "malware",
        "malware-analysis", "note", "observed-data", "opinion", "report", "threat-actor",
        "tool", "vulnerability",
    }
)  # fmt: skip
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip
META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})
STIX_TYPES = SDO_TYPES | SRO_TYPES | SCO_TYPES | META_TYPES
_PREDEFINED = frozenset(TLP1_IDS) | frozenset(TLP2_IDS)
_ID = re.compile(
    r"([a-z][a-z0-9-]{0,249})--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one object is refused: ``where`` names the object and the field."""

    object_id: str
    field: str
    reason: str

    @property
    def where(self) -> str:
        return f"{self.object_id}.{self.field}" if self.field else self.object_id

    def as_json(self) -> dict[str, str]:
        return {"id": self.object_id, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Checked:
    bundle_id: str
    objects: list[dict[str, Any]]  # the objects kept, whole and in their order
    skipped: list[Problem] = field(default_factory=list)


def _name(obj: Any, index: int) -> str:
    if isinstance(obj, Mapping) and isinstance(obj.get("id"), str):
        return str(obj["id"])[:100]
    return f"objects[{index}]"


def check_envelope(data: Any) -> tuple[str, list[Any]]:
    """The bundle's id and its objects, or InvalidMessage: what no object can be kept without."""
    if not isinstance(data, Mapping) or data.get("type") != "bundle":
        raise InvalidMessage("type", "a STIX document must be a bundle (type 'bundle')")
    if "spec_version" in data:
        raise InvalidMessage(
            "spec_version",
            f"the bundle states spec_version {str(data['spec_version'])[:16]!r}: that is "
            "STIX 2.0; secureline takes STIX 2.1 bundles only",
            code="wrong_spec_version",
        )
    bundle_id = data.get("id")
    if not isinstance(bundle_id, str) or not _is_id(bundle_id, "bundle"):
        raise InvalidMessage("id", "a bundle needs an id of the form bundle--<UUID>")
    unknown = sorted(set(data) - {"type", "id", "objects"})
    if unknown:
        raise InvalidMessage(unknown[0][:64], "a STIX 2.1 bundle has no such property")
    objects = data.get("objects")
    if not isinstance(objects, list) or not objects:
        raise InvalidMessage("objects", "a bundle to import needs a non-empty list of objects")
    return bundle_id, objects


def _is_id(value: str, of_type: str | None = None) -> bool:
    found = _ID.fullmatch(value)
    return found is not None and (of_type is None or found.group(1) == of_type)


def object_problems(obj: Any, index: int) -> list[Problem]:
    """The problems of one object on its own (references are checked across the bundle)."""
    name = _name(obj, index)
    if not isinstance(obj, Mapping):
        return [Problem(name, "", "a STIX object must be a JSON object")]
    kind, obj_id = obj.get("type"), obj.get("id")
    if not isinstance(kind, str) or not kind:
        return [Problem(name, "type", "missing")]
    if kind not in STIX_TYPES:
        return [Problem(name, "type", f"{kind[:64]!r} is not a STIX 2.1 type")]
    if not isinstance(obj_id, str) or not _is_id(obj_id, kind):
        return [Problem(name, "id", f"must be {kind}--<UUID>")]
    spec = obj.get("spec_version")
    if kind in SCO_TYPES:
        if spec is not None and spec != "2.1":
            return [Problem(name, "spec_version", f"{spec!r}: STIX 2.1 only")]
    elif spec != "2.1":
        said = "missing (a STIX 2.0 object)" if spec is None else f"{str(spec)[:16]!r}"
        return [Problem(name, "spec_version", f"{said}: STIX 2.1 objects only")]
    if kind == "marking-definition":
        try:
            read_definition(obj)
        except InvalidMessage as exc:
            return [Problem(name, exc.field.partition(".")[2], exc.reason)]
    return []


def references(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (field, id) an object refers to: properties ending ``_ref`` or ``_refs``, at
    any depth (extensions and granular markings included)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and key.endswith("_ref") and isinstance(item, str):
                yield where, item
            elif isinstance(key, str) and key.endswith("_refs") and isinstance(item, list):
                for i, ref in enumerate(item):
                    if isinstance(ref, str):
                        yield f"{where}[{i}]", ref
            else:
                yield from references(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from references(item, f"{path}[{i}]")


def check_bundle(
    data: Any, schema_problems: Mapping[int, list[Problem]], *, skip_invalid: bool
) -> Checked:
    """The objects to keep, or InvalidMessage for the first problem (unless
    ``skip_invalid``, which keeps the valid ones and lists the others)."""
    bundle_id, objects = check_envelope(data)
    problems: dict[int, Problem] = {}
    every_id = {o.get("id") for o in objects if isinstance(o, Mapping)}
    seen: dict[str, int] = {}
    for index, obj in enumerate(objects):
        found = object_problems(obj, index) or schema_problems.get(index, [])
        if found:
            problems[index] = found[0]
            continue
        key = f"{obj['id']}@{obj.get('modified', '')}"
        if key in seen:
            problems[index] = Problem(
                _name(obj, index), "modified", "the same id and version twice in one bundle"
            )
        seen[key] = index
    # references: to an object kept, or to a published TLP marking; repeat until no object
    # refers to one left out
    consequences: set[int] = set()
    changed = True
    while changed:
        changed = False
        kept = {objects[i]["id"] for i in range(len(objects)) if i not in problems}
        for index, obj in enumerate(objects):
            if index in problems:
                continue
            for where, ref in references(obj):
                if ref not in kept and ref not in _PREDEFINED:
                    problems[index] = Problem(
                        obj["id"], where, f"refers to {ref[:100]}, which the bundle does not hold"
                    )
                    if ref in every_id:
                        consequences.add(index)  # it exists, but was refused itself
                    changed = True
                    break
    if problems and not skip_invalid:
        # an object's own problem first: the objects that refer to it fail only because of it
        own = [i for i in problems if i not in consequences]
        first = problems[min(own or problems)]
        more = f" (and {len(problems) - 1} more object(s); --skip-invalid leaves them out)"
        raise InvalidMessage(
            first.where, first.reason + (more if len(problems) > 1 else ""), code="invalid_stix"
        )
    kept_objects = [obj for i, obj in enumerate(objects) if i not in problems]
    if not any(o["type"] != "marking-definition" for o in kept_objects):
        raise InvalidMessage("objects", "no valid object to import", code="invalid_stix")
    return Checked(bundle_id, kept_objects, [problems[i] for i in sorted(problems)])


def _marking_refs(obj: Mapping[str, Any]) -> Iterable[str]:
    yield from obj.get("object_marking_refs") or ()
    for granular in obj.get("granular_markings") or ():
        if isinstance(granular, Mapping) and isinstance(granular.get("marking_ref"), str):
            yield granular["marking_ref"]


def bundle_marking(objects: list[dict[str, Any]], unmarked: Tlp) -> Marking:
    """The message's marking: the most restrictive of every object's markings (object and
    granular), an object without any counting as ``unmarked``."""
    definitions = {
        o["id"]: read_definition(o) for o in objects if o["type"] == "marking-definition"
    }
    readings: list[Reading] = []
    for obj in objects:
        if obj["type"] == "marking-definition":
            continue
        refs = list(_marking_refs(obj))
        if not refs:
            readings.append(Reading(tlp=unmarked))
        for ref in refs:
            reading = definitions.get(ref)
            if reading is None:  # a published TLP marking the bundle did not repeat
                tlp = TLP2_IDS.get(ref) or TLP1_IDS.get(ref)
                reading = Reading(tlp=tlp)
            readings.append(reading)
    if not any(r.tlp is not None for r in readings):
        readings.append(Reading(tlp=unmarked))  # statements alone: the TLP is the default
    return marking_of(readings)
