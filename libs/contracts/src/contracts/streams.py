"""JetStream stream definitions (ARCHITECTURE.md §3).

The service that publishes to a stream declares it with these specs; consumers only
attach. Limits are deliberately conservative for one node; production overlays raise
`replicas` to 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from . import subjects

SECOND = 1.0
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


class Retention(StrEnum):
    """JetStream retention policies used here."""

    LIMITS = "limits"
    WORK_QUEUE = "workqueue"


@dataclass(frozen=True)
class StreamSpec:
    """One stream: name, subjects, retention and limits."""

    name: str
    subjects: tuple[str, ...]
    retention: Retention
    max_age_s: float
    owner: str
    description: str
    max_bytes: int = -1
    max_msgs_per_subject: int = -1
    duplicate_window_s: float = 2 * MINUTE
    replicas: int = 1
    discard_new: bool = False
    extra: dict[str, object] = field(default_factory=dict)


MD_TICKS = StreamSpec(
    name="MD_TICKS",
    subjects=(subjects.ticks_all(),),
    retention=Retention.LIMITS,
    max_age_s=15 * MINUTE,
    max_bytes=2 * 1024**3,
    owner="marketdata",
    description="Live ticks per instrument; short-lived, for replay after a brief gap",
    duplicate_window_s=30 * SECOND,
)
MD_BARS = StreamSpec(
    name="MD_BARS",
    subjects=(subjects.bars_all(), "md.barfix.>"),
    retention=Retention.LIMITS,
    max_age_s=7 * DAY,
    owner="marketdata",
    description="Closed bars (published once at close) and explicit corrections",
)
MD_STATUS = StreamSpec(
    name="MD_STATUS",
    subjects=("md.feed.>",),
    retention=Retention.LIMITS,
    max_age_s=7 * DAY,
    owner="marketdata",
    description="Feed health: reconnects, stale instruments, fallbacks",
)
ORDERS = StreamSpec(
    name="ORDERS",
    subjects=(subjects.order_intents_all(),),
    retention=Retention.WORK_QUEUE,
    max_age_s=1 * DAY,
    owner="execution",
    description="Order intents, one work item each; Nats-Msg-Id is the intent id",
    duplicate_window_s=1 * DAY,
)
EVENTS = StreamSpec(
    name="EVENTS",
    subjects=(subjects.user_events_all(),),
    retention=Retention.LIMITS,
    max_age_s=30 * DAY,
    owner="platform",
    description="User events: orders, signals, deployments, backtests, notifications, auth",
    duplicate_window_s=10 * MINUTE,
)
MAIL = StreamSpec(
    name="MAIL",
    subjects=(subjects.mail_requests_all(),),
    retention=Retention.WORK_QUEUE,
    max_age_s=1 * DAY,
    owner="auth",
    description="Mail requests that carry secrets (verification and reset links); notify "
                "takes each once, and it is gone once delivered",
    duplicate_window_s=10 * MINUTE,
)
JOBS = StreamSpec(
    name="JOBS",
    subjects=("job.>",),
    retention=Retention.WORK_QUEUE,
    max_age_s=1 * DAY,
    owner="backtest",
    description="Background jobs (backtests); progress by in-progress acks",
)
AUDIT = StreamSpec(
    name="AUDIT",
    subjects=(subjects.audit_all(),),
    retention=Retention.LIMITS,
    max_age_s=90 * DAY,
    owner="platform",
    description="Every state-changing request: who, what, when, from where, outcome",
    duplicate_window_s=10 * MINUTE,
)

ALL_STREAMS: tuple[StreamSpec, ...] = (MD_TICKS, MD_BARS, MD_STATUS, ORDERS, EVENTS, MAIL, JOBS, AUDIT)


def stream_for(subject: str) -> StreamSpec:
    """Return the stream whose subjects cover a concrete subject."""
    for spec in ALL_STREAMS:
        if any(_matches(pattern, subject) for pattern in spec.subjects):
            return spec
    raise LookupError(f"no stream covers {subject!r}")


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, part in enumerate(p):
        if part == ">":
            return len(s) > i
        if i >= len(s) or (part != "*" and part != s[i]):
            return False
    return len(p) == len(s)
