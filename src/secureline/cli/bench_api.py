"""``secureline bench api``: the front door as a national system meets it (issue 20).

Two nodes made with the CLI's own steps (:func:`~secureline.cli.federation.build`), each
served by its own ``secureline run`` process; a client in a third process
(:mod:`secureline.cli.bench_api_client`) that talks HTTP to the sender's API with an API
token, as a national system would. This process only orchestrates: it starts and stops the
nodes, reads ``/proc`` for their memory and the sender's store for the delivered evidence
(the open-loop latencies run from each request's scheduled moment to the ``delivered`` state
the origin recorded; both are wall-clock times on the same machine).

Every wait is bounded: a node that cannot keep up shows in ``achieved_per_s`` and on stderr,
never as a benchmark that hangs.
"""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from secureline.cli.bench import RECEIVER, SENDER, build_pair
from secureline.node.compose import Node
from secureline.node.config import load_config
from secureline.store import dialect
from secureline.store.database import Database
from secureline.store.tables import deliveries, messages

#: Deliveries still on their way (the receiver's evidence not yet back at the origin).
IN_FLIGHT = ("queued", "sent")


@dataclass(frozen=True)
class ApiBenchOptions:
    store: str = "sqlite"  # or a PostgreSQL URL: each node gets a schema of its own there
    requests: int = 50  # sequential GETs on one kept-alive connection, and on fresh ones
    clients: int = 16
    messages: int = 1000  # single submissions shared by the clients
    batch_size: int = 200
    batches: int = 5
    rates: tuple[int, ...] = (200, 1000)
    open_seconds: float = 3.0  # per offered rate
    queued: int = 5000  # submitted with the peer down
    line_messages: int = 3000  # `bench line` in the same run, for batch's ratio; 0: none
    phase_seconds_max: float = 300.0  # no phase runs longer than this
    grace_seconds: float = 20.0  # how long answers and evidence are waited for


def note(text: str) -> None:
    sys.stderr.write(f"bench api: {text}\n")
    sys.stderr.flush()


class NodeProcess:
    """One node served by ``secureline run`` in its own process, and its store read here."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name, self.directory = name, directory
        config = load_config(directory)
        self.api_url = f"http://{config.api.host}:{config.api.port}"
        self.db = Database(config.store_url(directory), config.store.schema_name)
        self._process: subprocess.Popen[bytes] | None = None
        self.log = directory.parent / f"{name}.log"

    def log_tail(self) -> str:
        """The end of the node's log: the directory holding it is gone after the run."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-2000:]

    def start(self) -> None:
        # The log goes to a file: with the peer down a node may write many lines, and a pipe
        # nobody reads would stop it once full.
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
                [sys.executable, "-m", "secureline.cli.main", "run", "--dir", str(self.directory)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up: {self.log_tail()}")
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer on {self.api_url} in {seconds:.0f} s: {self.log_tail()}"
        )

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return round(int(kib) / 1024, 1)

    def footprint(self) -> tuple[int, int]:
        """(bytes the store takes, messages it holds), SQLite's log checkpointed first."""
        dialect.checkpoint(self.db.url)
        with self.db.read() as conn:
            held = int(conn.execute(select(func.count()).select_from(messages)).scalar_one())
        return dialect.stored_bytes(self.db.url, self.db.schema), held

    def deliveries_in(self, states: tuple[str, ...]) -> int:
        with self.db.read() as conn:
            found = conn.execute(
                select(func.count()).where(deliveries.c.state.in_(states))
            ).scalar_one()
        return int(found)

    def wait_answered(self, seconds: float) -> bool:
        """Whether every delivery was answered within ``seconds``."""
        deadline = time.monotonic() + seconds
        while self.deliveries_in(IN_FLIGHT):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


class ClientProcess:
    """Runs each phase in a fresh client process (``bench_api_client``) and reads its answer."""

    def __init__(self, url: str, token: str, seconds_max: float) -> None:
        self.url, self.token, self.seconds_max = url, token, seconds_max
        self._seed = 0

    def run(self, phase: str, **job: Any) -> dict[str, Any]:
        self._seed += 1000  # every phase its own drafts
        job = {"phase": phase, "url": self.url, "token": self.token, "seed": self._seed, **job}
        done = subprocess.run(
            [sys.executable, "-m", "secureline.cli.bench_api_client"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=self.seconds_max + 60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {phase} client failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def store_for(url: str) -> tuple[Callable[[str], tuple[str, str | None]], list[str]]:
    """The ``store`` argument of ``build``, and the PostgreSQL schemas it hands out."""
    if url.startswith("sqlite"):
        return (lambda name: ("sqlite:///store.db", None)), []
    run, schemas = uuid.uuid4().hex[:8], []

    def store(name: str) -> tuple[str, str | None]:
        schemas.append(f"bench_{run}_{name}")
        return url, schemas[-1]

    return store, schemas


def system_token(directory: Path) -> str:
    """A national system's user and API token on the sender, as ``user add`` and ``user
    token`` make them."""
    node = Node(directory)
    try:
        node.accounts.add_user("setup", "bench", "cc", "system", secrets.token_urlsafe(24))
        return str(node.accounts.create_token("setup", "bench", "bench api"))
    finally:
        node.db.dispose()


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _open_loop(
    client: ClientProcess, sender: NodeProcess, rate: int, opts: ApiBenchOptions
) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(seconds=1)
    got = client.run(
        "open_loop",
        rate=rate,
        seconds=opts.open_seconds,
        grace=opts.grace_seconds,
        connections=opts.clients,  # as many connections as the single submissions have
    )
    scheduled: dict[str, float] = got["scheduled"]
    if not sender.wait_answered(opts.grace_seconds):
        note(f"open loop at {rate}/s: evidence still missing after {opts.grace_seconds:.0f} s")
    with sender.db.read() as conn:
        rows = conn.execute(
            select(deliveries.c.message_id, deliveries.c.updated_at, deliveries.c.created_at).where(
                deliveries.c.created_at >= since, deliveries.c.state.in_(("delivered", "read"))
            )
        ).all()
    evidence = {m: dialect.as_utc(at).timestamp() for m, at, _ in rows if m in scheduled}
    latencies = sorted((at - scheduled[m]) * 1000 for m, at in evidence.items())
    # Where the time goes: to the moment its submission's batch began (``deliveries.created_at``:
    # the request's way in and the wait for the group commit), and from there to the evidence
    # (preparing and committing the batch, then the line: claim, push, the receiver, the
    # evidence taken).
    queued = {m: dialect.as_utc(c).timestamp() for m, _, c in rows if m in evidence}
    if queued:
        to_commit = sorted((queued[m] - scheduled[m]) * 1000 for m in queued)
        on_line = sorted((evidence[m] - queued[m]) * 1000 for m in queued)
        note(
            f"open loop at {rate}/s: to its batch p50 {_percentile(to_commit, 0.5):.1f} "
            f"p99 {_percentile(to_commit, 0.99):.1f} ms; batch to evidence p50 "
            f"{_percentile(on_line, 0.5):.1f} p99 {_percentile(on_line, 0.99):.1f} ms"
        )
    if got["abandoned"] or len(evidence) < got["sent"]:
        note(
            f"open loop at {rate}/s: {got['sent']} scheduled, {len(scheduled)} accepted, "
            f"{got['abandoned']} abandoned unanswered, {len(evidence)} delivered"
        )
    span = max(evidence.values(), default=got["first_wall"]) - got["first_wall"]
    result: dict[str, Any] = {"offered_per_s": rate, "achieved_per_s": None}
    if latencies:
        result["achieved_per_s"] = round(len(latencies) / span, 1) if span > 0 else None
    for key, share in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99), ("max_ms", 1.0)):
        result[key] = round(_percentile(latencies, share), 1) if latencies else None
    return result


def _windows(done_at: list[float]) -> tuple[float | None, float | None]:
    """Submissions per second over the first and the last tenth of the accepted ones."""
    times = sorted(done_at)
    k = max(1, len(times) // 10)
    if len(times) <= k:
        return None, None
    start_span, end_span = times[k - 1], times[-1] - times[-k - 1]
    return (
        round(k / start_span, 1) if start_span > 0 else None,
        round(k / end_span, 1) if end_span > 0 else None,
    )


def _batch(client: ClientProcess, opts: ApiBenchOptions) -> float | None:
    got = client.run("batch", size=opts.batch_size, batches=opts.batches)
    if "missing" in got:
        note(f"POST /api/v1/messages/batch answered {got['missing']}: no batch endpoint, null")
        return None
    if "error" in got:
        note(f"POST /api/v1/messages/batch answered {got['error']}: {got['body']}")
        return None
    return float(got["accepted"]) / float(got["seconds"])


def _per_message(before: tuple[int, int], after: tuple[int, int]) -> int | None:
    grown, held = after[0] - before[0], after[1] - before[1]
    return round(grown / held) if held > 0 else None


def run_api_bench(opts: ApiBenchOptions) -> dict[str, Any]:
    """The API benchmark; the one JSON object of issue 20."""
    store, schemas = store_for(opts.store)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="secureline-bench-api-") as tmp:
        root = Path(tmp)
        try:
            dirs = build_pair(root, store=store)
            result["store"] = "postgresql" if schemas else "sqlite"
            token = system_token(dirs[SENDER])
            sender, receiver = (
                NodeProcess(SENDER, dirs[SENDER]),
                NodeProcess(RECEIVER, dirs[RECEIVER]),
            )
            try:
                result |= _measure(opts, sender, receiver, token)
            finally:
                sender.stop()
                receiver.stop()
                sender.db.dispose()
                receiver.db.dispose()
        finally:
            for schema in schemas:
                dialect.drop_schema(opts.store, schema)
    line = _line_rate(opts)
    batch = result.pop("batch_rate")
    result["batch"] = (
        None
        if batch is None
        else {
            "size": opts.batch_size,
            "msgs_per_s": round(batch, 1),
            "ratio_to_line": round(batch / line, 3) if line else None,
        }
    )
    return _ordered(result)


def _measure(
    opts: ApiBenchOptions, sender: NodeProcess, receiver: NodeProcess, token: str
) -> dict[str, Any]:
    receiver.start()
    sender.start()
    receiver.wait_ready(60)
    sender.wait_ready(60)
    client = ClientProcess(sender.api_url, token, opts.phase_seconds_max)
    # One message over the line first: the link is up and both processes warm.
    client.run("single", clients=1, messages=1, seconds_max=opts.phase_seconds_max)
    if not sender.wait_answered(60):
        raise RuntimeError("the first message was not delivered in 60 s: is the link up?")
    rss = {"sender_start": sender.rss_mb(), "receiver_start": receiver.rss_mb()}
    sender_before, receiver_before = sender.footprint(), receiver.footprint()

    connections = client.run("connections", requests=opts.requests)
    single = client.run(
        "single", clients=opts.clients, messages=opts.messages, seconds_max=opts.phase_seconds_max
    )
    if single["failed"]:
        note(f"single: {single['failed']} submissions were not accepted")
    batch_rate = _batch(client, opts)
    if not sender.wait_answered(opts.grace_seconds):
        note("the single and batch submissions were not all delivered before the open loop")
    open_loop = [_open_loop(client, sender, rate, opts) for rate in opts.rates]
    sender.wait_answered(opts.grace_seconds)
    bytes_per_message = {
        "sender": _per_message(sender_before, sender.footprint()),
        "receiver": _per_message(receiver_before, receiver.footprint()),
    }
    rss["receiver_end"] = receiver.rss_mb()

    receiver.stop()
    down = client.run(
        "single", clients=opts.clients, messages=opts.queued, seconds_max=opts.phase_seconds_max
    )
    start, end = _windows(down["done_at"])
    rss["sender_end"] = sender.rss_mb()
    return {
        "keepalive_ms_per_request": round(connections["keepalive_ms"], 2),
        "fresh_ms_per_request": round(connections["fresh_ms"], 2),
        "single": {
            "clients": opts.clients,
            "msgs_per_s": round(single["accepted"] / single["seconds"], 1),
        },
        "batch_rate": batch_rate,
        "open_loop": open_loop,
        "peer_down": {"queued": down["accepted"], "msgs_per_s_start": start, "msgs_per_s_end": end},
        "rss_mb": rss,
        "bytes_per_message": bytes_per_message,
    }


def _line_rate(opts: ApiBenchOptions) -> float | None:
    """``bench line`` in this run, with the nodes above stopped (the machine is the same)."""
    if not opts.line_messages:
        return None
    from secureline.cli.bench import run_line_bench

    line = run_line_bench(opts.line_messages, 200)
    note(f"bench line in the same run: {line['msgs_per_s']} msgs/s")
    return float(line["msgs_per_s"])


KEYS = (
    "store",
    "keepalive_ms_per_request",
    "fresh_ms_per_request",
    "single",
    "batch",
    "open_loop",
    "peer_down",
    "rss_mb",
    "bytes_per_message",
)
RSS_KEYS = ("sender_start", "sender_end", "receiver_start", "receiver_end")


def _ordered(result: dict[str, Any]) -> dict[str, Any]:
    """The keys in the issue's order, so that runs compare line by line."""
    ordered = {key: result[key] for key in KEYS}
    ordered["rss_mb"] = {key: result["rss_mb"][key] for key in RSS_KEYS}
    return ordered
