"""A deletion or correction that overtakes its original (issue #13, section 1 item 6).

Two routes, or a retry after a restart, can bring the provider's control message to a
destination before the message it names. It used to be refused for good (`unknown_message`),
and the original, arriving later, stayed. Now it is held and applied when the original arrives.
The sender is driven batch by batch (``send_once``) and the original is held back in its queue,
so the order of arrival is the test's to choose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select, update

from secureline.domain.audit import AuditAction
from secureline.node.compose import Node
from secureline.store import tables
from secureline.store.held_controls import held_controls
from tests.integration.support import (
    Federation,
    delivery_state,
    message_row,
    officer,
    sample,
    wait_state,
)


def _hold_back(node: Node, message_id: str, *, until: datetime) -> None:
    with node.db.transaction() as conn:
        conn.execute(
            update(tables.deliveries)
            .where(tables.deliveries.c.message_id == message_id)
            .values(not_before=until)
        )


def _outcomes(node: Node, message_id: str, action: str) -> list[str]:
    return [r.outcome for r in node.audit.records_for_object(message_id) if r.action == action]


def _quiet(fed: Federation) -> Node:
    """interpol with its line threads stopped: the test pushes its batches itself."""
    interpol = fed["interpol"]
    for sender in interpol.senders.values():
        sender.stop()
    return interpol


def _send_original_and_control_first(fed: Federation, make_control: str) -> str:
    interpol, europol = _quiet(fed), fed["europol"]
    original = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=31)).id
    if make_control == "deletion":
        control = interpol.sharing.retract(officer(interpol), original, "sent to the wrong unit")
    else:
        control = interpol.sharing.correct(
            officer(interpol), original, "wrong vessel name", body="Corrected: two skiffs"
        )
    _hold_back(interpol, original, until=datetime.now(UTC) + timedelta(hours=1))
    sender = interpol.senders["europol"]

    assert sender.send_once()  # the control alone
    assert delivery_state(interpol, control.id, "europol") == "delivered"
    assert message_row(europol, original) is None
    with europol.db.read() as conn:
        held = conn.execute(select(held_controls)).all()
    assert [(h.control_id, h.original_id, h.settled_at) for h in held] == [
        (control.id, original, None)
    ]

    _hold_back(interpol, original, until=datetime.now(UTC))
    assert sender.send_once()  # then the original
    assert delivery_state(interpol, original, "europol") == "delivered"
    return original


def test_a_deletion_that_overtakes_its_original_deletes_it_on_arrival(pair: Federation) -> None:
    europol = pair["europol"]
    original = _send_original_and_control_first(pair, "deletion")

    row = message_row(europol, original)
    assert row is not None
    assert row.content_json is None  # purged on arrival; the tombstone says why
    assert _outcomes(europol, original, AuditAction.MESSAGE_PURGED) == ["held", "applied"]
    opened = europol.messaging.open(officer(europol), original)
    assert opened.content is None
    with europol.db.read() as conn:
        settled = conn.execute(select(held_controls.c.settled_at)).scalar_one()
    assert settled is not None


def test_a_correction_that_overtakes_its_original_corrects_it_on_arrival(
    pair: Federation,
) -> None:
    europol = pair["europol"]
    original = _send_original_and_control_first(pair, "correction")

    opened = europol.messaging.open(officer(europol), original)
    assert opened.content is not None
    assert opened.content["body"] == "Corrected: two skiffs"
    assert _outcomes(europol, original, AuditAction.MESSAGE_CORRECTED) == ["held", "applied"]
    corrected = orjson.loads(message_row(europol, original).content_json)
    assert corrected["body"] == "Corrected: two skiffs"


def test_a_control_naming_no_message_still_needs_its_reply_to(pair: Federation) -> None:
    """What stays refused: a control whose original is known here but not received (an
    outgoing message of this node) cannot touch it."""
    interpol, europol = pair["interpol"], pair["europol"]
    mine = europol.messaging.submit(officer(europol), sample("cc@interpol", seed=32)).id
    spoof = interpol.messaging.submit(
        officer(interpol),
        {
            **sample("ops@europol", seed=33),
            "kind": "deletion",
            "reply_to": mine,
            "body": "delete it",
            "entities": [],
            "data_subjects": [],
        },
    )
    wait_state(interpol, spoof.id, "europol", ["refused"])
    status = interpol.messaging.status(officer(interpol), spoof.id)
    assert [d.reason_code for d in status.deliveries] == ["unknown_message"]
