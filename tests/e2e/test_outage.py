"""A stopped auth service answers 503 quickly instead of hanging (issue 2 §7)."""

from __future__ import annotations

import time

import pytest

# Stops auth for good: the conftest orders it after every other end-to-end test.
pytestmark = [pytest.mark.e2e, pytest.mark.stops_services]


async def test_stopped_auth_gives_503_quickly(api, e2e):
    _, token, _ = await api.signup()
    e2e.stop("auth")
    started = time.monotonic()
    r = await api.http.get("/api/user/profile", headers=api.bearer(token))
    body = api.error(r, 503, "SERVICE_UNAVAILABLE")
    assert "svc.auth.profile.get" in body["message"]
    r = await api.http.post("/api/auth/login", json={"email": "a@example.com",
                                                     "password": "Whatever-123"})
    api.error(r, 503, "SERVICE_UNAVAILABLE")
    assert time.monotonic() - started < 2.0
