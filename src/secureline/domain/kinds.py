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

from dataclasses import dataclass

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


PLAIN = KindFacts()

_FACTS: dict[Kind, KindFacts] = {
    Kind.REQUEST: KindFacts(deadline=True),
    Kind.ALERT: KindFacts(alert_type=True, four_eyes=True),
    Kind.PERMISSION_REQUEST: KindFacts(control=True),
    Kind.PERMISSION_GRANT: KindFacts(control=True),
    Kind.CORRECTION: KindFacts(control=True),
    Kind.DELETION: KindFacts(control=True),
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
