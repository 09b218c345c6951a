"""Every bound on what a peer sends, in one place (docs/protocol.md §4, "Bounds").

The header of an envelope is parsed once, where the bytes come in; everything later on the
path (the store's columns, the audit chain, the evidence a node signs, the log) may then hold
any value the parser let through. So each limit here is the one the parser enforces, and the
later steps derive theirs from it (``domain/audit.py``; tests/unit/domain/test_limits.py
asserts that they agree), instead of each keeping a number of its own that could drift.

Character sets:

* **ids** (message ids, grant ids): ``[a-z0-9][a-z0-9-]{7,63}``, the whole value;
* **names** (units, nodes, a grant's grantee): ``[a-z0-9][a-z0-9._-]{0,62}``; an address is
  ``unit@node``;
* **codes** (kind, crime area, handling, ...): one of the vocabulary's values;
* **one-line text** (subject, purpose, case reference, a grant's purpose): any Unicode text
  but control characters (U+0000-U+001F, U+007F-U+009F);
* **multi-line text** (handling conditions): the same, with tab, line feed and carriage
  return allowed.

Lone surrogates never reach a parser: the JSON reader refuses them.
"""

from __future__ import annotations

import re
from typing import Final

#: A message id or grant id: ``[a-z0-9][a-z0-9-]{7,63}``.
ID_MIN_CHARS: Final = 8
ID_MAX_CHARS: Final = 64
ID_PATTERN: Final = r"[a-z0-9][a-z0-9-]{7,63}"

#: A unit or node name (``domain/addresses.py``).
NAME_MAX_CHARS: Final = 63
#: ``unit@node``.
ADDRESS_MAX_CHARS: Final = 2 * NAME_MAX_CHARS + 1

#: A machine code: a refusal's reason code, an audit action or outcome.
CODE_MAX_CHARS: Final = 40

#: Free text in the header.
SUBJECT_MAX_CHARS: Final = 300
PURPOSE_MAX_CHARS: Final = 500
HANDLING_CONDITIONS_MAX_CHARS: Final = 2000
CASE_REF_MAX_CHARS: Final = 100
#: A grant's signature: a JWS compact serialisation of a small payload (about 600 characters).
GRANT_SIGNATURE_MAX_CHARS: Final = 4096
#: Grants carried by one forwarded message.
MAX_GRANTS: Final = 32
#: Schemata counted in ``entity_schemata`` (FollowTheMoney has fewer than 100 concrete ones).
MAX_SCHEMATA: Final = 128
SCHEMA_NAME_MAX_CHARS: Final = 64

#: The longest actor or object the audit chain holds (its store column is this wide): at least
#: the longest address, message id or name above, with room for a user name or an evidence id.
AUDIT_NAME_MAX_CHARS: Final = 200
#: The longest action or outcome in the audit chain: a machine code.
AUDIT_CODE_MAX_CHARS: Final = CODE_MAX_CHARS

#: Control characters refused in one-line text; the multi-line set keeps tab, LF and CR.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control character ``text`` may not hold, or None.

    ``str.isprintable`` is one C pass that is True for nearly every real subject or purpose;
    only the rest (non-ASCII blanks, line breaks...) is searched for what is refused."""
    if text.isprintable():
        return None
    found = (_CONTROL_BUT_LINES if multiline else _CONTROL).search(text)
    return found.group() if found else None


#: An attachment's name: a plain file name, what file systems take.
ATTACHMENT_NAME_MAX_BYTES: Final = 255


def attachment_name_problem(name: str) -> str | None:
    """What makes ``name`` unsafe as an attachment's file name, or None: no directory, no
    way up, no control or line-break characters, at most 255 bytes in UTF-8. Checked by
    the API's edge and by the message model, so a name that came over the line is held to
    the same rule; nothing is ever written to disk under a name a sender chose."""
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if ".." in name or name == ".":
        return "contains '..'"
    if control_character(name) is not None or "\u2028" in name or "\u2029" in name:
        return "contains a control character"
    if len(name.encode("utf-8", "surrogatepass")) > ATTACHMENT_NAME_MAX_BYTES:
        return f"is longer than {ATTACHMENT_NAME_MAX_BYTES} bytes"
    if not name.strip():
        return "is empty"
    return None


#: The longest reason text a refusal's evidence carries: the reasons quote what was sent.
REASON_TEXT_MAX_CHARS: Final = 2000
