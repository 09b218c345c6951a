"""``POST /api/v1/messages/batch``: many drafts in one request, each answered on its own.

A national system submits in bulk; one round trip, one transaction and one wake of the
link's sender carry up to ``[api] max_batch`` messages. The request is refused whole (422,
nothing stored) only when it cannot be read as a batch: not a JSON array, longer than the
bound (``batch_too_long``, before any draft is looked at), a draft that is not a valid draft
(the field named ``body[i].field``), or two drafts with one idempotency key
(``duplicate_idempotency_key``). Otherwise every draft gets its own result, in the order
given: accepted with its message, or refused with the error the single submission would
have answered (every reason of the rules of sharing included).
"""

# No ``from __future__ import annotations``: the route's body type holds the configured
# bound, which the framework must see as a value, not as a name to look up later.
from typing import Annotated, Any, Literal

import orjson
from fastapi import Body, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from secureline.domain.message import Draft
from secureline.interfaces.api.deps import KEY_BOUNDS, Services, SubmittedOut, User
from secureline.interfaces.api.errors import ErrorDetail, error_body
from secureline.services.errors import InvalidInput
from secureline.services.messaging import Outcome

PATH = "/api/v1/messages/batch"
#: every method but POST is answered 405 here, rather than taken for a message id
_OTHER_METHODS = ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class BatchItem(Draft):
    """A draft, as ``POST /api/v1/messages`` takes it, with its own idempotency key: the same
    key from the same user returns the first result (the ``Idempotency-Key`` header's rule)."""

    idempotency_key: Annotated[str, Field(**KEY_BOUNDS)] | None = None


class BatchResult(BaseModel):
    index: int
    status: Literal["accepted", "refused"]
    message: SubmittedOut | None
    error: ErrorDetail | None


class BatchOut(BaseModel):
    results: list[BatchResult]


def add_batch_routes(app: FastAPI, services: Services) -> None:
    """Register before ``GET /api/v1/messages/{id}``, which would take ``batch`` for an id."""
    limit = services.max_batch

    async def batch_shape(request: Request) -> None:
        """The body is an array of at most ``limit`` drafts: checked before the framework
        validates the drafts, so that an overlong batch costs no validation."""
        try:
            value = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return  # the framework answers: not readable JSON
        if not isinstance(value, list):
            raise InvalidInput("body", "must be a JSON array of drafts")
        if len(value) > limit:
            raise InvalidInput(
                "body",
                f"{len(value)} drafts: at most {limit} in one batch ([api] max_batch)",
                code="batch_too_long",
            )

    @app.post(PATH, response_model=BatchOut, dependencies=[Depends(batch_shape)])
    def submit_batch(
        batch: Annotated[list[BatchItem], Body(max_length=limit)], user: User
    ) -> Response:
        """POST /api/v1/messages/batch: up to ``[api] max_batch`` drafts, each with an optional
        ``idempotency_key``; 200 with one result per draft, in order. A draft refused by the
        rules does not stop the others, which are stored in one transaction."""
        drafts = [_draft(item) for item in batch]
        keys = [item.idempotency_key for item in batch]
        try:
            outcomes = services.messaging.submit_batch(user, drafts, keys)
        except InvalidInput as exc:  # named by the draft's index: the API names it in the body
            field = f"body{exc.field}"
            reason = exc.message.removeprefix(f"{exc.field}: ")
            raise InvalidInput(field, reason, code=exc.code) from None
        # serialised here in BatchOut's shape: validating up to max_batch results this code
        # built, then serialising them through the model, cost a share of the batch's time
        return Response(
            orjson.dumps({"results": [_result(o) for o in outcomes]}),
            media_type="application/json",
        )

    @app.api_route(PATH, methods=_OTHER_METHODS, include_in_schema=False)
    def batch_other_methods() -> None:
        raise StarletteHTTPException(405, headers={"Allow": "POST"})


def _draft(item: BatchItem) -> Draft:
    """The draft without its key, as the single submission has it (a key's request digest is
    the same whichever way the draft came): built from values already validated."""
    fields = {name: getattr(item, name) for name in Draft.model_fields}
    return Draft.model_construct(item.model_fields_set - {"idempotency_key"}, **fields)


def _result(outcome: Outcome) -> dict[str, Any]:
    """One :class:`BatchResult`, as JSON."""
    shown = outcome.as_json()
    error = shown["error"]
    if error is not None:  # input is echoed in messages: shown escaped, as every error is
        detail = error_body(error["code"], error["message"], error["field"], error.get("reasons"))
        shown["error"] = {**detail["error"], "reasons": detail["error"].get("reasons")}
    return shown
