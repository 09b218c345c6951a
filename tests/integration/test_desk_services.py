"""The small services the desk added (threads, a unit's permissions, the unit's alert queue),
called directly on a running pair: what each unit sees, and what it does not."""

from __future__ import annotations

import pytest

from secureline.services.alert_review import AlertReview
from secureline.services.errors import NotFoundError
from secureline.services.threads import Threads
from secureline.services.unit_permissions import UnitPermissions
from tests.integration.support import Federation, officer, sample, wait_for, wait_state


def test_a_thread_holds_what_the_unit_may_open_in_order(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    europol.accounts.add_unit("test", "other")
    draft = sample("ops@europol", seed=81)
    draft["to"] = ["ops@europol", "other@europol"]
    original = interpol.messaging.submit(officer(interpol), draft)
    wait_state(interpol, original.id, "europol", ["delivered"])
    replies = {}
    for unit in ("ops", "other"):
        replies[unit] = europol.messaging.submit(
            officer(europol, unit),
            sample(
                "cc@interpol", seed=82, kind="reply", reply_to=original.id, subject=f"from {unit}"
            ),
        )
        wait_state(europol, replies[unit].id, "interpol", ["delivered"])
    correction = interpol.sharing.correct(officer(interpol), original.id, "typo", body="fixed")
    wait_state(interpol, correction.id, "europol", ["delivered"])

    threads = Threads("europol", europol.db)
    mine = threads.thread(officer(europol, "ops"), original.id)
    assert [i.header.id for i in mine] == [original.id, replies["ops"].id, correction.id]
    assert [i.direction for i in mine] == ["in", "out", "in"]
    # asked from the reply: the same thread, walked up to its first message
    assert [i.header.id for i in threads.thread(officer(europol, "ops"), replies["ops"].id)] == [
        i.header.id for i in mine
    ]
    theirs = threads.thread(officer(europol, "other"), original.id)
    assert replies["ops"].id not in {i.header.id for i in theirs}  # another unit's reply
    with pytest.raises(NotFoundError):
        threads.thread(officer(europol, "other"), replies["ops"].id)
    at_origin = Threads("interpol", interpol.db).thread(officer(interpol), original.id)
    assert [i.header.id for i in at_origin] == [
        original.id,
        replies["ops"].id,
        replies["other"].id,
        correction.id,
    ]
    assert at_origin[0].states in (("delivered",), ("read",))  # one per destination node
    assert set(threads.headers(officer(europol, "other"), [replies["ops"].id, original.id])) == {
        original.id
    }


def test_a_units_permissions_and_alert_queue_are_its_own(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    interpol.accounts.add_unit("test", "elsewhere")
    h2 = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=83, handling="H2"))
    wait_state(interpol, h2.id, "europol", ["delivered"])
    request = europol.sharing.request_permission(
        officer(europol), h2.id, "onward-transfer", "interpol", None, "joint team"
    )
    wait_state(europol, request.id, "interpol", ["delivered"])
    provider = UnitPermissions("interpol", interpol.db, interpol.sharing, interpol.messaging)
    assert [i.id for i in provider.received(officer(interpol))] == [request.id]
    assert provider.received(officer(interpol, "elsewhere")) == []
    interpol.sharing.grant_permission(officer(interpol), request.id)
    assert [i.state for i in provider.received(officer(interpol))] == ["granted"]
    requester = UnitPermissions("europol", europol.db, europol.sharing, europol.messaging)
    answered = wait_for(
        lambda: [r for r in requester.sent(officer(europol)) if r.state == "granted"],
        what="the grant at the requester",
    )
    assert [(r.header.id, r.asked["message_id"]) for r in answered] == [(request.id, h2.id)]

    alert = sample("ops@europol", "counter-terrorism", seed=84, kind="alert", alert="blue")
    held = interpol.messaging.submit(officer(interpol, who="author"), alert)
    review: AlertReview = interpol.messaging.review
    assert [a.id for a in review.held_in_units(officer(interpol))] == [held.id]
    assert review.held_in_units(officer(interpol, "elsewhere")) == []
    with pytest.raises(NotFoundError):
        review.approve_in_unit(officer(interpol, "elsewhere"), held.id)
    with pytest.raises(NotFoundError):
        review.reject_in_unit(officer(interpol, "elsewhere"), held.id, "no")
    review.approve_in_unit(officer(interpol, who="second"), held.id)
    wait_state(interpol, held.id, "europol", ["delivered"])
