"""Every envelope is answered on its own, and every field a peer sends is bounded where the
bytes come in (issue 21), over a real line between two nodes and through a relay.

Each poisoned envelope is made as a dishonest (or buggy) peer would: a genuine message's
payload changed and signed again with that peer's real key, so that every check up to the
one it breaks passes. It travels in one transaction among valid envelopes: the valid ones are
delivered, the poisoned one is refused with its code and signed evidence, and the link keeps
moving (a message sent afterwards by the node's own sender arrives).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from secureline.node.compose import Node
from secureline.services.line.receive import examine as inbox_module
from secureline.services.line.wire import (
    EvidenceItem,
    envelope_digest,
    open_evidence,
)
from secureline.store import tables
from secureline.store.audit import audit_records
from tests.integration.support import (
    Federation,
    craft_envelope,
    evidence_items,
    identity_context,
    message_row,
    officer,
    put,
    sample,
    transaction_body,
    wait_for,
    wait_state,
)

LONG = "a" * 10_000
GRANT = {
    "id": "grant-0123456789abcdef01234567",
    "message_id": "msg-0123456789abcdef0123",
    "provider": "cc@interpol",
    "grantee": "europol",
    "scope": "onward-transfer",
    "purpose": None,
    "until": "2030-01-01T00:00:00",  # no zone
    "signature": "x.y.z",
}


def _forged(
    origin: Node,
    to: str,
    seed: int,
    header_change: Callable[[dict[str, Any]], None] | None = None,
    content_change: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """A message of ``origin``, changed and signed again with ``origin``'s own key."""
    return craft_envelope(
        origin, to, seed=seed, header_change=header_change, content_change=content_change
    )[1]


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda part: part.update(values)


def _mimetype_with_a_line_feed(content: dict[str, Any]) -> None:
    content["entities"].append(
        {"id": "doc-lf", "schema": "Document", "properties": {"mimeType": ["text/plain\nx"]}}
    )


def _declare_document(header: dict[str, Any]) -> None:
    counts = header["entity_schemata"]
    header["entity_schemata"] = dict(
        sorted({**counts, "Document": counts.get("Document", 0) + 1}.items())
    )


ATTACHMENT = {"name": "scan.pdf", "media_type": "application/pdf", "size": 0, "sha256": "0" * 64}

# (name, header change, content change, code): each checked where its bytes come in.
HEADER_POISON: list[tuple[str, Any, Any, str]] = [
    ("a 10,000-character message id", _set(id=LONG), None, "field_too_long"),
    ("an id that only contains an id", _set(id="x msg-00000001 x"), None, "invalid_header"),
    ("a long reply_to", _set(reply_to=LONG), None, "field_too_long"),
    ("a long subject", _set(subject=LONG), None, "field_too_long"),
    ("a subject with NUL", _set(subject="a\x00b"), None, "bad_characters"),
    ("a long purpose", _set(purpose=LONG), None, "field_too_long"),
    ("a long case reference", _set(case_ref=LONG), None, "field_too_long"),
    (
        "a long handling condition",
        _set(handling="H3", handling_conditions=LONG),
        None,
        "field_too_long",
    ),
    ("a long recipient", _set(to=["ops@" + LONG]), None, "field_too_long"),
    ("a long content digest", _set(content_digest=LONG), None, "field_too_long"),
    ("a long schema name", _set(entity_schemata={LONG: 1}), None, "field_too_long"),
    (
        "a creation time without a zone",
        _set(created_at="2026-12-01T10:00:00"),
        None,
        "time_without_zone",
    ),
    (
        "a grant until a time without a zone",
        _set(
            forwarded={
                "message_id": "msg-0123456789abcdef0123",
                "provider": "cc@interpol",
                "handling": "H1",
                "purpose": "prevention and detection of crime",
                "grants": [GRANT],
            }
        ),
        None,
        "time_without_zone",
    ),
    ("a long forwarded id", _set(forwarded={"message_id": LONG}), None, "field_too_long"),
]
# Checked only where the content is read: at the destination (a relay forwards it unread).
CONTENT_POISON: list[tuple[str, Any, Any, str]] = [
    ("attachments that are a number", None, _set(attachments=5), "content_mismatch"),
    ("attachments that are an object", None, _set(attachments={"a": 1}), "content_mismatch"),
    (
        "a mimetype with a line feed",
        _declare_document,
        _mimetype_with_a_line_feed,
        "content_mismatch",
    ),
    (
        "an attachment named to climb directories",
        None,
        _set(attachments=[{**ATTACHMENT, "name": "../../etc/cron.d/job"}]),
        "unsafe_attachment_name",
    ),
    (
        "an attachment name with a line break",
        None,
        _set(attachments=[{**ATTACHMENT, "name": "scan\u2028.pdf"}]),
        "unsafe_attachment_name",
    ),
    (
        "attachments larger than the header declares",
        None,
        _set(attachments=[{**ATTACHMENT, "size": 10}]),
        "content_mismatch",
    ),
]


def _items_by_envelope(items: list[EvidenceItem]) -> dict[str, EvidenceItem]:
    return {item.envelope_sha256: item for item in items}


def _as(fed: Federation, origin: str, receiver: str) -> ssl.SSLContext:
    layout = fed.layout(origin)
    ca = fed.layout(receiver).ca_certificate.read_bytes()
    return identity_context(ca, layout.tls_certificate, layout.tls_key)


def _held_evidence(node: Node, digests: set[str]) -> dict[str, EvidenceItem]:
    """The items about these envelopes in the signed evidence documents ``node`` holds."""
    with node.db.read() as conn:
        tokens = conn.execute(select(tables.evidence_tokens.c.token)).scalars().all()
    found: dict[str, EvidenceItem] = {}
    for token in tokens:
        for item in open_evidence(token, node.directory.verify_keys).items:
            if item.envelope_sha256 in digests:
                found[item.envelope_sha256] = item
    return found


def _keeps_moving(fed: Federation, origin: str, to: str) -> None:
    node = fed[origin]
    sent = node.messaging.submit(officer(node), sample(to, seed=99))
    wait_state(node, sent.id, to.split("@")[1], ["delivered"], timeout=30)


# --- between two nodes ----------------------------------------------------------------------


def test_poisoned_envelopes_among_valid_ones_are_refused_each_on_its_own(
    pair: Federation,
) -> None:
    interpol, europol = pair["interpol"], pair["europol"]
    valid = [_forged(interpol, "ops@europol", seed) for seed in (1, 2, 3)]
    poisoned = {
        _forged(interpol, "ops@europol", 10 + i, header, content): (name, code)
        for i, (name, header, content, code) in enumerate(HEADER_POISON + CONTENT_POISON)
    }
    tokens = [valid[0], *list(poisoned)[:8], valid[1], *list(poisoned)[8:], valid[2]]
    # and a path no node would send: one 10,000-character name
    bad_path = _forged(interpol, "ops@europol", 40)
    body = transaction_body([(t, ["interpol"]) for t in tokens] + [(bad_path, [LONG])])

    answer = put(
        _as(pair, "interpol", "europol"),
        europol,
        "t-bounds-0001",
        body,
        europol.directory.agreement_digest("interpol"),
    )

    items = _items_by_envelope(evidence_items(answer, interpol))
    assert len(items) == len(tokens) + 1  # every envelope answered
    for token in valid:
        item = items[envelope_digest(token)]
        assert (item.kind.value, item.reason_code) == ("delivered", None)
        assert message_row(europol, item.message_id) is not None
    for token, (name, code) in poisoned.items():
        item = items[envelope_digest(token)]
        assert (item.kind.value, item.reason_code) == ("refused", code), name
        assert item.reason_text is not None
        assert len(item.reason_text) <= 2000, name
    assert items[envelope_digest(bad_path)].reason_code == "bad_path"
    _keeps_moving(pair, "interpol", "ops@europol")


def test_an_unforeseen_failure_refuses_that_envelope_alone(
    pair: Federation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug while one envelope is examined: internal_error for it, the rest delivered, an
    audit record, and the log says where without quoting the message."""
    interpol, europol = pair["interpol"], pair["europol"]
    secret = "operation nightjar, a subject no log may hold"
    poison = _forged(interpol, "ops@europol", 5, _set(subject=secret))
    valid = [_forged(interpol, "ops@europol", seed) for seed in (6, 7)]
    genuine = inbox_module.parse_content

    def buggy(content: bytes, header: Any, today: Any) -> Any:
        if header.subject == secret:
            raise KeyError(secret)  # a bug, quoting what it read
        return genuine(content, header, today)

    monkeypatch.setattr(inbox_module, "parse_content", buggy)
    body = transaction_body(
        [(valid[0], ["interpol"]), (poison, ["interpol"]), (valid[1], ["interpol"])]
    )
    with caplog.at_level(logging.ERROR, logger="secureline.services.line.receive"):
        answer = put(
            _as(pair, "interpol", "europol"),
            europol,
            "t-bounds-0002",
            body,
            europol.directory.agreement_digest("interpol"),
        )

    items = _items_by_envelope(evidence_items(answer, interpol))
    refused = items[envelope_digest(poison)]
    assert (refused.kind.value, refused.reason_code) == ("refused", "internal_error")
    assert secret not in (refused.reason_text or "")
    for token in valid:
        assert items[envelope_digest(token)].kind.value == "delivered"
    assert "unexpected KeyError" in caplog.text
    assert secret not in caplog.text
    with europol.db.read() as conn:
        stored = conn.execute(
            select(tables.messages.c.id).where(tables.messages.c.id == refused.message_id)
        ).first()
        audited = (
            conn.execute(
                select(audit_records.c.detail_json).where(
                    audit_records.c.object == refused.message_id,
                    audit_records.c.action == "message.refused",
                )
            )
            .scalars()
            .all()
        )
    assert stored is None  # nothing of it stored
    assert [orjson.loads(d)["reason"] for d in audited] == ["internal_error"]


# --- through a relay ----------------------------------------------------------------------


def test_poisoned_envelopes_through_a_relay(chain: Federation) -> None:
    """ncb-madrid sends to europol through interpol: the header's bounds are checked at the
    relay, the content's at the destination; each refusal comes back to the origin."""
    ncb, interpol = chain["ncb-madrid"], chain["interpol"]
    valid = [_forged(ncb, "ops@europol", seed) for seed in (1, 2)]
    at_relay = {
        _forged(ncb, "ops@europol", 10 + i, header, content): code
        for i, (_, header, content, code) in enumerate(HEADER_POISON)
    }
    at_destination = {
        _forged(ncb, "ops@europol", 30 + i, header, content): code
        for i, (_, header, content, code) in enumerate(CONTENT_POISON)
    }
    tokens = [valid[0], *at_relay, *at_destination, valid[1]]
    answer = put(
        _as(chain, "ncb-madrid", "interpol"),
        interpol,
        "t-bounds-0003",
        transaction_body([(t, ["ncb-madrid"]) for t in tokens]),
        interpol.directory.agreement_digest("ncb-madrid"),
    )

    items = _items_by_envelope(evidence_items(answer, ncb))
    for token, code in at_relay.items():
        assert (
            items[envelope_digest(token)].kind.value,
            items[envelope_digest(token)].reason_code,
        ) == (
            "refused",
            code,
        )
    for token in [*valid, *at_destination]:
        assert items[envelope_digest(token)].kind.value == "relayed"

    # the destination's verdicts come back to the origin, signed by the destination
    wanted = {envelope_digest(t) for t in [*valid, *at_destination]}

    def back_at_origin() -> dict[str, EvidenceItem] | None:
        held = _held_evidence(ncb, wanted)
        final = {d: i for d, i in held.items() if i.kind.value in ("delivered", "refused")}
        return final if len(final) == len(wanted) else None

    final = wait_for(back_at_origin, 30, what="europol's evidence at ncb-madrid")
    for token in valid:
        assert final[envelope_digest(token)].kind.value == "delivered"
    for token, code in at_destination.items():
        item = final[envelope_digest(token)]
        assert (item.kind.value, item.reason_code) == ("refused", code)
    _keeps_moving(chain, "ncb-madrid", "ops@europol")


# --- local files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b'[agreement]\nid = "caf\xe9"\n', "not UTF-8"),
        (b"[agreement]\nid = " + b"[" * 1200 + b"]" * 1200 + b"\n", "nested too deeply"),
    ],
)
def test_a_broken_agreement_file_refuses_its_link_only(
    chain: Federation, text: bytes, problem: str
) -> None:
    interpol = chain["interpol"]
    path = chain.layout("interpol").agreement("ncb-madrid")
    path.write_bytes(text)

    interpol.refresh()  # a reload, as after an administrator's change: it does not stop

    state = interpol.directory.agreement("ncb-madrid")
    assert state.agreement is None
    assert state.problem is not None
    assert str(path) in state.problem
    assert problem in state.problem
    assert interpol.directory.agreement("europol").agreement is not None
