"""Simulator settings from command-line flags and DHANSIM_* environment variables."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dhansim.clock import DEFAULT_START, parse_iso


def find_data_dir(start: Path | None = None) -> Path | None:
    """Return the repository's data/ohlc folder, searched upwards from the package."""
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "ohlc"
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class Settings:
    """Everything the simulator needs to start."""

    host: str = "127.0.0.1"
    rest_port: int = 8600
    feed_port: int = 8601
    order_port: int = 8602
    data_dir: Path | None = None
    seed: int = 0
    start: datetime = DEFAULT_START
    speed: float = 1.0
    rate_limits: bool = True
    step_interval: float = 0.05
    feed_interval: float = 0.1
    ping_interval: float = 10.0

    @classmethod
    def from_args(cls, argv: list[str] | None = None, env: dict | None = None) -> Settings:
        """Read flags, falling back to DHANSIM_* variables, then to the defaults."""
        env = os.environ if env is None else env
        p = argparse.ArgumentParser(prog="dhansim", description="Dhan v2 simulator")
        p.add_argument("--host", default=env.get("DHANSIM_HOST", "127.0.0.1"))
        p.add_argument("--rest-port", type=int, default=int(env.get("DHANSIM_REST_PORT", 8600)))
        p.add_argument("--feed-port", type=int, default=int(env.get("DHANSIM_FEED_PORT", 8601)))
        p.add_argument("--order-port", type=int,
                       default=int(env.get("DHANSIM_ORDER_PORT", 8602)))
        p.add_argument("--data-dir", default=env.get("DHANSIM_DATA_DIR"))
        p.add_argument("--seed", type=int, default=int(env.get("DHANSIM_SEED", 0)))
        p.add_argument("--start", default=env.get("DHANSIM_START"),
                       help="simulated start time, ISO-8601 (naive = IST)")
        p.add_argument("--speed", type=float, default=float(env.get("DHANSIM_SPEED", 1.0)))
        p.add_argument("--no-rate-limits", action="store_true",
                       default=env.get("DHANSIM_RATE_LIMITS", "1") in ("0", "false"))
        a = p.parse_args(argv)
        data_dir = Path(a.data_dir) if a.data_dir else find_data_dir()
        return cls(host=a.host, rest_port=a.rest_port, feed_port=a.feed_port,
                   order_port=a.order_port, data_dir=data_dir, seed=a.seed,
                   start=parse_iso(a.start) if a.start else DEFAULT_START, speed=a.speed,
                   rate_limits=not a.no_rate_limits)
