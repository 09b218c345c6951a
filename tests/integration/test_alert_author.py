"""The four-eyes review's author is the message record's (``messages.author``, issue 14 item
5), not a lookup in the audit chain: kept where the message is stored, refused its own alert,
and believed over the chain."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from secureline.services.alert_review import OWN_ALERT
from secureline.services.errors import Forbidden
from secureline.store import tables
from tests.integration.support import (
    Federation,
    delivery_state,
    message_row,
    officer,
    sample,
    wait_state,
)


def _alert(seed: int) -> dict[str, Any]:
    return sample("ops@europol", "counter-terrorism", seed=seed, kind="alert", alert="red")


def test_the_author_cannot_approve_their_own_held_alert_and_a_second_officer_can(
    pair: Federation,
) -> None:
    interpol = pair["interpol"]
    author, reviewer = officer(interpol), officer(interpol, who="reviewer")
    sent = interpol.messaging.submit(author, _alert(91))
    assert sent.held_for_review
    assert message_row(interpol, sent.id).author == author.username
    [held] = interpol.messaging.held_alerts(reviewer)
    assert (held.id, held.author) == (sent.id, author.username)

    with pytest.raises(Forbidden) as own:
        interpol.messaging.approve_alert(author, sent.id)
    assert own.value.code == OWN_ALERT
    assert delivery_state(interpol, sent.id, "europol") == "held"

    interpol.messaging.approve_alert(reviewer, sent.id)
    assert delivery_state(interpol, sent.id, "europol") != "held"


def test_the_review_believes_the_message_record_not_the_audit_chain(pair: Federation) -> None:
    """The chain says ``author`` composed it; the record says ``other``: ``other`` is the one
    refused, so the review reads the record."""
    interpol = pair["interpol"]
    author, other = officer(interpol), officer(interpol, who="other")
    sent = interpol.messaging.submit(author, _alert(92))
    with interpol.db.transaction() as conn:
        conn.execute(
            update(tables.messages)
            .where(tables.messages.c.id == sent.id)
            .values(author=other.username)
        )
    assert [h.author for h in interpol.messaging.held_alerts(author)] == [other.username]
    with pytest.raises(Forbidden) as own:
        interpol.messaging.reject_alert(other, sent.id, "not mine to judge")
    assert own.value.code == OWN_ALERT
    assert delivery_state(interpol, sent.id, "europol") == "held"


def test_a_message_from_another_node_has_no_author(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = europol.messaging.submit(officer(europol), sample("cc@interpol", "cyber-crime", seed=93))
    wait_state(europol, sent.id, "interpol", ["delivered"])
    assert message_row(europol, sent.id).author == officer(europol).username
    assert message_row(interpol, sent.id).author is None
