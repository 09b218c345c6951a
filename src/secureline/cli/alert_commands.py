"""``secureline alert list|approve`` and ``secureline forward``: the second pair of eyes on
alerts, and passing a message on under the rules (a refusal explained, reason by reason)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from secureline.cli import common, ids, render, session
from secureline.cli.common import Dir, Json, err, fail, out

alert_app = typer.Typer(
    no_args_is_help=True, help="Alerts held for review: list them, approve one (four eyes)."
)


def _held(node: Any) -> list[dict[str, Any]]:
    """Alerts composed here that wait for a second person, oldest first.

    Read from the store: Messaging has no query for the held queue yet (see the report)."""
    import orjson
    from sqlalchemy import select

    from secureline.domain.message import parse_header
    from secureline.store import tables

    d, m = tables.deliveries, tables.messages
    with node.db.read() as conn:
        rows = conn.execute(
            select(m.c.id, m.c.header_json, d.c.destination)
            .join(d, d.c.message_id == m.c.id)
            .where(d.c.state == "held", m.c.direction == "out")
            .order_by(m.c.id, d.c.destination)
        ).all()
    found: dict[str, dict[str, Any]] = {}
    for message_id, header_json, destination in rows:
        if message_id not in found:
            header = parse_header(orjson.loads(header_json))
            found[message_id] = {
                "id": message_id,
                "created_at": header.created_at.isoformat(),
                "sender": str(header.sender),
                "alert": header.alert.value if header.alert else None,
                "to": [str(a) for a in header.to],
                "subject": header.subject,
                "waiting_for": [],
            }
        found[message_id]["waiting_for"].append(destination)
    return list(found.values())


@alert_app.command("list")
def alert_list(directory: Dir, as_json: Json = False) -> None:
    """Alerts waiting for a second officer's approval before they leave."""
    node = common.node_at(directory)
    held = _held(node)
    if as_json:
        print(render.dumps(held))
        return
    table = Table("id", "created", "from", "alert", "to", "subject")
    table.columns[0].no_wrap = True
    for h in held:
        table.add_row(
            h["id"],
            h["created_at"],
            h["sender"],
            h["alert"],
            ", ".join(h["to"]),
            Text(h["subject"]),
        )
    out.print(table)


@alert_app.command("approve")
def alert_approve(
    message_id: str,
    directory: Dir,
) -> None:
    """As the second officer (logged in, not the alert's author), release a held alert to
    its recipients.

    Example: secureline alert approve msg-01 --dir ./interpol
    """
    node = common.node_at(directory)
    principal = session.person(node)
    message_id = ids.message_id(node, message_id)
    node.messaging.approve_alert(principal, message_id)
    out.print(
        f"{message_id} approved by {principal.username}: released to its recipients",
        markup=False,
    )


def explain_refusal(exc: Any) -> None:
    """Each reason on its own line: the stable code and what it means; then exit 1."""
    err.print("refused by the rules of sharing:", markup=False, highlight=False)
    for reason in exc.reasons:
        err.print(f"  {reason.code}: {reason.text}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def forward(
    message_id: str,
    directory: Dir,
    to: Annotated[list[str], typer.Option(help="unit@node to pass it on to (repeatable).")],
    purpose: Annotated[
        str | None, typer.Option(help="A new purpose (a grant may be needed).")
    ] = None,
    unit: session.UnitCheck = None,
) -> None:
    """Pass on a received message: the provider's handling code and purpose go with it, and
    the rules decide (H2 needs the provider's permission: `permission request`).

    Example: secureline forward msg-01 --dir ./interpol --to ncb@ncb-madrid
    """
    from secureline.services.errors import NoRoute, Refused

    node = common.node_at(directory)
    principal = session.officer_of(node, unit)
    message_id = ids.message_id(node, message_id)
    try:
        done = node.sharing.forward(principal, message_id, to, purpose)
    except Refused as exc:
        explain_refusal(exc)
    except NoRoute as exc:
        fail(f"--to: {exc.message}")
    out.print(f"{done.id} forwards {message_id} to {', '.join(done.destinations)}", markup=False)
