"""build_app(settings): the FastAPI app and the connections behind it; nothing at import time."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack

import uvicorn
from contracts import auth as A
from contracts import streams
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from svckit.logging import get_logger
from svckit.nats import request
from svckit.runner import Runtime

from . import docs, errors, openapi, spa
from .audit import AuditPublisher
from .forward import make_endpoint
from .identity import Authenticator
from .market import MarketFanout
from .middleware import EdgeMiddleware
from .ratelimit import RateLimiter
from .routes import ROUTES, Route
from .settings import GatewaySettings
from .state import Gateway
from .tokens import TokenVerifier
from .ws import websocket_endpoint

log = get_logger(__name__)
VERSION = "0.1.0"


def create_http_app(settings: GatewaySettings, routes: tuple[Route, ...] = ROUTES) -> FastAPI:
    """Build the FastAPI app from the route table (no connections; `app.state.gw` comes later)."""
    # FastAPI's native OpenTelemetry stays off: forward.py opens the request's span (with the
    # caller's traceparent) and carries it over NATS; a second server span per request
    # would double the tracing cost and the span count.
    app = FastAPI(title="AlgoTrade API", version=VERSION, docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json",
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    docs.install(app, "/api/openapi.json", "AlgoTrade API")
    docs.install_asyncapi(app)
    for route in routes:
        app.add_api_route(
            route.path, make_endpoint(route), methods=[route.method],
            response_model=route.response, status_code=route.status, summary=route.summary,
            tags=[route.tag], operation_id=route.name, responses=openapi.error_responses(route),
        )
    app.add_api_websocket_route("/ws", websocket_endpoint)
    errors.install(app)
    openapi.install(app, routes, VERSION)
    if spa.install(app, settings.web_dist):
        log.info("spa.serving", dist=str(settings.web_dist))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(EdgeMiddleware, settings=settings)
    return app


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: svckit's run loop owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class GatewayApp:
    """The gateway: FastAPI app + Runtime; `async with` wires it and serves HTTP."""

    def __init__(self, settings: GatewaySettings, *, serve_http: bool = True) -> None:
        self.settings = settings
        self.app = create_http_app(settings)
        self.serve_http = serve_http
        self.runtime: Runtime | None = None
        self.gateway: Gateway | None = None
        self.port: int | None = None
        self._server: _Server | None = None
        self._server_task: asyncio.Task | None = None
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Runtime:
        s = self.settings
        try:
            rt = await self._stack.enter_async_context(
                Runtime(s, version=VERSION, description="HTTP/WebSocket edge", redis=True))
            self.runtime = rt
            for spec in (streams.AUDIT, streams.EVENTS):
                await rt.ensure_stream(spec)
            verifier = TokenVerifier(self._fetch_jwks, s.jwks_min_refetch_s)
            await verifier.refresh(force=True)
            assert rt.redis is not None
            audit = AuditPublisher(rt.js)
            self._stack.push_async_callback(audit.drain)
            self.gateway = Gateway(
                settings=s, nc=rt.nc, redis=rt.redis, audit=audit,
                auth=Authenticator(verifier, rt.redis, rt.nc, s.revocation_key_prefix(),
                                   s.nats_timeout_s),
                limiter=RateLimiter(rt.redis, s.redis_prefix),
                market=MarketFanout(rt.nc, owner=f"gateway-{s.instance_id}",
                                    max_per_client=s.ws_max_instruments),
            )
            rt.spawn(self.gateway.market.run_renewer())
            self.app.state.gw = self.gateway
            rt.checks["jwks"] = self._jwks_ok
            if self.serve_http:
                await self._start_http()
        except BaseException:
            await self._stack.aclose()
            raise
        return rt

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_http()
        await self._stack.aclose()

    async def _fetch_jwks(self) -> A.JwkSet:
        assert self.runtime is not None
        return await request(self.runtime.nc, A.JWKS, None, reply_model=A.JwkSet,
                             timeout=self.settings.nats_timeout_s)

    async def _jwks_ok(self) -> bool:
        assert self.gateway is not None
        verifier = self.gateway.auth.verifier
        return bool(verifier.key_ids) or await verifier.refresh()

    async def _start_http(self) -> None:
        s = self.settings
        config = uvicorn.Config(
            self.app, host=s.http_host, port=s.http_port, lifespan="off", log_config=None,
            access_log=False, proxy_headers=False, server_header=False,
            timeout_graceful_shutdown=int(s.http_drain_s), ws_ping_interval=20,
        )
        self._server = _Server(config)
        self._server_task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._server_task.done():
                self._server_task.result()
                raise RuntimeError(f"HTTP server failed to start on {s.http_host}:{s.http_port}")
            await asyncio.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        log.info("http.listening", url=f"http://{s.http_host}:{self.port}")

    async def _stop_http(self) -> None:
        if self._server is None or self._server_task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._server_task), self.settings.http_drain_s + 2)
        except TimeoutError:
            self._server.force_exit = True
            await self._server_task


def build_app(settings: GatewaySettings) -> GatewayApp:
    """Return the gateway, ready to be entered with `async with` (svckit's run loop does)."""
    return GatewayApp(settings)
