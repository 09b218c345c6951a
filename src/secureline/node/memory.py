"""Giving the allocator's free memory back to the system, on a timer.

A node's Python objects do not grow with traffic (docs/architecture.md, "Memory"), but its
resident memory did: glibc's malloc keeps what was freed for reuse, in one arena per thread
that allocated it (the API's thread pool is 40 threads), and returns it to the system only
from the top of the main heap. Measured with ``bench/memory.py --trim``: of a sending node's
241 MB after 10,000 messages, 62 MB was free memory held by the allocator (56 of 297 MB at
50,000). ``malloc_trim(0)`` returns the free pages of every arena; it
takes milliseconds to tens of them (it holds each arena's lock meanwhile), so a running
node calls it every :data:`TRIM_SECONDS`.

Elsewhere than glibc (musl, macOS) there is no ``malloc_trim`` and this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

#: how often a running node returns its allocator's free memory
TRIM_SECONDS = 30.0


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes, function.restype = [ctypes.c_size_t], ctypes.c_int
    return function


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether any were (False off glibc)."""
    return bool(_TRIM(0)) if _TRIM is not None else False
