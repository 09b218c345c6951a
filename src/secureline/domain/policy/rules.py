"""Each rule of sharing, a module-level function ``check_...(header, context) ->
tuple[Reason, ...]``, and :data:`RULES`, their order (links and agreements first, so a caller
that reports one code reports the most basic problem)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from secureline.domain.agreement import Confidentiality, OnwardTransfer
from secureline.domain.agreement import normalise_purpose as _normalise
from secureline.domain.kinds import facts as kind_facts
from secureline.domain.message import GrantScope, Header
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
    PURPOSE_NOT_ALLOWED,
    RETENTION_EXCEEDS_AGREEMENT,
)
from secureline.domain.policy.facts import (
    PolicyContext,
    Reason,
    Stage,
    grant_is_valid,
    in_terms,
    nodes_without_onward_grant,
)
from secureline.domain.vocabulary import SENSITIVE_SUBJECTS, CrimeArea, HandlingCode

__all__ = [
    "RULES",
    "Rule",
    "check_link_present",
    "check_agreement_present",
    "check_agreement_digest",
    "check_agreement_for_link",
    "check_crime_area",
    "check_kind",
    "check_classification",
    "check_purpose",
    "check_personal_data",
    "check_data_subjects",
    "check_attachment_size",
    "check_confidentiality",
    "check_retention",
    "check_onward_transfer_terms",
    "check_restricted_onward",
    "check_other_purpose",
    "check_specialist_unit",
    "check_alert_review",
]


Rule = Callable[[Header, PolicyContext], tuple[Reason, ...]]


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
            f"{link.peer} runs a different text of {in_terms(agreement, link)}: "
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
            f"crime area {str(header.crime_area)!r} is not in {in_terms(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.crime_area not in agreement.crime_areas
    )


def check_kind(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            KIND_NOT_ALLOWED,
            f"message kind {str(header.kind)!r} is not in {in_terms(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.kind not in agreement.kinds
    )


def check_classification(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            CLASSIFICATION_ABOVE_CEILING,
            f"classification {str(header.classification)!r} is above the ceiling "
            f"{str(agreement.classification_ceiling)!r} of {in_terms(agreement, link)}",
        )
        for link, agreement in context.terms
        if header.classification.rank > agreement.classification_ceiling.rank
    )


def check_purpose(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            PURPOSE_NOT_ALLOWED,
            f"purpose {header.purpose!r} is not among the purposes of {in_terms(agreement, link)}",
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
            f"the message carries personal data and {in_terms(agreement, link)} allows none",
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
                    f"so it cannot be checked against {in_terms(agreement, link)}",
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
                    f"{in_terms(agreement, link)}{sensitive}",
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
            f"{agreement.max_attachment_bytes} bytes of {in_terms(agreement, link)}",
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
            f"{in_terms(agreement, link)} requires an end-to-end encrypted (confidential) message",
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
                    f"{in_terms(agreement, link)} allows",
                )
            )
        elif header.review_date is None and header.personal_data:
            reasons.append(
                Reason(
                    RETENTION_EXCEEDS_AGREEMENT,
                    "the message carries personal data without a review date; "
                    f"{in_terms(agreement, link)} allows at most "
                    f"{agreement.retention_max_days} days",
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
                    f"and {in_terms(agreement, link)} forbids onward transfer",
                )
            )
        elif agreement.onward_transfer is OnwardTransfer.WITH_PERMISSION:
            reasons.extend(
                Reason(
                    ONWARD_TRANSFER_WITHOUT_PERMISSION,
                    f"{in_terms(agreement, link)} allows onward transfer only with the provider's "
                    f"permission, and no valid onward-transfer grant from "
                    f"{forwarded.provider.node} names {node}",
                )
                for node in nodes_without_onward_grant(header, forwarded, context)
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
        for node in nodes_without_onward_grant(header, forwarded, context)
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
    if context.stage is not Stage.SUBMIT or not kind_facts(header.kind).four_eyes:
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
