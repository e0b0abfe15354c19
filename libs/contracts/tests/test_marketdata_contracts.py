"""Market-data contracts: camelCase wire shape, paise in events, validation, route rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from contracts import marketdata as md
from contracts import streams, subjects
from contracts.events.marketdata import FEED_EVENT_NAMES, Bar, BarCorrected, FeedStale, Tick
from pydantic import ValidationError

T = datetime(2025, 7, 23, 3, 45, tzinfo=UTC)


def test_tick_and_bar_round_trip_in_camel_case_with_integer_paise():
    tick = Tick(event_id="t1", ts_event=T, ts_init=T, segment="NSE_EQ", security_id="2885",
                ltp=141960, ltt=T, volume=335440)
    raw = msgspec.json.encode(tick)
    assert b'"securityId":"2885"' in raw and b'"ltp":141960' in raw and b'"tsEvent"' in raw
    assert msgspec.json.decode(raw + b"", type=Tick) == tick
    # Readers ignore fields added later.
    newer = raw[:-1] + b',"futureField":1}'
    assert msgspec.json.decode(newer, type=Tick).ltp == 141960
    bar = Bar(event_id="b", ts_event=T, ts_init=T, interval="1m", segment="NSE_EQ",
              security_id="2885", start=T, end=T, open=1, high=2, low=1, close=2, volume=3)
    fix = BarCorrected(event_id="f", ts_event=T, ts_init=T, bar=bar, previous=bar)
    assert msgspec.json.decode(msgspec.json.encode(fix), type=BarCorrected).bar.close == 2


def test_subjects_are_covered_by_the_streams_marketdata_owns():
    assert streams.stream_for(subjects.tick("NSE_EQ", "2885")) is streams.MD_TICKS
    assert streams.stream_for(subjects.bar("1m", "NSE_EQ", "2885")) is streams.MD_BARS
    assert streams.stream_for(subjects.bar_correction("1m", "NSE_EQ", "2885")) is streams.MD_BARS
    for name in FEED_EVENT_NAMES.values():
        assert streams.stream_for(subjects.feed_status(name)) is streams.MD_STATUS
    assert FEED_EVENT_NAMES[FeedStale] == "stale"
    assert md.GET_QUOTE == "svc.marketdata.quote.get"


def test_request_models_validate_and_speak_camel_case():
    q = md.GetHistory.model_validate({"symbol": "RELIANCE", "interval": "5m",
                                      "from": "2025-07-23T09:15:00+05:30",
                                      "to": "2025-07-23T15:30:00+05:30"})
    assert q.from_ == T
    with pytest.raises(ValidationError):
        md.GetQuote.model_validate({})
    with pytest.raises(ValidationError):
        md.LeaseInstruments.model_validate({"owner": "a.b", "instruments": []})
    with pytest.raises(ValidationError):
        md.InstrumentRef.model_validate({"segment": "NSE", "securityId": "1"})
    quote = md.Quote(segment="NSE_EQ", security_id="2885", ltp=Decimal("1419.60"),
                     change=Decimal("-4.40"), as_of=T)
    body = quote.model_dump(mode="json", by_alias=True)
    assert body["ltp"] == "1419.60" and body["change"] == "-4.40" and "securityId" in body


def test_gateway_route_rows_name_existing_subjects_and_models():
    paths = {(r.method, r.path) for r in md.HTTP_ROUTES}
    assert ("GET", "/api/market/quote/{symbol}") in paths
    for route in md.HTTP_ROUTES:
        assert route.subject.startswith("svc.marketdata.")
        assert issubclass(route.request, md.ApiModel) and issubclass(route.response, md.ApiReply)
