"""Both sides of a link must hold the same agreement (issue 4): a mismatch stops traffic on
that link with a visible alarm until it is fixed, then the queue drains."""

from __future__ import annotations

from collections.abc import Callable

from secureline.node.layout import NodeLayout
from tests.integration.support import PAIR, Federation, officer, sample, wait_for, wait_state


def test_an_agreement_mismatch_stops_the_link_with_an_alarm_until_fixed(
    federation_factory: Callable[..., Federation],
) -> None:
    fed = federation_factory(PAIR, start=())
    theirs = NodeLayout(fed.dirs["europol"]).agreement("interpol")
    agreed = theirs.read_text()
    theirs.write_text(agreed.replace("version = 1", "version = 2"))
    interpol, europol = fed.start("interpol"), fed.start("europol")

    sent = interpol.messaging.submit(officer(interpol), sample("ops@europol", seed=3))

    def alarm() -> dict[str, object] | None:
        health = {h["peer"]: h for h in interpol.peering.link_health()}["europol"]
        return health if health["alarms"] else None

    health = wait_for(alarm, what="the agreement mismatch alarm")
    assert any("agreement mismatch" in a for a in health["alarms"])  # type: ignore[attr-defined]
    assert health["peer_agreement_digest"] == europol.directory.agreement_digest("interpol")
    assert health["agreement_digest"] != health["peer_agreement_digest"]
    assert health["queue_depth"] == 1
    assert europol.messaging.inbox(officer(europol), 0, 10) == []

    theirs.write_text(agreed)  # the administrators agree again
    europol.refresh()
    wait_state(interpol, sent.id, "europol", ["delivered"])

    def cleared() -> dict[str, object] | None:
        # the link is written up again just after the answer is taken, not in its transaction
        health = {h["peer"]: h for h in interpol.peering.link_health()}["europol"]
        return None if health["alarms"] else health

    healed = wait_for(cleared, timeout=5, what="the alarm to clear")
    assert healed["alarms"] == []
    assert healed["peer_agreement_digest"] == healed["agreement_digest"]
