"""Idempotent submission (issue #13, section 2): a retry with the same key creates nothing new."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from secureline.node.compose import Node
from secureline.services.errors import Conflict, InvalidInput
from secureline.services.messaging import Messaging
from secureline.store import tables
from tests.integration.support import (
    PAIR,
    Federation,
    NodeProcess,
    count_rows,
    officer,
    open_store,
    sample,
    wait_state,
)


def _messages(fed: Federation) -> int:
    return count_rows(fed["interpol"], tables.messages)


def test_a_retry_with_the_same_key_returns_the_first_message(pair: Federation) -> None:
    interpol = pair["interpol"]
    draft = sample("ops@europol", seed=11)
    first = interpol.messaging.submit_many(officer(interpol), [draft], keys=["order-1"])
    again = interpol.messaging.submit_many(officer(interpol), [draft], keys=["order-1"])
    assert again == first
    assert _messages(pair) == 1
    wait_state(interpol, first[0].id, "europol", ["delivered"])


def test_the_key_outlives_a_restart(pair: Federation) -> None:
    draft = sample("ops@europol", seed=12)
    first = pair["interpol"].messaging.submit_many(officer("interpol"), [draft], keys=["k"])
    interpol = pair.restart("interpol")
    again = interpol.messaging.submit_many(officer(interpol), [draft], keys=["k"])
    assert again == first
    assert _messages(pair) == 1


def test_keys_belong_to_their_user(pair: Federation) -> None:
    interpol = pair["interpol"]
    draft = sample("ops@europol", seed=13)
    mine = interpol.messaging.submit_many(officer(interpol), [draft], keys=["k"])
    theirs = interpol.messaging.submit_many(officer(interpol, who="other"), [draft], keys=["k"])
    assert mine[0].id != theirs[0].id
    assert _messages(pair) == 2


def test_a_key_reused_for_another_request_is_a_conflict(pair: Federation) -> None:
    interpol = pair["interpol"]
    interpol.messaging.submit_many(officer(interpol), [sample("ops@europol", seed=14)], keys=["k"])
    with pytest.raises(Conflict, match="'k' was used for a different request") as raised:
        interpol.messaging.submit_many(
            officer(interpol), [sample("ops@europol", seed=15)], keys=["k"]
        )
    assert raised.value.code == "idempotency_key_reused"
    assert _messages(pair) == 1


def test_a_batch_replays_its_stored_drafts_and_sends_the_others(pair: Federation) -> None:
    interpol = pair["interpol"]
    a, b, c = (sample("ops@europol", seed=s) for s in (16, 17, 18))
    (first,) = interpol.messaging.submit_many(officer(interpol), [b], keys=["b"])
    results = interpol.messaging.submit_many(officer(interpol), [a, b, c], keys=["a", "b", None])
    assert results[1] == first
    assert len({r.id for r in results}) == 3
    assert _messages(pair) == 3


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        (["same", "same"], "duplicate_idempotency_key"),
        (["bad\nkey", None], "invalid"),
        (["x" * 201, None], "invalid"),
    ],
)
def test_bad_keys_are_refused_before_anything_is_stored(
    pair: Federation, keys: list[str | None], code: str
) -> None:
    interpol = pair["interpol"]
    drafts = [sample("ops@europol", seed=19), sample("ops@europol", seed=20)]
    with pytest.raises(InvalidInput) as raised:
        interpol.messaging.submit_many(officer(interpol), drafts, keys=keys)
    assert raised.value.code == code
    assert _messages(pair) == 0


def test_concurrent_retries_create_one_message(pair: Federation) -> None:
    interpol = pair["interpol"]
    messaging: Messaging = interpol.messaging
    draft = sample("ops@europol", seed=21)
    results: list[str] = []
    start = threading.Barrier(4)

    def submit() -> None:
        start.wait()
        results.append(messaging.submit_many(officer(interpol), [draft], keys=["race"])[0].id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert len(set(results)) == 1
    assert _messages(pair) == 1


# --- through the API of a real `secureline run`, killed after answering -------------------


def test_the_api_answers_a_retry_after_a_kill_with_the_first_message(
    federation_factory: Callable[..., Federation],
) -> None:
    """A national system's answer is lost when the node dies after its commit; the node comes
    back and the system retries with the same Idempotency-Key: one message, the same id."""
    fed = federation_factory(PAIR, start=())
    setup = Node(fed.dirs["interpol"])
    setup.accounts.add_user("test", "nat", "cc", "system", "correct horse battery")
    token = setup.accounts.create_token("test", "nat")
    setup.db.dispose()
    interpol = NodeProcess(fed.dirs["interpol"])
    url = f"http://127.0.0.1:{interpol.config.api.port}/api/v1/messages"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "case-77/1"}
    draft = sample("ops@europol", seed=22)
    interpol.start()
    try:
        first = httpx.post(url, json=draft, headers=headers, timeout=30)
        assert first.status_code == 201, first.text
        interpol.kill()  # as if between the commit and the answer's last byte
        interpol.start()
        again = httpx.post(url, json=draft, headers=headers, timeout=30)
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]
        other = httpx.post(url, json=sample("ops@europol", seed=23), headers=headers, timeout=30)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        bad = httpx.post(
            url, json=draft, headers={**headers, "Idempotency-Key": "x" * 201}, timeout=30
        )
        assert bad.status_code == 422
    finally:
        interpol.stop()
    store = open_store(fed.dirs["interpol"])
    try:
        with store.read() as conn:
            count = conn.execute(select(func.count()).select_from(tables.messages)).scalar_one()
    finally:
        store.dispose()
    assert count == 1
