"""``secureline bench line|recovery|api``: the benchmarks on loopback. Each imports its
runner only when called, so that the other commands do not load the benchmarks."""

from __future__ import annotations

import json
from typing import Annotated

import typer

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks on loopback.")


@bench_app.command("line")
def bench_line(
    messages: Annotated[int, typer.Option(help="How many messages.")] = 20_000,
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


@bench_app.command("desk")
def bench_desk(
    messages: Annotated[int, typer.Option(min=1, help="Messages in the store.")] = 100_000,
    store: Annotated[
        str, typer.Option(help="sqlite, or a PostgreSQL URL (a schema per node there).")
    ] = "sqlite",
    requests: Annotated[int, typer.Option(min=1, help="Timed requests per page.")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The desk's server time (p95, ms) for the inbox, a thread, the message view and a
    search, with N messages stored in bulk first (not over the line)."""
    from secureline.cli.bench_desk import run_desk_bench

    result = run_desk_bench(messages, store, requests)
    print(json.dumps(result) if as_json else json.dumps(result, indent=2))
