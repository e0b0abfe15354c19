"""SIGKILL between sending an order and recording the answer, restart: still one order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from brokerage.crypto import KeyRing
from brokerage.testing import call, order_intent, publish_intent, until
from contracts import brokerage as b
from contracts import orders as o
from svckit.errors import Unavailable

pytestmark = pytest.mark.integration


def service_env(sim, nats_url: str, dsn: str, redis_url: str, prefix: str, keys: str) -> dict:
    """Environment for `python -m brokerage` against the test's servers."""
    return {**os.environ, "BROKERAGE_ENVIRONMENT": "test", "BROKERAGE_NATS_URL": nats_url,
            "BROKERAGE_DATABASE_URL": dsn, "BROKERAGE_REDIS_URL": redis_url,
            "BROKERAGE_REDIS_PREFIX": prefix, "BROKERAGE_CREDENTIAL_KEYS": keys,
            "BROKERAGE_DHAN_API_BASE": sim.api_base, "BROKERAGE_DHAN_AUTH_BASE": sim.auth_url,
            "BROKERAGE_DHAN_ORDER_WS_URL": sim.order_url,
            "BROKERAGE_CLOCK_URL": sim.rest_url + "/sim/clock", "BROKERAGE_SETTLE_S": "1.5",
            "BROKERAGE_RECONCILE_INTERVAL_S": "0.3", "BROKERAGE_BACKOFF_BASE_S": "0.05",
            "BROKERAGE_LOG_JSON": "true"}


def spawn(env: dict, log: Path) -> subprocess.Popen:
    """Start `python -m brokerage` with its output in a log file."""
    return subprocess.Popen([sys.executable, "-m", "brokerage"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def start(env: dict, log: Path, nc) -> subprocess.Popen:
    """Start the service and wait until it answers requests."""
    proc = await asyncio.to_thread(spawn, env, log)

    async def answering():
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            await call(nc, b.LIST_ACCOUNTS, {}, "u1", timeout=1)
            return True
        except Unavailable:
            return False

    await until(answering, timeout=30)
    return proc


async def test_killed_between_send_and_record_then_restarted(sim, nc, nats_url, pg_service_dsn,
                                                             redis_url, redis_prefix, tmp_path):
    dsn = pg_service_dsn("brokerage")
    env = service_env(sim, nats_url, dsn, redis_url, redis_prefix, KeyRing.generate("k1"))
    log = tmp_path / "brokerage.log"
    proc = await start(env, log, nc)
    try:
        client_id, token = sim.create_client(funds=1_000_000)
        account = await call(nc, b.LINK_ACCOUNT, {"broker": "dhan", "dhanClientId": client_id,
                                                  "accessToken": token}, "u1")
        async with httpx.AsyncClient(base_url=sim.rest_url) as admin:
            (await admin.post("/sim/faults", json={"latencyMs": 1200})).raise_for_status()
            intent = order_intent(account["id"], "u1", sim.sim.clock.now())
            await publish_intent(nc.jetstream(), intent)
            db = await asyncpg.connect(dsn, server_settings={"search_path": "brokerage"})
            try:
                await until(lambda: db.fetchval("SELECT status = 'sending' FROM orders"
                                                " WHERE intent_id = $1", intent.intent_id))
                proc.send_signal(signal.SIGKILL)  # the POST is in flight, nothing recorded
                proc.wait(timeout=10)
                assert await db.fetchval("SELECT broker_order_id FROM orders"
                                         " WHERE intent_id = $1", intent.intent_id) is None
            finally:
                await db.close()
            (await admin.delete("/sim/faults")).raise_for_status()
        proc = await start(env, log, nc)

        async def settled():
            page = await call(nc, o.LIST_ORDERS, {}, "u1")
            row = next((x for x in page["items"] if x["intentId"] == intent.intent_id), None)
            return row if row and row["status"] in ("accepted", "filled") else None

        row = await until(settled, timeout=30)
        placed = [x for x in sim.sim.exchange.accounts[client_id].orders.values()
                  if x.correlation_id == intent.intent_id]
        assert len(placed) == 1
        assert row["brokerOrderId"] == placed[0].order_id
    finally:
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait)
