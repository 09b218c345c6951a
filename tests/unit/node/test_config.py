"""node.toml: every key checked; a typo or a bad value names the key."""

from __future__ import annotations

import pytest

from secureline.node.config import AuditSection, ConfigError, RetentionSection, parse_config

MINIMAL = """\
[node]
name = "interpol"
organisation = "Interpol"

[line]
public_url = "https://localhost:8443"
"""


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "node.toml")
    return caught.value


def test_a_minimal_file_takes_the_documented_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.retention == RetentionSection(notice_days=30, job_interval_seconds=3600)
    assert config.audit == AuditSection(checkpoint_every=1000, checkpoint_seconds=60)
    assert config.alerts.require_review is True
    assert config.line.max_batch_messages == 500
    assert config.api.max_batch == 500


def test_the_retention_section_is_read() -> None:
    config = parse_config(MINIMAL + "\n[retention]\nnotice_days = 7\njob_interval_seconds = 600\n")
    assert (config.retention.notice_days, config.retention.job_interval_seconds) == (7, 600)


@pytest.mark.parametrize(
    ("lines", "field", "reason"),
    [
        ("[retention]\nnotice_days = 0", "retention.notice_days", "greater than or equal to 1"),
        ("[retention]\nnotice_days = 400", "retention.notice_days", "less than or equal to 365"),
        ("[retention]\njob_interval_seconds = 5", "retention.job_interval_seconds", "to 60"),
        ('[retention]\nnotice_days = "soon"', "retention.notice_days", "valid integer"),
        ("[audit]\ncheckpoint_every = 0", "audit.checkpoint_every", "greater than or equal to 1"),
        ("[api]\nmax_batch = 0", "api.max_batch", "greater than or equal to 1"),
        ("[api]\nmax_batch = 10001", "api.max_batch", "less than or equal to 10000"),
        ("[audit]\ncheckpoint_seconds = 0", "audit.checkpoint_seconds", "equal to 1"),
        ('[api]\nhost = "0.0.0.0"', "api", "plain HTTP is for loopback only"),
        ('[api]\nhost = "desk.example"', "api", "not a loopback address"),
        ('[api]\ntls_certificate = "desk.pem"', "api", "give both (HTTPS) or neither"),
        ('[api]\ntrusted_proxies = ["the proxy"]', "api", "not an IP address or network"),
        ("[audit]\ncheckpoint_seconds = 7200", "audit.checkpoint_seconds", "equal to 3600"),
    ],
)
def test_a_bad_value_names_its_key(lines: str, field: str, reason: str) -> None:
    error = refused(MINIMAL + f"\n{lines}\n")
    assert error.field == f"node.toml: {field}"
    assert reason in error.reason


def test_a_typo_names_the_key_and_suggests_the_closest() -> None:
    error = refused(MINIMAL + "\n[retention]\nnotice_day = 10\n")
    assert error.field == "node.toml: retention.notice_day"
    assert error.reason == "unknown key; did you mean 'notice_days'?"
    section = refused(MINIMAL + "\n[retension]\nnotice_days = 10\n")
    assert section.field == "node.toml: retension"
    assert "did you mean 'retention'?" in section.reason


def test_a_missing_section_and_broken_toml_are_named() -> None:
    assert refused('[node]\nname = "interpol"\norganisation = "I"\n').field == "node.toml: line"
    broken = refused("[node\n")
    assert broken.field == "node.toml"
    assert broken.reason.startswith("not valid TOML")


def test_the_kinds_a_node_takes_default_to_its_protocol_version() -> None:
    from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind

    assert parse_config(MINIMAL).line.supported_kinds == PROTOCOL_KINDS[1]
    fewer = parse_config(MINIMAL + 'kinds = ["request", "reply"]\n')
    assert fewer.line.supported_kinds == {Kind.REQUEST, Kind.REPLY}


@pytest.mark.parametrize("value", ['["requests"]', "[]", '"request"'])
def test_kinds_that_are_not_kinds_are_refused_naming_the_key(value: str) -> None:
    assert "line.kinds" in refused(MINIMAL + f"kinds = {value}\n").field


def test_a_public_api_address_is_allowed_with_https_or_behind_a_proxy() -> None:
    https = parse_config(
        MINIMAL
        + '\n[api]\nhost = "0.0.0.0"\ntls_certificate = "c.pem"\ntls_private_key = "k.pem"\n'
    )
    assert https.api.tls
    proxied = parse_config(
        MINIMAL + '\n[api]\nhost = "10.0.0.2"\ntrusted_proxies = ["10.0.0.0/24"]\n'
    )
    assert not proxied.api.tls
    assert proxied.api.trusted_proxies == ("10.0.0.0/24",)
    assert not parse_config(MINIMAL + '\n[api]\nhost = "::1"\n').api.tls


TAXII = """
[[taxii.collections]]
id = "8b7f1c8e-6c1f-4d2e-9d0e-2f3a4b5c6d7e"
title = "cyber-crime"
unit = "cc"
crime_area = "cyber-crime"
"""


def test_taxii_collections_are_read_and_checked() -> None:
    assert parse_config(MINIMAL).taxii.collections == ()
    (collection,) = parse_config(MINIMAL + TAXII).taxii.collections
    assert collection.unit == "cc"
    assert str(collection.id) == "8b7f1c8e-6c1f-4d2e-9d0e-2f3a4b5c6d7e"
    assert "same id" in refused(MINIMAL + TAXII + TAXII).reason
    assert "crime_area" in str(
        refused(MINIMAL + TAXII.replace('"cyber-crime"\n', '"jaywalking"\n'))
    )
    assert "id" in str(refused(MINIMAL + TAXII.replace("8b7f1c8e-", "not-a-uuid-")))
