"""Print the API's OpenAPI document (committed as docs/openapi.json; a test checks drift)."""

from __future__ import annotations

import sys
from typing import Any, cast

import orjson

from secureline.interfaces.api.app import Services, create_app


def document() -> dict[str, Any]:
    # Only the routes' shapes matter for the document; no service is called.
    services: Services = cast(Any, Services).model_construct(node="node", accounts=None)
    result: dict[str, Any] = create_app(services).openapi()
    return result


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render())
