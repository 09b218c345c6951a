"""The line's durable state, one module per seam:

- :mod:`.deliveries`: the delivery outbox (queue, claim, postpone, set aside, outcomes, stats);
- :mod:`.evidence`: inbound transactions' stored answers, evidence documents, and the
  evidence outbox towards each next hop;
- :mod:`.held`: alerts held for four-eyes review.

New code imports the module it needs. The names below are re-exported only for the line's
receive path (``services/line/inbox.py``), its senders (``services/line/outbox.py``) and
``services/submission.py``, which other branches are restructuring at the same time: each
of them reaches two seams through one ``line_store`` name. Point them at the modules, then
drop these re-exports.
"""

from secureline.store.line.deliveries import (
    NewDelivery,
    QueuedDelivery,
    claim_deliveries,
    current_states,
    postpone,
    queue_deliveries,
    set_aside,
)
from secureline.store.line.evidence import (
    claim_evidence,
    forget_evidence,
    save_evidence,
    save_transaction,
    stored_transaction,
)

__all__ = [
    "NewDelivery",
    "QueuedDelivery",
    "claim_deliveries",
    "claim_evidence",
    "current_states",
    "forget_evidence",
    "postpone",
    "queue_deliveries",
    "save_evidence",
    "save_transaction",
    "set_aside",
    "stored_transaction",
]
