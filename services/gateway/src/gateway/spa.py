"""Serve the built SPA (web/dist) with fallback to index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


def install(app: FastAPI, dist: Path) -> bool:
    """Add the SPA catch-all route when `dist` holds a build; return whether it did."""
    root = dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        return False

    async def spa(request: Request, path: str) -> Response:
        if path == "api" or path.startswith(("api/", "ws")):
            raise StarletteHTTPException(404)
        candidate = (root / path).resolve()
        # resolve() collapses '..'; anything that lands outside dist is not ours to serve.
        if path and candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate, headers=_cache_headers(candidate, root))
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/{path:path}", spa, methods=["GET", "HEAD"], include_in_schema=False)
    return True


def _cache_headers(path: Path, root: Path) -> dict[str, str]:
    # Vite puts content-hashed files under assets/; they never change, so cache them hard.
    if path.parent == root / "assets":
        return {"Cache-Control": "public, max-age=31536000, immutable"}
    return {"Cache-Control": "no-cache"}
