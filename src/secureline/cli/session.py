"""``secureline login|logout|whoami``, and who acts from the command line.

An officer's command (send, read, export, forward, approve, permission and review
decisions, retraction...) acts as the person logged in to the node, so that the audit chain
and who-read name a person, not a process: :func:`person` is the one place that decides
who that is. A session's secret lives in ``$SECURELINE_SESSION_DIR/<node>.session`` (default
``~/.local/state/secureline``), a file only its OS user can read; its digest, expiry and end
are in the node's database, which every process consults. A script may set
``SECURELINE_TOKEN`` (an API token) instead of logging in.

Node administration on the node's own directory (init, units, users, peers, agreements,
the audit chain) is the OS administrator's: :func:`administrator` names them
``cli:<OS user>`` in the audit chain.
"""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from secureline.cli import common, render
from secureline.cli.common import Dir, Json, fail, out

if TYPE_CHECKING:
    from secureline.node.compose import Node
    from secureline.services.roles import Principal
    from secureline.services.sessions import Session

SESSION_DIR_VARIABLE = "SECURELINE_SESSION_DIR"
PASSWORD_VARIABLE = "SECURELINE_PASSWORD"  # noqa: S105 (the variable's name, not a password)
TOKEN_VARIABLE = "SECURELINE_TOKEN"  # noqa: S105 (the variable's name, not a token)
_LOG_IN = "secureline login --user NAME --dir DIR"
#: ``--unit`` on an officer's command no longer chooses the unit (the logged-in person's is
#: used); it is kept so that a script naming a unit fails loudly when it is not the person's.
UnitCheck = Annotated[
    str | None, typer.Option("--unit", help="Your unit (a check: you act for your own).")
]


def administrator() -> str:
    """Who administers the node from its own directory, for the audit chain: ``cli:<OS user>``."""
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


def session_dir() -> Path:
    configured = os.environ.get(SESSION_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return Path.home() / ".local" / "state" / "secureline"


def session_file(node_name: str) -> Path:
    return session_dir() / f"{node_name}.session"


def person(node: Node) -> Principal:
    """The person acting on ``node``: the API token in ``SECURELINE_TOKEN``, else the live
    session of this OS user's session file. Anything else fails, saying how to log in."""
    principal, _ = _acting(node)
    return principal


def _acting(node: Node) -> tuple[Principal, Session | None]:
    """The principal, and the session it comes from (None for an API token)."""
    from secureline.services.errors import NotAuthenticated

    token = os.environ.get(TOKEN_VARIABLE)
    try:
        if token:
            return node.accounts.authenticate_token(token), None
        session = node.sessions.authenticate(_read_secret(session_file(node.name), node.name))
    except NotAuthenticated as exc:
        fail(f"{TOKEN_VARIABLE if token else f'the session on {node.name}'}: {exc.message}")
    return session.principal, session


def officer_of(node: Node, unit: str | None, option: str = "--unit") -> Principal:
    """The person, checked against a unit still named on the command line: an old script's
    ``--unit``/``--from`` must be the person's own unit (a person acts for their unit only)."""
    principal = person(node)
    if unit is not None and unit != principal.unit:
        fail(
            f"{option} {unit}: {principal.username} acts for unit {principal.unit}, not {unit} "
            f"(log in as a user of {unit}, or leave {option} out)"
        )
    return principal


def _read_secret(path: Path, node_name: str) -> str:
    try:
        mode = path.stat().st_mode
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        fail(f"not logged in to {node_name}: {_LOG_IN} (or set {TOKEN_VARIABLE})")
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # fail closed: someone else could have read the secret
        fail(f"{path} is readable by others: remove it and log in again ({_LOG_IN})")
    return secret


def _write_secret(path: Path, secret: str) -> None:
    """Write the secret atomically into a private file of a private directory: a crash
    leaves the old file or the new one, never half of one, and no one else can read either."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        fail(f"{directory} must be private to you: chmod 700 {directory}")
    partial = directory / f".{path.name}.{os.getpid()}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
            f.flush()
            os.fsync(f.fileno())
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def _password() -> str:
    given = os.environ.get(PASSWORD_VARIABLE)
    if given:
        return given
    common.require_terminal("the password", f"it in the environment variable {PASSWORD_VARIABLE}")
    password: str = typer.prompt("password", hide_input=True)
    return password


def login(
    directory: Dir,
    user: Annotated[str, typer.Option("--user", help="Your user name on this node.")],
    hours: Annotated[
        float, typer.Option(min=0.01, max=168, help="How long the session lasts.")
    ] = 8,
) -> None:
    """Log in as a person: asks the password (or reads SECURELINE_PASSWORD) and keeps a
    session in a file only you can read. Officer commands then act as you.

    Example: secureline login --user alice --dir ./interpol
    """
    from secureline.services.errors import NotAuthenticated

    password = _password()
    node = common.node_at(directory)
    try:
        secret, session = node.sessions.open(user, password, timedelta(hours=hours))
    except NotAuthenticated as exc:
        fail(exc.message)
    path = session_file(node.name)
    _write_secret(path, secret)
    p = session.principal
    out.print(
        f"logged in to {node.name} as {p.username} ({p.role}, unit {p.unit}) until "
        f"{session.expires_at:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )


def logout(directory: Dir) -> None:
    """End your session on this node, for every process at once, and remove its file.

    Example: secureline logout --dir ./interpol
    """
    node = common.node_at(directory)
    path = session_file(node.name)
    secret = _read_secret(path, node.name)
    ended = node.sessions.end(secret)
    path.unlink(missing_ok=True)
    if ended is None:
        out.print(f"the session on {node.name} was already over; its file is removed")
    else:
        out.print(f"{ended.principal.username} logged out of {node.name}", markup=False)


def whoami(directory: Dir, as_json: Json = False) -> None:
    """Who officer commands act as on this node: user, unit, role and the session's expiry.

    Example: secureline whoami --dir ./interpol
    """
    node = common.node_at(directory)
    principal, session = _acting(node)
    expires = session.expires_at.isoformat() if session else None
    shown = {
        "user": principal.username,
        "unit": principal.unit,
        "address": f"{principal.unit}@{node.name}",
        "role": principal.role.value,
        "expires_at": expires,
        "by": "session" if expires else "token",
    }
    if as_json:
        print(render.dumps(shown))
        return
    until = f"session until {expires}" if expires else f"API token ({TOKEN_VARIABLE})"
    out.print(
        f"{shown['user']}, {shown['role']} of {shown['address']}; {until}",
        markup=False,
        highlight=False,
    )
