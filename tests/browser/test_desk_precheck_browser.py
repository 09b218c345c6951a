"""The check before sending in a real browser (Debian's chromium driven by Playwright): as
the compose form is filled in, the desk says what the destination's agreement would refuse,
before "Send" is pressed and without sending anything; fixing the field clears it, and the
message then leaves. No console error and no CSP violation (htmx posts the fragment)."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest

from tests.browser.test_desk_browser import CHROMIUM
from tests.integration.support import Federation, officer, wait_state
from tests.support.desk import PASSWORD, desk_user

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make setup installs chromium"),
    pytest.mark.skipif(
        bool(os.environ.get("SECURELINE_TEST_DATABASE_URL")),
        reason="the browser drives the same pages on either store: run once, on SQLite",
    ),
]


def test_compose_warns_before_sending_what_the_agreement_would_refuse(pair: Federation) -> None:
    from playwright.sync_api import expect, sync_playwright

    interpol = pair["interpol"]
    key = desk_user(interpol, "cc", "cc-precheck")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(20_000)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(f"http://127.0.0.1:{interpol.api_port}/desk/")
            page.fill("#username", "cc-precheck")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.fill("#code", pyotp.TOTP(key).now())
            page.click("button[type=submit]")
            page.wait_for_url("**/desk/inbox")
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
        finally:
            browser.close()
    assert not problems, problems
