"""The TAXII 2.1 server under ``/taxii2/`` on a running node's API port, read by the OASIS
client (``taxii2-client``) over loopback HTTP (issue 18, item 2): discovery, collections,
objects paged with ``next``, ``added_after``, the ``match`` filters, versions, the manifest,
and what a reader may not read never appearing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from secureline.node.compose import Node
from secureline.services.interop.stix import StixOptions
from secureline.services.roles import Principal, Role
from tests.integration.support import PAIR, Federation, officer

CC = "8b7f1c8e-6c1f-4d2e-9d0e-2f3a4b5c6d7e"  # the cc unit's cyber-crime collection
FIN = "1a2b3c4d-1111-4222-8333-944455556666"  # the fin unit's
ACCEPT = "application/taxii+json;version=2.1"
PASSWORD = "correct horse battery staple"


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def _id(n: int) -> str:
    return f"indicator--{uuid.UUID(int=n, version=4)}"


def _indicator(n: int, modified: str = "2024-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _id(n),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"bad domain {n}",
        "pattern": f"[domain-name:value = 'bad{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }


def _bundle(path: Path, objects: list[dict[str, Any]]) -> Path:
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    path.write_text(json.dumps(bundle))
    return path


def _import(node: Node, who: Principal, path: Path) -> str:
    done = node.stix.import_bundle(who, path, StixOptions(to=["ops@europol"]))
    assert done.message_id is not None
    return done.message_id


@pytest.fixture
def served(
    federation_factory: Callable[..., Federation], tmp_path: Path
) -> tuple[Node, dict[str, str]]:
    """interpol, its TAXII collections configured for units cc and fin, holding: 25
    indicators and two versions of indicator 1000 sent by cc, one indicator (9999) sent by
    fin; tokens for alice (cc) and bob (fin)."""
    fed = federation_factory(PAIR, start=())
    config = fed.dirs["interpol"] / "node.toml"
    config.write_text(
        config.read_text()
        + f"""
[taxii]
title = "interpol TAXII"

[[taxii.collections]]
id = "{CC}"
title = "cc cyber-crime"
unit = "cc"
crime_area = "cyber-crime"

[[taxii.collections]]
id = "{FIN}"
title = "fin"
unit = "fin"
"""
    )
    fed.start("europol")
    node = fed.start("interpol")
    node.accounts.add_unit("test", "fin")
    node.accounts.add_user("test", "alice", "cc", "officer", PASSWORD)
    node.accounts.add_user("test", "bob", "fin", "officer", PASSWORD)
    tokens = {u: node.accounts.create_token("test", u) for u in ("alice", "bob")}
    cc = officer(node)
    _import(node, cc, _bundle(tmp_path / "many.json", [_indicator(n) for n in range(25)]))
    _import(node, cc, _bundle(tmp_path / "v1.json", [_indicator(1000)]))
    newer = _indicator(1000, "2024-06-01T00:00:00.000Z")
    _import(node, cc, _bundle(tmp_path / "v2.json", [newer]))
    fin = Principal("test-fin", "test:fin@interpol", "fin", Role.OFFICER)
    _import(node, fin, _bundle(tmp_path / "fin.json", [_indicator(9999)]))
    return node, tokens


def test_a_purged_messages_objects_are_gone(
    served: tuple[Node, dict[str, str]], tmp_path: Path
) -> None:
    node, tokens = served
    collection = _collection(node, tokens["alice"])
    doomed = _import(node, officer(node), _bundle(tmp_path / "doomed.json", [_indicator(77)]))
    assert _ids(collection.get_objects(id=_id(77))) == [_id(77)]
    node.retention.purge(officer(node), doomed, "no longer needed")
    assert _ids(collection.get_objects(id=_id(77))) == []
    assert collection.get_manifest(id=_id(77)) == {"more": False}


def _collection(node: Node, token: str, collection: str = CC) -> Collection:
    url = f"{node.api_url}/taxii2/secureline/collections/{collection}/"
    return Collection(url, auth=Bearer(token))


def _ids(envelope: dict[str, Any]) -> list[str]:
    return [o["id"] for o in envelope.get("objects", [])]


def test_discovery_api_root_and_collections(served: tuple[Node, dict[str, str]]) -> None:
    node, tokens = served
    server = Server(f"{node.api_url}/taxii2/", auth=Bearer(tokens["alice"]))
    assert server.title == "interpol TAXII"
    root: ApiRoot = server.default
    assert root.url == f"{node.api_url}/taxii2/secureline/"
    assert "application/taxii+json;version=2.1" in root.versions
    found = {c.id: c for c in root.collections}
    assert set(found) == {CC, FIN}
    assert found[CC].title == "cc cyber-crime"
    assert found[CC].can_read
    assert not found[CC].can_write


def test_objects_are_paged_with_next_and_filtered(served: tuple[Node, dict[str, str]]) -> None:
    node, tokens = served
    collection = _collection(node, tokens["alice"])
    pages = list(as_pages(collection.get_objects, per_request=10))
    assert [len(p["objects"]) for p in pages] == [10, 10, 6]
    ids = [i for p in pages for i in _ids(p)]
    assert len(ids) == len(set(ids)) == 26  # the last version of 1000 only
    assert _id(9999) not in ids  # fin's, not cc's
    # every unmarked object carries the message's marking (TLP:AMBER, H2)
    assert all(o["object_marking_refs"] for p in pages for o in p["objects"])

    raw = httpx.get(
        f"{collection.url}objects/",
        params={"limit": "10"},
        headers={"Accept": ACCEPT, "Authorization": f"Bearer {tokens['alice']}"},
    )
    assert raw.headers["content-type"] == ACCEPT
    last_added = raw.headers["X-TAXII-Date-Added-Last"]
    # the first page is all of the first message's (one date added): after it, the later
    # messages' objects only
    after = collection.get_objects(added_after=last_added)
    assert _ids(after) == [_id(1000)]
    assert collection.get_objects(added_after="2999-01-01T00:00:00Z") == {"more": False}

    two = [_id(n) for n in (3, 7)]
    assert sorted(_ids(collection.get_objects(id=two))) == sorted(two)
    assert len(_ids(collection.get_objects(type="indicator", limit=100))) == 26
    assert _ids(collection.get_objects(type="malware")) == []


def test_versions_first_last_all_and_manifest(served: tuple[Node, dict[str, str]]) -> None:
    node, tokens = served
    collection = _collection(node, tokens["alice"])
    versioned = _id(1000)
    assert collection.object_versions(versioned)["versions"] == [
        "2024-01-01T00:00:00.000000Z",
        "2024-06-01T00:00:00.000000Z",
    ]
    last = collection.get_object(versioned)["objects"]
    assert [o["modified"] for o in last] == ["2024-06-01T00:00:00.000Z"]
    first = collection.get_object(versioned, version="first")["objects"]
    assert [o["modified"] for o in first] == ["2024-01-01T00:00:00.000Z"]
    every = collection.get_objects(id=versioned, version="all")["objects"]
    assert len(every) == 2
    exact = collection.get_objects(id=versioned, version="2024-01-01T00:00:00.000Z")
    assert [o["modified"] for o in exact["objects"]] == ["2024-01-01T00:00:00.000Z"]
    manifest = collection.get_manifest(id=versioned, version="all")["objects"]
    assert {m["version"] for m in manifest} == {
        "2024-01-01T00:00:00.000000Z",
        "2024-06-01T00:00:00.000000Z",
    }
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)


def test_what_a_reader_may_not_read_never_appears(served: tuple[Node, dict[str, str]]) -> None:
    """bob (unit fin) may read none of the messages cc sent: cc's collection is empty for
    him, in objects, manifest, versions and the object itself; alice (cc) does not see
    fin's object in fin's collection."""
    node, tokens = served
    as_bob = _collection(node, tokens["bob"])
    forbidden = _id(1000)
    assert _ids(as_bob.get_objects()) == []
    assert as_bob.get_manifest() == {"more": False}
    for call in (as_bob.get_object, as_bob.object_versions):
        with pytest.raises(requests.HTTPError) as refused:
            call(forbidden)
        assert refused.value.response.status_code == 404
        assert refused.value.response.json()["http_status"] == "404"
    as_alice = _collection(node, tokens["alice"], FIN)
    assert _ids(as_alice.get_objects()) == []
    assert _ids(_collection(node, tokens["bob"], FIN).get_objects()) == [_id(9999)]


def test_refusals_are_taxii_errors(served: tuple[Node, dict[str, str]]) -> None:
    node, tokens = served
    base = f"{node.api_url}/taxii2"
    auth = {"Authorization": f"Bearer {tokens['alice']}"}

    def error(answer: httpx.Response, status: int, code: str) -> None:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == ACCEPT
        body = answer.json()
        assert body["http_status"] == str(status)
        assert body["error_code"] == code
        assert body["title"]

    error(httpx.get(f"{base}/", headers={"Accept": ACCEPT}), 401, "not_authenticated")
    bad = {"Accept": ACCEPT, "Authorization": "Bearer slt_forged"}
    error(httpx.get(f"{base}/", headers=bad), 401, "not_authenticated")
    error(
        httpx.get(f"{base}/", headers=auth | {"Accept": "application/json"}), 406, "not_acceptable"
    )
    old = auth | {"Accept": "application/taxii+json;version=2.0"}
    error(httpx.get(f"{base}/", headers=old), 406, "not_acceptable")
    taxii = auth | {"Accept": ACCEPT}
    error(httpx.get(f"{base}/elsewhere/", headers=taxii), 404, "not_found")
    error(
        httpx.get(f"{base}/secureline/collections/{uuid.uuid4()}/", headers=taxii), 404, "not_found"
    )
    objects = f"{base}/secureline/collections/{CC}/objects/"
    error(
        httpx.get(objects, params={"added_after": "yesterday"}, headers=taxii), 400, "invalid_input"
    )
    error(httpx.get(objects, params={"next": "forged"}, headers=taxii), 400, "invalid_input")
    error(httpx.get(objects, params={"limit": "0"}, headers=taxii), 400, "invalid_input")
    spec = {"match[spec_version]": "2.0"}
    error(httpx.get(objects, params=spec, headers=taxii), 400, "invalid_input")
    posted = httpx.post(objects, json={"objects": []}, headers=taxii)
    error(posted, 403, "read_only")
    error(httpx.get(f"{base}/secureline/status/{uuid.uuid4()}/", headers=taxii), 404, "not_found")
    with pytest.raises(requests.HTTPError) as refused:
        Server(f"{base}/", auth=Bearer("slt_forged")).refresh()
    assert refused.value.response.status_code == 401
