"""Agreement files, as bytes on disk: the directory's own loader (which must turn any file
into a problem, never an exception: it runs at node start and on refresh), and
parse_agreement on text that decodes, including deep nesting."""

from __future__ import annotations

from secureline.domain.agreement import agreement_to_toml, parse_agreement
from secureline.domain.errors import DomainError
from tests.fuzz import common

TARGET = "agreement"


def seeds() -> list[bytes]:
    interpol = common.nodes()["interpol"]
    real = interpol.layout.agreement("europol").read_bytes()
    agreement = parse_agreement(real.decode("utf-8"))
    return [real, agreement_to_toml(agreement).encode("utf-8")]


def one_input(data: bytes) -> None:
    interpol = common.nodes()["interpol"]
    path = interpol.layout.agreement("europol")
    original = path.read_bytes()
    try:
        path.write_bytes(data)
        # Private, but the very function node start and refresh run for each peer's file.
        common.guarded(lambda: interpol.directory._load_agreement("europol"), ())
    finally:
        path.write_bytes(original)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    common.guarded(lambda: parse_agreement(text), (DomainError,))
