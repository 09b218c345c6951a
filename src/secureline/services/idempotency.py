"""Idempotent submission: the same key from the same user returns the first result.

A national system whose answer was lost (the node killed between commit and answer, a broken
connection) retries with the same ``Idempotency-Key`` and gets the message it already created
instead of a second one. The key is stored in the transaction that stores the message, so a
key exists exactly when its message does; the database's primary key decides between two
workers taking the same retry at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from secureline.domain.message import Draft
from secureline.services.errors import Conflict, InvalidInput
from secureline.store import idempotency as key_store
from secureline.store.database import Database


@dataclass(frozen=True)
class Submitted:
    """What a submission answered, kept to answer its retries the same way."""

    id: str
    destinations: tuple[str, ...]
    held_for_review: bool


def check_key(key: str, field: str = "Idempotency-Key") -> str:
    if not 1 <= len(key) <= key_store.KEY_MAX or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            field, f"must be 1 to {key_store.KEY_MAX} printable ASCII characters", code="invalid"
        )
    return key


def request_digest(draft: dict[str, Any] | Draft) -> str:
    """The SHA-256 of what was asked, in one spelling (keys sorted), to tell a retry from a
    different request reusing a key."""
    data = draft.model_dump(mode="json") if isinstance(draft, Draft) else draft
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Replay:
    """The keys of one submission: which drafts were already stored under their key (and what
    they answered), and the rows to write for the others.

    A key stored for a different request is a Conflict; ``lenient`` (a batch, whose drafts
    are answered one by one) keeps it in ``reused`` for that draft instead of raising."""

    def __init__(
        self,
        db: Database,
        principal: str,
        drafts: Sequence[dict[str, Any] | Draft],
        keys: Sequence[str | None],
        *,
        lenient: bool = False,
    ) -> None:
        if len(keys) != len(drafts):
            raise InvalidInput("keys", "one idempotency key (or none) per draft")
        self._principal = principal
        seen: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key is None:
                continue
            check_key(key)
            if key in seen:
                raise InvalidInput(
                    f"[{index}].idempotency_key",
                    f"the same key as draft {seen[key]}: each draft needs its own",
                    code="duplicate_idempotency_key",
                )
            seen[key] = index
        self._keys = list(keys)
        self._digests = [request_digest(d) if k else "" for d, k in zip(drafts, keys, strict=True)]
        stored = key_store.lookup(db, principal, list(seen))
        self.answered: dict[int, Submitted] = {}
        self.reused: dict[int, Conflict] = {}
        for index, key in enumerate(self._keys):
            row = stored.get(key) if key else None
            if row is None:
                continue
            if row.request_sha256 != self._digests[index]:
                conflict = Conflict(
                    f"idempotency key {key!r} was used for a different request",
                    code="idempotency_key_reused",
                )
                if not lenient:
                    raise conflict
                self.reused[index] = conflict
                continue
            first = orjson.loads(row.result_json)
            self.answered[index] = Submitted(
                first["id"], tuple(first["destinations"]), first["held_for_review"]
            )
        done = self.answered.keys() | self.reused.keys()
        self.fresh = [i for i in range(len(self._keys)) if i not in done]

    def rows(
        self, results: Iterable[tuple[int, Submitted]], now: datetime
    ) -> list[key_store.KeyRow]:
        """The key rows for fresh drafts' results, each with its draft's index."""
        rows = []
        for index, result in results:
            key = self._keys[index]
            if key is not None:
                result_json = orjson.dumps(
                    {
                        "id": result.id,
                        "destinations": list(result.destinations),
                        "held_for_review": result.held_for_review,
                    }
                ).decode()
                rows.append(
                    key_store.KeyRow(self._principal, key, self._digests[index], result_json, now)
                )
        return rows

    def merge(self, results: Sequence[Submitted]) -> list[Submitted]:
        """Every draft's result in the order given: the stored ones and the new ones."""
        fresh = iter(results)
        return [self.answered.get(i) or next(fresh) for i in range(len(self._keys))]
