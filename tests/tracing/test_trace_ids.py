"""One HTTP request's spans in the gateway and in auth share one trace id (OTLP export)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from svckit.devrun.manifest import Manifest, Process
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform
from svckit.infra.nats import start_nats
from svckit.infra.pgadmin import drop_database, drop_role, run_sync
from svckit.infra.probe import free_port

from .otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]
# export spans within ~100 ms instead of the SDK's 5 s batch delay
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def traced(pg_admin_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, OtlpReceiver]]:
    """Run auth and gateway exporting traces to a local OTLP receiver."""
    tag = secrets.token_hex(4)
    run_dir = tmp_path_factory.mktemp(f"trace-{tag}")
    http_port = free_port()
    prefix = f"trace:{tag}:"
    with OtlpReceiver() as receiver:
        auth = Process(
            name="auth", module="auth", env_prefix="AUTH_", schema="auth", ops_port=free_port(),
            env={"AUTH_JWT_PRIVATE_KEY_FILE": "{secret_file:jwt_signing_key}",
                 "AUTH_DEV_SECRETS_DIR": str(run_dir / "auth"),
                 "AUTH_OTLP_ENDPOINT": receiver.endpoint, **FAST_EXPORT})
        gateway = Process(
            name="gateway", module="gateway", env_prefix="GATEWAY_", ports=(http_port,),
            ops_port=free_port(),
            env={"GATEWAY_HTTP_PORT": str(http_port), "GATEWAY_REVOCATION_PREFIX": f"{prefix}auth:",
                 "GATEWAY_WEB_DIST": str(run_dir / "no-web-dist"),
                 "GATEWAY_OTLP_ENDPOINT": receiver.endpoint, **FAST_EXPORT})
        manifest = Manifest(processes=(auth, gateway), database=f"trace_{tag}",
                            url=f"http://127.0.0.1:{http_port}", clock_url=None)
        with start_nats(run_dir / "nats") as nats_server, \
                (run_dir / "platform.log").open("w") as log:
            platform = Platform(manifest, nats_url=nats_server.url, admin_dsn=pg_admin_dsn,
                                redis_url=redis_url, run_dir=run_dir, root=ROOT,
                                role_prefix=f"tr{tag}_", redis_prefix=prefix,
                                console=Console(log, color=False), ready_timeout=60, grace=3)
            try:
                with platform:
                    yield manifest.url, receiver
            finally:
                run_sync(drop_database(pg_admin_dsn, manifest.database))
                run_sync(drop_role(pg_admin_dsn, f"tr{tag}_auth"))


def test_request_spans_share_one_trace_id_across_gateway_and_auth(
        traced: tuple[str, OtlpReceiver]) -> None:
    url, receiver = traced
    trace_id = secrets.token_hex(16)
    parent = secrets.token_hex(8)
    r = httpx.post(f"{url}/api/auth/login", timeout=10,
                   json={"email": "nobody@example.com", "password": "Wrong-password-1"},
                   headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    assert r.status_code == 401, r.text

    def auth_under_gateway() -> bool:
        # auth's span hangs under a gateway span: the context went HTTP -> NATS -> auth.
        # Each process exports in its own batches, so wait until both halves arrived.
        spans = receiver.of_trace(trace_id)
        gateway_ids = {s.span_id for s in spans if s.service == "gateway"}
        return any(s.parent_id in gateway_ids for s in spans if s.service == "auth")

    deadline = time.monotonic() + 30  # generous: CI machines run many suites at once
    while not auth_under_gateway():
        assert time.monotonic() < deadline, receiver.of_trace(trace_id)
        time.sleep(0.05)  # polling the receiver with a deadline
    assert {s.service for s in receiver.of_trace(trace_id)} >= {"gateway", "auth"}
    spans = receiver.of_trace(trace_id)
    assert any(s.parent_id == parent for s in spans if s.service == "gateway")
