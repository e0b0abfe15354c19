"""Publishing what a commit wrote: only what JetStream acknowledged is marked sent, and a
publish never waits on NATS for ever; the rest is the outbox relay's."""

from __future__ import annotations

import asyncio
import uuid

from contracts import subjects
from execution import ledger


async def test_a_message_jetstream_does_not_acknowledge_is_left_to_the_relay(app, nc):
    """Only what JetStream acknowledged is marked sent: a message nobody stores, or whose
    acknowledgement does not come in time, stays for the relay to send after its grace."""
    async def swallow(msg):  # a responder that never answers: no acknowledgement comes
        pass

    await nc.subscribe("test.silent.>", cb=swallow)
    await nc.flush()
    user = subjects.user_event("u-relay", "signal", "generated")
    marked = await ledger._publish(app.js, [
        (user, b"{}", "9f0b7f0e-3d2a-4d7c-8a8e-000000000001"),
        ("test.nostream.x", b"{}", "9f0b7f0e-3d2a-4d7c-8a8e-000000000002"),
        ("test.silent.x", b"{}", "9f0b7f0e-3d2a-4d7c-8a8e-000000000003")], timeout=0.5)
    assert marked == ["9f0b7f0e-3d2a-4d7c-8a8e-000000000001"]
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert app.js.publish_async_pending() == 0  # the late one's slot was given back


async def test_publishing_gives_up_when_nats_never_acknowledges(app, nc):
    """With every slot for unacknowledged publishes taken (NATS away), a publish waits for
    a free one only so long, then leaves its messages to the relay: it never hangs."""
    async def swallow(msg):
        pass

    await nc.subscribe("test.silent.>", cb=swallow)
    await nc.flush()
    stuck = [await app.js.publish_async("test.silent.x", b"{}") for _ in range(4000)]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with asyncio.timeout(5):  # a publish that waits for a slot forever fails here
        marked = await ledger._publish(app.js, [
            (subjects.user_event("u-relay", "signal", "generated"), b"{}",
             "9f0b7f0e-3d2a-4d7c-8a8e-000000000004")], timeout=0.3)
    assert marked == [] and loop.time() - t0 < 2
    for f in stuck:
        f.cancel()


async def test_deferred_events_go_out_in_runs_with_room_for_urgent_work_between(app, monkeypatch):
    """A minute close's events wait for its decisions, then go out `DEFERRED_CHUNK` at a time:
    a bar or a stop's tick that comes meanwhile is handled between two runs, not after all of
    them (publishing never yields while nats-py has slots free)."""
    sent: list[str] = []
    publish = app.js.publish_async

    async def counting(subject, payload=b"", **kw):
        sent.append(subject)
        return await publish(subject, payload, **kw)

    monkeypatch.setattr(app.js, "publish_async", counting)
    user = subjects.user_event("u-deferred", "signal", "generated")
    later = ledger.Deferred(app.js, app.pool, ledger.Idle(settle_s=0.0))
    later.items = [(user, b"{}", str(uuid.uuid4())) for _ in range(3 * ledger.DEFERRED_CHUNK)]
    handled_after: list[int] = []

    async def urgent() -> None:  # a bar handler that became ready as the flush began
        await asyncio.sleep(0)
        handled_after.append(len(sent))

    task = asyncio.create_task(urgent())
    await later.flush()
    await task
    assert len(sent) == 3 * ledger.DEFERRED_CHUNK  # every event went out
    assert handled_after == [ledger.DEFERRED_CHUNK]  # after the first run, not the last
