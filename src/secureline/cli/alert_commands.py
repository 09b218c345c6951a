"""``secureline alert held|approve|reject`` and ``secureline forward``: the second pair of eyes on
alerts, and passing a message on under the rules (a refusal explained, reason by reason)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from secureline.cli import common, ids, render, session
from secureline.cli.common import Dir, Json, err, fail, out, vars_of

if TYPE_CHECKING:
    from secureline.services.errors import Refused

alert_app = typer.Typer(
    no_args_is_help=True, help="Alerts held for review: list, approve or reject (four eyes)."
)


@alert_app.command("held")
def alert_held(directory: Dir, as_json: Json = False) -> None:
    """Alerts held for review (logged in as an officer): each waits for a second officer to
    approve or reject it.

    Example: secureline alert held --dir ./interpol --json
    """
    node = common.node_at(directory)
    held = [
        {**vars_of(h), "created_at": h.created_at.isoformat()}
        for h in node.messaging.held_alerts(session.person(node))
    ]
    if as_json:
        print(render.dumps(held))
        return
    table = Table("id", "author", "unit", "created", "alert", "destinations", "subject")
    table.columns[0].no_wrap = True
    for h in held:
        table.add_row(
            h["id"], h["author"], h["unit"], h["created_at"], h["alert"],
            ", ".join(h["destinations"]), Text(h["subject"]),
        )  # fmt: skip
    out.print(table)


alert_app.command("list", help="The same as `alert held`.")(alert_held)


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


@alert_app.command("reject")
def alert_reject(
    message_id: str,
    directory: Dir,
    reason: Annotated[str, typer.Option(help="Why the alert must not leave.")],
) -> None:
    """As the second officer (logged in, not the alert's author), refuse a held alert for
    good: it never leaves, and its deliveries are refused with alert_rejected.

    Example: secureline alert reject msg-01 --dir ./interpol
      --reason "the suspect was arrested this morning"
    """
    node = common.node_at(directory)
    principal = session.person(node)
    message_id = ids.message_id(node, message_id)
    refused = node.messaging.reject_alert(principal, message_id, reason)
    out.print(
        f"{message_id} rejected by {principal.username}: refused for {', '.join(refused)} "
        "(alert_rejected)",
        markup=False,
    )


def explain_refusal(exc: Refused) -> NoReturn:
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
