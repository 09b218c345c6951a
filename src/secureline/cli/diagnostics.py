"""Diagnostics for memory, off unless asked for: ``SECURELINE_TRACEMALLOC=PREFIX``.

With it set, ``secureline run`` traces Python's allocations from start-up (``tracemalloc``,
a few frames each; it slows the node and costs memory, so it is for a measuring run only,
never production) and writes a snapshot to ``PREFIX.N.snapshot`` (N = 1, 2, ...) each time
the process receives ``SIGUSR1``. ``bench/memory.py --tracemalloc`` takes one at every
checkpoint and prints what grew between the first and the last.
"""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType

from secureline.node.memory import release_free_memory

TRACEMALLOC_ENV = "SECURELINE_TRACEMALLOC"
#: frames kept per allocation: enough to name the caller of a library's allocation
TRACE_FRAMES = 4


def trim_on_sigusr2() -> None:
    """Answer SIGUSR2 with glibc's ``malloc_trim(0)`` at once: what RSS falls by is memory the
    allocator held free (``bench/memory.py --trim`` measures it)."""
    signal.signal(signal.SIGUSR2, lambda _signum, _frame: release_free_memory())


def trace_memory_from_env() -> Path | None:
    """Start tracing and answer SIGUSR1 with a snapshot if the variable is set; its prefix."""
    prefix = os.environ.get(TRACEMALLOC_ENV)
    if not prefix:
        return None
    tracemalloc.start(TRACE_FRAMES)
    taken = [0]

    def dump(_signum: int, _frame: FrameType | None) -> None:
        taken[0] += 1
        tracemalloc.take_snapshot().dump(f"{prefix}.{taken[0]}.snapshot")

    signal.signal(signal.SIGUSR1, dump)
    return Path(prefix)
