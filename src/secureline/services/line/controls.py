"""A provider's control messages delivered here, and what they do once committed.

* ``permission-grant``: the provider's signed grant, kept with the grants received;
* ``deletion`` / ``correction``: the original purged (a tombstone stays) or its content
  replaced. One whose original has not arrived yet (two routes, a retry after a restart) is
  held (``store/held_controls.py``) and applied in the transaction that stores the original.

``check`` runs while an envelope is examined (a Refusal refuses that envelope alone);
``apply`` and ``apply_held`` run inside the inbox's commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import Content, Grant, Header
from secureline.domain.vocabulary import Kind
from secureline.services.line.directory import Directory
from secureline.services.line.refusal import Refusal
from secureline.services.permissions import (
    INVALID_GRANT,
    GrantError,
    parse_grant,
    received_grant_row,
    verify_grant,
)
from secureline.store import grants as grant_store
from secureline.store import held_controls as held_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import tables
from secureline.store.database import Database

CONTROL_ACTIONS = {
    Kind.DELETION: AuditAction.MESSAGE_PURGED,
    Kind.CORRECTION: AuditAction.MESSAGE_CORRECTED,
}


@dataclass(frozen=True)
class Effect:
    """A provider's control message delivered here: a grant to keep, or an original to
    purge or correct."""

    kind: Kind
    original: str | None = None
    grant: Grant | None = None
    held: bool = False  # the original has not arrived yet: kept until it does


def check(
    header: Header, content: Content, now: datetime, db: Database, directory: Directory
) -> Effect | None:
    """Check a control message against what is stored here (Refusal if it cannot apply).

    * ``permission-grant``: its body is the provider's signed grant; it must verify, be
      signed by the node that sends the message, and not have expired.
    * ``deletion`` / ``correction``: ``reply_to`` names a message received here, and the
      sender's node is that message's origin (only the provider deletes or corrects).
      One whose message has not arrived yet (two routes, a retry after a restart) is held
      and applied when the message arrives (see apply_held).
    """
    if header.kind is Kind.PERMISSION_GRANT:
        try:
            grant = parse_grant(content.body)
            verify_grant(grant, directory.verify_keys)
        except GrantError as exc:
            raise Refusal(INVALID_GRANT, exc.text) from None
        if grant.provider.node != header.sender.node:
            raise Refusal(
                INVALID_GRANT,
                f"grant {grant.id} is from {grant.provider.node}, but {header.sender.node} sent it",
            )
        if grant.until <= now:
            raise Refusal(INVALID_GRANT, f"grant {grant.id} expired at {grant.until}")
        return Effect(header.kind, grant.message_id, grant)
    if header.kind in (Kind.DELETION, Kind.CORRECTION):
        what = header.kind.value
        if header.reply_to is None:
            raise Refusal("unknown_message", f"a {what} must name its message in reply_to")
        row = message_store.get_message(db, header.reply_to)
        if row is None:  # overtaken by its original's route: held until it arrives
            return Effect(header.kind, header.reply_to, held=True)
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
        return Effect(header.kind, header.reply_to)
    return None


def apply(conn: Any, effects: list[tuple[Header, Effect]], now: datetime) -> list[AuditEvent]:
    """Keep the grants and purge or correct the originals, in the commit that stores the
    control messages; hold those whose original has not arrived."""
    events = []
    for header, effect in effects:
        actor = str(header.sender)
        if effect.grant is not None:
            grant_store.save_grants(conn, [received_grant_row(effect.grant, header.id, now)])
            events.append(
                AuditEvent(
                    actor,
                    AuditAction.PERMISSION_GRANTED,
                    effect.grant.message_id,
                    "received",
                    {"grant": effect.grant.id, "carrier": header.id},
                )
            )
            continue
        assert effect.original is not None
        if effect.held:
            held_store.hold(
                conn,
                [
                    held_store.HeldControl(
                        header.id,
                        effect.original,
                        header.sender.node,
                        effect.kind.value,
                        header.created_at,
                        now,
                        None,
                    )
                ],
            )
            events.append(
                AuditEvent(
                    actor,
                    CONTROL_ACTIONS[effect.kind],
                    effect.original,
                    "held",
                    {"by_message": header.id},
                )
            )
            continue
        events.append(_apply_control(conn, effect.kind, effect.original, header.id, actor, now))
    return events


def apply_held(
    conn: Any, stored: list[message_store.MessageRow], now: datetime
) -> list[AuditEvent]:
    """Apply the deletions and corrections that were held for messages which arrived in
    this transaction, oldest first, in the transaction that stores them: a retracted
    message is stored and purged at once (its tombstone stays), a corrected one is stored
    and corrected. A control from a node other than the message's origin is not applied
    (only the provider deletes or corrects)."""
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
                    CONTROL_ACTIONS[kind],
                    control.original_id,
                    "not-provider",
                    {"by_message": control.control_id},
                )
            )
            continue
        events.append(
            _apply_control(conn, kind, control.original_id, control.control_id, actor, now)
        )
    held_store.settle(conn, [w.control_id for w in waiting], now)
    return events


def _apply_control(
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
    if kind is Kind.DELETION:
        done = retention_store.purge(
            conn, original, actor=actor, reason=reason, now=now, by_message=control_id
        )
    else:  # a correction that was itself purged since has nothing left to put in
        done = content is not None and retention_store.correct(
            conn, original, content, actor=actor, reason=reason, now=now, by_message=control_id
        )
    return AuditEvent(
        actor,
        CONTROL_ACTIONS[kind],
        original,
        "applied" if done else "already-purged",
        {"by_message": control_id},
    )
