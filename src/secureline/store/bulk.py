"""The line's hot statements, through the driver: appends with its own ``executemany``, and
look-ups by a batch of keys.

Every message crossing a node writes a few rows (message, delivery or mailbox, retention,
audit record) and looks a few up; SQLAlchemy's per-row parameter processing would cost more
than the statements themselves. Values are converted here exactly as SQLAlchemy's types
would store them, so rows written either way read back the same (tests/unit/store/
test_bulk.py checks it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, DateTime, String

from secureline.store import dialect
from secureline.store.tables import metadata


def insert_many(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``; datetimes must be aware."""
    params = _params(conn, table, tuple(columns), rows)
    if params:
        sql = dialect.insert_many_sql(conn.dialect.paramstyle, table, columns)
        conn.exec_driver_sql(sql, params)


def update_many(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Set ``columns`` on the row matching ``keys``; each row holds the columns' values,
    then the keys' values."""
    params = _params(conn, table, (*columns, *keys), rows)
    if params:
        sql = dialect.update_many_sql(conn.dialect.paramstyle, table, columns, keys)
        conn.exec_driver_sql(sql, params)


#: Keys per look-up statement: far below SQLite's and PostgreSQL's limits on parameters.
SELECT_CHUNK = 500
#: the (table, columns) pairs whose checks and time positions are kept: the store's code
#: names a few dozen; a bound all the same, so that no cache in a node grows without one
COLUMN_SETS = 256


def select_in(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    key: str,
    values: Iterable[str],
    *,
    lock_order: Sequence[str] = (),
) -> list[tuple[str, ...]]:
    """The ``columns`` of the rows whose ``key`` is one of ``values``; text columns only (what
    the driver returns is what SQLAlchemy would). ``lock_order``: lock the rows until the
    transaction ends, taking them in that column order (see dialect.select_in_sql)."""
    _check_text_columns(table, (*columns, key))
    wanted = sorted(set(values))
    sqlite = conn.dialect.name == "sqlite"
    found: list[tuple[str, ...]] = []
    for start in range(0, len(wanted), SELECT_CHUNK):
        chunk = wanted[start : start + SELECT_CHUNK]
        sql = dialect.select_in_sql(sqlite, table, columns, key, len(chunk), lock_order)
        found += conn.exec_driver_sql(sql, tuple(chunk)).all()
    return found


@functools.lru_cache(maxsize=COLUMN_SETS)
def _check_text_columns(table: str, columns: tuple[str, ...]) -> None:
    described = metadata.tables[table].c
    others = [c for c in columns if not isinstance(described[c].type, String)]
    if others:
        raise TypeError(f"select_in reads text columns only, not {others} of {table}")


def _params(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    times = _time_positions(table, columns) if conn.dialect.name == "sqlite" else ()
    if not times:  # PostgreSQL's driver takes dates and aware datetimes as they are
        return [tuple(row) for row in rows]
    # Column by column: a batch repeats a few times (its "now") in every row, and the
    # conversion is cached, so a column is one pass of C-level map and cache look-ups.
    by_column = list(zip(*rows, strict=True))
    if not by_column:
        return []
    for i in times:
        by_column[i] = tuple(map(_sqlite_time, by_column[i]))
    return list(zip(*by_column, strict=True))


@functools.lru_cache(maxsize=COLUMN_SETS)
def _time_positions(table: str, columns: tuple[str, ...]) -> tuple[int, ...]:
    """Where in a row of ``columns`` the dates and times are, from the table's definition."""
    described = metadata.tables[table].c
    return tuple(
        i for i, name in enumerate(columns) if isinstance(described[name].type, Date | DateTime)
    )


@functools.lru_cache(maxsize=4096)
def _sqlite_time(value: date | None) -> str | None:
    """A date or aware datetime as SQLAlchemy's SQLite types store it."""
    if isinstance(value, datetime):
        return str(dialect.datetime_param(is_sqlite=True, value=value))
    return value.isoformat() if value is not None else None
