"""The registry of kinds (services/kinds/registry.py) and the open Kind it extends."""

from __future__ import annotations

import pytest

from secureline.domain.kinds import KindFacts, declare, facts
from secureline.domain.message import Draft
from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind
from secureline.services.kinds import registry
from secureline.services.kinds.registry import KindSpec
from tests.integration.kinds_for_tests import TEST_NOTE


def test_every_kind_this_software_knows_has_one_spec() -> None:
    assert {s.kind for s in registry.registered()} == set(Kind)
    assert PROTOCOL_KINDS[1] <= set(Kind)
    for kind in Kind:
        assert registry.spec(kind).kind is kind


def test_a_kind_is_one_instance_per_name_and_unknown_names_are_refused() -> None:
    assert Kind("alert") is Kind.ALERT
    assert Kind.define("alert") is Kind.ALERT
    with pytest.raises(ValueError, match="is not a known kind"):
        Kind("case-update")
    with pytest.raises(ValueError, match="is not a kind name"):
        Kind.define("Case Update!")


def test_a_kind_cannot_be_registered_twice_nor_protocol_1_facts_changed() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(KindSpec(Kind.ALERT, "another alert"))
    with pytest.raises(ValueError, match="already has other facts"):
        declare(Kind.ALERT, KindFacts())
    assert facts(Kind.ALERT).four_eyes  # unchanged: the review cannot be switched off


def test_the_api_schema_lists_the_protocol_s_kinds_whatever_is_registered() -> None:
    assert TEST_NOTE in set(Kind)
    listed = Draft.model_json_schema()["$defs"]["Kind"]["enum"]
    assert listed == [str(k) for k in Kind if k in PROTOCOL_KINDS[1]]
    assert TEST_NOTE.value not in listed


def test_control_kinds_are_the_kind_modules_declaration_not_a_list_elsewhere() -> None:
    from secureline.cli.agreement_check import check
    from secureline.cli.federation import LinkSpec, agreement_text

    declared = {s.kind for s in registry.registered() if s.facts.control}
    assert set(registry.control_kinds()) == declared
    assert declared == {
        Kind.DELETION,
        Kind.CORRECTION,
        Kind.PERMISSION_REQUEST,
        Kind.PERMISSION_GRANT,
    }
    assert not registry.spec(TEST_NOTE).facts.control  # the test kind is no control
    text = agreement_text(LinkSpec("a", "b")).replace('kinds = ["*"]', 'kinds = ["request"]')
    [warning] = check(text).warnings
    for kind in declared:
        assert kind.value in warning


def test_the_search_index_leaves_out_what_the_kind_modules_say() -> None:
    from secureline.store.search import NOT_INDEXED_KINDS

    assert registry.unsearched_kinds() == NOT_INDEXED_KINDS == {"deletion", "correction"}
