"""Every cache in the package has a bound, holds no more than it, and is documented (issue 20,
item 5: a node's memory must not grow with the messages it sends and receives)."""

from __future__ import annotations

import importlib
import itertools
import pkgutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import secureline
from secureline.crypto.encoding import b64url_encode_bytes

ARCHITECTURE = Path(__file__).parents[2] / "docs" / "architecture.md"
SECTION = "## Memory: what a node keeps and its bounds"


def _modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(secureline.__path__, "secureline."):
        if info.name.startswith("secureline.store.migrations"):
            continue  # Alembic's scripts: importing env.py would run a migration
        yield importlib.import_module(info.name)


def _caches() -> dict[str, Any]:
    """Every functools cache defined at the top of a module of the package, by dotted name."""
    return {
        f"{module.__name__}.{name}": value
        for module in _modules()
        for name, value in vars(module).items()
        if hasattr(value, "cache_info") and value.__module__ == module.__name__
    }


def _header(i: int) -> bytes:
    return b64url_encode_bytes(orjson.dumps({"alg": "EdDSA", "kid": f"k{i}", "typ": "t"}))


def _column_sets(table: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    from secureline.store.tables import metadata

    names = [c.name for c in metadata.tables[table].c if c.name != "seq"]
    for columns in itertools.permutations(names, 4):
        yield table, columns


def _text_column_sets() -> Iterator[tuple[str, tuple[str, ...]]]:
    from sqlalchemy import String

    from secureline.store.tables import metadata

    text = [c.name for c in metadata.tables["messages"].c if isinstance(c.type, String)]
    for columns in itertools.permutations(text, 3):
        yield "messages", columns


def _moment(i: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=i)


#: for each cache, distinct arguments without end (each a tuple of positional arguments)
KEYS: dict[str, Callable[[], Iterator[tuple[Any, ...]]]] = {
    "secureline.crypto.envelope._encoded_header": lambda: (
        (f"k{i}", "t") for i in itertools.count()
    ),
    "secureline.crypto.envelope._parse_header": lambda: ((_header(i),) for i in itertools.count()),
    "secureline.domain.addresses._parsed": lambda: ((f"u{i}@n",) for i in itertools.count()),
    "secureline.domain.audit.format_at": lambda: ((_moment(i),) for i in itertools.count()),
    "secureline.store.bulk._sqlite_time": lambda: (
        (date(2000, 1, 1) + timedelta(days=i),) for i in itertools.count()
    ),
    "secureline.store.bulk._time_positions": lambda: _column_sets("messages"),
    "secureline.store.bulk._check_text_columns": _text_column_sets,
    "secureline.services.matching.names.tokens": lambda: ((f"n{i}",) for i in itertools.count()),
    "secureline.services.matching.names.similarity": lambda: (
        (f"a{i}", "b") for i in itertools.count()
    ),
    "secureline.services.matching.names.skeleton": lambda: ((f"t{i}",) for i in itertools.count()),
}


def test_every_cache_has_a_bound() -> None:
    unbounded = [name for name, cache in _caches().items() if cache.cache_info().maxsize is None]
    assert not unbounded, f"caches without a maxsize: {unbounded}"


def test_every_cache_is_exercised_here() -> None:
    """A new cache must be added to KEYS, so that its bound is tested below."""
    assert sorted(_caches()) == sorted(KEYS)


def test_every_cache_is_documented_with_its_bound() -> None:
    section = ARCHITECTURE.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    missing = [name for name in _caches() if f"`{name.removeprefix('secureline.')}`" not in section]
    assert not missing, f"not in docs/architecture.md's memory section: {missing}"


@pytest.mark.parametrize("name", sorted(KEYS))
def test_a_cache_holds_no_more_than_its_bound(name: str) -> None:
    cache = _caches()[name]
    bound = cache.cache_info().maxsize
    cache.cache_clear()
    try:
        for arguments in itertools.islice(KEYS[name](), bound + 50):
            cache(*arguments)
        info = cache.cache_info()
        assert info.misses >= bound + 50  # every key was distinct: the cache was filled
        assert info.currsize == bound
    finally:
        cache.cache_clear()
