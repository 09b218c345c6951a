"""The store's exception tree: what callers may catch from any store function.

Driver errors (sqlite3, psycopg) never leave the store raw; the few that mean something to a
caller are translated here, the rest become :class:`StoreError` with the cause chained.
"""

from __future__ import annotations

from secureline.errors import Internal


class StoreError(Internal):
    """The store could not do what was asked; nothing was half-written (the project tree's
    ``Internal``: a boundary shows no detail of it)."""

    code = "store_error"


class AlreadyExists(StoreError):
    code = "already_exists"


class NotFound(StoreError):
    code = "not_found"
