"""What the rules of sharing read: the verified facts the service established
(:class:`PolicyContext`, one :class:`LinkTerms` per link), what a header's grants say, and
the answer's shape (:class:`Reason`, :class:`Decision`). No rule lives here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from secureline.domain.agreement import Agreement
from secureline.domain.message import Forwarded, Grant, GrantScope, Header
from secureline.domain.policy.codes import POLICY_ERROR

__all__ = [
    "Decision",
    "LinkTerms",
    "PolicyContext",
    "Reason",
    "Stage",
    "grant_is_valid",
    "in_terms",
    "nodes_without_onward_grant",
]


class Stage(StrEnum):
    """Where the decision is taken."""

    SUBMIT = "submit"  # the origin, before the message enters the outbox
    RELAY = "relay"  # a node the message crosses between two links
    RECEIVE = "receive"  # the destination node, before delivery to its units


@dataclass(frozen=True)
class LinkTerms:
    """One link as the service knows it: the peer, our agreement, the peer's digest of it."""

    peer: str
    agreement: Agreement | None  # None: refuse (fail closed)
    peer_digest: str | None = None  # reported by the peer; differing from ours refuses


@dataclass(frozen=True)
class PolicyContext:
    """What the service established before asking: verified facts only."""

    node: str
    stage: Stage
    now: datetime
    link_in: LinkTerms | None = None  # the link the message arrived on (RELAY, RECEIVE)
    link_out: LinkTerms | None = None  # the link it leaves on (SUBMIT, RELAY)
    valid_grant_ids: frozenset[str] = frozenset()  # grants whose signature was verified
    specialist_units: frozenset[str] = frozenset()  # units at this node marked specialist
    alert_approved: bool = False  # four-eyes review done (SUBMIT)
    requires_alert_review: bool = False  # the organisation's own setting

    # Every rule walks the links: made once, with the context. Computed fields rather than
    # cached properties, whose lookup takes a lock on every first access (Python 3.11).
    links: tuple[LinkTerms, ...] = field(init=False, repr=False, compare=False)
    #: Each link present that has an agreement (a missing one is check_agreement_present's).
    terms: tuple[tuple[LinkTerms, Agreement], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        links = tuple(link for link in (self.link_in, self.link_out) if link is not None)
        object.__setattr__(self, "links", links)
        terms = tuple((link, link.agreement) for link in links if link.agreement is not None)
        object.__setattr__(self, "terms", terms)


@dataclass(frozen=True)
class Reason:
    """Why a message is refused: a stable machine code and a sentence for a person."""

    code: str
    text: str


@dataclass(frozen=True)
class Decision:
    """Allowed exactly when there is no reason to refuse."""

    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(reason.code for reason in self.reasons))

    @classmethod
    def allow(cls) -> Decision:
        return cls(())

    @classmethod
    def refuse(cls, *reasons: Reason) -> Decision:
        """A refusal; one without a stated reason still refuses (fail closed)."""
        if not reasons:
            reasons = (Reason(POLICY_ERROR, "refused without a stated reason"),)
        return cls(tuple(dict.fromkeys(reasons)))


def in_terms(agreement: Agreement, link: LinkTerms) -> str:
    """How a reason names the agreement it applies: a relay has two, one per link."""
    return f"agreement {agreement.label} (link with {link.peer})"


def grant_is_valid(
    grant: Grant,
    *,
    forwarded: Forwarded,
    scope: GrantScope,
    grantee: str,
    context: PolicyContext,
) -> bool:
    """True when ``grant`` is a verified, unexpired permission of this scope for ``grantee``."""
    return (
        grant.scope is scope
        and grant.grantee == grantee
        and grant.message_id == forwarded.message_id
        and grant.provider.node == forwarded.provider.node
        and grant.until > context.now
        and grant.id in context.valid_grant_ids
    )


def nodes_without_onward_grant(
    header: Header, forwarded: Forwarded, context: PolicyContext
) -> list[str]:
    """The destination nodes no valid onward-transfer grant of the forwarded message names."""
    return [
        node
        for node in header.destination_nodes
        if not any(
            grant_is_valid(
                grant,
                forwarded=forwarded,
                scope=GrantScope.ONWARD_TRANSFER,
                grantee=node,
                context=context,
            )
            for grant in forwarded.grants
        )
    ]
