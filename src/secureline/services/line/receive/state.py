"""What the stages of the receive path share: the receiver, and one transaction's envelopes
on their way through it."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from secureline.domain.audit import AuditEvent
from secureline.domain.message import Header
from secureline.domain.policy import PolicyContext
from secureline.services.audit import AuditLog
from secureline.services.kinds import registry as kinds
from secureline.services.line.capabilities import Capabilities, sign_statement
from secureline.services.line.directory import Directory
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.settings import LineSettings
from secureline.services.line.wire import EvidenceItem, OpenedEnvelope
from secureline.store import accounts as account_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store.database import Database

log = logging.getLogger("secureline.services.line.receive")
#: What was not foreseen while one envelope was examined or stored: that envelope is refused
#: with this code (the details only in the log), and the rest of its transaction goes on.
INTERNAL_ERROR = "internal_error"


class Receiver:
    """A node's receiving side: its collaborators and what it keeps between transactions
    (per-peer locks, its units)."""

    def __init__(
        self,
        identity: NodeIdentity,
        db: Database,
        directory: Directory,
        audit: AuditLog,
        settings: LineSettings,
        clock: Callable[[], datetime],
        on_queued: Callable[[set[str]], None],
    ) -> None:
        self.identity = identity
        self.db = db
        self.directory = directory
        self.audit = audit
        self.settings = settings
        self.clock = clock
        self.on_queued = on_queued
        self.peer_locks: dict[str, threading.Lock] = {}
        self.locks_guard = threading.Lock()
        self.units: dict[str, bool] = {}
        self.specialist_units: frozenset[str] = frozenset()
        self.skew = timedelta(seconds=settings.clock_skew_seconds)
        self.max_age = timedelta(days=settings.max_envelope_age_days)
        self.capabilities = Capabilities.of(settings.protocol, settings.kinds)
        self.kinds = self.capabilities.kinds  # the kinds this node takes, as text
        # What this node states on the line, in every answer and every transaction it
        # sends: signed once here, since it changes only with the configuration.
        self.statement = sign_statement(identity.name, self.capabilities, identity.signing)

    def refresh_units(self) -> None:
        self.units = {u.name: u.specialist for u in account_store.list_units(self.db)}
        self.specialist_units = frozenset(u for u, specialist in self.units.items() if specialist)


@dataclass
class Accepted:
    header: Header
    header_json: dict[str, Any]  # as the origin signed it; stored as it came
    token: str
    path: list[str]
    content: bytes | None
    content_jwe: str | None
    destination: str
    next_hop: str | None  # None: delivered here
    effect: kinds.Effect | None = None  # what its kind does here once committed
    # the envelope carries the content in the clear (not a ciphertext decrypted here): the
    # store then keeps it once, in the envelope
    content_in_envelope: bool = False


@dataclass(slots=True)
class Crossing:
    """What the envelopes of one transaction share while they are checked."""

    peer: str
    now: datetime
    peer_digest: str | None = None  # the agreement digest the peer sent with the transaction
    # The digest each peer last reported (the store's peers table), read once per transaction
    # that relays: the outgoing link's agreement must be the same text at both of its ends.
    reported: dict[str, str | None] | None = None
    # The rules' context per (next hop, verified grants): the same for most envelopes of a
    # transaction, so it is made once; it is immutable and holds verified facts only.
    contexts: dict[tuple[str | None, frozenset[str]], PolicyContext] = field(default_factory=dict)
    # The units were read again in this transaction (for one not known): not again for the next.
    units_read: bool = False
    receipt: kinds.Receipt | None = None  # what a kind's examine reads, made when first needed


@dataclass(slots=True)
class InFlight:
    """One envelope of a transaction on its way through the checks (see examine.py)."""

    token: str
    path: list[str] | None  # None: not a path (refused before anything else)
    destination: str  # the node it is for: ours until its signed payload says otherwise
    opened: OpenedEnvelope | None = None
    header: Header | None = None
    next_hop: str | None = None  # None: delivered here
    accepted: Accepted | None = None
    refusal: tuple[str, str] | None = None  # (reason code, text)


@dataclass(slots=True)
class Taken:
    """What one accepted envelope adds to the transaction's commit (see commit.take)."""

    item: EvidenceItem
    audit: AuditEvent | None = None  # None: a duplicate, only its evidence is written
    row: message_store.MessageRow | None = None
    mailbox: list[tuple[str, str]] = field(default_factory=list)
    relay: line_store.NewDelivery | None = None


@dataclass
class Batch:
    accepted: list[Accepted] = field(default_factory=list)
    items: list[EvidenceItem] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)


def log_unexpected(exc: Exception, what: str) -> None:
    # Where it failed, never what the envelope held: an exception's text may quote the
    # content, so only its type and the stack are written (not log.exception).
    log.error(
        "line: unexpected %s while %s:\n%s",
        type(exc).__name__,
        what,
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )
