"""The event base: every event carries eventId, tsEvent, tsInit and a schema version.

Readers ignore fields they do not know (msgspec's default), and every field added after
version 1 must have a default, so an older reader keeps working and a newer reader can
read an older event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec


class Event(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    """Base of every event: identity, business time, creation time, schema version."""

    event_id: str
    ts_event: datetime
    ts_init: datetime
    version: int = 1


E = TypeVar("E", bound=Event)

_encoder = msgspec.json.Encoder()


def encode(event: msgspec.Struct) -> bytes:
    """Serialise an event to JSON bytes."""
    return _encoder.encode(event)


def decode(data: bytes | str, type: type[E]) -> E:  # noqa: A002 - mirrors msgspec's API
    """Deserialise JSON bytes into an event type, ignoring unknown fields."""
    return msgspec.json.decode(data, type=type)


def new_event_fields(ts_event: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Return fresh eventId/tsEvent/tsInit values (pass the clock's `now`)."""
    init = now or datetime.now(UTC)
    return {"event_id": str(uuid.uuid4()), "ts_event": ts_event or init, "ts_init": init}
