"""Addresses, handling codes, evaluation codes, TLP and the UK 3x5x2 code: the input's first
byte picks the parser, the rest is its text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from secureline.domain.addresses import Address, check_name
from secureline.domain.errors import DomainError
from secureline.domain.evaluation import Evaluation
from secureline.domain.markings import from_tlp, from_uk_3x5x2, to_tlp, to_uk_3x5x2
from secureline.domain.vocabulary import Classification, HandlingCode

TARGET = "markings"


def _handling(text: str) -> Any:
    try:
        code = HandlingCode(text)
    except ValueError:  # the enum's own refusal: what the models turn into InvalidMessage
        return None
    return [to_tlp(code, c) for c in Classification]


def _evaluation(text: str) -> Any:
    evaluation = Evaluation.parse(text)
    return [to_uk_3x5x2(evaluation, h) for h in HandlingCode]


PARSERS: list[Callable[[str], Any]] = [
    Address.parse,
    check_name,
    _evaluation,
    from_tlp,
    from_uk_3x5x2,
    _handling,
]


def seeds() -> list[bytes]:
    texts = ["ops@europol", "cc", "B2", "TLP:AMBER", "A1P", "H2"]
    return [bytes([i]) + t.encode() for i, t in enumerate(texts)]


def one_input(data: bytes) -> None:
    from tests.fuzz import common

    if not data:
        return
    parser = PARSERS[data[0] % len(PARSERS)]
    text = data[1:].decode("utf-8", "replace")
    common.guarded(lambda: parser(text), (DomainError,))
