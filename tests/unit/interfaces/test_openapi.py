"""docs/openapi.json is the document the API serves (regenerate with `make openapi`)."""

from pathlib import Path

import orjson

from secureline.interfaces.api.openapi import document, render

DOCS = Path(__file__).parents[3] / "docs" / "openapi.json"


def test_the_committed_document_has_not_drifted() -> None:
    assert DOCS.read_bytes() == render(), "run: make openapi"


def test_addresses_and_evaluations_are_strings_with_patterns() -> None:
    schemas = document()["components"]["schemas"]
    for name in ("Address", "Evaluation"):
        assert schemas[name]["type"] == "string"
        assert schemas[name]["pattern"].startswith("^")
    assert orjson.loads(render())["components"]["schemas"]["Draft"]["properties"]["to"][
        "items"
    ] == {"$ref": "#/components/schemas/Address"}
