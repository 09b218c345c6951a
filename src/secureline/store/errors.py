"""The store's exception tree: what callers may catch from any store function.

Driver errors (sqlite3, psycopg) never leave the store raw; the few that mean something to a
caller are translated here, the rest become :class:`StoreError` with the cause chained.
"""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked; nothing was half-written."""

    code = "store_error"


class AlreadyExists(StoreError):
    code = "already_exists"


class NotFound(StoreError):
    code = "not_found"
