"""The receiving side of the line: verify, decide, commit, then answer with signed evidence.

``receive`` handles one transaction from one authenticated peer (the transport has already
checked the peer's certificate against the CA pinned for it), through the stages of
``receive/`` in order (its ``__init__`` says what each does): transaction, examine (with
decide among its steps), commit, effects.
"""

from __future__ import annotations

from secureline.services.line import custody
from secureline.services.line.receive import effects, examine, transaction
from secureline.services.line.receive.commit import commit
from secureline.services.line.receive.state import Batch, Crossing, Receiver


class LineInbox(Receiver):
    def receive(self, peer: str, txn_id: str, body: bytes, peer_digest: str | None) -> bytes:
        digest = transaction.check_bounds(self, txn_id, body)
        with transaction.lock_for(self, peer):
            answered = transaction.replayed(self, peer, txn_id, digest)
            if answered is not None:
                return answered
            received = transaction.parse(self, body)
            ours = transaction.agreement(self, peer, peer_digest)
            now = self.clock()
            self.directory.hear(peer, received.capabilities, now)  # once per transaction
            batch = Batch()
            examine.examine(self, Crossing(peer, now, peer_digest), received.envelopes, batch)
            intake = custody.check(received.evidence, self.directory)
            response, done = commit(self, peer, txn_id, digest, now, batch, intake, ours)
        effects.after_commit(self, done)
        return response
