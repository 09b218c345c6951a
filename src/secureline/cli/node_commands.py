"""``secureline init``, ``run`` and ``demo``: making a node directory, serving a node until
it is stopped, and a federation on loopback."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from secureline.cli import common
from secureline.cli.common import Dir, fail, out


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
        f"API on {node.api_url}"
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
