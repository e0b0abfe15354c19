"""HTTP plumbing shared by the REST modules: JSON replies, auth, rate limits, faults."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
from aiohttp import web

from dhansim import errors
from dhansim.core import Simulator
from dhansim.ratelimit import category

SIM_KEY = web.AppKey("sim", Simulator)
CLIENT_KEY = web.RequestKey("client_id", str)


def reply(payload, status: int = 200) -> web.Response:
    """Return a JSON response."""
    return web.Response(body=orjson.dumps(payload), status=status,
                        content_type="application/json")


async def read_json(request: web.Request) -> dict:
    """Parse a JSON object body (an empty body is an empty object)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.bad_input("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise errors.bad_input("Invalid JSON body")
    return body


def _not_found(path: str) -> web.Response:
    return reply({"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "status": 404, "error": "Not Found", "path": path}, 404)


@web.middleware
async def dhan_middleware(request: web.Request, handler):
    """Apply faults, authentication and rate limits to Dhan paths, and render errors."""
    sim = request.app[SIM_KEY]
    path = request.path
    dhan_path = path.startswith(("/v2/", "/app/", "/login/"))
    try:
        if dhan_path:
            if sim.faults.latency_ms:
                await asyncio.sleep(sim.faults.latency_ms / 1000)
            if sim.faults.take_5xx():
                status = sim.faults.status_5xx
                err = errors.internal_error() if status == 500 else errors.ApiError(
                    status, "Network_Error", "DH-909", "Backend is unreachable")
                return reply(err.body(), status)
            if sim.faults.take_429():
                return reply(errors.rate_limited().body(), 429)
        if request.match_info.http_exception is not None:
            return _not_found(path)
        if path.startswith("/v2/"):
            client_id = authenticate(request)
            request[CLIENT_KEY] = client_id
            if not sim.limiter.allow(client_id, category(request.method, path)):
                raise errors.rate_limited()
        return await handler(request)
    except errors.ApiError as exc:
        return reply(exc.body(), exc.status)
    except errors.DataError as exc:
        return reply(exc.body(), exc.status)


def authenticate(request: web.Request) -> str:
    """Return the client id of a valid access-token header, else raise DH-901."""
    sim = request.app[SIM_KEY]
    client_id, _why = sim.tokens.check(request.headers.get("access-token"))
    if client_id is None:
        raise errors.bad_auth()
    claimed = request.headers.get("client-id") or request.headers.get("dhanClientId")
    if claimed and claimed != client_id:
        raise errors.bad_auth()
    if not claimed and request.path.startswith(("/v2/marketfeed", "/v2/optionchain")):
        raise errors.bad_auth()  # data APIs need client-id as well as the token (API.md 2.1)
    return client_id


def account(request: web.Request):
    """Return the authenticated client's account."""
    return request.app[SIM_KEY].exchange.accounts[request[CLIENT_KEY]]
