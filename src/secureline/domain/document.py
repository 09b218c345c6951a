"""A message's structured document: a partner format's data kept whole beside the body.

A STIX bundle or a MISP event imported as a message keeps every object as its producer
wrote it, so that an export gives the same ids, versions, relationships and markings back.
The document is part of the content: the header's digest covers it, and a confidential
message's document is encrypted with the rest. The origin's services validate the document
against its format (``services/interop``); every node that reads the content again checks
here only what keeps it bounded and well formed (the destination does not need the format's
libraries to store it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from secureline.domain.errors import InvalidMessage

#: Nesting deeper than this is refused everywhere a document is read: STIX and MISP need a
#: handful of levels, and a deep structure costs every recursive reader its stack.
MAX_DEPTH = 32
#: The most objects (STIX objects, or MISP attributes and objects) one document holds.
MAX_OBJECTS = 10_000


class DocumentFormat(StrEnum):
    STIX_BUNDLE = "stix-2.1-bundle"
    MISP_EVENT = "misp-event"


@dataclass(frozen=True, slots=True)
class Document:
    format: DocumentFormat
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"format": self.format.value, "data": self.data}


def depth_problem(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Where ``value`` nests deeper than ``limit``, as a dotted path; None if it does not.
    Iterative, so that a hostile document cannot exhaust the stack of its checker."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, Mapping):
            children: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            children = ((f"{path}[{i}]", v) for i, v in enumerate(item))
        else:
            continue
        if depth > limit:
            return path or "(top)"
        stack.extend((child, depth + 1, where[:200]) for where, child in children)
    return None


def check_document(raw: Any, field: str = "content.document") -> Document:
    """The document in its checked form, or InvalidMessage naming the field."""
    if not isinstance(raw, Mapping) or set(raw) != {"format", "data"}:
        raise InvalidMessage(field, "must be an object with format and data")
    try:
        fmt = DocumentFormat(raw["format"])
    except ValueError:
        raise InvalidMessage(
            f"{field}.format", f"{str(raw['format'])[:64]!r} is not a document format"
        ) from None
    data = raw["data"]
    if not isinstance(data, dict):
        raise InvalidMessage(f"{field}.data", "must be an object")
    deep = depth_problem(data)
    if deep is not None:
        raise InvalidMessage(
            f"{field}.data.{deep}", f"nests deeper than {MAX_DEPTH} levels", code="too_deep"
        )
    if fmt is DocumentFormat.STIX_BUNDLE:
        _check_bundle(data, f"{field}.data")
    return Document(fmt, data)


def _check_bundle(data: dict[str, Any], field: str) -> None:
    objects = data.get("objects")
    if data.get("type") != "bundle" or not isinstance(objects, list):
        raise InvalidMessage(field, "a STIX document is a bundle with a list of objects")
    if len(objects) > MAX_OBJECTS:
        raise InvalidMessage(f"{field}.objects", f"more than {MAX_OBJECTS} objects")
    for index, obj in enumerate(objects):
        if not (
            isinstance(obj, dict)
            and isinstance(obj.get("type"), str)
            and isinstance(obj.get("id"), str)
        ):
            raise InvalidMessage(
                f"{field}.objects[{index}]", "a STIX object needs a type and an id"
            )
