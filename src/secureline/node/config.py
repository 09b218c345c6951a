"""A node's configuration: ``node.toml`` in the node directory.

Every key is known (a typo is an error naming it, with the closest valid key), every security
setting is explicit, and nothing secret is stored here: a key passphrase is read from the
environment variable that ``keys.passphrase_env`` names.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
import uuid
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from secureline.domain.addresses import NAME_PATTERN
from secureline.domain.vocabulary import PROTOCOL_KINDS, PROTOCOL_VERSION, CrimeArea, Kind
from secureline.node.errors import ConfigError

CONFIG_FILE = "node.toml"
Name = Annotated[str, Field(pattern=f"^{NAME_PATTERN}$")]
Port = Annotated[int, Field(ge=0, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSection(_Section):
    name: Name
    organisation: Annotated[str, Field(min_length=1, max_length=200)]
    location: str = ""


class StoreSection(_Section):
    # Relative SQLite paths are inside the node directory.
    url: str = "sqlite:///store.db"
    schema_name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] | None = None


class LineSection(_Section):
    host: str = "127.0.0.1"
    port: Port = 8443
    # The URL partners use to reach this node; goes into the peer file.
    public_url: str
    hostnames: tuple[str, ...] = ("localhost", "127.0.0.1")
    max_batch_messages: Annotated[int, Field(ge=1, le=10_000)] = 500
    max_batch_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024
    clock_skew_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    max_envelope_age_days: Annotated[int, Field(ge=1, le=365)] = 30
    undelivered_alarm_seconds: Annotated[int, Field(ge=1)] = 900
    retry_initial_seconds: Annotated[float, Field(gt=0)] = 0.5
    retry_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    # --- link recovery and poison isolation (sender) ---
    # An unreachable peer is probed at least this often, so its queue moves about this long
    # after it returns.
    probe_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # A transaction the peer fails as a whole (5xx, broken exchange) this many times in a
    # row is split until the envelope failing alone is found and set aside.
    poison_after_failures: Annotated[int, Field(ge=1, le=100)] = 3
    # The message kinds this node takes part in (stated in its peer file; any other is
    # refused on arrival with unknown_kind); absent: every kind of its protocol version.
    kinds: Annotated[tuple[Kind, ...], Field(min_length=1)] | None = None

    @property
    def supported_kinds(self) -> frozenset[Kind]:
        return frozenset(self.kinds or PROTOCOL_KINDS[PROTOCOL_VERSION])


class AlarmsSection(_Section):
    """When link health raises an alarm (peer list, the API's link health)."""

    # a push waiting this long for its answer: the link is shown stalled
    stalled_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # a link unreachable or failing for this long
    link_down_seconds: Annotated[int, Field(ge=1)] = 60
    # more envelopes than this queued (or in flight) for one link
    queue_depth: Annotated[int, Field(ge=1)] = 100_000


class ApiSection(_Section):
    host: str = "127.0.0.1"
    port: Port = 8080
    # The largest request body the API reads (8 MiB: a message at its largest, 1,000,000
    # characters of body and 1,000 entities, fits); larger ones are refused with 413 before
    # they are read whole.
    max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 8 * 1024 * 1024
    # The most drafts one POST /api/v1/messages/batch takes (a longer batch is refused with
    # 422 batch_too_long); the whole request is still bounded by max_body_bytes.
    max_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    # HTTPS on the API port (the REST API and the desk) with the organisation's own
    # certificate chain and key, PEM; relative paths are inside the node directory. Not the
    # line's certificate: browsers and national systems trust the organisation's PKI, not
    # the federation's pins.
    tls_certificate: str | None = None
    tls_private_key: str | None = None
    # Reverse proxies (addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed; from any other address those headers are ignored, so that no client can
    # name its own address (the desk's lockout counts per address).
    trusted_proxies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _https_or_loopback(self) -> ApiSection:
        if (self.tls_certificate is None) != (self.tls_private_key is None):
            raise ValueError(
                "api.tls_certificate and api.tls_private_key: give both (HTTPS) or neither"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"api.trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None
        if not self.tls and not self.trusted_proxies and not _is_loopback(self.host):
            raise ValueError(
                f"api.host {self.host!r} is not a loopback address: plain HTTP is for "
                "loopback only; set api.tls_certificate and api.tls_private_key (HTTPS on "
                "the API port) or api.trusted_proxies (TLS ended by a reverse proxy)"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.tls_certificate is not None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve anywhere


class KeysSection(_Section):
    # Name of the environment variable holding the private keys' passphrase; None means the
    # keys are stored unencrypted (protected by file mode 0600 only).
    passphrase_env: str | None = None


class AlertsSection(_Section):
    require_review: bool = True


class RetentionSection(_Section):
    # Items enter the review queue this many days before their review date, so that an
    # officer has time to decide before the job purges them.
    notice_days: Annotated[int, Field(ge=1, le=365)] = 30
    # How often a running node runs the review job (queue what is due, purge what is overdue).
    job_interval_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600


class MatchingSection(_Section):
    # A received message's entity that scores this much or more against a holding of its
    # recipient unit becomes a hit (scoring.DEFAULT_THRESHOLD, measured in docs/matching.md).
    hit_threshold: Annotated[float, Field(ge=0.5, le=1.0)] = 0.8
    # Whether a running node cross-checks in a thread of its own process (it shares the
    # process's CPU with the line); false where `secureline crosscheck run` does it in a
    # process of its own (any number of them on one PostgreSQL). What arrives is queued
    # either way.
    crosscheck_in_node: bool = True
    # How often a running node cross-checks what arrived since (the line never waits for it).
    crosscheck_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    # Messages one worker claims at a time.
    crosscheck_batch: Annotated[int, Field(ge=1, le=1000)] = 50


class AuditSection(_Section):
    # The node signs its chain's head when the seq crosses a multiple of checkpoint_every,
    # and no record waits unsigned much longer than checkpoint_seconds.
    checkpoint_every: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    checkpoint_seconds: Annotated[int, Field(ge=1, le=3600)] = 60


class TaxiiCollection(_Section):
    """One TAXII collection: the STIX objects of the messages ``unit`` holds (received into
    its mailbox or sent by it), in ``crime_area`` when given; each reader sees of them only
    what their own unit may read (docs/api.md, TAXII)."""

    id: uuid.UUID
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=1000)] = ""
    unit: Name
    crime_area: CrimeArea | None = None


class TaxiiSection(_Section):
    """The TAXII 2.1 server under ``/taxii2/`` on the API port; no collection: none served."""

    title: Annotated[str, Field(min_length=1, max_length=200)] = "secureline"
    # the largest page of objects a request gets (a larger limit is lowered to it)
    max_page: Annotated[int, Field(ge=1, le=10_000)] = 1000
    collections: tuple[TaxiiCollection, ...] = ()

    @model_validator(mode="after")
    def _distinct_ids(self) -> TaxiiSection:
        ids = [c.id for c in self.collections]
        if len(set(ids)) != len(ids):
            raise ValueError("taxii.collections: two collections have the same id")
        return self


class NodeConfig(_Section):
    node: NodeSection
    store: StoreSection = StoreSection()
    line: LineSection
    api: ApiSection = ApiSection()
    keys: KeysSection = KeysSection()
    alerts: AlertsSection = AlertsSection()
    retention: RetentionSection = RetentionSection()
    audit: AuditSection = AuditSection()
    matching: MatchingSection = MatchingSection()
    alarms: AlarmsSection = AlarmsSection()
    taxii: TaxiiSection = TaxiiSection()
    # destination node -> next hop (one of our direct links)
    routes: dict[Name, Name] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_self_route(self) -> NodeConfig:
        if self.node.name in self.routes:
            raise ValueError(
                f"routes: a route to this node itself ({self.node.name}) is not allowed"
            )
        return self

    def store_url(self, directory: Path) -> str:
        prefix = "sqlite:///"
        url = self.store.url
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((directory / url[len(prefix) :]).resolve())
        return url

    def passphrase(self) -> bytes | None:
        if self.keys.passphrase_env is None:
            return None
        value = os.environ.get(self.keys.passphrase_env)
        if not value:
            raise ConfigError(
                "keys.passphrase_env",
                f"environment variable {self.keys.passphrase_env} is not set: "
                "the node's keys are encrypted and cannot be opened without it",
            )
        return value.encode()


def parse_config(text: str, source: str = CONFIG_FILE) -> NodeConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"not valid TOML: {exc}") from None
    try:
        return NodeConfig.model_validate(raw)
    except ValidationError as exc:
        raise _translate(exc, source) from None


def load_config(directory: Path) -> NodeConfig:
    path = directory / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "no node here: run 'secureline init' first") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_config(text, str(path))


def _translate(exc: ValidationError, source: str) -> ConfigError:
    first = exc.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]]
    field = ".".join(loc) or "config"
    if first["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return ConfigError(f"{source}: {field}", f"unknown key{suggestion}")
    reason = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{source}: {field}", reason)


def _known_keys(path: list[str]) -> list[str]:
    model: Any = NodeConfig
    for part in path:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    return list(model.model_fields)
