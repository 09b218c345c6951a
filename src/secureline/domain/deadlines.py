"""Request deadlines from EU Directive 2023/977: 8 hours, 3 calendar days, 7 calendar days."""

from __future__ import annotations

from datetime import datetime, timedelta

from secureline.domain.kinds import facts
from secureline.domain.vocabulary import Kind, Priority

DEADLINE_AFTER = {
    Priority.URGENT_DIRECT: timedelta(hours=8),
    Priority.URGENT: timedelta(days=3),
    Priority.NORMAL: timedelta(days=7),
}


def default_deadline(kind: Kind, priority: Priority, sent_at: datetime) -> datetime | None:
    """The deadline the rules set for a request; other kinds of message have none."""
    if not facts(kind).deadline:
        return None
    return sent_at + DEADLINE_AFTER[priority]
