"""`nats.micro` service registration with the §6 error mapping.

Each endpoint decodes its pydantic request model, runs the handler in its own task (so a
slow request never holds up the next one on the same subscription), and replies with the
result or with the error body plus `Nats-Service-Error`/`-Code` headers. One canonical log
line and one metrics sample per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog
from contracts.errors import ApiError, ErrorCode, FieldError
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service
from pydantic import BaseModel, ValidationError

from . import metrics, tracing
from .context import RequestContext
from .errors import ServiceError, ValidationFailed
from .logging import get_logger
from .nats import encode_body

log = get_logger(__name__)
ReqT = TypeVar("ReqT", bound=BaseModel)
Handler = Callable[[Any, RequestContext], Awaitable[BaseModel | Mapping[str, Any] | None]]


def validation_details(err: ValidationError) -> list[FieldError]:
    """Turn pydantic errors into per-field messages (field paths in camelCase)."""
    out = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        msg = e.get("msg", "Invalid value")
        out.append(FieldError(field=loc, message=msg.removeprefix("Value error, ")))
    return out


class MicroService:
    """A named NATS micro service whose endpoints share error mapping and concurrency."""

    def __init__(self, nc: Client, name: str, version: str = "0.1.0", description: str = "",
                 concurrency: int = 256) -> None:
        self._nc = nc
        self.name = name
        self._version = version
        self._description = description
        self._endpoints: list[tuple[str, type[BaseModel], Handler]] = []
        self._sem = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task] = set()
        self._service: Service | None = None

    def endpoint(self, subject: str, request_model: type[ReqT], handler: Handler) -> None:
        """Register a handler for a subject (before `start`)."""
        self._endpoints.append((subject, request_model, handler))

    async def start(self) -> None:
        """Start answering on every registered subject (queue group = service name)."""
        self._service = await add_service(
            self._nc, name=self.name, version=self._version, description=self._description,
            queue_group=self.name,
        )
        for subject, model, handler in self._endpoints:
            await self._service.add_endpoint(
                name=subject.replace(".", "_"), subject=subject,
                handler=self._dispatcher(subject, model, handler),
            )
        # the server knows the subscriptions once start returns: a request sent right after
        # (another connection, a test, a neighbour told "ready") would otherwise find no
        # responder while the SUBs still sit in this client's write buffer
        await self._nc.flush()

    async def stop(self) -> None:
        """Stop taking requests and finish the ones in flight."""
        if self._service is not None:
            await self._service.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    def _dispatcher(self, subject: str, model: type[BaseModel], handler: Handler):
        async def dispatch(req: Request) -> None:
            await self._sem.acquire()
            task = asyncio.create_task(self._handle(subject, model, handler, req))
            self._tasks.add(task)
            task.add_done_callback(self._done)

        return dispatch

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._sem.release()

    async def _handle(self, subject: str, model: type[BaseModel], handler: Handler,
                      req: Request) -> None:
        started = time.perf_counter()
        ctx = RequestContext.from_headers(req.headers)
        outcome = "ok"
        structlog.contextvars.bind_contextvars(
            subject=subject, request_id=ctx.request_id, user_id=ctx.user_id
        )
        try:
            with tracing.span_from_headers(subject, req.headers):
                try:
                    body = model.model_validate_json(req.data or b"{}")
                except ValidationError as exc:
                    raise ValidationFailed(details=validation_details(exc)) from exc
                result = await handler(body, ctx)
            await req.respond(encode_body(result))
        except ServiceError as exc:
            outcome = exc.code.value.lower()
            await self._respond_error(req, exc.api_error)
        except Exception:
            outcome = "internal_error"
            log.exception("request.failed")
            await self._respond_error(req, ApiError.of(ErrorCode.INTERNAL_ERROR))
        finally:
            elapsed = time.perf_counter() - started
            metrics.REQUESTS.labels(self.name, subject, outcome).inc()
            metrics.REQUEST_LATENCY.labels(self.name, subject).observe(elapsed)
            log.info("request", outcome=outcome, duration_ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("subject", "request_id", "user_id")

    @staticmethod
    async def _respond_error(req: Request, err: ApiError) -> None:
        await req.respond_error(str(err.code), err.message, data=err.model_dump_json().encode())
