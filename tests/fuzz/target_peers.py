"""Peer files (node/peering.py parse_peer_file): what an administrator imports."""

from __future__ import annotations

import orjson

from secureline.node.errors import NodeError
from secureline.node.peering import parse_peer_file
from tests.fuzz import common

TARGET = "peers"


def seeds() -> list[bytes]:
    exported = common.nodes()["europol"].peering.export()
    compact = orjson.dumps(orjson.loads(exported.to_json()))
    return [exported.to_json(), compact]


def one_input(data: bytes) -> None:
    common.guarded(lambda: parse_peer_file(data, "fuzz"), (NodeError,))
