"""Adding a kind is one module plus its registration (issue 14): ``test-note``, registered
only in the test suite (kinds_for_tests.py), crosses two nodes and a relay, and its effects
happen at its destination; a node that does not take it refuses it with unknown_kind and
evidence, and the rest of the transaction is delivered."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from secureline.cli.federation import LinkSpec
from secureline.domain.vocabulary import Kind
from secureline.node.compose import Node
from secureline.services.errors import InvalidInput, Refused
from secureline.services.line.wire import envelope_digest
from secureline.store import tables
from secureline.store.audit import audit_records
from tests.integration.kinds_for_tests import NOTED, TEST_NOTE, WITH_TEST_NOTE
from tests.integration.support import (
    SPECS,
    Federation,
    count_rows,
    craft_envelope,
    evidence_items,
    identity_context,
    officer,
    put,
    sample,
    set_agreement_terms,
    transaction_body,
    wait_for,
    wait_state,
)

KINDS_TOML = orjson.dumps(WITH_TEST_NOTE).decode()
NOTE_CHAIN = (
    [
        dataclasses.replace(SPECS[name], kinds=WITH_TEST_NOTE)
        for name in ("ncb-madrid", "interpol", "europol")
    ],
    [LinkSpec("ncb-madrid", "interpol"), LinkSpec("interpol", "europol")],
)
# europol here is a node whose software knows the kind but which does not take it
NOTE_PAIR = (
    [dataclasses.replace(SPECS["interpol"], kinds=WITH_TEST_NOTE), SPECS["europol"]],
    [LinkSpec("interpol", "europol")],
)


def _note(to: str, note: Any, seed: int = 1) -> dict[str, Any]:
    return sample(to, seed=seed, kind=TEST_NOTE.value, body=orjson.dumps(note).decode())


def _noted(node: Node, message_id: str) -> list[dict[str, Any]]:
    with node.db.read() as conn:
        details = conn.execute(
            select(audit_records.c.detail_json).where(
                audit_records.c.object == message_id, audit_records.c.outcome == "noted"
            )
        ).scalars()
        return [orjson.loads(d) for d in details]


@pytest.fixture
def note_chain(federation_factory: Callable[..., Federation]) -> Federation:
    fed = federation_factory(NOTE_CHAIN, start=())
    for a, b in (("ncb-madrid", "interpol"), ("interpol", "europol")):
        set_agreement_terms(fed, a, b, kinds=KINDS_TOML)
    for name in fed.dirs:
        fed.start(name)
    return fed


def test_the_test_kind_crosses_a_relay_and_takes_effect_at_its_destination(
    note_chain: Federation,
) -> None:
    ncb, interpol, europol = (note_chain[n] for n in ("ncb-madrid", "interpol", "europol"))
    assert Kind("test-note") is TEST_NOTE
    sent = ncb.messaging.submit(officer(ncb), _note("ops@europol", {"note": "seen in Lyon"}))
    wait_state(ncb, sent.id, "europol", ["delivered"], timeout=30)

    # the commit-time effect, in the receiving transaction, at the destination only
    assert _noted(europol, sent.id) == [{"note": "seen in Lyon"}]
    assert _noted(interpol, sent.id) == []
    assert _noted(ncb, sent.id) == []
    # the after-commit effect
    wait_for(lambda: ("europol", sent.id, "seen in Lyon") in NOTED, 10, what="the note")
    assert not [n for n in NOTED if n[1] == sent.id and n[0] != "europol"]
    # delivered into the unit's mailbox like any message
    items, _ = europol.messaging.latest(officer(europol))
    (listed,) = [item for item in items if item.header.id == sent.id]
    assert listed.header.kind is TEST_NOTE


def test_the_test_kind_s_payload_is_checked_at_submit(note_chain: Federation) -> None:
    ncb = note_chain["ncb-madrid"]
    for bad in ({"note": ""}, {"note": "x", "more": 1}, ["not", "an", "object"]):
        with pytest.raises(InvalidInput) as refused:
            ncb.messaging.submit(officer(ncb), _note("ops@europol", bad))
        assert refused.value.field == "body"
    assert count_rows(ncb, tables.deliveries) == 0


def _as(fed: Federation, origin: str, receiver: str) -> ssl.SSLContext:
    layout = fed.layout(origin)
    ca = fed.layout(receiver).ca_certificate.read_bytes()
    return identity_context(ca, layout.tls_certificate, layout.tls_key)


def test_a_node_that_does_not_take_the_test_kind_refuses_it_with_evidence(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(NOTE_PAIR, start=())
    set_agreement_terms(fed, "interpol", "europol", kinds=KINDS_TOML)
    interpol, europol = fed.start("interpol"), fed.start("europol")

    # the sender knows from europol's peer file: refused at submit, with its reason
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(officer(interpol), _note("ops@europol", {"note": "hi"}))
    assert [r.code for r in refused.value.reasons] == ["kind_not_supported"]

    # one that ignored the peer file: refused on arrival, alone, with signed evidence
    def note_kind(header: dict[str, Any]) -> None:
        header["kind"] = TEST_NOTE.value

    noted_id, noted = craft_envelope(interpol, "ops@europol", seed=1, header_change=note_kind)
    valid_id, valid = craft_envelope(interpol, "ops@europol", seed=2)
    answer = put(
        _as(fed, "interpol", "europol"),
        europol,
        "t-note-0001",
        transaction_body([(noted, ["interpol"]), (valid, ["interpol"])]),
        europol.directory.agreement_digest("interpol"),
    )
    assert answer.status_code == 200, answer.text
    items = {i.envelope_sha256: i for i in evidence_items(answer, interpol)}
    refusal = items[envelope_digest(noted)]
    assert (refusal.message_id, refusal.kind.value, refusal.reason_code) == (
        noted_id,
        "refused",
        "unknown_kind",
    )
    assert "europol does not support the kind 'test-note'" in (refusal.reason_text or "")
    assert items[envelope_digest(valid)].kind.value == "delivered"
    assert count_rows(europol, tables.messages, tables.messages.c.id == noted_id) == 0
    assert count_rows(europol, tables.messages, tables.messages.c.id == valid_id) == 1
    assert _noted(europol, noted_id) == []
