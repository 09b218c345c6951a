"""Why one envelope is refused: a stable code and a text naming the problem."""

from __future__ import annotations

from secureline import errors


class Refusal(errors.Refusal):
    """The project tree's ``Refusal``, for one envelope on the line."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text, code=code)
        self.text = text
