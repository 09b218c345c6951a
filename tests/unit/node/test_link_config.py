"""node.toml's link recovery ([line]) and alarm ([alarms]) settings."""

from __future__ import annotations

from secureline.node.config import parse_config
from tests.unit.node.test_config import MINIMAL, refused


def test_the_link_recovery_and_alarm_settings_are_read() -> None:
    config = parse_config(
        MINIMAL.replace("[line]\n", "[line]\nprobe_interval_seconds = 0.5\n")
        + "\n[alarms]\nstalled_seconds = 2\nlink_down_seconds = 30\nqueue_depth = 10\n"
    )
    assert config.line.probe_interval_seconds == 0.5
    assert config.line.poison_after_failures == 3
    assert (config.alarms.stalled_seconds, config.alarms.link_down_seconds) == (2, 30)
    assert config.alarms.queue_depth == 10


def test_the_defaults_are_documented_ones() -> None:
    config = parse_config(MINIMAL)
    assert (config.alarms.stalled_seconds, config.alarms.queue_depth) == (5.0, 100_000)
    assert config.line.probe_interval_seconds == 1.0


def test_a_bad_threshold_names_its_key() -> None:
    assert refused(MINIMAL + "\n[alarms]\nqueue_depth = 0\n").field.endswith("alarms.queue_depth")
