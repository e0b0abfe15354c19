"""`/api/user/event-credentials` through the real gateway and auth (issue 9 §3).

What the credential then allows on NATS is proven on a secured nats-server in
tests/nats_security/test_event_credentials.py; here: the HTTP surface a user sees.
"""

from __future__ import annotations

PATH = "/api/user/event-credentials"


async def test_create_list_revoke_and_isolation(api):
    _, unverified, _ = await api.signup("ecu")
    api.error(await api.http.post(PATH, json={"name": "bot"}, headers=api.bearer(unverified)),
              403, "FORBIDDEN")
    api.error(await api.http.get(PATH), 401, "UNAUTHORIZED")

    _, token, user = await api.verified_signup("eca")
    body = api.error(await api.http.post(PATH, json={"name": ""}, headers=api.bearer(token)),
                     400, "VALIDATION_ERROR")
    assert any(d["field"] == "name" for d in body["details"])

    r = await api.http.post(PATH, json={"name": "my trading bot"}, headers=api.bearer(token))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["password"] and made["natsUrl"].startswith("nats://")
    assert made["subject"] == f"evt.{user['id']}.>" and made["stream"] == "EVENTS"
    assert made["natsUser"] == made["durable"] == made["id"]
    assert made["inboxPrefix"] == f"_INBOX.{made['id']}"

    listed = (await api.http.get(PATH, headers=api.bearer(token))).json()
    assert [c["id"] for c in listed] == [made["id"]]
    assert "password" not in listed[0] and listed[0]["revokedAt"] is None

    async with api.client() as other_http:
        _, other, _ = await api.verified_signup("ecb", http=other_http)
        assert (await other_http.get(PATH, headers=api.bearer(other))).json() == []
        api.error(await other_http.delete(f"{PATH}/{made['id']}", headers=api.bearer(other)),
                  404, "NOT_FOUND")

    r = await api.http.delete(f"{PATH}/{made['id']}", headers=api.bearer(token))
    assert r.status_code == 200, r.text
    listed = (await api.http.get(PATH, headers=api.bearer(token))).json()
    assert listed[0]["revokedAt"] is not None
    api.error(await api.http.delete(f"{PATH}/{made['id']}", headers=api.bearer(token)),
              404, "NOT_FOUND")


async def test_a_credential_reads_its_users_events_on_the_platforms_nats(api, e2e):
    """The platform runs NATS with its generated users (as `make run` does): a new
    credential works within seconds, exactly as docs/events/README.md shows, reads only its
    own user's events, and stops working when revoked."""
    import asyncio

    import nats
    from nats.errors import TimeoutError as NatsTimeout

    _, token, user = await api.verified_signup("ecnats")
    r = await api.http.post(PATH, json={"name": "bot"}, headers=api.bearer(token))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["natsUrl"] == e2e.nats_url

    async def connect() -> nats.NATS:
        return await nats.connect(made["natsUrl"], user=made["natsUser"],
                                  password=made["password"], inbox_prefix=made["inboxPrefix"],
                                  allow_reconnect=False, connect_timeout=2)

    nc = None
    for _ in range(50):  # the sidecar admits it after auth's announcement (debounced)
        try:
            nc = await connect()
            break
        except Exception:  # noqa: BLE001 - not admitted yet
            await asyncio.sleep(0.1)
    assert nc is not None, "the credential was never admitted by nats-server"
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(made["subject"], durable=made["durable"],
                                      stream=made["stream"],
                                      inbox_prefix=(made["inboxPrefix"] + ".").encode())
        # signing up and verifying already produced this user's events: they replay
        subjects = []
        try:
            for msg in await sub.fetch(50, timeout=3):
                subjects.append(msg.subject)
                await msg.ack()
        except NatsTimeout:
            pass
        assert subjects, "no event of the user replayed"
        assert all(s.startswith(f"evt.{user['id']}.") for s in subjects), subjects
    finally:
        await nc.close()

    r = await api.http.delete(f"{PATH}/{made['id']}", headers=api.bearer(token))
    assert r.status_code == 200, r.text
    refused = False
    for _ in range(50):
        try:
            nc = await connect()
        except Exception:  # noqa: BLE001 - refused: what we wait for
            refused = True
            break
        await nc.close()
        await asyncio.sleep(0.1)
    assert refused, "a revoked credential still connects"
