"""Strong identifiers, normalised so that equal means the same thing.

Each key is ``<class>:<value>``. Identity documents share one class (``doc``): a passport
number in one organisation's ``Person.passportNumber`` is another's ``Passport.number``.
A value that does not normalise (an IMO number without seven digits, a phone number that
is not E.164 once cleaned) gives no key: a wrong key would match what it should not.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from followthemoney.proxy import EntityProxy
from followthemoney.types import registry

_ALNUM = re.compile(r"[^0-9A-Z]")

#: property name -> identifier class
CLASSES = {
    "passportNumber": "doc",
    "idNumber": "doc",
    "personalNumber": "doc",
    "socialSecurityNumber": "doc",
    "number": "doc",  # Passport, Identification
    "taxNumber": "tax",
    "imoNumber": "imo",
    "mmsi": "mmsi",
    "callSign": "callsign",
    "phone": "phone",
    "email": "email",
    "iban": "iban",
    "cryptoAddress": "wallet",
    "publicKey": "wallet",
    "ipMentioned": "ip",
    "website": "domain",
    "vinCode": "vin",
    "registrationNumber": "reg",  # a Vehicle's is its plate
}


def normalise(cls: str, value: str) -> str | None:
    """The one spelling of ``value`` as an identifier of class ``cls``, or None."""
    text = value.strip()
    if not text:
        return None
    if cls == "phone":
        cleaned = registry.phone.clean(text)
        return cleaned if cleaned and cleaned.startswith("+") else None
    if cls == "email":
        cleaned = registry.email.clean(text)
        return cleaned.lower() if cleaned else None
    if cls == "ip":
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            return None
    if cls == "domain":
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
        host = host.lower().removeprefix("www.")
        return host if "." in host else None
    if cls == "wallet":
        # hex (Ethereum-style) addresses are case-insensitive; base58 and bech32 are not
        return text.lower() if text.lower().startswith("0x") else text
    upper = _ALNUM.sub("", text.upper())
    if cls == "imo":
        digits = upper.removeprefix("IMO")
        return digits if re.fullmatch(r"\d{7}", digits) else None
    if cls == "mmsi":
        return upper if re.fullmatch(r"\d{9}", upper) else None
    if cls == "vin":
        return upper if len(upper) == 17 else None
    return upper if len(upper) >= 3 else None


def identifier_keys(entity: EntityProxy) -> Iterator[tuple[str, str, str]]:
    """(property, class, normalised value) of every strong identifier of ``entity``."""
    for prop in CLASSES.keys() & entity.properties.keys():
        cls = CLASSES[prop]
        if cls == "reg" and entity.schema.name != "Vehicle":
            cls = "regno"
        for value in entity.get(prop, quiet=True):
            found = normalise(cls, value)
            if found is not None:
                yield prop, cls, found
