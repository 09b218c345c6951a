"""The check before sending (issue 15: "what the agreement of the chosen destination would
refuse is said before sending, not after"), over real HTTP on a running pair: the compose
form's "Check with the rules" button and the fragment htmx posts as fields change, both
giving every reason the rules would refuse for, and sending, storing or recording nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from secureline.node.compose import Node
from secureline.services.errors import Forbidden, InvalidInput
from secureline.services.roles import Role
from tests.integration.support import Federation, officer, sample
from tests.support.desk import client, close_clients, csrf_of, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _desk(node: Node, name: str) -> tuple[httpx.Client, dict[str, str]]:
    browser = client(node)
    assert sign_in(browser, name, desk_user(node, "cc", name)).status_code == 303
    fields = {
        "csrf": csrf_of(browser.get("/desk/compose")),
        "to": "ops@europol",
        "kind": "information",
        "crime_area": "firearms",  # not in the pair's agreement
        "subject": "Rifles in a container",
        "handling": "H0",
        "reliability": "B",
        "accuracy": "2",
        "purpose": "prevent and combat serious crime",
        "priority": "normal",
        "classification": "basic",
        "body": "details",
    }
    return browser, fields


def _stored(node: Node) -> tuple[int, int]:
    """How many messages the node composed, and how many audit records it holds."""
    return len(node.messaging.sent(officer(node), 500)), len(list(node.audit.records()))


def test_the_check_says_what_the_agreement_would_refuse_and_sends_nothing(
    pair: Federation,
) -> None:
    interpol = pair["interpol"]
    browser, fields = _desk(interpol, "cc-check")
    before = _stored(interpol)
    checked = browser.post("/desk/compose", data={**fields, "action": "check"})
    assert checked.status_code == 200, checked.text
    assert 'id="precheck-refusal"' in checked.text
    assert "<code>crime_area_not_allowed</code>" in checked.text
    assert 'value="Rifles in a container"' in checked.text  # the form kept filled
    fragment = browser.post("/desk/compose/check", data=fields)
    assert fragment.status_code == 200
    assert 'id="precheck-refusal"' in fragment.text
    assert "<html" not in fragment.text
    assert _stored(interpol) == before  # nothing signed, stored, queued or recorded
    sent = browser.post("/desk/compose", data={**fields, "action": "send"})
    assert sent.status_code == 422  # and sending is refused for the same reasons
    assert "The rules of sharing refuse this message" in sent.text


def test_the_check_lets_through_what_may_leave_and_says_an_alert_waits(
    pair: Federation,
) -> None:
    interpol = pair["interpol"]
    browser, fields = _desk(interpol, "cc-check-ok")
    ok = browser.post("/desk/compose/check", data={**fields, "crime_area": "cyber-crime"})
    assert 'id="precheck-ok"' in ok.text
    assert "europol" in ok.text
    assert "second officer" not in ok.text
    alert = {**fields, "crime_area": "counter-terrorism", "kind": "alert", "alert": "yellow"}
    held = browser.post("/desk/compose/check", data=alert)
    assert 'id="precheck-ok"' in held.text
    assert "second officer" in held.text


def test_the_check_names_a_draft_it_cannot_decide_on(pair: Federation) -> None:
    browser, fields = _desk(pair["interpol"], "cc-check-bad")
    empty = browser.post("/desk/compose/check", data={**fields, "to": ""})
    assert 'id="precheck-error"' not in empty.text
    assert "precheck" in empty.text
    nowhere = browser.post("/desk/compose/check", data={**fields, "to": "ops@atlantis"})
    assert 'id="precheck-error"' in nowhere.text
    assert "no_route" in nowhere.text
    bad = browser.post("/desk/compose/check", data={**fields, "subject": ""})
    assert 'id="precheck-error"' in bad.text
    assert "subject" in bad.text
    no_token = {k: v for k, v in fields.items() if k != "csrf"}
    assert browser.post("/desk/compose/check", data=no_token).status_code == 403


def test_the_service_check_is_the_submit_rule_without_sending(pair: Federation) -> None:
    interpol = pair["interpol"]
    before = _stored(interpol)
    refused = interpol.messaging.check(officer(interpol), sample("ops@europol", "firearms"))
    assert [r.code for r in refused.reasons] == ["crime_area_not_allowed"]
    assert refused.destinations == ("europol",)
    passed = interpol.messaging.check(officer(interpol), sample("ops@europol"))
    assert passed.reasons == ()
    assert not passed.held
    assert _stored(interpol) == before
    with pytest.raises(InvalidInput):
        interpol.messaging.check(officer(interpol), {"to": ["ops@europol"]})
    dpo = replace(officer(interpol), role=Role.DPO)  # who may not send may not check either
    with pytest.raises(Forbidden):
        interpol.messaging.check(dpo, sample("ops@europol"))
