"""The edge refuses before it reads: an unauthenticated request's body is never received,
and a declared oversize body is refused without receiving a byte (issue 13, 1.7)."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest

from secureline.interfaces.api.edge import Edge, check_attachment_name, check_json
from secureline.services.errors import NotAuthenticated
from secureline.services.roles import Principal, Role


class _Accounts:
    def __init__(self, *, ok: bool) -> None:
        self.ok = ok
        self.seen: list[tuple[str | None, str]] = []

    def authenticate_request(self, authorization: str | None, source: str) -> Principal:
        self.seen.append((authorization, source))
        if not self.ok:
            raise NotAuthenticated("no")
        return Principal("u", "alice", "cc", Role.OFFICER)


def _run(accounts: _Accounts, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any, int]:
    received = 0
    reached = []
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] = orjson.loads(message["body"])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)

    scope = {
        "type": "http",
        "path": "/api/v1/messages",
        "headers": headers,
        "client": ("192.0.2.7", 4000),
    }
    edge = Edge(app, accounts, max_body_bytes=4096)  # type: ignore[arg-type]
    anyio.run(edge, scope, receive, send)
    assert not reached
    return answer["status"], answer["body"], received


def test_an_unauthenticated_body_is_never_read() -> None:
    accounts = _Accounts(ok=False)
    status, body, received = _run(accounts, [(b"content-length", b"67108864")])
    assert (status, body["error"]["code"], received) == (401, "not_authenticated", 0)
    assert accounts.seen == [(None, "192.0.2.7")]


def test_a_declared_oversize_body_is_refused_unread() -> None:
    headers = [(b"authorization", b"Bearer slt_x"), (b"content-length", b"67108864")]
    status, body, received = _run(_Accounts(ok=True), headers)
    assert (status, body["error"]["code"], received) == (413, "body_too_large", 0)


def test_an_undeclared_body_is_read_only_up_to_the_limit() -> None:
    status, body, received = _run(_Accounts(ok=True), [(b"authorization", b"Bearer slt_x")])
    assert (status, body["error"]["code"]) == (413, "body_too_large")
    assert received == 5  # 4 KiB limit, 1 KiB chunks: refused on the chunk that passes it


@pytest.mark.parametrize("name", ["report.pdf", "Bericht 2026 (v2).docx", "é" * 127])
def test_plain_file_names_pass(name: str) -> None:
    check_attachment_name(name, "n")


def test_keys_are_checked_like_text() -> None:
    from secureline.interfaces.api.edge import EdgeRefusal

    with pytest.raises(EdgeRefusal, match="U\\+0000") as refused:
        check_json(b'{"a\\u0000": 1}')
    assert refused.value.code == "control_character"


def test_text_that_is_not_json_is_left_to_the_parser() -> None:
    check_json(b"{nope")
