"""The rules of sharing, one table test per reason code; refusals first.

The scene: europol's cyber-crime centre (ec3@europol) sends to Interpol's Lyon bureau
(ncb-lyon@interpol) over the interpol-europol link. Forwarded material was first provided by
the Dutch national unit (nu@nl).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from secureline.domain import policy
from secureline.domain.addresses import Address
from secureline.domain.agreement import Agreement, Confidentiality, OnwardTransfer
from secureline.domain.message import Header, compose, parse_draft
from secureline.domain.policy import (
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
    RULES,
    Decision,
    LinkTerms,
    PolicyContext,
    Reason,
    Stage,
    decide,
)
from secureline.domain.vocabulary import Classification, CrimeArea, DataSubject, Kind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PURPOSE = "prevent and combat serious crime"
PROVIDER = "nu@nl"
PROVIDED_ID = "msg-provided-0001"

AGREEMENT = Agreement(
    id="interpol-europol-2011",
    version=3,
    parties=frozenset({"interpol", "europol"}),
    crime_areas=frozenset(
        {
            CrimeArea.MARITIME_PIRACY,
            CrimeArea.COUNTER_TERRORISM,
            CrimeArea.MAJOR_EVENTS,
            CrimeArea.CYBER_CRIME,
            CrimeArea.CHILD_SEXUAL_EXPLOITATION,
        }
    ),
    kinds=frozenset(Kind),
    classification_ceiling=Classification.RESTRICTED,
    purposes=frozenset({PURPOSE}),
    personal_data=True,
    data_subjects=frozenset({DataSubject.SUSPECT, DataSubject.CONVICTED, DataSubject.CONTACT}),
    max_attachment_bytes=52_428_800,
    onward_transfer=OnwardTransfer.WITH_PERMISSION,
    retention_max_days=1825,
    alerts_need_review=True,
    confidentiality=Confidentiality.OPTIONAL,
)

PERSON = {"id": "p1", "schema": "Person", "properties": {"name": ["Jan Jansen"]}}


def agreement(**changes: Any) -> Agreement:
    return replace(AGREEMENT, **changes)


def grant(**changes: Any) -> dict[str, Any]:
    return {
        "id": "grant-0000001",
        "message_id": PROVIDED_ID,
        "provider": PROVIDER,
        "grantee": "interpol",
        "scope": "onward-transfer",
        "until": NOW + timedelta(days=30),
        **changes,
    }


def forwarded(handling: str = "H2", *grants: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "message_id": PROVIDED_ID,
        "provider": PROVIDER,
        "handling": handling,
        "purpose": PURPOSE,
        "grants": list(grants),
        **changes,
    }


def draft(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "information",
        "crime_area": "cyber-crime",
        "subject": "Botnet command servers",
        "handling": "H0",
        "evaluation": "B2",
        "purpose": PURPOSE,
        "to": ["ncb-lyon@interpol"],
        **changes,
    }


def header(**changes: Any) -> Header:
    """A composed header: what the origin signs; personal data gets a one-year review date."""
    return compose(
        parse_draft(draft(**changes)),
        message_id="msg-00000001",
        sender=Address.parse("ec3@europol"),
        now=NOW,
        default_review_date=NOW.date() + timedelta(days=365),
    ).header


def personal(**changes: Any) -> Header:
    return header(**{"entities": [PERSON], "data_subjects": ["suspect"], **changes})


def link(terms: Agreement | None = AGREEMENT, **changes: Any) -> LinkTerms:
    return LinkTerms(peer="interpol", agreement=terms, **changes)


def context(**changes: Any) -> PolicyContext:
    """europol submitting over its link to interpol, with the grants verified."""
    values: dict[str, Any] = {
        "node": "europol",
        "stage": Stage.SUBMIT,
        "now": NOW,
        "link_out": link(),
        "valid_grant_ids": frozenset({"grant-0000001", "grant-0000002"}),
    }
    values.update(changes)
    return PolicyContext(**values)


def receiving(**changes: Any) -> PolicyContext:
    """interpol receiving from europol."""
    values: dict[str, Any] = {
        "node": "interpol",
        "stage": Stage.RECEIVE,
        "link_in": LinkTerms(peer="europol", agreement=AGREEMENT),
        "link_out": None,
    }
    values.update(changes)
    return context(**values)


def refusal(decision: Decision, code: str, *fragments: str) -> Reason:
    assert not decision.allowed
    matching = [r for r in decision.reasons if r.code == code]
    assert matching, f"{code} not in {decision.codes}"
    for fragment in fragments:
        assert any(fragment in r.text for r in matching), [r.text for r in matching]
    return matching[0]


def only(decision: Decision, code: str, *fragments: str) -> Reason:
    """The decision refuses for ``code`` and nothing else."""
    assert decision.codes == (code,), decision.reasons
    return refusal(decision, code, *fragments)


# --- the links and their agreements ---------------------------------------------------------


def test_no_agreement_refuses_fail_closed() -> None:
    only(decide(header(), context(link_out=link(None))), NO_AGREEMENT, "interpol")


def test_no_agreement_on_the_incoming_link_refuses_at_receipt() -> None:
    decision = decide(header(), receiving(link_in=LinkTerms("europol", None)))
    only(decision, NO_AGREEMENT, "europol")


def test_agreement_digest_mismatch_refuses() -> None:
    decision = decide(header(), context(link_out=link(peer_digest="0" * 64)))
    only(decision, policy.AGREEMENT_MISMATCH, "interpol-europol-2011 v3", "0" * 64)


def test_matching_agreement_digest_passes() -> None:
    assert decide(header(), context(link_out=link(peer_digest=AGREEMENT.digest()))).allowed


def test_agreement_for_another_link_refuses() -> None:
    decision = decide(header(), context(link_out=LinkTerms("eurojust", AGREEMENT)))
    only(decision, policy.AGREEMENT_NOT_FOR_LINK, "not between europol and eurojust")


@pytest.mark.parametrize(
    ("stage", "link_in", "link_out", "count"),
    [
        (Stage.SUBMIT, None, None, 1),
        (Stage.RELAY, None, None, 2),
        (Stage.RELAY, LinkTerms("europol", AGREEMENT), None, 1),
        (Stage.RELAY, None, LinkTerms("europol", AGREEMENT), 1),
        (Stage.RECEIVE, None, None, 1),
    ],
)
def test_missing_link_refuses(
    stage: Stage, link_in: LinkTerms | None, link_out: LinkTerms | None, count: int
) -> None:
    decision = decide(
        header(), context(node="interpol", stage=stage, link_in=link_in, link_out=link_out)
    )
    assert [r.code for r in decision.reasons] == [NO_LINK] * count


# --- what may cross ----------------------------------------------------------------------------


def test_crime_area_outside_the_agreement_refuses() -> None:
    decision = decide(header(crime_area="fraud"), context())
    reason = only(decision, CRIME_AREA_NOT_ALLOWED)
    assert reason.text == (
        "crime area 'fraud' is not in agreement interpol-europol-2011 v3 (link with interpol)"
    )


def test_kind_outside_the_agreement_refuses() -> None:
    terms = agreement(kinds=frozenset({Kind.REQUEST, Kind.REPLY}))
    only(decide(header(), context(link_out=link(terms))), KIND_NOT_ALLOWED, "'information'")


def test_classification_above_ceiling_refuses() -> None:
    decision = decide(header(classification="confidential"), context())
    only(decision, CLASSIFICATION_ABOVE_CEILING, "'confidential'", "'restricted'")


def test_classification_at_ceiling_passes() -> None:
    assert decide(header(classification="restricted"), context()).allowed


def test_purpose_not_in_agreement_refuses() -> None:
    only(
        decide(header(purpose="tax collection"), context()), PURPOSE_NOT_ALLOWED, "'tax collection'"
    )


def test_purpose_is_compared_case_insensitively_and_stripped() -> None:
    assert decide(header(purpose="  Prevent and COMBAT serious crime "), context()).allowed


def test_any_purpose_when_the_agreement_says_star() -> None:
    terms = agreement(purposes=None)
    assert decide(header(purpose="tax collection"), context(link_out=link(terms))).allowed


def test_personal_data_across_a_link_that_forbids_it_refuses() -> None:
    terms = agreement(personal_data=False)
    decision = decide(personal(), context(link_out=link(terms)))
    only(decision, PERSONAL_DATA_NOT_ALLOWED, "allows none")


def test_data_subject_categories_alone_count_as_personal_data() -> None:
    terms = agreement(personal_data=False)
    decision = decide(header(data_subjects=["contact"]), context(link_out=link(terms)))
    only(decision, PERSONAL_DATA_NOT_ALLOWED)


def test_data_subject_not_listed_refuses() -> None:
    decision = decide(personal(data_subjects=["potential-offender"]), context())
    reason = only(decision, DATA_SUBJECT_NOT_ALLOWED, "'potential-offender'")
    assert "sensitive" not in reason.text


@pytest.mark.parametrize("subject", ["victim", "witness", "informant"])
def test_sensitive_data_subject_not_listed_says_it_is_sensitive(subject: str) -> None:
    decision = decide(personal(data_subjects=["suspect", subject]), context())
    only(decision, DATA_SUBJECT_NOT_ALLOWED, f"'{subject}'", "sensitive category")


def test_sensitive_data_subject_listed_passes() -> None:
    terms = agreement(data_subjects=frozenset({DataSubject.SUSPECT, DataSubject.VICTIM}))
    decision = decide(personal(data_subjects=["suspect", "victim"]), context(link_out=link(terms)))
    assert decision.allowed


def test_personal_data_without_categories_refuses() -> None:
    # compose() insists on categories; a hand-made header from the wire may not.
    crafted = personal().model_copy(update={"data_subjects": ()})
    only(decide(crafted, context()), DATA_SUBJECT_NOT_ALLOWED, "states no data subject category")


def _attachment(size: int) -> dict[str, Any]:
    return {"name": "scan.pdf", "media_type": "application/pdf", "size": size, "sha256": "0" * 64}


def test_attachments_above_the_link_maximum_refuse() -> None:
    decision = decide(header(attachments=[_attachment(52_428_801)]), context())
    only(decision, ATTACHMENT_TOO_LARGE, "52428801", "52428800")


def test_attachments_at_the_maximum_pass() -> None:
    assert decide(header(attachments=[_attachment(52_428_800)]), context()).allowed


def test_confidentiality_required_refuses_a_clear_body() -> None:
    terms = agreement(confidentiality=Confidentiality.REQUIRED)
    decision = decide(header(), context(link_out=link(terms)))
    only(decision, CONFIDENTIALITY_REQUIRED, "end-to-end encrypted")
    assert decide(header(confidential=True), context(link_out=link(terms))).allowed


def test_review_date_beyond_the_retention_maximum_refuses() -> None:
    too_late = (NOW + timedelta(days=1826)).date()
    decision = decide(personal(review_date=too_late.isoformat()), context())
    only(decision, RETENTION_EXCEEDS_AGREEMENT, too_late.isoformat(), "1825 days")


def test_review_date_at_the_retention_maximum_passes() -> None:
    last_day = (NOW + timedelta(days=1825)).date()
    assert decide(personal(review_date=last_day.isoformat()), context()).allowed


def test_personal_data_without_review_date_refuses() -> None:
    undated = compose(
        parse_draft(draft(entities=[PERSON], data_subjects=["suspect"])),
        message_id="msg-00000001",
        sender=Address.parse("ec3@europol"),
        now=NOW,
    ).header
    assert undated.review_date is None
    only(decide(undated, context()), RETENTION_EXCEEDS_AGREEMENT, "without a review date")


# --- onward transfer and purpose -------------------------------------------------------------


def onward_allowed(**changes: Any) -> PolicyContext:
    """A link whose agreement allows onward transfer: only the handling code can refuse."""
    return context(link_out=link(agreement(onward_transfer=OnwardTransfer.ALLOWED)), **changes)


def test_h2_forward_without_any_grant_refuses() -> None:
    decision = decide(header(forwarded=forwarded("H2")), onward_allowed())
    only(decision, H2_ONWARD_WITHOUT_PERMISSION, "H2", "interpol")


def test_h2_forward_over_a_with_permission_link_gives_both_grounds() -> None:
    decision = decide(header(forwarded=forwarded("H2")), context())
    assert decision.codes == (ONWARD_TRANSFER_WITHOUT_PERMISSION, H2_ONWARD_WITHOUT_PERMISSION)
    assert decide(header(forwarded=forwarded("H2", grant())), context()).allowed


@pytest.mark.parametrize(
    ("vector", "bad_grant", "valid_ids"),
    [
        ("expired", grant(until=NOW - timedelta(seconds=1)), None),
        ("expires exactly now", grant(until=NOW), None),
        ("signature not verified", grant(id="grant-forged01"), None),
        ("grant for another node", grant(grantee="eurojust"), None),
        ("grant for another message", grant(message_id="msg-other-0001"), None),
        ("grant from someone else than the provider", grant(provider="nu@be"), None),
        ("grant of another scope", grant(scope="judicial-use"), None),
        ("no verified grants at all", grant(), frozenset()),
    ],
)
def test_h2_forward_with_an_invalid_grant_refuses(
    vector: str, bad_grant: dict[str, Any], valid_ids: frozenset[str] | None
) -> None:
    changes = {} if valid_ids is None else {"valid_grant_ids": valid_ids}
    decision = decide(header(forwarded=forwarded("H2", bad_grant)), onward_allowed(**changes))
    only(decision, H2_ONWARD_WITHOUT_PERMISSION)


def test_h2_forward_needs_a_grant_for_every_destination_node() -> None:
    two_nodes = header(
        to=["ncb-lyon@interpol", "eurojust-desk@eurojust"], forwarded=forwarded("H2", grant())
    )
    decision = decide(two_nodes, onward_allowed())
    reason = only(decision, H2_ONWARD_WITHOUT_PERMISSION, "eurojust")
    assert "naming interpol" not in reason.text
    both = header(
        to=["ncb-lyon@interpol", "eurojust-desk@eurojust"],
        forwarded=forwarded("H2", grant(), grant(id="grant-0000002", grantee="eurojust")),
    )
    assert decide(both, context()).allowed
    assert decide(both, onward_allowed()).allowed


def test_h2_forward_with_a_valid_grant_passes() -> None:
    assert decide(header(forwarded=forwarded("H2", grant())), context()).allowed


def test_h2_forward_needs_the_grant_even_where_onward_transfer_is_allowed() -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED)
    decision = decide(header(forwarded=forwarded("H2")), context(link_out=link(terms)))
    only(decision, H2_ONWARD_WITHOUT_PERMISSION)


def test_h3_forward_without_grant_refuses() -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED)
    decision = decide(header(forwarded=forwarded("H3")), context(link_out=link(terms)))
    only(decision, ONWARD_TRANSFER_WITHOUT_PERMISSION, "H3")


@pytest.mark.parametrize("handling", ["H0", "H1", "H2", "H3"])
def test_forward_over_a_never_link_refuses(handling: str) -> None:
    terms = agreement(onward_transfer=OnwardTransfer.NEVER)
    decision = decide(header(forwarded=forwarded(handling, grant())), context(link_out=link(terms)))
    only(decision, ONWARD_TRANSFER_FORBIDDEN, "forbids onward transfer")


@pytest.mark.parametrize("handling", ["H0", "H1"])
def test_forward_over_a_with_permission_link_needs_a_grant(handling: str) -> None:
    decision = decide(header(forwarded=forwarded(handling)), context())
    only(decision, ONWARD_TRANSFER_WITHOUT_PERMISSION, "only with the provider's permission")
    assert decide(header(forwarded=forwarded(handling, grant())), context()).allowed


@pytest.mark.parametrize("handling", ["H0", "H1"])
def test_h0_h1_forward_over_an_allowed_link_passes(handling: str) -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED)
    assert decide(header(forwarded=forwarded(handling)), context(link_out=link(terms))).allowed


def test_forward_for_another_purpose_without_grant_refuses() -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED, purposes=None)
    forward = header(purpose="civil asset recovery", forwarded=forwarded("H0"))
    decision = decide(forward, context(link_out=link(terms)))
    only(decision, OTHER_PURPOSE_WITHOUT_PERMISSION, "'civil asset recovery'", PURPOSE)


def test_forward_for_another_purpose_with_grant_passes() -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED, purposes=None)
    permission = grant(scope="other-purpose", grantee="europol", purpose="Civil asset recovery")
    forward = header(purpose="civil asset recovery", forwarded=forwarded("H0", permission))
    assert decide(forward, context(link_out=link(terms))).allowed


@pytest.mark.parametrize(
    ("vector", "bad_grant"),
    [
        ("grant for another purpose", grant(scope="other-purpose", grantee="europol", purpose="x")),
        ("grant to the destination, not the user", grant(scope="other-purpose")),
        ("onward grant is not a purpose grant", grant(grantee="europol")),
        ("expired", grant(scope="other-purpose", grantee="europol", until=NOW)),
    ],
)
def test_forward_for_another_purpose_with_a_wrong_grant_refuses(
    vector: str, bad_grant: dict[str, Any]
) -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED, purposes=None)
    forward = header(purpose="civil asset recovery", forwarded=forwarded("H0", bad_grant))
    only(decide(forward, context(link_out=link(terms))), OTHER_PURPOSE_WITHOUT_PERMISSION)


def test_forward_for_the_same_purpose_in_other_words_of_case_passes() -> None:
    terms = agreement(onward_transfer=OnwardTransfer.ALLOWED)
    forward = header(purpose=PURPOSE.upper(), forwarded=forwarded("H0"))
    assert decide(forward, context(link_out=link(terms))).allowed


# --- specialist units and alerts ---------------------------------------------------------------


def test_cse_to_a_unit_not_marked_specialist_refuses_at_receipt() -> None:
    cse = header(crime_area="child-sexual-exploitation", to=["ncb-lyon@interpol", "cse@interpol"])
    decision = decide(cse, receiving(specialist_units=frozenset({"cse"})))
    reason = only(decision, NOT_SPECIALIST_UNIT, "ncb-lyon@interpol")
    assert "cse@interpol" not in reason.text


def test_cse_to_specialist_units_only_passes() -> None:
    cse = header(crime_area="child-sexual-exploitation", to=["cse@interpol", "other@europol"])
    assert decide(cse, receiving(specialist_units=frozenset({"cse"}))).allowed


def test_cse_specialist_check_is_for_the_receiving_node() -> None:
    # At SUBMIT the sender's node cannot know which units the destination marked specialist.
    cse = header(crime_area="child-sexual-exploitation")
    assert decide(cse, context()).allowed


def alert(**changes: Any) -> Header:
    return header(kind="alert", alert="red", **changes)


def test_alert_without_review_refuses_when_the_agreement_requires_it() -> None:
    only(decide(alert(), context()), ALERT_NEEDS_REVIEW, "red alert", "interpol-europol-2011 v3")


def test_alert_without_review_refuses_when_the_organisation_requires_it() -> None:
    terms = agreement(alerts_need_review=False)
    decision = decide(alert(), context(link_out=link(terms), requires_alert_review=True))
    only(decision, ALERT_NEEDS_REVIEW, "the policy of europol")


def test_reviewed_alert_passes() -> None:
    assert decide(alert(), context(alert_approved=True)).allowed


def test_alert_passes_without_review_when_nobody_requires_it() -> None:
    terms = agreement(alerts_need_review=False)
    assert decide(alert(), context(link_out=link(terms))).allowed


def test_alert_review_is_checked_at_submission_only() -> None:
    assert decide(alert(), receiving()).allowed


# --- the decision as a whole -------------------------------------------------------------------


def test_every_reason_is_returned_not_only_the_first() -> None:
    terms = agreement(personal_data=False, confidentiality=Confidentiality.REQUIRED)
    bad = personal(
        crime_area="fraud",
        classification="confidential",
        purpose="tax collection",
        attachments=[_attachment(10**9)],
    )
    decision = decide(bad, context(link_out=link(terms)))
    assert set(decision.codes) == {
        CRIME_AREA_NOT_ALLOWED,
        CLASSIFICATION_ABOVE_CEILING,
        PURPOSE_NOT_ALLOWED,
        PERSONAL_DATA_NOT_ALLOWED,
        ATTACHMENT_TOO_LARGE,
        CONFIDENTIALITY_REQUIRED,
    }


def test_a_relay_checks_both_links_and_names_each() -> None:
    inner = agreement(
        id="europol-nl", parties=frozenset({"europol", "nl"}), crime_areas=frozenset(CrimeArea)
    )
    relay = PolicyContext(
        node="europol",
        stage=Stage.RELAY,
        now=NOW,
        link_in=LinkTerms("nl", inner),
        link_out=LinkTerms("interpol", AGREEMENT),
    )
    decision = decide(header(crime_area="fraud"), relay)
    only(decision, CRIME_AREA_NOT_ALLOWED, "link with interpol")
    assert decide(header(), relay).allowed


def test_a_rule_that_raises_refuses_with_policy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(header: Header, context: PolicyContext) -> tuple[Reason, ...]:
        raise RuntimeError("boom")

    monkeypatch.setattr(policy, "RULES", (*RULES, broken))
    decision = decide(header(), context())
    reason = only(decision, POLICY_ERROR, "broken", "RuntimeError")
    assert "boom" not in reason.text  # internals stay in the log, not in signed evidence


def test_a_naive_clock_fails_closed() -> None:
    naive = context(now=datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001 - the attack vector
    decision = decide(header(forwarded=forwarded("H2", grant())), naive)
    refusal(decision, POLICY_ERROR)


def test_garbage_instead_of_a_header_fails_closed() -> None:
    decision = decide(None, context())  # type: ignore[arg-type]
    assert not decision.allowed
    assert set(decision.codes) == {POLICY_ERROR}


def test_refuse_without_reasons_still_refuses() -> None:
    assert not Decision.refuse().allowed
    assert Decision.refuse().codes == (POLICY_ERROR,)
    assert Decision.allow().allowed


def test_a_plain_message_passes() -> None:
    assert decide(header(), context()) == Decision.allow()
    assert decide(personal(), context()).allowed
    assert decide(header(), receiving()).allowed


def test_reason_codes_are_the_documented_ones() -> None:
    documented = policy.__doc__ or ""
    for code in REASON_CODES:
        assert f"\n{code} " in documented, code
    assert len(RULES) == len({rule.__name__ for rule in RULES})


def test_review_date_type_is_a_date() -> None:
    # Guards the retention arithmetic: compose keeps review_date a date, not a datetime.
    assert isinstance(personal().review_date, date)
