"""Paging in a real browser (Debian's chromium driven by Playwright): the inbox walks to its
second page by its "Older" link and back by "Newer", while the live list keeps polling the
page it shows; no console error and no CSP violation."""

from __future__ import annotations

from typing import Any

from tests.browser.test_desk_search_browser import _sign_in, chromium, pytestmark
from tests.integration.support import Federation, officer, sample, wait_for
from tests.support.desk import desk_user

__all__ = ["chromium", "pytestmark"]  # the browser fixture and the skip marks, shared

SENT = 52  # a page of 50, then 2


def test_the_inbox_walks_to_page_two_and_back(
    pair: Federation, chromium: tuple[Any, list[str]]
) -> None:
    from playwright.sync_api import expect

    interpol, europol = pair["interpol"], pair["europol"]
    drafts = [sample("ops@europol", seed=400 + i, subject=f"Paged {i:02d}") for i in range(SENT)]
    interpol.messaging.submit_many(officer(interpol), drafts)
    wait_for(
        lambda: len(europol.messaging.inbox(officer(europol), 0, 500)) >= SENT,
        timeout=60,
        what="the batch delivered",
    )
    key = desk_user(europol, "ops", "ops-pager")
    page, problems = chromium
    page.set_default_timeout(20_000)
    _sign_in(page, europol.api_port, "ops-pager", key)
    rows = page.locator("#inbox-live tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(f"Paged {SENT - 1:02d}")
    assert page.locator("#newer").count() == 0
    page.click("#older")
    page.wait_for_url("**/desk/inbox?before=*")
    expect(rows).to_have_count(SENT - 50)
    expect(rows.first).to_contain_text("Paged 01")
    expect(rows.last).to_contain_text("Paged 00")
    assert page.locator("#older").count() == 0
    # the live poll (every 5 s) swaps in the same page, not the newest
    page.wait_for_timeout(6_000)
    expect(rows).to_have_count(SENT - 50)
    expect(page.locator("#unread")).to_have_text(f"{SENT} unread")
    page.click("#newer")
    page.wait_for_url("**/desk/inbox?after=*")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(f"Paged {SENT - 1:02d}")
    assert not problems, problems
