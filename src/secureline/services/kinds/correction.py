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
from secureline.domain.message import Content, Header
from secureline.domain.vocabulary import DataSubject, Kind
from secureline.services.kinds import amendment
from secureline.services.kinds.registry import KindSpec, Receipt, screened
from secureline.services.line.refusal import Refusal

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


def as_original(original: Header, corrected: dict[str, Any]) -> tuple[Header, Content]:
    """The original as its correction would make it: what the original's kind screens
    (services/kinds/registry.py ``screen``: a strategic report's personal data) is screened
    in it at submit, as it is on arrival (:func:`examine`)."""
    header = original.model_copy(
        update={"data_subjects": tuple(DataSubject(s) for s in corrected["data_subjects"])}
    )
    # entities that are not objects are refused when the correction is composed
    entities = tuple(e for e in corrected["entities"] if isinstance(e, dict))
    return header, Content(body=corrected["body"], entities=entities)


def examine(receipt: Receipt, header: Header, content: Content) -> amendment.Amendment:
    """The amendment's checks, then the original kind's screen on the corrected content: a
    correction does not make a strategic report carry what its kind refuses. (A correction
    that overtook its original is held unscreened until it arrives.)"""
    found = amendment.examine(receipt, header, content)
    if found.original_kind:
        corrected = header.model_copy(update={"kind": Kind(found.original_kind)})
        for code, text in screened(corrected, content)[:1]:
            raise Refusal(code, text)
    return found


SPEC = KindSpec(
    Kind.CORRECTION,
    "the provider replaces the content of a message it sent",
    facts(Kind.CORRECTION),
    examine=examine,
    commit=amendment.commit,
    searched=False,
    on_stored=amendment.on_stored,
)
