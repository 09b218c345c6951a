"""``strategic-report``: trends and threats for the partners, with no personal data
(issue 17, item 3; the report and its rule are domain/strategic.py).

Its body is the report as JSON (:class:`~secureline.domain.strategic.StrategicReport`:
title, summary, figures, tables), checked at submit (``invalid_input``, field ``body``) and
on arrival (``content_mismatch``). Its screen refuses a report that carries personal data
with ``personal_data_in_strategic``, naming what was found: at the sender, as a reason of
the refusal (nothing is stored), and at the receiver, which refuses the envelope with
evidence, so that a sender that skipped the check gets nothing past it.

Its wider distribution is a fact of the kind (domain/kinds.py ``every_unit``): addressed to
``all-units@node`` (a bare ``node`` in a draft), it is delivered into the mailbox of every
unit of that node (services/line/receive/take.py).
"""

from __future__ import annotations

from secureline.domain.kinds import facts
from secureline.domain.message import Content, Header
from secureline.domain.strategic import (
    PERSONAL_DATA_IN_STRATEGIC,
    StrategicReport,
    personal_data_found,
    reason,
)
from secureline.domain.vocabulary import Kind
from secureline.services.kinds.registry import KindSpec


def _screen(header: Header, content: Content) -> list[tuple[str, str]]:
    found = personal_data_found(header, content)
    return [(PERSONAL_DATA_IN_STRATEGIC, reason(found))] if found else []


SPEC = KindSpec(
    Kind.STRATEGIC_REPORT,
    "a strategic report: text, figures and tables, no personal data; to every unit",
    facts(Kind.STRATEGIC_REPORT),
    payload=StrategicReport,
    payload_checked=True,
    screen=_screen,
)
