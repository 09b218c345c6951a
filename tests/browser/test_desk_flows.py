"""The desk's working flows in a real browser (Debian's chromium driven by Playwright): a new
message appears in the inbox without a reload; an H3 message gates its content; reply;
request a permission and the provider grants it; an alert waits for the second officer; no
console error and no CSP violation on any page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyotp
import pytest

from secureline.store import grants as grant_store
from tests.browser.test_desk_browser import CHROMIUM, SCREENSHOTS
from tests.integration.support import Federation, officer, sample, wait_for, wait_state
from tests.support.desk import PASSWORD, desk_user

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make setup installs chromium"),
    pytest.mark.skipif(
        bool(os.environ.get("SECURELINE_TEST_DATABASE_URL")),
        reason="the browser drives the same pages on either store: run once, on SQLite",
    ),
]


def test_gate_reply_permission_and_alert_review_in_the_browser(
    pair: Federation, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = SCREENSHOTS if os.environ.get("SECURELINE_DESK_SCREENSHOTS") else tmp_path
    interpol, europol = pair["interpol"], pair["europol"]
    h2 = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", seed=71, handling="H2", subject="Vessel seen")
    )
    h3 = interpol.messaging.submit(
        officer(interpol),
        sample(
            "ops@europol",
            seed=72,
            handling="H3",
            handling_conditions="Not to be shown to the suspect's employer.",
            subject="Gated report",
            body="the gated body",
        ),
    )
    for sent in (h2, h3):
        wait_state(interpol, sent.id, "europol", ["delivered"])
    europol.accounts.add_unit("test", "other")
    keys = {
        "ops-reader": desk_user(europol, "ops", "ops-reader"),
        "cc-provider": desk_user(interpol, "cc", "cc-provider"),
        "cc-second": desk_user(interpol, "cc", "cc-second"),
    }
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

            def sign_in(node: Any, user: str) -> None:
                page.goto(f"http://127.0.0.1:{node.api_port}/desk/")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.fill("#code", pyotp.TOTP(keys[user]).now())
                page.click("button[type=submit]")
                page.wait_for_url("**/desk/inbox")

            def sign_out() -> None:
                page.click("form.inline button")
                page.wait_for_url("**/desk/sign-in**")

            # a message sent while the inbox is open appears without a reload (htmx polling)
            sign_in(europol, "ops-reader")
            expect(page.locator("#unread")).to_have_text("2 unread")
            live = interpol.messaging.submit(
                officer(interpol), sample("ops@europol", seed=73, subject="Arrived live")
            )
            wait_state(interpol, live.id, "europol", ["delivered"])
            expect(page.locator("#inbox-live")).to_contain_text("Arrived live", timeout=15_000)
            expect(page.locator("#unread")).to_have_text("3 unread")

            # an H3 message shows its content only once its conditions are acknowledged
            page.click("text=Gated report")
            page.wait_for_url(f"**/desk/messages/{h3.id}")
            expect(page.locator(".gate")).to_contain_text("suspect's employer")
            assert page.locator("#body").count() == 0
            page.click("#acknowledge")
            expect(page.locator("#body")).to_contain_text("the gated body")

            # reply: compose comes filled in, the reply joins the thread
            page.goto(f"http://127.0.0.1:{europol.api_port}/desk/messages/{h2.id}")
            page.click("#reply")
            page.wait_for_url("**/desk/compose?**")
            assert page.input_value("#reply_to") == h2.id
            assert page.input_value("#to") == "cc@interpol"
            page.fill("#body", "Thank you, we are on it.")
            page.click("#send")
            page.wait_for_url("**/desk/messages/**")
            reply_id = page.url.split("/desk/messages/")[1]
            wait_state(europol, reply_id, "interpol", ["delivered", "read"])
            page.click("#thread-link")
            page.wait_for_url("**/thread")
            expect(page.locator("#thread li")).to_have_count(2)
            page.screenshot(path=str(shots / "thread.png"), full_page=True)

            # ask the provider for a permission on the H2 message
            page.goto(f"http://127.0.0.1:{europol.api_port}/desk/messages/{h2.id}")
            page.click("summary:has-text('Request permission')")
            page.fill("#grantee", "interpol")
            page.fill("#permission-reason", "joint investigation team")
            page.click("#request-permission")
            page.wait_for_url("**/desk/permissions")
            expect(page.locator("#sent")).to_contain_text("pending")
            sign_out()
            wait_for(lambda: interpol.sharing.permission_requests(officer(interpol)))

            # the provider grants it, with a scope and an end date
            sign_in(interpol, "cc-provider")
            page.click("nav >> text=Permissions")
            page.wait_for_url("**/desk/permissions")
            expect(page.locator("#received")).to_contain_text("joint investigation team")
            page.fill("#received input[type=date]", "2027-06-30")
            page.click("#received button.grant")
            page.wait_for_url("**/desk/permissions")
            expect(page.locator("#received")).to_contain_text("granted")
            page.screenshot(path=str(shots / "permissions.png"), full_page=True)

            # an alert to several units waits for a second officer
            page.click("nav >> text=Compose")
            page.fill("#to", "ops@europol, other@europol")
            page.select_option("#kind", "alert")
            page.select_option("#alert", "yellow")
            page.select_option("#crime_area", "counter-terrorism")
            page.fill("#subject", "Missing person")
            page.fill("#purpose", "prevent and combat serious crime")
            page.fill("#body", "Last seen at the port.")
            page.click("#send")
            page.wait_for_url("**/desk/messages/**")
            alert_id = page.url.split("/desk/messages/")[1]
            expect(page.locator("section[aria-label=evidence]")).to_contain_text("held")
            sign_out()
            sign_in(interpol, "cc-second")
            page.click("nav >> text=Alerts")
            page.wait_for_url("**/desk/alerts")
            expect(page.locator("#held")).to_contain_text("Missing person")
            expect(page.locator("#held")).to_contain_text("cc-provider")
            page.screenshot(path=str(shots / "alerts.png"), full_page=True)
            page.click(f"#alert-{alert_id} button.approve")
            page.wait_for_url(f"**/desk/messages/{alert_id}")
            wait_state(interpol, alert_id, "europol", ["delivered", "read"])
            page.reload()
            expect(page.locator("section[aria-label=evidence]")).to_contain_text("delivered")
            page.goto(f"http://127.0.0.1:{interpol.api_port}/desk/retention")
            expect(page.locator("main")).to_contain_text("Purge")
        finally:
            browser.close()
    wait_for(lambda: grant_store.list_grants(europol.db, direction="received"), what="the grant")
    csp = [p for p in problems if "Content Security Policy" in p or "Content-Security" in p]
    assert not csp, csp
    assert not problems, problems
