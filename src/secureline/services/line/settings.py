"""The line's limits and timings, taken from the node configuration by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from secureline.domain.vocabulary import PROTOCOL_KINDS, PROTOCOL_VERSION, Kind
from secureline.errors import Refusal


@dataclass(frozen=True)
class LineSettings:
    max_batch_messages: int = 500
    max_batch_bytes: int = 16 * 1024 * 1024
    clock_skew_seconds: int = 300
    max_envelope_age_days: int = 30
    undelivered_alarm_seconds: int = 900
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 60.0
    # While a peer is unreachable, it is probed (one envelope) at the backoff's pace but at
    # least this often, so that its queue moves within about this long after it returns.
    probe_interval_seconds: float = 1.0
    # A transaction failed as a whole (5xx, broken exchange) this many times in a row is
    # split, halves then halves again; an envelope that then fails alone is set aside.
    poison_after_failures: int = 3
    require_alert_review: bool = True
    # What this node speaks: the protocol version and the kinds it takes in (node.toml's
    # [line] kinds, all of the version's when absent). A kind outside them is refused on
    # arrival with unknown_kind; the peer file tells partners, so that they do not send it.
    protocol: int = PROTOCOL_VERSION
    kinds: frozenset[Kind] = PROTOCOL_KINDS[PROTOCOL_VERSION]


class LineError(Refusal):
    """A transaction refused as a whole: typed, with the HTTP status the transport answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}", code=code)
        self.status = status
        self.message = message
