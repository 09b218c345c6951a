"""Stage 5: what each message's kind does here (services/kinds/registry.py): checked while
the envelope is examined, applied inside the commit, then after it. The receive path names
no kind: every kind's behaviour is reached through the registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from secureline.domain.audit import AuditEvent
from secureline.domain.message import Content, Header
from secureline.services.kinds import registry as kinds
from secureline.services.line.receive.state import Crossing, Receiver


def examine(
    r: Receiver, crossing: Crossing, header: Header, content: Content
) -> kinds.Effect | None:
    """The kind's checks of a message delivered here (a Refusal refuses it alone), and what
    it will do once committed."""
    if crossing.receipt is None:
        crossing.receipt = kinds.Receipt(
            r.identity.name, crossing.now, r.db, r.directory.verify_keys
        )
    return kinds.examine(crossing.receipt, header, content)


def commit(
    conn: Any,
    effects: Sequence[tuple[Header, kinds.Effect]],
    stored: Sequence[Any],
    now: datetime,
) -> list[AuditEvent]:
    """Inside the receiving transaction: the kinds' effects in the order the messages came,
    then what waited for a message stored in it (a deletion that overtook its original)."""
    return [*kinds.commit(conn, effects, now), *kinds.on_stored(conn, stored, now)]


def after_commit(r: Receiver, effects: Sequence[tuple[Header, kinds.Effect]]) -> None:
    kinds.after_commit(r.identity.name, effects)
