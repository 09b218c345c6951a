"""The timer a running node repeats its jobs on."""

from __future__ import annotations

import logging
import threading

import pytest

from secureline.services.periodic import Periodic


def test_it_runs_again_after_a_failing_run_and_stops_when_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    third = threading.Event()

    def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the store was locked")
        if len(runs) == 3:
            third.set()

    timer = Periodic("test-job", 0.01, job, first_after=0)
    with caplog.at_level(logging.ERROR, logger="secureline.services.periodic"):
        timer.start()
        assert third.wait(5)
        timer.stop()
    done = len(runs)
    assert done >= 3
    assert "test-job failed" in caplog.text
    threading.Event().wait(0.05)
    assert len(runs) == done  # stopped: no run after stop() returned


def test_the_first_run_waits_for_its_delay() -> None:
    ran = threading.Event()
    timer = Periodic("test-job", 10, ran.set, first_after=0.2)
    timer.start()
    assert not ran.wait(0.1)
    assert ran.wait(5)
    timer.stop()


@pytest.mark.parametrize(("interval", "first_after"), [(0, 1), (-1, 1), (1, -1)])
def test_a_timer_that_could_not_tick_is_refused(interval: float, first_after: float) -> None:
    with pytest.raises(ValueError, match="bad-job: needs a positive interval"):
        Periodic("bad-job", interval, lambda: None, first_after=first_after)
