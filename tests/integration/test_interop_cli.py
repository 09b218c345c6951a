"""``secureline stix import|export`` and ``secureline misp import|export`` through the CLI,
on two running nodes: a bundle or an event crosses the line as one message and comes back
out at the other end as it went in (issue 18, items 1, 4 and 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stix2
from stix2validator import ValidationOptions, validate_parsed_json
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.domain.interop.markings import TLP2_IDS
from tests.integration.support import (
    PAIR,
    Federation,
    log_in,
    officer,
    set_agreement_terms,
    wait_state,
)

runner = CliRunner()
DATA = Path(__file__).parent.parent / "data"
#: The public bundles kept in tests/data/stix (README.md there says where from), and the
#: handling code each must take: the most restrictive of its objects' markings.
BUNDLES = {
    "using-marking-definitions": "H3",  # TLP:AMBER plus a statement: conditions
    "using-granular-markings": "H3",  # a granular TLP:RED on one field wins
    "sighting-of-an-indicator": "H2",  # unmarked: the default, AMBER
    "identifying-a-threat-actor-profile": "H2",
}


def _serve(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    nodes = {Path(pair.dirs[name]): pair[name] for name in ("interpol", "europol")}
    monkeypatch.setattr(common, "node_at", lambda directory: nodes[Path(directory)])
    monkeypatch.setattr(common.out, "width", 200)
    for name in ("interpol", "europol"):
        log_in(pair[name], pair.dirs[name])
    return pair


@pytest.fixture
def running(
    federation_factory: Callable[..., Federation], monkeypatch: pytest.MonkeyPatch
) -> Federation:
    """interpol and europol, their agreement's ceiling raised to confidential (TLP:RED)."""
    fed = federation_factory(PAIR, start=())
    set_agreement_terms(fed, "interpol", "europol", classification_ceiling='"confidential"')
    for name in ("interpol", "europol"):
        fed.start(name)
    return _serve(fed, monkeypatch)


@pytest.fixture
def restricted(pair: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    """The pair as built: its agreement's ceiling is restricted."""
    return _serve(pair, monkeypatch)


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _import(fed: Federation, path: Path, *extra: str) -> dict[str, Any]:
    done = _cli(
        "stix", "import", str(path), "--dir", str(fed.dirs["interpol"]),
        "--to", "ops@europol", "--json", *extra,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def _valid(bundle: dict[str, Any]) -> None:
    result = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    stix2.parse(bundle, allow_custom=False)  # a second reader agrees


def _by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in bundle["objects"]}


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_a_public_bundle_crosses_the_line_and_comes_out_as_it_went_in(
    running: Federation, name: str, tmp_path: Path
) -> None:
    path = DATA / "stix" / f"{name}.json"
    given = json.loads(path.read_text())
    done = _import(running, path)
    assert set(done) == {"message_id", "objects", "entities", "skipped"}
    assert done["objects"] == len(given["objects"])
    assert done["skipped"] == []
    assert done["entities"] >= 2
    message_id = done["message_id"]
    wait_state(running["interpol"], message_id, "europol", ["delivered"])

    out = tmp_path / "out.json"
    exported = _cli(
        "stix", "export", message_id, "--dir", str(running.dirs["europol"]),
        "--out", str(out), "--acknowledge-conditions",
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    bundle = json.loads(out.read_text())
    _valid(bundle)
    header = (
        running["europol"]
        .messaging.open(officer(running["europol"]), message_id, acknowledge_conditions=True)
        .header
    )
    assert header.handling == BUNDLES[name]
    assert header.crime_area == "cyber-crime"

    before, after = _by_id(given), _by_id(bundle)
    assert bundle["id"] == given["id"]
    for obj_id, obj in before.items():
        if obj["type"] == "marking-definition":
            # published TLP definitions come out in their published form, same id
            assert after[obj_id]["definition_type"] == obj["definition_type"]
            assert after[obj_id]["definition"] == obj["definition"]
            continue
        came = after[obj_id]
        for key in ("spec_version", "created", "modified", "source_ref", "target_ref",
                    "sighting_of_ref", "where_sighted_refs", "granular_markings"):  # fmt: skip
            assert came.get(key) == obj.get(key), (obj_id, key)
        if obj.get("object_marking_refs") or obj.get("granular_markings"):
            assert came.get("object_marking_refs") == obj.get("object_marking_refs")
        else:  # an unmarked object is given the message's marking, never left bare
            assert came["object_marking_refs"][0] in TLP2_IDS
        assert {k: v for k, v in came.items() if k != "object_marking_refs"} == {
            k: v for k, v in obj.items() if k != "object_marking_refs"
        }
