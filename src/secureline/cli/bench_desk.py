"""``secureline bench desk``: the server time of the desk's pages with N messages stored.

The receiving node of the benchmarks' pair is filled through the store layer in bulk (the
same ``insert_messages`` the line's receiver calls, which indexes them for search, and
``add_to_mailboxes``), in transactions of a thousand: what the line would have stored, in
seconds rather than the hour the line would take at its own rate. Then one officer of the
receiving unit signs in (password and TOTP) and each page is asked for in turn, in this
process (the node's own ASGI application, through httpx's ASGI transport: no socket): the
time is from the request to the last byte of the answer, the page's server time without the
network's.

- ``inbox``: ``/desk/inbox`` (its newest page of 50 and the unread count);
- ``message``: ``/desk/messages/{id}`` of a random stored message (the first opening of most:
  it records the read, audits it and queues the read receipt);
- ``search``: ``/desk/search?q=`` a random entity name of the traffic (each is in about
  N / 5,000 messages);
- ``thread``: ``/desk/messages/{id}/thread``, when the desk serves that page (null if not).
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyotp

from secureline.cli.bench import RECEIVER, SENDER, build_pair
from secureline.cli.bench_api import store_for
from secureline.cli.samples import BENCH_POOL, bench_drafts
from secureline.domain.addresses import Address
from secureline.domain.message import compose, parse_draft
from secureline.node.compose import Node
from secureline.services.submission import new_message_id
from secureline.store import dialect
from secureline.store import messages as message_store

#: rows per transaction while filling
FILL_CHUNK = 1000
#: untimed requests of each page before the timed ones
WARM_UP = 5
UNIT = "ops"
#: the bench user's password, new each run (the store is thrown away after it)
PASSWORD = secrets.token_urlsafe(24)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def run_desk_bench(messages: int, store: str = "sqlite", requests: int = 200) -> dict[str, Any]:
    """The desk benchmark's one JSON object: ``{messages, store, p95_ms: {...}}``."""
    make_store, schemas = store_for(store)
    with tempfile.TemporaryDirectory(prefix="secureline-bench-desk-") as tmp:
        try:
            dirs = build_pair(Path(tmp), store=make_store)
            node = Node(dirs[RECEIVER])
            try:
                ids, names = fill(node, messages)
                p95 = _measure(node, ids, names, requests)
            finally:
                node.db.dispose()
        finally:
            for schema in schemas:
                dialect.drop_schema(store, schema)
    return {
        "messages": messages,
        "store": "postgresql" if schemas else "sqlite",
        "p95_ms": p95,
    }


def fill(node: Node, count: int) -> tuple[list[str], list[str]]:
    """``count`` messages from cc@SENDER in UNIT's mailbox, one a second up to now; returns
    their ids and the entity names they carry."""
    now = datetime.now(UTC)
    pool = []
    for data in bench_drafts(min(count, BENCH_POOL), seed=15, prefix="desk"):
        message = compose(
            parse_draft(data),
            message_id=new_message_id(),
            sender=Address("cc", SENDER),
            now=now,
            default_review_date=now.date(),
        )
        pool.append((message.stored_json, message.content_bytes.decode()))
    names = sorted(
        {
            name
            for _, content in pool
            for entity in orjson.loads(content)["entities"]
            for name in entity["properties"].get("name", [])
        }
    )
    ids: list[str] = []
    for first in range(0, count, FILL_CHUNK):
        rows = []
        for i in range(first, min(first + FILL_CHUNK, count)):
            header, content = pool[i % len(pool)]
            at = now - timedelta(seconds=count - i)
            stored = {**header, "id": new_message_id(), "created_at": at.isoformat()}
            rows.append(
                message_store.MessageRow(
                    id=stored["id"],
                    direction="in",
                    sender=f"cc@{SENDER}",
                    origin_node=SENDER,
                    header_json=orjson.dumps(stored).decode(),
                    content_json=content,
                    content_jwe=None,
                    envelope=None,
                    created_at=at,
                    stored_at=at,
                )
            )
        with node.db.transaction() as conn:
            message_store.insert_messages(conn, rows)
            message_store.add_to_mailboxes(conn, [(UNIT, r.id) for r in rows], now)
        ids += [r.id for r in rows]
    return ids, names


def _measure(node: Node, ids: list[str], names: list[str], requests: int) -> dict[str, Any]:
    key = pyotp.random_base32()
    node.accounts.add_user("bench", "ops-bench", UNIT, "officer", PASSWORD)
    node.desk_auth.set_secret("bench", "ops-bench", key)
    return asyncio.run(_pages(node, ids, names, requests, key))


async def _pages(
    node: Node, ids: list[str], names: list[str], requests: int, key: str
) -> dict[str, Any]:
    rng = random.Random(15)
    transport = httpx.ASGITransport(app=node.api_port_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as browser:
        await _sign_in(browser, "ops-bench", key)
        unopened = rng.sample(ids, min(len(ids), requests + WARM_UP))
        pages: dict[str, Callable[[], str]] = {
            "inbox": lambda: "/desk/inbox",
            "thread": lambda: f"/desk/messages/{rng.choice(ids)}/thread",
            "message": lambda: f"/desk/messages/{unopened.pop()}",
            "search": lambda: f"/desk/search?q={rng.choice(names)}",
        }
        result: dict[str, Any] = {}
        for page, path in pages.items():
            if page == "thread" and (await browser.get(path())).status_code == 404:
                result[page] = None  # the desk has no thread page (yet)
                continue
            result[page] = await _p95(browser, path, requests)
    return result


async def _p95(browser: httpx.AsyncClient, path: Callable[[], str], requests: int) -> float:
    for _ in range(WARM_UP):
        await _get(browser, path())
    times = []
    for _ in range(requests):
        target = path()
        start = time.perf_counter()
        await _get(browser, target)
        times.append(time.perf_counter() - start)
    times.sort()
    return round(times[max(0, -(-len(times) * 95 // 100) - 1)] * 1000, 2)


async def _get(browser: httpx.AsyncClient, path: str) -> None:
    answer = await browser.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"bench desk: {path} answered {answer.status_code}")


async def _sign_in(browser: httpx.AsyncClient, username: str, key: str) -> None:
    page = await browser.get("/desk/sign-in")
    first = await browser.post(
        "/desk/sign-in",
        data={"csrf": _csrf(page.text), "username": username, "password": PASSWORD},
    )
    second = await browser.get(first.headers["location"])
    done = await browser.post(
        "/desk/second-factor",
        data={"csrf": _csrf(second.text), "code": pyotp.TOTP(key).now()},
    )
    if done.status_code != 303:
        raise RuntimeError(f"bench desk: the sign-in failed ({done.status_code})")


def _csrf(page: str) -> str:
    found = _CSRF.search(page)
    if found is None:
        raise RuntimeError("bench desk: no CSRF token on the page")
    return found.group(1)
