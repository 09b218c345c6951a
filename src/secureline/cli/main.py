"""``secureline``: the administrator's and officer's command line.

Every command takes ``--dir`` (the node directory made by ``secureline init``). Errors are
one readable line on stderr and a non-zero exit; nothing is half-written.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from secureline.cli.alert_commands import alert_app, forward
from secureline.cli.audit_commands import audit_app
from secureline.cli.bench_commands import bench_app
from secureline.cli.common import err
from secureline.cli.hits_commands import crosscheck_app, hits_app
from secureline.cli.holdings_commands import holdings_app
from secureline.cli.interop_commands import misp_app, stix_app
from secureline.cli.link_commands import agreement_app, peer_app, route_app
from secureline.cli.match_commands import match_app
from secureline.cli.message_commands import export, inbox, read, send, status
from secureline.cli.node_commands import demo, init, run
from secureline.cli.people_commands import unit_app, user_app
from secureline.cli.session import login, logout, whoami
from secureline.cli.sharing_commands import correct, permission_app, retract, review_app
from secureline.cli.vocab_commands import vocab
from secureline.errors import SecurelineError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="secureline: a secure line between police organisations' networks.",
)
# The order of registration is the order `secureline --help` lists them in.
for sub, name in [
    (unit_app, "unit"),
    (user_app, "user"),
    (peer_app, "peer"),
    (route_app, "route"),
    (agreement_app, "agreement"),
    (bench_app, "bench"),
    (audit_app, "audit"),
    (permission_app, "permission"),
    (review_app, "review"),
    (alert_app, "alert"),
    (holdings_app, "holdings"),
    (match_app, "match"),
    (hits_app, "hits"),
    (crosscheck_app, "crosscheck"),
    (stix_app, "stix"),
    (misp_app, "misp"),
]:
    app.add_typer(sub, name=name)
for command in (
    send,
    inbox,
    read,
    status,
    export,
    forward,
    vocab,
    retract,
    login,
    logout,
    whoami,
    correct,
    init,
    run,
    demo,
):
    app.command()(command)


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
    except SecurelineError as exc:  # the project's one tree (secureline/errors.py)
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
