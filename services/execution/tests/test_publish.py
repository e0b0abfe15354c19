"""Publishing what a commit wrote: only what JetStream acknowledged is marked sent, and a
publish never waits on NATS for ever; the rest is the outbox relay's."""

from __future__ import annotations

import asyncio

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
