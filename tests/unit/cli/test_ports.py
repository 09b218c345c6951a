"""Loopback ports for federations: below the ephemeral range, and never the same in two
processes running side by side (the two suites of ``make test``)."""

from __future__ import annotations

import multiprocessing
import socket
from multiprocessing.synchronize import Barrier
from pathlib import Path

from secureline.cli.ports import free_port


def _ports(count: int, out: multiprocessing.Queue[list[int]], both: Barrier) -> None:
    out.put([free_port() for _ in range(count)])
    both.wait(timeout=60)  # alive until the other has chosen too, as two suites side by side


def test_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    for port in ports:
        assert port < low
        with socket.create_server(("127.0.0.1", port)):
            pass


def test_a_port_in_use_is_skipped() -> None:
    first = free_port()
    with socket.create_server(("127.0.0.1", first + 1)):
        # The next port of the slice is held: the allocator passes over it.
        assert free_port() != first + 1


def test_two_processes_never_share_a_port() -> None:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[int]] = context.Queue()
    both = context.Barrier(2)
    workers = [context.Process(target=_ports, args=(50, out, both)) for _ in range(2)]
    for worker in workers:
        worker.start()
    a, b = out.get(timeout=60), out.get(timeout=60)
    for worker in workers:
        worker.join(timeout=60)
    assert not set(a) & set(b)
