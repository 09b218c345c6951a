"""What a kind of message means to the domain: the facts its header gives the rules.

A kind's declaration is split by the layers. Its domain half is here, a ``KindFacts``: pure
data that the header's validation (``domain/message.py``), the default deadline
(``domain/deadlines.py``) and the rules of sharing (``domain/policy/rules.py``) read instead
of naming a kind. Its services half (payload model, who may send it, its effects on receipt)
is its module in ``services/kinds/``, which declares these facts for a kind it adds.

The facts of protocol 1's kinds are declared here, not in their kind modules, so that the
domain is whole on its own: a rule never reads a kind whose facts depend on whether a
services module happened to be imported (an alert's four-eyes review must not, fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from secureline.domain.addresses import EVERY_UNIT
from secureline.domain.vocabulary import Kind


@dataclass(frozen=True, slots=True)
class KindFacts:
    """What a header of this kind tells the domain (all False: an ordinary message)."""

    #: the header carries an alert type (red, blue, ...), which no other kind may carry
    alert_type: bool = False
    #: leaves only after a second person's review where an agreement or the node asks for it
    four_eyes: bool = False
    #: has the deadline of EU Directive 2023/977 by its priority (domain/deadlines.py)
    deadline: bool = False
    #: the provider's control message about a message it sent (reply_to names it): an
    #: agreement that leaves it out takes that control from the link (``secureline
    #: agreement check`` warns, from services/kinds/registry.py ``control_kinds``)
    control: bool = False
    #: may be addressed to every unit of a node (``all-units@node``, domain/addresses.py):
    #: the wider distribution of a strategic report, fanned out by the receiving node
    every_unit: bool = False


PLAIN = KindFacts()

_FACTS: dict[Kind, KindFacts] = {
    Kind.REQUEST: KindFacts(deadline=True),
    Kind.ALERT: KindFacts(alert_type=True, four_eyes=True),
    Kind.PERMISSION_REQUEST: KindFacts(control=True),
    Kind.PERMISSION_GRANT: KindFacts(control=True),
    Kind.CORRECTION: KindFacts(control=True),
    Kind.DELETION: KindFacts(control=True),
    Kind.STRATEGIC_REPORT: KindFacts(every_unit=True),
}


def facts(kind: Kind) -> KindFacts:
    """The facts of ``kind``; an ordinary message's when it declared none."""
    return _FACTS.get(kind, PLAIN)


def declare(kind: Kind, kind_facts: KindFacts) -> None:
    """Declare the facts of a kind added outside protocol 1 (services/kinds/registry.py).
    Protocol 1's are fixed: declaring other facts for one of them is refused."""
    if _FACTS.get(kind, kind_facts) != kind_facts:
        raise ValueError(f"the kind {kind.value!r} already has other facts")
    if kind_facts != PLAIN:
        _FACTS[kind] = kind_facts


def every_unit_of_bare_nodes(data: Any) -> Any:
    """A draft's recipients as given, but a bare node name (``europol``) for a kind that may
    go to every unit: that node's every unit (``all-units@europol``). Other drafts are left
    as they are (a bare node is then refused, as any address without ``@``)."""
    if not isinstance(data, dict) or not isinstance(data.get("to"), list | tuple):
        return data
    kind = data.get("kind")
    try:
        wide = facts(kind if isinstance(kind, Kind) else Kind(kind)).every_unit
    except ValueError:
        return data  # not a known kind: the field's own check says so
    if not wide:
        return data
    to = [
        f"{EVERY_UNIT}@{a.strip()}" if isinstance(a, str) and "@" not in a else a
        for a in data["to"]
    ]
    return {**data, "to": to}


def every_unit_problem(kind: Kind, units: Iterable[str]) -> str | None:
    """Why these recipients' units do not fit the kind: ``all-units`` for a kind that is
    not distributed to every unit, nor a control message that follows one (None: they
    fit)."""
    found = facts(kind)
    # a control message goes where its original went (a strategic report's correction)
    if EVERY_UNIT in units and not (found.every_unit or found.control):
        return (
            f"to: {EVERY_UNIT}@node addresses every unit of a node, which a message of kind "
            f"{kind.value!r} may not (a strategic-report may)"
        )
    return None
