"""Record what an administrator changed outside the node's own commands.

``node.toml``, the agreement files and the key files are edited or replaced by hand, so no
command sees the change happen. Each time a node is built, the digest of each is compared
with the last one the audit chain holds, and a ``config.changed`` / ``agreement.changed`` /
``key.changed`` record is appended when it differs (the first sight of each is recorded too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.audit import AuditLog

ACTOR = "administrator (outside the node)"


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "absent"


def record_changes(
    audit: AuditLog,
    config: Path,
    agreements: Iterable[Path],
    keys: Iterable[tuple[str, str]],
) -> list[AuditEvent]:
    """Append one record per watched item whose digest differs from the last one recorded.

    ``keys`` are (key id, what) pairs: a new key id is a changed key."""
    watched: list[tuple[AuditAction, str, str]] = [
        (AuditAction.CONFIG_CHANGED, "config:node.toml", _digest(config))
    ]
    watched += [
        (AuditAction.AGREEMENT_CHANGED, f"agreement:{path.stem}", _digest(path))
        for path in sorted(agreements)
    ]
    watched += [(AuditAction.KEY_CHANGED, f"key:{what}", kid) for kid, what in keys]
    events = []
    for action, obj, digest in watched:
        last = [r for r in audit.records_for_object(obj) if r.action == action]
        if last and last[-1].detail.get("digest") == digest:
            continue
        outcome = "first seen" if not last else "changed"
        events.append(AuditEvent(ACTOR, action, obj, outcome, {"digest": digest}))
    if events:
        audit.append(events)
    return events
