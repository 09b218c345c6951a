"""loads_unique: one reading of a signed payload."""

import orjson
import pytest

from secureline.domain.jsontext import DuplicateKey, loads_unique


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1,"a":2}',  # our own compact spelling
        b'{"a": 1, "a": 2}',  # another writer's spelling
        b'{"outer":{"to":"x","to":"y"}}',  # nested
        b'[{"k":1},{"k":2,"k":3}]',  # inside a list
    ],
)
def test_a_key_named_twice_is_refused(text: bytes) -> None:
    with pytest.raises(DuplicateKey, match="twice"):
        loads_unique(text)


@pytest.mark.parametrize(
    "text",
    [b'{"a":1,"b":{"a":2}}', b'{"a": [1, {"b": "\\u00e9"}]}', b'"text"', b"[]", b"5"],
)
def test_the_same_key_at_different_levels_is_fine(text: bytes) -> None:
    assert loads_unique(text) == orjson.loads(text)


def test_invalid_json_raises_as_orjson_does() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        loads_unique(b"{")
