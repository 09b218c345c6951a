"""The node's two servers (the line and the API port) on one event loop in a thread of their
own: binding, starting, and a stop that never waits on a peer that stays silent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass

import uvicorn
import uvloop

from secureline.node.errors import NodeError

log = logging.getLogger(__name__)

# How long a stopping server lets open connections finish before it cuts them. A peer that
# holds an idle keep-alive TLS connection never answers the close_notify that a graceful
# close waits for (asyncio waits up to 30 s for it), so the wait must be bounded.
GRACEFUL_SHUTDOWN_SECONDS = 2
IDLE_GRACE_SECONDS = 0.3  # how long requests under way may finish before idle links are cut


@dataclass
class Servers:
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    servers: list[uvicorn.Server]
    line_port: int
    api_port: int


def serve_in_thread(
    name: str, line: tuple[uvicorn.Server, socket.socket], api: tuple[uvicorn.Server, socket.socket]
) -> Servers:
    """Run both servers on a new loop in a daemon thread; returns once they listen."""
    # uvloop: the servers' loop costs less CPU per request than asyncio's own, as
    # bench/api_cpu.py measured it (docs/performance.md)
    loop = uvloop.new_event_loop()
    started = threading.Event()
    pairs = (line, api)

    async def serve() -> None:
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in pairs]
        started.set()
        try:
            await asyncio.gather(*tasks)
        finally:
            # Connections still open after the graceful shutdown (a peer that never
            # answered close_notify) are cut, so that the loop closes with no transport.
            for server, _ in pairs:
                abort_connections(server)
            await asyncio.sleep(0.05)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.close()

    thread = threading.Thread(target=run, name=f"servers-{name}", daemon=True)
    thread.start()
    started.wait(10)
    for server, _ in pairs:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.01)
    return Servers(
        thread, loop, [line[0], api[0]], line[1].getsockname()[1], api[1].getsockname()[1]
    )


def stop_servers(servers: Servers) -> None:
    for server in servers.servers:
        server.should_exit = True
    # A peer's idle keep-alive connection would hold the stop for the whole graceful timeout:
    # closing a TLS transport waits for the peer's close_notify. Requests under way get a
    # moment to finish; then the idle connections are cut (a peer reconnects when it needs to).
    servers.thread.join(timeout=IDLE_GRACE_SECONDS)
    if servers.thread.is_alive() and not servers.loop.is_closed():

        def cut_idle() -> None:
            for server in servers.servers:
                abort_connections(server, idle_only=True)

        with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
            servers.loop.call_soon_threadsafe(cut_idle)
    servers.thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 3)
    if servers.thread.is_alive() and not servers.loop.is_closed():
        # Should not happen (uvicorn gives up on connections after the graceful timeout);
        # if it does, force the exit and cut the connections from the loop's own thread.
        def force() -> None:
            for server in servers.servers:
                server.force_exit = True
                abort_connections(server)

        with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
            servers.loop.call_soon_threadsafe(force)
        servers.thread.join(timeout=5)
    if servers.thread.is_alive():
        log.warning("%s: the server thread did not stop", servers.thread.name)


def abort_connections(server: uvicorn.Server, *, idle_only: bool = False) -> None:
    for connection in list(server.server_state.connections):
        cycle = getattr(connection, "cycle", None)
        if idle_only and cycle is not None and not cycle.response_complete:
            continue  # a request under way: the graceful timeout is its limit
        transport = getattr(connection, "transport", None)
        if transport is not None:  # abort, even while closing: it does not wait for the peer
            transport.abort()


def bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio turns Nagle's algorithm off (TCP_NODELAY) on every
    # connection it accepts, but recognises a TCP socket by its protocol number, which a bare
    # socket(AF_INET, SOCK_STREAM) leaves at 0 (and accepted sockets inherit). With Nagle on,
    # uvicorn's response (head and body written apart) waited for the client's delayed
    # acknowledgement, ~40 ms per request on a kept-alive connection (tests/integration/
    # test_keepalive.py). TCP_NODELAY on the listener too: Linux copies it to accepted sockets.
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise NodeError("listen", f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
