"""The OpenAPI document, built from the route table so it can never drift from it."""

from __future__ import annotations

import copy
from typing import Any

from contracts.errors import ApiError
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .routes import Access, Cookie, Route

REF = "#/components/schemas/{model}"
BEARER, API_KEY, COOKIE = "bearerAuth", "apiKeyAuth", "refreshCookie"
SECURITY_SCHEMES = {
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "Access token (EdDSA JWT) from /api/auth/login"},
    API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-Key",
              "description": "Personal API key from /api/user/api-keys"},
    COOKIE: {"type": "apiKey", "in": "cookie", "name": "at_refresh",
             "description": "httpOnly refresh-token cookie set by login and refresh"},
}
_ERROR_TEXT = {
    400: "Invalid input (VALIDATION_ERROR, with per-field details)",
    401: "Missing, invalid, expired or revoked credentials (UNAUTHORIZED)",
    403: "Not allowed for this user (FORBIDDEN)",
    404: "No such resource, or it belongs to another user (NOT_FOUND)",
    409: "Conflicts with the current state (CONFLICT)",
    413: "Request body too large (PAYLOAD_TOO_LARGE)",
    429: "Too many requests (RATE_LIMITED); wait Retry-After seconds",
    500: "Internal error (INTERNAL_ERROR)",
    503: "The service behind this endpoint is unavailable (SERVICE_UNAVAILABLE)",
}


def error_responses(route: Route) -> dict[int | str, dict[str, Any]]:
    """Return the error statuses a route can answer, each with the §6 error body."""
    codes = [400, 413, 429, 500, 503]
    if route.access is not Access.NONE or route.cookie is Cookie.ROTATE:
        codes += [401, 403]
    if route.path_params or route.access is Access.ADMIN:
        codes.append(404)
    if route.method in ("POST", "PUT", "PATCH"):
        codes.append(409)
    out: dict[int | str, dict[str, Any]] = {}
    if route.file:
        binary = {"schema": {"type": "string", "format": "binary"}}
        out[route.status] = {"description": "The file (Content-Disposition: attachment)",
                             "content": {"text/csv": binary, "application/pdf": binary}}
    for code in sorted(set(codes)):
        entry: dict[str, Any] = {"model": ApiError, "description": _ERROR_TEXT[code]}
        if code == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                "description": "Seconds to wait"}}
        out[code] = entry
    return out


def security(route: Route) -> list[dict[str, list[str]]] | None:
    """Return the security requirement of a route."""
    if route.access is not Access.NONE:
        return [{BEARER: []}, {API_KEY: []}]
    if route.cookie in (Cookie.ROTATE, Cookie.CLEAR):
        return [{COOKIE: []}, {}]
    return None


def _input_docs(route: Route, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Return parameters and requestBody of one operation."""
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    params = [{"name": p, "in": "path", "required": True,
               "schema": props.get(p, {"type": "string"})} for p in route.path_params]
    extra: dict[str, Any] = {}
    if route.method in ("GET", "DELETE"):
        params += [{"name": name, "in": "query", "required": name in required, "schema": prop}
                   for name, prop in props.items() if name not in route.path_params]
    else:
        body = copy.deepcopy(schema)
        for p in route.path_params:
            body.get("properties", {}).pop(p, None)
            if p in body.get("required", []):
                body["required"].remove(p)
        if body.get("properties"):
            name = schema["title"] + ("Body" if route.path_params else "")
            defs.setdefault(name, body)
            optional = not body.get("required") or route.cookie is not Cookie.NONE
            extra["requestBody"] = {
                "required": not optional,
                "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
            }
    if params:
        extra["parameters"] = params
    sec = security(route)
    if sec is not None:
        extra["security"] = sec
    return extra


def build_openapi(app: FastAPI, routes: tuple[Route, ...], title: str, version: str) -> dict:
    """Generate the document: FastAPI's replies and errors plus the table's request shapes."""
    doc = get_openapi(title=title, version=version, routes=app.routes,
                      description="Algorithmic trading platform API. Errors always have the "
                                  "shape of `ApiError`.")
    models: list[type[BaseModel]] = list({r.body_doc or r.request for r in routes})
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF,
                                by_alias=True)
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for route in routes:
        model = route.body_doc or route.request
        op = doc["paths"][route.path][route.method.lower()]
        op.update(_input_docs(route, defs[model.__name__], defs))
    for name in _referenced(doc["paths"], {**defs, **schemas}):
        if name in defs:
            schemas.setdefault(name, defs[name])
    components["securitySchemes"] = SECURITY_SCHEMES
    return doc


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """Return the schema names reachable from `root` through $refs."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    stack.append(schemas.get(name))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def install(app: FastAPI, routes: tuple[Route, ...], version: str) -> None:
    """Serve the generated document (cached after the first build)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, routes, "AlgoTrade API", version)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
