"""The kinds of message, one module each, and their registry (registry.py).

Importing this package registers protocol 1's kinds; a kind added elsewhere (a test's, a
future module's) registers itself with :func:`registry.register`. docs/architecture.md,
"Adding a kind, step by step", says how.
"""

from __future__ import annotations

from secureline.services.kinds import (
    alert,
    correction,
    deletion,
    ordinary,
    permission_grant,
    permission_request,
    registry,
    strategic_report,
)

for _spec in (
    *ordinary.SPECS,
    alert.SPEC,
    permission_request.SPEC,
    permission_grant.SPEC,
    correction.SPEC,
    deletion.SPEC,
    strategic_report.SPEC,
):
    registry.register(_spec)
