"""UnsafeNoAudit: the benchmark's audit log that records nothing, and says so."""

import pytest

from secureline.crypto.keys import generate_signing_key
from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services.audit import UnsafeNoAudit, UnsafeNoAuditWarning
from secureline.store.database import Database


def test_unsafe_no_audit_warns_and_records_nothing(database: Database) -> None:
    with pytest.warns(UnsafeNoAuditWarning, match="records NO audit events"):
        log = UnsafeNoAudit(database, "alpha", generate_signing_key("alpha"))
    log.append([AuditEvent("someone", AuditAction.LOGIN_SUCCESS, "someone")])
    assert list(log.records()) == []
    assert log.latest_checkpoint() is None
    log.verify()
