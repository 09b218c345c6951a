"""Federations of real nodes for the integration tests; every node is stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import StoreFor
from tests.integration.support import CHAIN, PAIR, Federation, make_federation, wait_for

__all__ = ["wait_for"]


@pytest.fixture(autouse=True)
def session_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLI sessions (``secureline login``) live in the test's own directory, never in the
    user's ~/.local/state; a child process run by the test inherits the variable."""
    where = tmp_path / "sessions"
    monkeypatch.setenv("SECURELINE_SESSION_DIR", str(where))
    monkeypatch.delenv("SECURELINE_TOKEN", raising=False)
    return where


@pytest.fixture
def federation_factory(tmp_path: Path, store_for: StoreFor) -> Iterator[Callable[..., Federation]]:
    """``factory(PAIR or CHAIN, start=names)``: builds a federation, starts the named nodes
    (all by default), and stops whatever runs at teardown, whatever happened in the test."""
    made: list[Federation] = []

    def factory(specs: tuple = PAIR, start: tuple[str, ...] | None = None) -> Federation:
        fed = make_federation(tmp_path / f"fed{len(made)}", specs, store_for)
        made.append(fed)
        for name in fed.dirs if start is None else start:
            fed.start(name)
        return fed

    try:
        yield factory
    finally:
        errors = []
        for fed in made:
            try:
                fed.close()
            except Exception as exc:  # noqa: BLE001 (close every federation, then report)
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def pair(federation_factory: Callable[..., Federation]) -> Federation:
    """interpol (unit cc) and europol (unit ops), linked in the five areas, both running."""
    return federation_factory(PAIR)


@pytest.fixture
def chain(federation_factory: Callable[..., Federation]) -> Federation:
    """ncb-madrid — interpol — europol, all running; interpol relays between the ends."""
    return federation_factory(CHAIN)
