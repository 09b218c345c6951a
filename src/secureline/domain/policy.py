"""The rules of sharing: one pure decision, taken at every crossing.

:func:`decide` is called by the origin when a message is submitted, by every relay when it
crosses, and by the destination when it arrives. It reads only the signed header and what
the service has already established (the links' agreements, the grants whose signatures it
verified, the units marked specialist), so a relay decides without reading the content.

It evaluates **every** rule and returns **all** the reasons, so that an officer sees at once
everything to fix, and the refused-evidence a relay signs explains itself. It fails closed:
a link without an agreement refuses, and any exception inside a rule becomes a refusal with
code ``policy_error`` instead of escaping (or, worse, allowing).

Each rule is a module-level function ``check_...(header, context) -> tuple[Reason, ...]``
listed in :data:`RULES`, so that tests can show the decision never allows what a single
rule forbids. Reasons come in the order of :data:`RULES` (links and agreements first), so a
caller that reports one code reports the most basic problem. Reason codes are stable: they
travel in signed evidence and the API.

=================================== ===============================================================
code                                refused when
=================================== ===============================================================
no_link                             SUBMIT or RELAY without ``link_out``; RELAY or RECEIVE without
                                    ``link_in``
no_agreement                        a link involved has no agreement
agreement_mismatch                  the peer reported an agreement digest that differs from ours
agreement_not_for_link              the agreement's parties are not (this node, the link's peer)
crime_area_not_allowed              the crime area is not in a link's agreement
kind_not_allowed                    the message kind is not in a link's agreement
classification_above_ceiling        the classification is above a link's ceiling
purpose_not_allowed                 the purpose is not listed (compared case-insensitively, blanks
                                    collapsed)
personal_data_not_allowed           personal data or data subjects, and the agreement allows none
data_subject_not_allowed            a data subject category is not listed (sensitive ones named as
                                    such), or personal data states no category
attachment_too_large                the attachments' total size is above a link's maximum
confidentiality_required            the agreement requires end-to-end encryption and the message is
                                    not confidential
retention_exceeds_agreement         the review date is later than sending + the agreement's maximum
                                    days, or personal data has no review date
onward_transfer_forbidden           a forwarded message, over a link whose agreement says ``never``
onward_transfer_without_permission  a forwarded message over a ``with-permission`` link, or a
                                    forwarded H3 message over any link, without the provider's
                                    onward-transfer grant for every destination node
h2_onward_without_permission        a forwarded H2 message without the provider's onward-transfer
                                    grant for every destination node
other_purpose_without_permission    a forwarded message whose purpose differs from the provider's,
                                    without an other-purpose grant
not_specialist_unit                 at RECEIVE, child sexual exploitation addressed to a unit here
                                    not marked specialist
alert_needs_review                  at SUBMIT, an alert not yet approved, when an agreement or the
                                    organisation requires review
policy_error                        a rule could not be evaluated (fail closed)
=================================== ===============================================================

A grant counts only when its id is in ``context.valid_grant_ids`` (the service verified the
provider's signature), it is for the forwarded message and from the provider's node, its
scope is the one needed, and ``until`` is later than ``context.now``. An onward-transfer
grant must name the destination node as grantee (one grant per destination node); an
other-purpose grant must name the forwarding node (the header's sender) and, when it states
a purpose, the header's purpose.

Choices beyond the plain rules, made to fail closed:

* H3 conditions are free text the machine cannot check, so a forwarded H3 message needs the
  provider's onward-transfer grant like H2.
* The purpose limitation applies to forwarded messages of every handling code: each code
  builds on H0's "only for the stated purpose".
* Personal data must carry a review date; without one the retention term cannot be met.
* Hop counting is not here: the line service counts hops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from secureline.domain.agreement import Agreement, Confidentiality, OnwardTransfer
from secureline.domain.agreement import normalise_purpose as _normalise
from secureline.domain.message import Forwarded, Grant, GrantScope, Header
from secureline.domain.vocabulary import SENSITIVE_SUBJECTS, CrimeArea, HandlingCode, Kind

__all__ = [
    "Stage",
    "LinkTerms",
    "PolicyContext",
    "Reason",
    "Decision",
    "decide",
    "RULES",
    "Rule",
    "grant_is_valid",
    # reason codes
    "NO_LINK",
    "NO_AGREEMENT",
    "AGREEMENT_MISMATCH",
    "AGREEMENT_NOT_FOR_LINK",
    "CRIME_AREA_NOT_ALLOWED",
    "KIND_NOT_ALLOWED",
    "CLASSIFICATION_ABOVE_CEILING",
    "PURPOSE_NOT_ALLOWED",
    "PERSONAL_DATA_NOT_ALLOWED",
    "DATA_SUBJECT_NOT_ALLOWED",
    "ATTACHMENT_TOO_LARGE",
    "CONFIDENTIALITY_REQUIRED",
    "RETENTION_EXCEEDS_AGREEMENT",
    "ONWARD_TRANSFER_FORBIDDEN",
    "ONWARD_TRANSFER_WITHOUT_PERMISSION",
    "H2_ONWARD_WITHOUT_PERMISSION",
    "OTHER_PURPOSE_WITHOUT_PERMISSION",
    "NOT_SPECIALIST_UNIT",
    "ALERT_NEEDS_REVIEW",
    "POLICY_ERROR",
    "REASON_CODES",
]

NO_LINK = "no_link"
NO_AGREEMENT = "no_agreement"
AGREEMENT_MISMATCH = "agreement_mismatch"
AGREEMENT_NOT_FOR_LINK = "agreement_not_for_link"
CRIME_AREA_NOT_ALLOWED = "crime_area_not_allowed"
KIND_NOT_ALLOWED = "kind_not_allowed"
CLASSIFICATION_ABOVE_CEILING = "classification_above_ceiling"
PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
PERSONAL_DATA_NOT_ALLOWED = "personal_data_not_allowed"
DATA_SUBJECT_NOT_ALLOWED = "data_subject_not_allowed"
ATTACHMENT_TOO_LARGE = "attachment_too_large"
CONFIDENTIALITY_REQUIRED = "confidentiality_required"
RETENTION_EXCEEDS_AGREEMENT = "retention_exceeds_agreement"
ONWARD_TRANSFER_FORBIDDEN = "onward_transfer_forbidden"
ONWARD_TRANSFER_WITHOUT_PERMISSION = "onward_transfer_without_permission"
H2_ONWARD_WITHOUT_PERMISSION = "h2_onward_without_permission"
OTHER_PURPOSE_WITHOUT_PERMISSION = "other_purpose_without_permission"
NOT_SPECIALIST_UNIT = "not_specialist_unit"
ALERT_NEEDS_REVIEW = "alert_needs_review"
POLICY_ERROR = "policy_error"

REASON_CODES = frozenset(
    {
        NO_LINK,
        NO_AGREEMENT,
        AGREEMENT_MISMATCH,
        AGREEMENT_NOT_FOR_LINK,
        CRIME_AREA_NOT_ALLOWED,
        KIND_NOT_ALLOWED,
        CLASSIFICATION_ABOVE_CEILING,
        PURPOSE_NOT_ALLOWED,
        PERSONAL_DATA_NOT_ALLOWED,
        DATA_SUBJECT_NOT_ALLOWED,
        ATTACHMENT_TOO_LARGE,
        CONFIDENTIALITY_REQUIRED,
        RETENTION_EXCEEDS_AGREEMENT,
        ONWARD_TRANSFER_FORBIDDEN,
        ONWARD_TRANSFER_WITHOUT_PERMISSION,
        H2_ONWARD_WITHOUT_PERMISSION,
        OTHER_PURPOSE_WITHOUT_PERMISSION,
        NOT_SPECIALIST_UNIT,
        ALERT_NEEDS_REVIEW,
        POLICY_ERROR,
    }
)


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


Rule = Callable[[Header, PolicyContext], tuple[Reason, ...]]


# --- helpers ---------------------------------------------------------------------------------


def _in(agreement: Agreement, link: LinkTerms) -> str:
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


def _nodes_without_onward_grant(
    header: Header, forwarded: Forwarded, context: PolicyContext
) -> list[str]:
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


# --- the rules -------------------------------------------------------------------------------


def check_link_present(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    reasons = []
    if context.stage in (Stage.SUBMIT, Stage.RELAY) and context.link_out is None:
        reasons.append(
            Reason(NO_LINK, f"{context.node} has no link to send the message on ({context.stage})")
        )
    if context.stage in (Stage.RELAY, Stage.RECEIVE) and context.link_in is None:
        reasons.append(
            Reason(
                NO_LINK,
                f"{context.node} does not know the link the message arrived on ({context.stage})",
            )
        )
    return tuple(reasons)


def check_agreement_present(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(NO_AGREEMENT, f"the link with {link.peer} has no agreement: nothing may cross it")
        for link in context.links
        if link.agreement is None
    )


def check_agreement_digest(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            AGREEMENT_MISMATCH,
            f"{link.peer} runs a different text of {_in(agreement, link)}: "
            f"digest {link.peer_digest} there, {agreement.digest()} here",
        )
        for link, agreement in context.terms
        if link.peer_digest is not None and link.peer_digest != agreement.digest()
    )


def check_agreement_for_link(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            AGREEMENT_NOT_FOR_LINK,
            f"agreement {agreement.label} is between {' and '.join(sorted(agreement.parties))}, "
            f"not between {context.node} and {link.peer}",
        )
        for link, agreement in context.terms
        if not agreement.covers(context.node, link.peer)
    )


def check_crime_area(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            CRIME_AREA_NOT_ALLOWED,
            f"crime area {str(header.crime_area)!r} is not in {_in(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.crime_area not in agreement.crime_areas
    )


def check_kind(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            KIND_NOT_ALLOWED, f"message kind {str(header.kind)!r} is not in {_in(agreement, link)}"
        )
        for link, agreement in context.terms
        if header.kind not in agreement.kinds
    )


def check_classification(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            CLASSIFICATION_ABOVE_CEILING,
            f"classification {str(header.classification)!r} is above the ceiling "
            f"{str(agreement.classification_ceiling)!r} of {_in(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.classification.rank > agreement.classification_ceiling.rank
    )


def check_purpose(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            PURPOSE_NOT_ALLOWED,
            f"purpose {header.purpose!r} is not among the purposes of {_in(agreement, link)}",
        )
        for link, agreement in context.terms
        if not agreement.allows_purpose(header.purpose)
    )


def check_personal_data(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    if not (header.personal_data or header.data_subjects):
        return ()
    return tuple(
        Reason(
            PERSONAL_DATA_NOT_ALLOWED,
            f"the message carries personal data and {_in(agreement, link)} allows none",
        )
        for link, agreement in context.terms
        if not agreement.personal_data
    )


def check_data_subjects(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    # Where the agreement allows no personal data at all, check_personal_data says so once.
    reasons = []
    for link, agreement in context.terms:
        if not agreement.personal_data:
            continue
        if header.personal_data and not header.data_subjects:
            reasons.append(
                Reason(
                    DATA_SUBJECT_NOT_ALLOWED,
                    "the message carries personal data but states no data subject category, "
                    f"so it cannot be checked against {_in(agreement, link)}",
                )
            )
        for subject in header.data_subjects:
            if subject in agreement.data_subjects:
                continue
            sensitive = (
                " (a sensitive category: victims, witnesses and informants cross only where "
                "the agreement lists them)"
                if subject in SENSITIVE_SUBJECTS
                else ""
            )
            reasons.append(
                Reason(
                    DATA_SUBJECT_NOT_ALLOWED,
                    f"data subject category {str(subject)!r} is not in "
                    f"{_in(agreement, link)}{sensitive}",
                )
            )
    return tuple(reasons)


def check_attachment_size(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    # The header declares the size (the destination checks it against the content), so a
    # relay applies the limit to a confidential message it cannot read.
    return tuple(
        Reason(
            ATTACHMENT_TOO_LARGE,
            f"attachments total {header.attachment_bytes} bytes, above the "
            f"{agreement.max_attachment_bytes} bytes of {_in(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.attachment_bytes > agreement.max_attachment_bytes
    )


def check_confidentiality(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    if header.confidential:
        return ()
    return tuple(
        Reason(
            CONFIDENTIALITY_REQUIRED,
            f"{_in(agreement, link)} requires an end-to-end encrypted (confidential) message",
        )
        for link, agreement in context.terms
        if agreement.confidentiality is Confidentiality.REQUIRED
    )


def check_retention(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    reasons = []
    for link, agreement in context.terms:
        latest = header.created_at.date() + timedelta(days=agreement.retention_max_days)
        if header.review_date is not None and header.review_date > latest:
            reasons.append(
                Reason(
                    RETENTION_EXCEEDS_AGREEMENT,
                    f"review date {header.review_date.isoformat()} is later than "
                    f"{latest.isoformat()}, the {agreement.retention_max_days} days "
                    f"{_in(agreement, link)} allows",
                )
            )
        elif header.review_date is None and header.personal_data:
            reasons.append(
                Reason(
                    RETENTION_EXCEEDS_AGREEMENT,
                    "the message carries personal data without a review date; "
                    f"{_in(agreement, link)} allows at most {agreement.retention_max_days} days",
                )
            )
    return tuple(reasons)


def check_onward_transfer_terms(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    """The agreement's onward-transfer term, whatever the handling code.

    H2 and H3 also need the grant under check_restricted_onward: the agreement and the
    provider's marking are two independent grounds, and each is reported.
    """
    forwarded = header.forwarded
    if forwarded is None:
        return ()
    reasons = []
    for link, agreement in context.terms:
        if agreement.onward_transfer is OnwardTransfer.NEVER:
            reasons.append(
                Reason(
                    ONWARD_TRANSFER_FORBIDDEN,
                    f"message {forwarded.message_id} from {forwarded.provider} is passed on, "
                    f"and {_in(agreement, link)} forbids onward transfer",
                )
            )
        elif agreement.onward_transfer is OnwardTransfer.WITH_PERMISSION:
            reasons.extend(
                Reason(
                    ONWARD_TRANSFER_WITHOUT_PERMISSION,
                    f"{_in(agreement, link)} allows onward transfer only with the provider's "
                    f"permission, and no valid onward-transfer grant from "
                    f"{forwarded.provider.node} names {node}",
                )
                for node in _nodes_without_onward_grant(header, forwarded, context)
            )
    return tuple(reasons)


def check_restricted_onward(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    """H2 (and H3, whose conditions a machine cannot check) travel on only with a grant."""
    forwarded = header.forwarded
    if forwarded is None or forwarded.handling not in (HandlingCode.H2, HandlingCode.H3):
        return ()
    code, why = (
        (H2_ONWARD_WITHOUT_PERMISSION, "H2 information")
        if forwarded.handling is HandlingCode.H2
        else (ONWARD_TRANSFER_WITHOUT_PERMISSION, "H3 information (conditions in free text)")
    )
    return tuple(
        Reason(
            code,
            f"{why} from {forwarded.provider} (message {forwarded.message_id}) is passed on "
            f"to {node} without a valid onward-transfer grant from the provider naming {node}",
        )
        for node in _nodes_without_onward_grant(header, forwarded, context)
    )


def check_other_purpose(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    forwarded = header.forwarded
    if forwarded is None or _normalise(header.purpose) == _normalise(forwarded.purpose):
        return ()
    for grant in forwarded.grants:
        purpose_matches = grant.purpose is None or _normalise(grant.purpose) == _normalise(
            header.purpose
        )
        if purpose_matches and grant_is_valid(
            grant,
            forwarded=forwarded,
            scope=GrantScope.OTHER_PURPOSE,
            grantee=header.sender.node,
            context=context,
        ):
            return ()
    return (
        Reason(
            OTHER_PURPOSE_WITHOUT_PERMISSION,
            f"purpose {header.purpose!r} differs from {forwarded.purpose!r}, the purpose "
            f"{forwarded.provider} gave message {forwarded.message_id}, and no valid "
            f"other-purpose grant names {header.sender.node}",
        ),
    )


def check_specialist_unit(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    if context.stage is not Stage.RECEIVE:
        return ()
    if header.crime_area is not CrimeArea.CHILD_SEXUAL_EXPLOITATION:
        return ()
    units = dict.fromkeys(a.unit for a in header.to if a.node == context.node)
    return tuple(
        Reason(
            NOT_SPECIALIST_UNIT,
            f"child sexual exploitation material goes to specialist units only, "
            f"and {unit}@{context.node} is not one",
        )
        for unit in units
        if unit not in context.specialist_units
    )


def check_alert_review(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    if context.stage is not Stage.SUBMIT or header.kind is not Kind.ALERT:
        return ()
    if context.alert_approved:
        return ()
    requiring = [agreement.label for _, agreement in context.terms if agreement.alerts_need_review]
    if context.requires_alert_review:
        requiring.append(f"the policy of {context.node}")
    if not requiring:
        return ()
    return (
        Reason(
            ALERT_NEEDS_REVIEW,
            f"a {header.alert} alert leaves only after a second person's review, "
            f"required by {', '.join(requiring)}",
        ),
    )


RULES: tuple[Rule, ...] = (
    check_link_present,
    check_agreement_present,
    check_agreement_digest,
    check_agreement_for_link,
    check_crime_area,
    check_kind,
    check_classification,
    check_purpose,
    check_personal_data,
    check_data_subjects,
    check_attachment_size,
    check_confidentiality,
    check_retention,
    check_onward_transfer_terms,
    check_restricted_onward,
    check_other_purpose,
    check_specialist_unit,
    check_alert_review,
)


def decide(header: Header, context: PolicyContext) -> Decision:
    """Every reason to refuse ``header`` at this crossing; allowed only when there is none."""
    try:
        reasons: list[Reason] = []
        for rule in RULES:
            try:
                reasons.extend(rule(header, context))
            except Exception as exc:  # noqa: BLE001 - fail closed: a broken rule refuses
                reasons.append(_policy_error(rule.__name__, exc))
        return Decision.refuse(*reasons) if reasons else Decision.allow()
    except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
        return Decision.refuse(_policy_error("decide", exc))


def _policy_error(where: str, exc: Exception) -> Reason:
    return Reason(
        POLICY_ERROR,
        f"the rule {where} could not be evaluated ({type(exc).__name__}), so the message is "
        "refused",
    )
