"""The registry of kinds: each kind of message declared once, and looked up by the paths that
handle messages, which therefore name no kind.

A kind is one module (``services/kinds/<kind>.py``, or a test's own) that makes a
:class:`KindSpec` and registers it (:func:`register`). The spec says

* its **payload**: the model of its body, when the body is structured (JSON);
* the **facts** it gives the rules of sharing (``domain/kinds.py``: alert type, four eyes,
  deadline, control message);
* **who may send it**: the action of ``services/roles.py`` its sender must be allowed;
* whether it is a **control** kind (its facts' ``control``: an agreement must allow it for
  the provider's controls to work over the link, :func:`control_kinds`) and whether the
  **search** index holds it (``searched``);
* its **effects on receipt**: ``examine`` while the envelope is checked (a ``Refusal``
  refuses that envelope alone; what it returns is the effect to apply), ``commit`` inside the
  receiving transaction (its audit events are recorded with the rest), ``after_commit`` once
  that transaction is committed, and ``on_stored``, inside the transaction, for every
  message it stores (what waited for a message to arrive);
* what it **screens out**: ``screen`` names what the kind refuses in a message, at submit
  (reasons of the refusal) and again on arrival (a refusal with evidence).

The registry is a table of code, like the vocabulary it extends, not state of a node: which
kinds a node takes is its configuration (``[line] kinds`` in node.toml, stated in its peer
file), so several nodes in one process may take different kinds of the same registry. A
kind that is registered but not taken by a node is refused there with ``unknown_kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from secureline.crypto.keys import VerifyKey
from secureline.domain.audit import AuditEvent
from secureline.domain.kinds import PLAIN, KindFacts, declare
from secureline.domain.message import Content, Header
from secureline.domain.vocabulary import PROTOCOL_KINDS, Kind
from secureline.services import roles
from secureline.services.errors import InvalidInput
from secureline.services.line.refusal import Refusal
from secureline.services.roles import Principal
from secureline.store.database import Database


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a kind's ``examine`` may read about the node receiving it (nothing it may write:
    the receiving transaction is not open yet)."""

    node: str
    now: datetime
    db: Database
    verify_keys: Mapping[str, VerifyKey]


@dataclass(frozen=True, slots=True)
class Effect:
    """What a message of ``kind`` does once committed here: ``value`` is its kind's own."""

    kind: Kind
    value: object


#: While the envelope is examined (delivered here, content checked): raise Refusal, or return
#: the value its commit applies (None: nothing to do).
Examine = Callable[[Receipt, Header, Content], object | None]
#: Inside the receiving transaction, in the order the messages came: the audit events.
Commit = Callable[[Any, Header, Any, datetime], list[AuditEvent]]
#: After the receiving transaction committed (the node's name, the header, the value).
AfterCommit = Callable[[str, Header, Any], None]
#: Inside the receiving transaction, with every message row it stores.
OnStored = Callable[[Any, Sequence[Any], datetime], list[AuditEvent]]
#: What the kind refuses in a message, (code, text) each: at submit, where each is a reason
#: of the refusal (nothing is stored), and again on arrival, where the first refuses the
#: envelope with evidence (a sender that skipped it does not get past the receiver).
Screen = Callable[[Header, Content], list[tuple[str, str]]]


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    summary: str  # one line, for the docs and ``secureline vocab``
    facts: KindFacts = PLAIN
    payload: type[BaseModel] | None = None
    #: the body must be the payload's JSON: checked at submit (invalid_input, field body)
    #: and on arrival (content_mismatch); protocol 1's control kinds check their own
    payload_checked: bool = False
    sender: roles.Action = roles.Action.SEND
    #: the search index holds its messages (False: its effect is on another message)
    searched: bool = True
    examine: Examine | None = None
    commit: Commit | None = None
    after_commit: AfterCommit | None = None
    on_stored: OnStored | None = None
    screen: Screen | None = None

    def read_payload(self, body: str) -> BaseModel:
        """The body as this kind's payload; ValueError naming the problem."""
        assert self.payload is not None
        try:
            return self.payload.model_validate_json(body or "null")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise ValueError(f"{self.kind.value} body: {where}: {first['msg']}") from None


log = logging.getLogger(__name__)
_SPECS: dict[Kind, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    """Register a kind (once; registering the same spec again is a no-op). A kind outside
    protocol 1 declares its facts to the domain here; protocol 1's have theirs there."""
    earlier = _SPECS.get(spec.kind)
    if earlier is not None and earlier is not spec:
        raise ValueError(f"the kind {spec.kind.value!r} is already registered")
    if spec.kind not in PROTOCOL_KINDS[1]:
        declare(spec.kind, spec.facts)
    _SPECS[spec.kind] = spec
    return spec


def spec(kind: Kind) -> KindSpec:
    """The kind's spec. A Kind with none is a defect, and raises (fail closed)."""
    return _SPECS[kind]


def registered() -> tuple[KindSpec, ...]:
    return tuple(_SPECS.values())


def control_kinds() -> tuple[Kind, ...]:
    """The kinds whose facts say ``control``: the provider's own messages about what it
    shared (withdraw, correct, ask or grant permission). An agreement that leaves one out
    takes that feature from the link; ``secureline agreement check`` warns about it."""
    return tuple(s.kind for s in _SPECS.values() if s.facts.control)


def unsearched_kinds() -> frozenset[str]:
    """The kinds the search index leaves out (``searched=False``): their effect is on
    another message. The store names them itself (``store/search.py``, below this layer,
    and its migration must not change with the registry); a test keeps the two equal."""
    return frozenset(s.kind.value for s in _SPECS.values() if not s.searched)


# --- the submit path ------------------------------------------------------------------------


def check_submitted(principal: Principal, kind: Kind, body: str, where: str = "") -> None:
    """What the kind asks of a submission: that its sender may send it, and its payload."""
    found = _SPECS[kind]
    if found.sender is not roles.Action.SEND:  # SEND itself is checked before any draft
        roles.require(principal, found.sender, f"role {principal.role} cannot send a {kind.value}")
    if found.payload_checked:
        try:
            found.read_payload(body)
        except ValueError as exc:
            raise InvalidInput(where + "body", str(exc)) from None


def screened(header: Header, content: Content) -> list[tuple[str, str]]:
    """What the message's kind refuses in it, (code, text) each (none: it may be sent)."""
    found = _SPECS[header.kind].screen
    return [] if found is None else found(header, content)


# --- the receive path -----------------------------------------------------------------------


def examine(receipt: Receipt, header: Header, content: Content) -> Effect | None:
    """The kind's checks of a message delivered here; its effect, if it has one."""
    found = _SPECS[header.kind]
    if found.payload_checked:
        try:
            found.read_payload(content.body)
        except ValueError as exc:
            raise Refusal("content_mismatch", str(exc)) from None
    if found.screen is not None:
        for code, text in found.screen(header, content)[:1]:
            raise Refusal(code, text)
    if found.examine is None:
        return None
    value = found.examine(receipt, header, content)
    return None if value is None else Effect(header.kind, value)


def commit(conn: Any, effects: Iterable[tuple[Header, Effect]], now: datetime) -> list[AuditEvent]:
    """Apply, in the receiving transaction, the effects of the messages delivered here."""
    events: list[AuditEvent] = []
    for header, effect in effects:
        apply = _SPECS[effect.kind].commit
        if apply is not None:
            events += apply(conn, header, effect.value, now)
    return events


def on_stored(conn: Any, rows: Sequence[Any], now: datetime) -> list[AuditEvent]:
    """Every kind's hook on the messages stored in the receiving transaction, each once."""
    if not rows:
        return []
    events: list[AuditEvent] = []
    for hook in dict.fromkeys(s.on_stored for s in _SPECS.values() if s.on_stored is not None):
        events += hook(conn, rows, now)
    return events


def after_commit(node: str, effects: Iterable[tuple[Header, Effect]]) -> None:
    """The kinds' effects once the receiving transaction is committed: it is answered and
    cannot be undone, so one that fails is logged (never what the message held) and the
    others still run."""
    for header, effect in effects:
        then = _SPECS[effect.kind].after_commit
        if then is None:
            continue
        try:
            then(node, header, effect.value)
        except Exception as exc:  # noqa: BLE001 -- see above
            # not log.exception: an exception's text may quote what the message held
            log.error(  # noqa: TRY400
                "kinds: %s after committing %s (%s)", type(exc).__name__, header.id, effect.kind
            )
