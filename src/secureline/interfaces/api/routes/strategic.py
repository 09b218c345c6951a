"""``POST /api/v1/strategic-reports``: a strategic report, its typed report in place of a
body (domain/strategic.py), sent as a ``strategic-report`` message (services/kinds)."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Response
from pydantic import Field

from secureline.domain.message import Attachment
from secureline.domain.strategic import StrategicReport
from secureline.domain.vocabulary import Classification, CrimeArea, HandlingCode, Kind
from secureline.interfaces.api.deps import (
    In,
    Services,
    SubmittedOut,
    User,
    submitted_response,
)


class StrategicReportIn(In):
    """A strategic report's draft. ``to`` takes partner nodes (``europol``: every unit of
    it, the report's wider distribution) or units (``ops@europol``)."""

    to: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1)]
    crime_area: CrimeArea
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    handling: HandlingCode
    handling_conditions: str | None = None
    evaluation: Annotated[str, Field(min_length=2, max_length=2)]
    purpose: Annotated[str, Field(min_length=1, max_length=500)]
    classification: Classification = Classification.BASIC
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    case_ref: str | None = None
    confidential: bool = False
    report: StrategicReport
    attachments: list[Attachment] = Field(default_factory=list)


def add_strategic_routes(app: FastAPI, services: Services) -> None:
    @app.post("/api/v1/strategic-reports", status_code=201, response_model=SubmittedOut)
    def submit(draft: StrategicReportIn, user: User) -> Response:
        """POST /api/v1/strategic-reports: validate, apply the rules of sharing and the
        report's own (no personal data: 403 ``refused`` with ``personal_data_in_strategic``
        naming what was found; nothing is stored), queue. Answers as POST /api/v1/messages."""
        fields = draft.model_dump(mode="json", exclude={"report"})
        data = {
            **fields,
            "kind": Kind.STRATEGIC_REPORT.value,
            "body": draft.report.model_dump_json(),
        }
        return submitted_response(services.messaging.submit(user, data))
