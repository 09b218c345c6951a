"""Stage 3: where an envelope goes (delivered here, or the next hop) and the rules of sharing
(domain/policy) for the link it came on and, when relayed, the link it leaves on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import select

from secureline.domain.addresses import EVERY_UNIT, Address
from secureline.domain.policy import PolicyContext, Stage, decide
from secureline.services.line.capabilities import KIND_NOT_SUPPORTED
from secureline.services.line.receive.state import Crossing, InFlight, Receiver
from secureline.services.line.refusal import Refusal
from secureline.services.permissions import check_grants
from secureline.store import tables


def route(r: Receiver, crossing: Crossing, envelope: InFlight) -> None:
    """The next hop (None: delivered here), once the rules allow the envelope."""
    opened, header = envelope.opened, envelope.header
    assert opened is not None
    assert header is not None
    assert envelope.path is not None
    me, destination, now = r.identity.name, opened.destination, crossing.now
    # The provider's grants travel inside the signed header: verified again at every node.
    valid_grants, grant_reasons = check_grants(header.forwarded, r.directory.verify_keys, now)
    if destination == me:
        missing = _missing(r, header.to, me)
        if missing and not crossing.units_read:  # added since (the CLI, another worker)?
            r.refresh_units()  # once a transaction: unknown units cost one read
            crossing.units_read = True
            missing = _missing(r, header.to, me)
        if missing:
            raise Refusal("unknown_unit", f"no such unit here: {', '.join(missing)}")
        next_hop = None
    else:
        next_hop = r.directory.next_hop(destination)
        if next_hop is None:
            raise Refusal("no_route", f"{me} has no route to {destination}")
        if next_hop in envelope.path:
            raise Refusal("loop", f"the route to {destination} leads back to {next_hop}")
        lacking = r.directory.lacking(header.kind, next_hop, destination)
        if lacking:  # as the origin's submit would have: not queued for a certain refusal
            raise Refusal(KIND_NOT_SUPPORTED, "; ".join(lacking))
    context = crossing.contexts.get((next_hop, valid_grants))
    if context is None:
        context = crossing.contexts[(next_hop, valid_grants)] = _context(
            r, crossing, next_hop, valid_grants
        )
    reasons = (*decide(header, context).reasons, *grant_reasons)
    if reasons:
        raise Refusal(reasons[0].code, "; ".join(reason.text for reason in reasons))
    envelope.next_hop = next_hop


def _missing(r: Receiver, to: Iterable[Address], me: str) -> list[str]:
    """The recipients here that are no unit here; ``all-units`` (which only a kind that
    may go to every unit carries, domain/kinds.py) is every unit, none missing unless there
    is no unit at all."""
    return [
        str(a)
        for a in to
        if a.node == me and (a.unit not in r.units if a.unit != EVERY_UNIT else not r.units)
    ]


def _context(
    r: Receiver, crossing: Crossing, next_hop: str | None, valid_grants: frozenset[str]
) -> PolicyContext:
    # The peer's digest came with this transaction (equal to ours, or it was refused whole);
    # the outgoing link's is the one its peer last reported to this node.
    link_in = dataclasses.replace(
        r.directory.link_terms(crossing.peer), peer_digest=crossing.peer_digest
    )
    if next_hop is None:
        return PolicyContext(
            node=r.identity.name,
            stage=Stage.RECEIVE,
            now=crossing.now,
            link_in=link_in,
            specialist_units=r.specialist_units,
            valid_grant_ids=valid_grants,
        )
    return PolicyContext(
        node=r.identity.name,
        stage=Stage.RELAY,
        now=crossing.now,
        link_in=link_in,
        link_out=dataclasses.replace(
            r.directory.link_terms(next_hop), peer_digest=_reported_digest(r, crossing, next_hop)
        ),
        valid_grant_ids=valid_grants,
    )


def _reported_digest(r: Receiver, crossing: Crossing, peer: str) -> str | None:
    if crossing.reported is None:
        with r.db.read() as conn:
            rows = conn.execute(select(tables.peers.c.name, tables.peers.c.agreement_digest))
            crossing.reported = {row.name: row.agreement_digest for row in rows}
    return crossing.reported.get(peer)
