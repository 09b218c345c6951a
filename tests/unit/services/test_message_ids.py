"""Message ids: valid everywhere, unique, and in creation order (the stores append)."""

from __future__ import annotations

import time

from secureline.domain.message import MESSAGE_ID
from secureline.services.submission import new_message_id


def test_ids_are_valid_unique_and_keep_their_random_part() -> None:
    ids = [new_message_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(MESSAGE_ID.fullmatch(i) and len(i) == 28 for i in ids)
    assert len({i[-12:] for i in ids}) == len(ids)  # 48 random bits each


def test_an_id_made_later_sorts_later() -> None:
    earlier = [new_message_id() for _ in range(100)]
    time.sleep(0.002)
    later = [new_message_id() for _ in range(100)]
    assert max(earlier) < min(later)


def test_the_time_in_an_id_is_its_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    made = int(new_message_id()[4:16], 16)
    assert before <= made <= time.time_ns() // 1_000_000
