"""Serve the API docs (Swagger UI) from bundled files, so /api/docs works offline.

FastAPI's default page loads Swagger UI from a CDN; a self-hosted platform (and this
machine) may have no route to it, and the page would be blank.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC = "/api/docs/static"


def install(app: FastAPI, openapi_url: str = "/api/openapi.json", title: str = "API") -> None:
    """Mount Swagger UI's files and the docs page at /api/docs."""
    app.mount(STATIC, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} — docs",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
        )

    app.add_api_route("/api/docs", docs, methods=["GET"], include_in_schema=False)


def install_asyncapi(app: FastAPI) -> None:
    """Serve the AsyncAPI document of the public NATS subjects at /api/asyncapi."""
    from contracts.asyncapi import build_document

    document = build_document()

    async def asyncapi() -> JSONResponse:
        return JSONResponse(document)

    app.add_api_route("/api/asyncapi", asyncapi, methods=["GET"], include_in_schema=False,
                      summary="AsyncAPI document of the events third parties can subscribe to")
