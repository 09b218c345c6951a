"""Entity checks: FollowTheMoney's rules, with fast paths that must never accept more than FtM."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from followthemoney import model, registry
from hypothesis import example, given, settings
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


# Entities as partners and users might send them: mostly plain and valid, some subtly not.
_plain_values = {  # the first of each is valid
    "name": ["Ana García", "Blue Meridian", '"Quoted"', " spaced "],
    "birthDate": ["1984-02-29", "2023-02-30", "2099-01-01", "1984"],
    "nationality": ["es", "ES", "xx"],
    "flag": ["lr", " lr"],
    "imoNumber": ["IMO9123456", ""],
    "phone": ["+34600000000", "12", "+34 600 000 000"],
    "owner": ["e2", "any id at all"],
    "notes": ["a note", "x" * 10_001],
}
_odd_values = st.one_of(
    st.just([]),
    st.lists(st.integers(), min_size=1, max_size=1),
    st.just(["Ana"] * 101),
)


def _property(names: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    def values(name: str) -> st.SearchStrategy[Any]:
        plain = st.lists(st.just(_plain_values[name][0]), min_size=1, max_size=2)
        return st.one_of(
            plain,
            plain,
            plain,
            st.lists(st.sampled_from(_plain_values[name]), min_size=1, max_size=2),
            st.sampled_from(_plain_values[name]),  # a bare string, which FtM also takes
            _odd_values,
        )

    return st.sampled_from(names).flatmap(lambda name: st.tuples(st.just(name), values(name)))


def _entity_of(
    schema: st.SearchStrategy[Any], names: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "", "x" * 201])
    plain = st.fixed_dictionaries(
        {
            "id": ids,
            "schema": schema,
            "properties": st.lists(_property(names), max_size=3).map(dict),
        }
    )
    odd = st.fixed_dictionaries(
        {"id": ids, "schema": schema},
        optional={"properties": st.lists(_property(names), max_size=3).map(dict), "x": st.just(1)},
    )
    return plain | plain | odd


_entity = st.one_of(
    *(
        _entity_of(st.just(schema), [n for n in _plain_values if n in model.get(schema).properties])
        for schema in ("Person", "Vessel", "Organization")
    ),
    _entity_of(st.just("Person"), sorted(_plain_values)),  # some of them not Person's
    _entity_of(st.sampled_from(["Thing", "Persn", 7]), ["name"]),
)


def _outcome(check: Any, batch: list[Any]) -> Any:
    try:
        return check(batch, TODAY)
    except InvalidEntity as exc:
        return (exc.field, exc.reason)


def _person(**properties: Any) -> dict[str, Any]:
    return {"id": "e1", "schema": "Person", "properties": properties}


@settings(max_examples=400)
@given(
    batch=st.lists(_entity, min_size=1, max_size=2) | st.lists(_entity | st.just("x"), max_size=4)
)
@example(batch=[_person(birthDate=["2099-01-01"])])
@example(batch=[_person(name=["Ana"] * 101)])
@example(batch=[_person(name=["Ana"]), _person(name=["Eva"])])
@example(batch=[_person(name=[])])
@example(batch=[_person(name="Ana")])
@example(batch=[_person(name=["Ana"], nam=["Ana"])])
@example(batch=[_person(name=[1])])
@example(batch=[_person(notes=["x" * 10_001])])
@example(batch=[{**_person(name=["Ana"]), "x": 1}])
@example(batch=[{**_person(name=["Ana"]), "schema": "Thing"}])
@example(batch=[{**_person(name=["Ana"]), "id": "x" * 201}])
def test_the_lean_pass_decides_as_the_full_check_would(batch: list[Any]) -> None:
    full = _outcome(lambda b, t: entities._check_in_full(b, t.isoformat()), batch)
    # twice: the first call may go the full way, to learn the schema's rules
    assert _outcome(entities.check_entities, batch) == full
    assert _outcome(entities.check_entities, batch) == full


@pytest.mark.parametrize("value", ["text/plain\nx", "text/plain\r\nContent-Type: x"])
def test_a_value_ftm_cannot_parse_is_refused_not_raised(value: str) -> None:
    # FtM's mime parser raises ValueError on a line feed instead of answering "invalid".
    document = {"id": "doc-1", "schema": "Document", "properties": {"mimeType": [value]}}
    with pytest.raises(InvalidEntity, match=r"entities\[0\]\.properties\.mimeType"):
        entities.check_entities([document], TODAY)
