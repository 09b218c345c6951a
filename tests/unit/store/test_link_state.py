"""The link's state in the peers table, and the poison search's batch sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from secureline.store import peers as peer_store
from secureline.store.database import Database
from secureline.store.line import deliveries as delivery_store


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(0, 500), (2, 500), (3, 250), (4, 125), (10, 1), (60, 1)],
)
def test_a_failing_batch_is_halved_then_halved_again(attempts: int, expected: int) -> None:
    assert delivery_store.split_limit(500, attempts, split_after=3) == expected


def test_without_a_threshold_the_batch_is_never_split() -> None:
    assert delivery_store.split_limit(500, 50, split_after=0) == 500


def _peer(database: Database, now: datetime) -> None:
    row = peer_store.PeerRow(
        name="europol",
        organisation="Europol",
        direct=True,
        line_url="https://127.0.0.1:1",
        ca_pem="ca",
        ca_fingerprint="fp",
        signing_kid="europol/s",
        signing_key="k",
        encryption_kid="europol/e",
        encryption_key="k",
    )
    with database.transaction() as conn:
        peer_store.add_peer(conn, row, now)


def test_failures_count_and_pace_the_link_until_it_is_up(database: Database) -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    _peer(database, now)
    assert peer_store.link_status(database, "europol") == (None, None)

    first = peer_store.record_attempt(
        database, "europol", now, state="down", error="refused", delay=lambda n: n * 1.0
    )
    second = peer_store.record_attempt(
        database, "europol", now, state="down", error="refused", delay=lambda n: n * 1.0
    )
    assert (first.previous, first.state, first.failed_attempts) == (None, "down", 1)
    assert (second.previous, second.failed_attempts) == ("down", 2)
    state, not_before = peer_store.link_status(database, "europol")
    assert state == "down"
    assert not_before is not None
    assert not_before.replace(tzinfo=UTC) == now + timedelta(seconds=2)

    up = peer_store.record_attempt(database, "europol", now, state="up")
    assert (up.previous, up.failed_attempts, up.next_attempt_at) == ("down", 0, None)
    (row,) = peer_store.list_peers(database)
    assert (row.link_state, row.failed_attempts, row.last_error) == ("up", 0, None)
    assert row.last_contact_at is not None
