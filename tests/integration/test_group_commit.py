"""Concurrent single submissions over real HTTP are committed together (group commit) and
each still gets its own answer: its own id, its own refusal, its own idempotent replay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

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
