"""What a peer file states it supports: parsed strictly, read back leniently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind
from secureline.services.line.capabilities import (
    MAX_KINDS,
    PROTOCOL_1,
    Capabilities,
    parse_capabilities,
    read_capabilities,
    write_capabilities,
)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"protocol": "1", "kinds": ["request"]}, "protocol: must be an integer"),
        ({"protocol": True, "kinds": ["request"]}, "protocol: must be an integer"),
        ({"protocol": 0, "kinds": ["request"]}, "protocol: must be an integer of 1 or more"),
        ({"kinds": ["request"]}, "protocol: must be an integer"),
        ({"protocol": 1}, "kinds: must be a list"),
        ({"protocol": 1, "kinds": "request"}, "kinds: must be a list"),
        ({"protocol": 1, "kinds": []}, "kinds: must be a list of 1 to"),
        ({"protocol": 1, "kinds": ["k"] * (MAX_KINDS + 1)}, "kinds: must be a list of 1 to"),
        ({"protocol": 1, "kinds": ["request", "request"]}, "listed twice"),
        ({"protocol": 1, "kinds": ["Request!"]}, "'Request!' is not a kind name"),
        ({"protocol": 1, "kinds": ["x" * 64]}, "is not a kind name"),
        ({"protocol": 1, "kinds": [5]}, "'5' is not a kind name"),
    ],
)
def test_malformed_capabilities_are_refused_naming_the_key(
    raw: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_capabilities(raw)


def test_a_newer_partner_may_name_kinds_this_software_does_not_know() -> None:
    stated = parse_capabilities({"protocol": 2, "kinds": ["case-update", "request"]})
    assert stated == Capabilities(2, frozenset({"case-update", "request"}))
    assert stated.supports(Kind.REQUEST)
    assert not stated.supports(Kind.ALERT)


def test_a_file_that_states_nothing_is_none() -> None:
    assert parse_capabilities({"node": "europol"}) is None


def test_stored_capabilities_read_back_and_a_missing_or_damaged_file_is_protocol_1(
    tmp_path: Path,
) -> None:
    path = tmp_path / "peers" / "europol.json"
    assert read_capabilities(path) == PROTOCOL_1
    stated = Capabilities(1, frozenset({"request", "reply"}))
    write_capabilities(path, stated)
    assert read_capabilities(path) == stated
    path.write_text("{not json", encoding="utf-8")
    assert read_capabilities(path) == PROTOCOL_1
    path.write_text('{"protocol": 1, "kinds": []}', encoding="utf-8")
    assert read_capabilities(path) == PROTOCOL_1


def test_protocol_1_is_every_kind_of_version_1() -> None:
    assert PROTOCOL_1.kinds == {str(k) for k in PROTOCOL_KINDS[1]}
    assert "does not support the kind 'x' (protocol 1: acknowledgement, " in PROTOCOL_1.lacks(
        "europol", "x"
    )


# --- the statement on the line --------------------------------------------------------------


def test_a_statement_opens_only_as_its_signer_s_own() -> None:
    from secureline.crypto.envelope import sign_envelope
    from secureline.crypto.keys import generate_signing_key
    from secureline.services.line.capabilities import (
        STATEMENT_TYPE,
        open_statement,
        sign_statement,
    )

    europol, interpol = generate_signing_key("europol"), generate_signing_key("interpol")
    pinned = europol.verify_key()
    stated = Capabilities(1, frozenset({"request", "reply"}))
    token = sign_statement("europol", stated, europol)
    assert open_statement(token, "europol", pinned) == stated

    with pytest.raises(ValueError, match="statement: "):  # another node's key
        open_statement(sign_statement("europol", stated, interpol), "europol", pinned)
    with pytest.raises(ValueError, match="not version 1 of europol's"):  # another node's name
        open_statement(sign_statement("interpol", stated, europol), "europol", pinned)
    with pytest.raises(ValueError, match="statement: "):  # an envelope is no statement
        open_statement(sign_envelope(b"{}", europol), "europol", pinned)
    extra = orjson.dumps({"v": 1, "node": "europol", "protocol": 1, "kinds": ["x"], "more": 1})
    with pytest.raises(ValueError, match="unknown fields"):
        open_statement(
            sign_envelope(extra, europol, STATEMENT_TYPE), "europol", europol.verify_key()
        )
    with pytest.raises(ValueError, match="at most 16 KiB"):
        open_statement(5, "europol", pinned)


def test_the_narrower_of_two_statements_is_what_both_say() -> None:
    wide = Capabilities(2, frozenset({"request", "reply", "case-update"}))
    narrow = Capabilities(1, frozenset({"request", "alert"}))
    assert wide.narrower(narrow) == Capabilities(1, frozenset({"request"}))
    assert wide.narrower(None) is wide
