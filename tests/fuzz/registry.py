"""Every fuzz target, in the order the runner and the test take them."""

from __future__ import annotations

from tests.fuzz import (
    target_agreement,
    target_api,
    target_entities,
    target_evidence,
    target_markings,
    target_peers,
    target_receive_envelope,
    target_receive_raw,
)
from tests.fuzz.common import Target

TARGETS: dict[str, Target] = {
    t.TARGET: t
    for t in (
        target_receive_raw,
        target_receive_envelope,
        target_evidence,
        target_agreement,
        target_peers,
        target_entities,
        target_markings,
        target_api,
    )
}
