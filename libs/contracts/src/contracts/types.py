"""Shared id, time and money types.

Money and prices are exact where they are money: `Decimal` in request/reply models (JSON
strings, so no binary float ever touches a rupee amount) and integer paise in events.
Floats are for analytics only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
"""An opaque id: safe as a URL segment and as one NATS subject token."""


def new_id() -> str:
    """Return a new random id (UUID4 text)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """Return the wall clock in UTC; business logic asks svckit's clock instead."""
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC."""

Money = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=2),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""Rupees with paise precision, serialised as a decimal string."""

Price = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4, ge=0),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""An exchange price (four decimals cover every Indian tick size)."""

Paise = int
"""Integer paise, the exact money unit inside events."""


def rupees_to_paise(amount: Decimal) -> Paise:
    """Convert rupees to integer paise, refusing sub-paise amounts."""
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} has more precision than one paisa")
    return int(paise)


def paise_to_rupees(paise: Paise) -> Decimal:
    """Convert integer paise to rupees."""
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))
