"""Why one envelope is refused: a stable code and a text naming the problem."""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
