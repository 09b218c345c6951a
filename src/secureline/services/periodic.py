"""A job a running node repeats on a timer (the retention review, the audit checkpoint)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``job`` ``first_after`` seconds after :meth:`start`, then every ``interval``
    seconds, in a thread of its own, until :meth:`stop`. A job that raises is logged and
    runs again at the next tick: a timer must not die of one bad run."""

    def __init__(
        self, name: str, interval: float, job: Callable[[], object], first_after: float
    ) -> None:
        if interval <= 0 or first_after < 0:
            raise ValueError(f"{name}: needs a positive interval and a first delay of 0 or more")
        self._name = name
        self._interval = interval
        self._first_after = first_after
        self._job = job
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        delay = self._first_after
        while not self._stopping.wait(delay):
            try:
                self._job()
            except Exception:  # the job runs again at the next tick
                log.exception("%s failed; trying again in %s s", self._name, self._interval)
            delay = self._interval
