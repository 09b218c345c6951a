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
    "alert": "Alerts the recipients (a notice colour); held until a second officer approves.",
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
    if one("alert") and draft.get("kind") == "alert":
        draft["alert"] = one("alert")
    if one("classification"):
        draft["classification"] = one("classification")
    draft["data_subjects"] = [s for s in form.get("data_subjects", []) if s]
    draft["confidential"] = one("confidential") == "yes"
    if "body" in draft:
        draft["body"] = form.get("body", [""])[0]  # the body keeps its own spacing
    return draft


# --- the message view's actions (what each does, said before it is done) -------------------

#: what forwarding a message of each handling code needs; the rules of sharing decide, these
#: words only say it beforehand
FORWARD = {
    "H0": "May be passed on for the stated purpose; the provider's rules travel with it.",
    "H1": "May be passed on; it may not be used in judicial proceedings without the "
    "provider's permission, and that rule travels with it.",
    "H2": "Not to be passed on without the provider's permission: without a grant for the "
    "destination's organisation the rules refuse it. Request permission first.",
    "H3": "Its conditions travel with it; the provider's conditions may forbid passing it on.",
}
SCOPE = {
    "onward-transfer": "onward transfer: pass it on to the grantee organisation (H2)",
    "judicial-use": "judicial use: use it in judicial proceedings (H1)",
    "other-purpose": "other purpose: use it for a purpose other than the stated one",
}
RETRACT = (
    "Deletes the message at every recipient: each purges its content and keeps a tombstone; "
    "their delivered evidence of the deletion is the confirmation."
)
CORRECT = (
    "Replaces the content at every recipient, which keeps a record (by digest) of what was "
    "replaced."
)
KEEP = (
    "Keep: the content stays until the new review date (at most five years ahead), when it "
    "comes back to this queue. The date and reason are audited."
)
PURGE = (
    "Purge: the body, entities and attachments are removed now, for good; a tombstone (id, "
    "dates, reason) remains. Audited."
)
OVERDUE_PURGE = "If nobody decides by the review date, the node purges it."
ALERT_REVIEW = (
    "An alert leaves the node only once a second officer (not its author) approves it. "
    "Rejected, it is refused for good (alert_rejected) and never leaves."
)
GRANT = (
    "Grant: this node signs a permission for the grantee organisation, within the scope and "
    "until the date given, and sends it to the requester in a permission-grant message."
)
REFUSE = (
    "Refuse: the refusal and its reason stay on this node (audited); the requester is not told "
    "over the line, tell them by other means."
)
