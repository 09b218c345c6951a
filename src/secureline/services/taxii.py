"""The TAXII 2.1 server's rules: which collections there are, and which objects of one a
reader gets (issue 18, item 2).

A collection is configured by the node's administrator (``[taxii]`` in node.toml): the STIX
objects carried by the messages one unit holds (received into its mailbox, or sent by it
from here), in one crime area or in all. Every authenticated user may ask for every
collection, and gets of it only what their own unit may read by the message view's rule
(``store.search.readable_by``, asked inside the query): a user of another unit sees the
objects of the messages both units hold, and nothing else; an H3 message's objects are not
served at all (their content shows only behind conditions TAXII cannot ask to acknowledge).

Objects are served as the bundle carried them; one that carried no marking is given the
message's (TLP 2.0 and, for conditions TLP does not say, a statement), as ``stix export``
does. Reading objects is audited as an export of each message they came from
(``message.exported``, format ``taxii-2.1``); a manifest shows no content and is not.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.interop import markings as interop_markings
from secureline.domain.message import parse_header
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput, NotFoundError
from secureline.services.roles import Principal
from secureline.store import taxii as store
from secureline.store.database import Database

MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_LIMIT = 100
_VERSION_WORDS = ("last", "first", "all")
_MAX_MATCHES = 100


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    unit: str
    crime_area: str | None


@dataclass(frozen=True)
class Query:
    """What a request asks, as the route read it (strings, unparsed)."""

    added_after: str | None = None
    ids: str | None = None
    types: str | None = None
    version: str | None = None
    limit: int | None = None
    next: str | None = None


@dataclass(frozen=True)
class Page:
    rows: list[store.ObjectRow]
    more: bool
    next: str | None

    @property
    def first_added(self) -> str | None:
        return timestamp(self.rows[0].date_added) if self.rows else None

    @property
    def last_added(self) -> str | None:
        return timestamp(self.rows[-1].date_added) if self.rows else None


def timestamp(value: datetime) -> str:
    """A TAXII timestamp: UTC, to the microsecond (a date added given back as
    ``added_after`` must exclude exactly what was already seen)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(field: str, text: str) -> datetime:
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"{text[:60]!r} is not an RFC 3339 timestamp") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _listed(field: str, text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    if len(items) > _MAX_MATCHES or any(len(t) > 300 for t in items):
        raise InvalidInput(field, f"at most {_MAX_MATCHES} values of at most 300 characters")
    return items


def _cursor(text: str) -> tuple[datetime, int]:
    try:
        added, seq = base64.urlsafe_b64decode(text.encode() + b"==").decode().split("|")
        return _parse_time("next", added), int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("next", "not a cursor this server gave") from None


def _next_of(row: store.ObjectRow) -> str:
    raw = f"{timestamp(row.date_added)}|{row.seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Taxii:
    def __init__(
        self,
        node: str,
        db: Database,
        audit: AuditLog,
        collections: Sequence[Collection],
        max_page: int = 1000,
    ) -> None:
        self._node = node
        self._db = db
        self._audit = audit
        self._collections = {c.id: c for c in collections}
        self.max_page = max_page

    def collections(self, _principal: Principal) -> list[Collection]:
        return list(self._collections.values())

    def collection(self, _principal: Principal, collection_id: str) -> Collection:
        found = self._collections.get(collection_id)
        if found is None:
            raise NotFoundError(f"no collection {collection_id[:100]}")
        return found

    def page(
        self, principal: Principal, collection_id: str, query: Query, *, object_id: str = ""
    ) -> Page:
        """The rows a request selects, its filters checked (``object_id``: one object)."""
        collection = self.collection(principal, collection_id)
        version = (query.version or "last").strip()
        versions: tuple[datetime, ...] = ()
        if version not in _VERSION_WORDS:
            versions = tuple(_parse_time("match[version]", v) for v in _listed("v", version))
            version = "all"
        limit = query.limit if query.limit is not None else DEFAULT_LIMIT
        if limit < 1:
            raise InvalidInput("limit", "must be at least 1")
        wanted = store.Filter(
            added_after=_parse_time("added_after", query.added_after)
            if query.added_after
            else None,
            ids=(object_id,) if object_id else _listed("match[id]", query.ids),
            types=_listed("match[type]", query.types),
            version=version,
            versions=versions,
            after=_cursor(query.next) if query.next else None,
            limit=min(limit, self.max_page),
        )
        scope = store.Scope(self._node, collection.unit, collection.crime_area, principal.unit)
        rows, more = store.objects(self._db, scope, wanted)
        if object_id and not rows and not query.next:
            raise NotFoundError(f"no object {object_id[:300]} in this collection")
        return Page(rows, more, _next_of(rows[-1]) if more else None)

    def objects(self, principal: Principal, collection_id: str, page: Page) -> list[Any]:
        """The page's objects as served (marked), the reading audited per message."""
        headers = store.headers_of(self._db, sorted({r.message_id for r in page.rows}))
        refs: dict[str, list[str]] = {}
        for message_id, header_json in headers.items():
            header = parse_header(orjson.loads(header_json))
            created = header.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            ours = interop_markings.stix_markings_for(
                header.handling, header.classification, header.handling_conditions, created
            )
            refs[message_id] = [m["id"] for m in ours]
        served = []
        for row in page.rows:
            obj = orjson.loads(row.object_json)
            marked = obj.get("object_marking_refs") or obj.get("granular_markings")
            if not marked and obj.get("type") != "marking-definition":
                obj["object_marking_refs"] = refs.get(row.message_id, [])
            served.append(obj)
        if headers:
            self._record(principal, collection_id, page)
        return served

    def _record(self, principal: Principal, collection_id: str, page: Page) -> None:
        counts: dict[str, int] = {}
        for row in page.rows:
            counts[row.message_id] = counts.get(row.message_id, 0) + 1
        events = [
            AuditEvent(
                principal.username,
                AuditAction.MESSAGE_EXPORTED,
                message_id,
                "ok",
                {"format": "taxii-2.1", "collection": collection_id, "objects": str(n)},
            )
            for message_id, n in sorted(counts.items())
        ]
        with self._db.transaction() as conn:
            self._audit.record(conn, events)
