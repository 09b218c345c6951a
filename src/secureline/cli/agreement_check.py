"""``secureline agreement check``: every problem of an agreement file in one run.

The domain's parser stops at the first problem, which is right for a node loading its terms
(fail closed) but slow for an administrator drafting them. So the check parses, notes the
problem, puts a known-good value in place of the key at fault, and parses again, until the file
is valid or a problem cannot be set aside; every problem found is reported together.

It also warns about terms that are valid but would hurt: kinds that leave out the provider's
own control messages (deletion, correction, permission), without which a provider could not
withdraw, correct or ask for permission about what it shared over the link."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

from secureline.domain.agreement import KEYS, OPTIONAL_KEYS, Agreement, parse_agreement
from secureline.domain.errors import InvalidAgreement
from secureline.services.kinds import registry as kinds

#: One valid value per key, put in place of a faulty one so that parsing can go on.
_GOOD: dict[str, Any] = {
    "id": "check",
    "version": 1,
    "parties": ["check-a", "check-b"],
    "crime_areas": ["*"],
    "kinds": ["*"],
    "classification_ceiling": "restricted",
    "purposes": ["*"],
    "personal_data": False,
    "data_subjects": [],
    "max_attachment_bytes": 1,
    "onward_transfer": "never",
    "retention_max_days": 1,
    "alerts_need_review": True,
    "confidentiality": "optional",
    **OPTIONAL_KEYS,
}
assert set(_GOOD) == {*KEYS, *OPTIONAL_KEYS}, "the check's good values must cover every key"


@dataclass
class Checked:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    agreement: Agreement | None = None


def _toml(table: dict[str, Any]) -> str:
    # JSON's strings, numbers, booleans and lists of them are valid TOML values
    lines = ["[agreement]"] + [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _first_problem(text: str) -> list[str]:
    try:
        parse_agreement(text)
    except InvalidAgreement as exc:
        return [str(exc)]
    return []


def check(text: str) -> Checked:
    result = Checked()
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        result.problems.append(f"toml: not valid TOML: {exc}")
        return result
    raw = document.get("agreement")
    if not isinstance(raw, dict) or set(document) != {"agreement"}:
        result.problems += _first_problem(text)
        return result
    table = dict(raw)
    unknown = [key for key in table if key not in KEYS and key not in OPTIONAL_KEYS]
    if unknown:
        result.problems += _first_problem(text)
        for key in unknown:
            del table[key]
    missing = [key for key in KEYS if key not in table]
    if missing:
        result.problems.append(
            f"{missing[0]}: required key(s) missing from [agreement]: {', '.join(missing)}"
        )
        table.update({key: _GOOD[key] for key in missing})
    for _ in _GOOD:  # at most one problem per key
        try:
            result.agreement = parse_agreement(_toml(table))
            break
        except InvalidAgreement as exc:
            if exc.field not in _GOOD or table.get(exc.field) == _GOOD[exc.field]:
                result.problems.append(str(exc))
                break
            result.problems.append(str(exc))
            table[exc.field] = _GOOD[exc.field]
    if result.problems:
        result.agreement = None  # a digest only for a file that is valid as it stands
    result.warnings += _kind_warnings(raw.get("kinds"))
    return result


def _kind_warnings(listed: object) -> list[str]:
    if not isinstance(listed, list) or "*" in listed:
        return []
    # the control kinds are the kind modules' to declare (their facts' ``control``)
    blocked = [k.value for k in kinds.control_kinds() if k.value not in listed]
    if not blocked:
        return []
    return [
        f"kinds: leaves out {', '.join(blocked)}: the provider could not send these control "
        "messages over the link (withdraw, correct or ask permission about what it shared); "
        "add them to kinds"
    ]
