"""The REST API for national systems and scripts (OpenAPI committed as docs/openapi.json).

Routes parse, authenticate and shape answers; the rules live in the services. Every error
is JSON ``{"error": {"code", "message", "field", "reasons"?}}`` with a stable code (see
:mod:`.errors`); anything unexpected is an opaque 500 whose details go only to the log.
Every route but ``/healthz`` (the OpenAPI document included) needs ``Authorization: Bearer
<token>``, checked with the body's bounds before any route runs (see :mod:`.edge`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi import Header as HeaderParam
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from secureline import __version__
from secureline.domain.message import MESSAGE_ID, Draft, Header
from secureline.interfaces.api import errors
from secureline.interfaces.api.edge import DEFAULT_MAX_BODY_BYTES, MULTI_LINE, Edge
from secureline.services.accounts import Accounts, Principal, Role
from secureline.services.errors import Forbidden, NotAuthenticated
from secureline.services.exports import ExportPurpose
from secureline.services.group_commit import GroupCommit
from secureline.services.idempotency import Submitted

#: a message id in a path: what the domain's ids look like (anything else is a 422)
MessageId = Annotated[str, Path(pattern=f"^{MESSAGE_ID.pattern}$", max_length=64)]
#: A creating call's ``Idempotency-Key``: the same key from the same user again returns the
#: first call's result and creates nothing (a national system retrying a lost answer).
IdempotencyKey = Annotated[
    str | None,
    HeaderParam(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$"),
]
#: what audit records name as their object (ids of any age, not only today's message ids)
AuditObject = Annotated[str, Path(min_length=1, max_length=200)]
#: why a decision was taken: stated, in words
Reason = Annotated[str, Field(min_length=1, max_length=2000)]

#: the largest cursor an inbox page takes (the store's sequence is a signed 64-bit integer)
MAX_CURSOR = 2**63 - 1


class Services(BaseModel):
    """What the API needs, handed in by the composition root."""

    model_config = {"arbitrary_types_allowed": True}
    node: str
    accounts: Accounts
    messaging: Any
    sharing: Any = None  # forwarding, permissions, deletion and correction
    peers: Callable[[], list[dict[str, Any]]]
    audit: Any
    audit_log: Any = None  # the node's AuditLog, for the export
    retention: Any = None  # the node's Retention (review queue)
    exports: Any = None  # the node's Exports
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # [api] max_body_bytes


class SubmittedOut(BaseModel):
    id: str
    destinations: list[str]
    held_for_review: bool


class MessageOut(BaseModel):
    id: str
    header: Header
    content: dict[str, Any] | None
    conditions_to_acknowledge: str | None = None


class InboxItem(BaseModel):
    cursor: int
    id: str
    sender: str
    kind: str
    crime_area: str
    subject: str
    handling: str
    created_at: datetime


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: int | None


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


_bearer = HTTPBearer(auto_error=False, description="An API token: Bearer slt_...")


def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The principal the edge authenticated before any route ran (the Bearer dependency
    only documents the scheme); none there means no edge ran: refuse (fail closed)."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise NotAuthenticated("a valid API token is required (Authorization: Bearer slt_...)")
    return principal


User = Annotated[Principal, Depends(current_user)]


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="secureline node API",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses={
            status: {"model": errors.ErrorOut, "description": text}
            for status, text in errors.DOCUMENTED.items()
        },
    )

    app.state.services = services
    _describe_strings(app)
    errors.install(app)
    app.add_middleware(Edge, accounts=services.accounts, max_body_bytes=services.max_body_bytes)

    # Concurrent submissions are committed together (see services.group_commit); two with
    # the same idempotency key never share a transaction, so the second replays the first.
    submissions: GroupCommit[tuple[Draft, str | None], Submitted] = GroupCommit(
        lambda user, items: services.messaging.submit_many(
            cast(Principal, user), [d for d, _ in items], keys=[k for _, k in items]
        ),
        conflicts=lambda a, b: a[1] is not None and a[1] == b[1],
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """GET /healthz: liveness, no authentication, no details."""
        return {"status": "ok", "node": services.node}

    @app.post("/api/v1/messages", status_code=201, response_model=SubmittedOut)
    def submit(draft: Draft, user: User, key: IdempotencyKey = None) -> SubmittedOut:
        """POST /api/v1/messages: validate, apply the rules of sharing, queue. A refusal is
        403 with every reason; nothing is stored. With ``Idempotency-Key``, a retry returns
        the first result (409 ``idempotency_key_reused`` for another request)."""
        done = submissions.submit(user, (draft, key))
        return SubmittedOut(
            id=done.id, destinations=list(done.destinations), held_for_review=done.held_for_review
        )

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

    @app.get("/api/v1/inbox", response_model=InboxPage)
    def inbox(
        user: User,
        after: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> InboxPage:
        """GET /api/v1/inbox: the user's unit's messages in arrival order; pass the last
        ``cursor`` as ``after`` for the next page (stable while messages arrive)."""
        page = services.messaging.inbox(user, after, limit)
        items = [
            InboxItem(
                cursor=seq,
                id=h.id,
                sender=str(h.sender),
                kind=h.kind.value,
                crime_area=h.crime_area.value,
                subject=h.subject,
                handling=h.handling.value,
                created_at=h.created_at,
            )
            for seq, h in page
        ]
        return InboxPage(items=items, next_cursor=items[-1].cursor if len(items) == limit else None)

    @app.get("/api/v1/peers")
    def peers(user: User) -> list[dict[str, Any]]:
        """GET /api/v1/peers: each link's health: connected, queue depth, oldest undelivered."""
        return services.peers()

    @app.get("/api/v1/audit/verify")
    def audit_verify(user: User) -> dict[str, Any]:
        """GET /api/v1/audit/verify: check the whole chain (data protection officer only)."""
        _dpo(user)
        result: dict[str, Any] = services.audit(user, "verify")
        return result

    @app.get("/api/v1/audit/who-read/{message_id}")
    def who_read(message_id: AuditObject, user: User) -> list[dict[str, Any]]:
        """GET /api/v1/audit/who-read/{id}: every opening of a message (DPO only)."""
        _dpo(user)
        result: list[dict[str, Any]] = services.audit(user, "who-read", message_id)
        return result

    _add_audit_export(app, services)
    _add_sharing_routes(app, services)
    _add_export_route(app, services)
    from secureline.interfaces.api.decision_routes import add_decision_routes  # imports this
    from secureline.interfaces.api.people_routes import add_people_routes  # imports this module

    add_people_routes(app, services)

    add_decision_routes(app, services)
    return app


#: what the domain's parsed strings look like on the wire (the domain parses them into
#: objects, so the schema pydantic derives would wrongly show objects)
_STRING_SCHEMAS = {
    "Address": {
        "type": "string",
        "pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,62}@[A-Za-z0-9][A-Za-z0-9._-]{0,62}\s*$",
        "description": "unit@node (lower case; input is folded to lower case and trimmed)",
        "examples": ["ops@europol"],
    },
    "Evaluation": {
        "type": "string",
        "pattern": r"^\s*[ABCXabcx][1-4]\s*$",
        "description": "the 4x4 code: source reliability A, B, C or X, then accuracy 1-4",
        "examples": ["B2"],
    },
}


#: what the edge lets through in text (see .edge): no C0 or C1 control characters, and line
#: breaks and tabs only in the multi-line fields
_ONE_LINE = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"
_MULTI_LINE = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"


_ANSWERS_ONLY = frozenset({"ErrorOut", "ErrorDetail", "ReasonOut"})


def _no_control_characters(schema: Any, name: str) -> None:
    """Give every free text in the document the pattern the edge enforces."""
    if isinstance(schema, list):
        for item in schema:
            _no_control_characters(item, name)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not (
        {"pattern", "format", "enum", "const"} & set(schema)
    ):
        schema["pattern"] = _MULTI_LINE if name in MULTI_LINE else _ONE_LINE
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        schema.setdefault("propertyNames", {"pattern": _ONE_LINE})
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for field, sub in value.items():
                _no_control_characters(sub, field)
        elif isinstance(value, (dict, list)):
            _no_control_characters(value, name)


def _describe_strings(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document["components"]["schemas"].update(_STRING_SCHEMAS)
            for name, schema in document["components"]["schemas"].items():
                if name not in _ANSWERS_ONLY:  # what the node says is not what the edge checks
                    _no_control_characters(schema, "")
            # /healthz is the one route open without a token
            document["paths"]["/healthz"]["get"]["responses"].pop("401", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_audit_export(app: FastAPI, services: Services) -> None:
    @app.get(
        "/api/v1/audit/export",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One JSON record per line, or RFC 4180 CSV with a header.",
                "content": {"application/x-ndjson": {}, "text/csv": {}},
            }
        },
    )
    def audit_export(
        user: User,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
    ) -> StreamingResponse:
        """GET /api/v1/audit/export?from=&to=&format=jsonl|csv: records with from <= at < to
        (ISO times, UTC if no zone), streamed (DPO only). The export is itself recorded."""
        _dpo(user)
        if services.audit_log is None:
            raise Forbidden("this node does not serve audit exports")
        lines = services.audit_log.export(start, end, fmt, actor=user.username)
        media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        return StreamingResponse(lines, media_type=f"{media}; charset=utf-8")


def _dpo(user: Principal) -> None:
    if user.role is not Role.DPO:
        raise Forbidden("only the data protection officer reads the audit chain")


# --- the rules of sharing: forwards, permissions, deletion and correction, retention -------


class _In(BaseModel):
    """A request body: a field the route does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ForwardIn(_In):
    to: list[str]
    purpose: str | None = None
    grants: list[dict[str, Any]] | None = None


class PermissionRequestIn(_In):
    scope: str
    grantee: str
    purpose: str | None = None
    reason: str = ""


class GrantIn(_In):
    request_id: str | None = None
    message_id: str | None = None
    grantee: str | None = None
    scope: str | None = None
    until: datetime | None = None
    purpose: str | None = None
    to: list[str] | None = None


class GrantOut(BaseModel):
    grant: dict[str, Any]
    carrier: SubmittedOut


class ReasonIn(_In):
    reason: Reason


class CorrectionIn(_In):
    reason: Reason
    body: str | None = None
    entities: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    data_subjects: list[str] | None = None


class KeepIn(_In):
    until: date
    reason: Reason


class ReviewItemOut(BaseModel):
    message_id: str
    review_date: date
    state: str
    queued_at: datetime | None


class RetentionRunOut(BaseModel):
    queued: list[str]
    purged: list[str]


def _submitted(done: Any) -> SubmittedOut:
    return SubmittedOut(
        id=done.id, destinations=list(done.destinations), held_for_review=done.held_for_review
    )


def _add_sharing_routes(app: FastAPI, services: Services) -> None:
    @app.post("/api/v1/messages/{message_id}/forward", status_code=201)
    def forward(
        message_id: MessageId, body: ForwardIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/forward: pass a received message on; the provider's
        handling code, purpose and grants travel with it (``grants`` omitted: the grants
        this node received for it)."""
        return _submitted(
            services.sharing.forward(user, message_id, body.to, body.purpose, body.grants, key=key)
        )

    @app.post("/api/v1/messages/{message_id}/permission-requests", status_code=201)
    def request_permission(
        message_id: MessageId, body: PermissionRequestIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/permission-requests: ask the provider of a received
        message for a permission (scope onward-transfer, judicial-use or other-purpose)."""
        return _submitted(
            services.sharing.request_permission(
                user, message_id, body.scope, body.grantee, body.purpose, body.reason, key=key
            )
        )

    @app.post("/api/v1/permissions/grants", status_code=201)
    def grant_permission(body: GrantIn, user: User) -> GrantOut:
        """POST /api/v1/permissions/grants: as the provider, grant a permission (answering
        ``request_id``, or naming message_id, grantee and scope). The signed grant is sent
        in a permission-grant message."""
        grant, carrier = services.sharing.grant_permission(
            user,
            body.request_id,
            message_id=body.message_id,
            grantee=body.grantee,
            scope=body.scope,
            until=body.until,
            purpose=body.purpose,
            to=body.to,
        )
        return GrantOut(grant=grant.model_dump(mode="json"), carrier=_submitted(carrier))

    @app.get("/api/v1/permissions")
    def permissions(user: User) -> list[dict[str, Any]]:
        """GET /api/v1/permissions: the grants this node issued and received, the requests
        it refused (with the reason), and the requests pending in the user's unit: each with
        its ``state``, pending, granted or refused."""
        return [
            {
                **{k: v for k, v in vars(p).items() if k not in ("until", "decided_at")},
                "until": p.until.isoformat() if p.until else None,
                "decided_at": p.decided_at.isoformat() if p.decided_at else None,
            }
            for p in services.sharing.permission_items(user)
        ]

    @app.post("/api/v1/messages/{message_id}/retract", status_code=201)
    def retract(
        message_id: MessageId, body: ReasonIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/retract: the provider deletes a message it sent at every
        recipient; follow the deletion message's status for the confirmations."""
        return _submitted(services.sharing.retract(user, message_id, body.reason, key=key))

    @app.post("/api/v1/messages/{message_id}/correct", status_code=201)
    def correct(
        message_id: MessageId, body: CorrectionIn, user: User, key: IdempotencyKey = None
    ) -> SubmittedOut:
        """POST /api/v1/messages/{id}/correct: the provider replaces the content of a
        message it sent, at every recipient (fields left out stay as they were)."""
        return _submitted(
            services.sharing.correct(
                user,
                message_id,
                body.reason,
                body=body.body,
                entities=body.entities,
                attachments=body.attachments,
                data_subjects=body.data_subjects,
                key=key,
            )
        )

    @app.get("/api/v1/review")
    def review_queue(user: User) -> list[ReviewItemOut]:
        """GET /api/v1/review: messages due for a retention decision."""
        return [
            ReviewItemOut(
                message_id=i.message_id,
                review_date=i.review_date,
                state=i.state,
                queued_at=i.queued_at,
            )
            for i in _retention(services).queue(user)
        ]

    @app.post("/api/v1/review/{message_id}/keep", status_code=204)
    def review_keep(message_id: MessageId, body: KeepIn, user: User) -> None:
        """POST /api/v1/review/{id}/keep: keep a message until a new review date."""
        _retention(services).keep(user, message_id, body.until, body.reason)

    @app.post("/api/v1/review/{message_id}/purge", status_code=204)
    def review_purge(message_id: MessageId, body: ReasonIn, user: User) -> None:
        """POST /api/v1/review/{id}/purge: purge a message now; a tombstone remains."""
        _retention(services).purge(user, message_id, body.reason)

    @app.post("/api/v1/review/run")
    def review_run(user: User) -> RetentionRunOut:
        """POST /api/v1/review/run: run the retention job now (administrators)."""
        if user.role is not Role.ADMIN:
            raise Forbidden("only administrators run the retention job")
        result = _retention(services).run()
        return RetentionRunOut(queued=result.queued, purged=result.purged)


def _retention(services: Services) -> Any:
    if services.retention is None:
        raise Forbidden("this node does not serve the review queue")
    return services.retention


def _add_export_route(app: FastAPI, services: Services) -> None:

    @app.get("/api/v1/messages/{message_id}/export")
    def export(
        message_id: MessageId,
        user: User,
        purpose: ExportPurpose,
        acknowledge_conditions: bool = False,
    ) -> dict[str, Any]:
        """GET /api/v1/messages/{id}/export?purpose=judicial|case-file: the message as a
        document; H1 for judicial use needs the provider's judicial-use grant (403 otherwise)."""
        result: dict[str, Any] = services.exports.export(
            user, message_id, purpose.value, acknowledge_conditions=acknowledge_conditions
        )
        return result
