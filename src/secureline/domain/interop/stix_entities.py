"""STIX objects with a FollowTheMoney counterpart, as FtM entities, so that cross-checking
and search see them.

=====================================  ==============================================
STIX                                   FollowTheMoney
=====================================  ==============================================
identity (individual)                  Person
identity (organization, group)         Organization
identity (class, system, unknown)      LegalEntity
threat-actor                           LegalEntity (a person or a group: STIX does not say)
intrusion-set                          Organization
location                               Address
vulnerability                          Note (name: the CVE id when there is one)
indicator / SCO of an IPv4 or IPv6     Note with ``ipMentioned``
address, e-mail address, phone
number (``phone-number``), URL,
domain name                            Note with ``emailMentioned``, ``phoneMentioned``,
                                       ``sourceUrl`` or the domain as its name
file hash (indicator or ``file``)      Document (``contentHash`` for SHA-1; every hash as
                                       ``keywords`` ``ALGORITHM:value``)
crypto wallet                          CryptoWallet (``publicKey``)
(``cryptocurrency-wallet``)
=====================================  ==============================================

FtM has no schema for a domain or a URL, and Note is the schema for "something said about
these": its typed ``...Mentioned`` properties are what FtM's matching reads. An indicator
yields one entity per value its pattern compares with ``=`` (``MATCHES`` and ``LIKE`` name
no value). Entity ids are the STIX id (with ``:N`` for the N-th value of a pattern), so that
every entity leads back to its object. Values FtM would refuse (a phone number not in E.164
form, say) are left out of the entity, not of the bundle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from followthemoney import registry
from stix2patterns.pattern import Pattern

__all__ = ["entities_of"]

_PHONE_TYPES = ("phone-number", "x-phone-number")
_WALLET_TYPES = ("cryptocurrency-wallet", "x-cryptocurrency-wallet")
_MAX_TEXT = 4_000


def _text(value: Any, limit: int = _MAX_TEXT) -> list[str]:
    if isinstance(value, str) and value.strip():
        return [value.strip()[:limit]]
    return []


def _texts(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [t for v in values for t in _text(v, 500)][:50]


def _entity(entity_id: str, schema: str, **properties: list[str]) -> dict[str, Any]:
    return {
        "id": entity_id,
        "schema": schema,
        "properties": {k: v for k, v in properties.items() if v},
    }


def _identity(obj: Mapping[str, Any]) -> dict[str, Any]:
    schema = {"individual": "Person", "organization": "Organization", "group": "Organization"}
    return _entity(
        obj["id"],
        schema.get(str(obj.get("identity_class")), "LegalEntity"),
        name=_text(obj.get("name"), 500),
        description=_text(obj.get("description")),
    )


def _actor(obj: Mapping[str, Any], schema: str) -> dict[str, Any]:
    return _entity(
        obj["id"],
        schema,
        name=_text(obj.get("name"), 500),
        alias=_texts(obj.get("aliases")),
        description=_text(obj.get("description")),
        topics=["crime.cyber"],
    )


def _location(obj: Mapping[str, Any]) -> dict[str, Any]:
    country = str(obj.get("country", "")).lower()
    return _entity(
        obj["id"],
        "Address",
        name=_text(obj.get("name"), 500),
        full=_text(obj.get("street_address"), 500),
        city=_text(obj.get("city"), 200),
        region=_text(obj.get("region"), 200),
        postalCode=_text(obj.get("postal_code"), 50),
        country=[country] if registry.country.validate(country) else [],
        latitude=[str(obj["latitude"])] if isinstance(obj.get("latitude"), int | float) else [],
        longitude=[str(obj["longitude"])] if isinstance(obj.get("longitude"), int | float) else [],
    )


def _vulnerability(obj: Mapping[str, Any]) -> dict[str, Any]:
    cves = [
        str(ref.get("external_id"))
        for ref in obj.get("external_references") or ()
        if isinstance(ref, Mapping) and ref.get("source_name") == "cve" and ref.get("external_id")
    ]
    return _entity(
        obj["id"],
        "Note",
        name=(cves[:1] or _text(obj.get("name"), 500)),
        alias=_text(obj.get("name"), 500) if cves else [],
        description=_text(obj.get("description")),
        keywords=["vulnerability", *cves[:20]],
    )


def _observable(entity_id: str, kind: str, path: str, value: str, title: list[str]) -> Any:
    """The entity for one observed value of a STIX cyber-observable type, or None."""
    value = value.strip()
    if not value or len(value) > 2_000:
        return None
    name = title or [value]
    if kind in ("ipv4-addr", "ipv6-addr") and path == "value":
        ip = registry.ip.clean(value)
        return _entity(entity_id, "Note", name=name, ipMentioned=[ip] if ip else [])
    if kind == "email-addr" and path == "value":
        email = registry.email.clean(value)
        return _entity(entity_id, "Note", name=name, emailMentioned=[email] if email else [])
    if kind in _PHONE_TYPES and path == "value":
        phone = value if registry.phone.validate(value) else None
        return _entity(entity_id, "Note", name=name, phoneMentioned=[phone] if phone else [])
    if kind == "url" and path == "value":
        url = value if registry.url.validate(value) else None
        return _entity(entity_id, "Note", name=name, sourceUrl=[url] if url else [])
    if kind == "domain-name" and path == "value":
        return _entity(entity_id, "Note", name=[value], keywords=["domain-name"])
    if kind in _WALLET_TYPES and path in ("value", "address"):
        return _entity(entity_id, "CryptoWallet", name=name, publicKey=[value])
    if kind == "file" and path.startswith("hashes."):
        algorithm = path.removeprefix("hashes.").strip("'").upper()
        sha1 = [value.lower()] if algorithm == "SHA-1" and registry.checksum.validate(value) else []
        return _entity(
            entity_id,
            "Document",
            fileName=title or [value],
            contentHash=sha1,
            keywords=[f"{algorithm}:{value}"],
        )
    return None


def _pattern_values(pattern: str) -> Iterator[tuple[str, str, str]]:
    """(object type, property path, value) for each ``=`` comparison of a STIX pattern."""
    try:
        inspected = Pattern(pattern).inspect()
    except Exception:  # noqa: BLE001 -- the validator already refused bad patterns
        return
    for kind, comparisons in inspected.comparisons.items():
        for path, operator, literal in comparisons:
            if operator != "=" or not isinstance(literal, str) or not literal.startswith("'"):
                continue
            steps = [str(p) for p in path]
            value = literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
            yield kind, ".".join(steps), value


def _indicator(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    if obj.get("pattern_type", "stix") != "stix" or not isinstance(obj.get("pattern"), str):
        return []
    found = []
    for n, (kind, path, value) in enumerate(_pattern_values(obj["pattern"])):
        entity = _observable(f"{obj['id']}:{n}", kind, path, value, _text(obj.get("name"), 500))
        if entity is not None:
            found.append(entity)
    return found


def _sco(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = obj["type"]
    if kind == "file":
        hashes = obj.get("hashes")
        if not isinstance(hashes, Mapping):
            return []
        title = _text(obj.get("name"), 500)
        found = [
            _observable(f"{obj['id']}:{n}", kind, f"hashes.{algo}", str(value), title)
            for n, (algo, value) in enumerate(hashes.items())
        ]
        return [f for f in found if f is not None]
    value = obj.get("value", obj.get("address"))
    if not isinstance(value, str):
        return []
    entity = _observable(obj["id"], kind, "value", value, [])
    return [] if entity is None else [entity]


def entities_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The FtM entities of the objects that have a counterpart, in the objects' order."""
    found: list[dict[str, Any]] = []
    for obj in objects:
        kind = obj["type"]
        if kind == "identity":
            found.append(_identity(obj))
        elif kind == "threat-actor":
            found.append(_actor(obj, "LegalEntity"))
        elif kind == "intrusion-set":
            found.append(_actor(obj, "Organization"))
        elif kind == "location":
            found.append(_location(obj))
        elif kind == "vulnerability":
            found.append(_vulnerability(obj))
        elif kind == "indicator":
            found.extend(_indicator(obj))
        elif kind in ("ipv4-addr", "ipv6-addr", "email-addr", "url", "domain-name", "file"):
            found.extend(_sco(obj))
    # an entity with no name is useless to search and refused by LegalEntity's schema
    return [e for e in found if e["properties"].get("name") or e["schema"] == "Document"]
