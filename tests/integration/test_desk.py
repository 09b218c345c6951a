"""The desk (issue 15, first step) against a running pair of nodes, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest

from secureline.interfaces.desk.security import CSP
from secureline.services.desk_auth import IDLE_TIMEOUT, DeskAuth
from secureline.services.errors import NotAuthenticated
from tests.integration.support import Federation, officer, sample, wait_state
from tests.support.desk import PASSWORD, client, close_clients, csrf_of, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _assert_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert "max-age=" in response.headers["strict-transport-security"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in CSP
    assert "unsafe-eval" not in CSP


def _signed_in(pair: Federation, node: str = "interpol", unit: str = "cc") -> httpx.Client:
    name = f"{unit}-desk"
    key = desk_user(pair[node], unit, name)
    browser = client(pair[node])
    done = sign_in(browser, name, key)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/desk/inbox"
    return browser


def test_security_headers_on_every_page(pair: Federation) -> None:
    anonymous = client(pair["interpol"])
    for path in ("/desk/sign-in", "/desk/nowhere", "/desk/static/desk.css", "/desk/inbox"):
        _assert_headers(anonymous.get(path))
    browser = _signed_in(pair)
    for path in ("/desk/inbox", "/desk/sent", "/desk/compose", "/desk/messages/nope"):
        response = browser.get(path)
        _assert_headers(response)
        assert "<script>" not in response.text  # no inline script, only src=
        assert "style=" not in response.text


def test_sign_in_with_password_and_totp_sets_a_strict_cookie(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-alice")
    browser = client(node)
    done = sign_in(browser, "cc-alice", key)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/desk" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback (docs/desk.md)
    inbox = browser.get("/desk/inbox")
    assert inbox.status_code == 200
    assert "Inbox of cc@interpol" in inbox.text


def test_the_cookie_is_secure_for_any_other_host(pair: Federation) -> None:
    browser = client(pair["interpol"], headers={"host": "desk.interpol.example"})
    page = browser.get("/desk/sign-in")
    assert "Secure" in page.headers["set-cookie"]


def test_the_cookie_is_rotated_at_sign_in(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-rotate")
    browser = client(node)
    page = browser.get("/desk/sign-in")
    browser.post(
        "/desk/sign-in", data={"csrf": csrf_of(page), "username": "cc-rotate", "password": PASSWORD}
    )
    half = browser.cookies["sl_desk"]
    second = browser.get("/desk/second-factor")
    browser.post(
        "/desk/second-factor", data={"csrf": csrf_of(second), "code": pyotp.TOTP(key).now()}
    )
    assert browser.cookies["sl_desk"] != half
    stale = client(node, cookies={"sl_desk": half})
    assert stale.get("/desk/inbox").status_code == 303


def test_a_wrong_totp_code_is_refused(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-bob")
    browser = client(node)
    wrong = f"{(int(pyotp.TOTP(key).now()) + 1) % 1_000_000:06d}"
    refused = sign_in(browser, "cc-bob", key, code=wrong)
    assert refused.status_code == 401
    assert "wrong_code" in refused.text
    assert "the code is wrong" in refused.text
    assert browser.get("/desk/inbox").status_code == 303  # not signed in


def test_a_half_session_is_good_only_for_the_second_factor(pair: Federation) -> None:
    node = pair["interpol"]
    desk_user(node, "cc", "cc-half")
    browser = client(node)
    page = browser.get("/desk/sign-in")
    browser.post(
        "/desk/sign-in", data={"csrf": csrf_of(page), "username": "cc-half", "password": PASSWORD}
    )
    assert browser.get("/desk/inbox").headers["location"].startswith("/desk/sign-in")


def test_a_post_without_its_csrf_token_is_refused(pair: Federation) -> None:
    browser = _signed_in(pair)
    missing = browser.post("/desk/compose", data={"to": "ops@europol", "subject": "x"})
    assert missing.status_code == 403
    assert "csrf_missing" in missing.text
    wrong = browser.post("/desk/compose", data={"csrf": "forged", "subject": "x"})
    assert wrong.status_code == 403
    assert "csrf_invalid" in wrong.text
    anonymous = client(pair["interpol"])
    login = anonymous.post("/desk/sign-in", data={"username": "x", "password": "y"})
    assert login.status_code == 403
    assert "csrf_missing" in login.text


def test_sign_out_ends_the_session_on_the_server(pair: Federation) -> None:
    browser = _signed_in(pair)
    old = browser.cookies["sl_desk"]
    inbox = browser.get("/desk/inbox")
    out = browser.post("/desk/sign-out", data={"csrf": csrf_of(inbox)})
    assert out.status_code == 303
    replayed = client(pair["interpol"], cookies={"sl_desk": old}).get("/desk/inbox")
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/desk/sign-in?why=session_ended"


def test_ten_failures_lock_the_sign_in(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-locked")
    browser = client(node)
    for _ in range(10):
        page = browser.get("/desk/sign-in")
        wrong = browser.post(
            "/desk/sign-in",
            data={"csrf": csrf_of(page), "username": "cc-locked", "password": "wrong password!"},
        )
        assert wrong.status_code == 401
    page = browser.get("/desk/sign-in")
    locked = browser.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(page), "username": "cc-locked", "password": PASSWORD},
    )
    assert locked.status_code == 429
    assert "sign_in_locked" in locked.text
    assert "too many failed sign-ins" in locked.text
    assert key


def test_a_user_of_another_unit_cannot_open_a_message_by_url(pair: Federation) -> None:
    node = pair["interpol"]
    sent = node.messaging.submit(officer(node), sample("ops@europol"))
    node.accounts.add_unit("test", "other")
    browser = _signed_in(pair, unit="other")
    refused = browser.get(f"/desk/messages/{sent.id}")
    assert refused.status_code == 404
    assert "not_found" in refused.text
    mine = _signed_in(pair, unit="cc")
    assert mine.get(f"/desk/messages/{sent.id}").status_code == 200


@pytest.mark.parametrize("field", ["subject", "body", "entity"])
def test_script_in_a_message_is_shown_as_text(pair: Federation, field: str) -> None:
    attack = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    draft = sample("ops@europol")
    if field == "entity":
        draft["entities"][0]["properties"]["name"] = [attack]
    else:
        draft[field] = attack
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), draft)
    wait_state(interpol, sent.id, "europol", ["delivered", "read"])
    browser = _signed_in(pair, node="europol", unit="ops")
    page = browser.get(f"/desk/messages/{sent.id}")
    assert page.status_code == 200
    assert attack not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    if field == "subject":
        assert "&lt;script&gt;" in browser.get("/desk/inbox").text


def test_an_h3_message_shows_its_content_only_once_acknowledged(pair: Federation) -> None:
    interpol = pair["interpol"]
    draft = sample("ops@europol", handling="H3", handling_conditions="Only for case 17.")
    draft["body"] = "the gated body"
    sent = interpol.messaging.submit(officer(interpol), draft)
    wait_state(interpol, sent.id, "europol", ["delivered", "read"])
    browser = _signed_in(pair, node="europol", unit="ops")
    gated = browser.get(f"/desk/messages/{sent.id}")
    assert "Only for case 17." in gated.text
    assert "the gated body" not in gated.text
    shown = browser.post(f"/desk/messages/{sent.id}", data={"csrf": csrf_of(gated)})
    assert shown.status_code == 200
    assert "the gated body" in shown.text


def test_compose_sends_and_a_refusal_shows_every_reason(pair: Federation) -> None:
    browser = _signed_in(pair)
    form = browser.get("/desk/compose")
    fields = {
        "csrf": csrf_of(form),
        "to": "ops@europol",
        "kind": "information",
        "crime_area": "cyber-crime",
        "subject": "Botnet C2 seen",
        "handling": "H0",
        "reliability": "B",
        "accuracy": "2",
        "purpose": "prevent and combat serious crime",
        "priority": "normal",
        "classification": "basic",
        "body": "details",
    }
    done = browser.post("/desk/compose", data=fields)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/desk/messages/")
    assert "Botnet C2 seen" in browser.get("/desk/sent").text
    refused = browser.post("/desk/compose", data={**fields, "crime_area": "firearms"})
    assert refused.status_code == 422, refused.text
    assert "The rules of sharing refuse this message" in refused.text
    assert "area_not_agreed" in refused.text or "<code>" in refused.text


def _password_step(browser: httpx.Client, username: str) -> httpx.Response:
    page = browser.get("/desk/sign-in")
    return browser.post(
        "/desk/sign-in", data={"csrf": csrf_of(page), "username": username, "password": PASSWORD}
    )


def test_enrolment_shows_a_qr_code_then_recovery_codes_sign_in_once(pair: Federation) -> None:
    node = pair["interpol"]
    node.accounts.add_user("test", "cc-new", "cc", "officer", PASSWORD)
    browser = client(node)
    first = _password_step(browser, "cc-new")
    assert first.headers["location"] == "/desk/enrol"
    enrol = browser.get("/desk/enrol")
    assert enrol.status_code == 200
    assert "<svg" in enrol.text  # the QR code, inline: no data: URL, no request for it
    _assert_headers(enrol)
    key = re.search(r'<code id="totp-key">([A-Z2-7]+)</code>', enrol.text)
    assert key
    wrong = browser.post("/desk/enrol", data={"csrf": csrf_of(enrol), "code": "123456x"})
    assert wrong.status_code == 400
    assert "wrong_code" in wrong.text
    done = browser.post(
        "/desk/enrol", data={"csrf": csrf_of(enrol), "code": pyotp.TOTP(key.group(1)).now()}
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{20})</code></li>", done.text)
    assert len(codes) == 10
    assert browser.get("/desk/inbox").status_code == 200  # signed in by the enrolment

    again = client(node)
    _password_step(again, "cc-new")
    second = again.get("/desk/second-factor")
    used = again.post("/desk/second-factor", data={"csrf": csrf_of(second), "code": codes[0]})
    assert used.status_code == 303  # a recovery code instead of the authenticator
    third = client(node)
    _password_step(third, "cc-new")
    page = third.get("/desk/second-factor")
    spent = third.post("/desk/second-factor", data={"csrf": csrf_of(page), "code": codes[0]})
    assert spent.status_code == 401
    assert "wrong_code" in spent.text  # each recovery code works once


def test_a_totp_code_is_good_only_once(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-replay")
    code = pyotp.TOTP(key).now()
    assert sign_in(client(node), "cc-replay", key, code=code).status_code == 303
    replayed = sign_in(client(node), "cc-replay", key, code=code)
    assert replayed.status_code == 401
    assert "wrong_code" in replayed.text


def test_a_form_past_the_bound_is_refused(pair: Federation) -> None:
    browser = _signed_in(pair)
    page = browser.get("/desk/compose")
    huge = browser.post("/desk/compose", data={"csrf": csrf_of(page), "body": "x" * 300_000})
    assert huge.status_code == 413
    assert "form_too_large" in huge.text


def test_an_idle_session_times_out(pair: Federation) -> None:
    node = pair["interpol"]
    browser = _signed_in(pair)
    secret = browser.cookies["sl_desk"]
    later = datetime.now(UTC) + IDLE_TIMEOUT + timedelta(seconds=1)
    idle = DeskAuth(node.db, node.audit, node.accounts, lambda: later)
    with pytest.raises(NotAuthenticated, match="timed out") as refused:
        idle.authenticate(secret)
    assert refused.value.code == "session_expired"


def test_the_desk_sign_in_and_sign_out_are_audited_once_each(pair: Federation) -> None:
    node = pair["interpol"]
    key = desk_user(node, "cc", "cc-audited")
    mark = max((r.seq for r in node.audit.records()), default=0)
    browser = client(node)
    assert sign_in(browser, "cc-audited", key).status_code == 303
    browser.post("/desk/sign-out", data={"csrf": csrf_of(browser.get("/desk/inbox"))})
    records = [r for r in node.audit.records() if r.seq > mark]
    seen = [(r.action, r.actor, r.object, r.outcome) for r in records]
    assert seen.count(("login.success", "cc-audited", "cc-audited", "ok")) == 1  # the password
    assert seen.count(("login.success", "cc-audited", "cc-audited", "second-factor")) == 1
    assert seen.count(("session.ended", "cc-audited", "cc-audited", "desk-sign-out")) == 1
    failed = client(node)
    sign_in(failed, "cc-audited", key, code="999999x")
    refusals = [r for r in node.audit.records() if r.seq > mark and r.action == "login.failure"]
    assert len(refusals) == 1
    assert refusals[0].detail["factor"] == "second-factor"


def test_disabling_a_user_ends_their_desk_session_at_once(pair: Federation) -> None:
    node = pair["interpol"]
    browser = _signed_in(pair, unit="cc")
    node.accounts.disable_user("test", "cc-desk")
    refused = browser.get("/desk/inbox")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/desk/sign-in?why=user_disabled"
