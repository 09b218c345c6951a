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
    sqlite = conn.dialect.name == "sqlite"
    params = [tuple([_param(sqlite, value) for value in row]) for row in rows]
    if params:
        sql = dialect.insert_many_sql(conn.dialect.paramstyle, table, columns)
        conn.exec_driver_sql(sql, params)


def _param(sqlite: bool, value: Any) -> Any:
    if isinstance(value, datetime):
        return dialect.datetime_param(sqlite, value)
    if sqlite and isinstance(value, date):
        return value.isoformat()  # what SQLAlchemy's Date type writes on SQLite
    return value
