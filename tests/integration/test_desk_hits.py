"""The desk's hits page (issue 16, item 3) over real HTTP: the unit's hits with both sides
and the reasons, a decision with a note kept, a second one refused on the page, and another
unit's officer refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.hits_support import PUTIN_HELD, PUTIN_SENT, checked, hold, send
from tests.integration.support import Federation, officer
from tests.integration.test_desk import _assert_headers
from tests.support.desk import client, close_clients, csrf_of, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _signed_in(pair: Federation, unit: str, name: str) -> httpx.Client:
    key = desk_user(pair["europol"], unit, name)
    browser = client(pair["europol"])
    assert sign_in(browser, name, key).status_code == 303
    return browser


def test_the_hits_page_shows_both_sides_and_keeps_the_decision(
    pair: Federation, tmp_path: Path
) -> None:
    europol = pair["europol"]
    europol.accounts.add_unit("test", "intel")
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT)
    checked(europol, message_id)
    [hit] = europol.hits.list(officer(europol))
    ops = _signed_in(pair, "ops", "ops-hits")
    page = ops.get("/desk/hits")
    assert page.status_code == 200
    _assert_headers(page)
    assert 'href="/desk/hits"' in page.text  # the navigation's link
    assert hit.id in page.text
    assert "Vladimir Putin" in page.text
    assert "Владимир Владимирович Путин" in page.text
    assert "national-register" in page.text
    assert "cc@interpol" in page.text
    assert "birthDate" in page.text

    token = csrf_of(page)
    form = {"csrf": token, "decision": "dismissed", "note": "a namesake"}
    done = ops.post(f"/desk/hits/{hit.id}/decision", data=form)
    assert done.status_code == 303
    assert europol.hits.get(officer(europol), hit.id).note == "a namesake"
    shown = ops.get("/desk/hits?state=dismissed")
    assert "dismissed by ops-hits" in shown.text
    assert "a namesake" in shown.text
    assert ops.get("/desk/hits?state=new").text.count(hit.id) == 0
    again = ops.post(f"/desk/hits/{hit.id}/decision",
                     data={"csrf": token, "decision": "confirmed"})  # fmt: skip
    assert again.status_code == 409
    assert "hit_decided" in again.text

    intel = _signed_in(pair, "intel", "intel-hits")
    assert hit.id not in intel.get("/desk/hits").text
    form = {"csrf": csrf_of(intel.get("/desk/hits")), "decision": "confirmed"}
    refused = intel.post(f"/desk/hits/{hit.id}/decision", data=form)
    assert refused.status_code == 403
    assert "not_holding_unit" in refused.text
    assert ops.post("/desk/hits/nonsense/decision", data={"csrf": token}).status_code == 404
