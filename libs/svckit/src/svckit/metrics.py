"""Prometheus metrics shared by every service (names follow Prometheus conventions)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "svc_requests_total", "Requests handled over NATS", ["service", "subject", "outcome"]
)
REQUEST_LATENCY = Histogram(
    "svc_request_duration_seconds",
    "Time to handle a NATS request",
    ["service", "subject"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MESSAGES = Counter(
    "svc_messages_total", "Stream messages consumed", ["service", "stream", "consumer", "outcome"]
)
MESSAGE_LATENCY = Histogram(
    "svc_message_duration_seconds", "Time to handle a stream message", ["service", "consumer"]
)
CONSUMER_PENDING = Gauge(
    "svc_consumer_pending", "Messages waiting for a durable consumer", ["service", "consumer"]
)
OUTBOX_PENDING = Gauge("svc_outbox_pending", "Outbox rows not yet published", ["service"])
