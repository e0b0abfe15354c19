"""Decode every feed packet type: API.md reference bytes and the simulator's encoder."""

from __future__ import annotations

from datetime import UTC, datetime

from dhansim import packets as sim_packets
from dhansim.core import Simulator
from dhansim.settings import Settings as SimSettings
from dhansim.settings import find_data_dir
from marketdata.dhan.packets import Decoder, Disconnect, ltt_to_utc

NOW = datetime(2025, 1, 15, 5, 0, tzinfo=UTC)


def test_reference_bytes_of_api_md_decode_exactly():
    dec = Decoder()
    prev = bytes.fromhex("06 10 00 01 45 0b 00 00 33 d3 ae 44 00 00 00 00")
    ticker = bytes.fromhex("02 10 00 01 45 0b 00 00 33 4b af 44 2d 8e 87 67")
    oi = bytes.fromhex("05 0c 00 02 cf cb 00 00 44 d6 12 00")
    # One frame holding several packets back to back is split by the length field.
    ticks, disc = dec.decode(prev + ticker + oi, NOW)
    assert disc is None and len(ticks) == 1
    (t,) = ticks
    assert (t.segment, t.security_id, t.ltp, t.prev_close) == ("NSE_EQ", "2885", 140235, 139860)
    assert t.ltt == datetime(2025, 1, 15, 5, 0, 5, tzinfo=UTC), "10:30:05 IST is 05:00:05 UTC"
    assert dec.oi[("NSE_FNO", "52175")] == 1_234_500
    ticks, disc = dec.decode(bytes.fromhex("32 0a 00 00 00 00 00 00 27 03"), NOW)
    assert ticks == [] and disc == Disconnect(807)


def test_quote_full_ticker_oi_prev_close_and_market_status_from_the_simulator():
    sim = Simulator(SimSettings(data_dir=find_data_dir(), start=datetime(2025, 7, 23, 4, 0, tzinfo=UTC)))
    inst = sim.master.get("NSE_EQ", "2885")
    snap = sim.market.snapshot(inst)
    fut = sim.master.get("NSE_FNO", "53001")
    dec = Decoder()
    frame = (sim_packets.prev_close(snap) + sim_packets.quote(snap) + sim_packets.full(snap)
             + sim_packets.ticker(snap) + bytes([7, 8, 0, 1, 0x45, 0x0B, 0, 0]))
    ticks, disc = dec.decode(frame, NOW)
    assert disc is None and len(ticks) == 3 and dec.unknown == 0
    quote, full, tick = ticks
    expect_ltt = snap.ltt.astimezone(UTC)
    for t in ticks:
        assert t.ltp == round(snap.ltp * 100) and t.ltt == expect_ltt
        assert t.prev_close == round(snap.prev_close * 100)
    assert (quote.volume, quote.ltq, quote.atp) == (snap.volume, snap.ltq, round(snap.atp * 100))
    assert (quote.day_high, quote.day_low) == (round(snap.high * 100), round(snap.low * 100))
    assert full.volume == snap.volume and full.bid == round(snap.bid * 100)
    assert full.ask == round(snap.ask * 100) and full.bid_qty == snap.depth[0].bid_qty
    assert tick.volume is None, "ticker mode carries no volume"
    fsnap = sim.market.snapshot(fut)
    ticks, _ = dec.decode(sim_packets.oi(fsnap) + sim_packets.quote(fsnap), NOW)
    assert ticks[0].oi == fsnap.oi > 0 and ticks[0].segment == "NSE_FNO"
    ticks, _ = dec.decode(sim_packets.full(fsnap), NOW)
    assert ticks[0].oi == fsnap.oi


def test_ltt_is_ist_shifted_epoch():
    assert ltt_to_utc(1736937005) == datetime(2025, 1, 15, 5, 0, 5, tzinfo=UTC)
