"""JSON text with one reading: an object that names a key twice is refused.

Two parsers can read ``{"to": "a", "to": "b"}`` differently (the first value or the last), so
a signer and a verifier, or a relay and a destination, could act on different messages
under one signature. Every signed payload is read through :func:`loads_unique`.

Our own writers (orjson, compact) produce the one spelling orjson writes back: for those the
check is a re-serialisation compared byte for byte (a duplicate key would be dropped, so the
text could not come back the same). Any other spelling is parsed again by the standard
library with a hook that sees every key.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from secureline.errors import BadInput


class DuplicateKey(BadInput, ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"names the key {key[:64]!r} twice")
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return value


def loads_unique(data: bytes | str) -> Any:
    """``orjson.loads``, refusing an object with a repeated key (:class:`DuplicateKey`);
    invalid JSON raises ``orjson.JSONDecodeError`` as orjson does."""
    value = orjson.loads(data)
    raw = data.encode() if isinstance(data, str) else data
    if isinstance(value, dict | list) and orjson.dumps(value) != raw:
        json.loads(raw, object_pairs_hook=_unique)
    return value
