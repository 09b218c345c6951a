"""``secureline stix import|export`` and ``secureline misp import|export`` through the CLI,
on two running nodes: a bundle or an event crosses the line as one message and comes back
out at the other end as it went in (issue 18, items 1, 4 and 6)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stix2
from pymisp import MISPEvent
from sqlalchemy import select
from stix2validator import ValidationOptions, validate_parsed_json
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.main import app
from secureline.crypto.encoding import b64url_decode
from secureline.domain.audit import AuditAction
from secureline.domain.interop.markings import TLP2_IDS
from secureline.store import tables
from secureline.store.messages import count_messages
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
        "stix",
        "import",
        str(path),
        "--dir",
        str(fed.dirs["interpol"]),
        "--to",
        "ops@europol",
        "--json",
        *extra,
    )
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
        "stix",
        "export",
        message_id,
        "--dir",
        str(running.dirs["europol"]),
        "--out",
        str(out),
        "--acknowledge-conditions",
    )
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
        for key in (
            "spec_version",
            "created",
            "modified",
            "source_ref",
            "target_ref",
            "sighting_of_ref",
            "where_sighted_refs",
            "granular_markings",
        ):
            assert came.get(key) == obj.get(key), (obj_id, key)
        if obj.get("object_marking_refs") or obj.get("granular_markings"):
            assert came.get("object_marking_refs") == obj.get("object_marking_refs")
        else:  # an unmarked object is given the message's marking, never left bare
            assert came["object_marking_refs"][0] in TLP2_IDS
        assert {k: v for k, v in came.items() if k != "object_marking_refs"} == {
            k: v for k, v in obj.items() if k != "object_marking_refs"
        }


# --- idempotence, dry run, the line -------------------------------------------------------


def test_the_same_bundle_twice_is_one_message_and_a_dry_run_stores_nothing(
    running: Federation,
) -> None:
    interpol = running["interpol"]
    path = DATA / "stix" / "identifying-a-threat-actor-profile.json"
    where = str(running.dirs["interpol"])
    before = count_messages(interpol.db, "out")
    records = len(list(interpol.audit.records()))

    preview = _cli("stix", "import", str(path), "--dir", where, "--dry-run", "--json")
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.output) == {
        "message_id": None,
        "objects": 3,
        "entities": 2,
        "skipped": [],
    }
    shown = _cli("stix", "import", str(path), "--dir", where, "--dry-run")
    assert "dry run" in shown.output
    assert "nothing stored" in shown.output
    assert count_messages(interpol.db, "out") == before
    assert len(list(interpol.audit.records())) == records  # a preview is not an import

    first = _import(running, path)
    second = _import(running, path)
    assert first == second
    assert count_messages(interpol.db, "out") == before + 1
    again = _cli("stix", "import", str(path), "--dir", where, "--to", "ops@europol")
    assert "already imported" in again.output
    imported = [r for r in interpol.audit.records() if r.action == AuditAction.INTEROP_IMPORTED]
    assert [r.object for r in imported] == [first["message_id"]]


def test_a_confidential_bundle_travels_inside_the_encrypted_content(
    running: Federation, tmp_path: Path
) -> None:
    path = DATA / "stix" / "sighting-of-an-indicator.json"
    done = _import(running, path, "--confidential")
    interpol = running["interpol"]
    wait_state(interpol, done["message_id"], "europol", ["delivered"])
    with interpol.db.read() as conn:
        envelopes = conn.execute(
            select(tables.envelopes.c.envelope).where(
                tables.envelopes.c.message_id == done["message_id"]
            )
        ).scalars()
        payloads = [b64url_decode(e.split(".")[1]) for e in envelopes]
    assert payloads
    for payload in payloads:  # neither an object id nor an indicator's value in the clear
        assert b"indicator--9299f726" not in payload
        assert b"paypa1" not in payload
    out = tmp_path / "b.json"
    exported = _cli(
        "stix",
        "export",
        done["message_id"],
        "--dir",
        str(running.dirs["europol"]),
        "--out",
        str(out),
    )
    assert exported.exit_code == 0, exported.output
    assert _by_id(json.loads(out.read_text())).keys() >= _by_id(json.loads(path.read_text())).keys()
    received = running["europol"].messaging.open(officer(running["europol"]), done["message_id"])
    assert received.content is not None
    names = {e["properties"]["name"][0] for e in received.content["entities"]}
    assert "Beta Cyber Intelligence Company" in names  # cross-checking sees the objects


def test_a_red_bundle_is_refused_on_a_link_whose_ceiling_is_restricted(
    restricted: Federation,
) -> None:
    path = DATA / "stix" / "using-granular-markings.json"
    done = _cli(
        "stix",
        "import",
        str(path),
        "--dir",
        str(restricted.dirs["interpol"]),
        "--to",
        "ops@europol",
    )
    assert done.exit_code == 1
    assert "classification_above_ceiling" in done.output
    assert count_messages(restricted["interpol"].db, "out") == 0


# --- bad input: refused whole, naming the object and the field; nothing stored ------------

SIGHTING = DATA / "stix" / "sighting-of-an-indicator.json"
UUID = "0f4e1d2c-3b4a-4596-8788-99aabbccddee"


def _bundle(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    bundle = json.loads(SIGHTING.read_text())
    change(bundle)
    return bundle


def _objects(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["id"].split("--")[0] + o["id"][-2:]: o for o in bundle["objects"]}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"x": value}
    return value


BAD: dict[str, tuple[Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    "schema error": (
        lambda b: b["objects"][1].update(name=5),
        ("identity--39012926-a052-44c4-ae48-caaf4a10ee6e", "name", "is not of type"),
    ),
    "unknown type": (
        lambda b: b["objects"].append(
            {"type": "x-fishing-boat", "id": f"x-fishing-boat--{UUID}", "spec_version": "2.1"}
        ),
        (f"x-fishing-boat--{UUID}.type", "is not a STIX 2.1 type"),
    ),
    "dangling reference": (
        lambda b: b["objects"].pop(2),
        (
            "sighting--8356e820-8080-4692-aa91-ecbe94006833.created_by_ref",
            "refers to identity--5206ba14",
        ),
    ),
    "STIX 2.0 object in a 2.1 bundle": (
        lambda b: b["objects"][0].pop("spec_version"),
        ("indicator--9299f726-ce06-492e-8472-2b52ccb53191.spec_version", "STIX 2.0"),
    ),
    "forged TLP marking": (
        lambda b: b["objects"].append(
            {
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
                "created": "2022-10-01T00:00:00.000Z",
                "definition_type": "tlp",
                "definition": {"tlp": "white"},
            }
        ),
        ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP 1.0"),
    ),
    "unknown marking kind": (
        lambda b: b["objects"].append(
            {
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": f"marking-definition--{UUID}",
                "created": "2022-10-01T00:00:00.000Z",
                "definition_type": "iep",
                "definition": {"x": "y"},
            }
        ),
        (f"marking-definition--{UUID}.definition_type", "not a marking secureline can honour"),
    ),
    "deeply nested": (
        lambda b: b["objects"][0].update(x_deep=_nested(40)),
        ("objects[0].x_deep", "nests deeper than 32 levels"),
    ),
    "the validator itself fails": (
        lambda b: b["objects"][2].update(identity_class=7),
        ("identity--5206ba14-478f-4b0b-9a48-395f690c20a2", "could not check it"),
    ),
    "not a bundle": (
        lambda b: b.update(type="report"),
        ("type", "must be a bundle"),
    ),
    "the same version twice": (
        lambda b: b["objects"].append(dict(b["objects"][1])),
        ("identity--39012926-a052-44c4-ae48-caaf4a10ee6e.modified", "twice"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bundles_are_refused_naming_the_object_and_the_field(
    running: Federation, tmp_path: Path, case: str
) -> None:
    change, expected = BAD[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_bundle(change)))
    interpol = running["interpol"]
    done = _cli(
        "stix",
        "import",
        str(path),
        "--dir",
        str(running.dirs["interpol"]),
        "--to",
        "ops@europol",
    )
    assert done.exit_code == 1, done.output
    text = " ".join(done.output.split())
    for part in expected:
        assert part in text, text
    assert count_messages(interpol.db, "out") == 0


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        (
            "wrong spec version",
            lambda p: p.write_bytes(
                (DATA / "stix" / "malware-indicator-for-file-hash-stix20.json").read_bytes()
            ),
            ("spec_version", "STIX 2.0", "wrong_spec_version"),
        ),
        ("a 100 MB file", lambda p: _sparse(p, 100 * 2**20), ("104,857,600 bytes", "too_large")),
        (
            "JSON nested beyond the parser",
            lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
            ("nests too deeply", "invalid_json"),
        ),
        (
            "a key twice",
            lambda p: p.write_text('{"type": "bundle", "type": "bundle"}'),
            ("names the key 'type' twice",),
        ),
        ("not JSON", lambda p: p.write_text("{bundle"), ("is not JSON",)),
        (
            "no objects",
            lambda p: p.write_text(
                json.dumps({"type": "bundle", "id": f"bundle--{UUID}", "objects": []})
            ),
            ("objects", "non-empty list"),
        ),
    ],
)
def test_bad_files_are_refused_before_anything_is_stored(
    running: Federation,
    tmp_path: Path,
    name: str,
    write: Callable[[Path], Any],
    expected: tuple[str, ...],
) -> None:
    path = tmp_path / "bad.json"
    write(path)
    done = _cli(
        "stix",
        "import",
        str(path),
        "--dir",
        str(running.dirs["interpol"]),
        "--to",
        "ops@europol",
    )
    assert done.exit_code == 1, done.output
    text = " ".join(done.output.split())
    for part in expected:
        assert part in text, (name, text)
    assert count_messages(running["interpol"].db, "out") == 0


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.truncate(size)


def test_a_partly_valid_bundle_is_refused_whole_unless_skip_invalid(
    running: Federation, tmp_path: Path
) -> None:
    def spoil(bundle: dict[str, Any]) -> None:
        bundle["objects"][2]["name"] = 7  # Beta: invalid
        # the sighting refers to Beta: it goes too; the indicator and Alpha stay

    path = tmp_path / "partly.json"
    path.write_text(json.dumps(_bundle(spoil)))
    where = str(running.dirs["interpol"])
    refused = _cli("stix", "import", str(path), "--dir", where, "--to", "ops@europol")
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "identity--5206ba14-478f-4b0b-9a48-395f690c20a2.name" in text
    assert "1 more object" in text
    assert count_messages(running["interpol"].db, "out") == 0

    done = _import(running, path, "--skip-invalid")
    assert done["objects"] == 2
    skipped = {s["id"]: s for s in done["skipped"]}
    assert skipped.keys() == {
        "identity--5206ba14-478f-4b0b-9a48-395f690c20a2",
        "sighting--8356e820-8080-4692-aa91-ecbe94006833",
    }
    assert skipped["identity--5206ba14-478f-4b0b-9a48-395f690c20a2"]["field"] == "name"
    assert (
        "refers to identity--5206ba14"
        in (skipped["sighting--8356e820-8080-4692-aa91-ecbe94006833"]["reason"])
    )
    listed = _cli(
        "stix", "import", str(path), "--dir", where, "--to", "ops@europol", "--skip-invalid"
    )
    assert "skipped sighting--8356e820" in listed.output


def test_persons_need_their_categories_and_too_many_entities_are_refused(
    running: Federation, tmp_path: Path
) -> None:
    where = str(running.dirs["interpol"])

    def person(bundle: dict[str, Any]) -> None:
        bundle["objects"][1]["identity_class"] = "individual"

    path = tmp_path / "person.json"
    path.write_text(json.dumps(_bundle(person)))
    refused = _cli("stix", "import", str(path), "--dir", where, "--to", "ops@europol")
    assert refused.exit_code == 1
    assert "data_subjects" in refused.output
    done = _import(running, path, "--data-subject", "suspect")
    assert done["entities"] == 3

    many = {
        "type": "bundle",
        "id": f"bundle--{UUID}",
        "objects": [
            {
                "type": "identity",
                "spec_version": "2.1",
                "id": f"identity--{UUID[:-4]}{i:04x}",
                "created": "2020-01-01T00:00:00.000Z",
                "modified": "2020-01-01T00:00:00.000Z",
                "name": f"Org {i}",
                "identity_class": "organization",
            }
            for i in range(1001)
        ],
    }
    big = tmp_path / "many.json"
    big.write_text(json.dumps(many))
    too_many = _cli("stix", "import", str(big), "--dir", where, "--to", "ops@europol")
    assert too_many.exit_code == 1
    assert "too_many_entities" in too_many.output
    no_to = _cli("stix", "import", str(SIGHTING), "--dir", where)
    assert no_to.exit_code == 1
    assert "give --to" in no_to.output


# --- MISP ----------------------------------------------------------------------------------

EVENT = DATA / "misp" / "event.json"


def _misp(fed: Federation, path: Path, *extra: str) -> Any:
    return _cli(
        "misp",
        "import",
        str(path),
        "--dir",
        str(fed.dirs["interpol"]),
        "--to",
        "ops@europol",
        *extra,
    )


def _event_file(tmp_path: Path, change: Callable[[dict[str, Any]], Any], wrap: bool = True) -> Path:
    event = json.loads(EVENT.read_text())["Event"]
    change(event)
    path = tmp_path / f"event-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps({"Event": event} if wrap else event))
    return path


def test_a_misp_event_crosses_the_line_and_pymisp_loads_it_back(
    running: Federation, tmp_path: Path
) -> None:
    done = _misp(running, EVENT, "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["objects"] == 6  # five attributes and one object
    # domain, IP, e-mail, wallet, the object's SHA-256 and the galaxy's threat actor
    assert answer["entities"] == 6
    assert answer["skipped"] == []
    message_id = answer["message_id"]
    wait_state(running["interpol"], message_id, "europol", ["delivered"])
    europol = running["europol"]
    received = europol.messaging.open(officer(europol), message_id)
    assert received.header.handling == "H2"  # tlp:amber, distribution 1: AMBER
    schemata = {e["schema"] for e in received.content["entities"]}
    assert schemata == {"Note", "CryptoWallet", "Document", "LegalEntity"}

    out = tmp_path / "event-out.json"
    exported = _cli(
        "misp", "export", message_id, "--dir", str(running.dirs["europol"]), "--out", str(out)
    )
    assert exported.exit_code == 0, exported.output
    written = json.loads(out.read_text())
    event = MISPEvent()
    event.load(copy.deepcopy(written))  # PyMISP reads it without error (and eats the dict)
    given = json.loads(EVENT.read_text())["Event"]
    assert {a.uuid for a in event.attributes} == {a["uuid"] for a in given["Attribute"]}
    assert [o.uuid for o in event.objects] == [given["Object"][0]["uuid"]]
    assert event.objects[0].references[0].referenced_uuid == given["Attribute"][0]["uuid"]
    assert "tlp:amber" in {t.name for t in event.tags}
    assert "PAP:GREEN" in {t.name for t in event.tags}
    assert written["Event"]["Galaxy"] == given["Galaxy"]
    assert written["Event"]["Attribute"][0]["Sighting"] == given["Attribute"][0]["Sighting"]


def test_misp_json_with_and_without_the_event_wrapper_and_its_markings(
    running: Federation, tmp_path: Path
) -> None:
    bare = _event_file(tmp_path, lambda e: None, wrap=False)
    done = _misp(running, bare, "--dry-run", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["objects"] == 6

    def tagged(tag: str) -> Callable[[dict[str, Any]], Any]:
        return lambda e: e["Tag"].append({"name": tag})

    cases: list[tuple[Callable[[dict[str, Any]], Any], str, str]] = [
        (lambda e: e.update(distribution="0"), "H3", "AMBER+STRICT"),
        (tagged("tlp:red"), "H3", "TLP:RED"),
        (tagged("PAP:RED"), "H3", "PAP:RED"),
        (lambda e: e.update(distribution="4", sharing_group_id="7"), "H3", "sharing group 7"),
        (lambda e: e["Attribute"][1].update(distribution="0"), "H3", "AMBER+STRICT"),
        (lambda e: e.update(distribution="3", Tag=[]), "H0", ""),
    ]
    interpol = running["interpol"]
    for change, handling, conditions in cases:
        path = _event_file(tmp_path, change)
        done = _misp(running, path, "--json")
        assert done.exit_code == 0, done.output
        message_id = json.loads(done.output)["message_id"]
        header = interpol.messaging.status(officer(interpol), message_id).header
        assert header.handling == handling, (handling, header)
        assert conditions in (header.handling_conditions or "")


def test_a_stix_import_exports_as_a_misp_event(running: Federation, tmp_path: Path) -> None:
    done = _import(running, SIGHTING)
    out = tmp_path / "e.json"
    exported = _cli(
        "misp",
        "export",
        done["message_id"],
        "--dir",
        str(running.dirs["interpol"]),
        "--out",
        str(out),
    )
    assert exported.exit_code == 0, exported.output
    event = MISPEvent()
    event.load(json.loads(out.read_text()))
    assert {(a.type, a.value) for a in event.attributes} >= {("url", "http://paypa1.banking.com")}
    assert {t.name for t in event.tags} == {"tlp:amber"}
    no_stix = _cli(
        "stix",
        "export",
        json.loads(_misp(running, EVENT, "--json").output)["message_id"],
        "--dir",
        str(running.dirs["interpol"]),
    )
    assert no_stix.exit_code == 1
    assert "carries no STIX bundle" in no_stix.output


MISP_BAD: dict[str, tuple[Callable[[dict[str, Any]], Any], tuple[str, ...]]] = {
    "unknown attribute type": (
        lambda e: e["Attribute"][0].update(type="fishing-boat"),
        ("Attribute[0] (5f0a4c2e-9b3d-4e61-8c1a-2d7e9f3b6a02).type", "not a MISP attribute type"),
    ),
    "dangling object reference": (
        lambda e: e["Object"][0]["ObjectReference"][0].update(referenced_uuid="nowhere"),
        (
            "Object[0] (5f0a4c2e-9b3d-4e61-8c1a-2d7e9f3b6a10).ObjectReference[0].referenced_uuid",
            "which the event does not hold",
        ),
    ),
    "bad distribution": (
        lambda e: e.update(distribution="9"),
        ("Event.distribution", "not a MISP distribution level"),
    ),
    "unknown TLP label": (
        lambda e: e["Tag"].append({"name": "tlp:purple"}),
        ("Tag.name", "not a TLP label"),
    ),
    "attribute without a value": (
        lambda e: e["Attribute"][1].pop("value"),
        ("Attribute[1] (5f0a4c2e-9b3d-4e61-8c1a-2d7e9f3b6a03).value", "needs a value"),
    ),
    "deeply nested": (
        lambda e: e.update(x=_nested(40)),
        ("nests deeper than 32 levels",),
    ),
}


@pytest.mark.parametrize("case", sorted(MISP_BAD))
def test_bad_misp_events_are_refused_naming_the_attribute_and_the_field(
    running: Federation, tmp_path: Path, case: str
) -> None:
    change, expected = MISP_BAD[case]
    done = _misp(running, _event_file(tmp_path, change))
    assert done.exit_code == 1, done.output
    text = " ".join(done.output.split())
    for part in expected:
        assert part in text, text
    assert count_messages(running["interpol"].db, "out") == 0


def test_not_a_misp_event_and_the_same_event_twice(running: Federation, tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    done = _misp(running, path)
    assert done.exit_code == 1
    assert "a MISP event is an object" in done.output
    first = json.loads(_misp(running, EVENT, "--json").output)
    second = json.loads(_misp(running, EVENT, "--json").output)
    assert first["message_id"] == second["message_id"]
    assert count_messages(running["interpol"].db, "out") == 1


@pytest.mark.timeout(300)  # a process of its own opens the node: tens of seconds when loaded
def test_the_console_entry_point_and_a_reused_file_with_other_options(
    running: Federation, tmp_path: Path
) -> None:
    """``python -m secureline.cli.main`` (what the ``secureline`` script runs) in a process of
    its own, on the node's directory; then the same file sent elsewhere is a different request
    under the same key: refused, not a second message."""
    import os
    import subprocess
    import sys

    where = str(running.dirs["interpol"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    bad = tmp_path / "big.json"
    _sparse(bad, 100 * 2**20)
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "secureline.cli.main",
            "misp",
            "import",
            str(bad),
            "--dir",
            where,
            "--to",
            "ops@europol",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert "too_large" in refused.stderr

    first = _import(running, SIGHTING)
    elsewhere = _cli(
        "stix",
        "import",
        str(SIGHTING),
        "--dir",
        where,
        "--to",
        "ops@europol",
        "--to",
        "other@europol",
    )
    assert elsewhere.exit_code == 1
    assert "idempotency_key_reused" in elsewhere.output
    assert count_messages(running["interpol"].db, "out") == 1
    assert first["message_id"]
