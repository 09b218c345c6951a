"""The kinds of protocol 1 that have no behaviour of their own: the rules of sharing apply
to them as to any message, and receipt stores them in their units' mailboxes. They are
declared together because each would be a module of three lines; a kind that gains a
payload or an effect moves to its own module.

* ``request``: asks for information; its deadline follows its priority (EU Directive
  2023/977: 8 hours, 3 or 7 days; the fact ``deadline`` in domain/kinds.py);
* ``reply``: answers a message (``reply_to``);
* ``information``: shares information unasked;
* ``action-plan-update``: joint action plans (``strategic-report`` has its module);
* ``acknowledgement``: a unit's acknowledgement of a message (the read receipt itself is
  evidence, ``read``, not a message kind).
"""

from __future__ import annotations

from secureline.domain.kinds import facts
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import KindSpec

SPECS = tuple(
    KindSpec(kind, summary, facts(kind))
    for kind, summary in (
        (Kind.REQUEST, "asks for information, by a deadline"),
        (Kind.REPLY, "answers a message"),
        (Kind.INFORMATION, "shares information unasked"),
        (Kind.ACTION_PLAN_UPDATE, "an update of a joint action plan"),
        (Kind.ACKNOWLEDGEMENT, "acknowledges a message"),
    )
)
