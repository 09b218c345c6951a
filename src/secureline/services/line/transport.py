"""What the sender needs from the outbound transport (implemented in interfaces/line)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from secureline.errors import SecurelineError
from secureline.services.line.directory import Peer


@dataclass(frozen=True)
class PushAnswer:
    status: int
    body: bytes
    error_code: str | None = None
    # The digest of the link agreement the peer holds, from its Secureline-Agreement header.
    peer_agreement: str | None = None


class TransportError(SecurelineError):
    """The peer could not be reached or did not answer; the batch is retried later."""


class Unreachable(TransportError):
    """No connection to the peer (refused, timed out, TLS handshake failed): the request
    never reached it, so it says nothing about the envelopes it carried."""


class LineTransport(Protocol):
    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer: ...

    def close(self) -> None: ...
