"""The check before sending in a real browser (Debian's chromium driven by Playwright): as
the compose form is filled in, the desk says what the destination's agreement would refuse,
before "Send" is pressed and without sending anything; fixing the field clears it, and the
message then leaves. No console error and no CSP violation (htmx posts the fragment)."""

from __future__ import annotations

from typing import Any

from tests.browser.test_desk_search_browser import _sign_in, chromium, pytestmark
from tests.integration.support import Federation, officer, wait_state
from tests.support.desk import desk_user

__all__ = ["chromium", "pytestmark"]  # the browser fixture and the skip marks, shared


def test_compose_warns_before_sending_what_the_agreement_would_refuse(
    pair: Federation, chromium: tuple[Any, list[str]]
) -> None:
    from playwright.sync_api import expect

    interpol = pair["interpol"]
    key = desk_user(interpol, "cc", "cc-precheck")
    page, problems = chromium
    page.set_default_timeout(20_000)
    _sign_in(page, interpol.api_port, "cc-precheck", key)
    page.click("nav >> text=Compose")
    page.wait_for_url("**/desk/compose")
    page.fill("#subject", "Rifles in a container")
    page.fill("#purpose", "prevent and combat serious crime")
    page.fill("#body", "Serial numbers attached.")
    page.fill("#to", "ops@europol")
    page.select_option("#crime_area", "firearms")  # not in the pair's agreement
    refusal = page.locator("#precheck-refusal")
    expect(refusal).to_contain_text("crime_area_not_allowed")
    expect(refusal).to_contain_text("would refuse")
    assert page.url.endswith("/desk/compose")  # still composing: nothing was posted
    assert interpol.messaging.sent(officer(interpol)) == []
    page.select_option("#crime_area", "cyber-crime")
    expect(page.locator("#precheck-ok")).to_contain_text("europol")
    assert refusal.count() == 0
    page.click("#send")
    page.wait_for_url("**/desk/messages/**")
    message_id = page.url.split("/desk/messages/")[1]
    wait_state(interpol, message_id, "europol", ["delivered", "read"])
    assert not problems, problems
