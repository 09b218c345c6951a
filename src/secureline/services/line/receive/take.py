"""What committing one accepted envelope writes (part of stage 4, commit.py), made without
changing anything, so that a failure here refuses that envelope alone; and the signed
answer of a transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from secureline.domain.addresses import EVERY_UNIT
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.message import Header
from secureline.services.line import custody
from secureline.services.line.evidence import issue
from secureline.services.line.receive.state import Accepted, Batch, Receiver, Taken, log
from secureline.services.line.wire import (
    EvidenceItem,
    EvidenceKind,
    envelope_digest,
    transaction_answer,
)
from secureline.store import line as line_store
from secureline.store import messages as message_store


def take(
    r: Receiver,
    acc: Accepted,
    peer: str,
    now: datetime,
    stored: dict[str, str],
    relaying: dict[tuple[str, str], str],
) -> Taken:
    header = acc.header
    here = acc.next_hop is None
    duplicate = stored.get(header.id) == "in" if here else (header.id, acc.destination) in relaying
    item = EvidenceItem(
        header.id,
        header.sender.node,
        acc.destination,
        EvidenceKind.DELIVERED if here else EvidenceKind.RELAYED,
        envelope_digest(acc.token),
        *(("duplicate", "already received; not delivered again") if duplicate else ()),
    )
    if duplicate:
        return Taken(item)
    # A new row, or (delivered here after relaying it earlier) the readable copy instead.
    row = _row(acc, now) if header.id not in stored or here else None
    if here:
        me = r.identity.name
        return Taken(
            item,
            AuditEvent(
                peer,
                AuditAction.MESSAGE_RECEIVED,
                header.id,
                "delivered",
                {"origin": header.sender.node},
            ),
            row,
            [(unit, header.id) for unit in _units(r, header, me)],
        )
    assert acc.next_hop is not None
    relay = line_store.NewDelivery(
        header.id,
        acc.destination,
        acc.next_hop,
        acc.token,
        # As it came: the outbox appends this node when it sends it on, so that each node is
        # on the path once (the hop limit counts them).
        orjson.dumps(acc.path).decode(),
    )
    event = AuditEvent(
        peer,
        AuditAction.MESSAGE_RELAYED,
        header.id,
        "relayed",
        {"origin": header.sender.node, "next_hop": acc.next_hop},
    )
    return Taken(item, event, row, [], relay)


def _units(r: Receiver, header: Header, me: str) -> list[str]:
    """The units here whose mailboxes take the message, each once: ``all-units`` is every
    unit of this node (the wider distribution of a strategic report, domain/kinds.py)."""
    units: dict[str, None] = {}
    for a in header.to:
        if a.node == me:
            units |= dict.fromkeys(sorted(r.units) if a.unit == EVERY_UNIT else [a.unit])
    return list(units)


def answer(
    r: Receiver,
    conn: Any,
    peer: str,
    txn_id: str,
    now: datetime,
    batch: Batch,
    intake: custody.Intake,
    checkpoint: str | None,
) -> bytes:
    """Sign the evidence for this transaction, keep our copies, and shape the answer."""
    documents = issue(r.identity, batch.items, now, checkpoint, batch_for=peer)
    for token_id, token, _items in documents:
        line_store.save_evidence(conn, token_id, r.identity.name, token, [], now)
    if intake.rejected:
        log.warning("line: %s sent evidence we cannot verify: %s", peer, intake.rejected[0])
    return transaction_answer(
        txn_id,
        [token for _, token, _ in documents],
        len(intake.documents),
        intake.rejected,
        r.statement,
    )


def _row(acc: Accepted, now: datetime) -> message_store.MessageRow:
    header = acc.header
    return message_store.MessageRow(
        id=header.id,
        direction="in" if acc.next_hop is None else "relay",
        sender=str(header.sender),
        origin_node=header.sender.node,
        header_json=orjson.dumps(acc.header_json).decode(),
        # kept once, in the envelope, when it is there (store/messages.py reads it out)
        content_json=None
        if acc.content_in_envelope or acc.content is None
        else acc.content.decode(),
        content_jwe=acc.content_jwe,
        # a relay keeps the envelope it forwards in envelopes, once
        envelope=acc.token if acc.next_hop is None else None,
        created_at=header.created_at,
        stored_at=now,
    )
