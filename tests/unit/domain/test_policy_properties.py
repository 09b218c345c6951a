"""Properties of the decision over random headers, agreements and crossings.

Headers are composed the way the origin composes them (parse_draft + compose), agreements
are built through the constructor that keeps the parser's invariants, and crossings mix
every stage with links that are missing, unagreed, mismatched or for another pair of nodes.
The grant check in property (1) is written again here, independently of the policy module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from secureline.domain.addresses import Address
from secureline.domain.agreement import (
    Agreement,
    Confidentiality,
    OnwardTransfer,
    agreement_to_toml,
    parse_agreement,
)
from secureline.domain.message import GrantScope, Header, compose, parse_draft
from secureline.domain.policy import (
    H2_ONWARD_WITHOUT_PERMISSION,
    NO_AGREEMENT,
    PERSONAL_DATA_NOT_ALLOWED,
    POLICY_ERROR,
    REASON_CODES,
    RULES,
    LinkTerms,
    PolicyContext,
    Stage,
    decide,
)
from secureline.domain.vocabulary import (
    PROTOCOL_KINDS,
    AlertType,
    Classification,
    CrimeArea,
    DataSubject,
    HandlingCode,
    Kind,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NODES = ("europol", "interpol", "eurojust", "nl")
UNITS = ("ec3", "ncb-lyon", "cse", "desk")
GRANT_IDS = ("grant-0000001", "grant-0000002", "grant-0000003")
PURPOSES = ("prevent and combat serious crime", "civil asset recovery", "tax collection")
PROVIDED_ID = "msg-provided-0001"
PROVIDER = "nu@nl"
PERSON = {"id": "p1", "schema": "Person", "properties": {"name": ["Jan Jansen"]}}

PROPERTY = settings(max_examples=200, deadline=None)


def subsets(values: Any, *, min_size: int = 0) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(st.sampled_from(list(values)), min_size=min_size)


# --- agreements --------------------------------------------------------------------------------

# Terms that let most messages through, so that allowed decisions are common too.
LENIENT = Agreement(
    id="interpol-europol-2011",
    version=1,
    parties=frozenset({"interpol", "europol"}),
    crime_areas=frozenset(CrimeArea),
    kinds=PROTOCOL_KINDS[1],
    classification_ceiling=Classification.CONFIDENTIAL,
    purposes=None,
    personal_data=True,
    data_subjects=frozenset(DataSubject),
    max_attachment_bytes=10**9,
    onward_transfer=OnwardTransfer.ALLOWED,
    retention_max_days=4000,
    alerts_need_review=False,
    confidentiality=Confidentiality.OPTIONAL,
)


@st.composite
def agreements(draw: st.DrawFn, parties: frozenset[str] | None = None) -> Agreement:
    if parties is None:
        parties = frozenset(
            draw(st.lists(st.sampled_from(NODES), min_size=2, max_size=2, unique=True))
        )
    return Agreement(
        id=draw(st.sampled_from(("interpol-europol-2011", "europol-nl", "test.link_1"))),
        version=draw(st.integers(1, 50)),
        parties=parties,
        crime_areas=draw(subsets(CrimeArea, min_size=1)),
        kinds=draw(subsets(Kind, min_size=1)),
        classification_ceiling=draw(st.sampled_from(Classification)),
        purposes=draw(st.none() | subsets(PURPOSES, min_size=1)),
        personal_data=draw(st.booleans()),
        data_subjects=draw(subsets(DataSubject)),
        max_attachment_bytes=draw(st.integers(0, 10**8)),
        onward_transfer=draw(st.sampled_from(OnwardTransfer)),
        retention_max_days=draw(st.integers(1, 4000)),
        alerts_need_review=draw(st.booleans()),
        confidentiality=draw(st.sampled_from(Confidentiality)),
    )


# --- headers -----------------------------------------------------------------------------------


def mostly(usual: Any, *other: Any) -> st.SearchStrategy[Any]:
    """The usual value three times in four, else one of the others."""
    return st.sampled_from([usual, usual, usual, *other]) if other else st.just(usual)


GRANT_FLAWS = {
    "unverified signature": {"id": "grant-forged01"},
    "another message": {"message_id": "msg-other-0001"},
    "another provider": {"provider": "nu@be"},
    "another grantee": {"grantee": "elsewhere"},
    "judicial use only": {"scope": GrantScope.JUDICIAL_USE},
    "other purpose only": {"scope": GrantScope.OTHER_PURPOSE},
    "expired": {"until": NOW - timedelta(days=1)},
    "expires now": {"until": NOW},
}


@st.composite
def grants(draw: st.DrawFn, grantees: tuple[str, ...]) -> dict[str, Any]:
    """A grant that counts for one of ``grantees``, or one with exactly one flaw."""
    grant = {
        "id": draw(st.sampled_from(GRANT_IDS)),
        "message_id": PROVIDED_ID,
        "provider": PROVIDER,
        "grantee": draw(st.sampled_from(grantees)),
        "scope": GrantScope.ONWARD_TRANSFER,
        "purpose": draw(st.none() | st.sampled_from(PURPOSES)),
        "until": NOW + timedelta(days=30),
    }
    flaw = draw(st.none() | st.sampled_from(sorted(GRANT_FLAWS)))
    return grant if flaw is None else {**grant, **GRANT_FLAWS[flaw]}


Forwards = Callable[[tuple[str, ...], str], st.SearchStrategy[dict[str, Any]]]


def forwards(handling: HandlingCode | None = None) -> Forwards:
    """Forwarded parts whose grants mostly name the header's destination nodes."""

    @st.composite
    def forwarded(draw: st.DrawFn, destinations: tuple[str, ...], purpose: str) -> dict[str, Any]:
        return {
            "message_id": PROVIDED_ID,
            "provider": PROVIDER,
            "handling": handling or draw(st.sampled_from(HandlingCode)),
            "purpose": draw(mostly(purpose, *PURPOSES)),
            "grants": draw(st.lists(grants(destinations), max_size=4)),
        }

    return forwarded


def cased(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from((text, text.upper(), f"  {text.capitalize()} "))


@st.composite
def headers(
    draw: st.DrawFn, *, forwarded: Forwards | None = None, personal: bool | None = None
) -> Header:
    kind = draw(st.sampled_from(sorted(PROTOCOL_KINDS[1])))
    handling = draw(st.sampled_from(HandlingCode))
    carries_person = draw(st.booleans()) if personal is None else personal
    subjects = draw(
        st.lists(st.sampled_from(DataSubject), unique=True, min_size=1 if carries_person else 0)
    )
    recipients = draw(
        st.lists(
            st.tuples(st.sampled_from(UNITS), st.sampled_from(NODES)),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    destinations = tuple(dict.fromkeys(node for _, node in recipients))
    purpose = draw(st.sampled_from(PURPOSES))
    if forwarded is None and draw(st.integers(0, 3)) == 0:
        forwarded = forwards()
    review = draw(mostly("soon", "never", "late"))
    review_days = draw(st.integers(0, 1000) if review == "soon" else st.integers(1000, 4000))
    draft = {
        "kind": kind,
        "alert": draw(st.sampled_from(AlertType)) if kind is Kind.ALERT else None,
        "crime_area": draw(st.sampled_from(CrimeArea)),
        "subject": "generated",
        "handling": handling,
        "handling_conditions": "ask the provider first" if handling is HandlingCode.H3 else None,
        "evaluation": "B2",
        "purpose": draw(cased(purpose)),
        "data_subjects": subjects,
        "classification": draw(st.sampled_from(Classification)),
        "review_date": None if review == "never" else NOW.date() + timedelta(days=review_days),
        "confidential": draw(st.booleans()),
        "forwarded": None if forwarded is None else draw(forwarded(destinations, purpose)),
        "entities": [PERSON] if carries_person else [],
        "attachments": [
            {
                "name": "a.bin",
                "media_type": "application/octet-stream",
                "size": size,
                "sha256": "0" * 64,
            }
            for size in draw(st.lists(st.just(0) | st.integers(0, 10**8), max_size=2))
        ],
        "to": [f"{unit}@{node}" for unit, node in recipients],
    }
    sender = draw(st.sampled_from(UNITS)) + "@" + draw(st.sampled_from(NODES))
    return compose(
        parse_draft(draft), message_id="msg-00000001", sender=Address.parse(sender), now=NOW
    ).header


# --- crossings ---------------------------------------------------------------------------------


def lenient(parties: frozenset[str]) -> Agreement:
    return replace(LENIENT, parties=parties)


@st.composite
def links(draw: st.DrawFn, node: str) -> LinkTerms:
    peer = draw(st.sampled_from([n for n in NODES if n != node]))
    right_parties = frozenset({node, peer})
    # Mostly lenient terms for the right pair of nodes, so that allowed decisions are common
    # enough for the properties to be tested from both sides.
    choice = draw(st.sampled_from(["lenient"] * 12 + ["random"] * 5 + ["none", "none", "other"]))
    agreement = {
        "lenient": st.just(lenient(right_parties)),
        "random": agreements(right_parties),
        "none": st.none(),
        "other": agreements(),
    }[choice]
    agreement = draw(agreement)
    digest = agreement.digest() if agreement is not None else None
    peer_digest = draw(st.sampled_from((None, digest, digest, digest, digest, "0" * 64)))
    return LinkTerms(peer=peer, agreement=agreement, peer_digest=peer_digest)


@st.composite
def contexts(draw: st.DrawFn) -> PolicyContext:
    node = draw(st.sampled_from(NODES))
    stage = draw(st.sampled_from(Stage))

    def link_if(needed: bool) -> LinkTerms | None:
        # Mostly the links the stage needs; sometimes one missing or one too many.
        present = draw(st.sampled_from([needed] * 7 + [not needed]))
        return draw(links(node)) if present else None

    return PolicyContext(
        node=node,
        stage=stage,
        now=NOW,
        link_in=link_if(stage in (Stage.RELAY, Stage.RECEIVE)),
        link_out=link_if(stage in (Stage.SUBMIT, Stage.RELAY)),
        valid_grant_ids=draw(st.just(frozenset(GRANT_IDS)) | subsets(GRANT_IDS)),
        specialist_units=draw(subsets(UNITS)),
        alert_approved=draw(st.booleans()),
        requires_alert_review=draw(st.booleans()),
    )


def present_links(context: PolicyContext) -> list[LinkTerms]:
    return [link for link in (context.link_in, context.link_out) if link is not None]


# --- (1) H2 never travels on without a matching valid grant --------------------------------------


def has_valid_onward_grant(header: Header, context: PolicyContext, node: str) -> bool:
    forwarded = header.forwarded
    assert forwarded is not None
    return any(
        g.scope == "onward-transfer"
        and g.grantee == node
        and g.until > context.now
        and g.id in context.valid_grant_ids
        and g.message_id == forwarded.message_id
        and g.provider.node == forwarded.provider.node
        for g in forwarded.grants
    )


@PROPERTY
@given(headers(forwarded=forwards(HandlingCode.H2)), contexts())
def test_h2_is_never_allowed_to_a_destination_without_a_matching_valid_grant(
    header: Header, context: PolicyContext
) -> None:
    decision = decide(header, context)
    missing = [
        n for n in header.destination_nodes if not has_valid_onward_grant(header, context, n)
    ]
    event("some destination lacks a grant" if missing else "every destination has a grant")
    if missing:
        assert not decision.allowed
        assert H2_ONWARD_WITHOUT_PERMISSION in decision.codes
        flagged = " ".join(
            r.text for r in decision.reasons if r.code == H2_ONWARD_WITHOUT_PERMISSION
        )
        assert all(node in flagged for node in missing)
    else:
        assert H2_ONWARD_WITHOUT_PERMISSION not in decision.codes


# --- (2) no personal data across a link whose agreement forbids it ----------------------------


@PROPERTY
@given(headers(personal=True), contexts(), st.sampled_from(("link_in", "link_out")))
def test_no_personal_data_crosses_a_link_that_forbids_it(
    header: Header, context: PolicyContext, which: str
) -> None:
    link = getattr(context, which) or LinkTerms(peer="interpol", agreement=None)
    forbidding = replace(link.agreement or LENIENT, personal_data=False)
    context = replace(context, **{which: replace(link, agreement=forbidding)})
    decision = decide(header, context)
    assert not decision.allowed
    assert PERSONAL_DATA_NOT_ALLOWED in decision.codes


@PROPERTY
@given(headers(), contexts())
def test_an_allowed_message_with_personal_data_crossed_only_links_that_allow_it(
    header: Header, context: PolicyContext
) -> None:
    if decide(header, context).allowed and (header.personal_data or header.data_subjects):
        for link in present_links(context):
            assert link.agreement is not None
            assert link.agreement.personal_data
            assert set(header.data_subjects) <= link.agreement.data_subjects


# --- (3) and (4): reasons are complete and explained ----------------------------------------------


@PROPERTY
@given(headers(), contexts())
def test_every_refusal_is_explained_and_no_rule_is_overruled(
    header: Header, context: PolicyContext
) -> None:
    decision = decide(header, context)
    event("allowed" if decision.allowed else "refused")
    # (3) a refusal has reasons; each has a known code and a sentence
    assert decision.allowed == (not decision.reasons)
    for reason in decision.reasons:
        assert reason.code
        assert reason.code in REASON_CODES
        assert reason.text.strip()
    # (4) whatever a single rule forbids, the decision forbids, with that rule's reasons
    every: list[Any] = []
    for rule in RULES:
        alone = rule(header, context)
        if alone:
            assert not decision.allowed, rule.__name__
            assert set(alone) <= set(decision.reasons), rule.__name__
        every.extend(alone)
    assert decision.reasons == tuple(dict.fromkeys(every))
    assert POLICY_ERROR not in decision.codes


# --- (5) no agreement, no crossing ----------------------------------------------------------------


@PROPERTY
@given(headers(), contexts(), st.sampled_from(("link_in", "link_out")))
def test_a_link_without_agreement_never_allows(
    header: Header, context: PolicyContext, which: str
) -> None:
    peer = getattr(context, which).peer if getattr(context, which) else "interpol"
    context = replace(context, **{which: LinkTerms(peer=peer, agreement=None)})
    decision = decide(header, context)
    assert not decision.allowed
    assert NO_AGREEMENT in decision.codes


@PROPERTY
@given(headers(), contexts())
def test_a_crossing_without_any_link_never_allows(header: Header, context: PolicyContext) -> None:
    assert not decide(header, replace(context, link_in=None, link_out=None)).allowed


# --- agreements round-trip ------------------------------------------------------------------------

purpose_texts = st.text(min_size=1, max_size=40).filter(lambda t: t == t.strip() and t and t != "*")


@PROPERTY
@given(agreements(), st.none() | st.frozensets(purpose_texts, min_size=1, max_size=4))
def test_agreements_round_trip_through_toml(
    agreement: Agreement, purposes: frozenset[str] | None
) -> None:
    agreement = replace(agreement, purposes=purposes)
    again = parse_agreement(agreement_to_toml(agreement))
    assert again == agreement
    assert again.digest() == agreement.digest()
