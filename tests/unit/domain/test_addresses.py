"""Addresses and evaluation codes as pydantic reads them: the shortcuts change no answer."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from secureline.domain.addresses import Address, AddressField
from secureline.domain.errors import InvalidAddress
from secureline.domain.evaluation import Evaluation, EvaluationField


class Model(BaseModel):
    to: AddressField
    evaluation: EvaluationField


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ops@europol", Address("ops", "europol")), ("  OPS@Europol ", Address("ops", "europol"))],
)
def test_an_address_reads_the_same_the_first_time_and_after(text: str, expected: Address) -> None:
    for _ in range(3):  # the first read parses; later ones may come from the cache
        assert Model(to=text, evaluation="B2").to == expected


@pytest.mark.parametrize("text", ["ops", "a@b@c", "Ops Room@europol", "@europol", ""])
def test_a_bad_address_is_refused_every_time(text: str) -> None:
    for _ in range(2):  # a refusal is never cached as an answer
        with pytest.raises(ValidationError):
            Model(to=text, evaluation="B2")
    with pytest.raises(InvalidAddress):
        Address.parse(text)


@pytest.mark.parametrize(("text", "code"), [("B2", "B2"), ("x4", "X4"), (" a1 ", "A1")])
def test_an_evaluation_code_reads_as_its_canonical_form(text: str, code: str) -> None:
    evaluation = Model(to="ops@europol", evaluation=text).evaluation
    assert evaluation == Evaluation.parse(code)
    assert str(evaluation) == code


@pytest.mark.parametrize("text", ["B5", "D1", "B", "B22", ""])
def test_a_bad_evaluation_code_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Model(to="ops@europol", evaluation=text)
