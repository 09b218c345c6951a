"""What ``deletion`` and ``correction`` share: the provider amends a message it sent.

A deletion purges the original at every recipient (a tombstone stays); a correction replaces
its content. On receipt, ``reply_to`` must name a message received here whose origin is the
sender's node (only the provider amends). One whose original has not arrived yet (two routes,
a retry after a restart) is held (``store/held_controls.py``) and applied in the transaction
that stores the original (:func:`on_stored`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import Content, Header
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import Receipt
from secureline.services.line.refusal import Refusal
from secureline.store import held_controls as held_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import tables

#: The audit action of each amending kind (registered by deletion.py and correction.py).
ACTIONS: dict[Kind, AuditAction] = {}


@dataclass(frozen=True, slots=True)
class Amendment:
    original: str
    held: bool = False  # the original has not arrived yet: kept until it does
    original_kind: str = ""  # the original's kind, when it is here


def draft(
    marking: dict[str, Any],
    original: Header,
    kind: Kind,
    reason: str,
    content: dict[str, Any],
) -> dict[str, Any]:
    """The message amending ``original``: its subject states the reason."""
    return {
        **marking,
        **content,
        "kind": kind.value,
        "to": [str(a) for a in original.to],
        "subject": f"{kind.value} of {original.id}: {reason}"[:300],
        "reply_to": original.id,
    }


def is_amendment(header: Header) -> bool:
    return header.kind in ACTIONS


def examine(receipt: Receipt, header: Header, content: Content) -> Amendment:
    what = header.kind.value
    if header.reply_to is None:
        raise Refusal("unknown_message", f"a {what} must name its message in reply_to")
    row = message_store.get_message(receipt.db, header.reply_to)
    if row is None:  # overtaken by its original's route: held until it arrives
        return Amendment(header.reply_to, held=True)
    if row.direction != "in":
        raise Refusal(
            "unknown_message",
            f"{what} of {header.reply_to}: no such message was received here",
        )
    if row.origin_node != header.sender.node:
        raise Refusal(
            "not_provider",
            f"{what} of {header.reply_to}: only its provider {row.origin_node} may "
            f"send one, not {header.sender.node}",
        )
    return Amendment(header.reply_to, original_kind=orjson.loads(row.header_json)["kind"])


def commit(conn: Any, header: Header, amendment: Amendment, now: datetime) -> list[AuditEvent]:
    actor = str(header.sender)
    if not amendment.held:
        return [_apply(conn, header.kind, amendment.original, header.id, actor, now)]
    held_store.hold(
        conn,
        [
            held_store.HeldControl(
                header.id,
                amendment.original,
                header.sender.node,
                header.kind.value,
                header.created_at,
                now,
                None,
            )
        ],
    )
    return [
        AuditEvent(
            actor, ACTIONS[header.kind], amendment.original, "held", {"by_message": header.id}
        )
    ]


def on_stored(
    conn: Any, stored: Sequence[message_store.MessageRow], now: datetime
) -> list[AuditEvent]:
    """Apply the amendments that were held for messages which arrived in this transaction,
    oldest first, in the transaction that stores them: a retracted message is stored and
    purged at once (its tombstone stays), a corrected one is stored and corrected. One from a
    node other than the message's origin is not applied (only the provider amends)."""
    waiting = held_store.waiting_for(conn, [r.id for r in stored if r.direction == "in"])
    if not waiting:
        return []
    messages = tables.messages.c
    known = {w.original_id for w in waiting} | {w.control_id for w in waiting}
    rows = conn.execute(
        select(messages.id, messages.origin_node, messages.sender).where(messages.id.in_(known))
    ).all()
    origins = {r.id: r.origin_node for r in rows}
    senders = {r.id: r.sender for r in rows}
    events = []
    for control in waiting:
        kind = Kind(control.kind)
        actor = senders.get(control.control_id, control.origin_node)
        if origins.get(control.original_id) != control.origin_node:
            events.append(
                AuditEvent(
                    actor,
                    ACTIONS[kind],
                    control.original_id,
                    "not-provider",
                    {"by_message": control.control_id},
                )
            )
            continue
        events.append(_apply(conn, kind, control.original_id, control.control_id, actor, now))
    held_store.settle(conn, [w.control_id for w in waiting], now)
    return events


def _apply(
    conn: Any, kind: Kind, original: str, control_id: str, actor: str, now: datetime
) -> AuditEvent:
    """Purge or correct ``original`` as the stored control message ``control_id`` says
    (its subject is the provider's reason, its content the correction)."""
    header_json, content_json, envelope = conn.execute(
        select(
            tables.messages.c.header_json,
            tables.messages.c.content_json,
            tables.messages.c.envelope,
        ).where(tables.messages.c.id == control_id)
    ).one()
    content = message_store.stored_content(content_json, envelope)
    reason = orjson.loads(header_json)["subject"]
    if ACTIONS[kind] is AuditAction.MESSAGE_PURGED:
        done = retention_store.purge(
            conn, original, actor=actor, reason=reason, now=now, by_message=control_id
        )
    else:  # a correction that was itself purged since has nothing left to put in
        done = content is not None and retention_store.correct(
            conn, original, content, actor=actor, reason=reason, now=now, by_message=control_id
        )
    return AuditEvent(
        actor,
        ACTIONS[kind],
        original,
        "applied" if done else "already-purged",
        {"by_message": control_id},
    )
