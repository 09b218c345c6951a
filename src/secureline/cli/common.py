"""What every command module shares: the consoles, the ``--dir`` option, failing, and
opening a node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # the node is opened only by the commands that need it (start-up time)
    from secureline.node.compose import Node

out = Console()
err = Console(stderr=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
Dir = Annotated[Path, typer.Option("--dir", help="The node directory.", show_default=False)]
#: Allocations between two collections of young objects in a running node (default 700).
GC_YOUNG_THRESHOLD = 50_000


def fail(message: str, code: int = 1) -> NoReturn:
    # One line, whatever the terminal width; the message is never read as rich markup.
    err.print(Text.assemble(("error: ", "red"), message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def require_terminal(what: str, instead: str) -> None:
    """Fail before prompting when there is no terminal to answer: a script would otherwise
    hang or die on end-of-file without knowing which option takes the answer."""
    import sys

    if not sys.stdin.isatty():
        fail(f"no terminal to ask for {what}: give {instead}")


def vars_of(value: Any) -> dict[str, Any]:
    """A row or dataclass as a JSON-ready dict (dates as ISO text by the JSON writer)."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "_asdict"):
        return dict(value._asdict())
    return dict(vars(value))


def json_list(path: Path) -> list[Any]:
    """A JSON list from a file (entities for ``send`` and ``correct``); fails naming the file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: {exc}")
    if not isinstance(value, list):
        fail(f"{path}: must hold a JSON list")
    return value


def node_at(directory: Path) -> Node:
    from secureline.node.compose import Node

    return Node(directory)


def settle_memory() -> None:
    """Move everything built at start-up (the FtM model, apps, keys) out of the cyclic
    garbage collector's reach: a long-lived server otherwise rescans it on every collection,
    which costs the line a measurable share of its throughput.

    Then collect young objects less often: a batch of envelopes lives for one transaction,
    and at the default threshold (700) it is scanned and promoted several times before it
    is freed by reference counting anyway. Cycles are rare here; they wait a little longer.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)
