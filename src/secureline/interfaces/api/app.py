"""The REST API for national systems and scripts (OpenAPI committed as docs/openapi.json).

Routes parse, authenticate and shape answers; the rules live in the services. Every error
is JSON ``{"error": {"code", "message", "field", "reasons"?}}`` with a stable code (see
:mod:`.errors`); anything unexpected is an opaque 500 whose details go only to the log.
Every route but ``/healthz`` (the OpenAPI document included) needs ``Authorization: Bearer
<token>``, checked with the body's bounds before any route runs (see :mod:`.edge`).

This module composes the app from the route modules under :mod:`.routes`, one per resource;
what they share is in :mod:`.deps`. The order of registration is the order of the OpenAPI
document's paths, and a literal path must come before a parameter that would take it.
"""

from __future__ import annotations

from fastapi import FastAPI

from secureline import __version__
from secureline.interfaces.api import errors
from secureline.interfaces.api.deps import Services
from secureline.interfaces.api.edge import Edge
from secureline.interfaces.api.routes.audit import add_audit_routes
from secureline.interfaces.api.routes.decisions import add_decision_routes
from secureline.interfaces.api.routes.exports import add_export_routes
from secureline.interfaces.api.routes.hits import add_hit_routes
from secureline.interfaces.api.routes.inbox import add_inbox_routes
from secureline.interfaces.api.routes.match import add_match_routes
from secureline.interfaces.api.routes.messages import add_message_routes
from secureline.interfaces.api.routes.peers import add_peer_routes
from secureline.interfaces.api.routes.people import add_people_routes
from secureline.interfaces.api.routes.review import add_review_routes
from secureline.interfaces.api.routes.search import add_search_routes
from secureline.interfaces.api.routes.sharing import add_sharing_routes
from secureline.interfaces.api.routes.strategic import add_strategic_routes
from secureline.interfaces.api.schema import describe_strings
from secureline.interfaces.api.taxii import PREFIX as TAXII_PREFIX
from secureline.interfaces.api.taxii import create_taxii_app

__all__ = ["Services", "create_app"]


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="secureline node API",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses={
            status: {"model": errors.ErrorOut, "description": text}
            for status, text in errors.DOCUMENTED.items()
        },
    )

    app.state.services = services
    describe_strings(app)
    errors.install(app)
    app.add_middleware(Edge, accounts=services.accounts, max_body_bytes=services.max_body_bytes)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """GET /healthz: liveness, no authentication, no details."""
        return {"status": "ok", "node": services.node}

    add_message_routes(app, services)
    add_strategic_routes(app, services)
    add_inbox_routes(app, services)
    add_search_routes(app, services)
    add_peer_routes(app, services)
    add_audit_routes(app, services)
    add_sharing_routes(app, services)
    add_review_routes(app, services)
    add_export_routes(app, services)
    add_people_routes(app, services)
    add_decision_routes(app, services)
    add_match_routes(app, services)
    add_hit_routes(app, services)
    if services.taxii is not None:  # behind the same edge: the same tokens
        taxii = create_taxii_app(services.taxii, services.taxii_title, services.max_body_bytes)
        app.mount(TAXII_PREFIX, taxii)
    return app
