"""Versions meet (issue 14): a node states the protocol version and kinds it supports in its
peer file, a sender never sends a partner a kind it does not support (and tells the user
why), and a kind a node does not know, from a newer partner, is refused on its own with
evidence, never failing the transaction.

europol here takes every kind but ``strategic-report`` (``[line] kinds`` in its node.toml,
set by the federation's NodeSpec), so it plays a node of an older version; interpol and
ncb-madrid take every kind of protocol 1.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from secureline.cli import common
from secureline.cli.federation import LinkSpec
from secureline.cli.main import app
from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind
from secureline.interfaces.api.app import create_app
from secureline.node.compose import Node
from secureline.node.errors import NodeError
from secureline.node.peering import parse_peer_file
from secureline.services.errors import Refused
from secureline.services.line.capabilities import PROTOCOL_1
from secureline.services.line.wire import EvidenceItem, envelope_digest
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
    transaction_body,
    wait_state,
)

OLDER = sorted(str(k) for k in PROTOCOL_KINDS[1] if k is not Kind.STRATEGIC_REPORT)
OLDER_EUROPOL = dataclasses.replace(SPECS["europol"], kinds=OLDER)
MIXED_PAIR = ([SPECS["interpol"], OLDER_EUROPOL], [LinkSpec("interpol", "europol")])
MIXED_CHAIN = (
    [SPECS["ncb-madrid"], SPECS["interpol"], OLDER_EUROPOL],
    [LinkSpec("ncb-madrid", "interpol"), LinkSpec("interpol", "europol")],
)
# a strategic report (its body the report, no personal data: domain/strategic.py)
REPORT = {"kind": "strategic-report", **STRATEGIC}
runner = CliRunner()


@pytest.fixture
def mixed(federation_factory: Callable[..., Federation]) -> Federation:
    return federation_factory(MIXED_PAIR)


@pytest.fixture
def mixed_chain(federation_factory: Callable[..., Federation]) -> Federation:
    return federation_factory(MIXED_CHAIN)


def _as(fed: Federation, origin: str, receiver: str) -> ssl.SSLContext:
    layout = fed.layout(origin)
    ca = fed.layout(receiver).ca_certificate.read_bytes()
    return identity_context(ca, layout.tls_certificate, layout.tls_key)


def _kind(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda header: header.update(kind=value)


def _push(fed: Federation, origin: str, receiver: str, txn: str, tokens: list[str]) -> Any:
    """One transaction of ``tokens`` from ``origin`` to ``receiver``, as its line client."""
    node = fed[receiver]
    return put(
        _as(fed, origin, receiver),
        node,
        txn,
        transaction_body([(t, [origin]) for t in tokens]),
        node.directory.agreement_digest(origin),
    )


def _by_envelope(items: list[EvidenceItem]) -> dict[str, EvidenceItem]:
    return {item.envelope_sha256: item for item in items}


def _refusals_audited(node: Node, message_id: str) -> list[str]:
    with node.db.read() as conn:
        details = conn.execute(
            select(audit_records.c.detail_json).where(
                audit_records.c.object == message_id,
                audit_records.c.action == "message.refused",
            )
        ).scalars()
        return [orjson.loads(d)["reason"] for d in details]


# --- a kind the receiver does not know ------------------------------------------------------


def test_a_kind_from_a_newer_partner_is_refused_alone_with_evidence(mixed: Federation) -> None:
    """A kind no version here defines, and one europol's software knows but does not take:
    each is refused with unknown_kind and signed evidence; the rest of the transaction is
    delivered; a kind that is not a kind name at all is a malformed header."""
    interpol, europol = mixed["interpol"], mixed["europol"]
    newer_id, newer = craft_envelope(
        interpol, "ops@europol", seed=1, header_change=_kind("case-update")
    )
    older_id, older = craft_envelope(
        interpol, "ops@europol", seed=2, header_change=_kind("strategic-report")
    )
    _, garbage = craft_envelope(
        interpol, "ops@europol", seed=3, header_change=_kind("Case Update!")
    )
    _, listed = craft_envelope(interpol, "ops@europol", seed=4, header_change=_kind(["x"]))
    valid_id, valid = craft_envelope(interpol, "ops@europol", seed=5)

    answer = _push(
        mixed, "interpol", "europol", "t-kinds-0001", [newer, valid, older, garbage, listed]
    )

    items = _by_envelope(evidence_items(answer, interpol))
    assert len(items) == 5
    for token, kind in ((newer, "case-update"), (older, "strategic-report")):
        item = items[envelope_digest(token)]
        assert (item.kind.value, item.reason_code) == ("refused", "unknown_kind")
        assert item.reason_text is not None
        assert f"europol does not support the kind {kind!r}" in item.reason_text
        assert "protocol 1" in item.reason_text
    assert items[envelope_digest(newer)].message_id == newer_id
    for token in (garbage, listed):
        assert items[envelope_digest(token)].reason_code == "invalid_header"
    assert (
        items[envelope_digest(valid)].kind.value,
        items[envelope_digest(valid)].reason_code,
    ) == ("delivered", None)
    assert _refusals_audited(europol, newer_id) == ["unknown_kind"]
    assert _refusals_audited(europol, older_id) == ["unknown_kind"]
    assert count_rows(europol, tables.messages) == 1  # only the valid one stored
    assert valid_id


def test_a_relay_refuses_a_kind_it_does_not_know(mixed_chain: Federation) -> None:
    """interpol relays ncb-madrid's traffic to europol: a kind unknown to interpol is
    unknown_kind there; one interpol knows but europol does not take is kind_not_supported
    (the relay does not queue what its next hop would refuse); the rest is relayed."""
    ncb = mixed_chain["ncb-madrid"]
    _, newer = craft_envelope(ncb, "ops@europol", seed=1, header_change=_kind("case-update"))
    _, report = craft_envelope(ncb, "ops@europol", seed=2, header_change=_kind("strategic-report"))
    _, valid = craft_envelope(ncb, "ops@europol", seed=3)

    answer = _push(mixed_chain, "ncb-madrid", "interpol", "t-kinds-0002", [newer, report, valid])

    items = _by_envelope(evidence_items(answer, ncb))
    assert items[envelope_digest(newer)].reason_code == "unknown_kind"
    assert "interpol does not support the kind 'case-update'" in (
        items[envelope_digest(newer)].reason_text or ""
    )
    assert items[envelope_digest(report)].reason_code == "kind_not_supported"
    assert "europol does not support the kind 'strategic-report'" in (
        items[envelope_digest(report)].reason_text or ""
    )
    assert items[envelope_digest(valid)].kind.value == "relayed"


# --- the sender knows what its partners support ----------------------------------------------


def test_the_peer_file_states_the_kinds_and_its_fingerprint_covers_them(
    mixed: Federation,
) -> None:
    europol = mixed["europol"]
    exported = europol.peering.export()
    assert exported.capabilities is not None
    assert exported.capabilities.protocol == 1
    assert sorted(exported.capabilities.kinds) == OLDER
    data = orjson.loads(exported.to_json())
    assert (data["protocol"], data["kinds"]) == (1, OLDER)
    assert parse_peer_file(exported.to_json(), "europol.json") == exported

    # a kind slipped in on the way (the fingerprint read on the phone is unchanged)
    tampered = orjson.dumps({**data, "kinds": sorted([*OLDER, "strategic-report"])})
    with pytest.raises(NodeError, match="fingerprint in the file does not match"):
        parse_peer_file(tampered, "europol.json")
    # the capabilities dropped on the way: then the file reads as protocol 1, so the
    # fingerprint (an older node's, over the keys only) differs from the one read out
    stripped = {k: v for k, v in data.items() if k not in ("protocol", "kinds")}
    with pytest.raises(NodeError, match="fingerprint in the file does not match"):
        parse_peer_file(orjson.dumps(stripped), "europol.json")

    # pinned at interpol: what interpol's directory holds
    capabilities = mixed["interpol"].directory.capabilities("europol")
    assert sorted(capabilities.kinds) == OLDER


def test_a_peer_file_with_malformed_capabilities_is_refused(mixed: Federation) -> None:
    # each malformation: tests/unit/services/test_capabilities.py
    data = orjson.loads(mixed["europol"].peering.export().to_json())
    del data["fingerprint"]
    with pytest.raises(NodeError, match="kinds: 'Request!' is not a kind name"):
        parse_peer_file(orjson.dumps({**data, "kinds": ["Request!"]}), "europol.json")


def test_an_older_peer_file_reads_as_protocol_1_and_a_new_one_updates_the_pin(
    federation_factory: Callable[..., Federation],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A file exported before protocol versions states neither key: it keeps its fingerprint
    (over the name, CA and keys only) and its node is taken to support protocol 1's kinds.
    Added again with the same keys (after the partner's upgrade), a file only changes what
    the pin says the partner supports, audited; other keys are still refused."""
    fed = federation_factory(MIXED_PAIR, start=())
    europol, interpol = fed.construct("europol"), fed.construct("interpol")
    current = europol.peering.export()
    data = orjson.loads(current.to_json())
    old = {k: v for k, v in data.items() if k not in ("protocol", "kinds", "fingerprint")}
    legacy = parse_peer_file(orjson.dumps(old), "old.json")
    assert legacy.capabilities is None
    assert parse_peer_file(orjson.dumps({**old, "fingerprint": legacy.fingerprint}), "x") == legacy
    assert "protocol" not in orjson.loads(legacy.to_json())

    interpol.peering.add(legacy, "test")  # the pin as an older europol made it
    assert interpol.directory.capabilities("europol") == PROTOCOL_1
    assert not fed.layout("interpol").peer_capabilities("europol").exists()
    interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=1, **REPORT))

    # the partner's new file, through the CLI: it shows what the file states
    monkeypatch.setattr(common, "node_at", lambda directory: interpol)
    new_file = tmp_path / "europol.peer.json"
    new_file.write_bytes(current.to_json())
    done = runner.invoke(app, ["peer", "add", str(new_file), "--dir", "unused", "--yes"])
    assert done.exit_code == 0, done.output
    assert f"supports protocol 1: {', '.join(OLDER)}" in " ".join(done.output.split())
    assert sorted(interpol.directory.capabilities("europol").kinds) == OLDER
    with pytest.raises(Refused):
        interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=2, **REPORT))
    with interpol.db.read() as conn:
        outcomes = (
            conn.execute(
                select(audit_records.c.outcome).where(
                    audit_records.c.action == "peer.changed", audit_records.c.object == "europol"
                )
            )
            .scalars()
            .all()
        )
    assert outcomes == ["pinned", "capabilities_changed", "capabilities_changed"]

    other_keys = dataclasses.replace(
        current, encryption_key=interpol.peering.export().encryption_key
    )
    with pytest.raises(NodeError, match="already pinned with other keys"):
        interpol.peering.add(other_keys, "test")
    assert interpol.directory.capabilities("no-such-node") == PROTOCOL_1


def test_a_kind_the_destination_does_not_support_is_refused_at_submit(
    mixed: Federation,
) -> None:
    interpol, europol = mixed["interpol"], mixed["europol"]
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=1, **REPORT))
    (reason,) = refused.value.reasons
    assert reason.code == "kind_not_supported"
    assert "europol does not support the kind 'strategic-report'" in reason.text
    assert count_rows(interpol, tables.deliveries) == 0

    # what both support still flows, both ways; and europol may send interpol a report
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=2))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    report = europol.messaging.submit(officer(europol), sample("cc@interpol", seed=3, **REPORT))
    wait_state(europol, report.id, "interpol", ["delivered"])


def test_the_api_and_the_cli_say_which_node_lacks_which_kind(
    mixed: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpol = mixed["interpol"]
    interpol.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    token = interpol.accounts.create_token("test", "alice")
    with TestClient(create_app(interpol.api_services())) as client:
        answer = client.post(
            "/api/v1/messages",
            json=sample("ops@europol", seed=4, **REPORT),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "refused"
    assert [r["code"] for r in error["reasons"]] == ["kind_not_supported"]
    assert "europol does not support the kind 'strategic-report'" in error["reasons"][0]["text"]

    monkeypatch.setattr(common, "node_at", lambda directory: interpol)
    log_in(interpol, mixed.dirs["interpol"])
    done = runner.invoke(
        app,
        [
            "send", "--dir", str(mixed.dirs["interpol"]), "--to", "ops@europol",
            "--kind", "strategic-report", "--area", "cyber-crime", "--handling", "H0",
            "--subject", "trends", "--body", STRATEGIC["body"],
        ],
    )  # fmt: skip
    assert done.exit_code == 1, done.output
    assert "kind_not_supported: europol does not support the kind 'strategic-report'" in done.output


def test_a_destination_beyond_a_relay_is_asked_too(mixed_chain: Federation) -> None:
    """ncb-madrid reaches europol through interpol, which takes every kind: the refusal
    names europol, whose peer file ncb-madrid pinned; what europol takes crosses both links."""
    ncb = mixed_chain["ncb-madrid"]
    with pytest.raises(Refused) as refused:
        ncb.messaging.submit(officer(ncb), sample("ops@europol", seed=1, **REPORT))
    assert [r.code for r in refused.value.reasons] == ["kind_not_supported"]
    assert refused.value.reasons[0].text.startswith("europol does not support")
    sent = ncb.messaging.submit(officer(ncb), sample("ops@europol", seed=2))
    wait_state(ncb, sent.id, "europol", ["delivered"], timeout=30)
    report = ncb.messaging.submit(officer(ncb), sample("cc@interpol", seed=3, **REPORT))
    wait_state(ncb, report.id, "interpol", ["delivered"])
