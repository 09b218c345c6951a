"""``secureline audit ...``: the audit chain, for the data protection officer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from secureline.cli import common, ids, render
from secureline.cli.common import Dir, Json, fail, out, vars_of
from secureline.cli.session import administrator

audit_app = typer.Typer(
    no_args_is_help=True, help="The audit chain, for the data protection officer."
)


@audit_app.command("verify")
def audit_verify(directory: Dir) -> None:
    """Check every record and checkpoint; exit 1 naming the first record that is wrong."""
    from secureline.services.audit import AuditChainBroken

    node = common.node_at(directory)
    try:
        node.audit.verify()
    except AuditChainBroken as exc:
        fail(f"audit chain broken at record {exc.seq}: {exc.reason}")
    out.print("audit chain verified")


@audit_app.command("who-read")
def audit_who_read(message_id: str, directory: Dir, as_json: Json = False) -> None:
    """Every opening of a message: who, when (any unique prefix of the id)."""
    node = common.node_at(directory)
    message_id = ids.message_id(node, message_id)
    records = node.audit.who_read(message_id)
    if as_json:
        print(render.dumps([vars_of(r) for r in records]))
        return
    for record in records:
        out.print(f"{record.at.isoformat()} {record.actor} {record.detail}", markup=False)


@audit_app.command("export")
def audit_export(
    directory: Dir,
    start: Annotated[str | None, typer.Option("--from", help="ISO time")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO time")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
) -> None:
    """Export records between two times as JSON lines or CSV."""
    from datetime import datetime

    if fmt not in ("jsonl", "csv"):
        fail("--format must be jsonl or csv")
    try:
        lo = datetime.fromisoformat(start) if start else None
        hi = datetime.fromisoformat(end) if end else None
    except ValueError as exc:
        fail(f"--from/--to: {exc}")
    node = common.node_at(directory)
    form: Literal["jsonl", "csv"] = "csv" if fmt == "csv" else "jsonl"
    for line in node.audit.export(lo, hi, form, actor=administrator()):
        sys.stdout.write(line if line.endswith("\n") else line + "\n")


@audit_app.command("partners")
def audit_partners(
    directory: Dir,
    peer: Annotated[str | None, typer.Argument(help="Only this partner.")] = None,
) -> None:
    """List the partners' signed checkpoints this node keeps (its proof of their history)."""
    node = common.node_at(directory)
    try:
        names = [peer] if peer else node.audit.partners()
        table = Table("partner", "seq", "head hash", "signed at")
        for name in names:
            for cp in node.audit.partner_checkpoints(name):
                table.add_row(name, str(cp.seq), cp.head_hash, cp.at.isoformat())
    finally:
        node.db.dispose()
    if not table.row_count:
        fail(f"no checkpoints kept for {peer}" if peer else "no partner checkpoints kept yet")
    out.print(table)


@audit_app.command("check-partner")
def audit_check_partner(
    directory: Dir,
    peer: Annotated[str, typer.Option("--peer", help="The partner node.")],
    records: Annotated[
        Path, typer.Option("--records", help="The partner's `audit export --format jsonl`.")
    ],
) -> None:
    """Check a partner's full export against its checkpoints we keep; exit 1 naming the
    first wrong record (or, for a consistent rewrite, the range its checkpoint covers)."""
    from secureline.services.audit import AuditChainBroken, AuditError, read_export

    node = common.node_at(directory)
    try:
        with records.open(encoding="utf-8", newline="") as handle:
            matched = node.audit.check_partner_export(peer, read_export(handle, "jsonl"))
    except OSError as exc:
        fail(f"{records}: {exc.strerror}")
    except AuditChainBroken as exc:
        fail(f"{peer}'s audit chain broken at record {exc.seq}: {exc.reason}")
    except AuditError as exc:
        fail(exc.message)
    finally:
        node.db.dispose()
    out.print(
        f"{peer}'s records match its {len(matched)} checkpoints we keep "
        f"(up to record {matched[-1].seq})"
    )
