"""The cross-check on arrival (issue 16, item 3): each received message's entities matched
against what its recipient units hold, the matches above the node's threshold kept as hits,
and the entities indexed so that later messages match them.

The line never waits for it: the receiving transaction only queues the message
(``store/hits.py``, ``crosscheck_pending``), and :meth:`CrossCheck.run_once` runs on a
running node's timer (``[matching] crosscheck_interval_seconds``), in any number of workers
on one store. Per message:

1. **claim** (a short transaction, with the message's stored content): a lease on its queue
   row, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row;
2. **match** outside any write transaction (the scoring is the CPU; on SQLite a write
   transaction would hold up the line): for each recipient unit here and each entity, the
   unit's holdings that share keys with it (never another unit's), scored;
3. **write** (one transaction, serialised between workers, ``dialect.serialise``): the
   queue row removed only if the lease is still this worker's (a purge, a correction or
   another worker since: nothing is written); the candidates read again, so that a message
   another worker indexed meanwhile is matched too; the entities indexed, the hits and their
   ``hit.created`` audit records written.

A hit goes to the recipient unit whose holding matched: a unit never learns from a hit what
another unit holds or received. Nothing goes back to the sender.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from followthemoney import model
from followthemoney.proxy import EntityProxy
from sqlalchemy import Connection

from secureline.domain.addresses import Address
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.audit import AuditLog
from secureline.services.matching.index import (
    CANDIDATES,
    Holdings,
    comparable,
    entity_keys,
    holding_entity,
)
from secureline.services.matching.scoring import score
from secureline.store import dialect
from secureline.store import hits as store
from secureline.store import holdings as holdings_store
from secureline.store.database import Database
from secureline.store.messages import MessageRow

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:crosscheck"
#: how long a claim holds a message before another worker may take it
LEASE = timedelta(minutes=5)
#: the hits one received entity makes at most, best first (an officer reviews each one)
HITS_PER_ENTITY = 10


@dataclass
class _Message:
    row: MessageRow
    header: dict[str, Any]
    units: list[str]
    entities: list[EntityProxy]
    #: (unit, entity id) -> holding key -> (score, reasons JSON), the best above the threshold
    found: dict[tuple[str, str], dict[str, tuple[float, str | None]]] = field(default_factory=dict)
    #: (unit, entity id) -> holding keys already scored
    seen: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    holdings: dict[str, holdings_store.Holding] = field(default_factory=dict)


class CrossCheck:
    def __init__(
        self,
        node: str,
        db: Database,
        audit: AuditLog,
        holdings: Holdings,
        clock: Callable[[], datetime],
        *,
        threshold: float,
        batch: int = 50,
    ) -> None:
        self._node = node
        self._db = db
        self._audit = audit
        self._holdings = holdings
        self._clock = clock
        self._threshold = threshold
        self._batch = batch
        self._stopping = threading.Event()  # this process's own stop: nothing to share

    def stop(self) -> None:
        """Stop between two messages (the node is stopping); a claimed message not done is
        taken again when its lease runs out."""
        self._stopping.set()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    @property
    def threshold(self) -> float:
        return self._threshold

    def pending(self) -> int:
        with self._db.read() as conn:
            return store.pending(conn)

    def run_once(self) -> int:
        """Cross-check what is queued, a batch at a time, until nothing is left that no
        other worker holds; returns how many messages this worker took."""
        taken = 0
        while not self._stopping.is_set():
            done = self._batch_once()
            taken += done
            if done < self._batch:
                break
        return taken

    def _batch_once(self) -> int:
        token = secrets.token_hex(16)
        with self._db.transaction() as conn:
            ids = store.claim(conn, self._db.url, token, self._clock(), LEASE, self._batch)
            rows = store.to_check(conn, ids) if ids else []
        for row in sorted(rows, key=lambda r: ids.index(r.id)):
            if self._stopping.is_set():
                break
            try:
                self._check(token, row)
            except Exception:  # its lease runs out and it is tried again, MAX_ATTEMPTS times
                log.exception("crosscheck: %s failed", row.id)
        for gone in set(ids) - {r.id for r in rows}:
            self._write(token, gone, None)  # unknown here: only its queue row goes
        return len(ids)

    def _check(self, token: str, row: MessageRow) -> None:
        message = self._read(row)
        if message is None:
            self._write(token, row.id, None)
            return
        with self._db.read() as conn:
            self._match(conn, message)
        self._write(token, row.id, message)

    def _read(self, row: MessageRow) -> _Message | None:
        if row.purged_at is not None or row.direction != "in" or row.content_json is None:
            return None
        header = orjson.loads(row.header_json)
        units = sorted(
            {
                a.unit
                for a in (Address.parse(t) for t in header.get("to", []))
                if a.node == self._node
            }
        )
        raw = orjson.loads(row.content_json).get("entities") or []
        entities = [model.get_proxy(e, cleaned=False) for e in raw if e.get("id")]
        if not units or not entities:
            return None
        return _Message(row, header, units, entities)

    def _match(self, conn: Connection, message: _Message) -> None:
        """Score the candidates not scored yet (the second call, inside the write, sees
        only what another worker indexed meanwhile)."""
        for unit in message.units:
            for entity in message.entities:
                assert entity.id is not None
                slot = (unit, entity.id)
                seen = message.seen.setdefault(slot, set())
                keys = sorted(entity_keys(entity))
                found = holdings_store.candidates(conn, keys, [unit], CANDIDATES)
                new = [c.holding for c in found if c.holding not in seen]
                seen.update(new)
                kept = message.found.setdefault(slot, {})
                for holding in holdings_store.fetch(conn, new):
                    if holding.message_id == message.row.id:
                        continue  # its own entities, indexed earlier (a correction)
                    candidate = holding_entity(holding)
                    if entity.schema.name != holding.schema and not comparable(entity, candidate):
                        continue
                    value = score(entity, candidate, compare_v2=False).score
                    if value >= self._threshold:
                        kept[holding.key] = (value, None)
                        message.holdings[holding.key] = holding
                self._explain(entity, kept, message.holdings)

    @staticmethod
    def _explain(
        entity: EntityProxy,
        kept: dict[str, tuple[float, str | None]],
        held: dict[str, holdings_store.Holding],
    ) -> None:
        """Keep an entity's best HITS_PER_ENTITY and explain them: our reasons with
        nomenklatura's score beside them, as ``match`` shows them (a few ms a pair: only for
        the hits kept, not for every candidate)."""
        best = sorted(kept.items(), key=lambda kv: (-kv[1][0], kv[0]))[:HITS_PER_ENTITY]
        kept.clear()
        for key, (value, explained) in best:
            if explained is None:
                scored = score(entity, holding_entity(held[key]))
                explained = orjson.dumps([r.as_json() for r in scored.reasons]).decode()  # noqa: PLW2901 -- filled in where missing
            kept[key] = (value, explained)

    def _write(self, token: str, message_id: str, message: _Message | None) -> None:
        now = self._clock()
        with self._db.transaction() as conn:
            dialect.serialise(conn, "crosscheck")
            if not store.finish(conn, token, message_id):
                return  # another worker's now, or purged or corrected since
            if message is None:
                return
            self._match(conn, message)
            for unit in message.units:
                self._holdings.index_message(
                    conn,
                    message_id=message_id,
                    origin_node=message.row.origin_node,
                    unit=unit,
                    handling=str(message.header.get("handling", "")),
                    entities=message.entities,
                    several_units=len(message.units) > 1,
                )
            made = _hits(message, now)
            store.add(conn, made)
            self._audit.record(conn, [_created(h) for h in made])


def _hits(message: _Message, now: datetime) -> list[store.Hit]:
    made: list[store.Hit] = []
    by_id = {e.id: e for e in message.entities}
    for (unit, entity_id), matched in sorted(message.found.items()):
        entity = by_id[entity_id]
        for key, (value, reasons) in sorted(matched.items(), key=lambda kv: -kv[1][0]):
            held = message.holdings[key]
            made.append(
                store.Hit(
                    id="hit-" + secrets.token_hex(12),
                    unit=unit,
                    score=round(value, 4),
                    message_id=message.row.id,
                    sender=message.row.sender,
                    sender_node=message.row.origin_node,
                    message_handling=str(message.header.get("handling", "")),
                    entity_id=entity_id,
                    entity_schema=entity.schema.name,
                    entity_caption=entity.caption[:300],
                    holding=key,
                    holding_source=held.source,
                    holding_entity_id=held.entity_id,
                    holding_schema=held.schema,
                    holding_caption=held.caption,
                    holding_handling=held.handling,
                    holding_message_id=held.message_id,
                    reasons_json=reasons or "[]",
                    created_at=now,
                )
            )
    return made


def _created(hit: store.Hit) -> AuditEvent:
    # which message matched which holding, for whom and how well: never the names
    detail = {
        "unit": hit.unit,
        "message": hit.message_id,
        "origin": hit.sender_node,
        "holding_source": hit.holding_source,
        "score": f"{hit.score:.4f}",
    }
    return AuditEvent(SYSTEM_ACTOR, AuditAction.HIT_CREATED, hit.id, "created", detail)
