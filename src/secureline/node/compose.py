"""The composition root: a node built from its directory, with nothing global.

Several nodes can live in one process (the tests and the demo do exactly that): each has its
own database, keys, services, senders and servers.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from secureline.crypto import keys, pki
from secureline.crypto.errors import CryptoError
from secureline.interfaces.api.app import Services, create_app
from secureline.interfaces.desk.app import DeskServices, create_desk_app
from secureline.interfaces.line.client import HttpLineTransport
from secureline.interfaces.line.server import PeerCertificateProtocol, line_app
from secureline.node.changes import record_changes
from secureline.node.config import NodeConfig, load_config
from secureline.node.errors import NodeError
from secureline.node.layout import NodeLayout
from secureline.node.memory import TRIM_SECONDS, release_free_memory
from secureline.node.peering import PeerAdmin
from secureline.node.servers import (
    GRACEFUL_SHUTDOWN_SECONDS,
    Servers,
    bind,
    serve_in_thread,
    stop_servers,
)
from secureline.services.accounts import Accounts
from secureline.services.audit import AuditLog
from secureline.services.desk_auth import DeskAuth
from secureline.services.exports import Exports
from secureline.services.hits import Hits
from secureline.services.interop.misp import Misp
from secureline.services.interop.stix import Stix
from secureline.services.line.directory import Directory
from secureline.services.line.identity import NodeIdentity
from secureline.services.line.inbox import LineInbox
from secureline.services.line.outbox import LinkSender
from secureline.services.line.settings import LineSettings
from secureline.services.line.transport import LineTransport
from secureline.services.matching.crosscheck import CrossCheck
from secureline.services.matching.index import Holdings, warm_up_matching
from secureline.services.messaging import Messaging
from secureline.services.periodic import Periodic
from secureline.services.retention import Retention
from secureline.services.search import Search
from secureline.services.sessions import Sessions
from secureline.services.sharing import Sharing
from secureline.services.taxii import Collection, Taxii
from secureline.services.threads import Threads
from secureline.services.unit_permissions import UnitPermissions
from secureline.store.database import Database
from secureline.store.line import deliveries as delivery_store

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Node:
    def __init__(
        self,
        directory: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        transport: LineTransport | None = None,
    ) -> None:
        self.layout = NodeLayout(directory)
        self.config: NodeConfig = load_config(directory)
        self.name = self.config.node.name
        self._clock = clock
        passphrase = self.config.passphrase()
        try:
            self.identity = NodeIdentity(
                self.name,
                keys.load_signing_key(self.layout.signing_key, self.name, passphrase),
                keys.load_encryption_key(self.layout.encryption_key, self.name, passphrase),
            )
        except CryptoError as exc:
            raise NodeError("keys", str(exc)) from None
        self._passphrase = passphrase
        line = self.config.line
        self.settings = LineSettings(
            max_batch_messages=line.max_batch_messages,
            max_batch_bytes=line.max_batch_bytes,
            clock_skew_seconds=line.clock_skew_seconds,
            max_envelope_age_days=line.max_envelope_age_days,
            undelivered_alarm_seconds=line.undelivered_alarm_seconds,
            retry_initial_seconds=line.retry_initial_seconds,
            retry_max_seconds=line.retry_max_seconds,
            probe_interval_seconds=line.probe_interval_seconds,
            poison_after_failures=line.poison_after_failures,
            require_alert_review=self.config.alerts.require_review,
            kinds=line.supported_kinds,
        )
        self.db = Database(self.config.store_url(directory), self.config.store.schema_name)
        self.db.migrate()
        self.audit = AuditLog(
            self.db,
            self.name,
            self.identity.signing,
            checkpoint_every=self.config.audit.checkpoint_every,
            checkpoint_seconds=self.config.audit.checkpoint_seconds,
            clock=clock,
        )
        record_changes(
            self.audit,
            self.layout.config,
            self.layout.agreements.glob("*.toml"),
            [(self.identity.signing.kid, "signing"), (self.identity.encryption.kid, "encryption")],
        )
        self.directory = Directory(
            self.name,
            self.db,
            self.identity.signing.verify_key(),
            self.layout.agreements,
            self.config.routes,
            self.layout.capabilities,
        )
        self.accounts = Accounts(self.db, self.audit, clock)
        self.sessions = Sessions(self.db, self.audit, self.accounts, clock)
        self.desk_auth = DeskAuth(self.db, self.audit, self.accounts, clock)
        self.transport: LineTransport = transport or HttpLineTransport(
            self.layout.tls_certificate, self.layout.tls_key, passphrase
        )
        self.senders: dict[str, LinkSender] = {}
        self.inbox = LineInbox(
            self.identity, self.db, self.directory, self.audit, self.settings, clock, self.wake
        )
        self.inbox.refresh_units()
        self.messaging = Messaging(
            self.identity,
            self.db,
            self.directory,
            self.audit,
            clock,
            self.wake,
            require_alert_review=self.config.alerts.require_review,
            max_batch=self.config.api.max_batch,
        )
        self.sharing = Sharing(
            self.messaging, self.identity, self.db, self.directory, self.audit, clock
        )
        self.peering = PeerAdmin(
            self.name, self.config, self.layout, self.db, self.directory, self.audit, clock
        )
        self._servers: Servers | None = None
        self.retention = Retention(
            self.db, self.audit, clock, notice_days=self.config.retention.notice_days
        )
        self.exports = Exports(self.name, self.db, self.directory, self.audit, clock)
        self.search = Search(self.name, self.db)
        self.taxii = Taxii(
            self.name,
            self.db,
            self.audit,
            [
                Collection(
                    str(c.id),
                    c.title,
                    c.description,
                    c.unit,
                    c.crime_area.value if c.crime_area else None,
                )
                for c in self.config.taxii.collections
            ],
            max_page=self.config.taxii.max_page,
        )
        self.holdings = Holdings(
            self.db, self.audit, clock, lambda: {u.name for u in self.accounts.units()}
        )
        matching = self.config.matching
        self.crosscheck = CrossCheck(
            self.name,
            self.db,
            self.audit,
            self.holdings,
            clock,
            threshold=matching.hit_threshold,
            batch=matching.crosscheck_batch,
        )
        self.hits = Hits(self.db, self.audit, clock)
        self.stix = Stix(self.messaging, self.db, self.audit)
        self.misp = Misp(self.messaging, self.db, self.audit)
        self._timers: list[Periodic] = []
        self._running = False

    # --- senders --------------------------------------------------------------------------

    def wake(self, hops: set[str]) -> None:
        for hop in hops:
            sender = self.senders.get(hop)
            if sender is not None:
                sender.wake()

    def start_senders(self) -> None:
        requeued = delivery_store.requeue_sent(self.db)
        if requeued:
            log.info(
                "%s: %d envelopes were on the wire at the last stop; sending again",
                self.name,
                requeued,
            )
        for peer in self.directory.direct_peers():
            if peer.name not in self.senders:
                sender = LinkSender(
                    self.name,
                    peer.name,
                    self.db,
                    self.directory,
                    self.transport,
                    self.audit,
                    self.settings,
                    self._clock,
                    statement=self.inbox.statement,
                )
                self.senders[peer.name] = sender
                sender.start()

    def refresh(self) -> None:
        """Re-read peers, agreements and units after an administrator changed them."""
        self.directory.reload()
        record_changes(
            self.audit,
            self.layout.config,
            self.layout.agreements.glob("*.toml"),
            [(self.identity.signing.kid, "signing"), (self.identity.encryption.kid, "encryption")],
        )
        self.inbox.refresh_units()
        if self._running:
            self.start_senders()

    # --- servers ----------------------------------------------------------------------------

    def start(self, *, line_port: int | None = None, api_port: int | None = None) -> Servers:
        """Serve the line and the API in a background thread; ports 0 pick free ones."""
        # The matcher's first call loads ICU's transliterators and rigour's name data (about
        # 7 s of CPU): done beside start-up when there is something to match against, not in
        # the first officer's search; a node without holdings pays it only if it ever matches.
        if self.holdings.count():
            threading.Thread(target=warm_up_matching, name="matching-warm-up", daemon=True).start()
        line_cfg, api_cfg = self.config.line, self.config.api
        # The TLS identities first: one that cannot be loaded stops the start with no socket
        # left bound.
        ssl_context, api_ssl = self._server_ssl(), self._api_ssl()
        line_sock = bind(line_cfg.host, line_cfg.port if line_port is None else line_port)
        api_sock = bind(self.config.api.host, api_cfg.port if api_port is None else api_port)
        line_server = uvicorn.Server(
            uvicorn.Config(
                line_app(self.directory, self.inbox, lambda: self.settings.max_batch_bytes),
                http=PeerCertificateProtocol,
                log_level="warning",
                access_log=False,
                timeout_keep_alive=60,
                proxy_headers=False,  # a peer is known by its certificate, never by a header
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                lifespan="off",
            )
        )
        line_server.config.load()
        line_server.config.ssl = ssl_context
        api_server = uvicorn.Server(
            uvicorn.Config(
                self.api_port_app(),
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                lifespan="off",
                # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise:
                # only the configured proxies may name a client's address.
                proxy_headers=bool(api_cfg.trusted_proxies),
                forwarded_allow_ips=list(api_cfg.trusted_proxies),
            )
        )
        api_server.config.load()
        api_server.config.ssl = api_ssl
        self._servers = serve_in_thread(self.name, (line_server, line_sock), (api_server, api_sock))
        self._running = True
        self.start_senders()
        seconds = self.config.audit.checkpoint_seconds
        self._timers = [
            Periodic(
                f"retention-{self.name}",
                self.config.retention.job_interval_seconds,
                self.retention.run,
                first_after=5.0,  # shortly after start, then every interval
            ),
            # Ticking at a quarter of the interval, no record waits unsigned for more than
            # 1.25 times checkpoint_seconds.
            Periodic(
                f"checkpoint-{self.name}",
                seconds / 4,
                self.audit.checkpoint_if_due,
                first_after=seconds / 4,
            ),
            Periodic(  # RSS that follows the objects alive, not the busiest moment so far
                f"trim-{self.name}", TRIM_SECONDS, release_free_memory, first_after=TRIM_SECONDS
            ),
        ]
        matching = self.config.matching
        if matching.crosscheck_in_node:  # what arrived, matched against the holdings
            self._timers.append(
                Periodic(
                    f"crosscheck-{self.name}",
                    matching.crosscheck_interval_seconds,
                    self.crosscheck.run_once,
                    first_after=matching.crosscheck_interval_seconds,
                )
            )
        for timer in self._timers:
            timer.start()
        return self._servers

    def _server_ssl(self) -> Any:
        cas = [p.ca_pem.encode() for p in self.directory.direct_peers() if p.ca_pem]
        try:
            return pki.server_ssl_context(
                self.layout.tls_certificate, self.layout.tls_key, cas, self._passphrase
            )
        except CryptoError as exc:
            raise NodeError("tls", str(exc)) from None

    def _api_ssl(self) -> ssl.SSLContext | None:
        api = self.config.api
        if api.tls_certificate is None or api.tls_private_key is None:
            return None
        try:
            return pki.https_server_context(
                self.layout.root / api.tls_certificate, self.layout.root / api.tls_private_key
            )
        except CryptoError as exc:
            raise NodeError("api.tls_certificate", str(exc)) from None

    @property
    def api_url(self) -> str:
        """Where the API and the desk answer (loopback when listening on every address)."""
        host = self.config.api.host
        if host in ("0.0.0.0", "::"):  # noqa: S104 -- naming it, not binding
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.config.api.tls else 'http'}://{host}:{self.api_port}"

    @property
    def line_port(self) -> int:
        assert self._servers is not None
        return self._servers.line_port

    @property
    def api_port(self) -> int:
        assert self._servers is not None
        return self._servers.api_port

    def disconnect(self) -> None:
        """Stop the senders and close this node's connections to its peers. Stopping every
        node of a federation this way first lets each server then stop at once, with no
        peer's keep-alive connection left to wait for."""
        for sender in list(self.senders.values()):
            sender.stop()
        self.senders.clear()
        self.transport.close()

    def stop(self) -> None:
        """Stop the senders, then the servers (at most about GRACEFUL_SHUTDOWN_SECONDS even
        while peers hold connections), then close the line clients and the store. Safe to
        call twice; every step runs even if an earlier one failed."""
        errors: list[BaseException] = []
        self.crosscheck.stop()  # between two messages: a long backlog does not hold the stop
        timers, self._timers = self._timers, []
        for timer in timers:
            try:
                timer.stop()
            except Exception as exc:  # noqa: BLE001 (stop everything, then report)
                errors.append(exc)
        try:
            self.disconnect()
        except Exception as exc:  # noqa: BLE001 (stop everything, then report)
            errors.append(exc)
        servers, self._servers = self._servers, None
        if servers is not None:
            try:
                stop_servers(servers)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        self._running = False
        for close in (self.transport.close, self.db.dispose):  # close() is idempotent
            try:
                close()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        if errors:
            raise errors[0]

    # --- faces ------------------------------------------------------------------------------

    def api_services(self) -> Services:
        return Services(
            node=self.name,
            accounts=self.accounts,
            messaging=self.messaging,
            sharing=self.sharing,
            peers=self.peering.link_health,
            audit_log=self.audit,
            retention=self.retention,
            exports=self.exports,
            search=self.search,
            holdings=self.holdings,
            hits=self.hits,
            taxii=self.taxii,
            taxii_title=self.config.taxii.title,
            max_body_bytes=self.config.api.max_body_bytes,
            max_batch=self.config.api.max_batch,
        )

    def api_port_app(self) -> Any:
        """The API port's application: the desk under ``/desk``, the API everywhere else.

        The desk is its own application beside the API's, not behind its edge: the edge
        demands a Bearer token on every path and the desk must never accept one, while the
        API must never accept a desk cookie. Two apps, each with one way in, keep the
        credentials apart by construction (no path list in the edge to keep in step)."""
        api = create_app(self.api_services())
        desk = create_desk_app(
            DeskServices(
                self.name,
                self.desk_auth,
                self.messaging,
                sharing=self.sharing,
                retention=self.retention,
                threads=Threads(self.name, self.db),
                permissions=UnitPermissions(self.name, self.db, self.sharing, self.messaging),
                search=self.search,
                accounts=self.accounts,
                peering=self.peering,
                audit=self.audit,
                exports=self.exports,
                hits=self.hits,
            )
        )

        async def faces(scope: Any, receive: Any, send: Any) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and (path == "/desk" or path.startswith("/desk/")):
                await desk(
                    {**scope, "root_path": scope.get("root_path", "") + "/desk"}, receive, send
                )
                return
            await api(scope, receive, send)

        return faces
