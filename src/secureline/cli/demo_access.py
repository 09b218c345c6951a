"""The demo's ``demo.json``: how to reach each node and who may sign in, for people learning
secureline and for tools (the desk's tests) that drive a running demo.

Shape: ``{"nodes": {NAME: {"line": URL, "api": URL, "desk": URL, "credentials": [{"user",
"unit", "role", "token", "password", "totp_secret"}]}}}``, one credential per role on each
node. The passwords, tokens and TOTP keys (the desk's second factor: add the key to an
authenticator app, or compute the code with ``python -c "import pyotp;
print(pyotp.TOTP('KEY').now())"``) are made fresh for each run and are for the demo only;
the file is readable by its owner alone."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import pyotp
from rich.console import Console
from rich.table import Table

from secureline.node.compose import Node
from secureline.services.roles import Role

FILE_NAME = "demo.json"


def credentials(node: Node, unit: str) -> list[dict[str, str]]:
    """A fresh user of every role in ``unit``, with its password and an API token."""
    made = []
    suffix = secrets.token_hex(3)
    for role in Role:
        user = f"{role.value}-{suffix}"
        password = secrets.token_urlsafe(18)
        node.accounts.add_user("demo", user, unit, role.value, password)
        token = node.accounts.create_token("demo", user, "demo")
        totp_secret = pyotp.random_base32()
        node.desk_auth.set_secret("demo", user, totp_secret)
        made.append(
            {
                "user": user,
                "unit": unit,
                "role": role.value,
                "token": token,
                "password": password,
                "totp_secret": totp_secret,
            }
        )
    return made


def describe(nodes: dict[str, Node], unit_of: dict[str, str]) -> dict[str, Any]:
    return {
        "nodes": {
            name: {
                "line": f"https://127.0.0.1:{node.line_port}",
                "api": node.api_url,
                "desk": f"{node.api_url}/desk/",
                "credentials": credentials(node, unit_of[name]),
            }
            for name, node in nodes.items()
        }
    }


def write(directory: Path, document: dict[str, Any]) -> Path:
    """Written whole under a temporary name, then renamed: a reader never sees half a file."""
    path = directory / FILE_NAME
    partial = directory / f".{FILE_NAME}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
    partial.replace(path)
    return path


def table(document: dict[str, Any]) -> Table:
    shown = Table("node", "line", "API", "desk", "user", "unit", "role", "password", "token")
    for name, node in document["nodes"].items():
        for i, c in enumerate(node["credentials"]):
            first = i == 0
            shown.add_row(
                name if first else "",
                node["line"] if first else "",
                node["api"] if first else "",
                node["desk"] if first else "",
                c["user"],
                c["unit"],
                c["role"],
                c["password"],
                c["token"],
            )
    return shown


def publish(
    directory: Path, nodes: dict[str, Node], unit_of: dict[str, str], console: Console
) -> Path:
    document = describe(nodes, unit_of)
    path = write(directory, document)
    console.print(table(document))
    console.print(f"the same, for scripts: {path}", soft_wrap=True)
    for name, node in document["nodes"].items():
        console.print(f"desk of {name}: {node['desk']}", soft_wrap=True)
    console.print(
        "sign in to a desk with a user and password from the table; the second factor's key "
        f"(totp_secret) of each user is in {path} (demo only)",
        soft_wrap=True,
    )
    return path
