"""Accessibility checked by a real engine: axe-core (the npm devDependency in package.json,
installed by ``make setup``) runs in Debian's chromium on every desk page, each with content
in it (messages, an H3 gate, a thread, a held alert, a permission request, search results,
the administration and the data protection officer's pages, a refusal, the sign-in and the
enrolment), and no violation of a WCAG 2 A or AA rule may be serious or critical.

axe is injected with Playwright's ``add_script_tag``, which inlines the file: the desk's CSP
rightly refuses inline scripts, so this test's browser context bypasses the CSP (the other
browser tests keep it and check that no page violates it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyotp
import pytest

from secureline.domain.vocabulary import AlertType
from tests.browser.test_desk_browser import CHROMIUM
from tests.integration.support import Federation, officer, sample, wait_for, wait_state
from tests.support.desk import PASSWORD, desk_user

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: the rules of WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, one
#: main, headings in order, ...), by axe's tags
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SEVERE = ("serious", "critical")

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make setup installs chromium"),
    pytest.mark.skipif(
        bool(os.environ.get("SECURELINE_TEST_DATABASE_URL")),
        reason="the browser drives the same pages on either store: run once, on SQLite",
    ),
]


def severe_violations(page: Any) -> list[str]:
    """axe's serious and critical WCAG 2 A/AA violations on the page as it stands, each as
    ``rule: the first offending element``."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: "tag", values: tags},
                                      resultTypes: ["violations"]})""",
        RULES,
    )
    assert found["passes"], "axe ran no rule"
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {[n['html'] for n in v['nodes'][:3]]}"
        for v in found["violations"]
        if v["impact"] in SEVERE
    ]


def test_no_serious_or_critical_axe_violation_on_any_desk_page(pair: Federation) -> None:
    from playwright.sync_api import sync_playwright

    assert AXE.exists(), "run make setup: npm ci installs axe-core (a devDependency)"
    interpol, europol = pair["interpol"], pair["europol"]
    h2 = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", seed=81, handling="H2", subject="Vessel seen")
    )
    h3 = interpol.messaging.submit(
        officer(interpol),
        sample(
            "ops@europol",
            seed=82,
            handling="H3",
            handling_conditions="Not to be shown to the suspect's employer.",
            subject="Gated report",
        ),
    )
    for sent in (h2, h3):
        wait_state(interpol, sent.id, "europol", ["delivered"])
    europol.sharing.request_permission(
        officer(europol), h2.id, "onward-transfer", "interpol", reason="joint investigation team"
    )
    wait_for(lambda: interpol.sharing.permission_requests(officer(interpol)))
    alert = sample("ops@europol", seed=83, kind="alert", subject="Missing person")
    alert["alert"] = AlertType.YELLOW.value
    held = interpol.messaging.submit(officer(interpol), alert)
    keys = {
        "ops-a11y": desk_user(europol, "ops", "ops-a11y"),
        "cc-a11y": desk_user(interpol, "cc", "cc-a11y"),
        "cc-a11y-admin": desk_user(interpol, "cc", "cc-a11y-admin", "admin"),
        "cc-a11y-dpo": desk_user(interpol, "cc", "cc-a11y-dpo", "dpo"),
    }
    interpol.accounts.add_user("test", "cc-a11y-new", "cc", "officer", PASSWORD)
    checked: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(20_000)

            def check(name: str, url: str | None = None) -> None:
                if url is not None:
                    page.goto(url)
                checked[name] = severe_violations(page)

            def sign_in(node: Any, user: str) -> None:
                page.goto(f"http://127.0.0.1:{node.api_port}/desk/")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/second-factor")
                check("second factor")
                page.fill("#code", pyotp.TOTP(keys[user]).now())
                page.click("button[type=submit]")
                page.wait_for_url("**/desk/inbox")

            def sign_out() -> None:
                page.goto(page.url.split("/desk/")[0] + "/desk/inbox")
                page.click("form.inline button")
                page.wait_for_url("**/desk/sign-in**")

            eu = f"http://127.0.0.1:{europol.api_port}/desk"
            cc = f"http://127.0.0.1:{interpol.api_port}/desk"
            check("sign-in", f"{eu}/sign-in")
            page.fill("#username", "nobody")
            page.fill("#password", "wrong")
            page.click("button[type=submit]")
            check("sign-in refused")
            # the engine itself finds what it should (a control without a label)
            page.evaluate("document.querySelector('form').append(document.createElement('select'))")
            assert any(v.startswith("select-name") for v in severe_violations(page))
            sign_in(europol, "ops-a11y")
            check("inbox")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert ring == "solid", ring
            page.keyboard.press("Enter")
            assert page.evaluate("document.activeElement.id") == "main"
            check("message", f"{eu}/messages/{h2.id}")
            check("message gated (H3)", f"{eu}/messages/{h3.id}")
            page.click("#acknowledge")
            page.wait_for_selector("#body")
            check("message acknowledged (H3)")
            check("thread", f"{eu}/messages/{h2.id}/thread")
            check("permissions (sent)", f"{eu}/permissions")
            check("compose", f"{eu}/compose")
            page.fill("#to", "ops@europol")
            page.fill("#subject", "to myself")
            page.fill("#purpose", "prevent and combat serious crime")
            page.click("#send")
            page.wait_for_selector("#refusal")
            check("compose refused")
            check("search", f"{eu}/search")
            check("search results", f"{eu}/search?q=vessel")
            check("not found", f"{eu}/no-such-page")
            sign_out()

            sign_in(interpol, "cc-a11y")
            check("sent", f"{cc}/sent")
            check("message sent", f"{cc}/messages/{h2.id}")
            check("alerts", f"{cc}/alerts")
            assert page.locator(f"#alert-{held.id}").count() == 1
            check("permissions (received)", f"{cc}/permissions")
            check("retention", f"{cc}/retention")
            sign_out()

            sign_in(interpol, "cc-a11y-admin")
            check("administration", f"{cc}/admin")
            check("API tokens", f"{cc}/admin/users/cc-a11y/tokens")
            sign_out()

            sign_in(interpol, "cc-a11y-dpo")
            check("data protection", f"{cc}/dpo")
            check("audit filtered", f"{cc}/dpo?action=login.success")
            check("audit verified", f"{cc}/dpo/verify")
            sign_out()

            page.fill("#username", "cc-a11y-new")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/enrol")
            check("enrolment")
        finally:
            browser.close()
    assert len(checked) >= 25, sorted(checked)
    severe = {name: found for name, found in checked.items() if found}
    assert not severe, severe
