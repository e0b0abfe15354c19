"""Events on JetStream streams: msgspec structs, past tense, versioned."""

from .base import Event, decode, encode, new_event_fields

__all__ = ["Event", "decode", "encode", "new_event_fields"]
