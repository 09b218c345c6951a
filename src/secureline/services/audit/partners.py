"""Cross-anchoring: the partners' checkpoints we keep (each verified with the partner's
keys), and a partner's export checked against them.

Evidence over the line carries the issuer's latest checkpoint; keeping it means the partner
cannot later rewrite its history without us holding a signature that contradicts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection

from secureline.crypto.envelope import verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import VerifyKey
from secureline.domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    CheckpointStatement,
    InvalidAuditData,
    parse_checkpoint_payload,
)
from secureline.services.audit.errors import (
    AuditChainBroken,
    AuditError,
    PartnerCheckpointRefused,
)
from secureline.services.audit.rows import CHECKPOINT_TYP, Checkpoint
from secureline.services.audit.verify import ChainWalker
from secureline.store import audit as store
from secureline.store.database import Database

__all__ = ["PartnerCheckpoints", "check_against_partner_checkpoint"]

_VERIFIED_CACHE = 4096


class PartnerCheckpoints:
    """The partners' checkpoints this node keeps. Thread-safe as :class:`AuditLog` is."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self._now = now
        # Partner checkpoint tokens whose signature we checked: the same checkpoint rides
        # on every evidence document until the partner signs the next one.
        self._verified: dict[tuple[str, str], CheckpointStatement] = {}

    def store(
        self,
        peer: str,
        token: str,
        peer_keys: Mapping[str, VerifyKey],
        *,
        conn: Connection | None = None,
    ) -> Checkpoint:
        """Verify a partner's checkpoint with ITS keys and keep it as proof of its history.

        1. the JWS verifies with one of ``peer_keys``, typ checkpoint  -> AuditError
        2. the payload is a canonical checkpoint statement             -> AuditError
        3. the statement is about ``peer``                             -> AuditError
        4. if we already hold one for that seq, its head is the same   -> AuditChainBroken

        Idempotent. With ``conn`` it is kept in the caller's transaction (the line keeps it
        with the evidence that carried it); a token verified before is not verified again.
        """
        statement = self._verified.get((peer, token))
        if statement is None:
            statement = _verify_statement(peer, token, peer_keys)
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.clear()
            self._verified[(peer, token)] = statement
        row = store.PartnerCheckpointRow(
            peer=peer,
            seq=statement.seq,
            at=statement.at,
            head_hash=statement.head_hash,
            token=token,
            received_at=self._now(),
        )
        try:
            # Signed and well formed is not enough: what is kept must fit the store's columns
            # (a seq of 2^63 would raise OverflowError from the driver, mid-transaction).
            kept = store.save_partner_checkpoint(self.db if conn is None else conn, row)
        except store.UnfitPartnerCheckpoint as exc:
            raise PartnerCheckpointRefused(
                "checkpoint_out_of_range", f"checkpoint from {peer} refused: {exc}"
            ) from None
        if kept.head_hash != statement.head_hash:
            raise AuditChainBroken(
                statement.seq,
                f"{peer} signed two different heads for this record (kept the first)",
            )
        return Checkpoint(peer, kept.seq, kept.head_hash, kept.at, kept.token)

    def of(self, peer: str) -> list[Checkpoint]:
        """The partner's checkpoints we keep, oldest first."""
        return [
            Checkpoint(peer, row.seq, row.head_hash, row.at, row.token)
            for row in store.partner_checkpoints(self.db, peer)
        ]

    def names(self) -> list[str]:
        """The partners whose checkpoints we keep, by name."""
        return store.partner_names(self.db)

    def check_export(self, peer: str, records: Iterable[AuditRecord]) -> list[Checkpoint]:
        """Check a partner's full export (from seq 1) against EVERY checkpoint of it we keep.

        One pass over the records. Raises :class:`AuditChainBroken`: at the first record that
        does not chain (exact); else at the first checkpoint whose signed head the records do
        not reach (history rewritten between the previous matching checkpoint and this one;
        ``seq`` is the checkpoint's, the reason names the range); or where records end
        before a checkpoint (withheld). Returns the checkpoints that matched. Records after
        the last checkpoint are chained but not yet vouched for by a partner signature.
        """
        checkpoints = self.of(peer)
        if not checkpoints:
            raise AuditError(f"we hold no checkpoint of {peer}")
        wanted = {cp.seq for cp in checkpoints}
        heads: dict[int, str] = {0: GENESIS_HASH}
        walker = ChainWalker()
        for record in records:
            walker.feed(record)
            if walker.last_seq in wanted:
                heads[walker.last_seq] = walker.prev_hash
        walker.finish()
        good = 0
        for cp in checkpoints:
            if cp.seq not in heads:
                raise AuditChainBroken(
                    walker.last_seq + 1,
                    f"records end at {walker.last_seq}, before {peer}'s checkpoint at "
                    f"{cp.seq}: history withheld",
                )
            if heads[cp.seq] != cp.head_hash:
                raise AuditChainBroken(
                    cp.seq,
                    f"{peer} signed head {cp.head_hash} at record {cp.seq} on "
                    f"{cp.at.isoformat()}, but its records now hash to {heads[cp.seq]}: "
                    f"history was rewritten in records {good + 1}..{cp.seq}",
                )
            good = cp.seq
        return checkpoints


def _verify_statement(
    peer: str, token: str, peer_keys: Mapping[str, VerifyKey]
) -> CheckpointStatement:
    try:
        envelope = verify_envelope(token, peer_keys, typ=CHECKPOINT_TYP)
    except CryptoError as exc:
        raise PartnerCheckpointRefused(
            f"checkpoint_{exc.code}", f"checkpoint from {peer} refused: {exc.code}: {exc}"
        ) from None
    try:
        statement = parse_checkpoint_payload(envelope.payload)
    except InvalidAuditData as exc:
        raise PartnerCheckpointRefused(
            "checkpoint_malformed", f"checkpoint from {peer} refused: {exc}"
        ) from None
    if statement.node != peer:
        raise PartnerCheckpointRefused(
            "checkpoint_wrong_node",
            f"checkpoint from {peer} is about node {statement.node[:100]!r}",
        )
    return statement


def check_against_partner_checkpoint(
    records: Iterable[AuditRecord], checkpoint: Checkpoint
) -> None:
    """Check a partner's exported records (from seq 1) against a checkpoint it signed.

    Raises :class:`AuditChainBroken` if the records are not a chain, or if the chain
    does not reach the checkpoint's seq with the head the partner signed then: the
    partner rewrote (or withheld) its history at or before that seq.
    """
    walker = ChainWalker()
    if checkpoint.seq == 0:
        if checkpoint.head_hash != GENESIS_HASH:
            raise AuditChainBroken(0, "checkpoint of the empty chain names a non-genesis head")
        return
    for record in records:
        walker.feed(record)
        if walker.last_seq == checkpoint.seq:
            break
    walker.finish()
    if walker.last_seq < checkpoint.seq:
        raise AuditChainBroken(
            walker.last_seq + 1,
            f"records end before the checkpoint at {checkpoint.seq}: history withheld",
        )
    if walker.prev_hash != checkpoint.head_hash:
        raise AuditChainBroken(
            checkpoint.seq,
            f"{checkpoint.node} signed head {checkpoint.head_hash} at this record on "
            f"{checkpoint.at.isoformat()}, but its records now hash to {walker.prev_hash}: "
            "history was rewritten at or before this record",
        )
