"""The group commit: concurrent requests share commits, and each keeps its own answer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Hashable, Sequence

import pytest

from secureline.services.group_commit import GroupCommit

REQUESTS_AT_ONCE = 24


class Recorder:
    """A commit that takes a while (as a transaction does), answers each item on its own (an
    odd item in ``refused`` is answered with a refusal, as the batch submission answers a
    refused draft) and remembers each batch and the thread it ran in."""

    def __init__(self, failing: frozenset[int] = frozenset()) -> None:
        self.batches: list[tuple[Hashable, list[int]]] = []
        self.threads: set[int] = set()
        self.failing = failing
        self._lock = threading.Lock()

    def __call__(self, group: Hashable, items: Sequence[int]) -> list[int | str]:
        with self._lock:
            self.batches.append((group, list(items)))
            self.threads.add(threading.get_ident())
        time.sleep(0.01)
        if self.failing & set(items):  # the transaction itself failed: nothing stored
            raise ValueError(f"the store failed under {sorted(items)}")
        return [f"refused {i}" if i % 7 == 3 else i * 2 for i in items]


def _flood(
    combiner: GroupCommit[int, int | str], items: list[int], group: object = "g"
) -> list[object]:
    async def one(i: int) -> object:
        await asyncio.sleep(0.001 * (i % REQUESTS_AT_ONCE))  # arriving while commits run
        try:
            return await combiner.submit(group, i)
        except ValueError as exc:
            return exc

    async def run() -> list[object]:
        return list(await asyncio.gather(*(one(i) for i in items)))

    return asyncio.run(run())


def _expected(i: int) -> int | str:
    return f"refused {i}" if i % 7 == 3 else i * 2


def test_concurrent_items_share_commits_and_each_gets_its_own_result() -> None:
    commit = Recorder()
    answers = _flood(GroupCommit(commit), list(range(200)))
    assert answers == [_expected(i) for i in range(200)]
    assert sorted(i for _, batch in commit.batches for i in batch) == list(range(200))
    assert len(commit.batches) < 100, "no two requests ever shared a commit"
    assert threading.get_ident() not in commit.threads, "a commit ran on the event loop"


def test_a_refused_item_shares_its_commit_and_the_others_keep_their_answers() -> None:
    commit = Recorder()
    answers = _flood(GroupCommit(commit), list(range(60)))
    assert answers == [_expected(i) for i in range(60)]
    # each refused item was answered from a commit it shared: no item-by-item retry
    for refused in (i for i in range(60) if i % 7 == 3):
        (batch,) = [b for _, b in commit.batches if refused in b]
        assert len(batch) > 1 or len(commit.batches) == 1, (refused, commit.batches)
    assert sum(len(b) for _, b in commit.batches) == 60, "an item was committed twice"


def test_a_failed_transaction_is_the_answer_of_its_items_only() -> None:
    commit = Recorder(failing=frozenset({7}))
    answers = _flood(GroupCommit(commit), list(range(60)))
    (failed,) = [b for _, b in commit.batches if 7 in b]
    for i, answer in enumerate(answers):
        if i in failed:
            assert isinstance(answer, ValueError), (i, answer)
        else:
            assert answer == _expected(i), (i, answer)


def test_conflicting_items_never_share_a_commit() -> None:
    commit = Recorder()
    combiner = GroupCommit(commit, conflicts=lambda a, b: a % 10 == b % 10)
    answers = _flood(combiner, list(range(100)))
    assert answers == [_expected(i) for i in range(100)]
    for _, batch in commit.batches:
        assert len({i % 10 for i in batch}) == len(batch), batch


def test_groups_are_never_mixed_and_batches_are_bounded() -> None:
    commit = Recorder()
    combiner: GroupCommit[int, int | str] = GroupCommit(commit, max_items=5)

    async def run() -> list[int | str]:
        return list(await asyncio.gather(*(combiner.submit(i % 3, i) for i in range(90))))

    assert asyncio.run(run()) == [_expected(i) for i in range(90)]
    for group, batch in commit.batches:
        assert {i % 3 for i in batch} == {group}
        assert len(batch) <= 5


def test_a_request_given_up_on_leaves_its_commit_and_the_others_alone() -> None:
    commit = Recorder()
    combiner: GroupCommit[int, int | str] = GroupCommit(commit)

    async def run() -> list[int | str]:
        first = asyncio.ensure_future(combiner.submit("g", 0))
        others = [asyncio.ensure_future(combiner.submit("g", i)) for i in range(1, 10)]
        await asyncio.sleep(0)
        first.cancel()  # its client went away: the commit it is in goes on
        return list(await asyncio.gather(*others))

    assert asyncio.run(run()) == [_expected(i) for i in range(1, 10)]
    assert sorted(i for _, batch in commit.batches for i in batch) == list(range(10))


def test_a_stopping_loop_leaves_no_request_waiting() -> None:
    class Stop(BaseException):
        pass

    def commit(group: Hashable, items: Sequence[int]) -> list[int]:
        time.sleep(0.02)
        raise Stop

    combiner: GroupCommit[int, int] = GroupCommit(commit)

    async def run() -> None:
        await asyncio.gather(*(combiner.submit("g", i) for i in range(8)))

    # the drain re-raises what stops the process, after failing every waiting request
    with pytest.raises(Stop):
        asyncio.run(asyncio.wait_for(run(), 10))


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items"):
        GroupCommit(Recorder(), max_items=0)
