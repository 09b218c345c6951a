"""``secureline peer retry|drop``: an administrator's decision on an envelope that a peer
kept failing alone and the sender set aside (state ``failed``), and the words ``peer list``
shows for a link's state."""

from __future__ import annotations

from typing import Any

from secureline.cli import common
from secureline.cli.common import Dir, out


def peer_retry(message_id: str, directory: Dir) -> None:
    """Queue again a message's envelopes set aside as failed (audited); a running node sends
    them within a second.

    Example: secureline peer retry msg-0123abcd... --dir ./interpol
    """
    node = common.node_at(directory)
    for destination in node.peering.resolve_failed(message_id, "retry", "cli"):
        out.print(f"{message_id} to {destination}: queued again")


def peer_drop(message_id: str, directory: Dir) -> None:
    """Give up a message's envelopes set aside as failed (state ``dropped``; audited).

    Example: secureline peer drop msg-0123abcd... --dir ./interpol
    """
    node = common.node_at(directory)
    for destination in node.peering.resolve_failed(message_id, "drop", "cli"):
        out.print(f"{message_id} to {destination}: dropped")


def link_summary(health: dict[str, Any]) -> str:
    """One cell for ``peer list``: the link's state, its failed attempts, what is in flight
    and what was set aside."""
    if not health["direct"]:  # no link of ours: what we last heard from it, through the relay
        last = health.get("last_evidence")
        return f"last evidence {last['kind']} at {last['at']}" if last else "no evidence yet"
    state = health.get("link_state") or ("up" if health["connected"] else "not tried")
    words = {"backoff": "backing off", "down": "unreachable"}.get(state, state)
    parts = [words]
    if health.get("failed_attempts"):
        parts.append(f"{health['failed_attempts']} failed attempts")
    if health.get("in_flight"):
        parts.append(f"{health['in_flight']} in flight")
    if health.get("failed"):
        parts.append(f"{health['failed']} set aside")
    return ", ".join(parts)
