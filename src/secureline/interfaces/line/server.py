"""Inbound line transport: mutual TLS, the peer authenticated once before any handler runs.

OpenSSL has already checked, during the handshake, that the client's chain ends at one of
the CAs this node pins (TLS 1.3, client certificate required). Here we finish the job for
every request: the certificate must name a node we link to directly and be issued by the
CA pinned *for that node*, so a partner's CA can never vouch for another partner's name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from secureline.crypto.errors import CryptoError
from secureline.crypto.pki import certificate_from_pem, check_peer_certificate, node_name
from secureline.services.line.directory import Directory
from secureline.services.line.inbox import LineInbox
from secureline.services.line.settings import LineError

log = logging.getLogger(__name__)
AGREEMENT_HEADER = "secureline-agreement"


class PeerCertificateProtocol(HttpToolsProtocol):
    """Puts the client's certificate into the ASGI scope (the ASGI TLS extension's shape),
    which uvicorn does not do by itself."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        ssl_object = self.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.scope["extensions"] = {"tls": {"client_cert_der": der}}


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        orjson.dumps({"error": {"code": code, "message": message}}),
        status_code=status,
        media_type="application/json",
    )


def authenticate_peer(scope: dict[str, Any], directory: Directory) -> str:
    """The verified name of the node at the other end, or LineError 401/403."""
    der = scope.get("extensions", {}).get("tls", {}).get("client_cert_der")
    if not der:
        raise LineError(401, "no_client_certificate", "a client certificate is required")
    try:
        from cryptography import x509

        claimed = node_name(x509.load_der_x509_certificate(der))
    except CryptoError as exc:  # its own code: no_node_name, malformed_certificate (protocol §1)
        raise LineError(403, exc.code, str(exc)) from None
    except ValueError as exc:
        raise LineError(403, "malformed_certificate", str(exc)) from None
    peer = directory.peer(claimed)
    if peer is None or not peer.direct or peer.ca_pem is None:
        raise LineError(403, "unknown_peer", f"{claimed} is not a linked peer of this node")
    try:
        check_peer_certificate(
            der, certificate_from_pem(peer.ca_pem.encode()), expected_node=claimed
        )
    except CryptoError as exc:
        raise LineError(403, exc.code, str(exc)) from None
    return claimed


def line_app(directory: Directory, inbox: LineInbox, max_bytes: Callable[[], int]) -> Starlette:
    async def put_transaction(request: Request) -> Response:
        """PUT /line/v1/transactions/{txn_id}: one batch from one authenticated peer."""
        peer: str | None = None
        try:
            peer = authenticate_peer(dict(request.scope), directory)
            limit = max_bytes()
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise LineError(413, "batch_too_large", f"over {limit} bytes")
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise LineError(413, "batch_too_large", f"over {limit} bytes")
                chunks.append(chunk)
            body = b"".join(chunks)
            answer = await run_in_threadpool(
                inbox.receive,
                peer,
                request.path_params["txn_id"],
                body,
                request.headers.get(AGREEMENT_HEADER),
            )
        except LineError as exc:
            log.warning("line: refused a transaction from %s: %s", peer or request.client, exc)
            response = _error(exc.status, exc.code, exc.message)
            if peer is not None:  # an authenticated peer learns which agreement we hold
                response.headers[AGREEMENT_HEADER] = directory.agreement_digest(peer) or ""
            return response
        except ClientDisconnect:
            # An ordinary event (the peer stopped, or gave up waiting): nothing was stored,
            # the peer sends the same transaction again. Nobody is left to answer.
            log.info("line: %s disconnected before its transaction was read", peer)
            return Response(status_code=400)
        except Exception:
            log.exception("line: unexpected error")
            return _error(500, "internal_error", "the node could not process the transaction")
        headers = {AGREEMENT_HEADER: directory.agreement_digest(peer) or ""}
        return Response(answer, media_type="application/json", headers=headers)

    async def fallback(request: Request) -> Response:
        return _error(
            404, "unknown_endpoint", f"{request.method} {request.url.path} is not part of the line"
        )

    return Starlette(
        routes=[
            Route("/line/v1/transactions/{txn_id}", put_transaction, methods=["PUT"]),
            Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
