"""``POST /api/v1/match``: ranked candidates from the index of holdings, with the reasons,
among what the caller's unit may see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import Field

from secureline.interfaces.api.deps import In, Services, User

Text = Annotated[str, Field(min_length=1, max_length=300)]


class MatchIn(In):
    name: Text
    schema_: Annotated[str, Field(alias="schema", min_length=1, max_length=40)] = "Person"
    birth_date: Annotated[str | None, Field(max_length=10, pattern=r"^\d{4}(-\d{2}){0,2}$")] = None
    nationality: Annotated[str | None, Field(min_length=2, max_length=10)] = None
    identifiers: Annotated[dict[Text, Text], Field(max_length=10)] = Field(default_factory=dict)
    limit: Annotated[int, Field(ge=1, le=100, strict=True)] = 10
    threshold: Annotated[float, Field(ge=0.0, le=1.0, strict=True)] = 0.0


class MatchReasonOut(In):
    property: str
    query: str
    candidate: str
    agrees: bool
    score: float
    detail: str


class MatchCandidateOut(In):
    entity_id: str
    schema_: str = Field(alias="schema")
    caption: str
    source: str
    unit: str
    handling: str
    message_id: str | None
    score: float
    reasons: list[MatchReasonOut]


def add_match_routes(app: FastAPI, services: Services) -> None:
    @app.post("/api/v1/match", response_model=list[MatchCandidateOut], response_model_by_alias=True)
    def match(body: MatchIn, user: User) -> list[dict[str, Any]]:
        """POST /api/v1/match: the holdings most like the query (names in any script, birth
        date, nationality, strong identifiers), best first, each with the reasons."""
        from secureline.services.matching.index import query_entity

        query = query_entity(
            name=body.name,
            schema=body.schema_,
            birth_date=body.birth_date,
            nationality=body.nationality,
            identifiers=dict(body.identifiers),
        )
        found = services.holdings.match(user, query, limit=body.limit, threshold=body.threshold)
        return [m.as_json() for m in found]
