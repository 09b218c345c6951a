"""``deletion``: the provider withdraws a message it sent (a retraction).

Its body is the provider's reason. Each destination purges the original and leaves a
tombstone; its delivered evidence of the deletion is the provider's confirmation. What it
shares with ``correction`` is in amendment.py.
"""

from __future__ import annotations

from typing import Any

from secureline.domain.audit import AuditAction
from secureline.domain.kinds import facts
from secureline.domain.vocabulary import Kind
from secureline.services.kinds import amendment
from secureline.services.kinds.registry import KindSpec

amendment.ACTIONS[Kind.DELETION] = AuditAction.MESSAGE_PURGED


def content(reason: str) -> dict[str, Any]:
    """A deletion carries only its reason."""
    return {"body": reason}


SPEC = KindSpec(
    Kind.DELETION,
    "the provider withdraws a message it sent: purged at every recipient",
    facts(Kind.DELETION),
    examine=amendment.examine,
    commit=amendment.commit,
    searched=False,
    on_stored=amendment.on_stored,
)
