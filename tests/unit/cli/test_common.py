"""What a long-running node does to its memory once it has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from secureline.cli.common import GC_YOUNG_THRESHOLD, settle_memory


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()  # so that what the test sees frozen is what settle_memory froze
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settle_memory_freezes_start_up_objects_and_collects_young_ones_less_often() -> None:
    built_at_start_up = [object() for _ in range(10)]
    assert gc.get_freeze_count() == 0
    settle_memory()
    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700  # the interpreter's default
    assert gc.isenabled()  # cycles are still collected
