"""``secureline init``: a new node directory with its keys, certificates, config and store.

The directory is built under a temporary name beside the target and renamed into place at
the end, so a failed init leaves nothing behind and an existing node is never overwritten.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from secureline.crypto import keys, pki
from secureline.crypto.errors import CryptoError
from secureline.domain.addresses import check_name
from secureline.domain.errors import DomainError
from secureline.node.config import CONFIG_FILE, AuditSection, RetentionSection, parse_config
from secureline.node.errors import NodeError
from secureline.node.layout import NodeLayout
from secureline.store.database import Database


@dataclass(frozen=True)
class InitOptions:
    name: str
    directory: Path
    organisation: str
    line_port: int = 8443
    api_port: int = 8080
    host: str = "127.0.0.1"
    hostnames: tuple[str, ...] = ("localhost", "127.0.0.1")
    store_url: str = "sqlite:///store.db"
    store_schema: str | None = None
    # An existing organisation CA (certificate, key) to issue the node certificate from;
    # None creates a new CA for the organisation inside the node directory.
    ca: tuple[Path, Path] | None = None
    passphrase_env: str | None = None
    passphrase: bytes | None = None
    location: str = ""
    routes: tuple[tuple[str, str], ...] = ()
    require_alert_review: bool = True
    # The message kinds the node takes part in ([line] kinds); None: every kind it knows.
    kinds: tuple[str, ...] | None = None


def init_node(options: InitOptions) -> NodeLayout:
    try:
        check_name(options.name, "node")
    except DomainError as exc:
        raise NodeError("name", exc.reason) from None
    target = options.directory
    if target.exists() and any(target.iterdir()):
        raise NodeError(str(target), "already exists and is not empty: refusing to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.init-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    layout = NodeLayout(staging)
    try:
        _build(layout, options)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return NodeLayout(target)


def _build(layout: NodeLayout, options: InitOptions) -> None:
    layout.keys.mkdir(parents=True, mode=0o700)
    layout.agreements.mkdir()
    config = {
        "node": {
            "name": options.name,
            "organisation": options.organisation,
            "location": options.location,
        },
        "store": {"url": options.store_url}
        | ({"schema_name": options.store_schema} if options.store_schema else {}),
        "line": {
            "host": options.host,
            "port": options.line_port,
            "public_url": f"https://{options.hostnames[0]}:{options.line_port}",
            "hostnames": list(options.hostnames),
        }
        | ({"kinds": list(options.kinds)} if options.kinds is not None else {}),
        "api": {"host": options.host, "port": options.api_port},
        "keys": {"passphrase_env": options.passphrase_env} if options.passphrase_env else {},
        "alerts": {"require_review": options.require_alert_review},
        # the defaults, written out so that an administrator sees what there is to set
        "retention": RetentionSection().model_dump(),
        "audit": AuditSection().model_dump(),
        "routes": dict(options.routes),
    }
    text = tomli_w.dumps(config)
    parsed = parse_config(text)  # what we write must be what we can read
    passphrase = options.passphrase
    try:
        if options.ca is None:
            ca = pki.create_ca(options.organisation)
            pki.save_identity(layout.ca_certificate, layout.ca_key, ca, passphrase)
        else:
            ca = pki.load_identity(options.ca[0], options.ca[1], passphrase)
            layout.ca_certificate.write_bytes(pki.certificate_to_pem(ca.certificate))
        tls = pki.issue_node_certificate(ca, options.name, parsed.line.hostnames)
        pki.save_identity(layout.tls_certificate, layout.tls_key, tls, passphrase)
        keys.save_signing_key(
            layout.signing_key, keys.generate_signing_key(options.name), passphrase
        )
        keys.save_encryption_key(
            layout.encryption_key, keys.generate_encryption_key(options.name), passphrase
        )
    except CryptoError as exc:
        raise NodeError("keys", str(exc)) from None
    layout.config.write_text(text, encoding="utf-8")
    assert layout.config.name == CONFIG_FILE
    database = Database(parsed.store_url(layout.root), parsed.store.schema_name)
    try:
        database.migrate()
    finally:
        database.dispose()
