"""Outbound line transport: one keep-alive mutual-TLS client per peer, pinned to its CA."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import orjson

from secureline.crypto.pki import client_ssl_context
from secureline.services.line.directory import Peer
from secureline.services.line.transport import PushAnswer, TransportError, Unreachable

AGREEMENT_HEADER = "secureline-agreement"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# The client writes a request's head and body apart; with Nagle's algorithm on, the body
# would wait for the server's delayed acknowledgement of the head.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class HttpLineTransport:
    def __init__(self, cert: Path, key: Path, passphrase: bytes | None) -> None:
        self._cert = cert
        self._key = key
        self._passphrase = passphrase
        self._clients: dict[str, tuple[str, httpx.Client]] = {}
        self._lock = threading.Lock()

    def _client(self, peer: Peer) -> httpx.Client:
        assert peer.ca_pem is not None
        with self._lock:
            cached = self._clients.get(peer.name)
            if cached is not None and cached[0] == peer.ca_pem:
                return cached[1]
            context = client_ssl_context(
                self._cert, self._key, [peer.ca_pem.encode()], self._passphrase
            )
            client = httpx.Client(
                transport=httpx.HTTPTransport(verify=context, socket_options=NO_DELAY),
                timeout=TIMEOUT,
                base_url=peer.line_url or "",
            )
            self._clients[peer.name] = (peer.ca_pem, client)
            return client

    def push(
        self, peer: Peer, txn_id: str, body: bytes, agreement_digest: str | None
    ) -> PushAnswer:
        if peer.line_url is None or peer.ca_pem is None:
            raise TransportError(f"{peer.name} is not a direct link")
        try:
            response = self._client(peer).put(
                f"/line/v1/transactions/{txn_id}",
                content=body,
                headers={
                    "content-type": "application/json",
                    AGREEMENT_HEADER: agreement_digest or "",
                },
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unreachable(f"{peer.name} unreachable: {exc.__class__.__name__}: {exc}") from None
        except httpx.HTTPError as exc:  # reached, but the exchange broke off
            raise TransportError(
                f"{peer.name} broke off the exchange: {exc.__class__.__name__}: {exc}"
            ) from None
        code = None
        if response.status_code != 200:
            try:
                code = orjson.loads(response.content)["error"]["code"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                code = None
        return PushAnswer(
            response.status_code,
            response.content,
            code,
            response.headers.get(AGREEMENT_HEADER) or None,
        )

    def close(self) -> None:
        with self._lock:
            for _, client in self._clients.values():
                client.close()
            self._clients.clear()
