"""Driving the desk over HTTP as a browser would (forms, cookies), for the desk's tests."""

from __future__ import annotations

import re

import httpx
import pyotp

from secureline.node.compose import Node

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def desk_user(node: Node, unit: str, name: str, role: str = "officer") -> str:
    """A user of ``unit`` with a known password and TOTP key; returns the key."""
    node.accounts.add_user("test", name, unit, role, PASSWORD)
    key = pyotp.random_base32()
    node.desk_auth.set_secret("test", name, key)
    return key


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


_OPEN: list[httpx.Client] = []


def client(node: Node, **kwargs: object) -> httpx.Client:
    """A browser-like client of the node's desk; closed by :func:`close_clients`."""
    made = httpx.Client(base_url=f"http://127.0.0.1:{node.api_port}", timeout=10, **kwargs)  # type: ignore[arg-type]
    _OPEN.append(made)
    return made


def close_clients() -> None:
    while _OPEN:
        _OPEN.pop().close()


def sign_in(
    browser: httpx.Client, username: str, key: str, code: str | None = None
) -> httpx.Response:
    """Password, then the second factor; returns the last answer (a redirect when good)."""
    page = browser.get("/desk/sign-in")
    first = browser.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(page), "username": username, "password": PASSWORD},
    )
    assert first.status_code == 303, first.text
    second = browser.get("/desk/second-factor")
    return browser.post(
        "/desk/second-factor",
        data={"csrf": csrf_of(second), "code": code or pyotp.TOTP(key).now()},
    )
