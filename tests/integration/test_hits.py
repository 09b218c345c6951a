"""Issue 16, item 3: the cross-check on arrival. Two real nodes over the line: europol's unit
ops holds a person (imported, in Cyrillic); interpol sends ops a message naming that person
in Latin; europol's cross-check (its running timer, and here and there a worker the test
runs itself: the database decides between them) makes a hit for ops with both sides'
provenance and the reasons. Decisions are kept, refusals named, and a retracted or
corrected message withdraws its hits."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secureline.node.compose import Node, utc_now
from secureline.services.errors import Conflict, Forbidden, NotFoundError
from secureline.services.matching.crosscheck import CrossCheck
from secureline.services.roles import Principal, Role
from secureline.store import hits as hits_store
from secureline.store import holdings as holdings_store
from tests.integration.hits_support import (
    NOBODY,
    PUTIN_HELD,
    PUTIN_SENT,
    checked,
    hold,
    send,
)
from tests.integration.support import (
    ADMIN,
    PAIR,
    Federation,
    count_rows,
    officer,
    sample,
    wait_state,
)


def hits_for(node: Node, message_id: str, who: Principal | None = None) -> list[hits_store.Hit]:
    return [h for h in node.hits.list(who or officer(node)) if h.message_id == message_id]


def test_a_person_held_in_cyrillic_is_a_hit_for_the_latin_spelling_that_arrives(
    pair: Federation, tmp_path: Path
) -> None:
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT, NOBODY)
    checked(europol, message_id)
    [hit] = hits_for(europol, message_id)
    # both sides' provenance, the score and why
    assert (hit.unit, hit.state) == ("ops", "new")
    assert (hit.sender, hit.sender_node, hit.message_handling) == ("cc@interpol", "interpol", "H0")
    assert (hit.entity_id, hit.entity_caption) == ("e-putin", "Vladimir Putin")
    assert (hit.holding_source, hit.holding_entity_id, hit.holding_handling) == (
        "national-register",
        "reg-putin",
        "H2",
    )
    assert hit.holding_caption == "Владимир Владимирович Путин"
    assert hit.score >= europol.crosscheck.threshold
    reasons = json.loads(hit.reasons_json or "[]")
    [birth] = [r for r in reasons if r["property"] == "birthDate"]
    assert birth["agrees"] is True
    [name] = [r for r in reasons if r["property"] == "name" and r["query"]]
    assert (name["query"], name["candidate"], name["agrees"]) == (
        "Vladimir Putin",
        "Владимир Владимирович Путин",
        True,
    )
    assert "putin~putin" in name["detail"]
    # nomenklatura's logic-v2 beside ours, as a second opinion
    assert any(r["detail"] == "nomenklatura logic-v2" for r in reasons)
    # the arriving entities are indexed too, under the message, for ops only
    with europol.db.read() as conn:
        assert holdings_store.count(conn, "message:" + message_id + "@interpol") == 2
    # audited, without the names; nothing went back to the sender
    [created] = [r for r in europol.audit.records_for_object(hit.id) if r.action == "hit.created"]
    assert (created.actor, created.detail["unit"], created.detail["message"]) == (
        "system:crosscheck",
        "ops",
        message_id,
    )
    assert "Putin" not in json.dumps(created.detail)
    assert [r for r in pair["interpol"].audit.records() if r.action.startswith("hit.")] == []


def test_a_message_whose_entities_match_nothing_makes_no_hit(
    pair: Federation, tmp_path: Path
) -> None:
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, NOBODY, seed=8)
    checked(europol, message_id)
    assert hits_for(europol, message_id) == []
    with europol.db.read() as conn:  # indexed all the same, for the messages to come
        assert holdings_store.count(conn, "message:" + message_id + "@interpol") == 1


def test_a_later_message_matches_an_earlier_one(pair: Federation) -> None:
    europol = pair["europol"]
    first = send(pair, PUTIN_SENT, seed=9)
    checked(europol, first)
    assert hits_for(europol, first) == []  # nothing held yet
    cyrillic = {**PUTIN_HELD, "id": "e-putin-2"}
    second = send(pair, cyrillic, seed=10)
    checked(europol, second)
    [hit] = hits_for(europol, second)
    assert (hit.holding_message_id, hit.holding_source) == (first, f"message:{first}@interpol")
    assert hit.holding_handling == "H0"


def test_a_dismissed_hit_is_kept_and_a_retraction_withdraws_it(
    pair: Federation, tmp_path: Path
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, PUTIN_SENT, seed=11)
    checked(europol, message_id)
    [hit] = hits_for(europol, message_id)
    me = officer(europol)
    decided = europol.hits.decide(me, hit.id, "dismissed", "another Vladimir Putin")
    assert (decided.state, decided.decided_by, decided.note) == (
        "dismissed",
        me.username,
        "another Vladimir Putin",
    )
    with pytest.raises(Conflict) as again:
        europol.hits.decide(me, hit.id, "confirmed")
    assert again.value.code == "hit_decided"
    assert europol.hits.get(me, hit.id).state == "dismissed"
    # the sender retracts: the hit is withdrawn, what named people is erased, the decision kept
    gone = interpol.sharing.retract(officer(interpol), message_id, "sent in error")
    wait_state(interpol, gone.id, "europol", ["delivered"])
    withdrawn = europol.hits.get(me, hit.id)
    assert (withdrawn.state, withdrawn.withdrawn_reason, withdrawn.decision) == (
        "withdrawn",
        "purged",
        "dismissed",
    )
    assert (withdrawn.entity_caption, withdrawn.holding_caption, withdrawn.reasons_json) == (
        None,
        None,
        None,
    )
    with europol.db.read() as conn:
        assert holdings_store.count(conn, f"message:{message_id}@interpol") == 0
    with pytest.raises(Conflict) as late:
        europol.hits.decide(me, hit.id, "confirmed")
    assert late.value.code == "hit_withdrawn"
    assert [h.id for h in europol.hits.list(me, "withdrawn")] == [hit.id]
    assert europol.hits.list(me, "dismissed") == []
    decisions = [r for r in europol.audit.records_for_object(hit.id) if r.action == "hit.decided"]
    assert [r.outcome for r in decisions] == ["dismissed", "refused", "refused"]
    assert [r.detail.get("reason") for r in decisions[1:]] == ["hit_decided", "hit_withdrawn"]


def test_a_correction_withdraws_the_hits_and_checks_the_corrected_entities(
    pair: Federation, tmp_path: Path
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(pair, NOBODY, seed=12)
    checked(europol, message_id)
    assert hits_for(europol, message_id) == []
    fix = interpol.sharing.correct(officer(interpol), message_id, "wrong person",
                                   entities=[PUTIN_SENT], data_subjects=["suspect"])  # fmt: skip
    wait_state(interpol, fix.id, "europol", ["delivered"])
    checked(europol, message_id)
    [hit] = hits_for(europol, message_id)
    assert (hit.entity_id, hit.state) == ("e-putin", "new")
    with europol.db.read() as conn:  # the corrected entities only
        assert holdings_store.count(conn, f"message:{message_id}@interpol") == 1


def test_only_the_recipient_units_people_see_and_decide(pair: Federation, tmp_path: Path) -> None:
    europol = pair["europol"]
    europol.accounts.add_unit("test", "intel")
    hold(europol, tmp_path, PUTIN_HELD)
    hold(
        europol, tmp_path, PUTIN_HELD, unit="intel", source="intel-files"
    )  # intel holds him too: not its message
    message_id = send(pair, PUTIN_SENT, seed=13)
    checked(europol, message_id)
    [hit] = hits_for(europol, message_id)
    assert hit.unit == "ops"
    other = officer(europol, "intel")
    assert europol.hits.list(other) == []
    for attempt in (
        lambda: europol.hits.get(other, hit.id),
        lambda: europol.hits.decide(other, hit.id, "confirmed"),
        lambda: europol.hits.get(other, "hit-unknown"),
    ):
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert refused.value.code == "not_holding_unit"
    dpo = Principal("dpo", "dpo", "", Role.DPO)
    system = Principal("sys", "sys", "ops", Role.SYSTEM)
    assert [h.id for h in hits_for(europol, message_id, dpo)] == [hit.id]
    for attempt in (
        lambda: europol.hits.decide(dpo, hit.id, "confirmed"),
        lambda: europol.hits.list(system),
        lambda: europol.hits.decide(system, hit.id, "confirmed"),
    ):
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert refused.value.code == "hits_not_permitted"
    with pytest.raises(NotFoundError) as unknown:
        europol.hits.get(ADMIN, "hit-unknown")
    assert unknown.value.code == "unknown_hit"
    assert europol.hits.decide(ADMIN, hit.id, "confirmed").state == "confirmed"


def test_workers_racing_on_one_store_make_each_hit_once(pair: Federation, tmp_path: Path) -> None:
    """Several workers on one store (two besides the node's own timer): each message is
    taken by one of them, so each hit is made once."""
    europol = pair["europol"]
    hold(europol, tmp_path, PUTIN_HELD)
    ids = [send(pair, {**PUTIN_SENT, "id": f"e-{n}"}, seed=20 + n) for n in range(4)]
    workers = [
        CrossCheck(
            europol.name,
            europol.db,
            europol.audit,
            europol.holdings,
            utc_now,
            threshold=0.8,
            batch=1,
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for message_id in ids:
        checked(europol, message_id)
    made = [h for h in europol.hits.list(officer(europol)) if h.message_id in ids]
    # each message: one hit on the register's holding, plus one per earlier message of them
    assert sorted((h.message_id, h.holding) for h in made) == sorted(
        {(h.message_id, h.holding) for h in made}
    )
    on_register = [h for h in made if h.holding_source == "national-register"]
    assert sorted(h.message_id for h in on_register) == sorted(ids)
    # and every two of the messages met exactly once, whichever worker came second: the
    # later one's write read the candidates again after the earlier one's committed
    met = [frozenset((h.message_id, h.holding_message_id)) for h in made if h.holding_message_id]
    assert sorted(map(sorted, met)) == sorted(
        sorted((a, b)) for i, a in enumerate(ids) for b in ids[i + 1 :]
    )
    assert count_rows(europol, hits_store.crosscheck_pending) == 0


def test_a_message_to_two_units_is_matched_for_each_against_its_own_holdings(
    pair: Federation, tmp_path: Path
) -> None:
    europol = pair["europol"]
    europol.accounts.add_unit("test", "intel")
    europol.refresh()
    hold(europol, tmp_path, PUTIN_HELD)  # ops holds him; intel holds nothing
    message_id = send(pair, PUTIN_SENT, seed=14, to="ops@europol")
    interpol = pair["interpol"]
    draft = sample("ops@europol", seed=15, entities=[{**PUTIN_SENT, "id": "e-both"}],
                   data_subjects=["suspect"])  # fmt: skip
    draft["to"] = ["ops@europol", "intel@europol"]
    both = interpol.messaging.submit(officer(interpol), draft).id
    wait_state(interpol, both, "europol", ["delivered"])
    checked(europol, message_id)
    checked(europol, both)
    to_both = [h for h in europol.hits.list(ADMIN) if h.message_id == both]
    # ops: the register's holding and the earlier message; intel: nothing of its own
    assert {h.unit for h in to_both} == {"ops"}
    assert {h.holding_source for h in to_both} == {
        "national-register",
        f"message:{message_id}@interpol",
    }
    with europol.db.read() as conn:  # each unit has its own copy in the index
        for unit in ("ops", "intel"):
            assert holdings_store.count(conn, f"message:{both}@interpol#{unit}") == 1


def test_a_message_retracted_while_it_is_matched_leaves_no_hit_and_no_holding(
    federation_factory: Callable[..., Federation], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker has read the message and is scoring it when the provider's deletion
    arrives: the deletion took the queue row, so the worker's write finds its lease gone and
    writes nothing (no hit, nothing indexed of what is purged)."""
    fed = federation_factory(PAIR, start=("interpol",))
    config = fed.dirs["europol"] / "node.toml"
    config.write_text(config.read_text() + "\n[matching]\ncrosscheck_in_node = false\n")
    interpol, europol = fed["interpol"], fed.start("europol")
    hold(europol, tmp_path, PUTIN_HELD)
    message_id = send(fed, PUTIN_SENT, seed=16)
    real = CrossCheck._match
    retracted: list[str] = []

    def match_then_retract(self: CrossCheck, conn: Any, message: Any) -> None:
        real(self, conn, message)
        if not retracted:  # between the match and the write
            gone = interpol.sharing.retract(officer(interpol), message_id, "sent in error")
            wait_state(interpol, gone.id, "europol", ["delivered"])
            retracted.append(gone.id)

    monkeypatch.setattr(CrossCheck, "_match", match_then_retract)
    assert europol.crosscheck.run_once() == 1
    assert retracted
    assert hits_for(europol, message_id) == []
    with europol.db.read() as conn:
        assert holdings_store.count(conn, f"message:{message_id}@interpol") == 0
    assert europol.crosscheck.pending() == 0
