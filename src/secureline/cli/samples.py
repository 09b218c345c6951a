"""Synthetic traffic for the demo and the benchmark: invented people, vessels and incidents.

Never real people's data: names are drawn from small invented lists and combined at random.
"""

from __future__ import annotations

import random
from typing import Any

GIVEN = ["Ana", "Luis", "Marta", "Omar", "Lena", "Pieter", "Sofia", "Karim", "Ines", "Tomas"]
FAMILY = ["Ferrano", "Vidalle", "Markov", "Osteen", "Delacroix", "Haddou", "Brenner", "Quintal"]
VESSELS = ["Sea Lark", "Northern Dawn", "Coral Runner", "Blue Meridian", "Stella Maris"]

SUBJECTS = {
    "maritime-piracy": "Skiff with ladders sighted near shipping lane",
    "counter-terrorism": "Travel pattern of a person of interest",
    "major-events": "Security coordination for an international summit",
    "cyber-crime": "Ransomware wallet cluster observed",
    "child-sexual-exploitation": "Hash set from a seized device",
}


def entities(rng: random.Random, count: int, tag: str) -> list[dict[str, Any]]:
    """``count`` entities: a person, a vessel, a company with a phone, a wallet, an address."""
    made: list[dict[str, Any]] = []
    for i in range(count):
        kind = i % 5
        eid = f"{tag}-e{i}"
        if kind == 0:
            made.append(
                {
                    "id": eid,
                    "schema": "Person",
                    "properties": {
                        "name": [f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"],
                        "birthDate": [
                            f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                        ],
                        "nationality": [rng.choice(["es", "fr", "nl", "de", "it"])],
                    },
                }
            )
        elif kind == 1:
            made.append(
                {
                    "id": eid,
                    "schema": "Vessel",
                    "properties": {
                        "name": [rng.choice(VESSELS)],
                        "imoNumber": [f"IMO{rng.randint(9000000, 9999999)}"],
                        "flag": [rng.choice(["pa", "lr", "mt"])],
                    },
                }
            )
        elif kind == 2:
            made.append(
                {
                    "id": eid,
                    "schema": "Organization",
                    "properties": {
                        "name": [f"{rng.choice(FAMILY)} Shipping Ltd"],
                        "phone": [f"+3460{rng.randint(1000000, 9999999)}"],
                    },
                }
            )
        elif kind == 3:
            made.append(
                {
                    "id": eid,
                    "schema": "CryptoWallet",
                    "properties": {
                        "publicKey": [f"bc1q{rng.getrandbits(128):032x}"],
                        "currency": ["BTC"],
                    },
                }
            )
        else:
            made.append(
                {
                    "id": eid,
                    "schema": "Address",
                    "properties": {
                        "full": [f"{rng.randint(1, 99)} Harbour Road, Valencia"],
                        "country": ["es"],
                    },
                }
            )
    return made


def draft(
    rng: random.Random,
    to: str,
    area: str,
    tag: str,
    *,
    n_entities: int = 4,
    body_bytes: int = 1200,
    **overrides: Any,
) -> dict[str, Any]:
    ents = entities(rng, n_entities, tag)
    body = ("Synthetic report. " * (body_bytes // 18 + 1))[:body_bytes]
    message: dict[str, Any] = {
        "to": [to],
        "kind": "information",
        "crime_area": area,
        "subject": SUBJECTS.get(area, "Operational information"),
        "handling": "H0",
        "evaluation": "B2",
        "purpose": "prevent and combat serious crime",
        "body": body,
        "entities": ents,
        "data_subjects": ["suspect"] if any(e["schema"] == "Person" for e in ents) else [],
    }
    message.update(overrides)
    return message


#: distinct drafts a benchmark makes before its clock starts; a longer run sends them again
#: in turn (the node gives every submission its own id), so that its own memory stays bounded
BENCH_POOL = 5_000


def bench_drafts(count: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    """The benchmarks' traffic: ``count`` drafts of about 2.7 KB (an 1,100-byte body and 3 to
    5 entities) to ``ops@europol``, the same for the same seed."""
    rng = random.Random(seed)
    return [
        draft(
            rng,
            "ops@europol",
            "cyber-crime",
            f"{prefix}{i}",
            n_entities=rng.randint(3, 5),
            body_bytes=1100,
        )
        for i in range(count)
    ]
