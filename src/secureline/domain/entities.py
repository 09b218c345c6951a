"""Entities inside messages are FollowTheMoney entities, checked against its schema.

A message carries entities as FtM's JSON form ``{"id", "schema", "properties": {name: [values]}}``.
Checking them here means a partner's analysis tools can read what we send unchanged, and a
typo in a property name is refused at the border instead of silently dropped downstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from followthemoney import model, registry

from secureline.domain.errors import InvalidEntity

# Schemata that describe a natural person: a message carrying one holds personal data.
PERSONAL_SCHEMATA = frozenset({"Person", "Passport", "Identification", "Family", "Associate"})
MAX_VALUES_PER_PROPERTY = 100
MAX_VALUE_LENGTH = 10_000


_ENTITY_KEYS = frozenset({"id", "schema", "properties"})
_MAPPINGS = (dict, Mapping)  # a tuple, not dict | Mapping: that union is built on every use


@dataclass(frozen=True, slots=True)
class _Rule:
    """How to check the values of one property: looked up once per schema, not per value."""

    prop_type: Any
    #: True only for a valid value (see _FAST; any id for a reference); False leaves it to FtM.
    accepts: Callable[[str], bool]
    is_date: bool


_RULES: dict[str, tuple[str, dict[str, _Rule]]] = {}


def _rules(schema_name: str) -> tuple[str, dict[str, _Rule]] | None:
    """A concrete schema's canonical name and its properties' rules; None if not one.

    Kept per schema: the FtM model is fixed for the life of the process, and every entity
    of a message at every node would otherwise walk the same schema objects again. Only
    real schemata are kept, so names sent by a peer cannot grow the table."""
    found = _RULES.get(schema_name)
    if found is None:
        schema = model.get(schema_name)
        if schema is None or schema.abstract:
            return None
        found = _RULES[schema_name] = (
            schema.name,
            {
                name: _Rule(
                    prop.type,
                    _any_reference
                    if prop.type.name == "entity"
                    else _FAST.get(prop.type.name, _left_to_ftm),
                    prop.type.name == "date",
                )
                for name, prop in schema.properties.items()
            },
        )
    return found


def _check_entity(entity: Any, position: int, today: str) -> dict[str, Any]:
    """The entity in canonical form, or InvalidEntity naming the field."""
    if not isinstance(entity, _MAPPINGS):
        raise InvalidEntity(
            _where(position), "an entity must be an object with id, schema and properties"
        )
    if not entity.keys() <= _ENTITY_KEYS:
        unknown = sorted(set(entity) - _ENTITY_KEYS)
        raise InvalidEntity(_where(position), f"unknown key(s) {unknown}")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not 0 < len(entity_id) <= 200:
        raise InvalidEntity(_where(position, "id"), "an entity needs an id of 1-200 characters")
    schema_name = entity.get("schema")
    found = _rules(schema_name) if isinstance(schema_name, str) else None
    if found is None:
        schema = model.get(schema_name) if isinstance(schema_name, str) else None
        if schema is not None:  # _rules refuses only abstract ones among real schemata
            raise InvalidEntity(
                _where(position, "schema"), f"{schema_name!r} is abstract; use a concrete one"
            )
        raise InvalidEntity(
            _where(position, "schema"), f"{schema_name!r} is not a FollowTheMoney schema"
        )
    canonical, rules = found
    properties = entity.get("properties", {})
    if not isinstance(properties, _MAPPINGS):
        raise InvalidEntity(_where(position, "properties"), "properties must be an object")
    cleaned: dict[str, list[str]] = {}
    for name, values in properties.items():
        rule = rules.get(name)
        if rule is None:
            raise InvalidEntity(
                _where(position, f"properties.{name}"),
                f"the FollowTheMoney schema {canonical} has no property {name!r}",
            )
        listed = [values] if isinstance(values, str) else values
        problem = _problem(rule, listed, today)
        if problem is not None:
            raise InvalidEntity(_where(position, f"properties.{name}"), problem)
        if listed:
            cleaned[name] = list(listed)
    return {"id": entity_id, "schema": canonical, "properties": cleaned}


def _where(position: int, part: str = "") -> str:
    return f"entities[{position}]" + (f".{part}" if part else "")


# Fast, exact checks for the commonest value shapes; anything else goes through FtM's own
# (much slower) parsers. Each fast check answers True only where FtM's ``validate`` would:
# it runs at every submission and again at every destination, so it is on the hot path.
# An E.164 number is accepted by its shape: a country code and at most 15 digits, which is
# what the line needs to match and route on.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ISO_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def _plain_text(prop_type: Any) -> Callable[[str], bool]:
    # string, text, identifier (no format): FtM keeps the text as it is, so any non-empty
    # value within the type's length is valid.
    limit = prop_type.max_length
    return lambda value: 0 < len(value) <= limit


def _framed_text(prop_type: Any, growth: int) -> Callable[[str], bool]:
    # name, address: FtM strips quotes and collapses spaces (an address may also turn one
    # character into ", "), so the result is at most ``growth`` times as long and keeps a
    # letter or digit at either end: such a value is valid when it fits even at that growth.
    limit = prop_type.max_length
    return lambda value: (
        len(value) * growth <= limit and value[:1].isalnum() and value[-1:].isalnum()
    )


def _iso_date(value: str) -> bool:
    return _ISO_DATE.fullmatch(value) is not None and _real_date(value)


def _enumerated(prop_type: Any) -> Callable[[str], bool]:
    # country, language, gender, topic: FtM looks the value up lower-cased and stripped; a
    # value that already is one of its codes in that form is valid as it stands.
    codes = frozenset(c for c in prop_type.codes if c == c.lower().strip())
    return codes.__contains__


def _left_to_ftm(value: str) -> bool:
    return False  # no fast check for this type: FtM's own parser decides


def _any_reference(value: str) -> bool:
    return True  # a reference to another entity: any id


# By type name: FtM's types hash in Python, their names in C.
_FAST: dict[str, Callable[[str], bool]] = {
    "country": _enumerated(registry.country),
    "language": _enumerated(registry.language),
    "gender": _enumerated(registry.gender),
    "topic": _enumerated(registry.topic),
    "string": _plain_text(registry.string),
    "text": _plain_text(registry.text),
    "identifier": _plain_text(registry.identifier),
    "name": _framed_text(registry.name, 1),
    "address": _framed_text(registry.address, 2),
    "date": _iso_date,
    "phone": lambda value: _E164.fullmatch(value) is not None,
}


def _valid_slowly(prop_type: Any, value: str) -> bool:
    if prop_type is registry.date and _ISO_DATE.fullmatch(value):
        return False  # ISO-shaped but not a real date (2023-02-30): FtM would truncate it
    try:
        return bool(prop_type.validate(value))
    except (ValueError, TypeError, LookupError):
        # FtM's parsers raise on some values instead of answering False (a mimetype with a
        # line feed: ValueError from the mime parser). A value its parser cannot read is not
        # a valid one: refused with the entity's error, never escaping as a crash.
        return False


def _real_date(value: str) -> bool:
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        elif len(value) == 7:
            date.fromisoformat(value + "-01")
    except ValueError:
        return False
    return True


def _problem(rule: _Rule, values: Any, today: str) -> str | None:
    """What is wrong with one property's values, or None."""
    if not isinstance(values, list):
        return "values must be a list of strings"
    if len(values) > MAX_VALUES_PER_PROPERTY:
        return f"more than {MAX_VALUES_PER_PROPERTY} values"
    for value in values:
        if not isinstance(value, str):
            return "values must be a list of strings"
        if len(value) > MAX_VALUE_LENGTH:
            return f"a value is longer than {MAX_VALUE_LENGTH} characters"
        if not (rule.accepts(value) or _valid_slowly(rule.prop_type, value)):
            return f"{value!r} is not a valid {rule.prop_type.name}"
        if rule.is_date and _is_future(value, today):
            return f"{value!r} is in the future"
    return None


def check_entities(entities: Sequence[Any], today: date) -> list[dict[str, Any]]:
    """The entities in canonical form, or InvalidEntity naming the first problem.

    Every message is checked at submission and again at each destination, so the common
    case (plain JSON objects, known schema and properties, values that pass the fast checks)
    is decided in one lean pass; anything else, valid or not, takes the full check, which
    gives the same answer and names what is wrong (tests/unit/domain/test_entities.py checks
    the two agree)."""
    iso = today.isoformat()
    plain = [_plain_entity(e, iso) for e in entities]
    checked = [e for e in plain if e is not None]
    if len(checked) == len(plain) and len({e["id"] for e in checked}) == len(checked):
        return checked
    return _check_in_full(entities, iso)


def _plain_entity(entity: Any, today: str) -> dict[str, Any] | None:
    """The canonical form of an entity in the common shape; None for any other (which the
    full check then decides: it may still be valid)."""
    if entity.__class__ is not dict or len(entity) != len(_ENTITY_KEYS):
        return None
    entity_id, schema_name, properties = (
        entity.get("id"),
        entity.get("schema"),
        entity.get("properties"),
    )
    if (
        entity_id.__class__ is not str
        or not 0 < len(entity_id) <= 200
        or schema_name.__class__ is not str
        or properties.__class__ is not dict
    ):
        return None
    found = _RULES.get(schema_name)  # a schema not seen yet: the full check learns it
    if found is None:
        return None
    canonical, rules = found
    cleaned: dict[str, list[str]] = {}
    for name, values in properties.items():
        rule = rules.get(name)
        if rule is None or values.__class__ is not list or not values:
            return None
        if len(values) > MAX_VALUES_PER_PROPERTY:
            return None
        accepts = rule.accepts
        for value in values:
            if value.__class__ is not str or len(value) > MAX_VALUE_LENGTH or not accepts(value):
                return None
            if rule.is_date and _is_future(value, today):
                return None
        cleaned[name] = values.copy()
    return {"id": entity_id, "schema": canonical, "properties": cleaned}


def _check_in_full(entities: Sequence[Any], today: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for entity in entities:
        entity_id = entity.get("id") if isinstance(entity, _MAPPINGS) else None
        if not isinstance(entity_id, str):
            continue  # reported by the entity's own check
        if entity_id in seen:
            raise InvalidEntity("entities", f"entity id {entity_id!r} appears more than once")
        seen.add(entity_id)
    return [_check_entity(e, i, today) for i, e in enumerate(entities)]


def _is_future(value: str, today: str) -> bool:
    # FtM dates are ISO prefixes (YYYY, YYYY-MM, YYYY-MM-DD...); compare on the shared prefix.
    text = value if _ISO_DATE.fullmatch(value) else (registry.date.clean(value) or value)
    return text[:10] > today[: len(text[:10])]


def schema_counts(entities: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many entities of each schema: declared in the header, checked after decryption."""
    counts: dict[str, int] = {}
    for entity in entities:
        schema = str(entity["schema"])
        counts[schema] = counts.get(schema, 0) + 1
    return dict(sorted(counts.items()))


def carries_personal_data(entities: Iterable[Mapping[str, Any]]) -> bool:
    return any(e["schema"] in PERSONAL_SCHEMATA for e in entities)
