"""``/api/v1/messages``: submit one draft (or a batch, :mod:`.batch`), open a message, its
status, and the second person's approval of a held alert."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from fastapi import FastAPI, Response
from pydantic import BaseModel

from secureline.domain.message import Draft, Header
from secureline.interfaces.api.deps import (
    IdempotencyKey,
    MessageId,
    Services,
    SubmittedOut,
    User,
    submitted_response,
)
from secureline.interfaces.api.routes.batch import add_batch_routes
from secureline.services.group_commit import DEFAULT_MAX_ITEMS, GroupCommit
from secureline.services.messaging import Outcome
from secureline.services.roles import Principal


class MessageOut(BaseModel):
    id: str
    header: Header
    content: dict[str, Any] | None
    conditions_to_acknowledge: str | None = None


class DeliveryOut(BaseModel):
    destination: str
    state: str
    next_hop: str
    reason_code: str | None
    reason_text: str | None
    refused_by: str | None
    updated_at: datetime


class EvidenceOut(BaseModel):
    kind: str
    issuer: str
    destination: str | None
    reason_code: str | None
    reason_text: str | None
    issued_at: datetime


class StatusOut(BaseModel):
    id: str
    deliveries: list[DeliveryOut]
    evidence: list[EvidenceOut]


def add_message_routes(app: FastAPI, services: Services) -> None:
    # Concurrent submissions are committed together (see services.group_commit) by the
    # batch submission: one rules' context, the signing as a batch, one transaction, and each
    # draft answered on its own (one refused draft never sinks the others). Two with the
    # same idempotency key never share a transaction, so the second replays the first.
    submissions: GroupCommit[tuple[Draft, str | None], Outcome] = GroupCommit(
        lambda user, items: services.messaging.submit_batch(
            cast(Principal, user), [d for d, _ in items], [k for _, k in items]
        ),
        max_items=min(DEFAULT_MAX_ITEMS, services.max_batch),
        conflicts=lambda a, b: a[1] is not None and a[1] == b[1],
    )

    @app.post("/api/v1/messages", status_code=201, response_model=SubmittedOut)
    async def submit(draft: Draft, user: User, key: IdempotencyKey = None) -> Response:
        """POST /api/v1/messages: validate, apply the rules of sharing, queue. A refusal is
        403 with every reason; nothing is stored. With ``Idempotency-Key``, a retry returns
        the first result (409 ``idempotency_key_reused`` for another request)."""
        # async: the request waits on the event loop, not in a worker thread; the answer is
        # serialised here (the response model documents it, and validating what this code
        # built would only repeat the work on every request)
        outcome = await submissions.submit(user, (draft, key))
        if outcome.error is not None:
            raise outcome.error
        assert outcome.submitted is not None  # an outcome is one or the other
        return submitted_response(outcome.submitted)

    add_batch_routes(app, services)  # before GET .../{message_id}, which would take "batch"

    @app.get("/api/v1/messages/{message_id}", response_model=MessageOut)
    def read(message_id: MessageId, user: User, acknowledge_conditions: bool = False) -> MessageOut:
        """GET /api/v1/messages/{id}: open a message; the first opening sends a read receipt.
        H3 content needs ``acknowledge_conditions=true``."""
        opened = services.messaging.open(
            user, message_id, acknowledge_conditions=acknowledge_conditions
        )
        header = opened.header
        pending = opened.header.handling_conditions if opened.content is None else None
        return MessageOut(
            id=message_id, header=header, content=opened.content, conditions_to_acknowledge=pending
        )

    @app.get("/api/v1/messages/{message_id}/status", response_model=StatusOut)
    def status(message_id: MessageId, user: User) -> StatusOut:
        """GET /api/v1/messages/{id}/status: where the message is, with the evidence."""
        found = services.messaging.status(user, message_id)
        return StatusOut(
            id=message_id,
            deliveries=[DeliveryOut(**d.__dict__) for d in found.deliveries],
            evidence=[
                EvidenceOut(**{k: v for k, v in e.__dict__.items() if k != "token_id"})
                for e in found.evidence
            ],
        )

    @app.post("/api/v1/messages/{message_id}/approve", status_code=204)
    def approve(message_id: MessageId, user: User) -> None:
        """POST /api/v1/messages/{id}/approve: the second pair of eyes releases an alert."""
        services.messaging.approve_alert(user, message_id)
