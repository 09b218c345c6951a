"""Entities inside messages are FollowTheMoney entities, checked against its schema.

A message carries entities as FtM's JSON form ``{"id", "schema", "properties": {name: [values]}}``.
Checking them here means a partner's analysis tools can read what we send unchanged, and a
typo in a property name is refused at the border instead of silently dropped downstream.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from followthemoney import model, registry

from secureline.domain.errors import InvalidEntity

# Schemata that describe a natural person: a message carrying one holds personal data.
PERSONAL_SCHEMATA = frozenset({"Person", "Passport", "Identification", "Family", "Associate"})
MAX_VALUES_PER_PROPERTY = 100
MAX_VALUE_LENGTH = 10_000


def check_entity(entity: Any, position: int, today: date) -> dict[str, Any]:
    """Return the entity in canonical form, or raise InvalidEntity naming the field."""
    where = f"entities[{position}]"
    if not isinstance(entity, Mapping):
        raise InvalidEntity(where, "an entity must be an object with id, schema and properties")
    unknown_keys = set(entity) - {"id", "schema", "properties"}
    if unknown_keys:
        raise InvalidEntity(where, f"unknown key(s) {sorted(unknown_keys)}")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not 0 < len(entity_id) <= 200:
        raise InvalidEntity(f"{where}.id", "an entity needs an id of 1-200 characters")
    schema_name = entity.get("schema")
    schema = model.get(schema_name) if isinstance(schema_name, str) else None
    if schema is None:
        raise InvalidEntity(f"{where}.schema", f"{schema_name!r} is not a FollowTheMoney schema")
    if schema.abstract:
        raise InvalidEntity(f"{where}.schema", f"{schema_name!r} is abstract; use a concrete one")
    properties = entity.get("properties", {})
    if not isinstance(properties, Mapping):
        raise InvalidEntity(f"{where}.properties", "properties must be an object")
    cleaned: dict[str, list[str]] = {}
    for name, values in properties.items():
        field = f"{where}.properties.{name}"
        prop = schema.get(name)
        if prop is None:
            raise InvalidEntity(
                field, f"the FollowTheMoney schema {schema_name} has no property {name!r}"
            )
        checked = _check_values(prop, [values] if isinstance(values, str) else values, field, today)
        if checked:
            cleaned[name] = checked
    return {"id": entity_id, "schema": schema.name, "properties": cleaned}


# Fast, exact checks for the commonest value shapes; anything else goes through FtM's own
# (much slower) parsers. An E.164 number is accepted by its shape: a country code and at most
# 15 digits, which is what the line needs to match and route on.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ISO_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


def _valid(prop_type: Any, value: str) -> bool:
    if prop_type is registry.date and _ISO_DATE.fullmatch(value):
        return _real_date(value)
    if prop_type is registry.phone and _E164.fullmatch(value):
        return True
    return bool(prop_type.validate(value))


def _real_date(value: str) -> bool:
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        elif len(value) == 7:
            date.fromisoformat(value + "-01")
    except ValueError:
        return False
    return True


def _check_values(prop: Any, values: Any, field: str, today: date) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidEntity(field, "values must be a list of strings")
    if len(values) > MAX_VALUES_PER_PROPERTY:
        raise InvalidEntity(field, f"more than {MAX_VALUES_PER_PROPERTY} values")
    for value in values:
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidEntity(field, f"a value is longer than {MAX_VALUE_LENGTH} characters")
        if prop.type is registry.entity:
            continue  # a reference to another entity: any id
        if not _valid(prop.type, value):
            raise InvalidEntity(field, f"{value!r} is not a valid {prop.type.name}")
        if prop.type is registry.date and _is_future(value, today):
            raise InvalidEntity(field, f"{value!r} is in the future")
    return list(values)


def check_entities(entities: Sequence[Any], today: date) -> list[dict[str, Any]]:
    ids = Counter(e.get("id") for e in entities if isinstance(e, Mapping))
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise InvalidEntity("entities", f"entity id {duplicated[0]!r} appears more than once")
    return [check_entity(e, i, today) for i, e in enumerate(entities)]


def _is_future(value: str, today: date) -> bool:
    # FtM dates are ISO prefixes (YYYY, YYYY-MM, YYYY-MM-DD...); compare on the shared prefix.
    text = value if _ISO_DATE.fullmatch(value) else (registry.date.clean(value) or value)
    return text[:10] > today.isoformat()[: len(text[:10])]


def schema_counts(entities: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many entities of each schema: declared in the header, checked after decryption."""
    return dict(sorted(Counter(str(e["schema"]) for e in entities).items()))


def carries_personal_data(entities: Iterable[Mapping[str, Any]]) -> bool:
    return any(e["schema"] in PERSONAL_SCHEMATA for e in entities)
