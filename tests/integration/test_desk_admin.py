"""The administrator's desk pages (issue 15) over real HTTP on a running pair: link health,
units, users, second factors and API tokens, and their refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from secureline.node.compose import Node
from tests.integration.support import Federation, officer, sample, wait_state
from tests.support.desk import PASSWORD, client, close_clients, csrf_of, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _desk(node: Node, name: str, role: str = "officer", unit: str = "cc") -> httpx.Client:
    key = desk_user(node, unit, name, role)
    browser = client(node)
    assert sign_in(browser, name, key).status_code == 303
    return browser


def _post(browser: httpx.Client, path: str, **fields: str) -> httpx.Response:
    page = browser.get("/desk/admin")
    return browser.post(path, data={"csrf": csrf_of(page), **fields})


def test_the_overview_shows_each_links_health(pair: Federation) -> None:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    admin = _desk(interpol, "cc-admin", "admin")
    page = admin.get("/desk/admin")
    assert page.status_code == 200
    assert "europol" in page.text
    assert "queued" in page.text
    assert "same" in page.text  # both sides hold the same agreement, as the peer reported
    assert "delivered at" in page.text  # the last evidence
    assert "own TLS certificate expires" in page.text
    assert "CA certificate expires" in page.text
    assert "cc-admin" in page.text  # the users


@pytest.mark.parametrize("role", ["officer", "dpo", "system"])
def test_anyone_but_an_administrator_is_refused(pair: Federation, role: str) -> None:
    node = pair["interpol"]
    browser = _desk(node, f"cc-{role}-x", role)
    assert browser.get("/desk/admin").status_code == 403
    assert "admin_only" in browser.get("/desk/admin").text
    csrf = csrf_of(browser.get("/desk/inbox"))
    for path, fields in [
        ("/desk/admin/users", {"username": "cc-intruder", "unit": "cc", "role": "admin"}),
        ("/desk/admin/units", {"name": "rogue"}),
        ("/desk/admin/users/cc-officer/disable", {}),
        ("/desk/admin/users/cc-officer/second-factor", {}),
        ("/desk/admin/users/cc-officer/tokens", {"label": "mine"}),
    ]:
        refused = browser.post(path, data={"csrf": csrf, "password": PASSWORD, **fields})
        assert refused.status_code == 403, path
    assert "cc-intruder" not in {u.username for u in node.accounts.users()}
    assert "rogue" not in {u.name for u in node.accounts.units()}


def test_an_admin_post_without_its_csrf_token_is_refused(pair: Federation) -> None:
    node = pair["interpol"]
    admin = _desk(node, "cc-admin-csrf", "admin")
    refused = admin.post("/desk/admin/units", data={"name": "nocsrf"})
    assert refused.status_code == 403
    assert "csrf_missing" in refused.text
    assert "nocsrf" not in {u.name for u in node.accounts.units()}


def test_units_and_users_are_made_and_a_new_user_enrols(pair: Federation) -> None:
    node = pair["interpol"]
    admin = _desk(node, "cc-admin-make", "admin")
    attack = "<script>alert(1)</script>"
    made = _post(admin, "/desk/admin/units", name="fiu", description=attack)
    assert made.status_code == 303
    page = admin.get(made.headers["location"])
    assert "the unit was added" in page.text
    assert attack not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    added = _post(
        admin,
        "/desk/admin/users",
        username="fiu-ana",
        unit="fiu",
        role="officer",
        password=PASSWORD,
    )
    assert added.status_code == 303
    assert "fiu-ana" in admin.get("/desk/admin").text
    newcomer = client(node)
    sign_in_page = newcomer.get("/desk/sign-in")
    first = newcomer.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(sign_in_page), "username": "fiu-ana", "password": PASSWORD},
    )
    assert first.headers["location"] == "/desk/enrol"
    short = _post(
        admin, "/desk/admin/users", username="fiu-bo", unit="fiu", role="officer", password="x"
    )
    assert short.status_code == 422
    assert "password" in short.text


def test_disabling_and_resetting_end_the_users_sessions(pair: Federation) -> None:
    node = pair["interpol"]
    admin = _desk(node, "cc-admin-reset", "admin")
    user = _desk(node, "cc-lost-phone")
    assert _post(admin, "/desk/admin/users/cc-lost-phone/second-factor").status_code == 303
    assert user.get("/desk/inbox").status_code == 303  # the session ended
    again = client(node)
    page = again.get("/desk/sign-in")
    first = again.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(page), "username": "cc-lost-phone", "password": PASSWORD},
    )
    assert first.headers["location"] == "/desk/enrol"
    twice = _post(admin, "/desk/admin/users/cc-lost-phone/second-factor")
    assert twice.status_code == 409
    leaver = _desk(node, "cc-leaver")
    assert _post(admin, "/desk/admin/users/cc-leaver/disable").status_code == 303
    assert leaver.get("/desk/inbox").status_code == 303
    assert "disabled" in admin.get("/desk/admin").text


def test_a_token_is_shown_once_works_and_is_revoked(pair: Federation) -> None:
    node = pair["interpol"]
    admin = _desk(node, "cc-admin-tokens", "admin")
    node.accounts.add_user("test", "cc-system", "cc", "system", PASSWORD)
    page = admin.get("/desk/admin/users/cc-system/tokens")
    assert "No tokens." in page.text
    made = admin.post(
        "/desk/admin/users/cc-system/tokens", data={"csrf": csrf_of(page), "label": "ncb system"}
    )
    assert made.status_code == 200
    secret = made.text.split('<code id="token-secret">')[1].split("</code>")[0]
    assert secret.startswith("slt_")
    assert secret not in admin.get("/desk/admin/users/cc-system/tokens").text  # shown once
    api = client(node, headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/inbox").status_code == 200
    (token,) = node.accounts.tokens("cc-system")
    revoked = _post(admin, f"/desk/admin/tokens/{token.id}/revoke")
    assert revoked.status_code == 303
    assert api.get("/api/v1/inbox").status_code == 401
    assert admin.get("/desk/admin/users/nobody/tokens").status_code == 404
