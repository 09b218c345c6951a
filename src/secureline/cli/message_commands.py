"""``secureline send|inbox|read|status|export``: an officer's messages from the command line.

Every message id may be given as any unique prefix of it (see :mod:`secureline.cli.ids`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from secureline.cli import common, ids, render, session
from secureline.cli.common import Dir, Json, err, fail, out

if TYPE_CHECKING:
    from secureline.node.compose import Node
    from secureline.services.roles import Principal


def _officer(node: Node, unit: str | None) -> Principal:
    """The logged-in person (see :mod:`secureline.cli.session`); a ``--unit`` still given
    must be theirs."""
    return session.officer_of(node, unit)


def send(
    directory: Dir,
    to: Annotated[
        list[str] | None,
        typer.Option(
            help="Recipient unit@node (repeatable); for a strategic-report, a node alone is "
            "every unit of that node."
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="request, reply, information, alert, ...")
    ] = None,
    area: Annotated[str | None, typer.Option(help="Crime area, e.g. maritime-piracy.")] = None,
    subject: Annotated[str | None, typer.Option()] = None,
    handling: Annotated[
        str | None, typer.Option(help="H0, H1, H2 or H3 (or give --tlp instead).")
    ] = None,
    tlp: Annotated[
        str | None,
        typer.Option(
            help="A TLP 2.0 label instead of --handling: CLEAR, GREEN, AMBER, AMBER+STRICT or "
            "RED, mapped to a handling code, classification and conditions (docs/markings.md)."
        ),
    ] = None,
    alert: Annotated[
        str | None, typer.Option(help="With --kind alert: red, blue, yellow, ... (vocab).")
    ] = None,
    case_ref: Annotated[
        str | None, typer.Option("--case-ref", help="Your case reference, e.g. ES-2026-0042.")
    ] = None,
    body: Annotated[str, typer.Option()] = "",
    report: Annotated[
        Path | None,
        typer.Option(
            help="With --kind strategic-report: the report as JSON (title, summary, figures, "
            "tables), which becomes the body (docs/api.md)."
        ),
    ] = None,
    purpose: Annotated[str, typer.Option()] = "prevent and combat serious crime",
    evaluation: Annotated[str, typer.Option(help="4x4 code, e.g. B2.")] = "B2",
    conditions: Annotated[str | None, typer.Option(help="H3 conditions.")] = None,
    subjects: Annotated[
        list[str] | None, typer.Option("--data-subject", help="suspect, victim, ...")
    ] = None,
    entities: Annotated[
        Path | None, typer.Option(help="FollowTheMoney entities, JSON list.")
    ] = None,
    confidential: bool = False,
    priority: str = "normal",
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            help="Wait up to this many seconds for every destination's evidence (the node "
            "must be running); exit 1 naming any refusal, an unknown unit for one.",
        ),
    ] = 0,
    sender: Annotated[
        str | None,
        typer.Option("--from", help="Your unit (a check: you always send from your own)."),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            help="Send the drafts of this JSON-lines file instead (one draft object per line, "
            "as POST /api/v1/messages takes it, with an optional idempotency_key).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --batch: print the results as JSON.")
    ] = False,
) -> None:
    """Submit a message; the rules of sharing are applied at once. An unknown node is refused
    here; an unknown unit is known only to its node, which refuses it: use --wait to see it.
    With --batch FILE, every draft of the file, each answered on its own.

    Sent as the logged-in person, from their unit (secureline login).

    Example: secureline send --dir ./interpol --to ops@europol --kind information
      --area maritime-piracy --handling H0 --subject "Skiff sighted" --body "..."
    Example: secureline send --dir ./interpol --to europol --kind strategic-report
      --area maritime-piracy --handling H0 --subject "Piracy, Q3" --report q3.json
    Example: secureline send --batch drafts.jsonl --dir ./interpol [--json]
    """
    if batch is not None:
        from secureline.cli.batch_send import send_batch

        if to or kind or area or subject:
            fail("--batch takes every draft from its file: no --to, --kind, --area or --subject")
        send_batch(directory, sender, batch, as_json=as_json)
        return
    if not (to and kind and area and subject) or as_json:
        fail("give --to, --kind, --area and --subject (or --batch FILE, which takes --json)")
    draft: dict[str, Any] = {
        "to": to,
        "kind": kind,
        "crime_area": area,
        "subject": subject,
        "body": body,
        "purpose": purpose,
        "evaluation": evaluation,
        "priority": priority,
        "confidential": confidential,
        "data_subjects": subjects or [],
    }
    if report is not None:
        if body:
            fail("give --body or --report, not both")
        draft["body"] = _report_json(report)
    draft |= _marking(handling, tlp, conditions)
    if case_ref:
        draft["case_ref"] = case_ref
    if alert:
        draft["alert"] = alert
    if entities:
        draft["entities"] = common.json_list(entities)
    node = common.node_at(directory)
    principal = session.officer_of(node, sender, "--from")
    from secureline.cli.alert_commands import explain_refusal
    from secureline.services.errors import NoRoute, Refused

    try:
        done = node.messaging.submit(principal, draft)
    except NoRoute as exc:
        fail(f"--to: {exc.message}")
    except Refused as exc:
        explain_refusal(exc)
    state = "held for review" if done.held_for_review else "queued"
    out.print(f"{done.id} {state} for {', '.join(done.destinations)}")
    if wait and not done.held_for_review:
        _wait_for_evidence(node, principal, done.id, wait)


def _report_json(path: Path) -> str:
    """A report file's JSON, compact; its fields are checked with the draft."""
    import orjson

    try:
        return orjson.dumps(orjson.loads(path.read_bytes())).decode()
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"--report: cannot read {path}: {exc}")


def _marking(handling: str | None, tlp: str | None, conditions: str | None) -> dict[str, Any]:
    """The handling code, classification and conditions: given, or mapped from a TLP label."""
    from secureline.domain.markings import from_tlp

    if (handling is None) == (tlp is None):
        fail("give --handling or --tlp (one of the two)")
    if tlp is None:
        return {"handling": handling} | ({"handling_conditions": conditions} if conditions else {})
    if conditions:
        fail("--conditions with --tlp: the TLP label sets the conditions (docs/markings.md)")
    from secureline.domain.errors import DomainError

    try:
        marking = from_tlp(tlp)
    except DomainError as exc:
        fail(f"--tlp: {exc.reason}")
    mapped: dict[str, Any] = {
        "handling": marking.handling.value,
        "classification": marking.classification.value,
    }
    if marking.conditions:
        mapped["handling_conditions"] = marking.conditions
    return mapped


#: Delivery states after which nothing more is expected for the sender's question.
_SETTLED = {"delivered", "read", "refused"}


def _wait_for_evidence(node: Node, principal: Principal, message_id: str, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        deliveries = node.messaging.status(principal, message_id).deliveries
        if all(d.state in _SETTLED for d in deliveries) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    refused = False
    for d in deliveries:
        if d.state == "refused":
            refused = True
            err.print(
                f"{d.destination}: refused by {d.refused_by}: {d.reason_code}: {d.reason_text}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        else:
            out.print(f"{d.destination}: {d.state}", markup=False, highlight=False)
    if refused:
        raise typer.Exit(1)
    if any(d.state not in _SETTLED for d in deliveries):
        fail(f"no evidence from every destination within {seconds:g} s (is the node running?)")


def export(
    message_id: str,
    directory: Dir,
    purpose: Annotated[str, typer.Option(help="judicial or case-file.")],
    output: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.")] = None,
    acknowledge_conditions: Annotated[
        bool, typer.Option("--acknowledge-conditions", help="H3: I have read the conditions.")
    ] = False,
    unit: session.UnitCheck = None,
) -> None:
    """Export a message received by your unit as JSON. H1 for judicial use needs the
    provider's permission.

    Example: secureline export msg-3f0c... --dir ./europol --purpose judicial
    """
    node = common.node_at(directory)
    principal = _officer(node, unit)  # before the id: no one unknown learns what ids exist
    message_id = ids.message_id(node, message_id)
    document = node.exports.export(
        principal, message_id, purpose, acknowledge_conditions=acknowledge_conditions
    )
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"{message_id} exported to {output}")
    else:
        print(text)


def read(
    message_id: str,
    directory: Dir,
    acknowledge_conditions: Annotated[
        bool, typer.Option("--acknowledge-conditions", help="H3: I have read the conditions.")
    ] = False,
    as_json: Json = False,
    unit: session.UnitCheck = None,
) -> None:
    """Open a message: its handling code and conditions first, in words, then its content
    (the first opening sends a read receipt to the origin). H3 content is shown only once its
    conditions are acknowledged.

    Example: secureline read msg-3f0c --dir ./europol
    """
    node = common.node_at(directory)
    principal = _officer(node, unit)  # before the id: no one unknown learns what ids exist
    message_id = ids.message_id(node, message_id)
    opened = node.messaging.open(
        principal, message_id, acknowledge_conditions=acknowledge_conditions
    )
    if as_json:
        print(
            render.dumps(
                {
                    "header": render.header_json(opened.header),
                    "content": opened.content,
                    "first_read": opened.first_read,
                }
            )
        )
    else:
        render.print_message(out, opened.header, opened.content)
    if opened.content is None and opened.header.handling_conditions:
        fail("H3: read the conditions above, then open it again with --acknowledge-conditions")


def inbox(
    directory: Dir,
    unit_argument: Annotated[
        str | None, typer.Argument(metavar="[UNIT]", help="Your unit (a check, like --unit).")
    ] = None,
    unit_option: session.UnitCheck = None,
    after: Annotated[int, typer.Option(help="The last # already seen.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many (1-500).")] = 50,
    as_json: Json = False,
) -> None:
    """List your unit's messages in arrival order: date, sender, kind, handling code,
    deadline and whether it was read.

    Example: secureline inbox --dir ./europol
    """
    from secureline.store import messages as message_store

    if unit_argument is not None and unit_option is not None:
        fail("name the unit once: secureline inbox UNIT, or --unit UNIT")
    node = common.node_at(directory)
    principal = _officer(node, unit_argument or unit_option)
    unit = principal.unit
    page = node.messaging.inbox(principal, after, limit)
    # Messaging.inbox gives headers only; the read state is the same page's rows' read_at.
    read_at: dict[str, datetime | None] = {
        row.id: row.read_at for _, row in message_store.mailbox_page(node.db, unit, after, limit)
    }
    rows = [(seq, h, read_at.get(h.id)) for seq, h in page]
    if as_json:
        print(render.dumps(render.inbox_json(rows)))
    else:
        out.print(render.inbox_table(rows))


def status(message_id: str, directory: Dir, as_json: Json = False) -> None:
    """Where a message your unit sent is: per destination state, and the evidence received.

    Example: secureline status msg-0123abcd --dir ./interpol
    """
    node = common.node_at(directory)
    principal = session.person(node)  # before the id: no one unknown learns what ids exist
    message_id = ids.message_id(node, message_id)
    found = node.messaging.status(principal, message_id)
    if as_json:
        print(
            render.dumps(
                {
                    "id": message_id,
                    "deliveries": [dataclasses.asdict(d) for d in found.deliveries],
                    "evidence": [dataclasses.asdict(e) for e in found.evidence],
                }
            )
        )
        return
    for d in found.deliveries:
        why = f" ({d.reason_code}: {d.reason_text}, by {d.refused_by})" if d.reason_code else ""
        out.print(f"{d.destination}: {d.state} via {d.next_hop}{why}", markup=False)
        if d.state == "failed":  # set aside by the sender: an alarm until someone decides
            out.print("  alarm: set aside; secureline peer retry|drop decides", markup=False)
    for e in found.evidence:
        out.print(f"  evidence {e.kind} from {e.issuer} at {e.issued_at}", markup=False)
