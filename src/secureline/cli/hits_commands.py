"""``secureline hits``: the cross-check's hits of the logged-in person's unit, and their
decision (confirmed or dismissed, once, with a note). Who may: services/hits.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from secureline.cli import common, render
from secureline.cli.common import Dir, Json, out
from secureline.cli.session import person

hits_app = typer.Typer(
    no_args_is_help=True,
    help="Hits: received entities that matched what your unit holds.",
)


@hits_app.command("list")
def hits_list(
    directory: Dir,
    state: Annotated[
        str | None, typer.Option(help="Only new, confirmed, dismissed or withdrawn ones.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: Json = False,
) -> None:
    """Your unit's hits, newest first (every unit's for an administrator or the DPO).

    Example: secureline hits list --dir ./europol --state new --json
    """
    from secureline.services.errors import ServiceError
    from secureline.services.hits import hit_json

    node = common.node_at(directory)
    try:
        found = node.hits.list(person(node), state, limit)
    except ServiceError as exc:
        common.fail(f"{exc.code}: {exc.message}")
    if as_json:
        print(render.dumps([hit_json(h) for h in found]))
        return
    table = Table("hit", "state", "score", "received", "from", "held", "source")
    for h in found:
        table.add_row(h.id, h.state, f"{h.score:.2f}", h.entity_caption or "(withdrawn)",
                      f"{h.sender} {h.message_handling}", h.holding_caption or "(withdrawn)",
                      f"{h.holding_source} {h.holding_handling}")  # fmt: skip
    out.print(table)


@hits_app.command("decide")
def hits_decide(
    hit_id: Annotated[str, typer.Argument(help="The hit, hit-...")],
    decision: Annotated[str, typer.Argument(help="confirmed or dismissed.")],
    directory: Dir,
    note: Annotated[str | None, typer.Option(help="Why, for your colleagues.")] = None,
    as_json: Json = False,
) -> None:
    """Confirm or dismiss a hit of your unit; the decision is kept (and made once).

    Example: secureline hits decide hit-... dismissed --note "another person" --dir ./europol
    """
    from secureline.services.errors import ServiceError
    from secureline.services.hits import hit_json

    node = common.node_at(directory)
    try:
        decided = node.hits.decide(person(node), hit_id, decision, note)
    except ServiceError as exc:
        common.fail(f"{exc.code}: {exc.message}")
    if as_json:
        print(render.dumps(hit_json(decided)))
        return
    out.print(f"{decided.id} {decided.state}")


crosscheck_app = typer.Typer(
    no_args_is_help=True,
    help="The cross-check of what arrives, in a process of its own.",
)


@crosscheck_app.command("run")
def crosscheck_run(
    directory: Dir,
    once: Annotated[bool, typer.Option(help="One pass over what waits, then exit.")] = False,
    as_json: Json = False,
) -> None:
    """Match what arrived against the holdings and make the hits, every [matching]
    crosscheck_interval_seconds until stopped (Ctrl-C, SIGTERM). Run it beside a node whose
    [matching] crosscheck_in_node is false; several may run on one PostgreSQL store.

    Example: secureline crosscheck run --dir ./europol --once --json
    """
    import signal
    import time

    node = common.node_at(directory)
    interval = node.config.matching.crosscheck_interval_seconds
    signal.signal(signal.SIGTERM, lambda *_: node.crosscheck.stop())
    taken = 0
    try:
        while True:
            taken += node.crosscheck.run_once()
            if once or node.crosscheck.stopped:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        node.crosscheck.stop()
    if as_json:
        print(render.dumps({"messages": taken, "pending": node.crosscheck.pending()}))
    else:
        out.print(f"{taken} messages cross-checked, {node.crosscheck.pending()} waiting")
