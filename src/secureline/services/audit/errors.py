"""The audit service's exception tree (``code`` is stable and goes into API answers)::

AuditError            "audit_error"          refused input
├── PartnerCheckpointRefused "checkpoint_..."  a partner checkpoint not kept (forged,
│                                            about another node, out of the store's range)
└── AuditChainBroken  "audit_chain_broken"   a record or checkpoint is wrong; ``seq`` names
                                             the first one, ``reason`` says what is wrong
"""

from __future__ import annotations

from secureline.errors import SecurelineError

__all__ = ["AuditChainBroken", "AuditError", "PartnerCheckpointRefused"]


class AuditError(SecurelineError):
    """The audit service refused or could not do what was asked."""

    code = "audit_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class PartnerCheckpointRefused(AuditError):
    """A partner's checkpoint we do not keep; ``code`` says why (docs/protocol.md §6):
    ``checkpoint_<crypto code>`` (its signature), ``checkpoint_malformed`` (its payload),
    ``checkpoint_wrong_node`` (about another node), ``checkpoint_out_of_range`` (a value the
    store cannot hold, such as a seq of 2^63)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AuditChainBroken(AuditError):
    """The chain is not what was written: ``seq`` names the first wrong record."""

    code = "audit_chain_broken"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit chain broken at record {seq}: {reason}")
        self.seq = seq
        self.reason = reason
