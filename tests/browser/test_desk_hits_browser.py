"""The hits page in a real browser (Debian's chromium driven by Playwright): an officer
reaches it from the navigation, sees the received name beside the one held in another
script with the reasons, dismisses it with a note; no console error, no CSP violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.test_desk_search_browser import _sign_in, chromium, pytestmark
from tests.integration.hits_support import PUTIN_HELD, PUTIN_SENT, checked, hold, send
from tests.integration.support import Federation
from tests.support.desk import desk_user

__all__ = ["chromium", "pytestmark"]


def test_an_officer_dismisses_a_hit_with_a_note(
    pair: Federation, chromium: tuple[Any, list[str]], tmp_path: Path
) -> None:
    page, problems = chromium
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT)
    checked(europol, message_id)
    key = desk_user(europol, "ops", "ops-hits-browser")
    _sign_in(page, europol.api_port, "ops-hits-browser", key)
    page.click("nav >> text=Hits")
    page.wait_for_url("**/desk/hits")
    card = page.locator("#hits li").first
    assert "Vladimir Putin" in card.inner_text()
    assert "Владимир Владимирович Путин" in card.inner_text()
    assert "birthDate" in card.locator("table.reasons").inner_text()
    card.locator("input[name=note]").fill("another man, born elsewhere")
    card.locator("button >> text=Dismiss").click()
    page.wait_for_url("**/desk/hits")
    assert "dismissed by ops-hits-browser" in page.inner_text("#hits")
    assert "another man, born elsewhere" in page.inner_text("#hits")
    assert page.locator("#hits button >> text=Dismiss").count() == 0
    assert not problems, problems
