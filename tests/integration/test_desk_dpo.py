"""The data protection officer's desk pages (issue 15) over real HTTP on a running pair:
the audit chain filtered, verified, the partners' checkpoints, who read a message, the
export for an inquiry; and their refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from secureline.node.compose import Node
from tests.integration.support import Federation, officer, sample, wait_for, wait_state
from tests.support.desk import client, close_clients, csrf_of, desk_user, sign_in


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()


def _desk(node: Node, name: str, role: str, unit: str) -> httpx.Client:
    key = desk_user(node, unit, name, role)
    browser = client(node)
    assert sign_in(browser, name, key).status_code == 303
    return browser


def _read_at_europol(pair: Federation) -> str:
    interpol, europol = pair["interpol"], pair["europol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    europol.messaging.open(officer(europol, who="reader"), sent.id)
    return sent.id


def test_the_chain_filtered_by_message_user_and_action_with_who_read(pair: Federation) -> None:
    message_id = _read_at_europol(pair)
    dpo = _desk(pair["europol"], "ops-dpo", "dpo", "ops")
    page = dpo.get("/desk/dpo")
    assert page.status_code == 200
    assert 'id="records"' not in page.text  # no filter, no records: only the form
    about = dpo.get("/desk/dpo", params={"object": message_id})
    assert "<td>message.received</td>" in about.text
    assert "<td>message.read</td>" in about.text
    assert f"Who read {message_id}" in about.text
    assert "test:ops-reader@europol (ops)" in about.text
    by_user = dpo.get("/desk/dpo", params={"actor": "test:ops-reader@europol"})
    assert message_id in by_user.text
    assert "<td>message.received</td>" not in by_user.text  # only what that user did
    by_action = dpo.get("/desk/dpo", params={"action": "message.read", "object": message_id})
    assert "<td>message.read</td>" in by_action.text
    assert "message.received</td>" not in by_action.text
    assert dpo.get("/desk/dpo", params={"action": "no.such"}).status_code == 422
    assert dpo.get("/desk/dpo", params={"from": "yesterday"}).status_code == 422


def test_verification_and_the_partners_checkpoints(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    europol.audit.checkpoint()
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol"))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    wait_for(lambda: interpol.audit.partner_checkpoints("europol"), what="europol's checkpoint")
    dpo = _desk(interpol, "cc-dpo", "dpo", "cc")
    page = dpo.get("/desk/dpo")
    assert 'id="partners"' in page.text
    assert "<td>europol</td>" in page.text
    verified = dpo.get("/desk/dpo/verify")
    assert verified.status_code == 200
    assert "Every record and every checkpoint verifies" in verified.text


def test_the_export_for_an_inquiry_is_recorded_and_needs_its_token(pair: Federation) -> None:
    europol = pair["europol"]
    _read_at_europol(pair)
    dpo = _desk(europol, "ops-dpo-export", "dpo", "ops")
    page = dpo.get("/desk/dpo")
    refused = dpo.post("/desk/dpo/export", data={"format": "jsonl"})
    assert refused.status_code == 403
    assert "csrf_missing" in refused.text
    exported = dpo.post("/desk/dpo/export", data={"csrf": csrf_of(page), "format": "jsonl"})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    records = [orjson.loads(line) for line in exported.text.splitlines()]
    assert records[0]["seq"] == 1
    assert any(r["action"] == "message.read" for r in records)
    assert records[-1]["action"] == "audit.exported"  # recorded before a line left
    csv = dpo.post("/desk/dpo/export", data={"csrf": csrf_of(page), "format": "csv"})
    assert csv.text.startswith("seq,")
    bad = dpo.post("/desk/dpo/export", data={"csrf": csrf_of(page), "format": "xml"})
    assert bad.status_code == 422


@pytest.mark.parametrize("role", ["officer", "admin", "system"])
def test_anyone_but_the_dpo_is_refused(pair: Federation, role: str) -> None:
    browser = _desk(pair["europol"], f"ops-{role}-y", role, "ops")
    for path in ("/desk/dpo", "/desk/dpo/verify"):
        refused = browser.get(path)
        assert refused.status_code == 403, path
        assert "dpo_only" in refused.text
    csrf = csrf_of(browser.get("/desk/inbox"))
    assert browser.post("/desk/dpo/export", data={"csrf": csrf}).status_code == 403


def test_script_in_a_record_is_shown_as_text(pair: Federation) -> None:
    europol = pair["europol"]
    attack = "<script>alert(1)</script>"
    anonymous = client(europol)
    page = anonymous.get("/desk/sign-in")
    anonymous.post(
        "/desk/sign-in", data={"csrf": csrf_of(page), "username": attack, "password": "wrong"}
    )
    dpo = _desk(europol, "ops-dpo-script", "dpo", "ops")
    found = dpo.get("/desk/dpo", params={"actor": attack})
    assert "<td>login.failure</td>" in found.text
    assert attack not in found.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in found.text
