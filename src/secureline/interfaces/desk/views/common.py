"""Small helpers the views share: reading ids and fields from requests and forms."""

from __future__ import annotations

from starlette.requests import Request

from secureline.domain.message import MESSAGE_ID
from secureline.services.errors import NotFoundError


def message_id(request: Request, name: str = "message_id") -> str:
    """The id in the path; anything not shaped like an id is simply not found."""
    value = str(request.path_params[name])
    if not MESSAGE_ID.fullmatch(value):
        raise NotFoundError("no such message")
    return value


def field(form: dict[str, list[str]], name: str) -> str:
    """One field of a posted form, trimmed ("" when absent)."""
    return form.get(name, [""])[0].strip()
