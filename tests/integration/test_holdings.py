"""Issue 16, items 1, 2 and 4: holdings imported in bulk (FtM JSON lines, CSV with a column
mapping), matched across scripts and by strong identifiers, from the CLI and the API, and
only within what the caller's unit may see. The CLI runs through its typer app; the API
through its real edge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from secureline.cli import common
from secureline.cli.federation import build
from secureline.cli.main import app
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from tests.conftest import StoreFor
from tests.integration.support import PAIR, log_in

runner = CliRunner()

PEOPLE = [
    {"id": "p-putin", "schema": "Person",
     "properties": {"name": ["Владимир Путин"], "birthDate": ["1952-10-07"],
                    "nationality": ["ru"]}},
    {"id": "p-lyudmila", "schema": "Person", "properties": {"name": ["Людмила Путина"]}},
    {"id": "p-kim", "schema": "Person",
     "properties": {"name": ["김정은"], "birthDate": ["1984-01-08"]}},
    {"id": "p-kim-il", "schema": "Person", "properties": {"name": ["김정일"]}},
    {"id": "p-rabin", "schema": "Person", "properties": {"name": ["יצחק רבין"]}},
    {"id": "p-doc", "schema": "Person",
     "properties": {"name": ["Jane Roe"], "passportNumber": ["X 123-456 78"],
                    "phone": ["+44 20 7946 0958"]}},
    {"id": "v-1", "schema": "Vessel",
     "properties": {"name": ["Ocean Star"], "imoNumber": ["IMO 9074729"]}},
]  # fmt: skip


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_for: StoreFor) -> Iterator[Node]:
    # on PostgreSQL when SECURELINE_TEST_DATABASE_URL is set, like every store test
    node = Node(build(tmp_path, *PAIR, store=store_for)["interpol"])
    monkeypatch.setattr(common, "node_at", lambda directory: node)
    monkeypatch.setattr(common.err, "width", 300)
    node.accounts.add_unit("test", "cyber")
    yield node
    node.db.dispose()


def _jsonl(path: Path, entities: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), "utf-8")
    return path


def _import(path: Path, *extra: str, unit: str = "cc", source: str = "register") -> Result:
    args = ["holdings", "import", str(path), "--dir", "here", "--source", source, "--unit", unit]
    return runner.invoke(app, [*args, *extra, "--json"])


def _match(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["match", *args, "--dir", "here", "--json"])
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_a_name_finds_its_rendering_in_another_script_with_the_reasons(
    node: Node, tmp_path: Path
) -> None:
    done = _import(_jsonl(tmp_path / "people.jsonl", PEOPLE), "--handling", "H2")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"source": "register", "entities": 7, "lines": 7}
    log_in(node, "here")
    found = _match("--name", "Vladimir Putin", "--birth-date", "1952")
    assert found[0]["entity_id"] == "p-putin"
    assert (found[0]["handling"], found[0]["source"], found[0]["unit"]) == ("H2", "register", "cc")
    reasons = {r["property"]: r for r in found[0]["reasons"]}  # type: ignore[index, union-attr]
    assert reasons["birthDate"]["agrees"] is True
    assert float(found[0]["score"]) >= 0.8  # type: ignore[arg-type]
    # the same family name is not the same person
    assert all(f["entity_id"] != "p-lyudmila" or float(f["score"]) < 0.8 for f in found)  # type: ignore[arg-type]
    kim = _match("--name", "Kim Jong-un", "--threshold", "0.8")
    assert [f["entity_id"] for f in kim] == ["p-kim"]
    rabin = _match("--name", "Yitzhak Rabin", "--threshold", "0.8")
    assert [f["entity_id"] for f in rabin] == ["p-rabin"]


def test_a_birth_date_that_disagrees_counts_against(node: Node, tmp_path: Path) -> None:
    assert _import(_jsonl(tmp_path / "people.jsonl", PEOPLE)).exit_code == 0
    log_in(node, "here")
    found = _match("--name", "Kim Jong-un", "--birth-date", "1941-02-16")
    kim = next(f for f in found if f["entity_id"] == "p-kim")
    assert float(kim["score"]) < 0.8  # type: ignore[arg-type]
    reasons = {r["property"]: r for r in kim["reasons"]}  # type: ignore[union-attr]
    assert reasons["birthDate"]["agrees"] is False  # type: ignore[index]


def test_strong_identifiers_match_exactly_after_normalisation(node: Node, tmp_path: Path) -> None:
    assert _import(_jsonl(tmp_path / "people.jsonl", PEOPLE)).exit_code == 0
    log_in(node, "here")
    found = _match("--name", "J. R.", "--id", "passportNumber=x12345678", "--threshold", "0.99")
    assert [f["entity_id"] for f in found] == ["p-doc"]
    found = _match("--name", "someone", "--id", "phone=+442079460958", "--threshold", "0.99")
    assert [f["entity_id"] for f in found] == ["p-doc"]
    ship = _match("--name", "Star", "--schema", "Vessel", "--id", "imoNumber=9074729")
    assert ship[0]["entity_id"] == "v-1"
    assert float(ship[0]["score"]) == 1.0  # type: ignore[arg-type]


def test_a_reimport_is_idempotent(node: Node, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "people.jsonl", PEOPLE)
    assert _import(path).exit_code == 0
    assert _import(path).exit_code == 0
    assert node.holdings.count() == len(PEOPLE)
    assert _import(path, source="other").exit_code == 0  # another source holds its own copy
    assert node.holdings.count() == 2 * len(PEOPLE)


def test_a_broken_line_in_the_middle_keeps_nothing_and_names_the_line(
    node: Node, tmp_path: Path
) -> None:
    path = tmp_path / "broken.jsonl"
    lines = [json.dumps(e, ensure_ascii=False) for e in PEOPLE]
    lines.insert(3, '{"id": "x", "schema": "Person", "properties": {')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _import(path)
    assert done.exit_code == 1
    assert "broken.jsonl line 4" in done.output
    assert node.holdings.count() == 0
    # fixed, the same command imports it all (the import is resumed by running it again)
    del lines[3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _import(path).exit_code == 0
    assert node.holdings.count() == len(PEOPLE)


def test_an_unknown_schema_is_refused_with_its_line(node: Node, tmp_path: Path) -> None:
    bad = [*PEOPLE[:2], {"id": "z", "schema": "Spaceship", "properties": {}}]
    done = _import(_jsonl(tmp_path / "bad.jsonl", bad))
    assert done.exit_code == 1
    assert "bad.jsonl line 3" in done.output
    assert "unknown schema 'Spaceship'" in done.output
    assert node.holdings.count() == 0


CSV = "ref,full_name,dob\nr1,Иван Петров,1970-01-02\nr2,Ahmed Hassan,1980\n"


def test_csv_with_a_column_mapping(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = ["--map", "id=ref", "--map", "name=full_name", "--map", "birthDate=dob"]
    done = _import(path, "--schema", "Person", *mapping)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["entities"] == 2
    log_in(node, "here")
    assert _match("--name", "Ivan Petrov", "--threshold", "0.8")[0]["entity_id"] == "r1"


def test_csv_refusals_name_the_column_or_the_line(node: Node, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    wrong = _import(path, "--schema", "Person", "--map", "id=ref", "--map", "name=nom")
    assert wrong.exit_code == 1
    assert "people.csv line 1" in wrong.output
    assert "no column 'nom'" in wrong.output
    no_id = _import(path, "--schema", "Person", "--map", "name=full_name")
    assert no_id.exit_code == 1
    assert "id=COLUMN is required" in no_id.output
    no_prop = _import(path, "--schema", "Person", "--map", "id=ref", "--map", "colour=dob")
    assert no_prop.exit_code == 1
    assert "has no property 'colour'" in no_prop.output
    short = tmp_path / "short.csv"
    short.write_text("ref,full_name\nr1,A B\nr2\nr3,C D\n", encoding="utf-8")
    done = _import(short, "--schema", "Person", "--map", "id=ref", "--map", "name=full_name")
    assert done.exit_code == 1
    assert "short.csv line 3" in done.output
    assert node.holdings.count() == 0


def test_an_import_names_a_unit_and_handling_code_that_exist(node: Node, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "people.jsonl", PEOPLE)
    nobody = _import(path, unit="nobody")
    assert nobody.exit_code == 1
    assert "no unit 'nobody'" in nobody.output
    bad_code = _import(path, "--handling", "H9")
    assert bad_code.exit_code == 1
    assert "not a handling code" in bad_code.output
    assert node.holdings.count() == 0


def test_a_unit_sees_only_its_own_holdings(node: Node, tmp_path: Path) -> None:
    assert _import(_jsonl(tmp_path / "p.jsonl", PEOPLE[:1]), unit="cyber").exit_code == 0
    log_in(node, "here")  # an officer of cc
    assert _match("--name", "Vladimir Putin") == []
    log_in(node, "here", unit="cyber")
    assert [f["entity_id"] for f in _match("--name", "Vladimir Putin")] == ["p-putin"]


def test_the_api_matches_for_the_callers_unit(node: Node, tmp_path: Path) -> None:
    assert _import(_jsonl(tmp_path / "people.jsonl", PEOPLE)).exit_code == 0
    node.accounts.add_user("test", "bob", "cc", "officer", "correct horse battery staple")
    node.accounts.add_user("test", "carol", "cyber", "officer", "correct horse battery staple")
    client = TestClient(create_app(node.api_services()))
    bob = {"Authorization": f"Bearer {node.accounts.create_token('test', 'bob')}"}
    carol = {"Authorization": f"Bearer {node.accounts.create_token('test', 'carol')}"}
    body = {"name": "Kim Jong-un", "birth_date": "1984", "threshold": 0.8}
    found = client.post("/api/v1/match", json=body, headers=bob)
    assert found.status_code == 200, found.text
    assert [c["entity_id"] for c in found.json()] == ["p-kim"]
    assert found.json()[0]["schema"] == "Person"
    assert client.post("/api/v1/match", json=body, headers=carol).json() == []
    unknown = client.post("/api/v1/match", json={"name": "x", "schema": "Nope"}, headers=bob)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_schema")
    extra = client.post("/api/v1/match", json={"name": "x", "colour": "red"}, headers=bob)
    assert extra.status_code == 422
    not_a_number = client.post("/api/v1/match", json={"name": "x", "threshold": False}, headers=bob)
    assert not_a_number.status_code == 422
    assert client.post("/api/v1/match", json=body).status_code == 401
