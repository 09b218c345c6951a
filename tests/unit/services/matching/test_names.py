"""Names across scripts: the cases each rule of services/matching/names.py is there for."""

from __future__ import annotations

import pytest

from secureline.services.matching import names
from secureline.services.matching.identifiers import normalise
from secureline.services.matching.scoring import DEFAULT_THRESHOLD

SAME = [
    ("Vladimir Putin", "Владимир Путин"),  # Cyrillic
    ("Putin Vladimir", "Vladimir Putin"),  # word order
    ("Kim Jong-un", "김정은"),  # Hangul, one word for family and given name
    ("Park Geun-hye", "박근혜"),  # a family name's usual spelling, not the romaniser's
    ("Yitzhak Rabin", "יצחק רבין"),  # Hebrew, no vowels written
    ("Mohammad Javad Zarif", "محمد جواد ظریف"),  # Persian
    ("Alexis Tsipras", "Αλέξης Τσίπρας"),  # Greek
    ("Xi Jinping", "习近平"),  # Han, syllables joined
    ("Recep Tayyip Erdogan", "Recep Tayyip Erdoğan"),  # diacritics
    ("Dr. Angela Merkel", "Angela Merkel"),  # honorifics
    ("Angela Dorothea Merkel", "A. Merkel"),  # initials
    ("Muammar Gaddafi", "Moammar Qadhafi"),  # transliteration variants
]
DIFFERENT = [
    ("Kim Jong-un", "Kim Jong-il"),  # father and son
    ("Kim Jong-un", "김정일"),
    ("Fidel Castro", "Raúl Castro"),  # brothers
    ("Benjamin Netanyahu", "יונתן נתניהו"),
    ("Saddam Hussein", "عدي صدام حسين"),  # a son's name carries the father's
    ("Vladimir Putin", "Людмила Путина"),  # the same family name, another person
    ("Vladimir Putin", "Владимир Зеленский"),  # a common given name
    ("Li Keqiang", "李强"),
]


@pytest.mark.parametrize(("left", "right"), SAME)
def test_the_same_name_in_another_rendering_agrees(left: str, right: str) -> None:
    assert names.compare(left, right).score >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_people_sharing_a_token_stay_apart(left: str, right: str) -> None:
    assert names.compare(left, right).score < DEFAULT_THRESHOLD


def test_blocking_keys_meet_across_scripts() -> None:
    assert names.name_keys("Kim Jong-un") & names.name_keys("김정은")
    assert names.name_keys("Xi Jinping") & names.name_keys("习近平")
    assert names.name_keys("Yitzhak Rabin") & names.name_keys("יצחק רבין")


@pytest.mark.parametrize(
    ("cls", "raw", "expected"),
    [
        ("doc", "x 123-456 78", "X12345678"),
        ("imo", "IMO 9074729", "9074729"),
        ("imo", "907472", None),  # six digits is no IMO number
        ("mmsi", "211 331 640", "211331640"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "020 7946 0958", None),  # no country: not E.164, no key
        ("email", "Foo@Example.COM", "foo@example.com"),
        ("iban", "gb82 west 1234 5698 7654 32", "GB82WEST12345698765432"),
        ("ip", "2001:0db8:0000::1", "2001:db8::1"),
        ("ip", "999.1.1.1", None),
        ("domain", "https://www.Example.org/path", "example.org"),
        ("wallet", "0xAbC123", "0xabc123"),  # hex addresses ignore case
        ("wallet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ("vin", "1hgcm82633a004352", "1HGCM82633A004352"),
        ("reg", "ab-12 cd", "AB12CD"),
    ],
)
def test_strong_identifiers_have_one_spelling(cls: str, raw: str, expected: str | None) -> None:
    assert normalise(cls, raw) == expected
