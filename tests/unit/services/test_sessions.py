"""Sessions on a clock the test moves: they last exactly their lifetime, end once, and are
refused with the reason the person needs (log in again, or ask the administrator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from secureline.crypto.keys import generate_signing_key
from secureline.services.accounts import Accounts
from secureline.services.audit import AuditLog
from secureline.services.errors import InvalidInput, NotAuthenticated
from secureline.services.sessions import DEFAULT_LIFETIME, MAX_LIFETIME, Sessions
from secureline.store.database import Database

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def people(database: Database, clock: Clock) -> tuple[Accounts, Sessions]:
    audit = AuditLog(database, "alpha", generate_signing_key("alpha"), clock=clock)
    accounts = Accounts(database, audit, clock)
    accounts.add_unit("admin", "cc")
    accounts.add_user("admin", "alice", "cc", "officer", PASSWORD)
    return accounts, Sessions(database, audit, accounts, clock)


def test_a_session_lasts_its_lifetime_and_not_a_moment_more(
    people: tuple[Accounts, Sessions], clock: Clock
) -> None:
    _, sessions = people
    secret, session = sessions.open("alice", PASSWORD)
    assert session.expires_at - session.created_at == DEFAULT_LIFETIME
    clock.now += DEFAULT_LIFETIME - timedelta(seconds=1)
    assert sessions.authenticate(secret).principal.username == "alice"
    clock.now += timedelta(seconds=1)
    with pytest.raises(NotAuthenticated, match="the session expired at 2026-12-04 17:00 UTC"):
        sessions.authenticate(secret)


@pytest.mark.parametrize("lifetime", [timedelta(0), -timedelta(hours=1), MAX_LIFETIME * 2])
def test_a_lifetime_out_of_bounds_is_refused_before_the_password_is_checked(
    people: tuple[Accounts, Sessions], lifetime: timedelta
) -> None:
    _, sessions = people
    with pytest.raises(InvalidInput, match="lifetime"):
        sessions.open("alice", PASSWORD, lifetime)


def test_a_session_ends_once_and_others_stay(people: tuple[Accounts, Sessions]) -> None:
    _, sessions = people
    first, _ = sessions.open("alice", PASSWORD)
    second, _ = sessions.open("alice", PASSWORD)  # another terminal
    assert sessions.end(first) is not None
    assert sessions.end(first) is None
    with pytest.raises(NotAuthenticated, match="ended"):
        sessions.authenticate(first)
    assert sessions.authenticate(second).principal.unit == "cc"


def test_disabling_a_user_stops_every_session_at_once(people: tuple[Accounts, Sessions]) -> None:
    accounts, sessions = people
    secret, _ = sessions.open("alice", PASSWORD)
    accounts.disable_user("admin", "alice")
    with pytest.raises(NotAuthenticated, match="disabled"):
        sessions.authenticate(secret)
    with pytest.raises(NotAuthenticated, match="disabled"):
        sessions.open("alice", PASSWORD)
    # a wrong password for a disabled user says nothing about the user
    with pytest.raises(NotAuthenticated, match="unknown user or wrong password"):
        sessions.open("alice", "not the password at all")
