"""``correction``: the provider replaces the content of a message it sent.

Its content is the corrected content, under the original's marking; its subject states the
reason. Each destination replaces the original's content and records the replaced one (by
digest) as a tombstone. What it shares with ``deletion`` is in amendment.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from secureline.domain.audit import AuditAction
from secureline.domain.kinds import facts
from secureline.domain.message import Header
from secureline.domain.vocabulary import Kind
from secureline.services.kinds import amendment
from secureline.services.kinds.registry import KindSpec

amendment.ACTIONS[Kind.CORRECTION] = AuditAction.MESSAGE_CORRECTED


def content(
    original: Header,
    stored: dict[str, Any],
    *,
    body: str | None,
    entities: Sequence[dict[str, Any]] | None,
    attachments: Sequence[dict[str, Any]] | None,
    data_subjects: Sequence[str] | None,
) -> dict[str, Any]:
    """The corrected content and the original's marking: what is not given stays as it was
    (``stored`` is the original's content)."""
    corrected: dict[str, Any] = {
        "data_subjects": [s.value for s in original.data_subjects],
        "handling": original.handling.value,
        "handling_conditions": original.handling_conditions,
        "classification": original.classification.value,
        "confidential": original.confidential,
        "body": stored.get("body", "") if body is None else body,
        "entities": stored.get("entities", []) if entities is None else list(entities),
        "attachments": stored.get("attachments", []) if attachments is None else list(attachments),
    }
    if data_subjects is not None:
        corrected["data_subjects"] = list(data_subjects)
    return corrected


SPEC = KindSpec(
    Kind.CORRECTION,
    "the provider replaces the content of a message it sent",
    facts(Kind.CORRECTION),
    examine=amendment.examine,
    commit=amendment.commit,
    searched=False,
    on_stored=amendment.on_stored,
)
