"""`python -m dhansim` starts quickly on the configured ports and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_module_serves_the_clock_within_a_second_and_exits_on_sigterm():
    rest, feed, order = free_port(), free_port(), free_port()
    env = {**os.environ, "DHANSIM_REST_PORT": str(rest), "DHANSIM_FEED_PORT": str(feed),
           "DHANSIM_ORDER_PORT": str(order), "DHANSIM_SEED": "3"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "dhansim"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 10
        while True:
            try:
                clock = httpx.get(f"http://127.0.0.1:{rest}/sim/clock", timeout=1).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.02)
        # About 0.7 s on a quiet machine; the bound leaves room for a loaded CI runner.
        assert time.monotonic() - started < 5.0
        assert clock["nowIst"].startswith("2025-07-23T09:15")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
