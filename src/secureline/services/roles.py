"""Who may do what: one table that every face (the API, the CLI, the desk) reaches through the
services, so that a role's rights are read in one place and cannot drift apart between faces.

Two questions are asked:

- may this role take this action at all (:func:`require`, from :data:`MAY`);
- does the person act for the unit that holds the thing (:func:`acts_for`: an administrator
  acts for every unit of the node), or may they look at it (:func:`oversees`: the data
  protection officer too, to read and inquire, never to act).

What the rules of sharing decide about a message (docs/protocol.md) is not here: these are
the node's own people, not its partners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from secureline.services.errors import Forbidden


class Role(StrEnum):
    OFFICER = "officer"  # reads and sends for their unit
    ADMIN = "admin"  # manages units, users and peers
    DPO = "dpo"  # data protection officer: reads the audit chain
    SYSTEM = "system"  # a national system connected through the API


@dataclass(frozen=True)
class Principal:
    """An authenticated user, handed to services by the interfaces."""

    user_id: str
    username: str
    unit: str
    role: Role


class Action(StrEnum):
    SEND = "send"  # compose and submit, single or batch
    LIST_PERMISSIONS = "list-permissions"
    DECIDE_PERMISSION = "decide-permission"  # refuse a request (granting is the provider's)
    REVIEW_ALERT = "review-alert"  # the second pair of eyes: approve or reject
    REVIEW_RETENTION = "review-retention"  # the queue, keep, purge
    RUN_RETENTION = "run-retention"  # the scheduled job, by hand
    MANAGE_USERS = "manage-users"
    READ_AUDIT = "read-audit"  # verify, who read, export
    SEE_HITS = "see-hits"  # the cross-check's hits of a unit
    DECIDE_HIT = "decide-hit"  # confirm or dismiss a hit


#: The roles that may take each action. docs/architecture.md shows this table; a test keeps
#: the two the same.
MAY: Mapping[Action, frozenset[Role]] = {
    Action.SEND: frozenset({Role.OFFICER, Role.SYSTEM, Role.ADMIN}),
    Action.LIST_PERMISSIONS: frozenset(Role),
    Action.DECIDE_PERMISSION: frozenset({Role.OFFICER, Role.ADMIN}),
    Action.REVIEW_ALERT: frozenset({Role.OFFICER, Role.ADMIN}),
    Action.REVIEW_RETENTION: frozenset({Role.OFFICER, Role.DPO}),
    Action.RUN_RETENTION: frozenset({Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.READ_AUDIT: frozenset({Role.DPO}),
    Action.SEE_HITS: frozenset({Role.OFFICER, Role.ADMIN, Role.DPO}),
    Action.DECIDE_HIT: frozenset({Role.OFFICER, Role.ADMIN}),
}


def may(principal: Principal, action: Action) -> bool:
    return principal.role in MAY[action]


def require(principal: Principal, action: Action, message: str, code: str = "forbidden") -> None:
    """Refuse (403 ``code``) unless the principal's role may take ``action``."""
    if not may(principal, action):
        raise Forbidden(message, code=code)


def acts_for(principal: Principal, unit: str) -> bool:
    """Whether the principal decides for ``unit``: its own people, or an administrator."""
    return principal.role is Role.ADMIN or principal.unit == unit


def acts_for_every_unit(principal: Principal) -> bool:
    return principal.role is Role.ADMIN


def oversees(principal: Principal, unit: str) -> bool:
    """Whether the principal may look at what ``unit`` holds: those who act for it, and the
    data protection officer, who inquires into every unit."""
    return acts_for(principal, unit) or principal.role is Role.DPO


def oversees_every_unit(principal: Principal) -> bool:
    return principal.role in (Role.ADMIN, Role.DPO)
