"""Strategic reports (issue 17, item 3) between two running nodes: one without personal data
is delivered to every unit of the partner (its wider distribution), through the services,
the API, the CLI, and shown in the desk with its figures and tables; one carrying a Person
is refused at the sender with ``personal_data_in_strategic``, naming it, and nothing is
stored; a forged one that skipped the sender's check is refused on arrival, alone, with
signed evidence."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.federation import LinkSpec
from secureline.cli.main import app
from secureline.interfaces.api.app import create_app
from secureline.services.errors import InvalidInput, Refused
from secureline.services.line.wire import envelope_digest
from secureline.store import tables
from secureline.store.audit import audit_records
from tests.integration.support import (
    SPECS,
    STRATEGIC,
    Federation,
    count_rows,
    craft_envelope,
    evidence_items,
    identity_context,
    log_in,
    officer,
    put,
    sample,
    seed_with_a_person,
    transaction_body,
    wait_state,
)
from tests.support.desk import client, close_clients, desk_user, sign_in

#: europol with two units: a report to the node reaches both
EUROPOL = dataclasses.replace(
    SPECS["europol"], units=[("ops", False, None), ("analysis", False, None)]
)
TWO_UNITS = ([SPECS["interpol"], EUROPOL], [LinkSpec("interpol", "europol")])
CODE = "personal_data_in_strategic"
REPORT: dict[str, Any] = orjson.loads(STRATEGIC["body"])
runner = CliRunner()


@pytest.fixture
def fed(federation_factory: Callable[..., Federation]) -> Iterator[Federation]:
    yield federation_factory(TWO_UNITS)
    close_clients()


def _strategic(to: str, seed: int, **overrides: Any) -> dict[str, Any]:
    return sample(to, seed=seed, kind="strategic-report", **{**STRATEGIC, **overrides})


def _in_mailbox(fed: Federation, unit: str, message_id: str) -> bool:
    items, _ = fed["europol"].messaging.latest(officer("europol", unit))
    return any(item.header.id == message_id for item in items)


def _as(fed: Federation, origin: str, receiver: str) -> ssl.SSLContext:
    layout = fed.layout(origin)
    ca = fed.layout(receiver).ca_certificate.read_bytes()
    return identity_context(ca, layout.tls_certificate, layout.tls_key)


def test_a_report_to_the_partner_node_reaches_every_unit_of_it(fed: Federation) -> None:
    interpol = fed["interpol"]
    sent = interpol.messaging.submit(officer(interpol), _strategic("europol", seed=1))
    assert sent.destinations == ("europol",)
    wait_state(interpol, sent.id, "europol", ["delivered"])
    assert _in_mailbox(fed, "ops", sent.id)
    assert _in_mailbox(fed, "analysis", sent.id)
    opened = fed["europol"].messaging.open(officer("europol", "analysis"), sent.id)
    assert [str(a) for a in opened.header.to] == ["all-units@europol"]
    assert opened.content is not None
    assert orjson.loads(opened.content["body"]) == REPORT

    # a unit and every unit: each unit once; one addressed to a unit reaches it alone
    narrow = interpol.messaging.submit(
        officer(interpol),
        {**_strategic("ops@europol", seed=2), "to": ["ops@europol", "all-units@europol"]},
    )
    wait_state(interpol, narrow.id, "europol", ["delivered"])
    assert _in_mailbox(fed, "ops", narrow.id)
    assert _in_mailbox(fed, "analysis", narrow.id)
    only_ops = interpol.messaging.submit(officer(interpol), _strategic("ops@europol", seed=3))
    wait_state(interpol, only_ops.id, "europol", ["delivered"])
    assert _in_mailbox(fed, "ops", only_ops.id)
    assert not _in_mailbox(fed, "analysis", only_ops.id)


def test_every_unit_is_for_a_strategic_report_only_and_no_unit_is_called_so(
    fed: Federation,
) -> None:
    interpol = fed["interpol"]
    with pytest.raises(InvalidInput, match="addresses every unit of a node"):
        interpol.messaging.submit(officer(interpol), sample("all-units@europol", seed=4))
    with pytest.raises(InvalidInput, match="reserved"):
        interpol.accounts.add_unit("test", "all-units")
    with pytest.raises(InvalidInput) as refused:
        interpol.messaging.submit(
            officer(interpol), _strategic("europol", seed=5, body="quarterly trends")
        )
    assert refused.value.field == "body"
    assert count_rows(interpol, tables.deliveries) == 0


def test_a_report_with_a_person_is_refused_at_the_sender_naming_it(fed: Federation) -> None:
    interpol = fed["interpol"]
    seed = seed_with_a_person()
    person = sample("ops@europol", seed=seed)
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(
            officer(interpol),
            _strategic(
                "europol",
                seed=seed,
                entities=person["entities"],
                data_subjects=person["data_subjects"],
            ),
        )
    (reason,) = [r for r in refused.value.reasons if r.code == CODE]
    assert "a Person entity (entities[" in reason.text
    assert "data subject categories (suspect)" in reason.text
    # an identifier in the text is one too, named by where it is
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(
            officer(interpol),
            _strategic(
                "europol",
                seed=6,
                body=orjson.dumps({**REPORT, "summary": "Call +44 20 7946 0958."}).decode(),
            ),
        )
    assert [(r.code, r.text.split(": ")[-1]) for r in refused.value.reasons] == [
        (CODE, "a phone number in summary")
    ]
    assert count_rows(interpol, tables.deliveries) == 0
    assert count_rows(interpol, tables.messages) == 0
    with interpol.db.read() as conn:
        details = conn.execute(
            audit_records.select().where(audit_records.c.action == "message.refused")
        ).all()
    assert [orjson.loads(d.detail_json)["reasons"] for d in details] == [CODE, CODE]


def test_a_forged_report_with_a_person_is_refused_on_arrival_with_evidence(
    fed: Federation,
) -> None:
    """interpol's line client skips the sender's check: it signs a strategic report that
    carries a Person as interpol would; europol refuses that envelope alone, with signed
    evidence naming what it found, and delivers the clean one beside it."""
    interpol, europol = fed["interpol"], fed["europol"]

    def as_report(header: dict[str, Any]) -> None:
        header.update(kind="strategic-report", to=["all-units@europol"])

    def report_body(content: dict[str, Any]) -> None:
        content["body"] = STRATEGIC["body"]

    forged_id, forged = craft_envelope(
        interpol,
        "ops@europol",
        seed=seed_with_a_person(),
        header_change=as_report,
        content_change=report_body,
    )

    def clean(content: dict[str, Any]) -> None:
        content.update(body=STRATEGIC["body"], entities=[])

    def clean_header(header: dict[str, Any]) -> None:
        as_report(header)
        header.update(entity_schemata={}, personal_data=False, data_subjects=[])

    clean_id, clean_token = craft_envelope(
        interpol, "ops@europol", seed=8, header_change=clean_header, content_change=clean
    )
    answer = put(
        _as(fed, "interpol", "europol"),
        europol,
        "t-strategic-0001",
        transaction_body([(forged, ["interpol"]), (clean_token, ["interpol"])]),
        europol.directory.agreement_digest("interpol"),
    )
    items = {i.envelope_sha256: i for i in evidence_items(answer, interpol)}
    refusal = items[envelope_digest(forged)]
    assert (refusal.message_id, refusal.kind.value, refusal.reason_code) == (
        forged_id,
        "refused",
        CODE,
    )
    assert "a Person entity (entities[" in (refusal.reason_text or "")
    assert items[envelope_digest(clean_token)].kind.value == "delivered"
    assert count_rows(europol, tables.messages, tables.messages.c.id == forged_id) == 0
    assert count_rows(europol, tables.mailbox, tables.mailbox.c.message_id == forged_id) == 0
    assert count_rows(europol, tables.mailbox, tables.mailbox.c.message_id == clean_id) == 2


def test_the_api_and_the_cli_send_a_report_and_say_why_one_is_refused(
    fed: Federation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    interpol = fed["interpol"]
    interpol.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    token = interpol.accounts.create_token("test", "alice")
    draft = {
        "to": ["europol"],
        "crime_area": "maritime-piracy",
        "subject": "Piracy, third quarter",
        "handling": "H0",
        "evaluation": "B2",
        "purpose": "prevent and combat serious crime",
        "report": REPORT,
    }
    with TestClient(create_app(interpol.api_services())) as api:
        auth = {"Authorization": f"Bearer {token}"}
        answer = api.post("/api/v1/strategic-reports", json=draft, headers=auth)
        assert answer.status_code == 201, answer.text
        sent = answer.json()["id"]
        bad = {**draft, "report": {**REPORT, "title": "Mail ops@pirates.example"}}
        refused = api.post("/api/v1/strategic-reports", json=bad, headers=auth)
        not_a_report = api.post(
            "/api/v1/strategic-reports", json={**draft, "report": {"title": "x"}}, headers=auth
        )
    wait_state(interpol, sent, "europol", ["delivered"])
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "refused"
    assert [r["code"] for r in error["reasons"]] == [CODE]
    assert error["reasons"][0]["text"].endswith("an e-mail address in title")
    assert not_a_report.status_code == 422

    monkeypatch.setattr(common, "node_at", lambda directory: interpol)
    log_in(interpol, fed.dirs["interpol"])
    path = tmp_path / "q3.json"
    base = [
        "send", "--dir", str(fed.dirs["interpol"]), "--to", "europol",
        "--kind", "strategic-report", "--area", "maritime-piracy", "--handling", "H0",
        "--subject", "Piracy, third quarter", "--report", str(path),
    ]  # fmt: skip
    path.write_text(orjson.dumps(REPORT).decode(), encoding="utf-8")
    done = runner.invoke(app, base)
    assert done.exit_code == 0, done.output
    assert "queued for europol" in done.output
    path.write_text(
        orjson.dumps(
            {**REPORT, "summary": "wallet 0x52908400098527886E0F7030069857D2E4169EE7"}
        ).decode(),
        encoding="utf-8",
    )
    done = runner.invoke(app, base)
    assert done.exit_code == 1, done.output
    assert f"{CODE}: a strategic report carries no personal data" in " ".join(done.output.split())
    assert "a crypto wallet in summary" in " ".join(done.output.split())


def test_the_desk_shows_the_report_s_figures_and_tables(fed: Federation) -> None:
    interpol = fed["interpol"]
    sent = interpol.messaging.submit(officer(interpol), _strategic("europol", seed=9))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    key = desk_user(fed["europol"], "analysis", "analyst")
    browser = client(fed["europol"])
    assert sign_in(browser, "analyst", key).status_code == 303
    page = browser.get(f"/desk/messages/{sent.id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="report-title">Piracy off the Horn of Africa, third quarter<' in text
    assert 'id="report-figures"' in text
    assert '<td>attacks</td><td class="number">42</td><td>incidents</td>' in text
    assert "<caption>Attacks by area</caption>" in text
    assert "<td>Gulf of Aden</td><td>30</td>" in text
    assert 'id="body"' not in text  # the report, not its JSON


def test_child_sexual_exploitation_to_every_unit_is_refused_by_the_specialist_rule(
    fed: Federation,
) -> None:
    """Every unit is not a specialist unit: such a report names its specialist units."""
    interpol = fed["interpol"]
    sent = interpol.messaging.submit(
        officer(interpol),
        _strategic("europol", seed=10, crime_area="child-sexual-exploitation"),
    )
    wait_state(interpol, sent.id, "europol", ["refused"])
    (delivery,) = interpol.messaging.status(officer(interpol), sent.id).deliveries
    assert delivery.reason_code == "not_specialist_unit"
    assert "all-units@europol is not one" in (delivery.reason_text or "")


def test_a_report_is_not_corrected_into_carrying_personal_data(fed: Federation) -> None:
    """A correction goes where its report went (every unit), and the report's rule holds for
    it: refused at the provider, and a forged one refused on arrival with evidence."""
    interpol, europol = fed["interpol"], fed["europol"]
    sent = interpol.messaging.submit(officer(interpol), _strategic("europol", seed=11))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    person = {"id": "p1", "schema": "Person", "properties": {"name": ["Abdi Hassan"]}}
    with pytest.raises(Refused) as refused:
        interpol.sharing.correct(
            officer(interpol), sent.id, "the suspect", entities=[person], data_subjects=["suspect"]
        )
    assert [r.code for r in refused.value.reasons] == [CODE]
    assert "a Person entity (entities[0])" in refused.value.reasons[0].text

    revised = orjson.dumps({**REPORT, "figures": [{"label": "attacks", "value": 43}]}).decode()
    fix = interpol.sharing.correct(officer(interpol), sent.id, "figures revised", body=revised)
    wait_state(interpol, fix.id, "europol", ["delivered"])
    assert count_rows(europol, tables.mailbox, tables.mailbox.c.message_id == fix.id) == 2
    opened = europol.messaging.open(officer("europol", "analysis"), sent.id)
    assert opened.content is not None
    assert orjson.loads(opened.content["body"])["figures"][0]["value"] == 43

    def as_correction(header: dict[str, Any]) -> None:
        header.update(
            kind="correction",
            reply_to=sent.id,
            to=["all-units@europol"],
            subject=f"correction of {sent.id}: the suspect",
        )

    forged_id, forged = craft_envelope(
        interpol, "ops@europol", seed=seed_with_a_person(), header_change=as_correction
    )
    answer = put(
        _as(fed, "interpol", "europol"),
        europol,
        "t-strategic-0002",
        transaction_body([(forged, ["interpol"])]),
        europol.directory.agreement_digest("interpol"),
    )
    (item,) = evidence_items(answer, interpol)
    assert (item.message_id, item.reason_code) == (forged_id, CODE)
    assert "a Person entity" in (item.reason_text or "")
    opened = europol.messaging.open(officer("europol", "ops"), sent.id)
    assert opened.content is not None
    assert opened.content["entities"] == []
