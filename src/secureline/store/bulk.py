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


@functools.cache
def _check_text_columns(table: str, columns: tuple[str, ...]) -> None:
    described = metadata.tables[table].c
    others = [c for c in columns if not isinstance(described[c].type, String)]
    if others:
        raise TypeError(f"select_in reads text columns only, not {others} of {table}")


def _params(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    times = _time_positions(table, columns)
    if not times:
        return [tuple(row) for row in rows]
    sqlite = conn.dialect.name == "sqlite"
    # A batch repeats a few times (its "now") in every row: convert each once.
    converted: dict[date, Any] = {}
    params = []
    for row in rows:
        values = list(row)
        for i in times:
            value = values[i]
            if value is not None:
                done = converted.get(value)
                if done is None:
                    done = converted[value] = _time_param(sqlite, value)
                values[i] = done
        params.append(tuple(values))
    return params


@functools.cache
def _time_positions(table: str, columns: tuple[str, ...]) -> tuple[int, ...]:
    """Where in a row of ``columns`` the dates and times are, from the table's definition."""
    described = metadata.tables[table].c
    return tuple(
        i for i, name in enumerate(columns) if isinstance(described[name].type, Date | DateTime)
    )


def _time_param(sqlite: bool, value: date) -> Any:
    if isinstance(value, datetime):
        return dialect.datetime_param(sqlite, value)
    return value.isoformat() if sqlite else value  # what SQLAlchemy's Date type writes
