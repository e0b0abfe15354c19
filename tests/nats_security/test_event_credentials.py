"""Event credentials end to end on a secured nats-server: create, read, refuse, revoke.

The real auth service runs as NATS user `auth`; the sidecar (`svckit.natsauth`) runs as
`admin`, re-renders the server's users when auth announces a change and makes the server
reload. The test plays the gateway (as `admin`, with the identity headers the gateway adds)
and then the third party, who connects with nothing but what the create reply told them.
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.parse
from pathlib import Path

import nats
import pytest
from auth.app import build_app
from contracts import auth as A
from contracts import headers as h
from contracts import natsperms as P
from contracts import streams, subjects
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from svckit.infra.nats import start_nats
from svckit.nats import request
from svckit.natsauth import AuthSync, signal_reload

from .conftest import eventually, violation

PASSWORD = "Correct-horse-1"


async def until(probe, timeout: float = 15.0):
    """Await `probe()` until it returns something truthy; return that (with a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        assert loop.time() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.05)


def auth_settings(nats_url: str, dsn: str, redis_url: str, prefix: str, tmp: Path, **more):
    """Settings for one auth instance (cheap argon2, its own key directory)."""
    from auth.settings import AuthSettings

    return AuthSettings(environment="test", nats_url=nats_url, database_url=dsn,
                        redis_url=redis_url, redis_prefix=prefix,
                        dev_secrets_dir=tmp / "secrets", argon2_time_cost=1,
                        argon2_memory_kib=8 * 1024, **more)


@pytest.fixture
def secured_server(tmp_path: Path):
    """A nats-server whose users live in an included file the sidecar rewrites."""
    passwords = {name: secrets.token_urlsafe(16) for name in P.SERVICES}
    admin = secrets.token_urlsafe(16)
    (tmp_path / "auth.conf").write_text(P.render_config(P.NatsAuthConfig(passwords, [], admin)))
    pid = tmp_path / "nats.pid"
    conf = tmp_path / "nats.conf"
    conf.write_text(f'pid_file: "{pid}"\ninclude ./auth.conf\n')
    server = start_nats(tmp_path / "data", config=conf)
    try:
        yield server.url, passwords, admin, tmp_path
    finally:
        server.stop()


def _as(user_id: str) -> dict[str, str]:
    return {h.USER_ID: user_id, h.EMAIL_VERIFIED: "true", h.REQUEST_ID: "req-ec",
            h.USER_ROLE: "user"}


async def _verified_user(admin, email: str) -> str:
    user = await request(admin, A.REGISTER, {"email": email, "password": PASSWORD,
                                             "name": "Third Party"})
    js = admin.jetstream()
    subject = subjects.mail_request(user["id"], "auth", "email_verification_requested")

    async def mailed():
        try:
            return await js.get_last_msg(streams.MAIL.name, subject)
        except NotFoundError:
            return None

    msg = await until(mailed)
    url = msgspec_loads(msg.data)["verifyUrl"]
    token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]
    await request(admin, A.VERIFY_EMAIL, {"token": token})
    return user["id"]


def msgspec_loads(data: bytes) -> dict:
    import orjson

    return orjson.loads(data)


async def test_a_user_reads_own_events_with_own_credential_until_revoked(
        secured_server, pg_service_dsn, redis_url, redis_prefix, tmp_path):
    url, passwords, admin_password, conf_dir = secured_server
    settings = auth_settings(url, pg_service_dsn("auth"), redis_url, redis_prefix, tmp_path,
                             nats_user="auth", nats_password=passwords["auth"])
    async with build_app(settings):
        admin = await nats.connect(url, user="admin", password=admin_password)
        sync = AuthSync(admin, conf_dir / "auth.conf", passwords, admin_password,
                        lambda: signal_reload(conf_dir / "nats.pid"))
        sidecar = asyncio.create_task(sync.run(interval_s=60))
        try:
            uid = await _verified_user(admin, "tp@example.com")
            other = await _verified_user(admin, "other@example.com")
            # events published before the third party ever connects: it must replay them
            created = await request(admin, P.CREATE_EVENT_CREDENTIAL, {"name": "my bot"},
                                    headers=_as(uid))
            assert created["subject"] == f"evt.{uid}.>" and created["password"]
            assert created["natsUrl"] == url
            errors: list[str] = []

            async def on_error(exc: Exception) -> None:
                errors.append(str(exc).lower())

            async def connect():
                try:
                    return await nats.connect(
                        created["natsUrl"], user=created["natsUser"],
                        password=created["password"], inbox_prefix=created["inboxPrefix"],
                        allow_reconnect=False, error_cb=on_error)
                except NatsError:
                    return None

            tp = await until(connect)  # once the sidecar has reloaded the server
            # (a reload can drop replies in flight, so the listing waits for it to be over)
            listed = await request(admin, P.LIST_EVENT_CREDENTIALS, None, headers=_as(uid))
            assert [c["id"] for c in listed] == [created["id"]] and "password" not in listed[0]
            assert await request(admin, P.LIST_EVENT_CREDENTIALS, None, headers=_as(other)) == []
            sub = await tp.jetstream().pull_subscribe(
                created["subject"], durable=created["durable"], stream=created["stream"],
                inbox_prefix=(created["inboxPrefix"] + ".").encode())
            msgs = await sub.fetch(10, timeout=3)
            names = {m.subject for m in msgs}
            assert f"evt.{uid}.auth.registered" in names and f"evt.{uid}.auth.email_verified" in names
            assert all(s.startswith(f"evt.{uid}.") for s in names)
            for m in msgs:
                await m.ack_sync(timeout=2)

            # nothing else: another user's events, publishing, calling a service
            await tp.subscribe(subjects.user_events(other))
            await eventually(violation(errors, "subscription", f"evt.{other}.>"))
            await tp.publish(subjects.user_event(uid, "order", "filled"), b"{}")
            await eventually(violation(errors, "publish", f"evt.{uid}.order.filled"))
            await tp.publish(A.GET_PROFILE, b"")
            await eventually(violation(errors, "publish", A.GET_PROFILE))

            # another user cannot revoke it; its owner can, and the connection goes at once
            with pytest.raises(Exception, match="(?i)not found"):
                await request(admin, P.REVOKE_EVENT_CREDENTIAL, {"id": created["id"]},
                              headers=_as(other))
            await request(admin, P.REVOKE_EVENT_CREDENTIAL, {"id": created["id"]},
                          headers=_as(uid))
            await eventually(lambda: tp.is_closed)
            assert await connect() is None
        finally:
            sidecar.cancel()
            await asyncio.gather(sidecar, return_exceptions=True)
            await admin.close()

