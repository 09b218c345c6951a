"""``secureline send --batch FILE``: many drafts from a JSON-lines file, through the service
call behind ``POST /api/v1/messages/batch`` (in process, not over HTTP).

Each line holds one draft, the object ``POST /api/v1/messages`` takes, with an optional
``idempotency_key``; blank lines are skipped. Every line is read and checked before anything
is sent, so a bad line fails naming its line number and nothing leaves. The drafts then go in
chunks of ``[api] max_batch`` (each chunk one transaction); every draft is answered on its
own: one line each (its index, then its message id or its refusal with every reason), or
with ``--json`` the API's results list. The exit status is 1 when any draft was refused.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import typer

from secureline.cli import common, render, session
from secureline.cli.common import fail, out


@dataclasses.dataclass(frozen=True)
class BatchFile:
    drafts: list[Any]  # checked Drafts
    keys: list[str | None]
    lines: list[int]  # each draft's line number in the file


def read_batch(path: Path) -> BatchFile:
    """Every draft of the file, checked; fails at the first bad line, naming it."""
    from secureline.domain.errors import DomainError
    from secureline.domain.message import parse_draft
    from secureline.services.errors import InvalidInput
    from secureline.services.idempotency import check_key

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        fail(f"{path}: {exc}")
    read = BatchFile([], [], [])
    first_with: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            fail(f"{where}: not JSON: {exc}")
        if not isinstance(item, dict):
            fail(f"{where}: must be a JSON object, one draft per line")
        key = item.pop("idempotency_key", None)
        if key is not None:
            try:
                check_key(key if isinstance(key, str) else "", "idempotency_key")
            except InvalidInput as exc:
                fail(f"{where}: {exc.message}")
            if key in first_with:
                fail(f"{where}: idempotency_key: the same as line {first_with[key]}'s")
            first_with[key] = number
        try:
            read.drafts.append(parse_draft(item))
        except DomainError as exc:
            fail(f"{where}: {exc.field}: {exc.reason}")
        read.keys.append(key)
        read.lines.append(number)
    return read


def send_batch(directory: Path, unit: str | None, path: Path, *, as_json: bool) -> None:
    """As the logged-in person, from their unit (``--from``, when given, must be it), as the
    single ``send`` acts."""
    from secureline.services.errors import ServiceError

    batch = read_batch(path)
    node = common.node_at(directory)
    principal = session.officer_of(node, unit, "--from")
    size = node.messaging.max_batch
    outcomes: list[Any] = []
    for start in range(0, len(batch.drafts), size):
        try:
            chunk = node.messaging.submit_batch(
                principal, batch.drafts[start : start + size], batch.keys[start : start + size]
            )
        except ServiceError as exc:
            sent = f"drafts 0-{start - 1} were sent; " if start else ""
            fail(f"{sent}line {batch.lines[start]} on: {exc.message}")
        outcomes += [dataclasses.replace(o, index=start + o.index) for o in chunk]
    results = [o.as_json() for o in outcomes]
    if as_json:
        print(render.dumps(results))
    else:
        for result in results:
            out.print(_line(result), markup=False, highlight=False, soft_wrap=True)
    if any(r["status"] == "refused" for r in results):
        raise typer.Exit(1)


def _line(result: dict[str, Any]) -> str:
    index, message, error = result["index"], result["message"], result["error"]
    if message is not None:
        state = "held for review" if message["held_for_review"] else "queued"
        return f"{index} {message['id']} {state} for {', '.join(message['destinations'])}"
    return f"{index} refused ({error['code']}): {error['message']}"
