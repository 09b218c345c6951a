"""``secureline``: the administrator's and officer's command line.

Every command takes ``--dir`` (the node directory made by ``secureline init``). Errors are
one readable line on stderr and a non-zero exit; nothing is half-written.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from secureline.cli import common, ids, render
from secureline.cli.alert_commands import alert_app, forward
from secureline.cli.audit_commands import audit_app
from secureline.cli.common import Dir, Json, err, fail, out, vars_of
from secureline.cli.message_commands import export, inbox, read, send, status
from secureline.cli.peer_commands import link_summary, peer_drop, peer_retry
from secureline.cli.session import administrator, login, logout, whoami
from secureline.cli.sharing_commands import correct, permission_app, retract, review_app
from secureline.cli.vocab_commands import vocab
from secureline.domain.errors import DomainError
from secureline.node.errors import NodeError
from secureline.services.errors import ServiceError
from secureline.store.errors import StoreError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="secureline: a secure line between police organisations' networks.",
)
unit_app = typer.Typer(no_args_is_help=True, help="Units: addressable desks inside this node.")
user_app = typer.Typer(no_args_is_help=True, help="Users and their API tokens.")
peer_app = typer.Typer(no_args_is_help=True, help="Peering: exchange peer files, pin, watch links.")
route_app = typer.Typer(no_args_is_help=True, help="Routes to nodes reached through a relay.")
agreement_app = typer.Typer(no_args_is_help=True, help="Link agreements (the MoU in machine form).")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks on loopback.")
for sub, name in [
    (unit_app, "unit"),
    (user_app, "user"),
    (peer_app, "peer"),
    (route_app, "route"),
    (agreement_app, "agreement"),
    (bench_app, "bench"),
]:
    app.add_typer(sub, name=name)
app.add_typer(audit_app, name="audit")
app.add_typer(permission_app, name="permission")
app.add_typer(review_app, name="review")
app.add_typer(alert_app, name="alert")
for command in (send, inbox, read, status, export, forward, vocab):
    app.command()(command)
app.command()(retract)
app.command()(login)
app.command()(logout)
app.command()(whoami)
app.command()(correct)
peer_app.command("retry")(peer_retry)
peer_app.command("drop")(peer_drop)


def _version(value: bool) -> None:
    if value:
        from secureline import __version__

        print(f"secureline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """secureline: a secure line between police organisations' networks."""


def main() -> None:
    try:
        app()
    except (NodeError, DomainError, ServiceError, StoreError) as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="The node's name, e.g. interpol.")],
    directory: Dir,
    organisation: Annotated[
        str | None, typer.Option(help="Organisation name (default: NAME).")
    ] = None,
    port: Annotated[int, typer.Option(help="Line port (mutual TLS).")] = 8443,
    api_port: Annotated[int, typer.Option(help="API port (loopback).")] = 8080,
    hostname: Annotated[
        list[str] | None, typer.Option(help="Host names for the TLS certificate.")
    ] = None,
    store_url: Annotated[
        str, typer.Option(help="Database URL; SQLite in the node directory by default.")
    ] = "sqlite:///store.db",
    ca_cert: Annotated[
        Path | None, typer.Option(help="Existing organisation CA certificate.")
    ] = None,
    ca_key: Annotated[Path | None, typer.Option(help="Its private key.")] = None,
    passphrase_env: Annotated[
        str | None, typer.Option(help="Env variable holding the key passphrase.")
    ] = None,
    route: Annotated[
        list[str] | None, typer.Option(help="DEST=HOP: reach node DEST through link HOP.")
    ] = None,
) -> None:
    """Create a node directory: CA, TLS certificate, signing and encryption keys, config, store.

    Example: secureline init interpol --dir ./interpol --organisation "Interpol" --port 8443
    """
    from secureline.node.init import InitOptions, init_node

    if (ca_cert is None) != (ca_key is None):
        fail("--ca-cert and --ca-key go together")
    passphrase = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            fail(f"environment variable {passphrase_env} is not set")
        passphrase = value.encode()
    routes = []
    for item in route or []:
        dest, eq, hop = item.partition("=")
        if not eq:
            fail(f"--route {item!r}: write it as DEST=HOP")
        routes.append((dest.strip(), hop.strip()))
    layout = init_node(
        InitOptions(
            name=name,
            directory=directory,
            organisation=organisation or name,
            line_port=port,
            api_port=api_port,
            hostnames=tuple(hostname or ("localhost", "127.0.0.1")),
            store_url=store_url,
            ca=(ca_cert, ca_key) if ca_cert and ca_key else None,
            passphrase_env=passphrase_env,
            passphrase=passphrase,
            routes=tuple(routes),
        )
    )
    out.print(f"node [bold]{name}[/bold] created in {layout.root}")
    out.print("next: secureline unit add NAME --dir ...; secureline peer export --dir ...")


@app.command()
def run(directory: Dir) -> None:
    """Serve the node (line and API) until Ctrl-C.

    Example: secureline run --dir ./interpol
    """
    from secureline.cli.diagnostics import trace_memory_from_env, trim_on_sigusr2
    from secureline.node.memory import limit_arenas

    limit_arenas()  # before any thread: docs/architecture.md, "Memory"
    trace_memory_from_env()  # diagnostic, off unless SECURELINE_TRACEMALLOC is set
    trim_on_sigusr2()
    node = common.node_at(directory)
    node.start()
    common.settle_memory()
    out.print(
        f"{node.name}: line on https://{node.config.line.host}:{node.line_port}, "
        f"API on http://{node.config.api.host}:{node.api_port}"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
        out.print(f"{node.name}: stopped")


@unit_app.command("add")
def unit_add(
    name: str,
    directory: Dir,
    description: str = "",
    specialist: Annotated[
        bool, typer.Option(help="May receive child sexual exploitation material.")
    ] = False,
    liaison_for: Annotated[
        str | None, typer.Option(help="A liaison office staffed by this organisation.")
    ] = None,
) -> None:
    """Add a unit (addressable as NAME@node).

    Example: secureline unit add ncb --dir ./interpol --description "National Central Bureau"
    """
    node = common.node_at(directory)
    node.accounts.add_unit(
        administrator(),
        name,
        description=description,
        specialist=specialist,
        liaison_for=liaison_for,
    )
    out.print(f"unit {name}@{node.name} added")


@unit_app.command("list")
def unit_list(directory: Dir, as_json: Json = False) -> None:
    """List the node's units."""
    node = common.node_at(directory)
    if as_json:
        units = node.accounts.units()
        print(render.dumps([{"address": f"{u.name}@{node.name}", **vars_of(u)} for u in units]))
        return
    table = Table("unit", "specialist", "liaison for", "description")
    for unit in node.accounts.units():
        table.add_row(
            f"{unit.name}@{node.name}",
            "yes" if unit.specialist else "",
            unit.liaison_for or "",
            unit.description,
        )
    out.print(table)


@user_app.command("add")
def user_add(
    username: str,
    directory: Dir,
    unit: Annotated[str, typer.Option(help="The unit the user belongs to.")],
    role: Annotated[str, typer.Option(help="officer, admin, dpo or system.")] = "officer",
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this env variable.")
    ] = None,
) -> None:
    """Add a user (argon2id password; asked for twice unless --password-env is given).

    Example: secureline user add alice --unit ncb --role officer --dir ./interpol
    """
    if password_env:
        password = os.environ.get(password_env) or fail(
            f"environment variable {password_env} is not set"
        )
    else:
        common.require_terminal("the password", "--password-env VARIABLE")
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    node = common.node_at(directory)
    node.accounts.add_user(administrator(), username, unit, role, password)
    out.print(f"user {username} added to {unit}@{node.name} as {role}")


@user_app.command("list")
def user_list(directory: Dir, as_json: Json = False) -> None:
    """List the node's users: name, unit, role, whether disabled, when created.

    Example: secureline user list --dir ./interpol
    """
    node = common.node_at(directory)
    users = node.accounts.users()
    if as_json:
        print(render.dumps([vars_of(u) for u in users]))
        return
    table = Table("user", "unit", "role", "disabled (UTC)", "created (UTC)")
    for u in users:
        disabled = f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else ""
        table.add_row(u.username, u.unit, u.role, disabled, f"{u.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


@user_app.command("disable")
def user_disable(username: str, directory: Dir) -> None:
    """Disable a user at once: their password, API tokens and sessions stop working; audited.

    Example: secureline user disable alice --dir ./interpol
    """
    node = common.node_at(directory)
    node.accounts.disable_user(administrator(), username)
    out.print(f"user {username} disabled: their tokens and sessions no longer work")


@user_app.command("token")
def user_token(username: str, directory: Dir, label: str = "") -> None:
    """Create an API token for a user; it is shown once.

    Example: secureline user token alice --dir ./interpol
    """
    node = common.node_at(directory)
    print(node.accounts.create_token(administrator(), username, label))


@user_app.command("tokens")
def user_tokens(username: str, directory: Dir, as_json: Json = False) -> None:
    """List a user's API tokens (ids, labels, dates; never the secrets).

    Example: secureline user tokens alice --dir ./interpol
    """
    node = common.node_at(directory)
    if as_json:
        print(render.dumps([vars_of(t) for t in node.accounts.tokens(username)]))
        return
    table = Table("token id", "label", "created (UTC)", "revoked (UTC)")
    for token in node.accounts.tokens(username):
        table.add_row(
            token.id,
            token.label,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    out.print(table)


@user_app.command("revoke-token")
def user_revoke_token(token_id: str, directory: Dir) -> None:
    """Revoke an API token at once (the id comes from `user tokens`); audited.

    Example: secureline user revoke-token 3f9c2a7b1d4e5f60 --dir ./interpol
    """
    node = common.node_at(directory)
    token = node.accounts.revoke_token(administrator(), ids.token_id(node, token_id))
    out.print(f"token {token.id} of {token.username} revoked")


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


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Keep the node directories here.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Run once, print a JSON summary, exit.")
    ] = False,
) -> None:
    """Run a federation on loopback: organisations peered, real traffic in the five areas.

    Example: secureline demo --check
    """
    from secureline.cli.demo import run_demo

    ok = run_demo(directory, check=check, console=out)
    if not ok:
        raise typer.Exit(1)


@bench_app.command("line")
def bench_line(
    messages: Annotated[int, typer.Option(help="How many messages.")] = 5000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    batch: Annotated[int, typer.Option(help="Messages per submission.")] = 200,
    stored: Annotated[
        int,
        typer.Option(
            min=0,
            help="First send this many over the line, untimed: the stores already hold them.",
        ),
    ] = 0,
    no_audit: Annotated[
        bool,
        typer.Option(
            "--no-audit",
            help="UNSAFE, for measuring only: both nodes record no audit chain at all.",
        ),
    ] = False,
) -> None:
    """Two nodes on loopback; N messages of ~2 KiB with 3-5 entities; throughput and latency
    against a baseline measured in the same run. Compare with --no-audit for the audit
    chain's cost, and with --stored N for stores that already hold N messages."""
    from secureline.cli.bench import run_line_bench

    result = run_line_bench(messages, batch, audit=not no_audit, stored=stored)
    print(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench_app.command("recovery")
def bench_recovery(
    messages: Annotated[int, typer.Option(help="Messages for the line's own rate.")] = 5000,
    queued: Annotated[int, typer.Option(help="Messages queued while the peer is down.")] = 5000,
    down_seconds: Annotated[
        float, typer.Option(help="How long the peer stays down after the last is queued.")
    ] = 20.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A peer comes back: how soon its queue moves (resumed_after_s) and how fast it drains,
    against the line's rate measured in the same run (ratio_to_line)."""
    from secureline.cli.bench_recovery import run_recovery_bench

    result = run_recovery_bench(messages, queued, down_seconds)
    print(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench_app.command("api")
def bench_api(
    store: Annotated[
        str, typer.Option(help="sqlite, or a PostgreSQL URL (a schema per node there).")
    ] = "sqlite",
    messages: Annotated[int, typer.Option(min=1, help="Single submissions.")] = 1000,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 16,
    requests: Annotated[int, typer.Option(min=1, help="GETs, kept-alive and fresh.")] = 50,
    batch_size: Annotated[int, typer.Option(min=1, help="Drafts per batch.")] = 200,
    batches: Annotated[int, typer.Option(min=1, help="Batches sent.")] = 5,
    rate: Annotated[
        list[int] | None, typer.Option(help="Open-loop offered rate (repeat); 200 and 1000.")
    ] = None,
    open_seconds: Annotated[float, typer.Option(help="Seconds at each offered rate.")] = 3.0,
    queued: Annotated[int, typer.Option(min=1, help="Submitted with the peer down.")] = 5000,
    line_messages: Annotated[
        int, typer.Option(min=0, help="`bench line` in the same run (0: no ratio).")
    ] = 3000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Two `secureline run` nodes and an HTTP client in its own process: kept-alive against
    fresh connections, single and batch submissions, open-loop latency to the delivered
    evidence, the peer down, memory and disk per message (issue 20)."""
    from secureline.cli.bench_api import ApiBenchOptions, run_api_bench

    options = ApiBenchOptions(
        store=store,
        requests=requests,
        clients=clients,
        messages=messages,
        batch_size=batch_size,
        batches=batches,
        rates=tuple(rate or (200, 1000)),
        open_seconds=open_seconds,
        queued=queued,
        line_messages=line_messages,
    )
    result = run_api_bench(options)
    print(json.dumps(result) if as_json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
