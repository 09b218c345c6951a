"""The rules of sharing: one pure decision, taken at every crossing.

:func:`decide` is called by the origin when a message is submitted, by every relay when it
crosses, and by the destination when it arrives. It reads only the signed header and what
the service has already established (the links' agreements, the grants whose signatures it
verified, the units marked specialist), so a relay decides without reading the content.

It evaluates **every** rule and returns **all** the reasons, so that an officer sees at once
everything to fix, and the refused-evidence a relay signs explains itself. It fails closed:
a link without an agreement refuses, and any exception inside a rule becomes a refusal with
code ``policy_error`` instead of escaping (or, worse, allowing).

The facts the rules read are in :mod:`.facts`, the reason codes in :mod:`.codes`, each rule
in :mod:`.rules`; the decision is here, and this package re-exports what callers use.

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

from secureline.domain.message import Header
from secureline.domain.policy.codes import (
    AGREEMENT_MISMATCH,
    AGREEMENT_NOT_FOR_LINK,
    ALERT_NEEDS_REVIEW,
    ATTACHMENT_TOO_LARGE,
    CLASSIFICATION_ABOVE_CEILING,
    CONFIDENTIALITY_REQUIRED,
    CRIME_AREA_NOT_ALLOWED,
    DATA_SUBJECT_NOT_ALLOWED,
    H2_ONWARD_WITHOUT_PERMISSION,
    KIND_NOT_ALLOWED,
    NO_AGREEMENT,
    NO_LINK,
    NOT_SPECIALIST_UNIT,
    ONWARD_TRANSFER_FORBIDDEN,
    ONWARD_TRANSFER_WITHOUT_PERMISSION,
    OTHER_PURPOSE_WITHOUT_PERMISSION,
    PERSONAL_DATA_NOT_ALLOWED,
    POLICY_ERROR,
    PURPOSE_NOT_ALLOWED,
    REASON_CODES,
    RETENTION_EXCEEDS_AGREEMENT,
)
from secureline.domain.policy.facts import (
    Decision,
    LinkTerms,
    PolicyContext,
    Reason,
    Stage,
    grant_is_valid,
)
from secureline.domain.policy.rules import RULES, Rule

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


def decide(header: Header, context: PolicyContext) -> Decision:
    """Every reason to refuse ``header`` at this crossing; allowed only when there is none.

    It reads :data:`RULES` from this package's namespace at each call, so a test may add a
    rule that raises and see it refuse (``policy_error``)."""
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
