"""Shared fixtures: an in-process simulator on loopback and an authenticated client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from dhansim.testing import run_simulator


async def until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an (async or sync) predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(interval)


@pytest.fixture
async def sim():
    """A simulator frozen at 2025-07-23 09:15 IST, without rate limits."""
    async with run_simulator(paused=True, rate_limits=False) as handle:
        yield handle


@pytest.fixture
async def client(sim):
    """An httpx client authenticated as a fresh simulated Dhan client (Rs 10 lakh)."""
    client_id, token = sim.create_client(funds=1_000_000)
    headers = {"access-token": token, "client-id": client_id, "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=sim.api_base, headers=headers, timeout=10) as http:
        http.client_id = client_id
        http.token = token
        yield http
