"""The receiving side of the line: verify, decide, commit, then answer with signed evidence.

``receive`` handles one transaction from one authenticated peer (the transport has already
checked the peer's certificate against the CA pinned for it). Steps, in order:

1. bounds: byte and envelope counts (413 ``batch_too_large``);
2. idempotence: the same (peer, txn_id) returns the stored answer; a different body under a
   known id is ``transaction_conflict`` (409);
3. the link's agreement: both sides must hold the same one (409 ``agreement_mismatch``);
4. each envelope: signature, header (bounded where it is parsed: domain/limits.py), path,
   time, destination, rules of sharing, content. Each envelope is answered on its own:
   whatever goes wrong with one (a bug included) refuses it alone, with ``internal_error``;
5. one database transaction: messages, mailboxes, relay queue, evidence, audit records and
   the answer itself, so that nothing is half-written and the answer can be replayed;
6. the signed answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from secureline.crypto.errors import CryptoError
from secureline.crypto.jwe import decrypt_with
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.domain.errors import DomainError
from secureline.domain.limits import NAME_MAX_CHARS, REASON_TEXT_MAX_CHARS
from secureline.domain.message import (
    Header,
    parse_content,
    parse_header,
    unseal,
)
from secureline.domain.policy import PolicyContext, Stage, decide
from secureline.domain.vocabulary import KIND_NAME
from secureline.services.audit import AuditLog
from secureline.services.kinds import registry as kinds
from secureline.services.line import custody
from secureline.services.line.capabilities import KIND_NOT_SUPPORTED, UNKNOWN_KIND, Capabilities
from secureline.services.line.directory import Directory
from secureline.services.line.evidence import issue
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.refusal import Refusal
from secureline.services.line.settings import LineError, LineSettings
from secureline.services.line.wire import (
    UNREADABLE,
    EvidenceItem,
    EvidenceKind,
    OpenedEnvelope,
    WireError,
    claimed_identity,
    envelope_digest,
    open_envelope,
)
from secureline.services.permissions import (
    check_grants,
)
from secureline.store import accounts as account_store
from secureline.store import line as line_store
from secureline.store import messages as message_store
from secureline.store import retention as retention_store
from secureline.store import tables
from secureline.store.database import Database

log = logging.getLogger(__name__)
TXN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: What was not foreseen while one envelope was examined: that envelope is refused with this
#: code (the details only in the log), and the rest of its transaction goes on.
INTERNAL_ERROR = "internal_error"
#: The refusal codes of a bound of domain/limits.py, reported as they are (not as
#: invalid_header or content_mismatch), so that the origin learns which bound it broke.
_BOUND_CODES = frozenset(
    {"field_too_long", "bad_characters", "time_without_zone", "unsafe_attachment_name"}
)
#: The longest path an envelope may arrive with: the header's hop_limit is at most this.
MAX_PATH = 16


@dataclass
class _Accepted:
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
class _Crossing:
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
class _InFlight:
    """One envelope of a transaction on its way through the checks (see _examine)."""

    token: str
    path: list[str] | None  # None: not a path (refused before anything else)
    destination: str  # the node it is for: ours until its signed payload says otherwise
    opened: OpenedEnvelope | None = None
    header: Header | None = None
    next_hop: str | None = None  # None: delivered here
    accepted: _Accepted | None = None
    refusal: tuple[str, str] | None = None  # (reason code, text)


@dataclass(slots=True)
class _Taken:
    """What one accepted envelope adds to the transaction's commit (see _take)."""

    item: EvidenceItem
    audit: AuditEvent | None = None  # None: a duplicate, only its evidence is written
    row: message_store.MessageRow | None = None
    mailbox: list[tuple[str, str]] = field(default_factory=list)
    relay: line_store.NewDelivery | None = None


@dataclass
class _Batch:
    accepted: list[_Accepted] = field(default_factory=list)
    items: list[EvidenceItem] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)


class LineInbox:
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
        self._identity = identity
        self._db = db
        self._directory = directory
        self._audit = audit
        self._settings = settings
        self._clock = clock
        self._on_queued = on_queued
        self._peer_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._units: dict[str, bool] = {}
        self._specialist_units: frozenset[str] = frozenset()
        self._skew = timedelta(seconds=settings.clock_skew_seconds)
        self._max_age = timedelta(days=settings.max_envelope_age_days)
        self._capabilities = Capabilities.of(settings.protocol, settings.kinds)
        self._kinds = self._capabilities.kinds

    def refresh_units(self) -> None:
        self._units = {u.name: u.specialist for u in account_store.list_units(self._db)}
        self._specialist_units = frozenset(u for u, specialist in self._units.items() if specialist)

    def receive(self, peer: str, txn_id: str, body: bytes, peer_digest: str | None) -> bytes:
        if TXN_ID.fullmatch(txn_id) is None:
            raise LineError(400, "bad_transaction_id", "transaction ids are 8-64 of [A-Za-z0-9_-]")
        if len(body) > self._settings.max_batch_bytes:
            raise LineError(413, "batch_too_large", f"over {self._settings.max_batch_bytes} bytes")
        digest = hashlib.sha256(body).hexdigest()
        with self._lock_for(peer):
            stored = line_store.stored_transaction(self._db, peer, txn_id)
            if stored is not None:
                if stored[0] != digest:
                    raise LineError(
                        409, "transaction_conflict", f"{txn_id} was used for another body"
                    )
                return stored[1]
            envelopes, evidence_tokens = self._parse_body(body)
            ours = self._directory.agreement_digest(peer)
            if ours is None:
                raise LineError(403, "no_agreement", self._directory.agreement(peer).problem or "")
            if peer_digest != ours:
                raise LineError(
                    409,
                    "agreement_mismatch",
                    f"this node holds agreement digest {ours}, the peer sent {peer_digest}",
                )
            now = self._clock()
            batch = _Batch()
            self._examine(_Crossing(peer, now, peer_digest), envelopes, batch)
            intake = custody.check(evidence_tokens, self._directory)
            return self._commit(peer, txn_id, digest, now, batch, intake, ours)

    def _lock_for(self, peer: str) -> threading.Lock:
        with self._locks_guard:
            return self._peer_locks.setdefault(peer, threading.Lock())

    def _parse_body(self, body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise LineError(400, "malformed_transaction", "the body is not JSON") from None
        if not isinstance(data, dict) or data.get("v") != 1:
            raise LineError(400, "malformed_transaction", "expected an object with v=1")
        envelopes, evidence = data.get("envelopes", []), data.get("evidence", [])
        if not isinstance(envelopes, list) or not isinstance(evidence, list):
            raise LineError(400, "malformed_transaction", "envelopes and evidence must be lists")
        if len(envelopes) + len(evidence) > self._settings.max_batch_messages:
            raise LineError(
                413,
                "batch_too_large",
                f"over {self._settings.max_batch_messages} items in one transaction",
            )
        for item in envelopes:
            if not (
                isinstance(item, dict)
                and isinstance(item.get("token"), str)
                and isinstance(item.get("path"), list)
            ):
                raise LineError(400, "malformed_transaction", "each envelope needs token and path")
        if not all(isinstance(t, str) for t in evidence):
            raise LineError(400, "malformed_transaction", "evidence items must be strings")
        return envelopes, evidence

    def _examine(self, crossing: _Crossing, items: list[dict[str, Any]], batch: _Batch) -> None:
        """Check every envelope of a transaction, one step at a time across the batch.

        Each envelope is checked on its own and keeps its place in the batch, so the outcome
        is what taking them one by one through every step would give. Step by step, each
        step's code and data (the signature check, pydantic's header schema, the rules, the
        FtM model) stay in the processor's caches from one envelope to the next: about a
        tenth less CPU per envelope than one at a time through all of them (measured)."""
        me, peer = self._identity.name, crossing.peer
        work = [_InFlight(item["token"], _path(item["path"]), me) for item in items]
        for envelope in work:
            if envelope.path is None:
                envelope.refusal = (
                    "bad_path",
                    f"a path is a list of at most {MAX_PATH} node names",
                )
        for step in (self._open, self._read_header, self._route, self._read_content):
            for envelope in work:
                if envelope.refusal is None:
                    self._try(step, crossing, envelope)
        for envelope in work:
            if envelope.accepted is not None:
                batch.accepted.append(envelope.accepted)
            else:
                assert envelope.refusal is not None
                code, text = envelope.refusal
                self._refuse(
                    batch, envelope.header, envelope.token, peer, envelope.destination, code, text
                )

    @staticmethod
    def _try(
        step: Callable[[_Crossing, _InFlight], None], crossing: _Crossing, envelope: _InFlight
    ) -> None:
        """One step for one envelope: whatever it raises refuses that envelope alone."""
        try:
            step(crossing, envelope)
        except Refusal as refusal:
            envelope.refusal = (refusal.code, refusal.text)
        except (CryptoError, WireError) as exc:
            envelope.refusal = (exc.code, str(exc))
        except DomainError as exc:
            header_read = envelope.header is not None
            if exc.code in _BOUND_CODES:
                code = exc.code
            elif exc.field == "content" or header_read:
                code = "content_mismatch"
            else:
                code = "invalid_header"
            envelope.refusal = (code, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a bug must not fail the whole transaction
            # The log names where it failed, never what the envelope held: an exception's
            # text may quote the content, so only its type and the stack are written.
            _log_unexpected(
                exc,
                f"checking an envelope from {crossing.peer} "
                f"(sha256 {envelope_digest(envelope.token)[:16]}) in "
                f"{getattr(step, '__name__', 'a step')}",
            )
            envelope.refusal = (
                INTERNAL_ERROR,
                "the receiver failed unexpectedly while checking this envelope; "
                "the details are in its log",
            )

    def _open(self, crossing: _Crossing, envelope: _InFlight) -> None:
        envelope.opened = open_envelope(envelope.token, self._directory.verify_keys)
        envelope.destination = envelope.opened.destination

    def _read_header(self, crossing: _Crossing, envelope: _InFlight) -> None:
        assert envelope.opened is not None
        header_json = envelope.opened.header_json
        kind = header_json.get("kind")
        if isinstance(kind, str) and kind not in self._kinds and KIND_NAME.fullmatch(kind):
            # A well-formed kind this node does not take: a partner of a newer version (or
            # one that ignored the peer file). Its own code, so the origin learns which.
            raise Refusal(UNKNOWN_KIND, self._capabilities.lacks(self._identity.name, kind))
        envelope.header = parse_header(header_json)

    def _route(self, crossing: _Crossing, envelope: _InFlight) -> None:
        opened, header = envelope.opened, envelope.header
        assert opened is not None
        assert header is not None
        assert envelope.path is not None
        envelope.next_hop = self._check(
            crossing, header, opened.signer_node, opened.destination, envelope.path
        )

    def _read_content(self, crossing: _Crossing, envelope: _InFlight) -> None:
        opened, header = envelope.opened, envelope.header
        assert opened is not None
        assert header is not None
        content, content_jwe, effect = opened.content, opened.content_jwe, None
        header_json = opened.header_json
        if envelope.next_hop is None:  # delivered here: the content must be what was declared
            if content_jwe is not None:
                content, content_jwe = decrypt_with(content_jwe, self._identity.encryption), None
            assert content is not None
            parsed = parse_content(content, header, crossing.now.date())
            if parsed.sealed is not None:  # kept and shown here as the origin wrote them
                header_json = unseal(header_json, parsed.sealed)
                header = envelope.header = header.model_copy(update=dict(parsed.sealed))
            if crossing.receipt is None:
                crossing.receipt = kinds.Receipt(
                    self._identity.name, crossing.now, self._db, self._directory.verify_keys
                )
            effect = kinds.examine(crossing.receipt, header, parsed)
        # relayed: the content (or its ciphertext) is the destination's to check
        assert envelope.path is not None
        envelope.accepted = _Accepted(
            header,
            header_json,
            envelope.token,
            envelope.path,
            content,
            content_jwe,
            envelope.destination,
            envelope.next_hop,
            effect,
            content_in_envelope=opened.content is not None,
        )

    def _check(
        self, crossing: _Crossing, header: Header, signer: str, destination: str, path: list[str]
    ) -> str | None:
        """Everything but the content; returns the next hop, or None when delivered here."""
        me, peer, now = self._identity.name, crossing.peer, crossing.now
        self._check_origin_and_path(me, peer, header, signer, destination, path, now)
        # The provider's grants travel inside the signed header: verified again at every node.
        valid_grants, grant_reasons = check_grants(
            header.forwarded, self._directory.verify_keys, now
        )
        if destination == me:
            missing = [str(a) for a in header.to if a.node == me and a.unit not in self._units]
            if missing and not crossing.units_read:  # added since (the CLI, another worker)?
                self.refresh_units()  # once a transaction: unknown units cost one read
                crossing.units_read = True
                missing = [str(a) for a in header.to if a.node == me and a.unit not in self._units]
            if missing:
                raise Refusal("unknown_unit", f"no such unit here: {', '.join(missing)}")
            next_hop = None
        else:
            next_hop = self._directory.next_hop(destination)
            if next_hop is None:
                raise Refusal("no_route", f"{me} has no route to {destination}")
            if next_hop in path:
                raise Refusal("loop", f"the route to {destination} leads back to {next_hop}")
            lacking = self._directory.lacking(header.kind, next_hop, destination)
            if lacking:  # as the origin's submit would have: not queued for a certain refusal
                raise Refusal(KIND_NOT_SUPPORTED, "; ".join(lacking))
        context = crossing.contexts.get((next_hop, valid_grants))
        if context is None:
            context = crossing.contexts[(next_hop, valid_grants)] = self._context(
                crossing, next_hop, valid_grants
            )
        reasons = (*decide(header, context).reasons, *grant_reasons)
        if reasons:
            raise Refusal(reasons[0].code, "; ".join(r.text for r in reasons))
        return next_hop

    def _context(
        self, crossing: _Crossing, next_hop: str | None, valid_grants: frozenset[str]
    ) -> PolicyContext:
        # The peer's digest came with this transaction (equal to ours, or it was refused
        # whole); the outgoing link's is the one its peer last reported to this node.
        link_in = dataclasses.replace(
            self._directory.link_terms(crossing.peer), peer_digest=crossing.peer_digest
        )
        if next_hop is None:
            return PolicyContext(
                node=self._identity.name,
                stage=Stage.RECEIVE,
                now=crossing.now,
                link_in=link_in,
                specialist_units=self._specialist_units,
                valid_grant_ids=valid_grants,
            )
        return PolicyContext(
            node=self._identity.name,
            stage=Stage.RELAY,
            now=crossing.now,
            link_in=link_in,
            link_out=dataclasses.replace(
                self._directory.link_terms(next_hop),
                peer_digest=self._reported_digest(crossing, next_hop),
            ),
            valid_grant_ids=valid_grants,
        )

    def _reported_digest(self, crossing: _Crossing, peer: str) -> str | None:
        if crossing.reported is None:
            with self._db.read() as conn:
                rows = conn.execute(select(tables.peers.c.name, tables.peers.c.agreement_digest))
                crossing.reported = {row.name: row.agreement_digest for row in rows}
        return crossing.reported.get(peer)

    def _check_origin_and_path(
        self,
        me: str,
        peer: str,
        header: Header,
        signer: str,
        destination: str,
        path: list[str],
        now: datetime,
    ) -> None:
        if header.sender.node != signer:
            raise Refusal("wrong_signer", f"signed by {signer} but sent as {header.sender}")
        if not path or path[0] != signer or path[-1] != peer:
            raise Refusal("bad_path", f"path {path} must start at the origin and end at {peer}")
        if me in path:
            raise Refusal("loop", f"{me} is already on the path {path}")
        if len(path) >= header.hop_limit:
            raise Refusal(
                "hop_limit_exceeded", f"{len(path)} hops reach the limit {header.hop_limit}"
            )
        if header.created_at > now + self._skew:
            raise Refusal("clock_skew", f"created {header.created_at.isoformat()}, in the future")
        if header.created_at < now - self._max_age:
            raise Refusal("too_old", f"created {header.created_at.isoformat()}")
        if destination not in header.destination_nodes:
            raise Refusal("bad_destination", f"{destination} is not among the recipients")

    def _refuse(
        self,
        batch: _Batch,
        header: Header | None,
        token: str,
        peer: str,
        destination: str,
        code: str,
        text: str,
    ) -> None:
        if len(text) > REASON_TEXT_MAX_CHARS:  # it may quote what the peer sent
            text = text[: REASON_TEXT_MAX_CHARS - 3] + "..."
        if header is not None:
            message_id, origin = header.id, header.sender.node
        else:
            message_id, origin = claimed_identity(token) or (
                UNREADABLE + envelope_digest(token)[:16],
                peer,
            )
        batch.items.append(
            EvidenceItem(
                message_id,
                origin,
                destination,
                EvidenceKind.REFUSED,
                envelope_digest(token),
                code,
                text,
            )
        )
        batch.audit.append(
            AuditEvent(
                peer,
                AuditAction.MESSAGE_REFUSED,
                message_id,
                "refused",
                {"reason": code, "origin": origin},
            )
        )

    def _commit(
        self,
        peer: str,
        txn_id: str,
        digest: str,
        now: datetime,
        batch: _Batch,
        intake: custody.Intake,
        peer_digest: str,
    ) -> bytes:
        me = self._identity.name
        queued_hops: set[str] = set()
        checkpoint = self._audit.evidence_checkpoint()
        with self._db.transaction() as conn:
            ids = [a.header.id for a in batch.accepted]
            stored = message_store.existing_ids(conn, ids)
            relaying = line_store.current_states(
                conn, [a.header.id for a in batch.accepted if a.next_hop is not None]
            )
            rows, mailbox, relays, upgrades = [], [], [], []
            effects: list[tuple[Header, kinds.Effect]] = []
            reviews: list[tuple[str, date]] = []
            # A message for a unit here and for a node beyond is two envelopes; the copy
            # delivered here goes first, so the stored row is the readable one.
            for acc in sorted(batch.accepted, key=lambda a: a.next_hop is not None):
                try:
                    taken = self._take(acc, peer, now, stored, relaying)
                except Exception as exc:  # noqa: BLE001 -- refuse this envelope alone
                    _log_unexpected(exc, f"storing {acc.header.id} from {peer}")
                    self._refuse(
                        batch,
                        acc.header,
                        acc.token,
                        peer,
                        acc.destination,
                        INTERNAL_ERROR,
                        "the receiver failed unexpectedly while storing this envelope; "
                        "the details are in its log",
                    )
                    continue
                # Nothing below raises: what could is made in _take.
                header = acc.header
                batch.items.append(taken.item)
                if taken.audit is None:  # a duplicate
                    continue
                batch.audit.append(taken.audit)
                if taken.row is not None:
                    if header.id not in stored:
                        rows.append(taken.row)
                    else:  # relayed earlier, now also delivered here: keep this copy
                        upgrades.append(taken.row)
                    stored[header.id] = "in" if acc.next_hop is None else "relay"
                mailbox += taken.mailbox
                if header.review_date is not None and acc.next_hop is None:
                    reviews.append((header.id, header.review_date))
                if acc.effect is not None and acc.next_hop is None:
                    effects.append((header, acc.effect))
                if taken.relay is not None:
                    relaying[(header.id, acc.destination)] = "queued"
                    relays.append(taken.relay)
                    queued_hops.add(taken.relay.next_hop)
            message_store.insert_messages(conn, rows)
            message_store.replace_messages(conn, upgrades)
            message_store.add_to_mailboxes(conn, mailbox, now)
            retention_store.schedule(conn, reviews)
            batch.audit += [  # the kinds' effects, then what waited for a message stored
                *kinds.commit(conn, effects, now),
                *kinds.on_stored(conn, [*rows, *upgrades], now),
            ]
            line_store.queue_deliveries(conn, relays, now)
            batch.audit += [  # the documents skipped as malformed, then those taken in
                *intake.events,
                *custody.apply(
                    conn,
                    me,
                    self._directory,
                    intake.documents,
                    now,
                    audit_log=self._audit,
                    via=peer,
                ),
            ]
            response = self._answer(conn, peer, txn_id, now, batch, intake, checkpoint)
            line_store.save_transaction(conn, peer, txn_id, digest, response, now)
            # What the peer reports now is what a relay here compares the link with (the
            # outgoing link's check in _context): kept fresh by the peer's own traffic too,
            # not only by this node's pushes to it. Writes only when it changed.
            conn.execute(
                update(tables.peers)
                .where(
                    tables.peers.c.name == peer,
                    tables.peers.c.agreement_digest.is_distinct_from(peer_digest),
                )
                .values(agreement_digest=peer_digest)
            )
            self._audit.record(conn, batch.audit)
        if queued_hops:
            self._on_queued(queued_hops)
        kinds.after_commit(me, effects)
        return response

    def _take(
        self,
        acc: _Accepted,
        peer: str,
        now: datetime,
        stored: dict[str, str],
        relaying: dict[tuple[str, str], str],
    ) -> _Taken:
        """What committing one accepted envelope writes, made without changing anything, so
        that a failure here refuses that envelope alone."""
        header = acc.header
        here = acc.next_hop is None
        duplicate = (
            stored.get(header.id) == "in" if here else (header.id, acc.destination) in relaying
        )
        item = EvidenceItem(
            header.id,
            header.sender.node,
            acc.destination,
            EvidenceKind.DELIVERED if here else EvidenceKind.RELAYED,
            envelope_digest(acc.token),
            *(("duplicate", "already received; not delivered again") if duplicate else ()),
        )
        if duplicate:
            return _Taken(item)
        # A new row, or (delivered here after relaying it earlier) the readable copy instead.
        row = self._row(acc, now) if header.id not in stored or here else None
        if here:
            me = self._identity.name
            return _Taken(
                item,
                AuditEvent(
                    peer,
                    AuditAction.MESSAGE_RECEIVED,
                    header.id,
                    "delivered",
                    {"origin": header.sender.node},
                ),
                row,
                [(a.unit, header.id) for a in header.to if a.node == me],
            )
        assert acc.next_hop is not None
        relay = line_store.NewDelivery(
            header.id,
            acc.destination,
            acc.next_hop,
            acc.token,
            # As it came: the outbox appends this node when it sends it on, so that each
            # node is on the path once (the hop limit counts them).
            orjson.dumps(acc.path).decode(),
        )
        event = AuditEvent(
            peer,
            AuditAction.MESSAGE_RELAYED,
            header.id,
            "relayed",
            {"origin": header.sender.node, "next_hop": acc.next_hop},
        )
        return _Taken(item, event, row, [], relay)

    def _answer(
        self,
        conn: Any,
        peer: str,
        txn_id: str,
        now: datetime,
        batch: _Batch,
        intake: custody.Intake,
        checkpoint: str | None,
    ) -> bytes:
        """Sign the evidence for this transaction, keep our copies, and shape the answer."""
        documents = issue(self._identity, batch.items, now, checkpoint, batch_for=peer)
        for token_id, token, _items in documents:
            line_store.save_evidence(conn, token_id, self._identity.name, token, [], now)
        if intake.rejected:
            log.warning("line: %s sent evidence we cannot verify: %s", peer, intake.rejected[0])
        return orjson.dumps(
            {
                "v": 1,
                "txn_id": txn_id,
                "evidence": [token for _, token, _ in documents],
                "evidence_taken": len(intake.documents),
                "evidence_rejected": intake.rejected,
            }
        )

    def _row(self, acc: _Accepted, now: datetime) -> message_store.MessageRow:
        header = acc.header
        return message_store.MessageRow(
            id=header.id,
            direction="in" if acc.next_hop is None else "relay",
            sender=str(header.sender),
            origin_node=header.sender.node,
            header_json=orjson.dumps(acc.header_json).decode(),
            # kept once, in the envelope, when it is there (store/messages.py reads it out)
            content_json=None
            if acc.content_in_envelope or acc.content is None
            else acc.content.decode(),
            content_jwe=acc.content_jwe,
            # a relay keeps the envelope it forwards in envelopes, once
            envelope=acc.token if acc.next_hop is None else None,
            created_at=header.created_at,
            stored_at=now,
        )


def _log_unexpected(exc: Exception, what: str) -> None:
    # Where it failed, never what the envelope held: an exception's text may quote the
    # content, so only its type and the stack are written (not log.exception).
    log.error(
        "line: unexpected %s while %s:\n%s",
        type(exc).__name__,
        what,
        "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
    )


def _path(value: list[Any]) -> list[str] | None:
    """The path an envelope came with, or None when it is not a short list of names (each
    later step, the store and the refusal's text may then hold it)."""
    if len(value) > MAX_PATH:
        return None
    if not all(p.__class__ is str and len(p) <= NAME_MAX_CHARS for p in value):
        return None
    return value
