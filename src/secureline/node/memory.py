"""Giving the allocator's free memory back to the system, on a timer.

A node's Python objects do not grow with traffic (docs/architecture.md, "Memory"), but its
resident memory did: glibc's malloc keeps what was freed for reuse, in one arena per thread
that allocated it (the API's thread pool is 40 threads), and returns it to the system only
from the top of the main heap. Measured with ``bench/memory.py --trim``: of a sending node's
241 MB after 10,000 messages, 62 MB was free memory held by the allocator (56 of 297 MB at
50,000). ``malloc_trim(0)`` returns the free pages of every arena; it
takes milliseconds to tens of them (it holds each arena's lock meanwhile), so a running
node calls it every :data:`TRIM_SECONDS`. It gives back what the allocator held only when the
process has few arenas: with glibc's default (8 per core, one per API thread) the RSS after a
trim still grew, 179 -> 241 MB from 10,000 to 50,000 messages; with 2 arenas it was 199, 186,
263 and 211 MB at 10,000, 50,000, 100,000 and 200,000 (docs/performance.md, one run each).
``secureline run`` therefore caps the arenas at :data:`ARENAS` before it starts any thread
(:func:`limit_arenas`).

Elsewhere than glibc (musl, macOS) there is no ``malloc_trim`` and this does nothing.
"""

from __future__ import annotations

import ctypes
import os
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
#: glibc's mallopt parameter for the most arenas (malloc.h's M_ARENA_MAX)
_M_ARENA_MAX = -8
#: arenas a node's process uses: with glibc's default (8 per core) every API thread gets one,
#: and long-lived blocks scattered over many arenas keep their pages from being trimmed
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before the process starts threads. An operator's own
    ``MALLOC_ARENA_MAX`` wins. Whether the cap was set (False off glibc)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether any were (False off glibc)."""
    return bool(_TRIM(0)) if _TRIM is not None else False
