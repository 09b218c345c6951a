"""The desk's application, mounted by the node under ``/desk`` beside the API (see
``Node.api_port_app``): the pages, the static files, and the headers on every response."""

from __future__ import annotations

from importlib.resources import files

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from secureline.interfaces.desk.admin import AdminPages
from secureline.interfaces.desk.dpo import DpoPages
from secureline.interfaces.desk.pages import Pages
from secureline.interfaces.desk.search import SearchPage
from secureline.interfaces.desk.security import SecurityHeaders
from secureline.interfaces.desk.sign_in import SignIn
from secureline.interfaces.desk.web import Desk, DeskServices

__all__ = ["DeskServices", "create_desk_app"]


def create_desk_app(services: DeskServices) -> SecurityHeaders:
    desk = Desk(services)
    static = StaticFiles(directory=str(files("secureline.interfaces.desk") / "static"))
    app = Starlette(
        routes=[
            *SignIn(desk).routes(),
            *Pages(desk).routes(),
            *SearchPage(desk).routes(),
            *AdminPages(desk).routes(),
            *DpoPages(desk).routes(),
            Mount("/static", static),
        ]
    )

    async def not_found(request: Request, exc: Exception) -> Response:
        return desk.refused(request, 404, "not_found", "there is no such page")

    async def failed(request: Request, exc: Exception) -> Response:
        # details only in the log (Starlette's handler logs the exception)
        return desk.refused(request, 500, "internal", "something went wrong")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    app.add_exception_handler(500, failed)
    return SecurityHeaders(app)
