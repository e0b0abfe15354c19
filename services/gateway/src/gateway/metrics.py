"""Prometheus series of the HTTP/WebSocket edge (served on the ops port's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "gateway_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "gateway_http_request_duration_seconds", "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WS_CLIENTS = Gauge("gateway_ws_clients", "Authenticated WebSocket clients")
WS_EVENTS = Counter("gateway_ws_events_total", "User events pushed to WebSocket clients")
WS_SLOW_CLOSES = Counter("gateway_ws_slow_closes_total", "Clients closed for falling behind")
