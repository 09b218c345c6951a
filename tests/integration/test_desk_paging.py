"""Paging of the desk's long lists over real HTTP on a running pair (docs/desk.md, Paging):
the inbox, sent and search results 50 a page with "Older" and "Newer" links (keyset, not
offset), the API's search by ``cursor`` and ``next_cursor``, the DPO's records by seq; a
malformed cursor refused as ``invalid_input``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from secureline.node.compose import Node
from tests.integration.support import Federation, officer, sample, wait_for
from tests.support.desk import client, close_clients, desk_user, sign_in

SENT = 53  # a page of 50 and a page of 3
_LINK = re.compile(r'href="(/desk/[a-z]+\?[^"]*)" id="(older|newer)"')
_ROW = re.compile(r'<a href="/desk/messages/(msg-[^"]+)">')


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture
def batch(pair: Federation) -> list[str]:
    interpol, europol = pair["interpol"], pair["europol"]
    drafts = [sample("ops@europol", seed=300 + i, subject=f"Batch {i}") for i in range(SENT)]
    done = interpol.messaging.submit_many(officer(interpol), drafts)
    wait_for(
        lambda: len(europol.messaging.inbox(officer(europol), 0, 500)) >= SENT,
        timeout=60,
        what="the batch delivered",
    )
    return [d.id for d in done]


def _desk(node: Node, unit: str, name: str, role: str = "officer") -> httpx.Client:
    browser = client(node)
    assert sign_in(browser, name, desk_user(node, unit, name, role)).status_code == 303
    return browser


def _page(browser: httpx.Client, url: str) -> tuple[list[str], dict[str, str]]:
    answer = browser.get(url)
    assert answer.status_code == 200, answer.text
    links = {which: unescape(href) for href, which in _LINK.findall(answer.text)}
    return _ROW.findall(answer.text), links


@pytest.mark.parametrize("path", ["/desk/inbox", "/desk/search?q=batch"])
def test_the_inbox_and_search_walk_older_and_newer(
    pair: Federation, batch: list[str], path: str
) -> None:
    ops = _desk(pair["europol"], "ops", "ops-pages")
    first, links = _page(ops, path)
    assert len(first) == 50
    assert "newer" not in links
    assert first[0] == batch[-1]  # the newest first
    second, links = _page(ops, links["older"])
    assert "older" not in links
    assert len(second) == SENT - 50
    assert set(first) | set(second) == set(batch)
    again, links = _page(ops, links["newer"])
    assert again == first
    assert "newer" not in links


def test_the_sent_list_pages_by_time_and_id(pair: Federation, batch: list[str]) -> None:
    cc = _desk(pair["interpol"], "cc", "cc-pages")
    first, links = _page(cc, "/desk/sent")
    assert len(first) == 50
    assert re.fullmatch(r"/desk/sent\?before=[0-9]+\.msg-[a-z0-9-]+", links["older"])
    second, links = _page(cc, links["older"])
    assert len(second) == SENT - 50
    assert not set(first) & set(second)
    assert _page(cc, links["newer"])[0] == first


def test_a_malformed_cursor_is_refused(pair: Federation, batch: list[str]) -> None:
    ops = _desk(pair["europol"], "ops", "ops-cursor")
    for url in (
        "/desk/inbox?before=abc",
        "/desk/inbox?before=1&after=2",
        "/desk/sent?before=12",
    ):
        answer = ops.get(url)
        assert answer.status_code == 422, url
        assert "invalid_input" in answer.text
    refused = ops.get("/desk/search", params={"q": "batch", "after": "-1"})
    assert refused.status_code == 422
    assert "<code>after</code>" in refused.text
    # the live fragment keeps the page it was given
    live = ops.get("/desk/inbox/live", params={"before": "1"})
    assert live.status_code == 200
    assert not _ROW.findall(live.text)


def test_the_api_search_pages_by_cursor(pair: Federation, batch: list[str]) -> None:
    europol = pair["europol"]
    europol.accounts.add_user("test", "ops-api-pages", "ops", "system", "a long enough password")
    token = europol.accounts.create_token("test", "ops-api-pages")
    api = client(europol, headers={"Authorization": f"Bearer {token}"})
    seen: list[str] = []
    params: dict[str, str | int] = {"q": "batch", "limit": 20}
    while True:
        body = api.get("/api/v1/search", params=params).json()
        seen += [i["id"] for i in body["items"]]
        assert body["total"] == SENT
        if body["next_cursor"] is None:
            break
        assert body["next_cursor"] == body["items"][-1]["cursor"]
        params["cursor"] = body["next_cursor"]
    assert len(seen) == SENT
    assert set(seen) == set(batch)
    both = api.get("/api/v1/search", params={"q": "batch", "cursor": 5, "offset": 5})
    assert both.status_code == 422
    assert both.json()["error"]["field"] == "offset"
    assert api.get("/api/v1/search", params={"cursor": -1}).status_code == 422


def test_the_dpo_pages_the_audit_chain_by_seq(pair: Federation, batch: list[str]) -> None:
    dpo = _desk(pair["interpol"], "cc", "cc-dpo-pages", "dpo")
    answer = dpo.get("/desk/dpo", params={"action": "message.created"})
    seqs = [int(s) for s in re.findall(r"<tr><td>([0-9]+)</td>", answer.text)]
    assert len(seqs) == SENT
    assert seqs == sorted(seqs, reverse=True)
    older = dpo.get("/desk/dpo", params={"action": "message.created", "before": seqs[9]})
    shown = [int(s) for s in re.findall(r"<tr><td>([0-9]+)</td>", older.text)]
    assert shown == seqs[10:]
    assert 'id="newer"' in older.text
    assert 'id="older"' not in older.text
