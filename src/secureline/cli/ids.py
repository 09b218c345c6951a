"""Ids as people type them: any unique prefix of a message's or a token's id is accepted.

An exact id is taken as it is (no look-up); a prefix matching several ids is refused naming
the candidates, so that a command never acts on a message the user did not mean."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, select

from secureline.cli.common import fail
from secureline.store import tables

if TYPE_CHECKING:
    from secureline.node.compose import Node
    from secureline.store.database import Database

#: Candidates named in an "ambiguous" error; more are summarised as a count.
_SHOWN = 10


def _resolve(db: Database, column: Column[str], prefix: str, what: str) -> str:
    prefix = prefix.strip()
    if not prefix:
        fail(f"{what} id: empty")
    # LIKE wildcards in a typed prefix are literal characters, not patterns
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with db.read() as conn:
        found = list(
            conn.execute(
                select(column)
                .where(column.like(escaped + "%", escape="\\"))
                .distinct()
                .order_by(column)
                .limit(_SHOWN + 1)
            ).scalars()
        )
    if prefix in found:
        return prefix
    if not found:
        fail(f"no {what} with an id starting {prefix!r}")
    if len(found) > 1:
        more = " and more" if len(found) > _SHOWN else ""
        fail(f"{what} id {prefix!r} is ambiguous: {', '.join(found[:_SHOWN])}{more}")
    return str(found[0])


def message_id(node: Node, prefix: str) -> str:
    """The one message whose id starts with ``prefix``."""
    return _resolve(node.db, tables.messages.c.id, prefix, "message")


def token_id(node: Node, prefix: str) -> str:
    """The one API token whose id starts with ``prefix``."""
    return _resolve(node.db, tables.api_tokens.c.id, prefix, "token")
