"""W3C trace context carried in NATS headers, with OpenTelemetry spans per message.

`setup_tracing` installs a tracer provider (exporting over OTLP/HTTP when an endpoint is
configured); `inject`/`extract` move the `traceparent` between a span and NATS headers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def setup_tracing(
    service: str, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install a tracer provider for this process and return it.

    With nowhere to export to, none is installed: OpenTelemetry's default tracer then
    records nothing but still carries an incoming trace context through (its spans take
    the parent's ids), so a traced caller's context still reaches the next service, and
    an untraced request costs no span bookkeeping.
    """
    if exporter is None and not otlp_endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str = "svckit") -> trace.Tracer:
    """Return a tracer."""
    return trace.get_tracer(name)


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Write the current trace context into `headers` and return them."""
    _propagator.inject(headers)
    return headers


@contextmanager
def span_from_headers(
    name: str, headers: Mapping[str, str] | None, kind: trace.SpanKind = trace.SpanKind.SERVER
) -> Iterator[trace.Span]:
    """Run a span that continues the trace named in incoming headers."""
    ctx = _propagator.extract(dict(headers or {}))
    token = otel_context.attach(ctx)
    try:
        with tracer().start_as_current_span(name, kind=kind) as span:
            yield span
    finally:
        otel_context.detach(token)


def current_trace_id() -> str | None:
    """Return the current trace id as 32 hex digits, if a span is active."""
    span = trace.get_current_span()
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
