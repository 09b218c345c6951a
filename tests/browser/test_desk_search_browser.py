"""Search, administration and the data protection officer's page in a real browser (Debian's
chromium driven by Playwright): search finds a message by an entity's name; no console error
and no CSP violation on any of these pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.integration.support import Federation, officer, sample, wait_state
from tests.support.desk import PASSWORD, desk_user

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make setup installs chromium"),
    pytest.mark.skipif(
        bool(os.environ.get("SECURELINE_TEST_DATABASE_URL")),
        reason="the browser drives the same pages on either store: run once, on SQLite",
    ),
]


@pytest.fixture
def chromium() -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            yield page, problems
        finally:
            browser.close()


def _sign_in(page: Any, port: int, user: str, key: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/desk/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#code", pyotp.TOTP(key).now())
    page.click("button[type=submit]")
    page.wait_for_url("**/desk/inbox")


def test_search_finds_a_message_by_an_entitys_name(
    pair: Federation, chromium: tuple[Any, list[str]]
) -> None:
    page, problems = chromium
    interpol, europol = pair["interpol"], pair["europol"]
    draft = sample("ops@europol", subject="Shell companies in the port", data_subjects=["suspect"])
    draft["entities"] = [
        {"id": "p1", "schema": "Person", "properties": {"name": ["Radomir Kettlewell"]}}
    ]
    decoy = sample("ops@europol", seed=9, subject="Nothing to do with it")
    found = interpol.messaging.submit(officer(interpol), draft)
    other = interpol.messaging.submit(officer(interpol), decoy)
    for done in (found, other):
        wait_state(interpol, done.id, "europol", ["delivered"])
    key = desk_user(europol, "ops", "ops-searcher")
    _sign_in(page, europol.api_port, "ops-searcher", key)
    page.click("nav >> text=Search")
    page.wait_for_url("**/desk/search")
    page.fill("#q", "kettlewell radomir")
    page.click("#search")
    page.wait_for_url("**/desk/search?**")
    assert page.inner_text("#total") == "1 found"
    results = page.inner_text("#results")
    assert "Shell companies in the port" in results
    assert "Nothing to do with it" not in results
    page.click("#results >> text=Shell companies in the port")
    page.wait_for_url(f"**/desk/messages/{found.id}")
    assert "Radomir Kettlewell" in page.inner_text("article.entity")
    assert not problems, problems


def test_the_administration_and_data_protection_pages_raise_no_csp_violation(
    pair: Federation, chromium: tuple[Any, list[str]]
) -> None:
    page, problems = chromium
    interpol = pair["interpol"]
    admin_key = desk_user(interpol, "cc", "cc-admin-browser", "admin")
    dpo_key = desk_user(interpol, "cc", "cc-dpo-browser", "dpo")
    _sign_in(page, interpol.api_port, "cc-admin-browser", admin_key)
    page.click("nav >> text=Administration")
    page.wait_for_url("**/desk/admin")
    assert "europol" in page.inner_text("#links")
    page.click("#users >> text=API tokens >> nth=0")
    page.wait_for_url("**/tokens")
    page.click("button[type=submit] >> text=Sign out")
    page.wait_for_url("**/desk/sign-in**")
    _sign_in(page, interpol.api_port, "cc-dpo-browser", dpo_key)
    page.click("nav >> text=Data protection")
    page.wait_for_url("**/desk/dpo")
    page.select_option("#action", "login.success")
    page.click("#filter")
    page.wait_for_url("**/desk/dpo?**")
    assert "cc-dpo-browser" in page.inner_text("#records")
    page.click("#verify")
    page.wait_for_url("**/desk/dpo/verify")
    assert page.locator("#verified").count() == 1
    assert not problems, problems
