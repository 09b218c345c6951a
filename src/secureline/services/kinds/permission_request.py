"""``permission-request``: a recipient asks the provider of a message for a permission.

Its body is the request as JSON (:class:`PermissionRequest`); it replies to the message it is
about and goes to that message's sender. It has no effect on receipt: it waits in the
provider's inbox until a grant (``permission-grant``) or a refusal (kept at the provider,
services/permission_decisions.py) answers it.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from secureline.domain.kinds import facts
from secureline.domain.message import Header
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import KindSpec

#: how its kind reads in a stored header (compact JSON): an inbox is filtered on it in the
#: database rather than every header parsed
IN_HEADER = orjson.dumps({"kind": Kind.PERMISSION_REQUEST.value}).decode()[1:-1]


class PermissionRequest(BaseModel):
    """What a permission request asks (read leniently: it is shown, never trusted)."""

    model_config = ConfigDict(extra="allow")

    message_id: str | None = None
    scope: str | None = None
    grantee: str | None = None
    purpose: str | None = None
    reason: str | None = None


def draft(marking: dict[str, Any], original: Header, request: dict[str, Any]) -> dict[str, Any]:
    """The message asking ``original``'s provider for ``request``."""
    return {
        **marking,
        "kind": Kind.PERMISSION_REQUEST.value,
        "to": [str(original.sender)],
        "subject": f"Permission request ({request['scope']}) for {original.id}",
        "reply_to": original.id,
        "body": orjson.dumps(request).decode(),
    }


def is_request(header: Header) -> bool:
    return header.kind is Kind.PERMISSION_REQUEST


def asked(content_json: str) -> dict[str, Any]:
    """What a stored permission request asks: its body's object, or {} when it is none."""
    try:
        body = orjson.loads(orjson.loads(content_json).get("body", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


SPEC = KindSpec(
    Kind.PERMISSION_REQUEST,
    "a recipient asks the provider of a message for a permission",
    facts(Kind.PERMISSION_REQUEST),
    payload=PermissionRequest,
)
