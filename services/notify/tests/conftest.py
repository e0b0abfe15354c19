"""Fixtures: real NATS and Postgres (svckit), a captured SMTP server, the notify app in-process."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
from aiosmtpd.controller import Controller
from contracts import headers as h
from contracts import streams, subjects
from contracts.events import new_event_fields
from contracts.events.auth import EVENT_NAMES, MAIL_EVENTS
from notify.app import build_app
from notify.settings import NotifySettings
from svckit.errors import RemoteError
from svckit.jetstream import ensure_stream
from svckit.nats import request


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Capture:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server, _session, envelope):
        """Keep the message."""
        from email import policy
        from email.parser import BytesParser
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


class SmtpServer:
    """A real SMTP server on loopback that can be stopped and started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.capture = Capture()
        self._ctl: Controller | None = None

    def start(self) -> None:
        """Listen."""
        self._ctl = Controller(self.capture, hostname="127.0.0.1", port=self.port)
        self._ctl.start()

    def stop(self) -> None:
        """Stop listening (connections are refused: an outage)."""
        if self._ctl is not None:
            self._ctl.stop()
            self._ctl = None


@pytest.fixture
def smtp():
    """A running capturing SMTP server."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def make_settings(nats_url: str, dsn: str, smtp_port: int, **overrides: Any) -> NotifySettings:
    """Return settings of one isolated notify instance with fast retries."""
    values: dict[str, Any] = {
        "environment": "test", "nats_url": nats_url, "database_url": dsn, "db_schema": "notify",
        "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_timeout_s": 2.0,
        "retry_base_s": 0.1, "retry_max_s": 0.3, "delivery_poll_s": 0.1, "max_attempts": 1000,
        "log_json": True, "profile_timeout_s": 0.5,
    }
    values.update(overrides)
    return NotifySettings(**values)


@pytest.fixture
def settings(nats_url, pg_service_dsn, smtp):
    """Settings of one isolated notify instance pointed at the test SMTP server."""
    return make_settings(nats_url, pg_service_dsn("notify"), smtp.port)


@pytest.fixture
async def app(settings):
    """A running notify service."""
    async with build_app(settings) as rt:
        yield rt


@pytest.fixture
async def nc(nats_url):
    """A plain NATS client (the gateway's and the publishers' seat)."""
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


class Bus:
    """Publish user events to EVENTS like the other services do, and call notify's subjects."""

    def __init__(self, nc) -> None:
        self.nc = nc
        self.js = nc.jetstream()

    async def publish(self, user_id: str, domain: str, name: str, event: msgspec.Struct | dict,
                      msg_id: str | None = None) -> None:
        """Publish one event on `evt.<user>.<domain>.<name>`."""
        data = event if isinstance(event, dict) else msgspec.to_builtins(event)
        raw = msgspec.json.encode(data)
        hdrs = {h.MSG_ID: msg_id} if msg_id else None
        # events carrying a secret travel on mail.<user>..., as auth publishes them
        mail = domain == "auth" and name in {EVENT_NAMES[c] for c in MAIL_EVENTS}
        subject = (subjects.mail_request if mail else subjects.user_event)(user_id, domain, name)
        await self.js.publish(subject, raw, headers=hdrs)

    async def call(self, user_id: str | None, subject: str, body: dict | None = None,
                   role: str | None = None) -> Any:
        """Call a notify subject as a user (or an admin)."""
        hdrs = {h.USER_ID: user_id} if user_id else {}
        if role:
            hdrs[h.USER_ROLE] = role
        return await request(self.nc, subject, body or {}, headers=hdrs, timeout=10)

    async def error(self, user_id: str | None, subject: str, body: dict | None = None,
                    role: str | None = None) -> Any:
        """Call a subject that must fail; return the ApiError."""
        with pytest.raises(RemoteError) as info:
            await self.call(user_id, subject, body, role)
        return info.value.api_error


@pytest.fixture
async def bus(nc):
    """The test's publisher and client."""
    await ensure_stream(nc.jetstream(), streams.EVENTS)
    await ensure_stream(nc.jetstream(), streams.MAIL)
    return Bus(nc)


def uid() -> str:
    """Return a fresh user id."""
    return str(uuid.uuid4())


def base(**fields: Any) -> dict[str, Any]:
    """Return event identity fields (camelCase) plus `fields`."""
    ev = new_event_fields(now=datetime.now(UTC))
    return {"eventId": ev["event_id"], "tsEvent": ev["ts_event"].isoformat(),
            "tsInit": ev["ts_init"].isoformat(), "version": 1, **fields}
