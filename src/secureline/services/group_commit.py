"""Group commit: requests that arrive while a commit runs are committed together in the next.

A national system's submissions arrive one per HTTP request, on many connections at once.
Committed one by one, each pays a write transaction of its own (SQLite: the write lock and an
fsync; PostgreSQL: a commit's WAL flush), and the requests queue behind each other for the
database's write lock. Here the first request to arrive leads: it commits what is waiting,
in one call of ``commit`` (one transaction), while later ones wait; when its commit is done it
hands the lead to the oldest waiting request and returns. Nothing is answered before the
transaction that holds it has committed.

This batches only what one worker process received: every worker has its own combiner, and
the database, not this lock, decides between workers (each batch is an ordinary transaction,
and the idempotency keys are unique in the store). Nothing here is needed by another worker.
A batch that fails as a whole (one refused draft refuses the call) is retried one item at a
time, so that each request gets its own answer and no request's fault reaches another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: the most requests one commit takes (the rest wait for the next): a bound on the latency a
#: large batch adds to the requests in it, and on the transaction's size
DEFAULT_MAX_ITEMS = 200


@dataclass(eq=False)
class _Slot(Generic[Item, Result]):
    item: Item
    group: Hashable
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead, not with a result
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Run ``commit`` over every item waiting, one group at a time.

    ``commit(group, items)`` stores the items of one group (for example one principal's
    drafts) in one transaction and returns one result per item, in order, or raises.
    ``conflicts(a, b)`` says that two items must not share a transaction (two drafts with the
    same idempotency key): the later one waits for the next commit.
    """

    def __init__(
        self,
        commit: Callable[[Hashable, Sequence[Item]], Sequence[Result]],
        *,
        max_items: int = DEFAULT_MAX_ITEMS,
        conflicts: Callable[[Item, Item], bool] = lambda a, b: False,
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._commit = commit
        self._max_items = max_items
        self._conflicts = conflicts
        self._lock = threading.Lock()
        self._waiting: list[_Slot[Item, Result]] = []
        self._leading = False

    def submit(self, group: Hashable, item: Item) -> Result:
        """Commit ``item`` with whatever else is waiting; its own result, once durable."""
        slot: _Slot[Item, Result] = _Slot(item, group)
        with self._lock:
            self._waiting.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.done.wait()
            if not slot.lead:
                return _answer(slot)
        self._lead(slot)
        return _answer(slot)

    def _lead(self, mine: _Slot[Item, Result]) -> None:
        # The leader commits batches until its own item is answered, then passes the lead on
        # (also when a commit raised something no item caught: waiting requests never hang).
        try:
            if mine.lead:  # woken to lead: its own item is still waiting
                mine.lead = False
                mine.done.clear()
            while not mine.done.is_set():
                self._run(self._take(mine.group))
        finally:
            with self._lock:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leading = False

    def _take(self, group: Hashable) -> list[_Slot[Item, Result]]:
        """Of ``group``, the oldest waiting items up to the bound, none conflicting with an
        earlier one (the leader's own item is waiting, so the batch is never empty)."""
        with self._lock:
            batch: list[_Slot[Item, Result]] = []
            for slot in self._waiting:
                if len(batch) == self._max_items:
                    break
                if slot.group != group or any(self._conflicts(s.item, slot.item) for s in batch):
                    continue
                batch.append(slot)
            for slot in batch:
                self._waiting.remove(slot)
        return batch

    def _run(self, batch: list[_Slot[Item, Result]]) -> None:
        try:
            results = self._commit(batch[0].group, [s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"commit answered {len(results)} results for {len(batch)}")
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except Exception as exc:  # noqa: BLE001 -- handed to its request, which re-raises it
            if len(batch) > 1:  # one item's fault: each on its own, so that it stays that item's
                for slot in batch:
                    self._run([slot])
                return
            batch[0].error = exc
        except BaseException as exc:  # the process is stopping: no request waits for ever
            for slot in batch:
                slot.error = exc
                slot.done.set()
            raise
        for slot in batch:
            slot.done.set()


def _answer(slot: _Slot[Item, Result]) -> Result:
    if slot.error is not None:
        raise slot.error
    return slot.result  # type: ignore[return-value]  # set with done, error or not
