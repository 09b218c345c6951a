"""``secureline peer ...``, ``route list`` and ``agreement ...``: the node's links, as its
administrator sees them: peer files and pinning, the links' health, the next hops, the
agreements in force and an agreement file checked before it is."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from secureline.cli import common, render
from secureline.cli.common import Dir, Json, err, fail, out
from secureline.cli.peer_commands import link_summary, peer_drop, peer_retry
from secureline.cli.session import administrator

peer_app = typer.Typer(no_args_is_help=True, help="Peering: exchange peer files, pin, watch links.")
route_app = typer.Typer(no_args_is_help=True, help="Routes to nodes reached through a relay.")
agreement_app = typer.Typer(no_args_is_help=True, help="Link agreements (the MoU in machine form).")
# First, as before the split: `secureline peer --help` lists its commands in this order.
peer_app.command("retry")(peer_retry)
peer_app.command("drop")(peer_drop)


@peer_app.command("export")
def peer_export(
    directory: Dir, output: Annotated[Path | None, typer.Option("--out")] = None
) -> None:
    """Write this node's peer file (to give to a partner's administrator).

    Example: secureline peer export --dir ./interpol --out interpol.peer.json
    """
    node = common.node_at(directory)
    peer = node.peering.export()
    if output:
        output.write_bytes(peer.to_json())
        out.print(f"peer file written to {output}; fingerprint: [bold]{peer.fingerprint}[/bold]")
    else:
        sys.stdout.write(peer.to_json().decode() + "\n")


@peer_app.command("add")
def peer_add(
    file: Path,
    directory: Dir,
    yes: Annotated[
        bool, typer.Option("--yes", help="Skip the question (fingerprint checked already).")
    ] = False,
    via: Annotated[
        bool, typer.Option("--known-only", help="Pin keys only: reached via a route.")
    ] = False,
) -> None:
    """Pin a partner from its peer file after checking its fingerprint out of band. Added
    again with the same keys and CA (after the partner's upgrade), it takes only the
    protocol version and kinds the new file states.

    Example: secureline peer add europol.peer.json --dir ./interpol
    """
    from secureline.node.peering import read_peer_file

    peer = read_peer_file(file)
    out.print(f"peer {peer.node} ({peer.organisation}) at {peer.line_url}")
    out.print(f"fingerprint: [bold]{peer.fingerprint}[/bold]")
    stated = peer.capabilities
    out.print(
        f"supports protocol {stated.protocol}: {', '.join(sorted(stated.kinds))}"
        if stated is not None
        else "states no protocol version: taken as protocol 1 and its kinds",
        markup=False,
    )
    if not yes:
        common.require_terminal("the fingerprint check", "--yes once it is compared")
    if not yes and not typer.confirm("Does the partner's administrator read the same fingerprint?"):
        fail("not pinned")
    node = common.node_at(directory)
    node.peering.add(peer, administrator(), direct=not via)
    out.print(f"{peer.node} pinned")


@peer_app.command("list")
def peer_list(directory: Dir, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each link: connected or not, queue depth, oldest undelivered, agreement, alarms."""
    node = common.node_at(directory)
    health = node.peering.link_health()
    if as_json:
        print(json.dumps(health, indent=2))
        return
    table = Table("peer", "link", "state", "queued", "oldest (s)", "agreement", "alarms")
    for h in health:
        table.add_row(
            h["peer"],
            "direct" if h["direct"] else f"via {h['route']}",
            link_summary(h),
            str(h["queue_depth"]),
            ""
            if h["oldest_undelivered_seconds"] is None
            else f"{h['oldest_undelivered_seconds']:.0f}",
            (h["agreement_digest"] or "")[:12],
            "; ".join(h["alarms"]),
        )
    out.print(table)


@route_app.command("list")
def route_list(directory: Dir, as_json: Json = False) -> None:
    """Show the next hop for every node this node knows."""
    node = common.node_at(directory)
    if as_json:
        print(render.dumps(node.directory.routes()))
        return
    table = Table("destination", "next hop")
    for dest, hop in node.directory.routes().items():
        table.add_row(dest, hop or "[red]unreachable[/red]")
    out.print(table)


@agreement_app.command("show")
def agreement_show(peer: str, directory: Dir) -> None:
    """Show the agreement of the link with PEER and its digest."""
    node = common.node_at(directory)
    state = node.directory.agreement(peer)
    if state.agreement is None:
        fail(state.problem or f"no agreement with {peer}")
    out.print(node.layout.agreement(peer).read_text(encoding="utf-8"))
    out.print(f"digest: {state.agreement.digest()}")


@agreement_app.command("check")
def agreement_check(file: Path, as_json: Json = False) -> None:
    """Check an agreement file: every problem in one run, warnings for terms that would
    hurt, and the digest when it is valid. Exit 1 if there is any problem."""
    from secureline.cli.agreement_check import check

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    checked = check(text)
    digest = checked.agreement.digest() if checked.agreement else None
    if as_json:
        report = {"problems": checked.problems, "warnings": checked.warnings, "digest": digest}
        print(render.dumps(report))
    else:
        for problem in checked.problems:
            err.print(f"{file}: error: {problem}", markup=False, highlight=False, soft_wrap=True)
        for warning in checked.warnings:
            err.print(f"{file}: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
        if digest:
            out.print(f"{file}: valid; digest {digest}", markup=False, highlight=False)
    if checked.problems:
        raise typer.Exit(1)
