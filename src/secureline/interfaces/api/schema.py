"""The OpenAPI document as the edge enforces it: the domain's parsed strings shown as the
strings they are on the wire, and every free text given the edge's character rules."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from secureline.interfaces.api.edge import MULTI_LINE

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


def describe_strings(app: FastAPI) -> None:
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
