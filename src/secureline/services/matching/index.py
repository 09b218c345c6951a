"""The holdings index as a service: bulk import, the receive path's one-call hook, and
matching a query against what the caller's unit may see.

A received message's entities are indexed by :meth:`Holdings.index_message` and removed
when it is retracted, corrected or purged (a correction: removed, then the corrected
entities indexed),
so that nothing retracted stays findable. The cross-check (``crosscheck.py``) indexes a
received message after its commit; the store's purge and correction unindex it
(``store/hits.py`` ``content_replaced``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from followthemoney import model
from followthemoney.proxy import EntityProxy
from sqlalchemy import Connection

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.vocabulary import HandlingCode
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput, NotFoundError
from secureline.services.matching import names, readers
from secureline.services.matching.identifiers import identifier_keys
from secureline.services.matching.scoring import DEFAULT_THRESHOLD, Reason, entity_names, score
from secureline.services.roles import Principal, oversees_every_unit
from secureline.store import holdings as store
from secureline.store.database import Database

#: entities written per statement batch in an import
BATCH = 2_000
#: candidates scored per query, most keys in common first
CANDIDATES = 200


@dataclass(frozen=True)
class Imported:
    source: str
    entities: int
    lines: int


@dataclass(frozen=True)
class Match:
    holding: store.Holding
    score: float
    reasons: list[Reason]

    def as_json(self) -> dict[str, Any]:
        h = self.holding
        return {
            "entity_id": h.entity_id,
            "schema": h.schema,
            "caption": h.caption,
            "source": h.source,
            "unit": h.unit,
            "handling": h.handling,
            "message_id": h.message_id,
            "score": round(self.score, 4),
            "reasons": [r.as_json() for r in self.reasons],
        }


def entity_keys(entity: EntityProxy) -> set[tuple[str, str]]:
    """The (kind, value) keys an entity is found by."""
    keys = {("id", f"{cls}:{value}") for _, cls, value in identifier_keys(entity)}
    for name in entity_names(entity):
        keys |= {("name", key[:160]) for key in names.name_keys(name)}
    return keys


def _rows(
    entities: Iterable[EntityProxy],
    *,
    source: str,
    unit: str,
    handling: str,
    message_id: str | None,
    now: datetime,
) -> tuple[list[store.Holding], list[tuple[str, str, str]]]:
    rows: dict[str, store.Holding] = {}
    keys: dict[str, set[tuple[str, str]]] = {}
    for entity in entities:
        assert entity.id is not None  # readers refuse an entity without one
        key = store.holding_key(source, entity.id)
        rows[key] = store.Holding(
            key=key,
            source=source,
            entity_id=entity.id,
            schema=entity.schema.name,
            caption=entity.caption[:300],
            unit=unit,
            handling=handling,
            message_id=message_id,
            entity_json=orjson.dumps(entity.to_dict()).decode(),
            indexed_at=now,
        )
        keys[key] = entity_keys(entity)  # a repeated id in one batch: the last one wins
    flat = [(k, kind, value) for k, found in keys.items() for kind, value in sorted(found)]
    return list(rows.values()), flat


def _handling(code: str) -> str:
    try:
        return HandlingCode(code).value
    except ValueError:
        raise InvalidInput("--handling", f"{code!r} is not a handling code (H0-H3)") from None


class Holdings:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Callable[[], datetime],
        units: Callable[[], set[str]],
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._units = units  # the node's units, asked at each import

    def import_file(
        self,
        actor: str,
        path: Path,
        *,
        source: str,
        unit: str,
        handling: str,
        csv_schema: str | None = None,
        mapping: dict[str, str] | None = None,
        progress: readers.Progress | None = None,
    ) -> Imported:
        """Import one file in one transaction: all its lines or, at the first bad one,
        none (the error names the line). Re-importing replaces what the same source held
        under the same ids, so an interrupted or repeated import is simply run again."""
        code = _handling(handling)
        if not source or len(source) > 120 or source.startswith("message:"):
            raise InvalidInput("--source", "1 to 120 characters, not starting message:")
        if unit not in self._units():
            raise NotFoundError(f"no unit {unit!r} on this node", code="unknown_unit")
        lines: Iterator[tuple[int, EntityProxy]]
        if csv_schema is not None:
            lines = readers.csv_rows(path, csv_schema, mapping or {}, progress)
        else:
            lines = readers.ftm_lines(path, progress)
        count = last = 0
        now = self._clock()
        with self._db.transaction() as conn:
            batch: list[EntityProxy] = []
            for number, entity in lines:
                last = number
                batch.append(entity)
                if len(batch) >= BATCH:
                    self._put(conn, batch, source, unit, code, None, now)
                    count += len(batch)
                    batch = []
            self._put(conn, batch, source, unit, code, None, now)
            count += len(batch)
            detail = {"unit": unit, "handling": code, "entities": str(count), "file": path.name}
            event = AuditEvent(actor, AuditAction.HOLDINGS_IMPORTED, source, "ok", detail)
            self._audit.record(conn, [event])
        return Imported(source, count, last)

    def _put(
        self,
        conn: Connection,
        entities: Sequence[EntityProxy],
        source: str,
        unit: str,
        handling: str,
        message_id: str | None,
        now: datetime,
    ) -> None:
        rows, keys = _rows(
            entities, source=source, unit=unit, handling=handling, message_id=message_id, now=now
        )
        store.put(conn, rows, keys)

    def index_message(
        self,
        conn: Connection,
        *,
        message_id: str,
        origin_node: str,
        unit: str,
        handling: str,
        entities: Sequence[dict[str, Any]] | Sequence[EntityProxy],
        several_units: bool = False,
    ) -> int:
        """Index a received message's entities for ``unit`` in the caller's transaction
        (the cross-check does, services/matching/crosscheck.py). They are found as
        ``message:<id>@<origin>`` (``#<unit>`` after it when the message came to several
        units here, each holding its own copy)."""
        proxies = [
            e if isinstance(e, EntityProxy) else model.get_proxy(e, cleaned=False) for e in entities
        ]
        proxies = [p for p in proxies if p.id]
        self._put(conn, proxies, message_source(message_id, origin_node, unit, several_units),
                  unit, handling, message_id, self._clock())  # fmt: skip
        return len(proxies)

    def unindex_message(self, conn: Connection, message_id: str) -> int:
        """Remove a message's entities from the index, in the caller's transaction."""
        return store.remove_message(conn, message_id)

    def count(self) -> int:
        with self._db.read() as conn:
            return store.count(conn)

    def match(
        self,
        principal: Principal,
        query: EntityProxy,
        *,
        limit: int = 10,
        threshold: float = 0.0,
    ) -> list[Match]:
        """Ranked candidates for ``query`` among what ``principal``'s unit may see (the
        administrator and the data protection officer see every unit's)."""
        units = None if oversees_every_unit(principal) else [principal.unit]
        keys = sorted(entity_keys(query))
        with self._db.transaction() as conn:
            found = store.candidates(conn, keys, units, CANDIDATES)
            held = store.fetch(conn, [c.holding for c in found])
            # who searched, in what, how many came back: never the name searched for
            detail = {"schema": query.schema.name, "candidates": str(len(held))}
            event = AuditEvent(principal.username, AuditAction.MATCH_SEARCHED, principal.unit,
                               "ok", detail)  # fmt: skip
            self._audit.record(conn, [event])
        matches: list[Match] = []
        for holding in held:
            candidate = holding_entity(holding)
            if query.schema.name != holding.schema and not comparable(query, candidate):
                continue
            scored = score(query, candidate, compare_v2=False)
            if scored.score >= threshold:
                matches.append(Match(holding, scored.score, scored.reasons))
        matches.sort(key=lambda m: (-m.score, m.holding.entity_id))
        # the shown results carry nomenklatura's own score too, as a second opinion
        return [
            Match(m.holding, m.score, score(query, holding_entity(m.holding)).reasons)
            for m in matches[:limit]
        ]


def message_source(message_id: str, origin_node: str, unit: str, several_units: bool) -> str:
    """The source a received message's entities are indexed under."""
    source = f"message:{message_id}@{origin_node}"
    return (f"{source}#{unit}" if several_units else source)[:120]


def warm_up_matching() -> None:
    """Load what the matcher's first call would: ICU's transliterators (through rigour and
    normality) and nomenklatura's name data. Once per process; later calls are cheap."""
    query = query_entity(name="Иван Петров", birth_date="1970", nationality="ru")
    other = query_entity(name="محمد 김정은 יצחק Ιωάννης 习近平")
    score(query, other)


def holding_entity(holding: store.Holding) -> EntityProxy:
    return model.get_proxy(orjson.loads(holding.entity_json), cleaned=False)


def comparable(query: EntityProxy, candidate: EntityProxy) -> bool:
    return query.schema.is_a(candidate.schema.name) or candidate.schema.is_a(query.schema.name)


def query_entity(
    *,
    name: str,
    schema: str = "Person",
    birth_date: str | None = None,
    nationality: str | None = None,
    identifiers: dict[str, str] | None = None,
) -> EntityProxy:
    """A query as an entity, checked like any other (unknown schema or property refused)."""
    described = model.get(schema)
    if described is None:
        raise InvalidInput("schema", f"unknown schema {schema!r}", code="unknown_schema")
    entity = model.make_entity(described)
    entity.id = "query-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    entity.add("name", name)
    props = {"birthDate": birth_date, "nationality": nationality, **(identifiers or {})}
    for prop, value in props.items():
        if value is None:
            continue
        if described.get(prop) is None:
            raise InvalidInput(prop, f"{schema} has no property {prop!r}")
        entity.add(prop, value)
    return entity


__all__ = [
    "DEFAULT_THRESHOLD",
    "Holdings",
    "Imported",
    "Match",
    "entity_keys",
    "query_entity",
    "warm_up_matching",
]
