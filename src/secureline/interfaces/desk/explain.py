"""What each choice on the compose form means, in words, and the form read into a draft.

The draft is a plain dict handed to ``Messaging.submit``, which validates it exactly as the
API's does; nothing is checked twice here, so the desk cannot drift from the rules.
"""

from __future__ import annotations

from typing import Any

HANDLING = {
    "H0": "Only to prevent and combat crime, for the stated purpose.",
    "H1": "Not to be used in judicial proceedings without the provider's permission.",
    "H2": "Not to be passed on without the provider's permission.",
    "H3": "Other restrictions, written in the conditions; the reader acknowledges them "
    "before the content is shown.",
}
RELIABILITY = {
    "A": "A: no doubt about the source's authenticity, trustworthiness and competence",
    "B": "B: a source that proved reliable in most cases",
    "C": "C: a source that proved unreliable in most cases",
    "X": "X: the reliability cannot be assessed",
}
ACCURACY = {
    "1": "1: no doubt about its accuracy",
    "2": "2: known personally to the source, not to the official passing it on",
    "3": "3: not known personally to the source, but corroborated",
    "4": "4: not known personally to the source, and cannot be corroborated",
}
PRIORITY = {
    "urgent-direct": "Urgent, information directly accessible: answer within 8 hours.",
    "urgent": "Urgent: answer within 3 calendar days.",
    "normal": "Answer within 7 calendar days.",
}
KIND = {
    "request": "Asks the recipient for information; it has a deadline.",
    "information": "Passes information on; no answer expected.",
    "reply": "Answers a message (give its id under 'reply to').",
}

_ONE = ("kind", "crime_area", "subject", "handling", "purpose", "priority", "body")


def draft_from_form(form: dict[str, list[str]]) -> dict[str, Any]:
    """The form's fields as a draft; empty optional fields are left out."""

    def one(name: str) -> str:
        return form.get(name, [""])[0].strip()

    draft: dict[str, Any] = {name: one(name) for name in _ONE if one(name)}
    draft["to"] = [a.strip() for a in one("to").replace(";", ",").split(",") if a.strip()]
    if one("reliability") or one("accuracy"):
        draft["evaluation"] = one("reliability") + one("accuracy")
    if one("handling_conditions"):
        draft["handling_conditions"] = one("handling_conditions")
    if one("case_ref"):
        draft["case_ref"] = one("case_ref")
    if one("reply_to"):
        draft["reply_to"] = one("reply_to")
    if one("classification"):
        draft["classification"] = one("classification")
    draft["data_subjects"] = [s for s in form.get("data_subjects", []) if s]
    draft["confidential"] = one("confidential") == "yes"
    if "body" in draft:
        draft["body"] = form.get("body", [""])[0]  # the body keeps its own spacing
    return draft
