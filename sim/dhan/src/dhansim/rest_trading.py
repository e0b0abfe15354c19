"""REST: orders, trades, positions, holdings, funds, margin, kill switch."""

from __future__ import annotations

from aiohttp import web

from dhansim import errors
from dhansim.portfolio import margin_per_unit
from dhansim.validation import (
    PRODUCTS,
    SEGMENTS,
    TXN,
    parse_modify,
    parse_place,
    reject_empty_strings,
    to_enum,
    to_float,
    to_int,
)
from dhansim.web import SIM_KEY, account, read_json, reply

routes = web.RouteTableDef()


async def _drop_if_faulted(request: web.Request) -> None:
    """Close the connection without answering (the order stays accepted)."""
    if request.app[SIM_KEY].faults.take_drop():
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise web.HTTPServiceUnavailable()


@routes.post("/v2/orders")
async def place_order(request: web.Request) -> web.Response:
    """Place one order."""
    req = parse_place(await read_json(request))
    order = request.app[SIM_KEY].exchange.place(account(request), req)
    await _drop_if_faulted(request)
    return reply({"orderId": order.order_id, "orderStatus": order.status})


@routes.post("/v2/orders/slicing")
async def place_sliced(request: web.Request) -> web.Response:
    """Place an order split at the exchange freeze quantity."""
    req = parse_place(await read_json(request))
    orders = request.app[SIM_KEY].exchange.place_sliced(account(request), req)
    await _drop_if_faulted(request)
    return reply([{"orderId": o.order_id, "orderStatus": o.status} for o in orders])


@routes.put("/v2/orders/{order_id}")
async def modify_order(request: web.Request) -> web.Response:
    """Modify an open order."""
    req = parse_modify(await read_json(request))
    order = request.app[SIM_KEY].exchange.modify(account(request),
                                                 request.match_info["order_id"], req)
    return reply({"orderId": order.order_id, "orderStatus": "TRANSIT"})


@routes.delete("/v2/orders/{order_id}")
async def cancel_order(request: web.Request) -> web.Response:
    """Cancel an open order (202 Accepted, as Dhan's docs describe)."""
    order = request.app[SIM_KEY].exchange.cancel(account(request), request.match_info["order_id"])
    return reply({"orderId": order.order_id, "orderStatus": order.status}, 202)


@routes.get("/v2/orders")
async def order_book(request: web.Request) -> web.Response:
    """List today's orders."""
    return reply([o.to_book() for o in account(request).orders.values()])


@routes.get("/v2/orders/external/{correlation_id}")
async def order_by_correlation(request: web.Request) -> web.Response:
    """Return the latest order carrying a correlation id (404 DH-906 when none)."""
    cid = request.match_info["correlation_id"]
    found = [o for o in account(request).orders.values() if o.correlation_id == cid]
    if not found:
        raise errors.order_error(status=404)
    return reply(found[-1].to_book())


@routes.get("/v2/orders/{order_id}")
async def order_by_id(request: web.Request) -> web.Response:
    """Return one order as a one-element array ([] when unknown), as live Dhan does."""
    order = account(request).orders.get(request.match_info["order_id"])
    return reply([order.to_book()] if order else [])


@routes.get("/v2/trades")
@routes.get("/v2/trades/")
async def trade_book(request: web.Request) -> web.Response:
    """List today's fills."""
    return reply([t.to_book() for t in account(request).trades])


@routes.get("/v2/trades/{order_id}")
async def trades_of_order(request: web.Request) -> web.Response:
    """List the fills of one order."""
    order = account(request).orders.get(request.match_info["order_id"])
    return reply([t.to_book() for t in order.trades] if order else [])


@routes.get("/v2/positions")
async def positions(request: web.Request) -> web.Response:
    """List today's positions."""
    sim, acc = request.app[SIM_KEY], account(request)
    return reply([p.to_wire(acc.client_id, sim.market.snapshot(p.inst).ltp)
                  for p in acc.positions.values()])


@routes.delete("/v2/positions")
async def exit_all(request: web.Request) -> web.Response:
    """Close every open position with protected market orders."""
    sim, acc = request.app[SIM_KEY], account(request)
    for pos in list(acc.positions.values()):
        if pos.net:
            sim.exchange.place(acc, {
                "transactionType": "SELL" if pos.net > 0 else "BUY",
                "exchangeSegment": pos.inst.segment, "productType": pos.product,
                "orderType": "MARKET", "validity": "DAY", "securityId": pos.inst.security_id,
                "quantity": abs(pos.net)})
    return reply({"status": "SUCCESS", "message": "All open positions are being exited"})


@routes.get("/v2/holdings")
async def holdings(request: web.Request) -> web.Response:
    """List settled holdings (500 DH-1111 when there are none, as live Dhan answers)."""
    sim, acc = request.app[SIM_KEY], account(request)
    if not acc.holdings:
        return reply({"errorType": "HOLDING_ERROR", "errorCode": "DH-1111",
                      "errorMessage": "No holdings available"}, 500)
    return reply([h.to_wire(sim.market.snapshot(h.inst).ltp) for h in acc.holdings.values()])


@routes.get("/v2/fundlimit")
async def fund_limit(request: web.Request) -> web.Response:
    """Return the fund limits (with Dhan's misspelt field names)."""
    sim, acc = request.app[SIM_KEY], account(request)
    f = sim.exchange.funds(acc)
    available = round(f["available"], 2)
    return reply({
        "dhanClientId": acc.client_id, "availabelBalance": available,
        "sodLimit": round(acc.sod, 2), "collateralAmount": 0.0, "receiveableAmount": 0.0,
        "utilizedAmount": round(f["blocked"] + f["spent"], 2), "blockedPayoutAmount": 0.0,
        "withdrawableBalance": max(available, 0.0)})


@routes.post("/v2/margincalculator")
async def margin_calculator(request: web.Request) -> web.Response:
    """Return the margin one order would need."""
    sim, acc = request.app[SIM_KEY], account(request)
    body = await read_json(request)
    reject_empty_strings(body)
    seg = to_enum(body, "exchangeSegment", SEGMENTS)
    side = to_enum(body, "transactionType", TXN)
    product = to_enum(body, "productType", PRODUCTS)
    qty = to_int(body, "quantity")
    price = to_float(body, "price", required=False)
    inst = sim.master.get(seg, str(body.get("securityId")))
    if inst is None:
        raise errors.bad_input("Invalid securityId")
    snap = sim.market.snapshot(inst)
    und = sim.master.underlying_of(inst) if inst.is_option else None
    und_price = sim.market.snapshot(und).ltp if und else 0.0
    total = qty * margin_per_unit(inst, product, side, price or snap.ltp, und_price)
    available = sim.exchange.funds(acc)["available"]
    notional = qty * (price or snap.ltp)
    leverage = notional / total if total else 1.0
    span = total if inst.is_derivative else 0.0
    return reply({"totalMargin": round(total, 2), "spanMargin": round(span * 0.75, 2),
                  "exposureMargin": round(span * 0.25, 2),
                  "availableBalance": round(available, 2),
                  "variableMargin": round(0.0 if inst.is_derivative else total, 2),
                  "insufficientBalance": round(max(total - available, 0.0), 2),
                  "brokerage": 0.0 if product == "CNC" else 20.0,
                  "leverage": f"{leverage:.2f}"})


@routes.post("/v2/killswitch")
async def kill_switch(request: web.Request) -> web.Response:
    """Activate or deactivate the kill switch for the day."""
    acc = account(request)
    status = (request.query.get("killSwitchStatus") or "").upper()
    if status not in ("ACTIVATE", "DEACTIVATE"):
        raise errors.bad_input("Invalid killSwitchStatus")
    if status == "ACTIVATE":
        if any(o.is_open for o in acc.orders.values()) or any(
                p.net for p in acc.positions.values() if p.product != "CNC"):
            raise errors.order_error("Kill switch needs no open positions and no pending orders")
        acc.kill_switch = True
        return reply({"dhanClientId": acc.client_id,
                      "killSwitchStatus": "Kill Switch has been successfully activated"})
    acc.kill_switch = False
    return reply({"dhanClientId": acc.client_id,
                  "killSwitchStatus": "Kill Switch has been successfully deactivated"})


@routes.get("/v2/killswitch")
async def kill_switch_status(request: web.Request) -> web.Response:
    """Return the kill-switch state."""
    acc = account(request)
    return reply({"dhanClientId": acc.client_id,
                  "killSwitchStatus": "ACTIVATE" if acc.kill_switch else "DEACTIVATE"})
