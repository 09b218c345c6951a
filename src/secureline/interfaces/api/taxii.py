"""The TAXII 2.1 server under ``/taxii2/`` on the API port (issue 18, item 2; docs/api.md).

Its own application, mounted beside the API's routes and behind the same edge: the same
bearer tokens, checked before any route runs. Its own because TAXII speaks its own language:
every answer is ``application/taxii+json;version=2.1``, a request that does not accept it is
refused with 406, and errors are TAXII error objects (``title``, ``description``,
``http_status``, and our stable code as ``error_code``), not the API's. Its routes are not in
the API's OpenAPI document: the OASIS specification is their contract.

One API root, ``secureline``; its collections are ``[taxii] collections`` in node.toml. The
rules (which objects a reader gets) are :mod:`secureline.services.taxii`'s.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from secureline.errors import SecurelineError
from secureline.interfaces.api.deps import User
from secureline.interfaces.api.errors import printable
from secureline.services.errors import InvalidInput, ServiceError
from secureline.services.taxii import MEDIA_TYPE as STIX_MEDIA_TYPE
from secureline.services.taxii import Collection, Page, Taxii, timestamp
from secureline.services.taxii import Query as TaxiiQuery

log = logging.getLogger(__name__)

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
PREFIX = "/taxii2"
API_ROOT = "secureline"


class TaxiiError(SecurelineError):
    """A refusal of the TAXII face, answered as a TAXII error object (not the API's shape)."""

    def __init__(self, status: int, code: str, title: str, description: str = "") -> None:
        super().__init__(title, code=code)
        self.status, self.title, self.description = status, title, description


def taxii_error(status: int, code: str, title: str, description: str = "") -> dict[str, Any]:
    return {
        "title": printable(title),
        "description": printable(description or title),
        "error_code": code,
        "http_status": str(status),
    }


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers
    )


def accepts_taxii(accept: str | None) -> bool:
    """Whether an ``Accept`` header takes TAXII 2.1: ``application/taxii+json`` with no
    version (the newest, 2.1) or ``version=2.1``."""
    for media_range in (accept or "").split(","):
        kind, *parameters = (p.strip().lower() for p in media_range.split(";"))
        if kind != "application/taxii+json":
            continue
        versions = [p.split("=", 1)[1].strip() for p in parameters if p.startswith("version=")]
        if not versions or versions == ["2.1"]:
            return True
    return False


async def _negotiated(request: Request) -> None:
    if not accepts_taxii(request.headers.get("accept")):
        raise TaxiiError(
            406,
            "not_acceptable",
            "The server cannot answer in a media type the request accepts",
            f"send Accept: {TAXII_MEDIA_TYPE}",
        )


def _root(root: str) -> None:
    if root != API_ROOT:
        raise TaxiiError(404, "not_found", f"no API root {root[:60]!r}")


def _collection_json(collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "can_read": True,
        "can_write": False,
        "media_types": [STIX_MEDIA_TYPE],
    }


def _page_headers(page: Page) -> dict[str, str]:
    if not page.rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": page.first_added or "",
        "X-TAXII-Date-Added-Last": page.last_added or "",
    }


def _envelope(page: Page, key: str, items: list[Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if items:
        body[key] = items
    return body


AddedAfter = Annotated[str | None, Query(max_length=60)]
MatchId = Annotated[str | None, Query(alias="match[id]", max_length=30_000)]
MatchType = Annotated[str | None, Query(alias="match[type]", max_length=30_000)]
MatchVersion = Annotated[str | None, Query(alias="match[version]", max_length=6_000)]
MatchSpec = Annotated[str | None, Query(alias="match[spec_version]", max_length=100)]
Limit = Annotated[int | None, Query(ge=1, le=1_000_000)]
Next = Annotated[str | None, Query(max_length=200)]


def create_taxii_app(taxii: Taxii, title: str, max_content_length: int) -> FastAPI:
    app = FastAPI(
        title="secureline TAXII 2.1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(_negotiated)],
    )
    _install_errors(app)

    @app.get("/")
    def discovery(_: User) -> Response:
        """GET /taxii2/: the server's discovery resource, naming its one API root."""
        here = f"{PREFIX}/{API_ROOT}/"
        return _answer(
            {"title": title, "description": "secureline", "default": here, "api_roots": [here]}
        )

    @app.get("/{root}/")
    def api_root(root: str, _: User) -> Response:
        """GET /taxii2/{root}/: the API root's information."""
        _root(root)
        return _answer(
            {
                "title": title,
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": max_content_length,
            }
        )

    @app.get("/{root}/collections/")
    def collections(root: str, user: User) -> Response:
        """GET /taxii2/{root}/collections/: the collections configured in ``[taxii]``."""
        _root(root)
        found = [_collection_json(c) for c in taxii.collections(user)]
        return _answer({"collections": found} if found else {})

    @app.get("/{root}/collections/{collection_id}/")
    def collection(root: str, collection_id: str, user: User) -> Response:
        """GET /taxii2/{root}/collections/{id}/: one collection."""
        _root(root)
        return _answer(_collection_json(taxii.collection(user, collection_id)))

    _add_object_routes(app, taxii)
    return app


def _spec_version(value: str | None) -> None:
    if value and "2.1" not in value.split(","):
        raise InvalidInput("match[spec_version]", "this server holds STIX 2.1 only")


def _add_object_routes(app: FastAPI, taxii: Taxii) -> None:
    spec_version = _spec_version
    query = TaxiiQuery

    @app.get("/{root}/collections/{collection_id}/objects/")
    def objects(
        root: str,
        collection_id: str,
        user: User,
        added_after: AddedAfter = None,
        match_id: MatchId = None,
        match_type: MatchType = None,
        match_version: MatchVersion = None,
        match_spec_version: MatchSpec = None,
        limit: Limit = None,
        next: Next = None,  # noqa: A002 -- the specification's name for it
    ) -> Response:
        """GET /taxii2/{root}/collections/{id}/objects/: a page of the objects the reader may
        read, oldest added first; ``next`` continues it."""
        _root(root)
        spec_version(match_spec_version)
        asked = query(added_after, match_id, match_type, match_version, limit, next)
        page = taxii.page(user, collection_id, asked)
        served = taxii.objects(user, collection_id, page)
        return _answer(_envelope(page, "objects", served), headers=_page_headers(page))

    @app.post("/{root}/collections/{collection_id}/objects/")
    def add_objects(root: str, collection_id: str, user: User) -> Response:
        """POST /taxii2/{root}/collections/{id}/objects/: refused, every collection is read
        only (``can_write`` false); a bundle comes in through ``secureline stix import``."""
        _root(root)
        taxii.collection(user, collection_id)
        raise TaxiiError(403, "read_only", "This collection is read only (can_write is false)")

    @app.get("/{root}/collections/{collection_id}/objects/{object_id}/")
    def one_object(
        root: str,
        collection_id: str,
        object_id: str,
        user: User,
        added_after: AddedAfter = None,
        match_version: MatchVersion = None,
        match_spec_version: MatchSpec = None,
        limit: Limit = None,
        next: Next = None,  # noqa: A002 -- the specification's name for it
    ) -> Response:
        """GET /taxii2/{root}/collections/{id}/objects/{object_id}/: the object's versions
        the reader may read (the last by default)."""
        _root(root)
        spec_version(match_spec_version)
        asked = query(added_after, None, None, match_version, limit, next)
        page = taxii.page(user, collection_id, asked, object_id=object_id)
        served = taxii.objects(user, collection_id, page)
        return _answer(_envelope(page, "objects", served), headers=_page_headers(page))

    @app.get("/{root}/collections/{collection_id}/objects/{object_id}/versions/")
    def versions(
        root: str,
        collection_id: str,
        object_id: str,
        user: User,
        added_after: AddedAfter = None,
        match_spec_version: MatchSpec = None,
        limit: Limit = None,
        next: Next = None,  # noqa: A002 -- the specification's name for it
    ) -> Response:
        """GET /taxii2/{root}/collections/{id}/objects/{object_id}/versions/: every version
        of the object the reader may read, oldest added first."""
        _root(root)
        spec_version(match_spec_version)
        asked = query(added_after, None, None, "all", limit, next)
        page = taxii.page(user, collection_id, asked, object_id=object_id)
        found = [timestamp(r.version) for r in page.rows]
        return _answer(_envelope(page, "versions", found), headers=_page_headers(page))

    @app.get("/{root}/collections/{collection_id}/manifest/")
    def manifest(
        root: str,
        collection_id: str,
        user: User,
        added_after: AddedAfter = None,
        match_id: MatchId = None,
        match_type: MatchType = None,
        match_version: MatchVersion = None,
        match_spec_version: MatchSpec = None,
        limit: Limit = None,
        next: Next = None,  # noqa: A002 -- the specification's name for it
    ) -> Response:
        """GET /taxii2/{root}/collections/{id}/manifest/: what ``objects`` would give, without
        the objects (ids, versions, dates added)."""
        _root(root)
        spec_version(match_spec_version)
        asked = query(added_after, match_id, match_type, match_version, limit, next)
        page = taxii.page(user, collection_id, asked)
        found = [
            {
                "id": r.object_id,
                "date_added": timestamp(r.date_added),
                "version": timestamp(r.version),
                "media_type": STIX_MEDIA_TYPE,
            }
            for r in page.rows
        ]
        return _answer(_envelope(page, "objects", found), headers=_page_headers(page))

    @app.get("/{root}/status/{status_id}/")
    def status(root: str, status_id: str, _: User) -> Response:
        """GET /taxii2/{root}/status/{id}/: nothing is ever added here, so no status exists."""
        _root(root)
        raise TaxiiError(404, "not_found", f"no status {status_id[:60]!r}")


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(TaxiiError)
    async def taxii_refusal(_: Request, exc: TaxiiError) -> Response:
        body = taxii_error(exc.status, exc.code, exc.title, exc.description)
        return _answer(body, exc.status)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> Response:
        status = 400 if isinstance(exc, InvalidInput) else exc.status
        return _answer(taxii_error(status, exc.code, exc.message), status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _answer(taxii_error(400, "invalid_input", f"{where}: {first['msg']}"), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "No such resource", 405: "This resource does not take that method"}
        text = title.get(exc.status_code, str(exc.detail))
        return _answer(taxii_error(exc.status_code, "error", text), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.error("TAXII: unexpected error", exc_info=exc)
        return _answer(taxii_error(500, "internal_error", "internal error"), 500)
