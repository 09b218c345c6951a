"""Issue 5: each security-relevant action produces exactly one audit record, with the right
actor and object, on the node where it happens (over real nodes where the line is involved).

``COVERED`` maps every action to the test that produces it for real; ``MISSING`` lists the
actions the code does not produce yet. Adding an action to ``AuditAction`` without a test
here (or without listing it as missing) fails ``test_the_enumeration_covers_every_action``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secureline.crypto.envelope import sign_envelope
from secureline.crypto.keys import generate_signing_key
from secureline.domain.audit import AuditAction, AuditRecord, checkpoint_payload
from secureline.node.compose import Node
from secureline.services.audit import CHECKPOINT_TYP
from secureline.services.errors import NotAuthenticated, Refused
from secureline.services.line import custody
from secureline.services.line.wire import EvidenceDocument
from secureline.services.roles import Principal, Role
from secureline.store import tables
from secureline.store.line import evidence as evidence_store
from tests.integration.hits_support import PUTIN_HELD, PUTIN_SENT, checked, hold, send
from tests.integration.support import (
    CHAIN,
    Federation,
    count_rows,
    officer,
    sample,
    wait_for,
    wait_state,
)

A = AuditAction

#: Not produced by the code yet. Do not fake them here: produce them, then move them to
#: COVERED with a test. Purge, correction and permissions are being added with retention.
MISSING = {
    # Policy decisions are not separate records: an ALLOWED decision is the record of the
    # action it allowed (message.created / received / relayed); a REFUSAL is message.refused
    # with every reason code in its detail (see test_refused_at_submit_and_at_a_crossing).
    # A separate policy.decision record per decision is not written.
    A.POLICY_DECISION,
}

COVERED = {
    A.LOGIN_SUCCESS: "test_login_success_and_failure",
    A.LOGIN_FAILURE: "test_login_success_and_failure",
    A.SESSION_ENDED: "test_session_ended",
    A.MESSAGE_CREATED: "test_a_message_created_sent_received_and_read",
    A.MESSAGE_SENT: "test_a_message_created_sent_received_and_read",
    A.MESSAGE_RECEIVED: "test_a_message_created_sent_received_and_read",
    A.MESSAGE_READ: "test_a_message_created_sent_received_and_read",
    A.MESSAGE_RELAYED: "test_relayed_over_three_nodes",
    A.MESSAGE_REFUSED: "test_refused_at_submit_and_at_a_crossing",
    A.USER_CHANGED: "test_unit_user_and_token_changes",
    A.UNIT_CHANGED: "test_unit_user_and_token_changes",
    A.TOKEN_CHANGED: "test_unit_user_and_token_changes",
    A.PEER_CHANGED: "test_peer_pinned",
    A.ALERT_APPROVED: "test_alert_approved",
    A.ALERT_REJECTED: "test_alert_rejected",
    A.AUDIT_EXPORTED: "test_audit_exported",
    A.PARTNER_CHECKPOINT: "test_a_forged_partner_checkpoint_is_refused_and_recorded",
    A.HOLDINGS_IMPORTED: "test_holdings_imported_and_searched",
    A.MATCH_SEARCHED: "test_holdings_imported_and_searched",
    A.PERMISSION_REQUESTED: "test_permission_requested_and_granted",
    A.PERMISSION_GRANTED: "test_permission_requested_and_granted",
    A.PERMISSION_REFUSED: "test_permission_refused",
    A.MESSAGE_EXPORTED: "test_message_exported",
    A.MESSAGE_PURGED: "test_message_purged_and_corrected_at_the_recipient",
    A.MESSAGE_CORRECTED: "test_message_purged_and_corrected_at_the_recipient",
    A.CONFIG_CHANGED: "test_configuration_agreement_and_key_changes",
    A.AGREEMENT_CHANGED: "test_configuration_agreement_and_key_changes",
    A.KEY_CHANGED: "test_configuration_agreement_and_key_changes",
    A.INTEROP_IMPORTED: "test_interop_imported",
    A.HIT_CREATED: "test_hit_created_and_decided",
    A.HIT_DECIDED: "test_hit_created_and_decided",
}


def test_the_enumeration_covers_every_action() -> None:
    assert not set(COVERED) & MISSING
    assert set(COVERED) | MISSING == set(AuditAction)
    for name in set(COVERED.values()):
        assert callable(globals()[name]), name


# --- helpers -------------------------------------------------------------------------------


def _head(node: Node) -> int:
    return max((r.seq for r in node.audit.records()), default=0)


def _since(node: Node, mark: int) -> list[AuditRecord]:
    return [r for r in node.audit.records() if r.seq > mark]


def _one(records: list[AuditRecord], action: AuditAction, obj: str | None = None) -> AuditRecord:
    found = [r for r in records if r.action == action.value and (obj is None or r.object == obj)]
    assert len(found) == 1, f"{action.value} for {obj}: {found}"
    return found[0]


def _none(records: list[AuditRecord], action: AuditAction) -> None:
    assert [r for r in records if r.action == action.value] == []


# --- accounts ------------------------------------------------------------------------------


def test_login_success_and_failure(pair: Federation) -> None:
    node = pair["interpol"]
    node.accounts.add_user("admin", "alice", "cc", "officer", "correct horse battery")
    mark = _head(node)
    node.accounts.login("alice", "correct horse battery")
    with pytest.raises(NotAuthenticated):
        node.accounts.login("alice", "wrong")
    with pytest.raises(NotAuthenticated):
        node.accounts.login("mallory", "guess")
    records = _since(node, mark)
    ok = _one(records, A.LOGIN_SUCCESS)
    assert (ok.actor, ok.object, ok.outcome) == ("alice", "alice", "ok")
    bad = _one(records, A.LOGIN_FAILURE, "alice")
    assert (bad.actor, bad.outcome) == ("alice", "refused")
    unknown = _one(records, A.LOGIN_FAILURE, "mallory")
    assert unknown.actor == "mallory"
    assert len(records) == 3


def test_session_ended(pair: Federation) -> None:
    # the CLI's logout (tests/integration/test_cli_people.py drives it from the command line)
    node = pair["interpol"]
    node.accounts.add_user("admin", "alice", "cc", "officer", "correct horse battery")
    secret, session = node.sessions.open("alice", "correct horse battery")
    mark = _head(node)
    assert node.sessions.end(secret) == session
    assert node.sessions.end(secret) is None  # already over: nothing more is recorded
    records = _since(node, mark)
    ended = _one(records, A.SESSION_ENDED)
    assert (ended.actor, ended.object, ended.outcome) == ("alice", "alice", "logout")
    assert ended.detail == {"session_id": session.id}
    assert len(records) == 1


def test_unit_user_and_token_changes(pair: Federation) -> None:
    node = pair["interpol"]
    mark = _head(node)
    node.accounts.add_unit("root", "fraud-desk", description="Fraud")
    node.accounts.add_user("root", "bob", "fraud-desk", "officer", "correct horse battery")
    node.accounts.create_token("root", "bob", label="script")
    records = _since(node, mark)
    unit = _one(records, A.UNIT_CHANGED)
    assert (unit.actor, unit.object, unit.outcome) == ("root", "fraud-desk", "created")
    user = _one(records, A.USER_CHANGED)
    assert (user.actor, user.object, user.outcome) == ("root", "bob", "created")
    token = _one(records, A.TOKEN_CHANGED)
    assert (token.actor, token.object, token.outcome) == ("root", "bob", "created")
    assert len(records) == 3


def test_peer_pinned(pair: Federation) -> None:
    """The federation builder pins each side's peer once: one record each."""
    for me, other in (("interpol", "europol"), ("europol", "interpol")):
        records = list(pair[me].audit.records())
        pinned = _one(records, A.PEER_CHANGED, other)
        assert pinned.outcome == "pinned"
        assert pinned.detail["direct"] == "True"


# --- messages over the line ----------------------------------------------------------------


def test_a_message_created_sent_received_and_read(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sender, reader = officer(interpol), officer(europol)
    mark_i, mark_e = _head(interpol), _head(europol)

    sent = interpol.messaging.submit(sender, sample("ops@europol", "maritime-piracy"))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    europol.messaging.open(reader, sent.id)
    europol.messaging.open(reader, sent.id)  # a second opening is a second access
    wait_state(interpol, sent.id, "europol", ["read"])

    at_origin = _since(interpol, mark_i)
    created = _one(at_origin, A.MESSAGE_CREATED, sent.id)
    assert (created.actor, created.outcome) == (sender.username, "queued")
    out = _one(at_origin, A.MESSAGE_SENT, sent.id)
    assert (out.actor, out.outcome, out.detail["destination"]) == (
        "europol",
        "delivered",
        "europol",
    )
    receipt = _one(at_origin, A.MESSAGE_READ, sent.id)  # the destination's read receipt
    assert (receipt.actor, receipt.outcome) == ("europol", "read")
    _none(at_origin, A.MESSAGE_RECEIVED)

    at_destination = _since(europol, mark_e)
    received = _one(at_destination, A.MESSAGE_RECEIVED, sent.id)
    assert (received.actor, received.outcome) == ("interpol", "delivered")
    reads = [r for r in at_destination if r.action == A.MESSAGE_READ.value]
    assert [(r.actor, r.object) for r in reads] == [(reader.username, sent.id)] * 2
    assert [r.actor for r in europol.audit.who_read(sent.id)] == [reader.username] * 2
    _none(at_destination, A.MESSAGE_SENT)
    interpol.audit.verify()
    europol.audit.verify()


def test_relayed_over_three_nodes(federation_factory: Callable[..., Federation]) -> None:
    chain = federation_factory(CHAIN)
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    marks = {name: _head(chain[name]) for name in ("ncb-madrid", "interpol", "europol")}

    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", "counter-terrorism"))
    wait_state(madrid, sent.id, "europol", ["delivered"])
    wait_for(
        lambda: any(r.action == A.MESSAGE_SENT.value for r in _since(interpol, marks["interpol"]))
    )

    relay = _since(interpol, marks["interpol"])
    relayed = _one(relay, A.MESSAGE_RELAYED, sent.id)
    assert (relayed.actor, relayed.outcome) == ("ncb-madrid", "relayed")
    assert relayed.detail["next_hop"] == "europol"
    onward = _one(relay, A.MESSAGE_SENT, sent.id)  # the relay's own send, to the destination
    assert (onward.actor, onward.outcome) == ("europol", "delivered")
    _none(relay, A.MESSAGE_RECEIVED)

    origin = _since(madrid, marks["ncb-madrid"])
    # One send per destination: the relay took custody; `delivered` later is not a 2nd send.
    out = _one(origin, A.MESSAGE_SENT, sent.id)
    assert (out.actor, out.outcome, out.detail["destination"]) == (
        "interpol",
        "relayed",
        "europol",
    )

    received = _one(_since(europol, marks["europol"]), A.MESSAGE_RECEIVED, sent.id)
    assert received.actor == "interpol"
    assert received.detail["origin"] == "ncb-madrid"


def test_refused_at_submit_and_at_a_crossing(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    sender = officer(interpol)
    mark_i, mark_e = _head(interpol), _head(europol)

    # At submit: fraud is outside the link's agreement. Nothing is stored but the record.
    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(sender, sample("ops@europol", "fraud"))
    codes = {r.code for r in refused.value.reasons}
    at_submit = _one(_since(interpol, mark_i), A.MESSAGE_REFUSED)
    assert at_submit.actor == sender.username
    assert set(at_submit.detail["reasons"].split(",")) == codes
    _none(_since(interpol, mark_i), A.MESSAGE_CREATED)

    # At a crossing: child sexual exploitation material for a non-specialist unit passes
    # interpol's submit check but europol refuses it at receipt, with the reason code.
    mark_i = _head(interpol)
    sent = interpol.messaging.submit(sender, sample("ops@europol", "child-sexual-exploitation"))
    wait_state(interpol, sent.id, "europol", ["refused"])

    at_receiver = _one(_since(europol, mark_e), A.MESSAGE_REFUSED, sent.id)
    assert (at_receiver.actor, at_receiver.outcome) == ("interpol", "refused")
    code = at_receiver.detail["reason"]
    assert code
    _none(_since(europol, mark_e), A.MESSAGE_RECEIVED)

    at_origin = _since(interpol, mark_i)
    _one(at_origin, A.MESSAGE_CREATED, sent.id)
    back = _one(at_origin, A.MESSAGE_REFUSED, sent.id)
    assert (back.actor, back.detail["reason"]) == ("europol", code)
    _none(at_origin, A.MESSAGE_SENT)


def test_alert_approved(pair: Federation) -> None:
    interpol = pair["interpol"]
    author = officer(interpol)
    reviewer = Principal("rev", "reviewer", "cc", Role.OFFICER)
    mark = _head(interpol)
    held = interpol.messaging.submit(
        author, sample("ops@europol", "major-events", kind="alert", alert="red")
    )
    assert held.held_for_review
    interpol.messaging.approve_alert(reviewer, held.id)
    records = _since(interpol, mark)
    created = _one(records, A.MESSAGE_CREATED, held.id)
    assert created.outcome == "held"
    approved = _one(records, A.ALERT_APPROVED, held.id)
    assert (approved.actor, approved.detail["author"]) == ("reviewer", author.username)
    wait_state(interpol, held.id, "europol", ["delivered"])


def test_audit_exported(pair: Federation) -> None:
    node = pair["interpol"]
    mark = _head(node)
    list(node.audit.export(None, None, "csv", actor="dpo-anna"))
    list(node.audit.export(None, None, "jsonl"))  # no actor: an internal read, not recorded
    exported = _one(_since(node, mark), A.AUDIT_EXPORTED)
    assert (exported.actor, exported.object, exported.detail["format"]) == (
        "dpo-anna",
        "interpol",
        "csv",
    )


def test_a_forged_partner_checkpoint_is_refused_and_recorded(pair: Federation) -> None:
    """Fail soft: the evidence is kept, the checkpoint is not, and the refusal is recorded."""
    interpol = pair["interpol"]
    forger = generate_signing_key("europol")
    now = datetime.now(UTC)
    forged = sign_envelope(
        checkpoint_payload("europol", 7, "a" * 64, now), forger, typ=CHECKPOINT_TYP
    )
    document = EvidenceDocument("ev-forged-cp", "europol", now, (), forged, "token-text")
    mark = _head(interpol)
    with interpol.db.transaction() as conn:
        events = custody.apply(
            conn, "interpol", interpol.directory, [document], now, audit_log=interpol.audit
        )
        interpol.audit.record(conn, events)
    refused = _one(_since(interpol, mark), A.PARTNER_CHECKPOINT)
    assert (refused.actor, refused.object, refused.outcome) == ("europol", "europol", "refused")
    assert refused.detail["evidence"] == "ev-forged-cp"
    assert interpol.audit.partner_checkpoints("europol") == []
    assert evidence_store.evidence_token(interpol.db, "ev-forged-cp") == "token-text"
    assert count_rows(
        interpol, tables.evidence_tokens, tables.evidence_tokens.c.id == "ev-forged-cp"
    )


# --- the provider's control: permissions, exports, deletion, correction ---------------------


def _delivered(pair: Federation, **marking: str) -> str:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", "counter-terrorism", seed=5, **marking)
    )
    wait_state(interpol, sent.id, "europol", ["delivered"])
    return sent.id


def test_permission_requested_and_granted(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    h1 = _delivered(pair, handling="H1")
    asker, provider = officer(europol), officer(interpol)
    request = europol.sharing.request_permission(asker, h1, "judicial-use", "europol")
    wait_state(europol, request.id, "interpol", ["delivered"])
    mark = _head(interpol)
    interpol.sharing.grant_permission(provider, request.id)
    asked = _one(europol.audit.records_for_object(h1), A.PERMISSION_REQUESTED)
    assert asked.actor == asker.username
    granted = _one(_since(interpol, mark), A.PERMISSION_GRANTED, h1)
    assert granted.actor == provider.username


def test_message_exported(pair: Federation) -> None:
    europol = pair["europol"]
    message_id = _delivered(pair)
    mark = _head(europol)
    europol.exports.export(officer(europol), message_id, "case-file")
    record = _one(_since(europol, mark), A.MESSAGE_EXPORTED, message_id)
    assert (record.actor, record.outcome) == (officer(europol).username, "ok")


def test_interop_imported(pair: Federation) -> None:
    """A STIX import: one record in the transaction that stores the message, naming the
    person, the file and its digest; the same file again is the same message, not recorded
    again."""
    from pathlib import Path

    from secureline.services.interop.stix import StixOptions

    interpol = pair["interpol"]
    path = Path(__file__).parent.parent / "data" / "stix" / "sighting-of-an-indicator.json"
    mark = _head(interpol)
    done = interpol.stix.import_bundle(officer(interpol), path, StixOptions(to=["ops@europol"]))
    record = _one(_since(interpol, mark), A.INTEROP_IMPORTED, done.message_id)
    assert (record.actor, record.outcome) == (officer(interpol).username, "ok")
    assert record.detail["source"] == path.name
    assert record.detail["format"] == "stix-2.1"
    assert len(record.detail["sha256"]) == 64
    again = interpol.stix.import_bundle(officer(interpol), path, StixOptions(to=["ops@europol"]))
    assert (again.message_id, again.replayed) == (done.message_id, True)
    assert [r for r in _since(interpol, mark) if r.action == A.INTEROP_IMPORTED] == [record]


def test_message_purged_and_corrected_at_the_recipient(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    corrected, purged = _delivered(pair), _delivered(pair)
    fix = interpol.sharing.correct(officer(interpol), corrected, "typo", body="Corrected text")
    gone = interpol.sharing.retract(officer(interpol), purged, "withdrawn")
    wait_state(interpol, fix.id, "europol", ["delivered"])
    wait_state(interpol, gone.id, "europol", ["delivered"])
    _one(europol.audit.records_for_object(corrected), A.MESSAGE_CORRECTED)
    _one(europol.audit.records_for_object(purged), A.MESSAGE_PURGED)


def test_configuration_agreement_and_key_changes(pair: Federation) -> None:
    interpol = pair["interpol"]
    for what in ("signing", "encryption"):
        first = _one(interpol.audit.records_for_object(f"key:{what}"), A.KEY_CHANGED)
        assert first.outcome == "first seen"
    layout = interpol.layout
    layout.config.write_text(layout.config.read_text() + "\n# reviewed\n")
    agreement = layout.agreement("europol")
    agreement.write_text(agreement.read_text() + "\n# signed copy filed\n")
    restarted = pair.restart("interpol")
    config = restarted.audit.records_for_object("config:node.toml")
    assert [r.outcome for r in config] == ["first seen", "changed"]
    assert all(r.action == A.CONFIG_CHANGED for r in config)
    changed = restarted.audit.records_for_object("agreement:europol")
    assert [r.outcome for r in changed] == ["first seen", "changed"]
    # nothing changed since: a second start records nothing new
    again = pair.restart("interpol")
    assert len(again.audit.records_for_object("config:node.toml")) == 2


def test_alert_rejected(pair: Federation) -> None:
    interpol = pair["interpol"]
    author = officer(interpol)
    reviewer = Principal("rev", "reviewer", "cc", Role.OFFICER)
    held = interpol.messaging.submit(
        author, sample("ops@europol", "major-events", kind="alert", alert="red")
    )
    mark = _head(interpol)
    interpol.messaging.reject_alert(reviewer, held.id, "not an alert")
    records = _since(interpol, mark)
    rejected = _one(records, A.ALERT_REJECTED, held.id)
    assert (rejected.actor, rejected.outcome) == ("reviewer", "rejected")
    assert (rejected.detail["author"], rejected.detail["reason"]) == (
        author.username,
        "not an alert",
    )
    assert len(records) == 1


def test_permission_refused(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=85, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    asked = europol.sharing.request_permission(
        officer(europol), h2.id, "onward-transfer", "europol"
    )
    wait_state(europol, asked.id, "interpol", ["delivered"])
    mark = _head(interpol)
    interpol.sharing.refuse_permission(officer(interpol), asked.id, "still covert")
    records = _since(interpol, mark)
    refused = _one(records, A.PERMISSION_REFUSED, h2.id)
    assert (refused.actor, refused.outcome) == (officer(interpol).username, "refused")
    assert (refused.detail["request"], refused.detail["reason"]) == (asked.id, "still covert")
    assert refused.detail["requester"] == "ops@europol"
    assert len(records) == 1


# --- the index of holdings -------------------------------------------------------------------


def test_holdings_imported_and_searched(pair: Federation, tmp_path: Path) -> None:
    from secureline.services.matching.index import query_entity

    node = pair["interpol"]
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"id": "p1", "schema": "Person", "properties": {"name": ["Иван Петров"]}}\n',
        encoding="utf-8",
    )
    mark = _head(node)
    node.holdings.import_file("cli:root", path, source="register", unit="cc", handling="H1")
    found = node.holdings.match(officer(node), query_entity(name="Ivan Petrov"))
    assert [m.holding.entity_id for m in found] == ["p1"]
    records = _since(node, mark)
    imported = _one(records, A.HOLDINGS_IMPORTED)
    assert (imported.actor, imported.object) == ("cli:root", "register")
    assert imported.detail == {
        "unit": "cc", "handling": "H1", "entities": "1", "file": "people.jsonl"
    }  # fmt: skip
    searched = _one(records, A.MATCH_SEARCHED)
    assert (searched.actor, searched.object) == (officer(node).username, "cc")
    assert searched.detail == {"schema": "Person", "candidates": "1"}
    # the audit chain says that someone searched, never for whom
    assert "Ivan" not in str(searched)
    assert "Petrov" not in str(searched)


def test_hit_created_and_decided(pair: Federation, tmp_path: Path) -> None:
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT)
    checked(europol, message_id)
    [hit] = europol.hits.list(officer(europol))
    created = _one(europol.audit.records_for_object(hit.id), A.HIT_CREATED)
    assert (created.actor, created.outcome, created.detail["message"]) == (
        "system:crosscheck",
        "created",
        message_id,
    )
    mark = _head(europol)
    europol.hits.decide(officer(europol), hit.id, "confirmed", "the same man")
    decided = _one(_since(europol, mark), A.HIT_DECIDED, hit.id)
    assert (decided.actor, decided.outcome) == (officer(europol).username, "confirmed")
    assert "note" not in decided.detail  # a note may name people: it stays in the hit
