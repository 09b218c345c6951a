"""The agreement digest rule reached through the line (issue 13, section 1 item 4).

``domain/policy/`` refuses with ``agreement_mismatch`` when a link's peer reports another
text of the agreement, but the service never passed a peer's digest in, so the rule was
never reached. A direct link already stops whole transactions on a mismatch (409, held
until fixed: test_agreements.py); at a relay the outgoing link is the one that matters:
over ncb-madrid — interpol — europol, once europol runs another text of its agreement with
interpol (and has said so), a message from ncb-madrid for europol is refused at interpol
with ``agreement_mismatch`` and the evidence goes back to the origin, instead of waiting in
interpol's queue for a link that refuses it.
"""

from __future__ import annotations

from collections.abc import Callable

from secureline.node.layout import NodeLayout
from tests.integration.support import (
    CHAIN,
    Federation,
    officer,
    sample,
    wait_for,
    wait_state,
)


def test_a_relay_refuses_for_a_next_hop_that_runs_another_agreement(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(CHAIN)
    ncb, interpol, europol = fed["ncb-madrid"], fed["interpol"], fed["europol"]
    theirs = NodeLayout(fed.dirs["europol"]).agreement("interpol")
    agreed = theirs.read_text()
    theirs.write_text(agreed.replace("version = 1", "version = 2"))
    europol.refresh()
    ours = interpol.directory.agreement_digest("europol")
    reported = europol.directory.agreement_digest("interpol")
    assert reported != ours

    # interpol learns europol's text from europol's answer to its next push
    probe = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=3))

    def learnt() -> bool:
        peer = {h["peer"]: h for h in interpol.peering.link_health()}["europol"]
        return peer["peer_agreement_digest"] == reported

    wait_for(learnt, 30, what="interpol to record europol's digest")

    sent = ncb.messaging.submit(officer(ncb), sample("ops@europol", seed=4))

    assert wait_state(ncb, sent.id, "europol", ["refused"], timeout=30) == "refused"
    status = ncb.messaging.status(officer(ncb), sent.id)
    delivery = next(d for d in status.deliveries if d.destination == "europol")
    assert (delivery.reason_code, delivery.refused_by) == ("agreement_mismatch", "interpol")
    assert reported in (delivery.reason_text or "")

    # fixed: europol's own traffic tells interpol, and the relay lets messages through again
    theirs.write_text(agreed)
    europol.refresh()
    wait_state(interpol, probe.id, "europol", ["delivered"], timeout=60)
    again = ncb.messaging.submit(officer(ncb), sample("ops@europol", seed=5))
    assert wait_state(ncb, again.id, "europol", ["delivered"], timeout=30) == "delivered"
