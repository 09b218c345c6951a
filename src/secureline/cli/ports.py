"""Ports for the nodes of a loopback federation (demo, benchmarks, tests).

A federation's peer files name each node's ports before any node listens, so a port is chosen,
released and bound again later. A port from the kernel's ephemeral range can be taken in that
gap by any outgoing connection on the machine, and two test suites running side by side (the
SQLite and PostgreSQL runs of ``make test``, each with several workers) pick from the same
range: CI once failed on exactly that ("Address already in use"). So ports come from below the
ephemeral range, and each process first claims a slice of it of its own: the claim is an
exclusive ``flock`` on a file, which the kernel drops when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import threading
from pathlib import Path

_FIRST = 20_000
_SLICE = 400
_SLICES = 30  # 20000-31999, below Linux's default ephemeral range (32768-60999)
_CLAIMS = Path(tempfile.gettempdir()) / "secureline-port-slices"


class _Slice:
    """This process's claim: its slice and the next port to try in it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # A raw descriptor, not a file object: it is held until the process ends, and a file
        # object left open that long makes the interpreter warn at exit (ResourceWarning).
        self.claim: int | None = None
        self.first = 0
        self.pid = 0
        self.next = 0

    def port(self) -> int:
        with self.lock:
            if self.claim is None or self.pid != os.getpid():  # first use, or after a fork
                self._take()
            for _ in range(_SLICE):
                port = self.first + self.next % _SLICE
                self.next += 1
                if _bindable(port):
                    return port
        return _ephemeral()  # every port of the slice busy: fall back to the kernel's choice

    def _take(self) -> None:
        _CLAIMS.mkdir(mode=0o777, parents=True, exist_ok=True)
        for index in range(_SLICES):
            handle = os.open(_CLAIMS / f"slice-{index}", os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(handle)
                continue
            self.claim, self.pid, self.next = handle, os.getpid(), 0
            self.first = _FIRST + index * _SLICE
            return
        raise OSError("every port slice is claimed by another process")


_this_process = _Slice()


def free_port() -> int:
    """A loopback port free now, that no other process using this function hands out."""
    return _this_process.port()


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _ephemeral() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
