"""REST: market quotes, historical charts, instrument lists, profile and token renewal."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from dhansim import errors, history
from dhansim.clock import IST
from dhansim.instruments import SEGMENT_CODES
from dhansim.market import Snapshot
from dhansim.validation import to_bool, to_int
from dhansim.web import CLIENT_KEY, SIM_KEY, account, read_json, reply

routes = web.RouteTableDef()
MAX_QUOTE_INSTRUMENTS = 1000


def _ohlc(s: Snapshot) -> dict:
    return {"open": s.open, "close": s.prev_close, "high": s.high, "low": s.low}


def _quote(s: Snapshot, lower: float, upper: float) -> dict:
    ltt = s.ltt.astimezone(IST).strftime("%d/%m/%Y %H:%M:%S") if s.seq >= 0 else \
        "01/01/1980 00:00:00"
    levels = [{"quantity": lv.bid_qty, "orders": lv.bid_orders, "price": lv.bid}
              for lv in s.depth]
    asks = [{"quantity": lv.ask_qty, "orders": lv.ask_orders, "price": lv.ask} for lv in s.depth]
    return {"average_price": s.atp, "buy_quantity": s.total_buy, "sell_quantity": s.total_sell,
            "last_price": s.ltp, "last_quantity": s.ltq, "last_trade_time": ltt,
            "lower_circuit_limit": lower, "upper_circuit_limit": upper,
            "net_change": round(s.ltp - s.prev_close, 2) if s.prev_close else 0.0,
            "volume": s.volume, "oi": s.oi, "oi_day_high": s.oi_high, "oi_day_low": s.oi_low,
            "ohlc": _ohlc(s), "depth": {"buy": levels, "sell": asks}}


async def _marketfeed(request: web.Request, kind: str) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    body.pop("dhanClientId", None)
    wanted = [(seg, ids) for seg, ids in body.items()]
    if not wanted or any(seg not in SEGMENT_CODES or not isinstance(ids, list)
                         for seg, ids in wanted):
        raise errors.DataError(814, "Invalid Request")
    if sum(len(ids) for _, ids in wanted) > MAX_QUOTE_INSTRUMENTS:
        raise errors.DataError(804, "Requested number of instruments exceeds limit")
    data: dict = {}
    for seg, ids in wanted:
        out = data.setdefault(seg, {})
        for sid in ids:
            inst = sim.master.get(seg, str(sid).strip())
            if inst is None:
                continue
            s = sim.market.snapshot(inst)
            if kind == "ltp":
                out[inst.security_id] = {"last_price": s.ltp}
            elif kind == "ohlc":
                out[inst.security_id] = {"last_price": s.ltp, "ohlc": _ohlc(s)}
            else:
                out[inst.security_id] = _quote(s, *sim.market.circuit(inst, s))
    return reply({"data": data, "status": "success"})


@routes.post("/v2/marketfeed/ltp")
async def ltp(request: web.Request) -> web.Response:
    """Return last prices."""
    return await _marketfeed(request, "ltp")


@routes.post("/v2/marketfeed/ohlc")
async def ohlc(request: web.Request) -> web.Response:
    """Return last prices with the day's OHLC."""
    return await _marketfeed(request, "ohlc")


@routes.post("/v2/marketfeed/quote")
async def quote(request: web.Request) -> web.Response:
    """Return full quotes with five-level depth."""
    return await _marketfeed(request, "quote")


def _chart_instrument(sim, body: dict):
    for key in ("securityId", "exchangeSegment", "instrument", "fromDate", "toDate"):
        if body.get(key) in (None, ""):
            raise errors.bad_input(f"Missing required field {key}")
    return sim.master.get(str(body["exchangeSegment"]), str(body["securityId"]).strip())


@routes.post("/v2/charts/historical")
async def daily_chart(request: web.Request) -> web.Response:
    """Return daily candles; toDate is exclusive."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    inst = _chart_instrument(sim, body)
    try:
        start, end = history.parse_day(body["fromDate"]), history.parse_day(body["toDate"])
    except ValueError:
        raise errors.bad_input("Invalid date format") from None
    if end <= start:
        raise errors.bad_input("System is unable to fetch data due to incorrect parameters "
                               "or no data present")
    oi = to_bool(body, "oi")
    if inst is None:
        return reply(history.empty(oi))
    return reply(history.daily(sim.prices, inst, start, end, sim.clock.now(), oi))


@routes.post("/v2/charts/intraday")
async def intraday_chart(request: web.Request) -> web.Response:
    """Return minute candles (1/5/15/25/60), at most 90 days per request."""
    sim = request.app[SIM_KEY]
    body = await read_json(request)
    inst = _chart_instrument(sim, body)
    interval = to_int(body, "interval", required=False, default=1)
    if interval not in history.INTERVALS:
        raise errors.bad_input("Invalid interval")
    try:
        start = history.parse_moment(body["fromDate"], end=False)
        end = history.parse_moment(body["toDate"], end=True)
    except ValueError:
        raise errors.bad_input("Invalid date format") from None
    if end < start:
        raise errors.bad_input("System is unable to fetch data due to incorrect parameters "
                               "or no data present")
    if end - start > timedelta(days=90):
        raise errors.bad_input("Data for Intraday Charts can be fetched for 90 days at a time")
    oi = to_bool(body, "oi")
    if inst is None:
        return reply(history.empty(oi))
    return reply(history.intraday(sim.prices, inst, start, end, interval, sim.clock.now(), oi))


@routes.get("/v2/instrument/{segment}")
async def instrument_list(request: web.Request) -> web.Response:
    """Return the scrip-master rows of one segment as CSV."""
    sim = request.app[SIM_KEY]
    segment = request.match_info["segment"]
    if segment not in SEGMENT_CODES:
        raise errors.bad_input("Invalid exchangeSegment")
    return web.Response(text=sim.master.detailed_csv(segment), content_type="text/csv")


@routes.get("/api-data/api-scrip-master.csv")
async def scrip_master(request: web.Request) -> web.Response:
    """Serve the compact instrument master file."""
    return web.Response(text=request.app[SIM_KEY].master.csv_text, content_type="text/csv")


@routes.get("/api-data/api-scrip-master-detailed.csv")
async def scrip_master_detailed(request: web.Request) -> web.Response:
    """Serve the detailed instrument master file."""
    return web.Response(text=request.app[SIM_KEY].master.detailed_csv(),
                        content_type="text/csv")


@routes.get("/v2/profile")
async def profile(request: web.Request) -> web.Response:
    """Return the account profile (doubles as a token check)."""
    sim, acc = request.app[SIM_KEY], account(request)
    exp = sim.tokens.by_client[acc.client_id].token_exp
    validity = datetime.fromtimestamp(exp, IST).strftime("%d/%m/%Y %H:%M")
    return reply({"dhanClientId": acc.client_id, "tokenValidity": validity,
                  "activeSegment": "Equity, Derivative, Currency, Commodity", "ddpi": "Active",
                  "mtf": "Active", "dataPlan": "Active",
                  "dataValidity": "2030-12-31 23:59:59.0"})


@routes.get("/v2/RenewToken")
async def renew_token(request: web.Request) -> web.Response:
    """Issue a new 24-hour token and revoke the one used to ask."""
    sim = request.app[SIM_KEY]
    client_id = request[CLIENT_KEY]
    token = sim.tokens.mint(client_id)
    exp = sim.tokens.by_client[client_id].token_exp
    return reply({"token": token, "accessToken": token, "dhanClientId": client_id,
                  "expiryTime": datetime.fromtimestamp(exp, IST).strftime("%Y-%m-%dT%H:%M:%S")})


@routes.post("/v2/RenewToken")
async def renew_token_post(request: web.Request) -> web.Response:
    """Refuse POST as Dhan does (issue #108)."""
    raise errors.bad_input("Invalid request method")
