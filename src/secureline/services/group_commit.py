"""Group commit: requests that arrive while a commit runs are committed together in the next.

A national system's submissions arrive one per HTTP request, on many connections at once.
Committed one by one, each pays a write transaction of its own (SQLite: the write lock and an
fsync; PostgreSQL: a commit's WAL flush), and the requests queue behind each other for the
database's write lock. Here each request puts its item in a queue and awaits its own answer;
one drain task on the event loop takes what is waiting (one group, up to ``max_items``) and
runs ``commit`` over it in a worker thread (one transaction), then the next, until nothing
waits. Nothing is answered before the transaction that holds it has committed.

The requests wait on the event loop, not in threads: a request costs no worker thread and no
thread hop; only each commit does (bench/api_cpu.py measured the hops as a large share of a
single submission's CPU).

``commit`` answers every item on its own (``Messaging.submit_batch``: a draft the rules
refuse is that draft's answer, and the others are stored). If ``commit`` raises, the whole
transaction failed and nothing of it was stored: every item of that batch gets the error, as
each would have alone (there is no item-by-item retry, which would multiply the load on a
database that is failing).

This batches only what one worker process received: every worker has its own queue, and the
database, not this queue, decides between workers (each batch is an ordinary transaction,
and the idempotency keys are unique in the store). Nothing here is needed by another worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread

Item = TypeVar("Item")
Result = TypeVar("Result")

#: the most requests one commit takes (the rest wait for the next): a bound on the latency a
#: large batch adds to the requests in it, and on the transaction's size
DEFAULT_MAX_ITEMS = 200


@dataclass(eq=False)
class _Slot(Generic[Item, Result]):
    item: Item
    group: Hashable
    answer: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[Item, Result]):
    """Run ``commit`` over every item waiting, one group at a time.

    ``commit(group, items)`` stores the items of one group (for example one principal's
    drafts) in one transaction and returns one result per item, in order, or raises.
    ``conflicts(a, b)`` says that two items must not share a transaction (two drafts with the
    same idempotency key): the later one waits for the next commit.

    Use it from one event loop (the API server's); ``commit`` runs in a worker thread.
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
        self._waiting: list[_Slot[Item, Result]] = []
        self._drain: asyncio.Task[None] | None = None

    async def submit(self, group: Hashable, item: Item) -> Result:
        """Commit ``item`` with whatever else is waiting; its own result, once durable."""
        slot: _Slot[Item, Result] = _Slot(item, group)
        self._waiting.append(slot)
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._run())
        # Shielded: a request given up on (its client gone) does not cancel the commit its
        # item is in; the answer is simply not sent.
        return await asyncio.shield(slot.answer)

    async def _run(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                results = await anyio.to_thread.run_sync(
                    self._commit, batch[0].group, [s.item for s in batch]
                )
                if len(results) != len(batch):
                    raise RuntimeError(f"commit answered {len(results)} results for {len(batch)}")
            except Exception as exc:  # noqa: BLE001 -- handed to each request, which re-raises it
                for slot in batch:
                    _fail(slot, exc)
                continue
            except BaseException as exc:  # the loop is stopping: no request waits for ever
                for slot in batch + self._waiting:
                    _fail(slot, exc)
                self._waiting.clear()
                raise
            for slot, result in zip(batch, results, strict=True):
                if not slot.answer.done():
                    slot.answer.set_result(result)

    def _take(self) -> list[_Slot[Item, Result]]:
        """The oldest waiting item's group: its oldest items up to the bound, none
        conflicting with an earlier one (so the batch is never empty)."""
        group = self._waiting[0].group
        batch: list[_Slot[Item, Result]] = []
        rest: list[_Slot[Item, Result]] = []
        for slot in self._waiting:
            if (
                len(batch) == self._max_items
                or slot.group != group
                or any(self._conflicts(s.item, slot.item) for s in batch)
            ):
                rest.append(slot)
            else:
                batch.append(slot)
        self._waiting = rest
        return batch


def _fail(slot: _Slot[Item, Result], exc: BaseException) -> None:
    if slot.answer.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        slot.answer.cancel()
        return
    slot.answer.set_exception(exc)
    # marked as retrieved: an answer whose request has gone logs no "never retrieved"
    slot.answer.exception()
