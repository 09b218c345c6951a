"""``secureline vocab``: the values a message's marking and entities may take, from the code
that checks them (so the list cannot drift from what the node accepts)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from secureline.cli.common import Json, out
from secureline.cli.render import HANDLING_MEANING, dumps
from secureline.domain.entities import PERSONAL_SCHEMATA
from secureline.domain.evaluation import INFORMATION_ACCURACY, SOURCE_RELIABILITY, Evaluation
from secureline.domain.vocabulary import (
    PRIORITY_AREAS,
    SENSITIVE_SUBJECTS,
    AlertType,
    CrimeArea,
    DataSubject,
    HandlingCode,
    Kind,
)


def _entity_schemata() -> list[dict[str, Any]]:
    # the same model and rule as domain.entities: any concrete (non-abstract) FtM schema
    from followthemoney import model

    return [
        {
            "name": schema.name,
            "label": str(schema.label),
            "personal_data": schema.name in PERSONAL_SCHEMATA,
            "properties": sorted(schema.properties),
        }
        for schema in sorted(model.schemata.values(), key=lambda s: s.name)
        if not schema.abstract
    ]


def vocabulary() -> dict[str, Any]:
    return {
        "crime_areas": [
            {"value": a.value, "priority_area": a in PRIORITY_AREAS} for a in CrimeArea
        ],
        "kinds": [k.value for k in Kind],
        "alert_types": [a.value for a in AlertType],
        "handling_codes": [
            {"value": h.value, "meaning": HANDLING_MEANING[h]} for h in HandlingCode
        ],
        "evaluation_codes": [
            {"value": s + a, "meaning": Evaluation(s, a).describe()}
            for s in SOURCE_RELIABILITY
            for a in INFORMATION_ACCURACY
        ],
        "data_subjects": [
            {"value": d.value, "sensitive": d in SENSITIVE_SUBJECTS} for d in DataSubject
        ],
        "entity_schemata": _entity_schemata(),
    }


def vocab(as_json: Json = False) -> None:
    """Crime areas, kinds, handling codes, evaluation codes, data subject categories and the
    entity schemata a message may carry.

    Example: secureline vocab --json
    """
    found = vocabulary()
    if as_json:
        print(dumps(found))
        return
    areas = Table("crime area", "priority area", title="crime areas (--area)")
    for a in found["crime_areas"]:
        areas.add_row(a["value"], "yes" if a["priority_area"] else "")
    out.print(areas)
    out.print(Text("kinds (--kind): " + ", ".join(found["kinds"])), soft_wrap=True)
    out.print(Text("alert types (--alert): " + ", ".join(found["alert_types"])), soft_wrap=True)
    handling = Table("code", "meaning", title="handling codes (--handling)")
    for h in found["handling_codes"]:
        handling.add_row(h["value"], h["meaning"])
    out.print(handling)
    evaluation = Table("code", "meaning", title="evaluation codes (--evaluation)")
    for e in found["evaluation_codes"]:
        evaluation.add_row(e["value"], e["meaning"])
    out.print(evaluation)
    subjects = Table("category", "sensitive", title="data subjects (--data-subject)")
    for d in found["data_subjects"]:
        subjects.add_row(d["value"], "yes" if d["sensitive"] else "")
    out.print(subjects)
    schemata = Table("schema", "personal data", "properties", title="entity schemata")
    for s in found["entity_schemata"]:
        schemata.add_row(
            s["name"], "yes" if s["personal_data"] else "", Text(", ".join(s["properties"]))
        )
    out.print(schemata)
