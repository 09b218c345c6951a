"""What a node supports: the protocol version it speaks and the message kinds it takes.

A node states them in its peer file (node/peering.py), where the fingerprint covers them, so
that what a partner says it supports is as authenticated as its keys. A pinned peer's are
kept in the node directory, ``peers/<name>.json``, next to the agreements and read with them
(services/line/directory.py): every worker of the node reads the same file.

It states them again on the line (docs/protocol.md §3c), in a **statement** it signs with
its node key: in each transaction it sends and in each answer it gives. The statement is
signed once, when the node is built (it changes only with its configuration), so the line
pays for it per transaction in bytes only; a partner verifies a statement only when it
differs from the one it took in last. What a partner states there is recorded in its
``peers`` row (every worker reads it), and a sender uses the narrower of that and the
pinned peer file (:meth:`Capabilities.narrower`).

Kinds are kept as text: a partner of a newer version names kinds this software does not
know, and all a sender asks is whether a kind of its own is among them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from secureline.crypto.envelope import sign_envelope, verify_envelope
from secureline.crypto.errors import CryptoError
from secureline.crypto.keys import SigningKey, VerifyKey
from secureline.domain.vocabulary import KIND_NAME, PROTOCOL_KINDS, Kind

log = logging.getLogger(__name__)
#: More kinds than any version will define: a bound on what a peer file may list.
MAX_KINDS = 200
#: Refused on arrival: a kind the receiving node does not take (docs/protocol.md §5, 4b).
UNKNOWN_KIND = "unknown_kind"
#: Refused by the sender (at submit, or a relay): a kind the destination or the next hop
#: did not state it supports.
KIND_NOT_SUPPORTED = "kind_not_supported"


@dataclass(frozen=True)
class Capabilities:
    protocol: int
    kinds: frozenset[str]

    @classmethod
    def of(cls, protocol: int, kinds: frozenset[Kind]) -> Capabilities:
        return cls(protocol, frozenset(str(kind) for kind in kinds))

    def supports(self, kind: Kind) -> bool:
        return kind.value in self.kinds

    def lacks(self, node: str, kind: str) -> str:
        """Why ``node``, with these capabilities, is not sent ``kind``: for a refusal."""
        return (
            f"{node} does not support the kind {kind!r} "
            f"(protocol {self.protocol}: {', '.join(sorted(self.kinds))})"
        )

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "kinds": sorted(self.kinds)}

    def narrower(self, other: Capabilities | None) -> Capabilities:
        """What both say: the lower version and the kinds in both (``other`` None: self)."""
        if other is None or other == self:
            return self
        return Capabilities(min(self.protocol, other.protocol), self.kinds & other.kinds)


#: A peer whose file states nothing (a node older than protocol versions) speaks version 1.
PROTOCOL_1 = Capabilities.of(1, PROTOCOL_KINDS[1])


def parse_capabilities(raw: Mapping[str, Any]) -> Capabilities | None:
    """The ``protocol`` and ``kinds`` of a peer file; None when it states neither. Raises
    ValueError naming what is wrong."""
    if "protocol" not in raw and "kinds" not in raw:
        return None
    protocol, kinds = raw.get("protocol"), raw.get("kinds")
    if protocol.__class__ is not int or protocol < 1:  # not a bool, which is an int
        raise ValueError(f"protocol: must be an integer of 1 or more, got {protocol!r}")
    if not isinstance(kinds, list) or not 1 <= len(kinds) <= MAX_KINDS:
        raise ValueError(f"kinds: must be a list of 1 to {MAX_KINDS} kinds")
    bad = next((k for k in kinds if not isinstance(k, str) or not KIND_NAME.fullmatch(k)), None)
    if bad is not None:
        raise ValueError(f"kinds: {str(bad)[:80]!r} is not a kind name")
    if len(set(kinds)) != len(kinds):
        raise ValueError("kinds: a kind is listed twice")
    return Capabilities(protocol, frozenset(kinds))


def read_capabilities(path: Path) -> Capabilities:
    """A pinned peer's capabilities; protocol 1 when none were stated (or the file is
    damaged: the partner then refuses, with unknown_kind, a kind it does not take)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return PROTOCOL_1
    except OSError as exc:
        log.warning("capabilities: %s cannot be read (%s): protocol 1 assumed", path, exc)
        return PROTOCOL_1
    try:
        raw = orjson.loads(data)
        stated = parse_capabilities(raw) if isinstance(raw, dict) else None
    except (orjson.JSONDecodeError, ValueError) as exc:
        log.warning("capabilities: %s is damaged (%s): protocol 1 assumed", path, exc)
        return PROTOCOL_1
    return stated or PROTOCOL_1


def write_capabilities(path: Path, capabilities: Capabilities) -> None:
    """Replace the file whole (written aside, then renamed), so no reader sees half of it."""
    path.parent.mkdir(exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.write_bytes(orjson.dumps(capabilities.to_json(), option=orjson.OPT_INDENT_2))
    aside.replace(path)


# --- the statement on the line (docs/protocol.md §3c) ---------------------------------------

STATEMENT_TYPE = "secureline-capabilities+jws"


def sign_statement(node: str, capabilities: Capabilities, key: SigningKey) -> str:
    """``{"v": 1, "node": ..., "protocol": ..., "kinds": [...]}``, signed by the node."""
    payload = {"v": 1, "node": node, **capabilities.to_json()}
    return sign_envelope(orjson.dumps(payload), key, typ=STATEMENT_TYPE)


def open_statement(token: object, peer: str, key: VerifyKey) -> Capabilities:
    """A statement ``peer`` signed with its pinned key; ValueError saying what is wrong
    (the signature, the type, another node's statement, or its form)."""
    if not isinstance(token, str) or len(token) > 16 * 1024:
        raise ValueError("a statement is a JWS of at most 16 KiB")
    try:
        verified = verify_envelope(token, {key.kid: key}, typ=STATEMENT_TYPE)
    except CryptoError as exc:
        raise ValueError(f"statement: {exc}") from None
    try:
        body = orjson.loads(verified.payload)
    except orjson.JSONDecodeError:
        raise ValueError("statement: not JSON") from None
    if not isinstance(body, dict) or body.get("v") != 1 or body.get("node") != peer:
        raise ValueError(f"statement: not version 1 of {peer}'s")
    unknown = set(body) - {"v", "node", "protocol", "kinds"}
    if unknown:
        raise ValueError(f"statement: unknown fields {sorted(unknown)}")
    stated = parse_capabilities(body)
    if stated is None:
        raise ValueError("statement: states neither protocol nor kinds")
    return stated
