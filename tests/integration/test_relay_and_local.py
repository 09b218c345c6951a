"""A message for a unit at a relay and for a node beyond it: the relay is both a destination
and a relay for the same message id, and must keep the readable copy."""

from __future__ import annotations

import pytest

from tests.integration.support import Federation, message_row, officer, sample, wait_state


@pytest.mark.parametrize("confidential", [False, True], ids=["plain", "confidential"])
def test_the_relay_keeps_its_own_readable_copy_and_relays_the_other(
    chain: Federation, confidential: bool
) -> None:
    madrid, interpol, europol = chain["ncb-madrid"], chain["interpol"], chain["europol"]
    draft = sample("ops@europol", "counter-terrorism", seed=9, confidential=confidential)
    draft["to"] = ["ops@europol", "cc@interpol"]  # the far destination first, on purpose
    sent = madrid.messaging.submit(officer(madrid), draft)
    for destination in ("interpol", "europol"):
        wait_state(madrid, sent.id, destination, ["delivered"])

    row = message_row(interpol, sent.id)
    assert row.direction == "in"
    assert row.content_json is not None
    assert row.content_jwe is None
    opened = interpol.messaging.open(officer(interpol), sent.id)
    assert opened.content is not None
    assert opened.content["entities"]
    assert europol.messaging.open(officer(europol), sent.id).content == opened.content
