"""Appends on the line's hot path, through the driver's own ``executemany``.

Every message crossing a node writes a few rows (message, delivery or mailbox, retention,
audit record); SQLAlchemy's per-row parameter processing would cost more than the inserts
themselves. Values are converted here exactly as SQLAlchemy's types would store them, so
rows written either way read back the same (tests/unit/store/test_bulk.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from secureline.store import dialect


def insert_many(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) into ``table``; datetimes must be aware."""
    params = _params(conn, rows)
    if params:
        conn.exec_driver_sql(
            dialect.insert_many_sql(conn.dialect.paramstyle, table, columns), params
        )


def update_many(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Set ``columns`` on the row matching ``keys``; each row holds the columns' values,
    then the keys' values."""
    params = _params(conn, rows)
    if params:
        sql = dialect.update_many_sql(conn.dialect.paramstyle, table, columns, keys)
        conn.exec_driver_sql(sql, params)


def _params(conn: Connection, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    sqlite = conn.dialect.name == "sqlite"
    # A batch repeats a few times (its "now") in every row: convert each once.
    converted: dict[date, Any] = {}

    def param(value: Any) -> Any:
        if not isinstance(value, date):  # a datetime is a date too
            return value
        done = converted.get(value)
        if done is None:
            done = converted[value] = _time_param(sqlite, value)
        return done

    return [tuple(map(param, row)) for row in rows]


def _time_param(sqlite: bool, value: date) -> Any:
    if isinstance(value, datetime):
        return dialect.datetime_param(sqlite, value)
    return value.isoformat() if sqlite else value  # what SQLAlchemy's Date type writes
