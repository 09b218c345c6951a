"""Hits as the faces see them: a unit's list, one hit with both sides' provenance and the
reasons, and an officer's decision (confirmed or dismissed, with a note), kept once.

Who (``services/roles.py``): the officers of the unit a hit is for see and decide it; an
administrator acts for every unit; the data protection officer sees every unit's hits and
decides none; a national system neither sees nor decides (``hits_not_permitted``). Another
unit's hit is refused with ``not_holding_unit``, and so is an id this node does not hold, so
that a refusal does not tell an officer which ids exist (someone who sees every unit gets
404 ``unknown_hit``). A decision is made once (``hit_decided``); a withdrawn hit (its
message purged, retracted or corrected) takes none (``hit_withdrawn``). Every decision, and
every refused attempt at one, is a ``hit.decided`` audit record. Nothing is sent to the
message's sender: a decision is this node's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from secureline.domain.audit import AuditAction, AuditEvent
from secureline.services import roles
from secureline.services.audit import AuditLog
from secureline.services.errors import Conflict, Forbidden, InvalidInput, NotFoundError
from secureline.services.roles import Action, Principal
from secureline.store import hits as store
from secureline.store.database import Database

HITS_NOT_PERMITTED = "hits_not_permitted"
NOT_HOLDING_UNIT = "not_holding_unit"
UNKNOWN_HIT = "unknown_hit"
HIT_DECIDED = "hit_decided"
HIT_WITHDRAWN = "hit_withdrawn"
DECISIONS = (store.CONFIRMED, store.DISMISSED)
STATES = store.STATES
NOTE_MAX_CHARS = 2000
PAGE_MAX = 500


def hit_json(hit: store.Hit) -> dict[str, Any]:
    """A hit as every face shows it: the message's side, the holding's side, the score, the
    reasons (empty once withdrawn) and the decision."""
    return {
        "id": hit.id,
        "unit": hit.unit,
        "state": hit.state,
        "score": hit.score,
        "created_at": hit.created_at.isoformat(),
        "message": {
            "id": hit.message_id,
            "sender": hit.sender,
            "sender_node": hit.sender_node,
            "handling": hit.message_handling,
            "entity_id": hit.entity_id,
            "schema": hit.entity_schema,
            "caption": hit.entity_caption,
        },
        "holding": {
            "key": hit.holding,
            "source": hit.holding_source,
            "entity_id": hit.holding_entity_id,
            "schema": hit.holding_schema,
            "caption": hit.holding_caption,
            "handling": hit.holding_handling,
            "message_id": hit.holding_message_id,
        },
        "reasons": orjson.loads(hit.reasons_json) if hit.reasons_json else [],
        "decision": hit.decision,
        "decided_by": hit.decided_by,
        "decided_at": hit.decided_at.isoformat() if hit.decided_at else None,
        "note": hit.note,
        "withdrawn_at": hit.withdrawn_at.isoformat() if hit.withdrawn_at else None,
        "withdrawn_reason": hit.withdrawn_reason,
    }


class Hits:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    def list(
        self, principal: Principal, state: str | None = None, limit: int = 100
    ) -> list[store.Hit]:
        """The hits of the principal's unit (every unit's for those who oversee them all),
        newest first."""
        roles.require(principal, Action.SEE_HITS, "this role does not see hits",
                      HITS_NOT_PERMITTED)  # fmt: skip
        if state is not None and state not in store.STATES:
            raise InvalidInput("state", f"one of {', '.join(store.STATES)}")
        if not 1 <= limit <= PAGE_MAX:
            raise InvalidInput("limit", f"1 to {PAGE_MAX}")
        units = None if roles.oversees_every_unit(principal) else [principal.unit]
        with self._db.read() as conn:
            return store.page(conn, units, state, limit)

    def get(self, principal: Principal, hit_id: str) -> store.Hit:
        roles.require(principal, Action.SEE_HITS, "this role does not see hits",
                      HITS_NOT_PERMITTED)  # fmt: skip
        with self._db.read() as conn:
            hit = store.get(conn, hit_id)
        return self._visible(principal, hit_id, hit, roles.oversees)

    def decide(
        self, principal: Principal, hit_id: str, decision: str, note: str | None = None
    ) -> store.Hit:
        """Confirm or dismiss a hit, once; kept with who, when and the note."""
        if decision not in DECISIONS:
            raise InvalidInput("decision", "confirmed or dismissed")
        if note is not None and len(note) > NOTE_MAX_CHARS:
            raise InvalidInput("note", f"at most {NOTE_MAX_CHARS} characters")
        note = note or None
        now = self._clock()
        try:
            with self._db.transaction() as conn:
                roles.require(principal, Action.DECIDE_HIT, "this role does not decide hits",
                              HITS_NOT_PERMITTED)  # fmt: skip
                hit = self._visible(principal, hit_id, store.get(conn, hit_id), roles.acts_for)
                if hit.state == store.WITHDRAWN:
                    raise Conflict("the message behind this hit was withdrawn",
                                   code=HIT_WITHDRAWN)  # fmt: skip
                if not store.decide(conn, hit_id, decision, principal.username, note, now):
                    raise Conflict(f"this hit was {hit.state} already", code=HIT_DECIDED)
                detail = {"unit": hit.unit, "message": hit.message_id, "decision": decision}
                # the note stays in the hit (it may name people), never in the chain
                event = AuditEvent(principal.username, AuditAction.HIT_DECIDED, hit_id,
                                   decision, detail)  # fmt: skip
                self._audit.record(conn, [event])
                decided = store.get(conn, hit_id)
        except (Forbidden, NotFoundError, Conflict) as refused:
            # its own transaction: the decision's was rolled back by the refusal
            detail = {"reason": refused.code, "decision": decision}
            with self._db.transaction() as conn:
                self._audit.record(conn, [AuditEvent(principal.username,
                    AuditAction.HIT_DECIDED, hit_id[:200], "refused", detail)])  # fmt: skip
            raise
        assert decided is not None
        return decided

    @staticmethod
    def _visible(
        principal: Principal,
        hit_id: str,
        hit: store.Hit | None,
        allowed: Callable[[Principal, str], bool],
    ) -> store.Hit:
        if hit is not None and allowed(principal, hit.unit):
            return hit
        if hit is None and roles.oversees_every_unit(principal):
            raise NotFoundError(f"no hit {hit_id!r} on this node", code=UNKNOWN_HIT)
        raise Forbidden("this hit is not for your unit", code=NOT_HOLDING_UNIT)
