"""Notify contracts: routes are well formed, events round-trip, unknown fields are ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts import notify as N
from contracts import subjects
from contracts.events import decode, encode
from contracts.events.notify import DOMAIN, EVENT_NAMES, NotificationCreated


def test_routes_use_notify_subjects_and_unique_paths():
    seen = set()
    for route in N.HTTP_ROUTES:
        assert route.subject.startswith("svc.notify.")
        assert (route.method, route.path) not in seen
        seen.add((route.method, route.path))
    admin = [r for r in N.HTTP_ROUTES if r.path.startswith("/api/admin/")]
    assert admin and all(r.auth == "admin" for r in admin)


def test_fixed_paths_come_before_id_paths():
    paths = [r.path for r in N.HTTP_ROUTES if r.method == "PUT"]
    assert paths.index("/api/notifications/read-all") < paths.index("/api/notifications/{id}/read")


def test_event_round_trip_ignores_unknown_fields():
    now = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    ev = NotificationCreated(event_id="e1", ts_event=now, ts_init=now, notification_id="n1",
                             user_id="u1", type="ORDER_FILLED", title="t", message="m",
                             severity="success", count=2)
    raw = encode(ev).replace(b"{", b'{"futureField":1,', 1)
    back = decode(raw, NotificationCreated)
    assert back == ev
    assert subjects.user_event("u1", DOMAIN, EVENT_NAMES[NotificationCreated]) == \
        "evt.u1.notification.created"


def test_preferences_refuse_bad_quiet_hours():
    with pytest.raises(ValueError):
        N.QuietHours(enabled=True, start="25:00", end="07:00")
    assert N.UpdatePreferences.model_validate({"quietHours": {"enabled": True}}).quiet_hours
