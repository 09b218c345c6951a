"""A MISP event read for secureline (its shape, marking and FollowTheMoney counterparts), and
a message written back as a MISP event.

MISP and PyMISP write an event as ``{"Event": {...}}``, or the inner object alone; both are
read. The event's attributes (``Attribute``), objects (``Object``, each with attributes and
``ObjectReference`` to other attributes or objects by uuid), tags (``Tag``), galaxies
(``Galaxy`` with ``GalaxyCluster``) and sightings (``Sighting`` on attributes) are kept
whole in the message's document. Checked here: the shape of each, attribute types against
MISP's own list (passed in from PyMISP's ``describeTypes.json`` by the service), and that
every object reference names an attribute or object of the event. Problems name the
attribute or object (by its uuid, or its place) and the field.

Marking: the most restrictive of the event's distribution and ``tlp:`` tags and those of
every attribute and object (``domain/interop/markings.py``); PAP:AMBER and PAP:RED tags and a
sharing group become H3 conditions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from followthemoney import registry

from secureline.domain.errors import InvalidMessage
from secureline.domain.interop.markings import (
    Reading,
    marking_of,
    misp_distribution_tlp,
    misp_tag_reading,
)
from secureline.domain.markings import Marking, Tlp

__all__ = ["ReadEvent", "read_event", "event_marking", "entities_of_event", "event_items"]


@dataclass(frozen=True)
class ReadEvent:
    event: dict[str, Any]  # the inner event, as it came
    attributes: int  # the event's own attributes
    objects: int  # its objects (their attributes are theirs)


def _where(item: Mapping[str, Any], kind: str, index: int, field: str = "") -> str:
    name = item.get("uuid") if isinstance(item.get("uuid"), str) else None
    base = f"{kind}[{index}]" + (f" ({name[:64]})" if name else "")
    return f"{base}.{field}" if field else base


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidMessage(where, "must be a list")
    return value


def _tags(item: Mapping[str, Any], where: str) -> list[str]:
    names = []
    for i, tag in enumerate(_list(item.get("Tag"), f"{where}.Tag")):
        if not isinstance(tag, Mapping) or not isinstance(tag.get("name"), str):
            raise InvalidMessage(f"{where}.Tag[{i}].name", "a tag needs its name")
        names.append(tag["name"])
    return names


def _check_attribute(attr: Any, where: str, types: frozenset[str]) -> None:
    if not isinstance(attr, Mapping):
        raise InvalidMessage(where, "an attribute must be an object")
    kind, value = attr.get("type"), attr.get("value")
    if not isinstance(kind, str) or kind not in types:
        raise InvalidMessage(f"{where}.type", f"{str(kind)[:64]!r} is not a MISP attribute type")
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise InvalidMessage(f"{where}.value", "an attribute needs a value")
    if "distribution" in attr:
        misp_distribution_tlp(attr["distribution"], f"{where}.distribution")
    _tags(attr, where)
    for i, sighting in enumerate(_list(attr.get("Sighting"), f"{where}.Sighting")):
        if not isinstance(sighting, Mapping):
            raise InvalidMessage(f"{where}.Sighting[{i}]", "a sighting must be an object")


def read_event(data: Any, types: frozenset[str]) -> ReadEvent:
    """The event, checked, or InvalidMessage naming the attribute or object and the field."""
    event = data.get("Event", data) if isinstance(data, Mapping) else None
    if not isinstance(event, dict) or not any(
        k in event for k in ("info", "Attribute", "Object", "uuid")
    ):
        raise InvalidMessage("Event", "a MISP event is an object (with or without 'Event')")
    if "info" in event and not isinstance(event["info"], str):
        raise InvalidMessage("Event.info", "must be text")
    if "distribution" in event:
        misp_distribution_tlp(event["distribution"], "Event.distribution")
    _tags(event, "Event")
    uuids: set[str] = set()
    attributes = _list(event.get("Attribute"), "Event.Attribute")
    for i, attr in enumerate(attributes):
        _check_attribute(attr, _where(_as_map(attr), "Attribute", i), types)
        _note_uuid(attr, uuids)
    objects = _list(event.get("Object"), "Event.Object")
    for i, obj in enumerate(objects):
        _check_object(obj, i, types, uuids)
    for i, obj in enumerate(objects):
        _check_references(obj, i, uuids)
    _check_galaxies(event)
    return ReadEvent(event, len(attributes), len(objects))


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _note_uuid(item: Mapping[str, Any], uuids: set[str]) -> None:
    if isinstance(item.get("uuid"), str):
        uuids.add(item["uuid"])


def _check_object(obj: Any, index: int, types: frozenset[str], uuids: set[str]) -> None:
    where = _where(_as_map(obj), "Object", index)
    if not isinstance(obj, Mapping) or not isinstance(obj.get("name"), str):
        raise InvalidMessage(f"{where}.name", "an object needs its template name")
    if "distribution" in obj:
        misp_distribution_tlp(obj["distribution"], f"{where}.distribution")
    _tags(obj, where)
    _note_uuid(obj, uuids)
    for j, attr in enumerate(_list(obj.get("Attribute"), f"{where}.Attribute")):
        _check_attribute(attr, _where(_as_map(attr), f"{where}.Attribute", j), types)
        _note_uuid(attr, uuids)


def _check_references(obj: Mapping[str, Any], index: int, uuids: set[str]) -> None:
    where = _where(obj, "Object", index)
    for j, ref in enumerate(_list(obj.get("ObjectReference"), f"{where}.ObjectReference")):
        target = ref.get("referenced_uuid") if isinstance(ref, Mapping) else None
        if not isinstance(target, str) or target not in uuids:
            raise InvalidMessage(
                f"{where}.ObjectReference[{j}].referenced_uuid",
                f"refers to {str(target)[:64]!r}, which the event does not hold",
                code="dangling_reference",
            )


def _check_galaxies(event: Mapping[str, Any]) -> None:
    for i, galaxy in enumerate(_list(event.get("Galaxy"), "Event.Galaxy")):
        if not isinstance(galaxy, Mapping):
            raise InvalidMessage(f"Event.Galaxy[{i}]", "a galaxy must be an object")
        for j, cluster in enumerate(_list(galaxy.get("GalaxyCluster"), f"Event.Galaxy[{i}]")):
            if not isinstance(cluster, Mapping) or not isinstance(cluster.get("value"), str):
                raise InvalidMessage(
                    f"Event.Galaxy[{i}].GalaxyCluster[{j}].value", "a cluster needs its value"
                )


def event_items(event: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Any]]:
    """Every attribute (the event's and its objects') with the distribution it inherits."""
    for attr in event.get("Attribute") or ():
        yield attr, event.get("distribution")
    for obj in event.get("Object") or ():
        inherited = obj.get("distribution", 5)
        for attr in obj.get("Attribute") or ():
            yield attr, inherited


def _readings(item: Mapping[str, Any], where: str) -> Iterator[Reading]:
    level = item.get("distribution")
    if level is not None:
        tlp = misp_distribution_tlp(level, f"{where}.distribution")
        if tlp is not None:
            yield Reading(tlp=tlp)
        if str(level) == "4":
            group = (
                item.get("SharingGroup", {}).get("name")
                if isinstance(item.get("SharingGroup"), Mapping)
                else None
            )
            name = group or item.get("sharing_group_id") or "(unnamed)"
            yield Reading(statement=f"MISP sharing group {str(name)[:100]} only")
    for tag in item.get("Tag") or ():
        reading = misp_tag_reading(tag["name"])
        if reading is not None:
            yield reading


def event_marking(event: Mapping[str, Any], unmarked: Tlp = Tlp.AMBER) -> Marking:
    """The most restrictive reading of the event, its objects and every attribute."""
    readings = list(_readings(event, "Event"))
    for i, obj in enumerate(event.get("Object") or ()):
        readings += _readings(obj, f"Object[{i}]")
        for attr in obj.get("Attribute") or ():
            readings += _readings(attr, f"Object[{i}].Attribute")
    for attr in event.get("Attribute") or ():
        readings += _readings(attr, "Attribute")
    if not any(r.tlp is not None for r in readings):
        readings.append(Reading(tlp=unmarked))
    return marking_of(readings)


# --- FollowTheMoney counterparts -----------------------------------------------------------

_IP = {"ip-src", "ip-dst"}
_IP_PORT = {"ip-src|port", "ip-dst|port"}
_DOMAIN = {"domain", "hostname"}
_URL = {"url", "link", "uri"}
_EMAIL = {
    "email",
    "email-src",
    "email-dst",
    "email-reply-to",
    "target-email",
    "whois-registrant-email",
}
_PHONE = {"phone-number", "whois-registrant-phone"}
_HASH = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ssdeep", "imphash", "tlsh"}
_WALLET = {"btc", "xmr", "dash", "bitcoin"}


def _note(entity_id: str, name: str, **props: list[str]) -> dict[str, Any]:
    return {
        "id": entity_id,
        "schema": "Note",
        "properties": {"name": [name[:500]], **{k: v for k, v in props.items() if v}},
    }


def _attribute_entity(attr: Mapping[str, Any], entity_id: str) -> dict[str, Any] | None:
    kind, value = attr["type"], str(attr["value"]).strip()
    if not value or len(value) > 2_000:
        return None
    if kind in _IP or kind in _IP_PORT:
        ip = registry.ip.clean(value.split("|")[0])
        return _note(entity_id, value, ipMentioned=[ip] if ip else [])
    if kind in _DOMAIN or kind == "domain|ip":
        domain, _, ip_text = value.partition("|")
        ip = registry.ip.clean(ip_text) if ip_text else None
        return _note(entity_id, domain, keywords=["domain-name"], ipMentioned=[ip] if ip else [])
    if kind in _URL:
        return _note(entity_id, value, sourceUrl=[value] if registry.url.validate(value) else [])
    if kind in _EMAIL:
        email = registry.email.clean(value)
        return _note(entity_id, value, emailMentioned=[email] if email else [])
    if kind in _PHONE:
        return _note(
            entity_id, value, phoneMentioned=[value] if registry.phone.validate(value) else []
        )
    if kind in _HASH or kind.startswith("filename|"):
        name, _, digest = value.rpartition("|") if "|" in kind else ("", "", value)
        algorithm = kind.rpartition("|")[2].upper()
        sha1 = (
            [digest.lower()] if algorithm == "SHA1" and registry.checksum.validate(digest) else []
        )
        return {
            "id": entity_id,
            "schema": "Document",
            "properties": {
                "fileName": [(name or digest)[:500]],
                "keywords": [f"{algorithm}:{digest}"],
                **({"contentHash": sha1} if sha1 else {}),
            },
        }
    if kind in _WALLET:
        return {
            "id": entity_id,
            "schema": "CryptoWallet",
            "properties": {"name": [value], "publicKey": [value]},
        }
    if kind == "threat-actor":
        return {"id": entity_id, "schema": "LegalEntity", "properties": {"name": [value[:500]]}}
    if kind == "target-org":
        return {"id": entity_id, "schema": "Organization", "properties": {"name": [value[:500]]}}
    if kind == "vulnerability":
        return _note(entity_id, value, keywords=["vulnerability"])
    return None


def entities_of_event(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The FtM entities of the attributes (and galaxy clusters) with a counterpart; ids are
    the attribute's uuid, else its place in the event."""
    found: list[dict[str, Any]] = []
    for n, (attr, _) in enumerate(event_items(event)):
        uuid = attr.get("uuid")
        entity_id = f"misp-attribute-{uuid}" if isinstance(uuid, str) else f"misp-attribute-{n}"
        entity = _attribute_entity(attr, entity_id[:200])
        if entity is not None:
            found.append(entity)
    for i, galaxy in enumerate(event.get("Galaxy") or ()):
        for j, cluster in enumerate(galaxy.get("GalaxyCluster") or ()):
            kind = str(cluster.get("type") or galaxy.get("type") or "")
            schema = {"threat-actor": "LegalEntity", "mitre-intrusion-set": "Organization"}.get(
                kind
            )
            if schema is None:
                continue
            uuid = cluster.get("uuid")
            entity_id = f"misp-cluster-{uuid}" if isinstance(uuid, str) else f"misp-cluster-{i}-{j}"
            found.append(
                {
                    "id": entity_id[:200],
                    "schema": schema,
                    "properties": {"name": [cluster["value"][:500]], "topics": ["crime.cyber"]},
                }
            )
    return found


# --- ours to MISP --------------------------------------------------------------------------

_HASH_TYPES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA1": "sha1",
    "SHA-256": "sha256",
    "SHA256": "sha256",
    "SHA-512": "sha512",
    "SHA512": "sha512",
}


def attributes_of_entity(entity: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(MISP type, value) for what an FtM entity says that MISP has a type for."""
    props: Mapping[str, list[str]] = entity.get("properties") or {}
    schema = entity.get("schema")
    for ip in props.get("ipMentioned", ()):
        yield "ip-dst", ip
    for email in props.get("emailMentioned", ()):
        yield "email", email
    for phone in props.get("phoneMentioned", ()):
        yield "phone-number", phone
    if schema == "Note":
        yield from _note_attributes(props)
    elif schema == "Document":
        for keyword in props.get("keywords", ()):
            algorithm, _, digest = keyword.partition(":")
            if algorithm in _HASH_TYPES and digest:
                yield _HASH_TYPES[algorithm], digest
    elif schema == "CryptoWallet":
        yield from (("btc", key) for key in props.get("publicKey", ()))
    elif schema == "LegalEntity":
        yield from (("threat-actor", n) for n in props.get("name", ()))
    elif schema == "Organization":
        yield from (("target-org", n) for n in props.get("name", ()))


def _note_attributes(props: Mapping[str, list[str]]) -> Iterator[tuple[str, str]]:
    for url in props.get("sourceUrl", ()):
        yield "url", url
    keywords = props.get("keywords", ())
    if "domain-name" in keywords:
        yield from (("domain", n) for n in props.get("name", ()))
    if "vulnerability" in keywords:
        yield from (("vulnerability", n) for n in props.get("name", ()))


def marked_event(event: Mapping[str, Any], tlp_tag: str, distribution: int) -> dict[str, Any]:
    """The event as it came, its event-level ``tlp:`` tags replaced by ours and its
    distribution narrowed to ours (a sharing group's stays: it is narrower than any level)."""
    tags = [t for t in event.get("Tag") or () if not t["name"].lower().startswith("tlp:")]
    current = event.get("distribution")
    if str(current) != "4":
        try:
            current_level = int(current) if current is not None else 3
        except (TypeError, ValueError):
            current_level = 3
        current = min(current_level, distribution)
    return {**event, "Tag": [*tags, {"name": tlp_tag}], "distribution": current}
