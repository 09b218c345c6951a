"""Stage 4: one database transaction for everything a transaction received (messages,
mailboxes, the relay queue, evidence taken in, the kinds' effects, audit records and the
signed answer), so that nothing is half-written and the answer can be replayed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import update

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.kinds import facts
from secureline.domain.limits import REASON_TEXT_MAX_CHARS
from secureline.domain.message import Header
from secureline.services.kinds import registry as kinds
from secureline.services.line import custody
from secureline.services.line.receive import effects as kind_effects
from secureline.services.line.receive.state import INTERNAL_ERROR, Batch, Receiver, log_unexpected
from secureline.services.line.receive.take import answer, take
from secureline.services.line.wire import (
    UNREADABLE,
    EvidenceItem,
    EvidenceKind,
    claimed_identity,
    envelope_digest,
)
from secureline.store import hits as hits_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import tables


def refuse(
    batch: Batch,
    header: Header | None,
    token: str,
    peer: str,
    destination: str,
    code: str,
    text: str,
) -> None:
    """Refused evidence and an audit record for one envelope."""
    if len(text) > REASON_TEXT_MAX_CHARS:  # it may quote what the peer sent
        text = text[: REASON_TEXT_MAX_CHARS - 3] + "..."
    if header is not None:
        message_id, origin = header.id, header.sender.node
    else:
        message_id, origin = claimed_identity(token) or (
            UNREADABLE + envelope_digest(token)[:16],
            peer,
        )
    batch.items.append(
        EvidenceItem(
            message_id,
            origin,
            destination,
            EvidenceKind.REFUSED,
            envelope_digest(token),
            code,
            text,
        )
    )
    batch.audit.append(
        AuditEvent(
            peer,
            AuditAction.MESSAGE_REFUSED,
            message_id,
            "refused",
            {"reason": code, "origin": origin},
        )
    )


def commit(
    r: Receiver,
    peer: str,
    txn_id: str,
    digest: str,
    now: datetime,
    batch: Batch,
    intake: custody.Intake,
    peer_digest: str,
) -> tuple[bytes, list[tuple[Header, kinds.Effect]]]:
    """The signed answer, once committed, and the kinds' effects (for after the commit)."""
    me = r.identity.name
    queued_hops: set[str] = set()
    checkpoint = r.audit.evidence_checkpoint()
    with r.db.transaction() as conn:
        ids = [a.header.id for a in batch.accepted]
        stored = message_store.existing_ids(conn, ids)
        relaying = line_store.current_states(
            conn, [a.header.id for a in batch.accepted if a.next_hop is not None]
        )
        rows, mailbox, relays, upgrades = [], [], [], []
        effects: list[tuple[Header, kinds.Effect]] = []
        reviews: list[tuple[str, date]] = []
        # A message for a unit here and for a node beyond is two envelopes; the copy
        # delivered here goes first, so the stored row is the readable one.
        for acc in sorted(batch.accepted, key=lambda a: a.next_hop is not None):
            try:
                taken = take(r, acc, peer, now, stored, relaying)
            except Exception as exc:  # noqa: BLE001 -- refuse this envelope alone
                log_unexpected(exc, f"storing {acc.header.id} from {peer}")
                refuse(
                    batch,
                    acc.header,
                    acc.token,
                    peer,
                    acc.destination,
                    INTERNAL_ERROR,
                    "the receiver failed unexpectedly while storing this envelope; "
                    "the details are in its log",
                )
                continue
            # Nothing below raises: what could is made in take.
            header = acc.header
            batch.items.append(taken.item)
            if taken.audit is None:  # a duplicate
                continue
            batch.audit.append(taken.audit)
            if taken.row is not None:
                if header.id not in stored:
                    rows.append(taken.row)
                else:  # relayed earlier, now also delivered here: keep this copy
                    upgrades.append(taken.row)
                stored[header.id] = "in" if acc.next_hop is None else "relay"
            mailbox += taken.mailbox
            if header.review_date is not None and acc.next_hop is None:
                reviews.append((header.id, header.review_date))
            if acc.effect is not None and acc.next_hop is None:
                effects.append((header, acc.effect))
            if taken.relay is not None:
                relaying[(header.id, acc.destination)] = "queued"
                relays.append(taken.relay)
                queued_hops.add(taken.relay.next_hop)
        message_store.insert_messages(conn, rows)
        message_store.replace_messages(conn, upgrades)
        message_store.add_to_mailboxes(conn, mailbox, now)
        _later(conn, batch, reviews, [*rows, *upgrades], now)
        batch.audit += kind_effects.commit(conn, effects, [*rows, *upgrades], now)
        line_store.queue_deliveries(conn, relays, now)
        batch.audit += [  # the documents skipped as malformed, then those taken in
            *intake.events,
            *custody.apply(
                conn, me, r.directory, intake.documents, now, audit_log=r.audit, via=peer
            ),
        ]
        response = answer(r, conn, peer, txn_id, now, batch, intake, checkpoint)
        line_store.save_transaction(conn, peer, txn_id, digest, response, now)
        _note_reported_digest(conn, peer, peer_digest)
        r.audit.record(conn, batch.audit)
    if queued_hops:
        r.on_queued(queued_hops)
    return response, effects


def _later(
    conn: Any,
    batch: Batch,
    reviews: list[tuple[str, date]],
    stored: list[message_store.MessageRow],
    now: datetime,
) -> None:
    """What is done later about what this transaction stores: the retention review by its
    date, and the cross-check against the holdings (services/matching/crosscheck.py) of the
    messages delivered here that carry entities (their header counts them) and are not
    control messages (a correction's or a grant's own content is about no one)."""
    retention_store.schedule(conn, reviews)
    here = {r.id for r in stored if r.direction == "in"}
    queued = [
        a.header.id
        for a in batch.accepted
        if a.header.id in here
        and a.next_hop is None
        and a.header.entity_schemata
        and not facts(a.header.kind).control
    ]
    hits_store.queue(conn, list(dict.fromkeys(queued)), now)


def _note_reported_digest(conn: Any, peer: str, peer_digest: str) -> None:
    # What the peer reports now is what a relay here compares the link with (the outgoing
    # link's check in decide.py): kept fresh by the peer's own traffic too, not only by this
    # node's pushes to it. Writes only when it changed.
    conn.execute(
        update(tables.peers)
        .where(
            tables.peers.c.name == peer,
            tables.peers.c.agreement_digest.is_distinct_from(peer_digest),
        )
        .values(agreement_digest=peer_digest)
    )
