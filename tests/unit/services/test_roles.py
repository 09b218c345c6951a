"""Who may do what: the table, the unit rules, and the table in docs/architecture.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secureline.services import roles
from secureline.services.errors import Forbidden
from secureline.services.roles import MAY, Action, Principal, Role

ARCHITECTURE = Path(__file__).parents[3] / "docs" / "architecture.md"


def _person(role: Role, unit: str = "cc") -> Principal:
    return Principal("id", f"{unit}-{role}", unit, role)


def test_every_action_has_its_roles() -> None:
    assert set(MAY) == set(Action)
    assert all(MAY[action] for action in Action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_require_refuses_exactly_the_roles_the_table_leaves_out(action: Action, role: Role) -> None:
    person = _person(role)
    if role in MAY[action]:
        roles.require(person, action, "no")
    else:
        with pytest.raises(Forbidden) as refused:
            roles.require(person, action, "no", code="named_code")
        assert refused.value.code == "named_code"


def test_a_unit_is_acted_for_by_its_own_and_by_administrators_and_overseen_by_the_dpo() -> None:
    assert roles.acts_for(_person(Role.OFFICER), "cc")
    assert not roles.acts_for(_person(Role.OFFICER), "ops")
    assert roles.acts_for(_person(Role.ADMIN, unit=""), "ops")
    assert not roles.acts_for(_person(Role.DPO, unit="dpo"), "ops")
    assert roles.oversees(_person(Role.DPO, unit="dpo"), "ops")
    assert not roles.oversees(_person(Role.SYSTEM), "ops")
    assert roles.oversees_every_unit(_person(Role.DPO))
    assert roles.acts_for_every_unit(_person(Role.ADMIN))


def test_the_documented_table_is_the_code_s() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    documented = {
        Action(m.group(1)): frozenset(Role(r.strip()) for r in m.group(2).split(","))
        for m in re.finditer(r"^\| `([a-z-]+)` \| ([a-z, ]+) \|$", section, re.M)
    }
    assert documented == dict(MAY)
