"""Kept-alive connections cost no more than fresh ones, on the API and on the line.

A response written in two segments (uvicorn writes the head, then the body) on a socket with
Nagle's algorithm on waits for the client's delayed acknowledgement of the first (about 40 ms
on Linux) whenever the connection is past its first exchanges: every request on a kept-alive
connection stalled, a fresh connection did not. The comparison is made in the same run, so
the test holds on a slow machine and fails by a wide margin when the stall is back.
"""

from __future__ import annotations

import http.client
import itertools
import ssl
import time
from collections.abc import Callable

import orjson

from tests.integration.support import Federation, identity_context

REQUESTS = 20
# Fresh connections pay a TCP (and a TLS) handshake each, so they are a generous yardstick;
# the margin absorbs scheduling noise on a shared machine (the stall costs 20 x ~40 ms).
MARGIN_SECONDS = 0.25


Connect = Callable[[], http.client.HTTPConnection]


def _timed(make: Connect, path: str, headers: dict[str, str], reuse: bool) -> float:
    start = time.perf_counter()
    conn = make() if reuse else None
    for _ in range(REQUESTS):
        c = conn or make()
        c.request("GET", path, headers=headers)
        response = c.getresponse()
        response.read()
        assert response.status in (200, 404), response.status
        if conn is None:
            c.close()
    if conn is not None:
        conn.close()
    return time.perf_counter() - start


def _compare(make: Connect, path: str, headers: dict[str, str]) -> tuple[float, float]:
    _timed(make, path, headers, reuse=True)  # warm up (imports, caches, first handshake)
    fresh = _timed(make, path, headers, reuse=False)
    kept = _timed(make, path, headers, reuse=True)
    return kept, fresh


def test_the_api_answers_kept_alive_requests_without_a_stall(pair: Federation) -> None:
    node = pair["interpol"]
    node.accounts.add_user("test", "alice", "cc", "officer", "correct horse battery")
    token = node.accounts.create_token("test", "alice")
    kept, fresh = _compare(
        lambda: http.client.HTTPConnection("127.0.0.1", node.api_port, timeout=10),
        "/api/v1/inbox",
        {"Authorization": f"Bearer {token}"},
    )
    assert kept <= fresh + MARGIN_SECONDS, f"kept-alive {kept:.3f} s, fresh {fresh:.3f} s"


def test_the_line_answers_kept_alive_requests_without_a_stall(pair: Federation) -> None:
    """Authenticated PUTs over mutual TLS, as europol's sender makes them to interpol.

    On the line the stall hit fresh connections too (the TLS handshake uses up the start of
    a connection, where acknowledgements are not delayed), so the yardstick here is also the
    same transaction received in process: the socket may add only a small margin to it."""
    interpol, europol = pair["interpol"], pair["europol"]
    layout = pair.layout("europol")
    context: ssl.SSLContext = identity_context(
        pair.layout("interpol").ca_certificate.read_bytes(),
        layout.tls_certificate,
        layout.tls_key,
    )
    body = orjson.dumps({"v": 1, "envelopes": [], "evidence": []})
    headers = {
        "content-type": "application/json",
        "secureline-agreement": europol.directory.agreement_digest("interpol") or "",
    }
    txn_ids = (f"t{n:040d}" for n in itertools.count())

    def push(conn: http.client.HTTPConnection) -> None:
        conn.request("PUT", f"/line/v1/transactions/{next(txn_ids)}", body, headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPSConnection(
            "127.0.0.1", interpol.line_port, context=context, timeout=10
        )

    def timed(reuse: bool) -> float:
        start = time.perf_counter()
        kept = connect() if reuse else None
        for _ in range(REQUESTS):
            conn = kept or connect()
            push(conn)
            if kept is None:
                conn.close()
        if kept is not None:
            kept.close()
        return time.perf_counter() - start

    def in_process() -> float:
        start = time.perf_counter()
        for _ in range(REQUESTS):
            interpol.inbox.receive("europol", next(txn_ids), body, headers["secureline-agreement"])
        return time.perf_counter() - start

    timed(reuse=True)  # warm up
    fresh, kept, local = timed(reuse=False), timed(reuse=True), in_process()
    assert kept <= fresh + MARGIN_SECONDS, f"kept-alive {kept:.3f} s, fresh {fresh:.3f} s"
    assert kept <= local + MARGIN_SECONDS, f"kept-alive {kept:.3f} s, in process {local:.3f} s"
