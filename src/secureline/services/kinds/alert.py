"""``alert``: a notice-like alert (Interpol's colour-coded notices, the UN special notice).

Its header carries the alert type (and no other kind's may). It may need a second person's
review before it leaves (four eyes): where an agreement of the route or the node's policy
asks for it, the rules of sharing hold it at submit (``alert_needs_review``) and
services/alert_review.py takes it from there. It has no effect on receipt.
"""

from __future__ import annotations

from secureline.domain.kinds import facts
from secureline.domain.message import Header
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import KindSpec


def is_reviewed(header: Header) -> bool:
    """Whether the four-eyes review applies to this message (services/alert_review.py)."""
    return facts(header.kind).four_eyes


SPEC = KindSpec(
    Kind.ALERT,
    "a notice-like alert; may need a second person's review before it leaves",
    facts(Kind.ALERT),
)
