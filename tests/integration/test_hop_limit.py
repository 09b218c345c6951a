"""The hop limit over a real chain of nodes (issue 13, section 1 item 3).

A relay used to count itself twice (its inbox stored the path with itself appended, and its
outbox appended itself again), which halved the limit: a chain of six nodes was refused.
Each node is now on the path once, and the header's ``hop_limit`` (8 by default) is the most
nodes a message's route may hold, origin and destination included (docs/protocol.md §5):
over a chain of nine nodes, a message to the eighth is delivered and one to the ninth is
refused by it with ``hop_limit_exceeded``, the evidence travelling back to the origin.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import orjson
from sqlalchemy import select

from secureline.cli.federation import LinkSpec, NodeSpec
from secureline.domain.message import Header
from secureline.store import tables
from tests.integration.support import ADMIN, Federation, officer, sample, wait_state

DEFAULT_LIMIT = Header.model_fields["hop_limit"].default
NAMES = [f"n{i}" for i in range(1, DEFAULT_LIMIT + 2)]  # one node more than the limit allows
UNIT = "desk"
LINE = (
    [NodeSpec(name, f"Organisation {name}", "", [(UNIT, False, None)]) for name in NAMES],
    [LinkSpec(a, b) for a, b in itertools.pairwise(NAMES)],
)


def test_a_route_at_the_hop_limit_is_delivered_and_one_past_it_refused(
    federation_factory: Callable[..., Federation],
) -> None:
    line = federation_factory(LINE)
    origin = line[NAMES[0]]
    person = officer(origin, UNIT)
    at_limit, past_limit = NAMES[DEFAULT_LIMIT - 1], NAMES[DEFAULT_LIMIT]

    delivered = origin.messaging.submit(person, sample(f"{UNIT}@{at_limit}", seed=1))
    refused = origin.messaging.submit(person, sample(f"{UNIT}@{past_limit}", seed=2))

    assert wait_state(origin, delivered.id, at_limit, ["delivered"], timeout=60) == "delivered"
    assert wait_state(origin, refused.id, past_limit, ["refused"], timeout=60) == "refused"
    evidence = origin.messaging.status(ADMIN, refused.id).evidence
    refusal = [e for e in evidence if e.kind == "refused"]
    assert [(e.issuer, e.reason_code) for e in refusal] == [(past_limit, "hop_limit_exceeded")]
    # the last relay before the destination stored the path with each node once
    with line[NAMES[DEFAULT_LIMIT - 1]].db.read() as conn:
        path = conn.execute(
            select(tables.deliveries.c.path).where(tables.deliveries.c.message_id == refused.id)
        ).scalar_one()
    assert orjson.loads(path) == NAMES[: DEFAULT_LIMIT - 1]
