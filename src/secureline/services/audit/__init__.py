"""The node's audit chain (:mod:`.chain`), its verification (:mod:`.verify`), its export
(:mod:`.export`) and the partners' checkpoints it keeps (:mod:`.partners`); the exception
tree is in :mod:`.errors`. The names importers use are re-exported here."""

from secureline.services.audit.chain import AuditLog, UnsafeNoAudit, UnsafeNoAuditWarning
from secureline.services.audit.errors import (
    AuditChainBroken,
    AuditError,
    PartnerCheckpointRefused,
)
from secureline.services.audit.export import CSV_COLUMNS, ExportFormat, read_export
from secureline.services.audit.rows import CHECKPOINT_TYP, Checkpoint

__all__ = [
    "CHECKPOINT_TYP",
    "CSV_COLUMNS",
    "AuditChainBroken",
    "AuditError",
    "AuditLog",
    "Checkpoint",
    "ExportFormat",
    "PartnerCheckpointRefused",
    "UnsafeNoAudit",
    "UnsafeNoAuditWarning",
    "read_export",
]
