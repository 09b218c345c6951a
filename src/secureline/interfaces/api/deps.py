"""What every route module shares: the services the composition root hands in, the
authenticated user, the path and header parameters' bounds, and the answer to a creating
call. Routes depend on this module; it depends on none of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request, Response
from fastapi import Header as HeaderParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from secureline.domain.message import MESSAGE_ID
from secureline.interfaces.api.edge import DEFAULT_MAX_BODY_BYTES
from secureline.services.accounts import Accounts
from secureline.services.audit import AuditLog
from secureline.services.errors import NotAuthenticated
from secureline.services.exports import Exports
from secureline.services.hits import Hits
from secureline.services.idempotency import Submitted
from secureline.services.matching.index import Holdings
from secureline.services.messaging import DEFAULT_MAX_BATCH, Messaging
from secureline.services.retention import Retention
from secureline.services.roles import Principal
from secureline.services.search import Search
from secureline.services.sharing import Sharing
from secureline.services.taxii import Taxii

#: a message id in a path: what the domain's ids look like (anything else is a 422)
MessageId = Annotated[str, Path(pattern=f"^{MESSAGE_ID.pattern}$", max_length=64)]
#: What an idempotency key may be: 1 to 200 printable ASCII characters (store.idempotency).
KEY_BOUNDS: dict[str, Any] = {"min_length": 1, "max_length": 200, "pattern": r"^[\x20-\x7e]+$"}
#: A creating call's ``Idempotency-Key``: the same key from the same user again returns the
#: first call's result and creates nothing (a national system retrying a lost answer).
IdempotencyKey = Annotated[str | None, HeaderParam(alias="Idempotency-Key", **KEY_BOUNDS)]
#: what audit records name as their object (ids of any age, not only today's message ids)
AuditObject = Annotated[str, Path(min_length=1, max_length=200)]
#: why a decision was taken: stated, in words
Reason = Annotated[str, Field(min_length=1, max_length=2000)]

#: the largest cursor an inbox page takes (the store's sequence is a signed 64-bit integer)
MAX_CURSOR = 2**63 - 1


class Services(BaseModel):
    """What the API needs, handed in by the composition root: every service by its own
    type, so that a route calling a method a service lacks fails the type check, not a
    request."""

    model_config = {"arbitrary_types_allowed": True, "frozen": True}
    node: str
    accounts: Accounts
    messaging: Messaging
    sharing: Sharing  # forwarding, permissions, deletion and correction
    peers: Callable[[], list[dict[str, Any]]]  # node/peering.py PeerAdmin.link_health
    audit_log: AuditLog  # verify, who read, the export
    retention: Retention  # the review queue
    exports: Exports
    search: Search
    holdings: Holdings  # the index and the matcher
    hits: Hits  # the cross-check's hits, and the decisions on them
    taxii: Taxii | None = None  # the TAXII 2.1 server under /taxii2/, when [taxii] has collections
    taxii_title: str = "secureline"  # [taxii] title
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # [api] max_body_bytes
    max_batch: int = DEFAULT_MAX_BATCH  # [api] max_batch


class SubmittedOut(BaseModel):
    id: str
    destinations: list[str]
    held_for_review: bool


def submitted(done: Submitted) -> SubmittedOut:
    return SubmittedOut(
        id=done.id, destinations=list(done.destinations), held_for_review=done.held_for_review
    )


def submitted_response(done: Submitted, status: int = 201) -> Response:
    """A creating call's answer, serialised at once: the shape of :class:`SubmittedOut`."""
    body = {
        "id": done.id,
        "destinations": list(done.destinations),
        "held_for_review": done.held_for_review,
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class In(BaseModel):
    """A request body: a field the route does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ReasonIn(In):
    reason: Reason


_bearer = HTTPBearer(auto_error=False, description="An API token: Bearer slt_...")


async def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The principal the edge authenticated before any route ran (the Bearer dependency
    only documents the scheme); none there means no edge ran: refuse (fail closed).

    ``async``: it only reads the scope, and the framework would run a plain function in a
    worker thread, a thread hop on every request's path."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise NotAuthenticated("a valid API token is required (Authorization: Bearer slt_...)")
    return principal


User = Annotated[Principal, Depends(current_user)]
