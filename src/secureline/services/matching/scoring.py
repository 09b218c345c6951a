"""One entity scored against another, with the reasons.

Names: for people, :mod:`names` (measured better across scripts than nomenklatura's
``logic-v2`` alone, docs/matching.md); for every other schema, ``logic-v2``'s own name
comparison. nomenklatura's ``logic-v2`` score is reported beside ours in every explanation.
Then the evidence: a strong identifier in common decides (1.0); a birth date that disagrees
pulls the score down, one that agrees lifts it; so do nationalities.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from followthemoney import model
from followthemoney.proxy import EntityProxy

from secureline.services.matching import names
from secureline.services.matching.identifiers import identifier_keys

if TYPE_CHECKING:
    from nomenklatura.matching import ScoringConfig
    from nomenklatura.matching.types import ScoringAlgorithm

#: the score above which a candidate is reported as a match (measured: docs/matching.md)
DEFAULT_THRESHOLD = 0.8
_NAME_PROPS = ("name", "alias", "previousName")


def _logic_v2() -> tuple[type[ScoringAlgorithm], ScoringConfig]:
    # nomenklatura's matchers (numpy, scikit-learn) take seconds and about 100 MB to import:
    # a node pays for them when it first matches (or warms up, holding something to match).
    from nomenklatura.matching import LogicV2, ScoringConfig

    if not _V2_CONFIG:  # one value, made once; two threads making it at once make the same
        _V2_CONFIG.append(ScoringConfig.defaults())
    return LogicV2, _V2_CONFIG[0]


#: logic-v2's configuration, once it is first needed (a list: filled in place, no global).
_V2_CONFIG: list[ScoringConfig] = []


@dataclass(frozen=True)
class Reason:
    """One property compared: what each side had and whether it agreed."""

    property: str
    query: str
    candidate: str
    agrees: bool
    score: float
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "query": self.query,
            "candidate": self.candidate,
            "agrees": self.agrees,
            "score": round(self.score, 4),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Score:
    score: float
    reasons: list[Reason] = field(default_factory=list)


def entity_names(entity: EntityProxy) -> list[str]:
    found: list[str] = []
    for prop in _NAME_PROPS:
        if entity.schema.get(prop) is not None:
            found += entity.get(prop, quiet=True)
    return found


def _best_name(query: EntityProxy, candidate: EntityProxy) -> Reason | None:
    best: Reason | None = None
    for q in entity_names(query):
        for c in entity_names(candidate):
            found = names.compare(q, c)
            detail = ", ".join(f"{p.left}~{p.right} {p.similarity:.2f}" for p in found.pairs)
            extra = found.left_extra + found.right_extra
            if extra:
                detail += f"; unmatched {' '.join(extra)}"
            reason = Reason("name", q, c, found.score >= DEFAULT_THRESHOLD, found.score, detail)
            if best is None or reason.score > best.score:
                best = reason
    return best


def _dates(entity: EntityProxy, prop: str) -> list[str]:
    return entity.get(prop, quiet=True) if entity.schema.get(prop) is not None else []


def _dates_agree(a: str, b: str) -> bool:
    """``1952`` agrees with ``1952-10-07``: the shorter is the precision one side has."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def score(query: EntityProxy, candidate: EntityProxy, *, compare_v2: bool = True) -> Score:
    """``compare_v2``: also run nomenklatura's ``logic-v2`` for a person (a few ms a pair,
    and seconds to load its name data once): the matcher asks it for the results it shows,
    not for every candidate it ranks."""
    reasons: list[Reason] = []
    common = (
        model.common_schema(query.schema, candidate.schema)
        if _compatible(query, candidate)
        else None
    )
    theirs = {(c, v): p for p, c, v in identifier_keys(candidate)}
    for prop, cls, ident in identifier_keys(query):
        if (cls, ident) in theirs:
            reasons.append(Reason(prop, ident, ident, agrees=True, score=1.0, detail=cls))
    person = common is not None and common.is_a("Person")
    v2: float | None = None
    if common is not None and (compare_v2 or not person):
        logic_v2, config = _logic_v2()
        v2 = logic_v2.compare(_keyed(query), _keyed(candidate), config).score
    if person:
        name = _best_name(query, candidate)
        value = name.score if name is not None else 0.0
        if name is not None:
            reasons.append(name)
    else:
        value = v2 or 0.0
    if v2 is not None:
        reasons.append(Reason("name", "", "", v2 >= DEFAULT_THRESHOLD, v2, "nomenklatura logic-v2"))
    if any(r.agrees and r.detail in _STRONG for r in reasons):
        return Score(1.0, reasons)
    value = _evidence(query, candidate, value, reasons)
    return Score(max(0.0, min(1.0, value)), reasons)


_STRONG = frozenset(
    {"doc", "tax", "imo", "mmsi", "phone", "email", "iban", "wallet", "ip", "vin", "reg"}
)


def _keyed(entity: EntityProxy) -> EntityProxy:
    """A copy whose id is its content's digest: nomenklatura caches an entity's names by its
    id alone, and two holdings (or a re-imported one) may share an id with other names."""
    data = entity.to_dict()
    data["id"] = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return model.get_proxy(data, cleaned=False)


def _compatible(query: EntityProxy, candidate: EntityProxy) -> bool:
    try:
        model.common_schema(query.schema, candidate.schema)
    except Exception:  # noqa: BLE001 - followthemoney raises a bare error for unrelated schemata
        return False
    return True


def _evidence(
    query: EntityProxy, candidate: EntityProxy, value: float, reasons: list[Reason]
) -> float:
    births_q, births_c = _dates(query, "birthDate"), _dates(candidate, "birthDate")
    if births_q and births_c:
        agree = any(_dates_agree(a, b) for a in births_q for b in births_c)
        reasons.append(Reason("birthDate", births_q[0], births_c[0], agree, 1.0 if agree else 0.0))
        value = value + (1 - value) * 0.3 if agree else value * 0.6
    nat_q = set(_dates(query, "nationality")) | set(_dates(query, "citizenship"))
    nat_c = set(_dates(candidate, "nationality")) | set(_dates(candidate, "citizenship"))
    if nat_q and nat_c:
        agree = bool(nat_q & nat_c)
        reasons.append(
            Reason("nationality", ",".join(sorted(nat_q)), ",".join(sorted(nat_c)), agree,
                   1.0 if agree else 0.0)
        )  # fmt: skip
        value = value + (1 - value) * 0.1 if agree else value * 0.9
    return value
