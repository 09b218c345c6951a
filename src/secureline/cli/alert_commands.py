"""``secureline alert held|approve|reject`` and ``secureline forward``: the second pair of eyes on
alerts, and passing a message on under the rules (a refusal explained, reason by reason)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from secureline.cli import common, ids, render
from secureline.cli.common import Dir, Json, err, fail, out, vars_of

alert_app = typer.Typer(
    no_args_is_help=True, help="Alerts held for review: list, approve or reject (four eyes)."
)


def _node_admin() -> Any:
    """Who lists the queue: the node's administrator, acting on its own directory."""
    from secureline.services.accounts import Principal, Role

    return Principal("cli", "cli", "", Role.ADMIN)


@alert_app.command("held")
def alert_held(directory: Dir, as_json: Json = False) -> None:
    """Alerts held for review: each waits for a second officer to approve or reject it.

    Example: secureline alert held --dir ./interpol --json
    """
    node = common.node_at(directory)
    held = [
        {**vars_of(h), "created_at": h.created_at.isoformat()}
        for h in node.messaging.held_alerts(_node_admin())
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
    by: Annotated[str, typer.Option(help="The approving officer: not the alert's author.")],
    unit: Annotated[str, typer.Option(help="The approving officer's unit.")],
) -> None:
    """As a second officer, release a held alert to its recipients.

    Example: secureline alert approve msg-01 --dir ./interpol --by bob --unit cc
    """
    from secureline.services.accounts import Principal, Role

    node = common.node_at(directory)
    message_id = ids.message_id(node, message_id)
    node.messaging.approve_alert(Principal("cli", f"cli:{by}", unit, Role.OFFICER), message_id)
    out.print(f"{message_id} approved by {by}: released to its recipients", markup=False)


@alert_app.command("reject")
def alert_reject(
    message_id: str,
    directory: Dir,
    reason: Annotated[str, typer.Option(help="Why the alert must not leave.")],
    by: Annotated[str, typer.Option(help="The rejecting officer: not the alert's author.")],
    unit: Annotated[str, typer.Option(help="The rejecting officer's unit.")],
) -> None:
    """As a second officer, refuse a held alert for good: it never leaves, and its
    deliveries are refused with alert_rejected.

    Example: secureline alert reject msg-01 --dir ./interpol --by bob --unit cc
      --reason "the suspect was arrested this morning"
    """
    from secureline.services.accounts import Principal, Role

    node = common.node_at(directory)
    message_id = ids.message_id(node, message_id)
    officer = Principal("cli", f"cli:{by}", unit, Role.OFFICER)
    refused = node.messaging.reject_alert(officer, message_id, reason)
    out.print(
        f"{message_id} rejected by {by}: refused for {', '.join(refused)} (alert_rejected)",
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
    unit: Annotated[str, typer.Option(help="The recipient unit holding the message.")],
    to: Annotated[list[str], typer.Option(help="unit@node to pass it on to (repeatable).")],
    purpose: Annotated[
        str | None, typer.Option(help="A new purpose (a grant may be needed).")
    ] = None,
) -> None:
    """Pass on a received message: the provider's handling code and purpose go with it, and
    the rules decide (H2 needs the provider's permission: `permission request`).

    Example: secureline forward msg-01 --dir ./interpol --unit cc --to ncb@ncb-madrid
    """
    from secureline.services.accounts import Principal, Role
    from secureline.services.errors import NoRoute, Refused

    node = common.node_at(directory)
    message_id = ids.message_id(node, message_id)
    principal = Principal("cli", f"cli:{unit}", unit, Role.OFFICER)
    try:
        done = node.sharing.forward(principal, message_id, to, purpose)
    except Refused as exc:
        explain_refusal(exc)
    except NoRoute as exc:
        fail(f"--to: {exc.message}")
    out.print(f"{done.id} forwards {message_id} to {', '.join(done.destinations)}", markup=False)
