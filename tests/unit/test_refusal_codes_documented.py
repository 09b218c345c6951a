"""Every refusal code the documentation names is reached by an end-to-end test (issue #13,
section 1 item 4): each code in docs/protocol.md's refusal tables and in the reason table of
``domain/policy/__init__.py``'s docstring appears, as a quoted string, in a test under
tests/integration/ (which reach the code through the line or the API of real nodes; the
policy's unit tests use its constants and do not count).

A code that cannot be reached end to end goes in UNREACHABLE, with why: never to pass this
test, only to name a known gap in the code or the docs until it is closed.
"""

from __future__ import annotations

import re
from pathlib import Path

import secureline.domain.policy as policy

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"
INTEGRATION = ROOT / "tests" / "integration"

CODE = re.compile(r"[a-z][a-z0-9_]*")
BACKTICKED = re.compile(r"`([^`]+)`")

#: The decision's own fail-closed guards: documented (protocol.md says they are unreachable
#: through the services by design) and tested in tests/unit/domain/test_policy.py, but no
#: request through the line or the API can produce them, because an earlier check answers.
UNREACHABLE = {
    # The directory (services/line/directory.py, _load_agreement) drops an agreement whose
    # parties are not (this node, the peer) before any decision: the link then has no
    # agreement, and decide() answers no_agreement. check_agreement_for_link never sees one.
    "agreement_not_for_link",
    # Every caller of decide() passes the links it needs: Directory.link_terms() always
    # returns LinkTerms (agreement None for an unknown peer), an unroutable destination is
    # no_route before decide(), and the line's peer is authenticated. check_link_present
    # never finds a link missing.
    "no_link",
    # decide() turns an exception inside a rule into policy_error; no rule raises for any
    # header the parser accepts, so only a bug reaches it (unit tests inject a failing rule).
    "policy_error",
}


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def protocol_table_codes(text: str) -> set[str]:
    """The backticked codes in the code column of every table of docs/protocol.md whose
    header names a code column (``code``, ``error.code``, ``code past the bound``)."""
    codes: set[str] = set()
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if not line.startswith("|") or not re.fullmatch(r"\|(\s*-+\s*\|)+", lines[i + 1]):
            continue
        if i > 0 and lines[i - 1].startswith("|"):
            continue  # not a header row
        header = _cells(line)
        columns = [c for c, name in enumerate(header) if "code" in name.replace("`", "")]
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            cells = _cells(row)
            for column in columns:
                if column < len(cells):
                    codes |= {c for c in BACKTICKED.findall(cells[column]) if CODE.fullmatch(c)}
    return codes


def policy_docstring_codes(doc: str) -> set[str]:
    """The first column of the reason table (between its ``====`` rules) of the docstring."""
    rules = [i for i, line in enumerate(doc.splitlines()) if line.startswith("====")]
    assert len(rules) >= 3, "the reason table's rules moved"
    body = doc.splitlines()[rules[1] + 1 : rules[2]]
    return {line.split()[0] for line in body if line and not line[0].isspace()}


def integration_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(INTEGRATION.glob("test_*.py")))


def test_the_extraction_finds_the_tables() -> None:
    """Guards the parsers: a reformatted table must not make the main test vacuous."""
    table = protocol_table_codes(PROTOCOL.read_text(encoding="utf-8"))
    assert {"bad_transaction_id", "no_client_certificate", "clock_skew", "invalid_grant"} <= table
    assert policy_docstring_codes(policy.__doc__ or "") == set(policy.REASON_CODES)


def test_every_documented_refusal_code_is_reached_end_to_end() -> None:
    documented = protocol_table_codes(PROTOCOL.read_text(encoding="utf-8"))
    documented |= policy_docstring_codes(policy.__doc__ or "")
    text = integration_text()
    quoted = {c for c in documented if f'"{c}"' in text or f"'{c}'" in text}
    assert sorted(documented - quoted - UNREACHABLE) == []


def test_the_allow_list_holds_only_documented_unreached_codes() -> None:
    documented = protocol_table_codes(PROTOCOL.read_text(encoding="utf-8"))
    documented |= policy_docstring_codes(policy.__doc__ or "")
    text = integration_text()
    assert documented >= UNREACHABLE
    # Once a test reaches one of them, it leaves the list.
    assert sorted(c for c in UNREACHABLE if f'"{c}"' in text or f"'{c}'" in text) == []
