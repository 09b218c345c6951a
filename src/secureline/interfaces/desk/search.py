"""The desk's search: ``GET /desk/search`` (a plain GET form: it changes nothing, so it
needs no CSRF token and its address can be kept as a bookmark)."""

from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from secureline.domain import vocabulary as vocab
from secureline.interfaces.desk.web import PAGE, Desk, page_links
from secureline.services.desk_auth import DeskSession
from secureline.services.errors import InvalidInput
from secureline.services.paging import seq_keyset
from secureline.services.search import Criteria, Results


class SearchPage:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.search = desk.services.search

    def routes(self) -> list[Route]:
        return [Route("/search", self.desk.signed_in(self.page))]

    async def page(self, request: Request, session: DeskSession) -> Response:
        """GET /desk/search: words and fields; with none given, only the form."""
        asked = {k: v.strip() for k, v in request.query_params.items() if k != "csrf"}
        error: InvalidInput | None = None
        found: Results | None = None
        if any(asked.get(k) for k in ("q", "sender", "crime_area", "handling", "since", "until")):
            try:
                criteria = _criteria(asked)
                found = await run_in_threadpool(self.search.search, session.principal, criteria)
            except InvalidInput as exc:
                error = exc
        return self.desk.render(
            request,
            "search.html",
            422 if error else 200,
            session=session,
            asked=asked,
            found=found,
            error=error,
            pages=page_links(request, found.older, found.newer) if found else {},
            areas=list(vocab.CrimeArea),
            handlings=list(vocab.HandlingCode),
        )


def _criteria(asked: dict[str, str]) -> Criteria:
    """The form's fields; the page's place is ``before`` or ``after`` a result's seq (keyset
    paging, store/paging.py), never an offset."""
    keyset = seq_keyset(asked.get("before"), asked.get("after"))
    return Criteria(
        text=asked.get("q", ""),
        sender=asked.get("sender") or None,
        crime_area=asked.get("crime_area") or None,
        handling=asked.get("handling") or None,
        since=_day("since", asked.get("since")),
        until=_day("until", asked.get("until")),
        limit=PAGE,
        before=keyset.before,
        after=keyset.after,
    )


def _day(field: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "a date as YYYY-MM-DD") from None
