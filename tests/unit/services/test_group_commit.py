"""The group commit: concurrent requests share commits, and each keeps its own answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from secureline.services.group_commit import GroupCommit

THREADS = 24


class Recorder:
    """A commit that takes a while (as a transaction does) and remembers each batch."""

    def __init__(self, bad: frozenset[int] = frozenset()) -> None:
        self.batches: list[tuple[Hashable, list[int]]] = []
        self.bad = bad
        self._lock = threading.Lock()

    def __call__(self, group: Hashable, items: Sequence[int]) -> list[int]:
        with self._lock:
            self.batches.append((group, list(items)))
        time.sleep(0.01)
        if self.bad & set(items):
            raise ValueError(f"bad item among {sorted(items)}")
        return [i * 2 for i in items]


def _flood(combiner: GroupCommit[int, int], items: list[int], group: object = "g") -> list[object]:
    def one(i: int) -> object:
        try:
            return combiner.submit(group, i)
        except ValueError as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, items))


def test_concurrent_items_share_commits_and_each_gets_its_own_result() -> None:
    commit = Recorder()
    answers = _flood(GroupCommit(commit), list(range(200)))
    assert answers == [i * 2 for i in range(200)]
    assert sorted(i for _, batch in commit.batches for i in batch) == list(range(200))
    assert len(commit.batches) < 100, "no two requests ever shared a commit"


def test_one_bad_item_is_refused_alone_and_the_others_are_committed() -> None:
    commit = Recorder(bad=frozenset({7}))
    answers = _flood(GroupCommit(commit), list(range(60)))
    assert isinstance(answers[7], ValueError)
    assert [a for i, a in enumerate(answers) if i != 7] == [i * 2 for i in range(60) if i != 7]


def test_conflicting_items_never_share_a_commit() -> None:
    commit = Recorder()
    combiner = GroupCommit(commit, conflicts=lambda a, b: a % 10 == b % 10)
    answers = _flood(combiner, list(range(100)))
    assert answers == [i * 2 for i in range(100)]
    for _, batch in commit.batches:
        assert len({i % 10 for i in batch}) == len(batch), batch


def test_groups_are_never_mixed_and_batches_are_bounded() -> None:
    commit = Recorder()
    combiner: GroupCommit[int, int] = GroupCommit(commit, max_items=5)

    def one(i: int) -> int:
        return combiner.submit(i % 3, i)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(one, range(90)))
    assert answers == [i * 2 for i in range(90)]
    for group, batch in commit.batches:
        assert {i % 3 for i in batch} == {group}
        assert len(batch) <= 5


def test_a_stopping_process_leaves_no_request_waiting() -> None:
    class Stop(BaseException):
        pass

    entered = threading.Event()

    def commit(group: Hashable, items: Sequence[int]) -> list[int]:
        entered.set()
        time.sleep(0.05)
        raise Stop

    combiner: GroupCommit[int, int] = GroupCommit(commit)
    outcomes: list[str] = []

    def one(i: int) -> None:
        try:
            combiner.submit("g", i)
        except Stop:
            outcomes.append("stopped")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert outcomes == ["stopped"] * 8


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items"):
        GroupCommit(Recorder(), max_items=0)
