"""Entity checks: FollowTheMoney's rules, with fast paths that must never accept more than FtM."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from followthemoney import registry
from hypothesis import given
from hypothesis import strategies as st

from secureline.domain import entities
from secureline.domain.errors import InvalidEntity

TODAY = date(2026, 11, 29)

# Text that exercises what FtM cleans: quotes, spaces of every kind, separators, controls.
awkward_text = st.text(
    alphabet=st.sampled_from(
        [*"aZ09 ,.;'\"\t\n\r<>/BRESQ", "\u200b", "\u2028", "\u3000", "\u00ad", "\u0a00"]
    ),
    max_size=40,
) | st.text(max_size=400)


@pytest.mark.parametrize("type_name", sorted(entities._FAST))
@given(value=awkward_text)
def test_a_fast_check_accepts_only_what_ftm_accepts(type_name: str, value: str) -> None:
    if entities._FAST[type_name](value):
        assert registry.get(type_name).validate(value), (type_name, value)


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("name", "Ana García"),
        ("address", "12 Harbour Road, Valencia"),
        ("identifier", "IMO9123456"),
        ("string", "BTC"),
        ("date", "1984-02-29"),
        ("phone", "+34601234567"),
        ("country", "es"),
        ("language", "spa"),
        ("gender", "female"),
        ("topic", "crime"),
    ],
)
def test_the_common_shapes_take_the_fast_path(type_name: str, value: str) -> None:
    assert entities._FAST[type_name](value)


def person(**properties: Any) -> dict[str, Any]:
    return {"id": "p1", "schema": "Person", "properties": properties}


@pytest.mark.parametrize(
    ("entity", "field", "reason"),
    [
        ("x", "entities[0]", "must be an object"),
        ({**person(), "extra": 1}, "entities[0]", "unknown key(s) ['extra']"),
        ({"schema": "Person"}, "entities[0].id", "id of 1-200"),
        ({"id": "p1", "schema": "Persn"}, "entities[0].schema", "not a FollowTheMoney schema"),
        ({"id": "p1", "schema": "Thing"}, "entities[0].schema", "abstract"),
        (person(nam=["A"]), "entities[0].properties.nam", "has no property 'nam'"),
        (person(name=[1]), "entities[0].properties.name", "list of strings"),
        (person(name=['""']), "entities[0].properties.name", "not a valid name"),
        (person(birthDate=["2023-02-30"]), "entities[0].properties.birthDate", "not a valid"),
        (person(birthDate=["2027-01"]), "entities[0].properties.birthDate", "in the future"),
        (person(nationality=["xx"]), "entities[0].properties.nationality", "not a valid"),
        (person(phone=["12"]), "entities[0].properties.phone", "not a valid phone"),
        (person(name=["A"] * 101), "entities[0].properties.name", "more than 100 values"),
    ],
)
def test_bad_entities_are_refused_naming_the_field(entity: Any, field: str, reason: str) -> None:
    with pytest.raises(InvalidEntity) as caught:
        entities.check_entities([entity], TODAY)
    assert caught.value.field == field
    assert reason in caught.value.reason


@pytest.mark.parametrize("type_name", ["country", "language", "gender", "topic"])
def test_an_enumerated_fast_check_accepts_exactly_the_canonical_codes(type_name: str) -> None:
    prop_type = registry.get(type_name)
    for code in prop_type.codes:
        assert entities._FAST[type_name](code)
    for near in ("ES", " es", "es ", "Spa", "FEMALE", ""):
        if entities._FAST[type_name](near):
            raise AssertionError(f"{type_name} fast check took the non-canonical {near!r}")


def test_a_schema_name_sent_by_a_peer_does_not_grow_the_rules_table() -> None:
    before = dict(entities._RULES)
    for name in ("Persn", "person", "Thing", "x" * 100):
        with pytest.raises(InvalidEntity):
            entities.check_entities([{"id": "p1", "schema": name}], TODAY)
    assert entities._RULES.keys() == before.keys()


def test_an_id_twice_is_refused() -> None:
    with pytest.raises(InvalidEntity, match="appears more than once"):
        entities.check_entities([person(), person()], TODAY)


def test_a_good_entity_comes_back_in_canonical_form() -> None:
    checked = entities.check_entities(
        [person(name="Ana García", birthDate=["1984-02-29"], nationality=["ES"])], TODAY
    )
    assert checked == [
        {
            "id": "p1",
            "schema": "Person",
            "properties": {
                "name": ["Ana García"],
                "birthDate": ["1984-02-29"],
                "nationality": ["ES"],
            },
        }
    ]
