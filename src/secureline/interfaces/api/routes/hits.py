"""``/api/v1/hits``: the cross-check's hits of the caller's unit, one hit with both sides'
provenance and the reasons, and an officer's decision on it (services/hits.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query
from pydantic import BaseModel, Field

from secureline.interfaces.api.deps import In, Services, User
from secureline.services.hits import NOTE_MAX_CHARS, PAGE_MAX, hit_json

HitId = Annotated[str, Path(pattern=r"^hit-[0-9a-f]{24}$", max_length=28)]
State = Literal["new", "confirmed", "dismissed", "withdrawn"]


class DecisionIn(In):
    decision: Literal["confirmed", "dismissed"]
    note: Annotated[str | None, Field(max_length=NOTE_MAX_CHARS)] = None


class HitMessageOut(BaseModel):
    id: str
    sender: str
    sender_node: str
    handling: str
    entity_id: str
    schema_: str = Field(alias="schema")
    caption: str | None


class HitHoldingOut(BaseModel):
    key: str
    source: str
    entity_id: str
    schema_: str = Field(alias="schema")
    caption: str | None
    handling: str
    message_id: str | None


class HitReasonOut(BaseModel):
    property: str
    query: str
    candidate: str
    agrees: bool
    score: float
    detail: str


class HitOut(BaseModel):
    id: str
    unit: str
    state: State
    score: float
    created_at: str
    message: HitMessageOut
    holding: HitHoldingOut
    reasons: list[HitReasonOut]
    decision: str | None
    decided_by: str | None
    decided_at: str | None
    note: str | None
    withdrawn_at: str | None
    withdrawn_reason: str | None


def add_hit_routes(app: FastAPI, services: Services) -> None:
    @app.get("/api/v1/hits", response_model=list[HitOut], response_model_by_alias=True)
    def hits_list(
        user: User,
        state: State | None = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    ) -> list[dict[str, Any]]:
        """GET /api/v1/hits: the hits of your unit, newest first, in one state if asked."""
        return [hit_json(h) for h in services.hits.list(user, state, limit)]

    @app.get("/api/v1/hits/{hit_id}", response_model=HitOut, response_model_by_alias=True)
    def hit_get(hit_id: HitId, user: User) -> dict[str, Any]:
        """GET /api/v1/hits/{id}: one hit, both sides' provenance, the score and why."""
        return hit_json(services.hits.get(user, hit_id))

    @app.post("/api/v1/hits/{hit_id}/decision", response_model=HitOut, response_model_by_alias=True)
    def hit_decide(hit_id: HitId, body: DecisionIn, user: User) -> dict[str, Any]:
        """POST /api/v1/hits/{id}/decision: confirm or dismiss a hit, once, with a note."""
        return hit_json(services.hits.decide(user, hit_id, body.decision, body.note))
