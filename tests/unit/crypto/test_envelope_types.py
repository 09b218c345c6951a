"""A token in a peer's JSON may be any JSON value: anything but a string is malformed (issue 21:
a checkpoint that was a number raised AttributeError in ``_split``)."""

from __future__ import annotations

from typing import Any

import pytest

from secureline.crypto.envelope import peek_kid, verify_envelope
from secureline.crypto.errors import MalformedToken


@pytest.mark.parametrize("token", [5, 2.5, None, True, ["a.b.c"], {"a": "b.c"}, b"a.b.c"])
def test_a_token_that_is_not_a_string_is_malformed(token: Any) -> None:
    with pytest.raises(MalformedToken, match="must be a string"):
        verify_envelope(token, {})
    with pytest.raises(MalformedToken, match="must be a string"):
        peek_kid(token)
