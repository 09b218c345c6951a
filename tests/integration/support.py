"""Helpers for the integration tests: real nodes on loopback, real TLS, real stores."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
from sqlalchemy import func, select

from secureline.cli.federation import LinkSpec, NodeSpec, build
from secureline.cli.samples import draft
from secureline.crypto import pki
from secureline.crypto.keys import SigningKey
from secureline.domain.addresses import Address
from secureline.domain.message import compose, content_digest, parse_draft
from secureline.node.compose import Node
from secureline.node.config import load_config
from secureline.node.layout import NodeLayout
from secureline.services.line.wire import (
    EvidenceItem,
    envelope_payload,
    open_evidence,
    sign_message_envelope,
)
from secureline.services.roles import Principal, Role
from secureline.services.submission import new_message_id
from secureline.store import messages as message_store
from secureline.store import tables
from secureline.store.database import Database

T = TypeVar("T")

UNITS = {"interpol": "cc", "europol": "ops", "ncb-madrid": "ncb", "enu-spain": "enu"}
SPECS = {
    "interpol": NodeSpec("interpol", "Interpol", "Lyon", [("cc", False, None)]),
    "europol": NodeSpec("europol", "Europol", "The Hague", [("ops", False, None)]),
    "ncb-madrid": NodeSpec("ncb-madrid", "NCB Madrid", "Madrid", [("ncb", False, None)]),
    "enu-spain": NodeSpec("enu-spain", "ENU Spain", "Madrid", [("enu", False, None)]),
}
PAIR = ([SPECS["interpol"], SPECS["europol"]], [LinkSpec("interpol", "europol")])
CHAIN = (
    [SPECS["ncb-madrid"], SPECS["interpol"], SPECS["europol"]],
    [LinkSpec("ncb-madrid", "interpol"), LinkSpec("interpol", "europol")],
)
# interpol in the middle, linked directly to each of the three others (which reach one another
# through interpol).
STAR = (
    [SPECS["interpol"], SPECS["europol"], SPECS["ncb-madrid"], SPECS["enu-spain"]],
    [
        LinkSpec("interpol", "europol"),
        LinkSpec("interpol", "ncb-madrid"),
        LinkSpec("interpol", "enu-spain"),
    ],
)
ADMIN = Principal("test-admin", "test-admin", "", Role.ADMIN)


def unstarted_interpol(root: Path) -> Node:
    """The ``interpol`` node of a pair built under ``root``, not started: its store and
    services, for tests of the API and the CLI that need no line traffic."""
    return Node(build(root, *PAIR)["interpol"])


FINAL = ("delivered", "read", "refused")


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str | Callable[[], str] = "",
) -> T:
    """Poll until ``predicate`` returns something truthy, and return it; fail after timeout.

    ``what`` names what was awaited; a callable is asked only at the timeout, so that the
    failure can show the state things were left in (not the state when the wait began)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = (what() if callable(what) else what) or predicate
            raise AssertionError(f"timed out after {timeout} s waiting for {described}")
        time.sleep(interval)


def officer(node: Node | str, unit: str | None = None, who: str | None = None) -> Principal:
    """An officer of ``unit`` (the node's test unit by default); ``who`` names another one."""
    name = node if isinstance(node, str) else node.name
    unit = unit or UNITS[name]
    person = f"{unit}-{who}" if who else unit
    return Principal(f"test-{person}", f"test:{person}@{name}", unit, Role.OFFICER)


#: The password of the people the tests log in as from the CLI (there is no default one).
CLI_PASSWORD = "correct horse battery staple"


def log_in(
    node: Node,
    directory: Path | str,
    unit: str | None = None,
    who: str = "officer",
    role: str = "officer",
) -> str:
    """``secureline login`` as ``<unit>-<who>`` of ``unit`` (the node's test unit by
    default), a user made here if new; returns the user name. The session file goes to
    ``$SECURELINE_SESSION_DIR``, a test's own directory (see conftest)."""
    from typer.testing import CliRunner

    from secureline.cli.main import app
    from secureline.cli.session import PASSWORD_VARIABLE

    unit = unit or UNITS[node.name]
    username = f"{unit}-{who}"
    if username not in {u.username for u in node.accounts.users()}:
        node.accounts.add_user("test", username, unit, role, CLI_PASSWORD)
    done = CliRunner().invoke(
        app,
        ["login", "--user", username, "--dir", str(directory)],
        env={PASSWORD_VARIABLE: CLI_PASSWORD},
    )
    assert done.exit_code == 0, done.output
    return username


class Federation:
    """Node directories built by ``federation.build``, and the nodes running from them.

    A Node is constructed once per run: to restart, stop it and construct a new one."""

    def __init__(self, root: Path, dirs: dict[str, Path]) -> None:
        self.root = root
        self.dirs = dirs
        self.nodes: dict[str, Node] = {}

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def layout(self, name: str) -> NodeLayout:
        return NodeLayout(self.dirs[name])

    def construct(self, name: str) -> Node:
        assert name not in self.nodes, f"{name} is already constructed"
        node = Node(self.dirs[name])
        self.nodes[name] = node
        return node

    def start(self, name: str) -> Node:
        node = self.nodes.get(name) or self.construct(name)
        node.start()
        return node

    def stop(self, name: str) -> None:
        self.nodes.pop(name).stop()

    def restart(self, name: str) -> Node:
        self.stop(name)
        return self.start(name)

    def close(self) -> None:
        # First every node hangs up its own line clients, then the nodes stop: a node whose
        # peer still holds an idle TLS connection to it would wait for the peer's close_notify
        # up to its graceful shutdown timeout (see test_stop_is_prompt_while_a_peer_is_connected).
        for node in self.nodes.values():
            for sender in node.senders.values():
                sender.stop()
            node.transport.close()
        errors = []
        for name in list(self.nodes):
            try:
                self.stop(name)
            except Exception as exc:  # noqa: BLE001 (stop every node even if one fails)
                errors.append(exc)
        if errors:
            raise errors[0]


def set_option(directory: Path, section: str, key: str, value: str) -> None:
    """Set ``key = value`` (a TOML literal) in a section of the node's ``node.toml``; the
    change applies to the next Node built from that directory."""
    config = directory / "node.toml"
    text = config.read_text(encoding="utf-8")
    head = f"[{section}]\n"
    assert head in text, f"no [{section}] in {config}"
    start = text.index(head) + len(head)
    end = text.find("\n[", start)
    end = len(text) if end < 0 else end + 1
    body = re.sub(rf"(?m)^{re.escape(key)} = .*\n", "", text[start:end])
    config.write_text(text[:start] + f"{key} = {value}\n" + body + text[end:], encoding="utf-8")


def open_store(directory: Path) -> Database:
    """The store of the node in ``directory``, for a test to read while that node runs in
    another process (dispose it when done)."""
    config = load_config(directory)
    return Database(config.store_url(directory), config.store.schema_name)


# --- nodes in their own OS process ----------------------------------------------------------

# cli/main.py has no ``if __name__ == "__main__"`` guard: run the console script installed
# next to this interpreter.
SECURELINE = Path(sys.executable).with_name("secureline")


class NodeProcess:
    """``secureline run --dir DIR`` as a child process, killed or stopped by the test.

    Each run appends its output to ``DIR/../<name>-run.log``, quoted when a wait fails."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = load_config(directory)
        self.log = directory.parent / f"{self.config.node.name}-run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None, "already running"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SECURELINE), "run", "--dir", str(self.directory)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_for(self._listening, timeout, interval=0.05, what=f"{self.directory.name} to listen")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"{self.directory.name} exited with {self.process.returncode}:\n{self.output()}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection((self.config.line.host, self.config.line.port), timeout=0.5),
        ):
            return True
        return False

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a power cut or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a clean stop), then SIGKILL if it does not end in time; safe to repeat."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def make_federation(
    root: Path,
    specs: tuple[Sequence[NodeSpec], Sequence[LinkSpec]],
    store: Callable[[str], tuple[str, str | None]],
) -> Federation:
    nodes, links = specs
    return Federation(root, build(root, nodes, links, store=store))


# --- messages and their states ------------------------------------------------------------


def sample(
    to: str, area: str = "cyber-crime", seed: int = 2011, **overrides: Any
) -> dict[str, Any]:
    rng = random.Random(seed)
    return draft(rng, to, area, f"t{seed}", n_entities=rng.randint(3, 5), **overrides)


#: what makes a ``sample`` a strategic report without personal data (domain/strategic.py)
STRATEGIC: dict[str, Any] = {
    "body": orjson.dumps(
        {
            "title": "Piracy off the Horn of Africa, third quarter",
            "summary": "Attacks fell by a third; skiffs now operate further from the coast.",
            "figures": [{"label": "attacks", "value": 42, "unit": "incidents"}],
            "tables": [
                {
                    "caption": "Attacks by area",
                    "columns": ["area", "attacks"],
                    "rows": [["Gulf of Aden", 30], ["Somali basin", 12]],
                }
            ],
        }
    ).decode(),
    "entities": [],
    "data_subjects": [],
}


def seed_with_a_person(to: str = "ops@europol") -> int:
    """A seed whose ``sample`` carries a Person (personal data), found, not assumed."""
    for seed in range(1, 200):
        if any(e["schema"] == "Person" for e in sample(to, seed=seed)["entities"]):
            return seed
    raise AssertionError("no sample seed with a Person")


def set_agreement_terms(fed: Federation, a: str, b: str, **terms: str) -> None:
    """Put ``terms`` (TOML literals) in place of the generated ones in the agreement of the
    link a-b, on both sides (the same text, so the digests still match); before the nodes
    are constructed, which read it."""
    for here, there in ((a, b), (b, a)):
        path = fed.dirs[here] / "agreements" / f"{there}.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        for key, value in terms.items():
            matching = [i for i, line in enumerate(lines) if line.startswith(f"{key} = ")]
            assert len(matching) == 1, f"{key} not in {path}"
            lines[matching[0]] = f"{key} = {value}"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def delivery_state(node: Node, message_id: str, destination: str) -> str | None:
    status = node.messaging.status(ADMIN, message_id)
    for d in status.deliveries:
        if d.destination == destination:
            return d.state
    return None


def wait_state(
    node: Node, message_id: str, destination: str, states: Sequence[str], timeout: float = 20.0
) -> str:
    def reached() -> str | None:
        state = delivery_state(node, message_id, destination)
        return state if state in states else None

    return wait_for(reached, timeout, what=f"{message_id} to {destination} in {list(states)}")


def evidence_kinds(node: Node, message_id: str) -> list[tuple[str, str]]:
    """(kind, issuer) of the evidence held at the origin for a message."""
    return [(e.kind, e.issuer) for e in node.messaging.status(ADMIN, message_id).evidence]


def count_rows(node: Node, table: Any, *where: Any) -> int:
    with node.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def stored_counts(node: Node) -> dict[str, int]:
    """What a receiver stores for what it takes in; an attack must change none of these."""
    return {
        "messages": count_rows(node, tables.messages),
        "mailbox": count_rows(node, tables.mailbox),
        "deliveries": count_rows(node, tables.deliveries),
    }


def message_row(node: Node, message_id: str) -> Any:
    """The message as the store's readers see it (its content read from its envelope where
    the envelope keeps it)."""
    return message_store.get_message(node.db, message_id)


# --- a hand-made line client ----------------------------------------------------------------


def craft_envelope(
    origin: Node,
    to: str,
    *,
    seed: int = 7,
    signing: SigningKey | None = None,
    destination: str | None = None,
    header_change: Callable[[dict[str, Any]], None] | None = None,
    content_change: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[str, str]:
    """A message composed and signed as ``origin`` would; returns (message id, JWS).

    ``content_change`` and ``header_change`` alter the payload's JSON before it is signed
    (the header's content digest follows the changed content), as a peer that forges could."""
    now = datetime.now(UTC)
    message = compose(
        parse_draft(sample(to, seed=seed)),
        message_id=new_message_id(),
        sender=Address(UNITS[origin.name], origin.name),
        now=now,
        default_review_date=(now + timedelta(days=365)).date(),
    )
    payload = envelope_payload(message, destination or to.split("@")[1], None)
    if header_change is not None or content_change is not None:
        body = orjson.loads(payload)
        if content_change is not None:
            content = orjson.loads(body["content"])
            content_change(content)
            body["content"] = orjson.dumps(content).decode()
            body["header"]["content_digest"] = content_digest(body["content"].encode())
        if header_change is not None:
            header_change(body["header"])
        payload = orjson.dumps(body)
    return message.header.id, sign_message_envelope(payload, signing or origin.identity.signing)


def transaction_body(
    envelopes: Sequence[tuple[str, Sequence[str]]], evidence: Sequence[str] = ()
) -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "envelopes": [{"token": t, "path": list(p)} for t, p in envelopes],
            "evidence": list(evidence),
        }
    )


def identity_context(
    ca_pem: bytes, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    """TLS 1.3 trusting only ``ca_pem``, presenting ``cert``/``key`` when given."""
    if cert is not None and key is not None:
        return pki.client_ssl_context(cert, key, [ca_pem], None)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(cadata=ca_pem.decode("ascii"))
    return context


def save_identity(directory: Path, name: str, identity: pki.Identity) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    pki.save_identity(cert, key, identity, None)
    return cert, key


def put(
    context: ssl.SSLContext, node: Node, txn_id: str, body: bytes, agreement: str | None
) -> httpx.Response:
    with httpx.Client(verify=context, timeout=httpx.Timeout(30.0, connect=5.0)) as client:
        return client.put(
            f"https://127.0.0.1:{node.line_port}/line/v1/transactions/{txn_id}",
            content=body,
            headers={
                "content-type": "application/json",
                "secureline-agreement": agreement or "",
            },
        )


def evidence_items(response: httpx.Response, verifier: Node) -> list[EvidenceItem]:
    """The signed evidence of a 200 answer, each document verified with the sender's keys."""
    assert response.status_code == 200, response.text
    documents = [
        open_evidence(token, verifier.directory.verify_keys)
        for token in response.json()["evidence"]
    ]
    return [item for doc in documents for item in doc.items]


def error_code(response: httpx.Response) -> str | None:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(response.json()["error"]["code"])
    return None
