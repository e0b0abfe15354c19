"""One thin function per request subject: decode (svckit did), call the use case, reply."""

from __future__ import annotations

from contracts import marketdata as md
from svckit.context import RequestContext
from svckit.micro import MicroService

from .service import MarketData, instrument


def register(micro: MicroService, svc: MarketData) -> None:
    """Attach every marketdata endpoint to the micro service."""

    async def search(q: md.SearchInstruments, ctx: RequestContext) -> md.InstrumentPage:
        return await svc.search(q)

    async def by_symbol(q: md.InstrumentBySymbol, ctx: RequestContext) -> md.Instrument:
        return instrument(await svc.resolve(q.symbol, q.segment, None))

    async def by_id(q: md.InstrumentRef, ctx: RequestContext) -> md.Instrument:
        return instrument(await svc.resolve(None, q.segment, q.security_id))

    async def quote(q: md.GetQuote, ctx: RequestContext) -> md.Quote:
        return await svc.quote(q)

    async def history(q: md.GetHistory, ctx: RequestContext) -> md.History:
        return await svc.candles(q)

    async def bulk(q: md.BulkHistory, ctx: RequestContext) -> md.BulkHistoryReady:
        return await svc.bulk(q)

    async def is_open(q: md.MarketOpenQuery, ctx: RequestContext) -> md.MarketSession:
        return svc.session(q.segment, q.at)

    async def square_off(q: md.SquareOffQuery, ctx: RequestContext) -> md.SquareOff:
        return svc.square_off(q)

    async def status(q: md.MarketStatusQuery, ctx: RequestContext) -> md.MarketStatus:
        return svc.status(q.at)

    async def lease(q: md.LeaseInstruments, ctx: RequestContext) -> md.LeaseGranted:
        return await svc.lease(q)

    async def release(q: md.ReleaseInstruments, ctx: RequestContext) -> md.Released:
        return await svc.release(q)

    for subject, model, handler in (
        (md.SEARCH_INSTRUMENTS, md.SearchInstruments, search),
        (md.INSTRUMENT_BY_SYMBOL, md.InstrumentBySymbol, by_symbol),
        (md.INSTRUMENT_BY_ID, md.InstrumentRef, by_id),
        (md.GET_QUOTE, md.GetQuote, quote),
        (md.GET_HISTORY, md.GetHistory, history),
        (md.BULK_HISTORY, md.BulkHistory, bulk),
        (md.MARKET_OPEN, md.MarketOpenQuery, is_open),
        (md.SQUARE_OFF, md.SquareOffQuery, square_off),
        (md.MARKET_STATUS, md.MarketStatusQuery, status),
        (md.LEASE, md.LeaseInstruments, lease),
        (md.RELEASE, md.ReleaseInstruments, release),
    ):
        micro.endpoint(subject, model, handler)
