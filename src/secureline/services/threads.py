"""A thread: a message with everything that answers it, in order (issue 15, the desk).

Replies, permission requests and grants, corrections and retractions all name the message
they are about in ``reply_to``; a thread is the tree those links make, walked up from the
message asked for to the first one its unit may see, then down, and shown oldest first.
Only what the unit may open appears (composed here by the unit, or delivered into its
mailbox, as ``Messaging.open`` decides): another unit's reply is not in the thread, and an
id the unit may not open is not found, the same answer as for an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from secureline.domain.message import Header, parse_header
from secureline.services.errors import NotFoundError
from secureline.services.roles import Principal
from secureline.store import messages as message_store
from secureline.store import threads as thread_store
from secureline.store.database import Database

#: the most messages one thread shows (a page, not an archive)
MAX_THREAD = 200


@dataclass(frozen=True)
class ThreadItem:
    header: Header
    direction: str  # "out": sent by the unit from here; "in": delivered to the unit
    read_at: datetime | None  # received: when it was first opened here
    purged: bool  # its content was removed (retracted, or by retention)
    states: tuple[str, ...] = ()  # sent: one delivery state per destination


class Threads:
    def __init__(self, node: str, db: Database) -> None:
        self._node = node
        self._db = db

    def thread(self, principal: Principal, message_id: str) -> list[ThreadItem]:
        """``message_id``'s thread as ``principal``'s unit sees it, oldest first."""
        unit, sender = principal.unit, f"{principal.unit}@{self._node}"
        found = {r.id: r for r in thread_store.visible(self._db, unit, sender, [message_id])}
        if message_id not in found:
            raise NotFoundError(f"no message {message_id}")
        root = found[message_id]
        while len(found) < MAX_THREAD:  # up to the first message the unit may see
            parent = _header(root).reply_to
            if parent is None or parent in found:
                break
            above = thread_store.visible(self._db, unit, sender, [parent])
            if not above:
                break
            root = above[0]
            found[root.id] = root
        frontier = [root.id]
        while frontier and len(found) < MAX_THREAD:
            below = thread_store.replies(self._db, unit, sender, frontier, MAX_THREAD - len(found))
            asked, frontier = set(frontier), []
            for row in below:
                # the text filter found it; the parsed header confirms it
                if row.id not in found and _header(row).reply_to in asked:
                    found[row.id] = row
                    frontier.append(row.id)
        rows = sorted(found.values(), key=lambda r: (_utc(r.created_at), r.id))
        sent = [r.id for r in rows if r.direction == "out"]
        states = message_store.delivery_states_of(self._db, sent)
        return [
            ThreadItem(
                header=_header(r),
                direction=r.direction,
                read_at=_utc(r.read_at) if r.read_at else None,
                purged=r.purged_at is not None,
                states=tuple(states.get(r.id, ())),
            )
            for r in rows
        ]

    def headers(self, principal: Principal, ids: list[str]) -> dict[str, Header]:
        """The headers of those of ``ids`` the principal's unit may open (for a page that
        lists ids, such as the retention queue, without opening, and so auditing, each)."""
        sender = f"{principal.unit}@{self._node}"
        rows = thread_store.visible(self._db, principal.unit, sender, ids)
        return {r.id: _header(r) for r in rows}


def _header(row: Any) -> Header:
    return parse_header(orjson.loads(row.header_json))


def _utc(value: datetime) -> datetime:
    """SQLite hands back times without their zone: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
