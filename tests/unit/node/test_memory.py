"""A node returns its allocator's free memory to the system (node/memory.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from secureline.node import memory


def _rss_kib() -> int:
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


@pytest.mark.skipif(memory._TRIM is None, reason="malloc_trim is glibc's")
def test_freed_memory_between_live_blocks_goes_back_to_the_system() -> None:
    # Blocks above pymalloc's 512 bytes come from malloc; keeping one in 64 leaves pages that
    # are free but below the heap's top, which glibc keeps unless it is trimmed.
    blocks = [bytearray(1024) for _ in range(64_000)]
    kept = blocks[::64]
    del blocks
    before = _rss_kib()
    assert memory.release_free_memory()
    assert before - _rss_kib() > 20_000, "less than 20 MiB of the ~60 MiB freed came back"
    assert len(kept) == 1_000


@pytest.mark.skipif(memory._TRIM is None, reason="mallopt's M_ARENA_MAX is glibc's")
def test_the_arena_cap_is_set_unless_the_operator_chose_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_arenas()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not memory.limit_arenas()
