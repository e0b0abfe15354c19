"""Admin endpoints under /sim/ (no Dhan auth): clients, clock, faults, config."""

from __future__ import annotations

from aiohttp import web

from dhansim import errors
from dhansim.clock import parse_iso
from dhansim.core import DEFAULT_FUNDS
from dhansim.web import SIM_KEY, read_json, reply

routes = web.RouteTableDef()


@routes.post("/sim/clients")
async def create_client(request: web.Request) -> web.Response:
    """Create a simulated client: {funds?, holdings?, redirectUrl?, name?}."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    funds = body.get("funds", DEFAULT_FUNDS)
    if not isinstance(funds, int | float) or funds < 0:
        raise errors.bad_input("Invalid funds")
    created = sim.create_client(float(funds), body.get("holdings"),
                                body.get("redirectUrl", ""), body.get("name", "SIM CLIENT"))
    return reply(created, 201)


@routes.get("/sim/clients/{client_id}")
async def client_state(request: web.Request) -> web.Response:
    """Return a client's socket counts and order count (for tests to poll)."""
    sim = request.app[SIM_KEY]
    cid = request.match_info["client_id"]
    acc = sim.exchange.accounts.get(cid)
    if acc is None:
        raise web.HTTPNotFound()
    return reply({"dhanClientId": cid, "orders": len(acc.orders),
                  "feedConnections": sim.feed_hub.count(cid) if sim.feed_hub else 0,
                  "orderSockets": sim.order_hub.count(cid) if sim.order_hub else 0})


@routes.get("/sim/clock")
async def get_clock(request: web.Request) -> web.Response:
    """Return the market clock."""
    return reply(request.app[SIM_KEY].clock.to_json())


@routes.put("/sim/clock")
async def put_clock(request: web.Request) -> web.Response:
    """Set the simulated time, speed and/or pause."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    try:
        at = parse_iso(body["at"]) if body.get("at") else None
        speed = body.get("speed")
        paused = body.get("paused")
        if paused is not None and not isinstance(paused, bool):
            raise ValueError("paused must be a boolean")
        sim.clock.set(at=at, speed=float(speed) if speed is not None else None, paused=paused)
    except (ValueError, TypeError) as exc:
        raise errors.bad_input(str(exc)) from None
    sim.exchange.step()
    return reply(sim.clock.to_json())


@routes.get("/sim/faults")
async def get_faults(request: web.Request) -> web.Response:
    """Return the pending faults."""
    return reply(request.app[SIM_KEY].faults.to_json())


@routes.post("/sim/faults")
async def post_faults(request: web.Request) -> web.Response:
    """Arm faults: latencyMs, fail5xx, fail429, dropAfterAccept, expireToken, feedCut."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    sim.faults.update(body)
    if body.get("expireToken"):
        cid = str(body["expireToken"])
        sim.tokens.expire(cid)
        if sim.feed_hub:
            await sim.feed_hub.cut(cid, 807)
        if sim.order_hub:
            await sim.order_hub.revoke(cid)
    cut = body.get("feedCut")
    if cut is not None:
        if not isinstance(cut, dict):
            raise errors.bad_input("feedCut must be an object")
        if sim.feed_hub:
            await sim.feed_hub.cut(cut.get("dhanClientId"), cut.get("code"))
    return reply(sim.faults.to_json())


@routes.delete("/sim/faults")
async def delete_faults(request: web.Request) -> web.Response:
    """Clear every pending fault."""
    sim = request.app[SIM_KEY]
    sim.faults.update({"latencyMs": 0, "fail5xx": 0, "fail429": 0, "dropAfterAccept": 0})
    return reply(sim.faults.to_json())


@routes.put("/sim/config")
async def put_config(request: web.Request) -> web.Response:
    """Switch Dhan's rate limits on or off ({"rateLimits": bool})."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    if not isinstance(body.get("rateLimits"), bool):
        raise errors.bad_input("rateLimits must be a boolean")
    sim.limiter.enabled = body["rateLimits"]
    return reply({"rateLimits": sim.limiter.enabled})
