"""``secureline demo``: four organisations on loopback, joined by the line.

ncb-madrid (a national bureau on the Interpol side) — interpol — europol — enu-spain (a
national unit on the Europol side), with liaison desks at interpol and europol. Traffic
crosses both networks in the five priority areas; some messages are ones the rules must stop.
"""

from __future__ import annotations

import json
import random
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from secureline.cli import demo_access
from secureline.cli.federation import FIVE_AREAS, LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.domain.strategic import PERSONAL_DATA_IN_STRATEGIC
from secureline.node.compose import Node
from secureline.services.errors import Refused
from secureline.services.roles import Principal, Role

NODES = [
    NodeSpec("ncb-madrid", "NCB Madrid", "Madrid", [("ncb", False, None)]),
    NodeSpec(
        "interpol",
        "Interpol",
        "Lyon",
        [("cc", False, None), ("europol-lo", False, "europol"), ("cse", True, None)],
    ),
    NodeSpec(
        "europol",
        "Europol",
        "The Hague",
        [("ops", False, None), ("interpol-lo", False, "interpol"), ("cse", True, None)],
    ),
    NodeSpec(
        "enu-spain",
        "Europol National Unit Spain",
        "Madrid",
        [("enu", False, None), ("cse", True, None)],
    ),
]
WIDE_SUBJECTS = ("suspect", "convicted", "contact", "potential-offender", "informant")
LINKS = [
    LinkSpec("ncb-madrid", "interpol", [*FIVE_AREAS, "drug-trafficking", "fraud"], WIDE_SUBJECTS),
    LinkSpec("interpol", "europol", [*FIVE_AREAS, "drug-trafficking"]),
    LinkSpec("europol", "enu-spain", [*FIVE_AREAS, "drug-trafficking", "fraud"], WIDE_SUBJECTS),
]
UNIT_OF = {"ncb-madrid": "ncb", "interpol": "cc", "europol": "ops", "enu-spain": "enu"}


@dataclass
class Sent:
    id: str
    origin: str
    destination: str
    hops: int
    expect: str  # delivered | refused
    reason: str | None = None
    refused_by: str | None = None


@dataclass
class Run:
    nodes: dict[str, Node]
    sent: list[Sent] = field(default_factory=list)
    submit_refusals: list[dict[str, str]] = field(default_factory=list)
    strategic: list[str] = field(default_factory=list)  # the strategic reports sent


def _as(node: Node, unit: str) -> Principal:
    return Principal(f"demo-{unit}", f"demo:{unit}@{node.name}", unit, Role.OFFICER)


HOPS = {("ncb-madrid", "enu-spain"): 3, ("enu-spain", "ncb-madrid"): 3}


def _send(run: Run, origin: str, unit: str, to: str, message: dict[str, Any], **expect: Any) -> str:
    node = run.nodes[origin]
    done = node.messaging.submit(_as(node, unit), message)
    if done.held_for_review:  # four eyes: a second officer of the unit approves
        node.messaging.approve_alert(
            Principal("demo-2", f"demo:reviewer@{origin}", unit, Role.OFFICER), done.id
        )
    destination = to.split("@")[1]
    run.sent.append(
        Sent(
            done.id,
            origin,
            destination,
            HOPS.get((origin, destination), 1),
            expect.get("expect", "delivered"),
            expect.get("reason"),
            expect.get("refused_by"),
        )
    )
    return done.id


def traffic(run: Run) -> None:
    rng = random.Random(2011)  # the year of the agreement: the same traffic every run
    pairs = [
        ("interpol", "europol"),
        ("europol", "interpol"),
        ("ncb-madrid", "enu-spain"),
        ("enu-spain", "ncb-madrid"),
    ]
    for area in FIVE_AREAS:
        for origin, dest in pairs:
            unit = (
                "cse"
                if area == "child-sexual-exploitation" and origin in ("interpol", "europol")
                else UNIT_OF[origin]
            )
            to_unit = (
                "cse"
                if area == "child-sexual-exploitation" and dest != "ncb-madrid"
                else UNIT_OF[dest]
            )
            if area == "child-sexual-exploitation" and dest == "ncb-madrid":
                continue  # a national bureau without a specialist unit receives none
            _send(
                run,
                origin,
                unit,
                f"{to_unit}@{dest}",
                draft(
                    rng, f"{to_unit}@{dest}", area, f"{origin}-{area}", n_entities=rng.randint(3, 5)
                ),
            )
    # liaison desks: each organisation's officers at the other's headquarters
    _send(
        run,
        "europol",
        "ops",
        "europol-lo@interpol",
        draft(rng, "europol-lo@interpol", "counter-terrorism", "lo1"),
    )
    _send(
        run,
        "interpol",
        "cc",
        "interpol-lo@europol",
        draft(rng, "interpol-lo@europol", "maritime-piracy", "lo2"),
    )
    # confidential end to end: the relays hold only ciphertext
    _send(
        run,
        "ncb-madrid",
        "ncb",
        "enu@enu-spain",
        draft(rng, "enu@enu-spain", "counter-terrorism", "conf", confidential=True, handling="H1"),
    )
    # an alert to two organisations, released by a second officer
    alert = draft(rng, "ops@europol", "counter-terrorism", "alert", kind="alert", alert="blue")
    alert["to"] = ["ops@europol", "enu@enu-spain"]
    _send(run, "interpol", "cc", "ops@europol", alert)
    run.sent.append(Sent(run.sent[-1].id, "interpol", "enu-spain", 2, "delivered"))
    # what the rules must stop, at the crossing, with signed refusal evidence back to the origin
    _send(
        run,
        "ncb-madrid",
        "ncb",
        "enu@enu-spain",
        draft(rng, "enu@enu-spain", "fraud", "fraud"),
        expect="refused",
        reason="crime_area_not_allowed",
        refused_by="interpol",
    )
    _send(
        run,
        "ncb-madrid",
        "ncb",
        "enu@enu-spain",
        draft(rng, "enu@enu-spain", "drug-trafficking", "informant", data_subjects=["informant"]),
        expect="refused",
        reason="data_subject_not_allowed",
        refused_by="interpol",
    )


def forward_h2(run: Run) -> None:
    """Europol tries to pass an Interpol H2 message to a third organisation without a grant."""
    rng = random.Random(7)
    h2 = _send(
        run,
        "interpol",
        "cc",
        "ops@europol",
        draft(rng, "ops@europol", "maritime-piracy", "h2", handling="H2"),
    )
    _wait(run, [s for s in run.sent if s.id == h2], 30)
    europol = run.nodes["europol"]
    try:
        europol.sharing.forward(_as(europol, "ops"), h2, ["enu@enu-spain"])
    except Refused as exc:
        run.submit_refusals.append(
            {
                "message_id": h2,
                "reason": exc.reasons[0].code,
                "node": "europol",
                "expected": "onward_transfer_without_permission",
            }
        )
    else:
        run.submit_refusals.append(
            {
                "message_id": h2,
                "reason": "none",
                "node": "europol",
                "expected": "onward_transfer_without_permission",
            }
        )
    forward_with_grant(run, h2)


def forward_with_grant(run: Run, h2: str) -> None:
    """The same forward, once Interpol (the provider) granted it over the line: Europol asks
    with a permission-request, Interpol answers with a signed grant, and the forward carrying
    it passes Europol's check and Enu Spain's."""
    europol, interpol = run.nodes["europol"], run.nodes["interpol"]
    request = europol.sharing.request_permission(
        _as(europol, "ops"), h2, "onward-transfer", "enu-spain", None, "Spanish follow-up"
    )
    run.sent.append(Sent(request.id, "europol", "interpol", 1, "delivered"))
    _wait(run, run.sent[-1:], 30)
    _, carrier = interpol.sharing.grant_permission(_as(interpol, "cc"), request.id)
    run.sent.append(Sent(carrier.id, "interpol", "europol", 1, "delivered"))
    _wait(run, run.sent[-1:], 30)
    forwarded = europol.sharing.forward(_as(europol, "ops"), h2, ["enu@enu-spain"])
    run.sent.append(Sent(forwarded.id, "europol", "enu-spain", 1, "delivered"))


REPORT = {
    "title": "Piracy off the Horn of Africa, third quarter",
    "summary": "Attacks fell by a third; skiffs now operate further from the coast, "
    "from mother ships.",
    "figures": [
        {"label": "attacks", "value": 42, "unit": "incidents"},
        {"label": "vessels boarded", "value": 7, "unit": "vessels"},
    ],
    "tables": [
        {
            "caption": "Attacks by area",
            "columns": ["area", "attacks", "boarded"],
            "rows": [["Gulf of Aden", 30, 5], ["Somali basin", 12, 2]],
        }
    ],
}


def strategic(run: Run) -> None:
    """Interpol sends Europol a strategic report, to every unit of it; one that names a
    suspect (a Person, a data subject category) is refused at Interpol, as it must be."""
    rng = random.Random(17)
    report: dict[str, Any] = draft(
        rng, "europol", "maritime-piracy", "strategic", n_entities=0, kind="strategic-report"
    )
    report.update(
        to=["europol"],
        subject="Strategic report: maritime piracy, third quarter",
        body=json.dumps(REPORT),
        entities=[],
        data_subjects=[],
    )
    run.strategic.append(_send(run, "interpol", "cc", "all-units@europol", report))
    person = {"id": "strategic-person", "schema": "Person", "properties": {"name": ["Abdi Hassan"]}}
    interpol = run.nodes["interpol"]
    try:
        interpol.messaging.submit(
            _as(interpol, "cc"), {**report, "entities": [person], "data_subjects": ["suspect"]}
        )
    except Refused as exc:
        reason = exc.reasons[0].code
    else:
        reason = "none"
    run.submit_refusals.append(
        {
            "message_id": "(strategic report, not sent)",
            "reason": reason,
            "node": "interpol",
            "expected": PERSONAL_DATA_IN_STRATEGIC,
        }
    )


def _state(run: Run, sent: Sent) -> tuple[str, str | None, str | None]:
    principal = Principal("demo", "demo", "", Role.ADMIN)
    status = run.nodes[sent.origin].messaging.status(principal, sent.id)
    for d in status.deliveries:
        if d.destination == sent.destination:
            return d.state, d.reason_code, d.refused_by
    return "unknown", None, None


def _wait(run: Run, items: list[Sent], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_state(run, s)[0] in ("delivered", "read", "refused") for s in items):
            return True
        time.sleep(0.2)
    return False


def read_all(run: Run) -> None:
    """Recipients open what they received: read receipts travel back to the origins."""
    for name, node in run.nodes.items():
        for unit in [u.name for u in node.accounts.units()]:
            for _, header in node.messaging.inbox(_as(node, unit), 0, 500):
                node.messaging.open(_as(node, unit), header.id, acknowledge_conditions=True)
        del name


def summary(run: Run) -> dict[str, Any]:
    delivered = refused = relayed = read = 0
    refusals, problems = [], []
    for s in run.sent:
        state, reason, by = _state(run, s)
        if state in ("delivered", "read"):
            delivered += 1
            relayed += s.hops > 1
            read += state == "read"
        if state == "refused":
            refused += 1
            refusals.append({"message_id": s.id, "reason": reason, "node": by})
        if s.expect == "delivered" and state not in ("delivered", "read"):
            problems.append(f"{s.id} to {s.destination}: expected delivered, is {state} ({reason})")
        if s.expect == "refused" and (
            state != "refused" or reason != s.reason or by != s.refused_by
        ):
            problems.append(
                f"{s.id}: expected refused by {s.refused_by} ({s.reason}), "
                f"is {state} by {by} ({reason})"
            )
    for r in run.submit_refusals:
        refusals.append({"message_id": r["message_id"], "reason": r["reason"], "node": r["node"]})
        if r["reason"] != r["expected"]:
            problems.append(f"{r['message_id']}: expected {r['expected']}, got {r['reason']}")
    strategic_refused = [
        r for r in run.submit_refusals if r["expected"] == PERSONAL_DATA_IN_STRATEGIC
    ]
    return {
        "sent": len(run.sent) + len(run.submit_refusals),
        "delivered": delivered,
        "refused": refused + len(run.submit_refusals),
        "relayed": relayed,
        "read": read,
        "refusals": refusals,
        "strategic": {
            "sent": len(run.strategic) + len(strategic_refused),
            "refused_for_personal_data": sum(
                r["reason"] == PERSONAL_DATA_IN_STRATEGIC for r in strategic_refused
            ),
        },
        "problems": problems,
        "ok": not problems,
    }


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo exactly as Ctrl-C does


def run_demo(directory: Path | None, *, check: bool, console: Console) -> bool:
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_demo(directory, check=check, console=console)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_demo(directory: Path | None, *, check: bool, console: Console) -> bool:
    temp = None
    if directory is None:
        temp = tempfile.TemporaryDirectory(prefix="secureline-demo-")
        directory = Path(temp.name)
    try:
        existing = all((directory / n.name / "node.toml").exists() for n in NODES)
        if not existing:
            console.print(f"creating four organisations in {directory} ...")
            build(directory, NODES, LINKS)
        nodes = {n.name: Node(directory / n.name) for n in NODES}
        for node in nodes.values():
            node.start()
        run = Run(nodes)
        try:
            traffic(run)
            forward_h2(run)
            strategic(run)
            _wait(run, run.sent, 60)
            read_all(run)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(
                _state(run, s)[0] == "delivered" for s in run.sent if s.expect == "delivered"
            ):
                time.sleep(0.2)
            result = summary(run)
            if not check:
                demo_access.publish(directory, nodes, UNIT_OF, console)
                console.print(
                    "try: curl -s -H 'Authorization: Bearer TOKEN' API/api/v1/inbox "
                    "(an officer's token and its node's API from the table)"
                )
            _report(run, result, console, check)
            if not check:
                console.print("press Ctrl-C to stop")
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:
                    console.print("stopping")
            return bool(result["ok"])
        finally:
            for node in nodes.values():
                node.disconnect()
            for node in nodes.values():
                node.stop()
    finally:
        if temp is not None:
            temp.cleanup()


def _report(run: Run, result: dict[str, Any], console: Console, check: bool) -> None:
    for name, node in run.nodes.items():
        console.print(
            f"{name:11} line https://127.0.0.1:{node.line_port}  API {node.api_url}"
            f"  dir {node.layout.root}",
            soft_wrap=True,
        )
    console.print(
        f"sent {result['sent']}, delivered {result['delivered']} (relayed across networks "
        f"{result['relayed']}), read {result['read']}, refused {result['refused']}"
    )
    console.print(
        f"strategic reports {result['strategic']['sent']}, refused for personal data "
        f"{result['strategic']['refused_for_personal_data']}"
    )
    for refusal in result["refusals"]:
        console.print(
            f"  refused {refusal['message_id']} by {refusal['node']}: {refusal['reason']}",
            soft_wrap=True,
        )
    for problem in result["problems"]:
        console.print(f"[red]problem:[/red] {problem}")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "problems"} | {"problems": result["problems"]}
        )
    )
