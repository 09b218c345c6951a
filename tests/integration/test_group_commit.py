"""Concurrent single submissions over real HTTP are committed together (group commit) and
each still gets its own answer: its own id, its own refusal, its own idempotent replay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from secureline.domain.audit import AuditAction
from secureline.store.audit import audit_records
from secureline.store.tables import messages
from tests.integration.support import Federation, count_rows, sample, wait_state

CLIENTS = 12
PER_CLIENT = 8


def _client(port: int, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_concurrent_submissions_each_get_their_own_answer(pair: Federation) -> None:
    node = pair["interpol"]
    node.accounts.add_user("test", "natsys", "cc", "system", "correct horse battery")
    token = node.accounts.create_token("test", "natsys")
    # every client sends its own drafts, one of them refused (an area outside the
    # agreement), and one key that all clients share: it must make exactly one message
    drafts = [
        [sample("ops@europol", seed=100 * c + i) for i in range(PER_CLIENT)] for c in range(CLIENTS)
    ]
    refused = sample("ops@europol", area="environmental-crime", seed=9)

    def run(c: int) -> list[tuple[int, str]]:
        answers = []
        with _client(node.api_port, token) as client:
            for i, draft in enumerate(drafts[c]):
                key = "shared-key" if i == 0 else f"c{c}-i{i}"
                body = drafts[0][0] if i == 0 else draft
                r = client.post("/api/v1/messages", json=body, headers={"Idempotency-Key": key})
                answers.append((r.status_code, r.json().get("id", "")))
            r = client.post("/api/v1/messages", json=refused)
            answers.append((r.status_code, r.json()["error"]["reasons"][0]["code"]))
        return answers

    before = count_rows(node, messages)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(run, range(CLIENTS)))

    (shared,) = {answers[0] for answers in results}
    assert shared[0] == 201, shared
    for answers in results:
        assert all(status == 201 for status, _ in answers[1:-1]), answers
        assert answers[-1] == (403, "crime_area_not_allowed"), answers[-1]
    ids = [mid for answers in results for _, mid in answers[1:-1]]
    assert len(set(ids)) == len(ids) == CLIENTS * (PER_CLIENT - 1)
    assert count_rows(node, messages) - before == len(ids) + 1
    wait_state(node, ids[-1], "europol", "delivered")


def test_a_refused_draft_shares_its_commit_and_sinks_no_other(pair: Federation) -> None:
    """The group commit is one batch submission: a refused draft is answered from the
    transaction that stores the others (its refusal audited in it), not retried alone, and
    every draft accepted with it is stored and delivered."""
    node = pair["interpol"]
    node.accounts.add_user("test", "natsys2", "cc", "system", "correct horse battery")
    token = node.accounts.create_token("test", "natsys2")
    rounds = 6

    def run(c: int) -> list[tuple[int, str]]:
        answers = []
        with _client(node.api_port, token) as client:
            for i in range(rounds):
                if i % 3 == 1:  # an area outside the agreement: refused by the rules
                    body = sample("ops@europol", area="environmental-crime", seed=1000 * c + i)
                else:
                    body = sample("ops@europol", seed=1000 * c + i)
                r = client.post("/api/v1/messages", json=body)
                got = r.json()
                answers.append((r.status_code, got.get("id") or got["error"]["reasons"][0]["code"]))
        return answers

    before = count_rows(node, messages)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(run, range(CLIENTS)))

    accepted = []
    for answers in results:
        for i, (status, what) in enumerate(answers):
            if i % 3 == 1:
                assert (status, what) == (403, "crime_area_not_allowed")
            else:
                assert status == 201, (status, what)
                accepted.append(what)
    assert len(set(accepted)) == len(accepted) == CLIENTS * (rounds - rounds // 3)
    assert count_rows(node, messages) - before == len(accepted)
    # One transaction's audit records share their time: a refusal recorded at the time of
    # messages created was answered from a commit it shared (the item-by-item retry of the
    # old group commit recorded each refusal in a transaction of its own).
    with node.db.read() as conn:
        rows = conn.execute(
            select(audit_records.c.action, audit_records.c.at).where(
                audit_records.c.actor == "natsys2"
            )
        ).all()
    created = {at for action, at in rows if action == AuditAction.MESSAGE_CREATED.value}
    refused = [at for action, at in rows if action == AuditAction.MESSAGE_REFUSED.value]
    assert len(refused) == CLIENTS * (rounds // 3)
    assert any(at in created for at in refused), "no refused draft shared a commit"
    for message_id in accepted[-3:]:
        wait_state(node, message_id, "europol", "delivered")
