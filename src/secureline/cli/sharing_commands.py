"""``secureline permission|review|retract|correct``: the provider stays in control of what it
shared (a permission request is granted or refused with a reason)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from secureline.cli import common, ids, render, session
from secureline.cli.common import Dir, Json, fail, out, vars_of

if TYPE_CHECKING:
    from secureline.node.compose import Node
    from secureline.services.roles import Principal

# --- the rules of sharing: permissions, the review queue, deletion and correction ----------

permission_app = typer.Typer(
    no_args_is_help=True, help="Providers' permissions: ask, grant or refuse, list (signed grants)."
)
review_app = typer.Typer(
    no_args_is_help=True, help="Retention: the review queue, keep or purge, the scheduled job."
)


def _cli_principal(node: Node, unit: str | None = None) -> Principal:
    """The logged-in person (see :mod:`secureline.cli.session`); a ``--unit`` still given
    must be theirs."""
    return session.officer_of(node, unit)


@permission_app.command("request")
def permission_request(
    message_id: str,
    directory: Dir,
    scope: Annotated[str, typer.Option(help="onward-transfer, judicial-use or other-purpose.")],
    grantee: Annotated[str, typer.Option(help="The node the permission is for.")],
    purpose: Annotated[str | None, typer.Option(help="The purpose asked for.")] = None,
    reason: Annotated[str, typer.Option(help="Why, for the provider.")] = "",
    unit: session.UnitCheck = None,
) -> None:
    """Ask a message's provider for a permission; sends a permission-request message.

    Example: secureline permission request msg-... --dir ./interpol
      --scope onward-transfer --grantee europol --reason "joint investigation"
    """
    node = common.node_at(directory)
    principal = _cli_principal(node, unit)
    message_id = ids.message_id(node, message_id)
    done = node.sharing.request_permission(principal, message_id, scope, grantee, purpose, reason)
    out.print(f"{done.id} permission request queued for {', '.join(done.destinations)}")


@permission_app.command("grant")
def permission_grant(
    directory: Dir,
    request: Annotated[
        str | None, typer.Argument(help="The permission request to answer.", show_default=False)
    ] = None,
    message: Annotated[str | None, typer.Option(help="The message sent from here.")] = None,
    grantee: Annotated[str | None, typer.Option(help="The node the permission is for.")] = None,
    scope: Annotated[str | None, typer.Option(help="onward-transfer, ...")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time; default 90 days.")] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    unit: session.UnitCheck = None,
) -> None:
    """As the provider, grant a permission: sign it and send it in a permission-grant message.

    Example: secureline permission grant msg-REQUEST --dir ./ncb-madrid
    """
    from datetime import datetime

    try:
        when = datetime.fromisoformat(until) if until else None
    except ValueError as exc:
        fail(f"--until: {exc}")
    node = common.node_at(directory)
    grant, carrier = node.sharing.grant_permission(
        _cli_principal(node, unit),
        request,
        message_id=message,
        grantee=grantee,
        scope=scope,
        until=when,
        purpose=purpose,
    )
    out.print(
        f"{grant.id}: {grant.scope.value} on {grant.message_id} for {grant.grantee} until "
        f"{grant.until.isoformat()}; sent in {carrier.id} to {', '.join(carrier.destinations)}"
    )


@permission_app.command("refuse")
def permission_refuse(
    request: Annotated[str, typer.Argument(help="The permission request to refuse.")],
    directory: Dir,
    reason: Annotated[str, typer.Option(help="Why, stated for the record.")],
    unit: session.UnitCheck = None,
) -> None:
    """As the provider, refuse a permission request, stating why (audited). The refusal stays
    on this node: the requester is not told over the line.

    Example: secureline permission refuse msg-REQUEST --dir ./interpol
      --reason "the investigation is still covert"
    """
    node = common.node_at(directory)
    request = ids.message_id(node, request)
    node.sharing.refuse_permission(_cli_principal(node, unit), request, reason)
    out.print(f"{request} refused", markup=False)


@permission_app.command("list")
def permission_list(
    directory: Dir,
    unit: session.UnitCheck = None,
    as_json: Json = False,
) -> None:
    """Permissions and their state: granted (issued or received), refused (with the reason),
    and the requests still pending in your unit's inbox."""
    node = common.node_at(directory)
    items = node.sharing.permission_items(_cli_principal(node, unit))
    if as_json:
        print(render.dumps([vars_of(p) for p in items]))
        return
    table = Table(
        "state", "id", "direction", "message", "provider", "grantee", "scope", "until", "reason"
    )
    table.columns[1].no_wrap = True
    for p in items:
        table.add_row(
            p.state, p.id, p.direction, p.message_id, p.provider, p.grantee, p.scope,
            p.until.isoformat() if p.until else "", Text(p.reason or ""),
        )  # fmt: skip
    out.print(table)


@permission_app.command("requests")
def permission_requests(
    directory: Dir,
    as_json: Json = False,
    unit: session.UnitCheck = None,
) -> None:
    """Permission requests received by your unit: who asks, for which message, scope and why.

    Example: secureline permission requests --dir ./interpol
    """
    node = common.node_at(directory)
    found = [
        {
            "request": header.id,
            "received": header.created_at.isoformat(),
            "from": str(header.sender),
            "message": asked.get("message_id"),
            "scope": asked.get("scope"),
            "grantee": asked.get("grantee"),
            "purpose": asked.get("purpose"),
            "reason": asked.get("reason"),
        }
        for header, asked in node.sharing.permission_requests(_cli_principal(node, unit))
    ]
    if as_json:
        print(render.dumps(found))
        return
    table = Table("request", "received", "from", "message", "scope", "grantee", "reason")
    table.columns[0].no_wrap = True
    for r in found:
        table.add_row(
            r["request"], r["received"], r["from"], r["message"], r["scope"], r["grantee"],
            Text(str(r["reason"] or "")),
        )  # fmt: skip
    out.print(table)


@review_app.command("list")
def review_list(directory: Dir, as_json: Json = False, unit: session.UnitCheck = None) -> None:
    """Messages of your unit due for a retention decision (all of them for the DPO)."""
    node = common.node_at(directory)
    queue = node.retention.queue(_cli_principal(node, unit))
    if as_json:
        print(render.dumps([vars_of(i) for i in queue]))
        return
    table = Table("message", "review date", "queued at")
    for item in queue:
        queued = item.queued_at.isoformat() if item.queued_at else ""
        table.add_row(item.message_id, item.review_date.isoformat(), queued)
    out.print(table)


@review_app.command("keep")
def review_keep(
    message_id: str,
    directory: Dir,
    until: Annotated[str, typer.Option(help="The new review date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why it is still needed.")],
    unit: session.UnitCheck = None,
) -> None:
    """Keep a message until a new review date."""
    from datetime import date

    try:
        day = date.fromisoformat(until)
    except ValueError as exc:
        fail(f"--until: {exc}")
    node = common.node_at(directory)
    principal = _cli_principal(node, unit)
    message_id = ids.message_id(node, message_id)
    node.retention.keep(principal, message_id, day, reason)
    out.print(f"{message_id} kept until {day.isoformat()}")


@review_app.command("purge")
def review_purge(
    message_id: str,
    directory: Dir,
    reason: Annotated[str, typer.Option(help="Why it goes.")],
    unit: session.UnitCheck = None,
) -> None:
    """Purge a message now: body, entities and attachments go; a tombstone stays."""
    node = common.node_at(directory)
    principal = _cli_principal(node, unit)
    message_id = ids.message_id(node, message_id)
    node.retention.purge(principal, message_id, reason)
    out.print(f"{message_id} purged")


@review_app.command("run")
def review_run(directory: Dir) -> None:
    """The scheduled job: queue what is due, purge what is past its date with no decision."""
    node = common.node_at(directory)
    result = node.retention.run()
    out.print(f"queued {len(result.queued)}, purged {len(result.purged)}")
    for message_id in result.purged:
        out.print(f"  purged {message_id}")


def retract(
    message_id: str,
    directory: Dir,
    reason: Annotated[str, typer.Option(help="Why the information is withdrawn.")],
) -> None:
    """As the provider (your unit sent it), delete a message at every recipient (a deletion
    message).

    Example: secureline retract msg-... --dir ./interpol --reason "sent in error"
    """
    node = common.node_at(directory)
    principal = _cli_principal(node)
    message_id = ids.message_id(node, message_id)
    done = node.sharing.retract(principal, message_id, reason)
    out.print(f"{done.id} deletion queued for {', '.join(done.destinations)}")


def correct(
    message_id: str,
    directory: Dir,
    reason: Annotated[str, typer.Option(help="What was wrong.")],
    body: Annotated[str | None, typer.Option(help="The corrected body.")] = None,
    entities: Annotated[
        Path | None, typer.Option(help="The corrected FollowTheMoney entities, JSON list.")
    ] = None,
    subjects: Annotated[
        list[str] | None, typer.Option("--data-subject", help="suspect, victim, ...")
    ] = None,
) -> None:
    """As the provider (your unit sent it), correct a message at every recipient (a
    correction message); what is not given stays as it was.

    Example: secureline correct msg-... --dir ./interpol --reason "wrong IMO" --entities fixed.json
    """
    node = common.node_at(directory)
    principal = _cli_principal(node)
    message_id = ids.message_id(node, message_id)
    done = node.sharing.correct(
        principal,
        message_id,
        reason,
        body=body,
        entities=common.json_list(entities) if entities else None,
        data_subjects=subjects,
    )
    out.print(f"{done.id} correction queued for {', '.join(done.destinations)}")
