"""``secureline unit ...`` and ``user ...``: the node's units and the people in them, with
their API tokens, as its administrator (``login``/``logout``/``whoami`` are
:mod:`secureline.cli.session`'s)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from secureline.cli import common, ids, render
from secureline.cli.common import Dir, Json, fail, out, vars_of
from secureline.cli.session import administrator

unit_app = typer.Typer(no_args_is_help=True, help="Units: addressable desks inside this node.")
user_app = typer.Typer(no_args_is_help=True, help="Users and their API tokens.")


@unit_app.command("add")
def unit_add(
    name: str,
    directory: Dir,
    description: str = "",
    specialist: Annotated[
        bool, typer.Option(help="May receive child sexual exploitation material.")
    ] = False,
    liaison_for: Annotated[
        str | None, typer.Option(help="A liaison office staffed by this organisation.")
    ] = None,
) -> None:
    """Add a unit (addressable as NAME@node).

    Example: secureline unit add ncb --dir ./interpol --description "National Central Bureau"
    """
    node = common.node_at(directory)
    node.accounts.add_unit(
        administrator(),
        name,
        description=description,
        specialist=specialist,
        liaison_for=liaison_for,
    )
    out.print(f"unit {name}@{node.name} added")


@unit_app.command("list")
def unit_list(directory: Dir, as_json: Json = False) -> None:
    """List the node's units."""
    node = common.node_at(directory)
    if as_json:
        units = node.accounts.units()
        print(render.dumps([{"address": f"{u.name}@{node.name}", **vars_of(u)} for u in units]))
        return
    table = Table("unit", "specialist", "liaison for", "description")
    for unit in node.accounts.units():
        table.add_row(
            f"{unit.name}@{node.name}",
            "yes" if unit.specialist else "",
            unit.liaison_for or "",
            unit.description,
        )
    out.print(table)


@user_app.command("add")
def user_add(
    username: str,
    directory: Dir,
    unit: Annotated[str, typer.Option(help="The unit the user belongs to.")],
    role: Annotated[str, typer.Option(help="officer, admin, dpo or system.")] = "officer",
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this env variable.")
    ] = None,
) -> None:
    """Add a user (argon2id password; asked for twice unless --password-env is given).

    Example: secureline user add alice --unit ncb --role officer --dir ./interpol
    """
    if password_env:
        password = os.environ.get(password_env) or fail(
            f"environment variable {password_env} is not set"
        )
    else:
        common.require_terminal("the password", "--password-env VARIABLE")
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    node = common.node_at(directory)
    node.accounts.add_user(administrator(), username, unit, role, password)
    out.print(f"user {username} added to {unit}@{node.name} as {role}")


@user_app.command("list")
def user_list(directory: Dir, as_json: Json = False) -> None:
    """List the node's users: name, unit, role, whether disabled, when created.

    Example: secureline user list --dir ./interpol
    """
    node = common.node_at(directory)
    users = node.accounts.users()
    if as_json:
        print(render.dumps([vars_of(u) for u in users]))
        return
    table = Table("user", "unit", "role", "disabled (UTC)", "created (UTC)")
    for u in users:
        disabled = f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else ""
        table.add_row(u.username, u.unit, u.role, disabled, f"{u.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


@user_app.command("disable")
def user_disable(username: str, directory: Dir) -> None:
    """Disable a user at once: their password, API tokens and sessions stop working; audited.

    Example: secureline user disable alice --dir ./interpol
    """
    node = common.node_at(directory)
    node.accounts.disable_user(administrator(), username)
    out.print(f"user {username} disabled: their tokens and sessions no longer work")


@user_app.command("token")
def user_token(username: str, directory: Dir, label: str = "") -> None:
    """Create an API token for a user; it is shown once.

    Example: secureline user token alice --dir ./interpol
    """
    node = common.node_at(directory)
    print(node.accounts.create_token(administrator(), username, label))


@user_app.command("tokens")
def user_tokens(username: str, directory: Dir, as_json: Json = False) -> None:
    """List a user's API tokens (ids, labels, dates; never the secrets).

    Example: secureline user tokens alice --dir ./interpol
    """
    node = common.node_at(directory)
    if as_json:
        print(render.dumps([vars_of(t) for t in node.accounts.tokens(username)]))
        return
    table = Table("token id", "label", "created (UTC)", "revoked (UTC)")
    for token in node.accounts.tokens(username):
        table.add_row(
            token.id,
            token.label,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    out.print(table)


@user_app.command("revoke-token")
def user_revoke_token(token_id: str, directory: Dir) -> None:
    """Revoke an API token at once (the id comes from `user tokens`); audited.

    Example: secureline user revoke-token 3f9c2a7b1d4e5f60 --dir ./interpol
    """
    node = common.node_at(directory)
    token = node.accounts.revoke_token(administrator(), ids.token_id(node, token_id))
    out.print(f"token {token.id} of {token.username} revoked")
