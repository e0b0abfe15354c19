"""Unit tests of settings, clock and the ops server (no external servers)."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict
from svckit.clock import FixedClock, SimClock
from svckit.ops import OpsServer
from svckit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    service_name: str = "demo"
    api_secret: SecretStr


def test_required_values_have_no_default(monkeypatch):
    monkeypatch.delenv("DEMO_API_SECRET", raising=False)
    with pytest.raises(ValidationError):
        DemoSettings()


def test_values_come_from_prefixed_env_and_files(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    monkeypatch.setenv("DEMO_API_SECRET_FILE", str(secret))
    monkeypatch.setenv("DEMO_NATS_URL", "nats://example:4222")
    s = DemoSettings()
    assert s.api_secret.get_secret_value() == "s3cr3t-value"
    assert s.nats_url == "nats://example:4222"
    assert "s3cr3t" not in repr(s)


def test_placeholder_secrets_are_refused_outside_dev(monkeypatch):
    monkeypatch.setenv("DEMO_API_SECRET", "changeme")
    assert DemoSettings(environment="dev")
    with pytest.raises(ValidationError, match="placeholder"):
        DemoSettings(environment="prod")


def test_fixed_clock_moves_only_when_told():
    t0 = datetime(2025, 7, 23, 3, 45, tzinfo=UTC)
    clock = FixedClock(t0)
    assert clock.now() == t0
    clock.advance(timedelta(minutes=5))
    assert clock.now() == t0 + timedelta(minutes=5)


async def _serve_json(payload):
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        import json

        body = json.dumps(payload()).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_sim_clock_follows_the_simulator_mapping():
    wall = datetime.now(UTC)
    state = {"anchorSim": "2025-07-23T04:00:00Z", "anchorWall": wall.isoformat(), "speed": 60.0,
             "paused": False, "epoch": 1}
    server, port = await _serve_json(lambda: state)
    clock = SimClock(f"http://127.0.0.1:{port}/sim/clock", refresh_s=0.05)
    try:
        await clock.start()
        now = clock.now()
        elapsed = (datetime.now(UTC) - wall).total_seconds()
        expected = datetime(2025, 7, 23, 4, 0, tzinfo=UTC) + timedelta(seconds=elapsed * 60)
        assert abs((now - expected).total_seconds()) < 5
        state.update(paused=True, anchorSim="2025-07-23T09:00:00Z", epoch=2)
        deadline = asyncio.get_running_loop().time() + 5
        while clock.epoch != 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        assert clock.now() == datetime(2025, 7, 23, 9, 0, tzinfo=UTC)
    finally:
        await clock.stop()
        server.close()


async def test_ops_server_reports_health_readiness_and_metrics():
    healthy = {"db": True}

    async def db_ok():
        return healthy["db"]

    async def boom():
        raise ConnectionError("down")

    ops = OpsServer("127.0.0.1", 0, {"db": db_ok})
    await ops.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops.port}") as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"db": True}
            healthy["db"] = False
            assert (await http.get("/readyz")).status_code == 503
            metrics = await http.get("/metrics")
            assert metrics.status_code == 200 and b"svc_requests_total" in metrics.content
            assert (await http.get("/nope")).status_code == 404
        ops._checks["broken"] = boom
        ok, results = await ops.readiness()
        assert not ok and results["broken"] is False
    finally:
        await ops.stop()


class _Svc(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TESTSVC_", extra="ignore")
    service_name: str = "testsvc"


async def test_stream_replicas_setting_reaches_the_declared_stream(nats_url, monkeypatch):
    from contracts import streams
    from nats.js.errors import APIError
    from svckit.runner import Runtime

    # unset: the spec's own replicas (1), which a single server accepts
    async with Runtime(_Svc(nats_url=nats_url, environment="test"), sim_clock=False) as rt:
        await rt.ensure_stream(streams.JOBS)
        assert (await rt.js.stream_info("JOBS")).config.num_replicas == 1
    # set (as the prod manifests do): asked of the server, which refuses 3 without a cluster
    monkeypatch.setenv("TESTSVC_STREAM_REPLICAS", "3")
    settings = _Svc(nats_url=nats_url, environment="test")
    assert settings.stream_replicas == 3
    async with Runtime(settings, sim_clock=False) as rt:
        with pytest.raises(APIError, match="(?i)replica"):
            await rt.ensure_stream(streams.ORDERS)


async def test_shutdown_ends_a_task_that_lost_its_first_cancellation(nats_url):
    """On Python 3.11 asyncio.wait_for (inside nats-py's request) can drop a cancellation;
    a service loop then runs on. Shutdown cancels again instead of waiting for ever, and
    gives up on a task that ignores every cancellation after its grace, saying so."""
    from svckit.runner import Runtime

    rounds = []
    running = asyncio.Event()

    async def loop_that_lost_a_cancel() -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # what the wait_for race amounts to
        while True:  # a service loop going round; its next await is where a cancel lands
            rounds.append(1)
            await asyncio.Event().wait()

    release = asyncio.Event()

    async def deaf() -> None:
        running.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    loop = asyncio.get_running_loop()
    rt = Runtime(_Svc(nats_url=nats_url, environment="test"), sim_clock=False)
    rt.shutdown_grace_s = 1.5
    async with rt:
        lost = rt.spawn(loop_that_lost_a_cancel())
        await running.wait()
        started = loop.time()
    assert lost.cancelled() and rounds  # it ran on after the first cancel, then ended
    assert loop.time() - started < 1.4

    running.clear()
    rt = Runtime(_Svc(nats_url=nats_url, environment="test"), sim_clock=False)
    rt.shutdown_grace_s = 0.5
    async with rt:
        stuck = rt.spawn(deaf())
        await running.wait()
        started = loop.time()
    assert not stuck.done() and loop.time() - started < 2
    release.set()  # leave no task behind
    await stuck
