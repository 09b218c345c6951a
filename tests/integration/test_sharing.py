"""The rules of sharing over real nodes (issue 4): permissions asked and granted over the
line, H2 forwards with and without a grant, grants checked at every crossing, deletion and
correction by the provider, and retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from secureline.domain.addresses import Address
from secureline.domain.audit import AuditAction
from secureline.domain.message import Grant, GrantScope, compose, parse_draft
from secureline.node.compose import Node
from secureline.services.errors import InvalidInput, NotFoundError, Refused
from secureline.services.line.wire import envelope_payload, sign_message_envelope
from secureline.services.permissions import grant_json, sign_grant
from secureline.services.retention import Retention
from secureline.services.submission import new_message_id
from secureline.store import grants as grant_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import tables
from secureline.store.line import deliveries as delivery_store
from tests.integration.support import (
    ADMIN,
    Federation,
    count_rows,
    evidence_kinds,
    message_row,
    officer,
    sample,
    set_option,
    stored_counts,
    wait_for,
    wait_state,
)


def _h2_to_interpol(chain: Federation, seed: int = 41) -> str:
    madrid, interpol = chain["ncb-madrid"], chain["interpol"]
    sent = madrid.messaging.submit(
        officer(madrid), sample("cc@interpol", "cyber-crime", seed=seed, handling="H2")
    )
    wait_state(madrid, sent.id, "interpol", ["delivered"])
    assert message_row(interpol, sent.id).content_json is not None
    return sent.id


def _audit_actions(node: Node, object_id: str) -> list[str]:
    return [r.action for r in node.audit.records_for_object(object_id)]


def _received_grants(node: Node, message_id: str) -> list[grant_store.GrantRow]:
    return grant_store.list_grants(node.db, message_id=message_id, direction="received")


def test_h2_forward_needs_the_providers_grant_asked_and_granted_over_the_line(
    chain: Federation,
) -> None:
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    h2 = _h2_to_interpol(chain)

    # without a grant: refused at once, with every reason, and nothing is queued
    before = stored_counts(interpol)
    with pytest.raises(Refused) as refused:
        interpol.sharing.forward(officer(interpol), h2, ["ops@europol"])
    assert "h2_onward_without_permission" in {r.code for r in refused.value.reasons}
    assert stored_counts(interpol) == before

    # the recipient asks the provider, over the line
    request = interpol.sharing.request_permission(
        officer(interpol), h2, "onward-transfer", "europol", None, "joint investigation"
    )
    wait_state(interpol, request.id, "ncb-madrid", ["delivered"])
    asked = madrid.sharing.permission_requests(officer(madrid))
    assert [(h.id, body["message_id"], body["grantee"]) for h, body in asked] == [
        (request.id, h2, "europol")
    ]
    assert AuditAction.PERMISSION_REQUESTED in _audit_actions(interpol, h2)

    # the provider grants; the signed grant travels back in a permission-grant message
    grant, carrier = madrid.sharing.grant_permission(officer(madrid), request.id)
    assert (grant.message_id, grant.grantee, grant.scope) == (
        h2,
        "europol",
        GrantScope.ONWARD_TRANSFER,
    )
    assert carrier.destinations == ("interpol",)
    assert AuditAction.PERMISSION_GRANTED in _audit_actions(madrid, h2)
    wait_state(madrid, carrier.id, "interpol", ["delivered"])
    stored = wait_for(lambda: _received_grants(interpol, h2), what="the grant at interpol")
    assert [g.id for g in stored] == [grant.id]

    # with the grant (taken from the store), the forward passes and europol verifies it again
    forwarded = interpol.sharing.forward(officer(interpol), h2, ["ops@europol"])
    wait_state(interpol, forwarded.id, "europol", ["delivered"])
    header = europol.messaging.open(officer(europol), forwarded.id).header
    assert header.forwarded is not None
    assert [g.id for g in header.forwarded.grants] == [grant.id]

    # a grant names its grantee: it does not open the way to another organisation
    with pytest.raises(Refused) as elsewhere:
        interpol.sharing.forward(officer(interpol), h2, ["ncb@ncb-madrid", "ops@europol"])
    assert "ncb-madrid" in str(elsewhere.value)


def test_bad_grants_are_refused_at_submit_naming_them(chain: Federation) -> None:
    madrid, interpol = chain["ncb-madrid"], chain["interpol"]
    h2 = _h2_to_interpol(chain, seed=43)
    now = datetime.now(UTC)
    base = Grant(
        id="grant-" + "1" * 24,
        message_id=h2,
        provider="ncb@ncb-madrid",
        grantee="europol",
        scope=GrantScope.ONWARD_TRANSFER,
        until=now + timedelta(days=1),
    )
    cases = {
        "forged": sign_grant(base, interpol.identity.signing),
        "expired": sign_grant(
            base.model_copy(update={"until": now - timedelta(hours=1)}), madrid.identity.signing
        ),
        "other message": sign_grant(
            base.model_copy(update={"message_id": "msg-" + "f" * 24}), madrid.identity.signing
        ),
        "other provider": sign_grant(
            base.model_copy(update={"provider": Address("cc", "interpol")}),
            interpol.identity.signing,
        ),
    }
    expected = {
        "forged": "signed by interpol, not by its provider",
        "expired": "expired",
        "other message": "msg-" + "f" * 24,
        "other provider": "not from the provider ncb-madrid",
    }
    before = stored_counts(interpol)
    for name, bad in cases.items():
        with pytest.raises(Refused) as refused:
            interpol.sharing.forward(
                officer(interpol),
                h2,
                ["ops@europol"],
                grants=[orjson.loads(grant_json(bad))],
            )
        invalid = [r.text for r in refused.value.reasons if r.code == "invalid_grant"]
        assert invalid, name
        assert base.id in invalid[0], (name, invalid)
        assert expected[name] in invalid[0], (name, invalid)
    assert stored_counts(interpol) == before


def test_a_grant_for_a_message_that_does_not_exist_is_refused(chain: Federation) -> None:
    madrid = chain["ncb-madrid"]
    before = stored_counts(madrid)
    with pytest.raises(NotFoundError, match="msg-" + "0" * 24):
        madrid.sharing.grant_permission(
            officer(madrid),
            message_id="msg-" + "0" * 24,
            grantee="europol",
            scope="onward-transfer",
        )
    h2 = _h2_to_interpol(chain, seed=44)
    before = stored_counts(madrid)
    with pytest.raises(InvalidInput, match="until"):
        madrid.sharing.grant_permission(
            officer(madrid),
            message_id=h2,
            grantee="europol",
            scope="onward-transfer",
            until=datetime.now(UTC) - timedelta(days=1),
        )
    with pytest.raises(InvalidInput, match="scope"):
        madrid.sharing.grant_permission(
            officer(madrid), message_id=h2, grantee="europol", scope="everything"
        )
    assert stored_counts(madrid) == before
    assert grant_store.list_grants(madrid.db) == []


def _queue_unchecked(origin: Node, draft: dict[str, Any], destination: str) -> str:
    """Sign and queue a message WITHOUT the origin's own checks (a faulty or hostile origin),
    so that the nodes downstream must refuse it themselves."""
    now = datetime.now(UTC)
    message = compose(
        parse_draft(draft),
        message_id=new_message_id(),
        sender=Address(officer(origin).unit, origin.name),
        now=now,
        default_review_date=(now + timedelta(days=365)).date(),
    )
    token = sign_message_envelope(
        envelope_payload(message, destination, None), origin.identity.signing
    )
    hop = origin.directory.next_hop(destination)
    assert hop is not None
    header = message.header
    with origin.db.transaction() as conn:
        message_store.insert_messages(
            conn,
            [
                message_store.MessageRow(
                    id=header.id,
                    direction="out",
                    sender=str(header.sender),
                    origin_node=origin.name,
                    header_json=orjson.dumps(header.model_dump(mode="json")).decode(),
                    content_json=message.content_bytes.decode(),
                    content_jwe=None,
                    envelope=None,
                    created_at=header.created_at,
                    stored_at=now,
                )
            ],
        )
        delivery_store.queue_deliveries(
            conn, [delivery_store.NewDelivery(header.id, destination, hop, token, "[]")], now
        )
    origin.wake({hop})
    return header.id


def test_the_destination_checks_grants_again_and_its_refusal_reaches_the_sender(
    chain: Federation,
) -> None:
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    h2 = _h2_to_interpol(chain, seed=45)
    forged = sign_grant(
        Grant(
            id="grant-" + "2" * 24,
            message_id=h2,
            provider="ncb@ncb-madrid",
            grantee="europol",
            scope=GrantScope.ONWARD_TRANSFER,
            until=datetime.now(UTC) + timedelta(days=1),
        ),
        interpol.identity.signing,  # interpol signs as if it were the provider
    )
    original = message_row(interpol, h2)
    content = orjson.loads(original.content_json)
    draft = {
        **sample("ops@europol", "cyber-crime", seed=45, handling="H2"),
        **content,
        "forwarded": {
            "message_id": h2,
            "provider": "ncb@ncb-madrid",
            "handling": "H2",
            "purpose": "prevent and combat serious crime",
            "grants": [orjson.loads(grant_json(forged))],
        },
    }
    before = stored_counts(europol)
    sent = _queue_unchecked(interpol, draft, "europol")

    assert wait_state(interpol, sent, "europol", ["refused"]) == "refused"
    [delivery] = interpol.messaging.status(ADMIN, sent).deliveries
    assert delivery.refused_by == "europol"
    assert delivery.reason_code == "onward_transfer_without_permission"
    assert forged.id in (delivery.reason_text or "")
    assert "h2" in (delivery.reason_text or "").lower()
    assert ("refused", "europol") in evidence_kinds(interpol, sent)
    assert stored_counts(europol) == before
    assert madrid.name  # the provider was never asked


def test_a_providers_deletion_removes_the_data_at_every_recipient(chain: Federation) -> None:
    madrid = chain["ncb-madrid"]
    draft = sample("cc@interpol", "maritime-piracy", seed=46)
    draft["to"] = ["cc@interpol", "ops@europol"]
    sent = madrid.messaging.submit(officer(madrid), draft)
    for node in ("interpol", "europol"):
        wait_state(madrid, sent.id, node, ["delivered"])
        assert message_row(chain[node], sent.id).content_json is not None

    deletion = madrid.sharing.retract(officer(madrid), sent.id, "sent in error")

    for name in ("interpol", "europol"):
        wait_state(madrid, deletion.id, name, ["delivered", "read"])
        node = chain[name]
        row = message_row(node, sent.id)
        assert row.content_json is None
        assert row.content_jwe is None
        assert row.envelope is None
        assert row.purged_at is not None
        [tomb] = retention_store.tombstones_for(node.db, sent.id)
        assert (tomb.event, tomb.by_message, tomb.origin_node) == (
            "purged",
            deletion.id,
            "ncb-madrid",
        )
        assert "sent in error" in tomb.reason
        assert node.messaging.open(officer(node), sent.id).content is None
        assert AuditAction.MESSAGE_PURGED in _audit_actions(node, sent.id)
    # the origin holds the destinations' signed confirmations
    assert {i for k, i in evidence_kinds(madrid, deletion.id) if k == "delivered"} == {
        "interpol",
        "europol",
    }


def test_only_the_provider_may_delete_or_correct(chain: Federation) -> None:
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    sent = madrid.messaging.submit(officer(madrid), sample("ops@europol", seed=47))
    wait_state(madrid, sent.id, "europol", ["delivered"])

    # interpol (a relay on the path, not the provider) tries to delete it at europol
    fake = interpol.messaging.submit(
        officer(interpol),
        {
            "to": ["ops@europol"],
            "kind": "deletion",
            "crime_area": "cyber-crime",
            "subject": f"deletion of {sent.id}",
            "handling": "H0",
            "evaluation": "B2",
            "purpose": "prevent and combat serious crime",
            "reply_to": sent.id,
            "body": "withdrawn",
        },
    )
    wait_state(interpol, fake.id, "europol", ["refused"])
    [delivery] = interpol.messaging.status(ADMIN, fake.id).deliveries
    assert (delivery.reason_code, delivery.refused_by) == ("not_provider", "europol")
    assert "ncb-madrid" in (delivery.reason_text or "")
    assert message_row(europol, sent.id).content_json is not None
    assert retention_store.tombstones_for(europol.db, sent.id) == []


def test_a_providers_correction_replaces_the_content_and_keeps_a_record(
    chain: Federation,
) -> None:
    madrid, interpol = chain["ncb-madrid"], chain["interpol"]
    sent = madrid.messaging.submit(officer(madrid), sample("cc@interpol", seed=48))
    wait_state(madrid, sent.id, "interpol", ["delivered"])
    old = message_row(interpol, sent.id).content_json

    fix = madrid.sharing.correct(
        officer(madrid), sent.id, "wrong vessel name", body="Corrected report."
    )
    wait_state(madrid, fix.id, "interpol", ["delivered"])

    opened = interpol.messaging.open(officer(interpol), sent.id)
    assert opened.content is not None
    assert opened.content["body"] == "Corrected report."
    [tomb] = retention_store.tombstones_for(interpol.db, sent.id)
    assert (tomb.event, tomb.by_message) == ("corrected", fix.id)
    assert tomb.content_digest is not None
    assert old is not None
    assert AuditAction.MESSAGE_CORRECTED in _audit_actions(interpol, sent.id)


def test_retention_queues_then_purges_what_nobody_kept(pair: Federation) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    kept, dropped = interpol.messaging.submit_many(
        officer(interpol), [sample("ops@europol", seed=49), sample("ops@europol", seed=50)]
    )
    for sent in (kept, dropped):
        wait_state(interpol, sent.id, "europol", ["delivered"])
    review = europol.messaging.open(officer(europol), dropped.id).header.review_date
    assert review is not None  # personal data: a review date, within the agreement's days
    assert review <= (datetime.now(UTC) + timedelta(days=1825)).date()
    with europol.db.read() as conn:
        states = dict(
            conn.execute(
                select(retention_store.retention.c.message_id, retention_store.retention.c.state)
            ).all()
        )
    assert states == {kept.id: "scheduled", dropped.id: "scheduled"}

    # a month before the date: both enter the review queue, nothing is purged
    soon = datetime.combine(review - timedelta(days=10), datetime.min.time(), UTC)
    result = europol.retention.run(soon)
    assert sorted(result.queued) == sorted([kept.id, dropped.id])
    assert result.purged == []
    assert {i.message_id for i in europol.retention.queue(officer(europol))} == {
        kept.id,
        dropped.id,
    }
    # the officer decides on the day the item entered the queue
    Retention(europol.db, europol.audit, lambda: soon).keep(
        officer(europol), kept.id, review + timedelta(days=365), "investigation still open"
    )

    # past the date: the one nobody kept is purged, a tombstone remains
    late = datetime.combine(review + timedelta(days=1), datetime.min.time(), UTC)
    assert europol.retention.run(late).purged == [dropped.id]
    row = message_row(europol, dropped.id)
    assert row.content_json is None
    assert row.purged_at is not None
    [tomb] = retention_store.tombstones_for(europol.db, dropped.id)
    assert tomb.event == "purged"
    assert tomb.review_date == review
    assert message_row(europol, kept.id).content_json is not None
    assert europol.messaging.inbox(officer(europol), 0, 10)  # the headers stay listed
    assert count_rows(europol, tables.messages) == 2

    # a purge decision, and bad input that changes nothing
    europol.retention.purge(officer(europol), kept.id, "no longer needed")
    assert message_row(europol, kept.id).purged_at is not None
    with pytest.raises(NotFoundError):
        europol.retention.purge(officer(europol), kept.id, "again")
    with pytest.raises(InvalidInput, match="reason"):
        europol.retention.purge(officer(europol), "msg-" + "1" * 24, " ")


def test_the_review_notice_is_the_one_in_node_toml(pair: Federation) -> None:
    interpol = pair["interpol"]
    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=52))
    wait_state(interpol, sent.id, "europol", ["delivered"])
    set_option(pair.dirs["europol"], "retention", "notice_days", "5")
    europol = pair.restart("europol")
    review = europol.messaging.open(officer(europol), sent.id).header.review_date
    assert review is not None

    def on(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), UTC)

    # 10 days before: inside the default 30-day notice, outside the configured 5
    assert europol.retention.run(on(review - timedelta(days=10))).queued == []
    assert europol.retention.run(on(review - timedelta(days=4))).queued == [sent.id]
