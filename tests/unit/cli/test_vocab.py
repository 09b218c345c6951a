"""``secureline vocab``: what it lists is what the node accepts (issue 13, section 4)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.entities import check_entities
from secureline.domain.errors import InvalidEntity
from secureline.domain.evaluation import Evaluation
from secureline.domain.vocabulary import CrimeArea, DataSubject, HandlingCode, Kind

runner = CliRunner()


def _listed() -> dict[str, Any]:
    done = runner.invoke(app, ["vocab", "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_vocab_lists_every_value_of_the_marking() -> None:
    found = _listed()
    assert [a["value"] for a in found["crime_areas"]] == [a.value for a in CrimeArea]
    assert found["kinds"] == [k.value for k in Kind]
    assert [h["value"] for h in found["handling_codes"]] == [h.value for h in HandlingCode]
    assert [d["value"] for d in found["data_subjects"]] == [d.value for d in DataSubject]
    codes = [e["value"] for e in found["evaluation_codes"]]
    assert len(codes) == 16
    for code in codes:
        Evaluation.parse(code)  # each one is accepted


def test_every_listed_schema_is_accepted_and_an_abstract_one_is_not() -> None:
    schemata = [s["name"] for s in _listed()["entity_schemata"]]
    assert {"Person", "Vessel", "Organization", "Passport", "CryptoWallet"} <= set(schemata)
    today = date(2026, 1, 1)
    for name in schemata:
        check_entities([{"id": "e1", "schema": name, "properties": {}}], today)
    assert "Thing" not in schemata
    with pytest.raises(InvalidEntity):
        check_entities([{"id": "e1", "schema": "Thing", "properties": {}}], today)


def test_vocab_for_a_person(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.out, "width", 200)
    done = runner.invoke(app, ["vocab"])
    assert done.exit_code == 0, done.output
    assert "maritime-piracy" in done.output
    assert "not to be passed on further without the provider's permission" in done.output
    assert "Vessel" in done.output
