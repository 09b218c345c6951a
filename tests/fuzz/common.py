"""What every fuzz target shares: the finding rule, the mutation loop, and the nodes.

A finding is any exception other than the target's documented error types, any 5xx, or an
input that takes more than a second alone. Its signature is ``(exception type, innermost
secureline frame as module:function)``: the unit the KNOWN list in test_fuzz.py tolerates.

The loop is in-process: the seeds (made by the project's own code) first, then inputs mutated
by a small libFuzzer-style byte mutator (``mutate``) from the seeds and from earlier inputs,
with atheris' FuzzedDataProvider used by the structured targets. It is not coverage guided:
``atheris.Fuzz`` would be, but it exits the process (sys.exit) and stops at the first finding,
and ``atheris.Mutate`` refuses to run outside it. A node is built once per process and reused
across runs, which is what makes the receive path fast enough to fuzz.
"""

from __future__ import annotations

import atexit
import logging
import random
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SLOW_SECONDS = 1.0
MAX_SIZE = 64 * 1024

Signature = tuple[str, str]


class Target(Protocol):
    TARGET: str

    def seeds(self) -> list[bytes]: ...

    def one_input(self, data: bytes) -> None: ...


class Finding(Exception):
    """Raised by ``one_input``: the input broke a documented contract."""

    def __init__(self, signature: Signature, detail: str) -> None:
        super().__init__(f"{signature[0]} at {signature[1]}: {detail}")
        self.signature = signature


def _location(exc: BaseException) -> str:
    """The innermost frame inside the secureline package, as ``module:function``."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).as_posix()
        if "/secureline/" in path:
            module = path.rsplit("/secureline/", 1)[1].removesuffix(".py").replace("/", ".")
            where = f"secureline.{module}:{frame.name}"
    return where


def guarded(call: Callable[[], Any], allowed: tuple[type[BaseException], ...]) -> Any:
    """Run ``call``; raise Finding for an undocumented exception or a slow input."""
    start = time.perf_counter()
    try:
        result = call()
    except allowed:
        result = None
    except Finding:
        raise
    except Exception as exc:
        raise Finding((type(exc).__name__, _location(exc)), repr(exc)[:300]) from exc
    elapsed = time.perf_counter() - start
    if elapsed > SLOW_SECONDS:
        raise Finding(("slow", "input"), f"took {elapsed:.2f} s")
    return result


@dataclass
class Outcome:
    target: str
    runs: int = 0
    findings: dict[Signature, bytes] = field(default_factory=dict)
    details: dict[Signature, str] = field(default_factory=dict)


_TOKENS = [
    b'"',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"0",
    b"-1",
    b"1e999",
    b"18446744073709551616",
    b"\x00",
    b"\n",
    b"\xff",
    b"\xc3",
    b"\\u0000",
    b"\\n",
    b"\\ud800",
    b"=",
    b"'''",
    b'"""',
    b"[[",
    b"{{",
    b"T00:00:00",
    b"Z",
    b"+00:00",
]


def mutate(data: bytes, other: bytes, rng: random.Random) -> bytes:
    """One to four byte-level edits (flip, insert, delete, duplicate, token, splice)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        kind = rng.randrange(7)
        if kind == 0 and out:
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at:at] = bytes([rng.randrange(256)])
        elif kind == 2 and out:
            del out[at : at + rng.randint(1, 16)]
        elif kind == 3 and out:
            chunk = out[at : at + rng.randint(1, 64)]
            out[at:at] = chunk * rng.randint(1, 8)
        elif kind == 4:
            out[at:at] = rng.choice(_TOKENS)
        elif kind == 5 and out:
            out[rng.randrange(len(out))] = rng.choice(b'09azAZ"{}[],: -_.@')
        elif other:
            start = rng.randrange(len(other))
            out[at:] = other[start : start + rng.randint(1, 256)] + out[at:]
    return bytes(out[:MAX_SIZE])


def inputs(seeds: list[bytes], rng: random.Random) -> Iterator[bytes]:
    """The seeds, then mutants of the seeds and of earlier mutants (a bounded pool)."""
    pool = list(seeds) or [b""]
    yield from seeds
    while True:
        parent = rng.choice(pool)
        child = mutate(parent, rng.choice(pool), rng)
        if len(pool) < 4096 and rng.random() < 0.2:
            pool.append(child)
        yield child


def run(
    target: Target,
    *,
    runs: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    extra: Iterable[bytes] = (),
) -> Outcome:
    """Drive ``target.one_input`` until ``runs`` inputs or ``seconds`` have passed."""
    outcome = Outcome(target.TARGET)
    deadline = time.monotonic() + seconds if seconds is not None else None
    rng = random.Random(seed)
    # The line logs every refusal; a million of them would drown the report.
    logging.disable(logging.CRITICAL)
    try:
        _loop(target, outcome, rng, runs, deadline, extra)
    finally:
        logging.disable(logging.NOTSET)
    return outcome


def _loop(
    target: Target,
    outcome: Outcome,
    rng: random.Random,
    runs: int | None,
    deadline: float | None,
    extra: Iterable[bytes],
) -> None:
    for data in inputs([*extra, *target.seeds()], rng):
        if runs is not None and outcome.runs >= runs:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        outcome.runs += 1
        try:
            target.one_input(data)
        except Finding as found:
            # Keep the shortest input per signature: the reproducer to record.
            known = outcome.findings.get(found.signature)
            if known is None or len(data) < len(known):
                outcome.findings[found.signature] = data
                outcome.details[found.signature] = str(found)


# --- the nodes, built once per process -------------------------------------------------------

_NODES: dict[str, Any] = {}


def nodes() -> dict[str, Any]:
    """interpol and europol, linked, built in a temporary directory (stores per
    SECURELINE_TEST_DATABASE_URL, as the tests' own fixture does), not started."""
    if _NODES:
        return _NODES
    from secureline.cli.federation import LinkSpec, NodeSpec, build
    from secureline.node.compose import Node
    from tests.conftest import StoreFor

    root = Path(tempfile.mkdtemp(prefix="secureline-fuzz-"))
    stores = StoreFor()
    dirs = build(
        root,
        [
            NodeSpec("interpol", "Interpol", units=[("cc", False, None)]),
            NodeSpec("europol", "Europol", units=[("ops", False, None)]),
        ],
        [LinkSpec("interpol", "europol")],
        store=stores,
    )
    built = {name: Node(path) for name, path in dirs.items()}

    def close() -> None:
        for node in built.values():
            node.db.dispose()
        stores.drop()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(close)
    _NODES.update(built)
    return _NODES
