"""The client side of ``secureline bench api``, run in a process of its own.

``python -m secureline.cli.bench_api_client`` reads one job (JSON) on stdin, runs it against a
node's API and prints one JSON object on stdout. It is a separate process so that its CPU is
not the node's, and so that it reaches the API only as a national system would: over HTTP.

The HTTP client is httpx (already a dependency of the project): it keeps connections alive
by default, has a synchronous client for the one-thread-per-client phases and an asynchronous
one for the paced (open-loop) phase, and its pool limits are explicit. Bodies are serialised
before the clock starts, so the client spends its time on HTTP, not on JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

import httpx

from secureline.cli.samples import BENCH_POOL, bench_drafts

JSON_HEADERS = {"content-type": "application/json"}
#: A request that takes longer than this is abandoned: the benchmark reports, it never hangs.
REQUEST_TIMEOUT_S = 30.0


def drafts(count: int, seed: int) -> list[dict[str, Any]]:
    return bench_drafts(count, seed, f"a{seed}-")


def bodies(count: int, seed: int) -> list[bytes]:
    """``count`` request bodies, drawn in turn from at most
    :data:`~secureline.cli.samples.BENCH_POOL` distinct ones."""
    pool = [json.dumps(d).encode() for d in drafts(min(count, BENCH_POOL), seed)]
    return [pool[i % len(pool)] for i in range(count)]


def _client(job: dict[str, Any], **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        base_url=job["url"],
        headers={"authorization": f"Bearer {job['token']}"},
        timeout=REQUEST_TIMEOUT_S,
        **kwargs,
    )


def connections(job: dict[str, Any]) -> dict[str, Any]:
    """N sequential ``GET /api/v1/inbox`` on one kept-alive connection, then N on fresh ones
    (a pool that keeps nothing opens a connection per request)."""
    n = int(job["requests"])
    result: dict[str, Any] = {}
    for name, limits in (
        ("keepalive_ms", httpx.Limits(max_connections=1)),
        ("fresh_ms", httpx.Limits(max_connections=1, max_keepalive_connections=0)),
    ):
        with _client(job, limits=limits) as client:
            client.get("/api/v1/inbox").raise_for_status()  # not timed: the first connection
            start = time.perf_counter()
            for _ in range(n):
                client.get("/api/v1/inbox").raise_for_status()
            result[name] = (time.perf_counter() - start) * 1000 / n
    return result


def single(job: dict[str, Any]) -> dict[str, Any]:
    """``clients`` threads, each with its own kept-alive connection, share ``messages``
    single submissions; each accepted one's completion time (seconds from the start)."""
    clients, payloads = int(job["clients"]), bodies(int(job["messages"]), int(job["seed"]))
    deadline = time.monotonic() + float(job["seconds_max"])
    done: list[float] = []
    refused: list[int] = []
    lock = threading.Lock()

    def work(client: httpx.Client, share: list[bytes], start: float) -> None:
        mine: list[float] = []
        failures = 0
        for body in share:
            if time.monotonic() > deadline:
                break
            try:
                answer = client.post("/api/v1/messages", content=body, headers=JSON_HEADERS)
            except httpx.HTTPError:
                failures += 1
                continue
            if answer.status_code == 201:
                mine.append(time.perf_counter() - start)
            else:
                failures += 1
        with lock:
            done.extend(mine)
            refused.append(failures)

    # Made before the clock starts: each builds a TLS context (tens of milliseconds of the
    # client's CPU) even for plain HTTP, which is not the node's time.
    sessions = [_client(job) for _ in range(clients)]
    start = time.perf_counter()
    threads = [
        threading.Thread(target=work, args=(sessions[i], payloads[i::clients], start))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.close()
    seconds = time.perf_counter() - start
    return {"accepted": len(done), "failed": sum(refused), "seconds": seconds, "done_at": done}


def batch(job: dict[str, Any]) -> dict[str, Any]:
    """``batches`` sequential ``POST /api/v1/messages/batch`` of ``size`` drafts each, on one
    kept-alive connection. A node without the endpoint (404/405) gives ``missing``."""
    size, count = int(job["size"]), int(job["batches"])
    payloads = [json.dumps(drafts(size, int(job["seed"]) + i)).encode() for i in range(count)]
    accepted = 0
    with _client(job) as client:
        start = time.perf_counter()
        for body in payloads:
            answer = client.post("/api/v1/messages/batch", content=body, headers=JSON_HEADERS)
            if answer.status_code in (404, 405):
                return {"missing": answer.status_code}
            if answer.status_code != 200:
                return {"error": answer.status_code, "body": answer.text[:500]}
            results = answer.json()["results"]
            accepted += sum(1 for r in results if r["status"] == "accepted")
        seconds = time.perf_counter() - start
    return {"accepted": accepted, "seconds": seconds}


def open_loop(job: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_open_loop(job))


async def _open_loop(job: dict[str, Any]) -> dict[str, Any]:
    """Send at ``rate`` for ``seconds`` on schedule, whether or not earlier requests have been
    answered; each accepted message's id with its scheduled moment (wall clock, the clock
    the node's store records its evidence with).

    ``connections`` workers take the requests in scheduled order, each on its
    kept-alive connection: a request whose moment has come waits for a free connection and
    that wait counts (as a load balancer's queue would). The queue is ours, not the pool's:
    httpx's pool scans every waiting request on each assignment, which at thousands of
    waiting requests costs the client more CPU than the node spends. Requests not started
    ``grace`` seconds after the last scheduled moment are abandoned, and so are those still
    unanswered then."""
    rate, seconds, grace = float(job["rate"]), float(job["seconds"]), float(job["grace"])
    connections = int(job["connections"])
    payloads = bodies(max(1, int(rate * seconds)), int(job["seed"]))
    scheduled: dict[str, float] = {}
    answered = [0]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    t0, wall0 = time.monotonic(), time.time()
    deadline = t0 + len(payloads) / rate + grace
    turns = iter(range(len(payloads)))  # shared by the workers: one event loop, no lock
    async with httpx.AsyncClient(
        base_url=job["url"],
        headers={"authorization": f"Bearer {job['token']}"},
        timeout=REQUEST_TIMEOUT_S,
        limits=limits,
    ) as client:

        async def worker() -> None:
            for i in turns:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if time.monotonic() > deadline:
                    return
                try:
                    answer = await client.post(
                        "/api/v1/messages", content=payloads[i], headers=JSON_HEADERS
                    )
                except httpx.HTTPError:
                    continue
                answered[0] += 1
                if answer.status_code == 201:
                    scheduled[answer.json()["id"]] = wall0 + i / rate

        workers = [asyncio.create_task(worker()) for _ in range(connections)]
        _, pending = await asyncio.wait(workers, timeout=deadline - time.monotonic())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return {
        "sent": len(payloads),
        "abandoned": len(payloads) - answered[0],
        "first_wall": wall0,
        "scheduled": scheduled,
    }


PHASES = {"connections": connections, "single": single, "batch": batch, "open_loop": open_loop}


def main() -> None:
    job = json.loads(sys.stdin.read())
    print(json.dumps(PHASES[job["phase"]](job)))


if __name__ == "__main__":
    main()
