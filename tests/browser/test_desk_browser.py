"""The desk in a real browser (Debian's chromium driven by Playwright): sign in with TOTP,
compose and send to the peer node, see it in sent and delivered, read it at the peer; no
console error and no CSP violation on any page. With ``SECURELINE_DESK_SCREENSHOTS=1`` it
saves the README's screenshots to docs/screenshots/ (otherwise to the test's own directory,
so that a test run leaves the repository as it was)."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest

from tests.integration.support import Federation, officer, sample, wait_state
from tests.support.desk import PASSWORD, desk_user

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make setup installs chromium"),
    pytest.mark.skipif(
        bool(os.environ.get("SECURELINE_TEST_DATABASE_URL")),
        reason="the browser drives the same pages on either store: run once, on SQLite",
    ),
]


def test_sign_in_compose_send_and_read_across_the_pair(pair: Federation, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    vendor = Path(__file__).resolve().parents[2] / "src/secureline/interfaces/desk/static/vendor"
    assert (vendor / "htmx.min.js").exists(), "run make setup: it installs the desk's assets"
    shots = SCREENSHOTS if os.environ.get("SECURELINE_DESK_SCREENSHOTS") else tmp_path
    interpol, europol = pair["interpol"], pair["europol"]
    extras = []
    for seed, handling in ((7, "H2"), (8, "H3")):  # the inbox holds more than our message
        extra = sample("ops@europol", seed=seed, handling=handling, kind="request")
        if handling == "H3":
            extra["handling_conditions"] = "Not to be shown to the suspect's employer."
        done = interpol.messaging.submit(officer(interpol), extra)
        wait_state(interpol, done.id, "europol", ["delivered"])
        extras.append(done.id)
    sender_key = desk_user(interpol, "cc", "cc-browser")
    reader_key = desk_user(europol, "ops", "ops-browser")
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

            def sign_in(port: int, user: str, key: str) -> None:
                page.goto(f"http://127.0.0.1:{port}/desk/")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.fill("#code", pyotp.TOTP(key).now())
                page.click("button[type=submit]")
                page.wait_for_url("**/desk/inbox")

            sign_in(interpol.api_port, "cc-browser", sender_key)
            page.click("nav >> text=Compose")
            page.wait_for_url("**/desk/compose")
            page.fill("#to", "ops@europol")
            page.select_option("#kind", "information")
            page.select_option("#crime_area", "cyber-crime")
            page.fill("#subject", "Ransomware payments traced")
            page.fill("#purpose", "prevent and combat serious crime")
            page.fill("#body", "Wallets and an exchange account, see the attached analysis.")
            page.click("#send")
            page.wait_for_url("**/desk/messages/**")
            message_id = page.url.split("/desk/messages/")[1].split("?")[0]
            wait_state(interpol, message_id, "europol", ["delivered", "read"])
            page.click("nav >> text=Sent")
            page.wait_for_url("**/desk/sent")
            assert "Ransomware payments traced" in page.content()
            page.click("form.inline button")  # sign out
            page.wait_for_url("**/desk/sign-in**")

            sign_in(europol.api_port, "ops-browser", reader_key)
            assert "Ransomware payments traced" in page.content()
            assert "in 6 d 23 h" in page.content()  # the requests' deadline, counting down
            page.screenshot(path=str(shots / "inbox.png"))
            page.click("text=Ransomware payments traced")
            page.wait_for_url("**/desk/messages/**")
            assert "Wallets and an exchange account" in page.inner_text("#body")
            page.goto(f"http://127.0.0.1:{europol.api_port}/desk/messages/{extras[0]}")
            assert page.locator("article.entity").count() >= 1  # entities as cards
            page.screenshot(path=str(shots / "message.png"), full_page=True)
        finally:
            browser.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Content-Security" in p]
    assert not csp, csp
    assert not problems, problems
