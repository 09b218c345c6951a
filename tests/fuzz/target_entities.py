"""FollowTheMoney entities and their rules (domain/entities.py check_entities): the input is
a JSON list of entities; the seeds are the sample generator's entities of every kind."""

from __future__ import annotations

import random
from datetime import date

import orjson

from secureline.cli.samples import entities
from secureline.domain.entities import check_entities
from secureline.domain.errors import InvalidEntity
from tests.fuzz import common

TARGET = "entities"
TODAY = date(2026, 6, 1)


def seeds() -> list[bytes]:
    return [orjson.dumps(entities(random.Random(n), 5, f"s{n}")) for n in range(3)]


def one_input(data: bytes) -> None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    if not isinstance(value, list):
        return
    common.guarded(lambda: check_entities(value, TODAY), (InvalidEntity,))
