"""The one generic forwarder: HTTP request -> request model -> NATS -> HTTP reply."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from contracts.errors import ErrorCode
from fastapi import Request
from fastapi.responses import Response
from opentelemetry import trace
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from redis.exceptions import RedisError
from svckit import tracing
from svckit.context import RequestContext
from svckit.errors import RemoteError, Unavailable
from svckit.nats import request as nats_request

from .errors import HttpError, error_response, validation_error
from .identity import API_KEY_HEADER, Principal, unauthorized
from .ratelimit import RateCheck, enforce
from .routes import Access, Cookie, Limit, Route
from .state import CallInfo, Gateway

Endpoint = Callable[[Request], Awaitable[Response]]


def make_endpoint(route: Route) -> Endpoint:
    """Build the FastAPI endpoint that serves one route row."""

    async def endpoint(request: Request) -> Response:
        gw: Gateway = request.app.state.gw
        call: CallInfo = request.state.call
        call.route = route.path
        call.action = route.subject.removeprefix("svc.")
        if route.path_params:
            call.resource_type = route.tag
            call.resource_id = str(request.path_params.get(route.path_params[-1]))
        try:
            return await _serve(gw, route, request, call)
        except HttpError as exc:
            if route.cookie in (Cookie.ROTATE, Cookie.CLEAR) and exc.error.code == 401:
                resp = error_response(exc.error, exc.headers)
                _clear_cookie(gw, resp)
                return resp
            raise

    endpoint.__name__ = route.name
    return endpoint


async def _serve(gw: Gateway, route: Route, request: Request, call: CallInfo) -> Response:
    if route.limit is Limit.AUTH_IP:
        await _limit(gw, Limit.AUTH_IP, call.client_ip or "unknown", gw.settings.rate_auth_ip)
    principal = await _authorize(gw, route, request)
    call.user_id = principal.user_id if principal else None
    if route.limit is Limit.USER and not (principal and principal.rate_checked):
        ident = principal.user_id if principal else (call.client_ip or "unknown")
        await _limit(gw, Limit.USER, ident, gw.settings.rate_user)
    data = await _input(gw, route, request)
    try:
        model = route.request.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    ctx = RequestContext(
        user_id=principal.user_id if principal else None,
        role=principal.role if principal else None,
        session_id=principal.session_id if principal else None,
        email_verified=principal.email_verified if principal else False,
        request_id=call.request_id, client_ip=call.client_ip, user_agent=call.user_agent,
    )
    payload = wire_payload(model)
    with tracing.span_from_headers(f"{route.method} {route.path}", request.headers,
                                   kind=trace.SpanKind.SERVER):
        try:
            reply = await nats_request(gw.nc, route.subject, payload, headers=ctx.to_headers(),
                                       timeout=gw.settings.nats_timeout_s)
        except RemoteError as exc:
            raise HttpError(exc.api_error) from exc
        except Unavailable as exc:
            raise HttpError.of(ErrorCode.SERVICE_UNAVAILABLE, str(exc),
                               headers={"Retry-After": "1"}) from exc
    if route.file:
        return await _file(gw, reply)
    return _render(gw, route, reply)


async def _file(gw: Gateway, reply: Any) -> Response:
    """Send a file reply: inline base64, or an object the service left in the Object Store."""
    if not isinstance(reply, dict) or not reply.get("filename"):
        raise HttpError.of(ErrorCode.INTERNAL_ERROR, "The service did not return a file")
    if reply.get("contentBase64") is not None:
        content = base64.b64decode(reply["contentBase64"])
    else:
        try:
            store = await gw.nc.jetstream().object_store(reply["bucket"])
            content = (await store.get(reply["objectName"])).data or b""
        except Exception as exc:
            raise HttpError.of(ErrorCode.NOT_FOUND, "The export expired; export again") from exc
    name = str(reply["filename"]).replace('"', "")
    return Response(content, media_type=reply.get("contentType") or "application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _limit(gw: Gateway, bucket: Limit, ident: str, limit: int) -> None:
    try:
        decision = await gw.limiter.hit(bucket.value, ident, limit, gw.settings.rate_window_s)
    except RedisError as exc:
        raise HttpError.of(ErrorCode.SERVICE_UNAVAILABLE,
                           "Rate-limit store unavailable; try again shortly") from exc
    enforce(decision)


async def _authorize(gw: Gateway, route: Route, request: Request) -> Principal | None:
    authz = request.headers.get("authorization")
    api_key = request.headers.get(API_KEY_HEADER)
    if route.access is Access.NONE:
        # Public routes ignore bad credentials (a stale token must not block sign-in) but
        # pass a valid identity on, so e.g. logout can end the caller's own session.
        try:
            return await gw.auth.authenticate(authz, api_key)
        except HttpError as exc:
            if exc.error.code == 401:
                return None
            raise
    rate = (RateCheck(gw.limiter, Limit.USER.value, gw.settings.rate_user,
                      gw.settings.rate_window_s) if route.limit is Limit.USER else None)
    principal = await gw.auth.authenticate(authz, api_key, rate)
    if principal is None:
        raise unauthorized()
    if route.access is Access.ADMIN and principal.role != "admin":
        raise HttpError.of(ErrorCode.FORBIDDEN, "Administrator role required")
    if route.access is Access.VERIFIED and not principal.email_verified:
        raise HttpError.of(ErrorCode.FORBIDDEN, "Verify your e-mail address first")
    return principal


async def _input(gw: Gateway, route: Route, request: Request) -> dict[str, Any]:
    """Merge query, JSON body and path parameters (path wins) into the model's input."""
    # a repeated parameter (`?ids=a&ids=b`, OpenAPI's default form for a query array) is
    # a list; a single one stays a string (list fields also accept `a,b`)
    query = request.query_params
    data: dict[str, Any] = {k: (v if len(v := query.getlist(k)) > 1 else v[0]) for k in query}
    if route.method not in ("GET", "DELETE", "HEAD"):
        raw = await request.body()
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise HttpError.of(ErrorCode.VALIDATION_ERROR,
                                   f"Malformed JSON body: {exc.args[0]}") from exc
            if not isinstance(body, dict):
                raise HttpError.of(ErrorCode.VALIDATION_ERROR, "The JSON body must be an object")
            data.update(body)
    data.update(request.path_params)
    if route.cookie in (Cookie.ROTATE, Cookie.CLEAR) and not data.get("refreshToken"):
        cookie = request.cookies.get(gw.settings.refresh_cookie_name)
        if cookie:
            data["refreshToken"] = cookie
        elif route.cookie is Cookie.ROTATE:
            raise unauthorized("No refresh token: send the at_refresh cookie or refreshToken")
    return data


def _render(gw: Gateway, route: Route, reply: Any) -> Response:
    if route.cookie in (Cookie.ISSUE, Cookie.ROTATE) and isinstance(reply, dict):
        pair = reply.get("tokens") if isinstance(reply.get("tokens"), dict) else reply
        refresh = pair.pop("refreshToken", None)
        resp = Response(orjson.dumps(reply), status_code=route.status,
                        media_type="application/json")
        if refresh:
            resp.set_cookie(
                gw.settings.refresh_cookie_name, refresh,
                max_age=int(pair.get("refreshExpiresIn") or 30 * 86400),
                path="/api/auth", httponly=True, samesite="strict",
                secure=gw.settings.secure_cookie(),
            )
        return resp
    resp = Response(orjson.dumps(reply), status_code=route.status, media_type="application/json")
    if route.cookie is Cookie.CLEAR:
        _clear_cookie(gw, resp)
    return resp


def _clear_cookie(gw: Gateway, resp: Response) -> None:
    resp.delete_cookie(gw.settings.refresh_cookie_name, path="/api/auth", httponly=True,
                       samesite="strict", secure=gw.settings.secure_cookie())


def _reveal(value: object) -> object:
    if isinstance(value, (SecretStr, SecretBytes)):
        secret = value.get_secret_value()
        return secret.decode() if isinstance(secret, bytes) else secret
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def wire_payload(model: BaseModel) -> bytes:
    """Serialise a validated request for the service, secrets included.

    `model_dump_json` masks SecretStr fields as '**********', which would forward a
    placeholder instead of the broker token the user typed.
    """
    return orjson.dumps(model.model_dump(by_alias=True, exclude_unset=True), default=_reveal)
