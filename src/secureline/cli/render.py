"""How a message and an inbox look to a person at a terminal, and to a script (``--json``).

A person reads the restrictions before the content: the handling code and its conditions come
first, each said in words, then the evaluation in words, then the body and the entities."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from secureline.domain.message import Header
from secureline.domain.vocabulary import HandlingCode

#: What each handling code lets the recipient do, in the words of the SIENA handling codes.
HANDLING_MEANING = {
    HandlingCode.H0: "use only to prevent and combat crime, for the stated purpose",
    HandlingCode.H1: "not to be used in judicial proceedings without the provider's permission",
    HandlingCode.H2: "not to be passed on further without the provider's permission",
    HandlingCode.H3: "other restrictions, stated by the provider below; acknowledge them first",
}


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""


def header_json(header: Header) -> dict[str, Any]:
    data: dict[str, Any] = header.model_dump(mode="json")
    data["handling_meaning"] = HANDLING_MEANING[header.handling]
    data["evaluation_meaning"] = header.evaluation.describe()
    return data


def inbox_json(rows: list[tuple[int, Header, datetime | None]]) -> list[dict[str, Any]]:
    return [
        {
            "seq": seq,
            "id": h.id,
            "created_at": h.created_at.isoformat(),
            "sender": str(h.sender),
            "kind": h.kind.value,
            "crime_area": h.crime_area.value,
            "handling": h.handling.value,
            "deadline": h.deadline.isoformat() if h.deadline else None,
            "read": read_at is not None,
            "read_at": read_at.isoformat() if read_at else None,
            "subject": h.subject,
        }
        for seq, h, read_at in rows
    ]


def inbox_table(rows: list[tuple[int, Header, datetime | None]]) -> Table:
    """Full ids (any unique prefix of one is accepted by every command)."""
    table = Table("#", "id", "date", "from", "kind", "handling", "deadline", "read", "subject")
    # an id is never cut, whatever the terminal's width: the subject gives way first
    table.columns[1].no_wrap = True
    table.columns[1].min_width = max((len(h.id) for _, h, _ in rows), default=2)
    for seq, h, read_at in rows:
        table.add_row(
            str(seq),
            h.id,
            _when(h.created_at),
            str(h.sender),
            h.kind.value,
            h.handling.value,
            _when(h.deadline),
            "read" if read_at else "[bold]unread[/bold]",
            Text(h.subject),
        )
    return table


def print_message(console: Console, header: Header, content: dict[str, Any] | None) -> None:
    """The restrictions first, in words; then what it is and who sent it; then the content."""
    console.print(
        Text.assemble(("handling ", "bold"), (header.handling.value, "bold red"), ": "),
        Text(HANDLING_MEANING[header.handling]),
        soft_wrap=True,
    )
    if header.handling_conditions:
        console.print(Text.assemble(("conditions: ", "bold"), header.handling_conditions))
    console.print(
        Text(f"evaluation {header.evaluation}: {header.evaluation.describe()}"), soft_wrap=True
    )
    console.print(Text.assemble(("subject: ", "bold"), header.subject), soft_wrap=True)
    facts = [
        ("id", header.id),
        ("from", str(header.sender)),
        ("to", ", ".join(str(a) for a in header.to)),
        ("sent", _when(header.created_at)),
        ("kind", header.kind.value + (f" ({header.alert.value})" if header.alert else "")),
        ("crime area", header.crime_area.value),
        ("purpose", header.purpose),
        ("priority", header.priority.value),
        ("deadline", _when(header.deadline)),
        ("case", header.case_ref or ""),
        ("data subjects", ", ".join(s.value for s in header.data_subjects)),
        ("in reply to", header.reply_to or ""),
    ]
    for label, value in facts:
        if value:
            console.print(Text.assemble((f"{label}: ", "dim"), value), soft_wrap=True)
    if content is None:
        return
    if content.get("body"):
        console.print()
        console.print(Text(str(content["body"])), soft_wrap=True)
    entities = content.get("entities") or []
    if entities:
        console.print()
        console.print(entity_table(entities))
    for attachment in content.get("attachments") or []:
        console.print(Text(f"attachment: {attachment.get('name', '')}"))


def entity_table(entities: list[dict[str, Any]]) -> Table:
    """One row per entity: its schema, id and properties (a property's values joined)."""
    table = Table("schema", "id", "properties", title="entities")
    for entity in entities:
        props = entity.get("properties") or {}
        lines = [f"{name}: {'; '.join(str(v) for v in values)}" for name, values in props.items()]
        table.add_row(
            Text(str(entity.get("schema", ""))),
            Text(str(entity.get("id", ""))),
            Text("\n".join(lines)),
        )
    return table


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
