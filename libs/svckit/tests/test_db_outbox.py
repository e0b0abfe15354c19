"""Integration tests of migrations, outbox/inbox and micro services on real servers."""

import asyncio
import shutil
from pathlib import Path

import asyncpg
import msgspec
import pytest
from contracts import streams, subjects
from contracts.api import ApiModel
from contracts.errors import ErrorCode
from pydantic import BaseModel
from svckit import migrations as mig
from svckit.errors import Conflict, RemoteError, Unavailable
from svckit.jetstream import consume, ensure_stream
from svckit.micro import MicroService
from svckit.nats import request
from svckit.outbox import OutboxRelay, claim, enqueue, enqueue_many

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent


async def _deadline(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.05)


@pytest.fixture
async def conn(pg_dsn):
    c = await asyncpg.connect(pg_dsn)
    await c.execute("CREATE SCHEMA demo")
    yield c
    await c.close()


async def test_migrations_apply_in_order_once_and_refuse_edits(conn, tmp_path):
    src = tmp_path / "svc"
    shutil.copytree(HERE / "migs_ok", src)
    ms = mig.builtin() + mig.load(src, "demo")
    applied = await mig.migrate(conn, "demo", ms)
    assert applied == ["svckit/0001_outbox_inbox.sql", "svckit/0002_outbox_order.sql",
                       "demo/0001_first.sql", "demo/0002_second.sql"]
    assert await mig.migrate(conn, "demo", ms) == []
    cols = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema='demo' AND table_name='widgets'"
    )
    assert {r["column_name"] for r in cols} == {"id", "name", "colour"}
    (src / "migrations" / "0002_second.sql").write_text("ALTER TABLE widgets ADD COLUMN size int;")
    with pytest.raises(mig.MigrationError, match="edited after it was applied"):
        await mig.migrate(conn, "demo", mig.builtin() + mig.load(src, "demo"))


async def test_a_failing_migration_leaves_nothing_half_written(conn, tmp_path):
    src = tmp_path / "bad"
    (src / "migrations").mkdir(parents=True)
    (src / "migrations" / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (src / "migrations" / "0002_bad.sql").write_text("CREATE TABLE b (x int); SELECT * FROM nope;")
    with pytest.raises(asyncpg.PostgresError):
        await mig.migrate(conn, "demo", mig.load(src, "demo"))
    tables = {r["table_name"] for r in await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema='demo'")}
    assert "a" in tables and "b" not in tables
    keys = [r["key"] for r in await conn.fetch("SELECT key FROM demo.schema_migrations")]
    assert keys == ["demo/0001_ok.sql"]


async def test_concurrent_migrators_apply_each_file_once(pg_dsn, tmp_path):
    setup = await asyncpg.connect(pg_dsn)
    await setup.execute("CREATE SCHEMA race")
    src = tmp_path / "race"
    (src / "migrations").mkdir(parents=True)
    (src / "migrations" / "0001_t.sql").write_text("CREATE TABLE t (x int);")
    conns = [await asyncpg.connect(pg_dsn) for _ in range(3)]
    results = await asyncio.gather(*(mig.migrate(c, "race", mig.load(src, "race")) for c in conns))
    assert sorted(len(r) for r in results) == [0, 0, 1]
    for c in [*conns, setup]:
        await c.close()


class Ev(msgspec.Struct):
    n: int


async def test_outbox_relay_publishes_committed_rows_once(conn, pg_dsn, nats_url):
    import nats

    await mig.migrate(conn, "demo", mig.builtin())
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.EVENTS)
    pool = await asyncpg.create_pool(pg_dsn, server_settings={"search_path": "demo"}, min_size=1, max_size=3)
    try:
        subject = subjects.user_event("u1", "demo", "made")
        async with pool.acquire() as c, c.transaction():
            await enqueue(c, subject, Ev(n=0), msg_id="x1")
            # many at once, as execution records a busy bar; a message already there is skipped
            await enqueue_many(c, [(subject, Ev(n=1), "x2"), (subject, Ev(n=2), "x3"),
                                   (subject, Ev(n=50), "x1")])
        try:
            async with pool.acquire() as c, c.transaction():
                await enqueue(c, subjects.user_event("u1", "demo", "made"), Ev(n=99), msg_id="rolled-back")
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        relay = OutboxRelay(pool, js, "demo")
        task = asyncio.create_task(relay.run())

        async def three():
            info = await js.stream_info("EVENTS")
            return info.state.messages == 3

        await _deadline(three)
        # a relay that re-publishes the same row (crash before marking) is deduplicated
        await js.publish(subjects.user_event("u1", "demo", "made"), b'{"n":0}', headers={"Nats-Msg-Id": "x1"})
        assert (await js.stream_info("EVENTS")).state.messages == 3
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sub = await js.pull_subscribe("evt.u1.>", durable="reader", stream="EVENTS")
        msgs = await sub.fetch(3, timeout=2)
        # one transaction's rows leave in the order they were written (these ids' uuids
        # sort the other way round)
        assert [msgspec.json.decode(m.data, type=Ev).n for m in msgs] == [0, 1, 2]
        assert [m.headers["Nats-Msg-Id"] for m in msgs] == ["x1", "x2", "x3"]
        async with pool.acquire() as c:
            assert await claim(c, "reader", "x1") is True
            assert await claim(c, "reader", "x1") is False
    finally:
        await pool.close()
        await nc.close()


async def test_a_relay_with_a_grace_leaves_young_rows_to_their_writer(conn, pg_dsn, nats_url):
    """A service that publishes its own rows after commit runs the relay as a backstop only:
    a row younger than the grace is not sent (its writer does it and marks it); one still
    unsent after the grace (the writer died, or its publish failed) is."""
    import nats

    await conn.execute("CREATE SCHEMA graced")
    await mig.migrate(conn, "graced", mig.builtin())
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.EVENTS)
    pool = await asyncpg.create_pool(pg_dsn, server_settings={"search_path": "graced"},
                                     min_size=1, max_size=3)
    seen: list[bytes] = []

    async def on_msg(msg) -> None:
        seen.append(msg.data)

    sub = await nc.subscribe("evt.u9.>", cb=on_msg)
    try:
        subject = subjects.user_event("u9", "demo", "made")
        async with pool.acquire() as c, c.transaction():
            await enqueue_many(c, [(subject, Ev(n=1), "g1"), (subject, Ev(n=2), "g2")],
                               notify=False)
        relay = OutboxRelay(pool, js, "graced", min_age_s=1.5)
        assert await relay.relay_once() is False
        await nc.flush()
        assert seen == []  # young: the writer's to send
        # the writer publishes one and marks it; the other is left over (its writer died)
        await js.publish(subject, msgspec.json.encode(Ev(n=1)), headers={"Nats-Msg-Id": "g1"})
        async with pool.acquire() as c:
            await c.execute("UPDATE outbox SET published_at = now() WHERE headers->>'Nats-Msg-Id'"
                            " = 'g1'")
            # the grace passes: as if the rows had been written two seconds ago
            await c.execute("UPDATE outbox SET created_at = created_at - interval '2 s'")
        await relay.relay_once()
        await _deadline(lambda: _async(len(seen) == 2))
        assert [msgspec.json.decode(m, type=Ev).n for m in seen] == [1, 2]  # each once
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    finally:
        await sub.unsubscribe()
        await pool.close()
        await nc.close()


async def _async(value):
    return value


class Echo(ApiModel):
    text: str
    times: int = 1


class Echoed(BaseModel):
    text: str


async def test_micro_service_maps_errors_and_validation(nats_url):
    import nats

    nc = await nats.connect(nats_url)
    svc = MicroService(nc, "demo")

    async def echo(req: Echo, ctx):
        if req.text == "taken":
            raise Conflict("That name is taken")
        if req.text == "crash":
            raise ZeroDivisionError("secret internals")
        return Echoed(text=req.text * req.times)

    subject = subjects.svc("demo", "echo", "run")
    svc.endpoint(subject, Echo, echo)
    await svc.start()
    try:
        assert await request(nc, subject, Echo(text="ab", times=2)) == {"text": "abab"}
        with pytest.raises(RemoteError) as err:
            await request(nc, subject, {"text": "taken"})
        assert err.value.api_error.error is ErrorCode.CONFLICT and err.value.api_error.code == 409
        with pytest.raises(RemoteError) as err:
            await request(nc, subject, {"times": "x"})
        fields = {d.field for d in err.value.api_error.details}
        assert err.value.api_error.error is ErrorCode.VALIDATION_ERROR and {"text", "times"} <= fields
        with pytest.raises(RemoteError) as err:
            await request(nc, subject, {"text": "crash"})
        assert err.value.api_error.error is ErrorCode.INTERNAL_ERROR
        assert "secret" not in err.value.api_error.message
        with pytest.raises(Unavailable):
            await request(nc, subjects.svc("demo", "nobody", "home"), {}, timeout=1)
        # discoverable with $SRV.PING
        ping = await nc.request("$SRV.PING.demo", b"", timeout=2)
        assert b'"demo"' in ping.data
    finally:
        await svc.stop()
        await nc.close()


async def test_slow_requests_do_not_block_fast_ones(nats_url):
    import nats

    nc = await nats.connect(nats_url)
    svc = MicroService(nc, "slowfast")
    release = asyncio.Event()

    async def handler(req: Echo, ctx):
        if req.text == "slow":
            await release.wait()
        return {"text": req.text}

    subject = subjects.svc("slowfast", "echo", "run")
    svc.endpoint(subject, Echo, handler)
    await svc.start()
    try:
        slow = asyncio.create_task(request(nc, subject, {"text": "slow"}, timeout=5))
        assert await request(nc, subject, {"text": "fast"}, timeout=2) == {"text": "fast"}
        release.set()
        assert await slow == {"text": "slow"}
    finally:
        await svc.stop()
        await nc.close()


async def test_consumer_acks_naks_and_terms(nats_url):
    import nats
    from svckit.errors import Rejected, Retryable

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.JOBS)
    seen: list[tuple[bytes, int]] = []

    async def handler(msg):
        seen.append((msg.data, msg.metadata.num_delivered))
        if msg.data == b"retry" and msg.metadata.num_delivered < 2:
            raise Retryable("later", delay_s=0.1)
        if msg.data == b"bad":
            raise Rejected("never")

    for body in (b"ok", b"retry", b"bad"):
        await js.publish(subjects.job("backtest"), body)
    task = asyncio.create_task(consume(js, service="t", stream="JOBS", durable="w",
                                       filter_subject="job.>", handler=handler))

    async def drained():
        return (await js.stream_info("JOBS")).state.messages == 0

    try:
        await _deadline(drained)
        assert (b"retry", 2) in seen and [d for d, _ in seen].count(b"bad") == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()


async def test_consume_ordered_by_keeps_each_keys_order_and_runs_keys_in_parallel(nats_url):
    import nats
    from contracts import streams, subjects
    from svckit.jetstream import consume, ensure_stream

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.JOBS)
    order: dict[str, list[int]] = {}
    running, peak = 0, 0

    async def handler(msg):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)  # a broker round trip
        order.setdefault(msg.subject, []).append(int(msg.data))
        running -= 1

    for i in range(10):
        for kind in ("a", "b", "c"):
            await js.publish(subjects.job(kind), str(i).encode())
    task = asyncio.create_task(consume(js, service="t", stream="JOBS", durable="w",
                                       filter_subject="job.>", handler=handler, batch=30,
                                       ordered_by=lambda m: m.subject))

    async def drained():
        return (await js.stream_info("JOBS")).state.messages == 0

    try:
        await _deadline(drained)
        assert order == {f"job.{k}": list(range(10)) for k in ("a", "b", "c")}
        assert peak == 3  # the three keys ran side by side, never two of one key
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()


async def test_consume_reports_its_backlog_as_svc_consumer_pending(nats_url):
    import nats
    from contracts import streams, subjects
    from prometheus_client import REGISTRY
    from svckit.jetstream import consume, ensure_stream

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, streams.JOBS)
    release = asyncio.Event()

    async def handler(msg):
        await release.wait()

    for i in range(7):
        await js.publish(subjects.job("backtest"), str(i).encode())
    task = asyncio.create_task(consume(js, service="lagtest", stream="JOBS", durable="lagw",
                                       filter_subject="job.>", handler=handler))

    async def pending_is_seven():
        return REGISTRY.get_sample_value("svc_consumer_pending",
                                         {"service": "lagtest", "consumer": "lagw"}) == 7

    try:
        await _deadline(pending_is_seven)  # read before the first fetch
    finally:
        release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()


@pytest.mark.parametrize("light", [False, True])
async def test_a_light_reset_skips_the_reset_round_trip_but_still_rolls_back(pg_dsn, light):
    from svckit.db import create_pool
    from svckit.settings import ServiceSettings

    settings = ServiceSettings(service_name="resets", database_url=pg_dsn, db_pool_min=1,
                               db_pool_max=1, db_light_reset=light)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as c:
            await c.execute("SET statement_timeout = '12s'")
            await c.execute("BEGIN")  # left open: an unmanaged transaction
        async with pool.acquire() as c:
            # the one connection again: session state kept only with the light reset ...
            assert await c.fetchval("SHOW statement_timeout") == ("12s" if light else "0")
            # ... and never a transaction left open
            assert not c.is_in_transaction()
    finally:
        await pool.close()


async def test_fetch_reads_every_kind_of_nothing_yet_as_no_messages(nats_url):
    """A pull loop must not crash when nats-py says "none in time" with asyncio's
    TimeoutError instead of its own (backtest's loop did, at every busy start)."""
    import nats
    from svckit.jetstream import fetch

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        await ensure_stream(js, streams.JOBS)
        sub = await js.pull_subscribe("job.>", durable="fetcher", stream="JOBS")
        assert await fetch(sub, 50, timeout=0.2) == []
        for body in (b"a", b"b"):
            await js.publish(subjects.job("backtest"), body)
        assert [m.data for m in await fetch(sub, 50, timeout=1.0)] == [b"a", b"b"]
    finally:
        await nc.close()

    class ProbeUsedTheDeadline:  # nats-py's _fetch_n after a slow no-wait probe
        async def fetch(self, batch, timeout):
            raise asyncio.TimeoutError

    assert await fetch(ProbeUsedTheDeadline(), 50) == []

    async def stopping():
        asyncio.current_task().cancel()
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:  # nats-py can swallow it and time out instead
            pass
        return await fetch(ProbeUsedTheDeadline(), 50)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(stopping())
