"""Rules the domain declares, reached end to end through the services a user calls (issue #13,
section 1 item 4): each test fails if the service stops feeding its rule the facts it needs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from secureline.cli.federation import LinkSpec
from secureline.domain.audit import AuditAction
from secureline.services.errors import Refused
from tests.integration.support import (
    PAIR,
    SPECS,
    Federation,
    delivery_state,
    officer,
    sample,
    set_agreement_terms,
    stored_counts,
    wait_state,
)


def _attachment(size: int) -> dict[str, object]:
    return {
        "name": "scan.pdf",
        "media_type": "application/pdf",
        "size": size,
        "sha256": hashlib.sha256(b"scan").hexdigest(),
    }


def test_attachments_above_the_links_limit_are_refused_at_submit(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    set_agreement_terms(fed, "interpol", "europol", max_attachment_bytes="1000")
    interpol = fed.start("interpol")
    fed.start("europol")
    before = stored_counts(interpol)

    with pytest.raises(Refused) as refused:
        interpol.messaging.submit(
            officer(interpol), sample("ops@europol", attachments=[_attachment(600)] * 2)
        )

    reasons = {r.code: r.text for r in refused.value.reasons}
    assert "attachment_too_large" in reasons
    assert "1200 bytes" in reasons["attachment_too_large"]
    assert stored_counts(interpol) == before

    # at the limit, it leaves
    sent = interpol.messaging.submit(
        officer(interpol), sample("ops@europol", attachments=[_attachment(1000)])
    )
    wait_state(interpol, sent.id, "europol", ["delivered"])


def test_a_forwarded_alert_waits_for_the_second_officer_like_any_alert(
    federation_factory: Callable[..., Federation],
) -> None:
    """Forwarding used to turn an alert into plain information, which left without review."""
    onward = (
        [SPECS["ncb-madrid"], SPECS["interpol"], SPECS["europol"]],
        [
            LinkSpec("ncb-madrid", "interpol"),
            LinkSpec("interpol", "europol", onward_transfer="allowed"),
        ],
    )
    fed = federation_factory(onward)
    madrid, interpol = fed["ncb-madrid"], fed["interpol"]
    alert = sample(
        "cc@interpol", "counter-terrorism", seed=7, kind="alert", alert="red", handling="H0"
    )
    sent = madrid.messaging.submit(officer(madrid), alert)
    assert sent.held_for_review
    madrid.messaging.approve_alert(officer(madrid, who="reviewer"), sent.id)
    wait_state(madrid, sent.id, "interpol", ["delivered"])

    forwarded = interpol.sharing.forward(officer(interpol), sent.id, ["ops@europol"])

    assert forwarded.held_for_review
    assert delivery_state(interpol, forwarded.id, "europol") == "held"
    created = [
        r.detail
        for r in interpol.audit.records_for_object(forwarded.id)
        if r.action == AuditAction.MESSAGE_CREATED
    ]
    assert created == [{"to": "ops@europol", "kind": "alert", "reason": "alert_needs_review"}]
    opened = interpol.messaging.status(officer(interpol), forwarded.id)
    assert [d.state for d in opened.deliveries] == ["held"]
    interpol.messaging.approve_alert(officer(interpol, who="reviewer"), forwarded.id)
    wait_state(interpol, forwarded.id, "europol", ["delivered"])
    received = fed["europol"].messaging.open(officer(fed["europol"]), forwarded.id)
    assert received.header.alert is not None
    assert received.header.alert.value == "red"
