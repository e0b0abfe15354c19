"""API keys, admin subjects, suspension, the audit log and JWKS, over NATS."""

import uuid

import jwt
import pytest
from contracts import auth as A
from contracts.errors import ErrorCode

pytestmark = pytest.mark.integration


async def _user(svc, email):
    await svc.register(email)
    return await svc.login(email)


async def test_api_keys_are_shown_once_listed_scoped_and_revocable(svc):
    mia = await _user(svc, "mia@example.com")
    ned = await _user(svc, "ned@example.com")
    m_access, n_access = mia["accessToken"], ned["accessToken"]

    created = await svc.call(A.CREATE_API_KEY, {"name": "bot"}, token=m_access)
    key, info = created["key"], created["info"]
    assert key.startswith(f"at_{info['prefix']}_") and info["expiresAt"] is None
    listed = await svc.call(A.LIST_API_KEYS, token=m_access)
    assert [k["id"] for k in listed] == [info["id"]]
    assert all(key.split("_", 2)[2] not in str(v) for v in listed[0].values())
    assert await svc.call(A.LIST_API_KEYS, token=n_access) == []

    owner = await svc.call(A.VERIFY_API_KEY, {"apiKey": key})
    assert owner == {"userId": mia["user"]["id"], "role": "user", "keyId": info["id"],
                     "emailVerified": False}
    assert (await svc.call(A.LIST_API_KEYS, token=m_access))[0]["lastUsedAt"] is not None
    for bad in (key[:-1] + ("A" if key[-1] != "A" else "B"), "at_zzzzzzzz_" + "x" * 43,
                "not-a-key-at-all"):
        assert (await svc.error(A.VERIFY_API_KEY, {"apiKey": bad})).error is ErrorCode.UNAUTHORIZED

    # another user cannot revoke it: it does not exist for them
    err = await svc.error(A.REVOKE_API_KEY, {"keyId": info["id"]}, token=n_access)
    assert err.error is ErrorCode.NOT_FOUND
    err = await svc.error(A.REVOKE_API_KEY, {"keyId": str(uuid.uuid4())}, token=m_access)
    assert err.error is ErrorCode.NOT_FOUND
    assert (await svc.error(A.REVOKE_API_KEY, {"keyId": "nope"}, token=m_access)).error \
        is ErrorCode.NOT_FOUND
    assert await svc.call(A.VERIFY_API_KEY, {"apiKey": key})
    assert await svc.call(A.REVOKE_API_KEY, {"keyId": info["id"]}, token=m_access) == {"ok": True}
    assert (await svc.error(A.VERIFY_API_KEY, {"apiKey": key})).error is ErrorCode.UNAUTHORIZED
    assert (await svc.call(A.LIST_API_KEYS, token=m_access))[0]["revokedAt"] is not None

    # an expired key is refused
    dated = await svc.call(A.CREATE_API_KEY, {"name": "short", "expiresInDays": 1}, token=m_access)
    assert dated["info"]["expiresAt"] is not None
    await svc.rt.pool.execute("UPDATE api_keys SET expires_at = now() - interval '1 second'"
                              " WHERE id = $1", uuid.UUID(dated["info"]["id"]))
    assert (await svc.error(A.VERIFY_API_KEY, {"apiKey": dated["key"]})).error \
        is ErrorCode.UNAUTHORIZED
    assert (await svc.error(A.CREATE_API_KEY, {"name": ""}, token=m_access)).error \
        is ErrorCode.VALIDATION_ERROR
    assert (await svc.error(A.LIST_API_KEYS)).error is ErrorCode.UNAUTHORIZED


async def test_admin_subjects_refuse_users(svc):
    user = await _user(svc, "ola@example.com")
    for subject, body in ((A.ADMIN_LIST_USERS, {}), (A.ADMIN_AUDIT_LOG, {}),
                          (A.ADMIN_SET_STATUS, {"userId": user["user"]["id"],
                                                "status": "suspended"})):
        assert (await svc.error(subject, body, token=user["accessToken"])).error \
            is ErrorCode.FORBIDDEN
        assert (await svc.error(subject, body)).error is ErrorCode.UNAUTHORIZED


async def test_suspension_revokes_everything_at_once_and_is_audited(svc):
    admin = await svc.login(svc.ADMIN_EMAIL, svc.ADMIN_PASSWORD)
    assert admin["user"]["role"] == "admin" and admin["user"]["emailVerified"] is True
    a_access = admin["accessToken"]
    pat = await _user(svc, "pat@example.com")
    other = await svc.login("pat@example.com")
    key = (await svc.call(A.CREATE_API_KEY, {"name": "k"}, token=pat["accessToken"]))["key"]
    await _user(svc, "quinn@example.com")
    pid = pat["user"]["id"]

    page = await svc.call(A.ADMIN_LIST_USERS, {"q": "example.com", "pageSize": 2}, token=a_access)
    assert page["total"] == 3 and len(page["items"]) == 2 and page["pageSize"] == 2
    page = await svc.call(A.ADMIN_LIST_USERS, {"q": "PAT@"}, token=a_access)
    assert [u["email"] for u in page["items"]] == ["pat@example.com"]
    page = await svc.call(A.ADMIN_LIST_USERS, {"role": "admin"}, token=a_access)
    assert [u["email"] for u in page["items"]] == [svc.ADMIN_EMAIL]
    assert (await svc.call(A.ADMIN_LIST_USERS, {"q": "%"}, token=a_access))["total"] == 0

    suspended = await svc.call(A.ADMIN_SET_STATUS, {"userId": pid, "status": "suspended",
                                                    "reason": "abuse"}, token=a_access)
    assert suspended["status"] == "suspended"
    assert await svc.revoked(pat["accessToken"]) and await svc.revoked(other["accessToken"])
    for pair in (pat, other):
        err = await svc.error(A.REFRESH, {"refreshToken": pair["refreshToken"]})
        assert err.error is ErrorCode.UNAUTHORIZED
    err = await svc.error(A.LOGIN, {"email": "pat@example.com", "password": svc.PASSWORD})
    assert err.error is ErrorCode.FORBIDDEN and "suspended" in err.message
    assert (await svc.error(A.VERIFY_API_KEY, {"apiKey": key})).error is ErrorCode.UNAUTHORIZED
    event = await svc.event(pid, "status_changed")
    assert event["status"] == "suspended" and event["byUserId"] == admin["user"]["id"]

    assert (await svc.call(A.ADMIN_SET_STATUS, {"userId": pid, "status": "active"},
                           token=a_access))["status"] == "active"
    assert (await svc.login("pat@example.com"))["accessToken"]
    assert await svc.call(A.VERIFY_API_KEY, {"apiKey": key})

    err = await svc.error(A.ADMIN_SET_STATUS, {"userId": admin["user"]["id"],
                                               "status": "suspended"}, token=a_access)
    assert err.error is ErrorCode.FORBIDDEN
    for missing in (str(uuid.uuid4()), "no-such-user"):
        err = await svc.error(A.ADMIN_SET_STATUS, {"userId": missing, "status": "active"},
                              token=a_access)
        assert err.error is ErrorCode.NOT_FOUND

    # the audit stream lands in the log an admin can query
    async def audited():
        page = await svc.call(A.ADMIN_AUDIT_LOG, {"action": "user_status"}, token=a_access)
        return page if page["total"] >= 2 else None

    page = await svc.eventually(audited)
    entry = page["items"][-1]
    assert (entry["service"], entry["userId"], entry["resourceId"]) == \
        ("auth", admin["user"]["id"], pid)
    assert entry["ip"] == svc.IP and entry["outcome"] == "success"

    async def failed_login():
        page = await svc.call(A.ADMIN_AUDIT_LOG, {"action": "login", "outcome": "failure",
                                                  "userId": pid}, token=a_access)
        return page if page["total"] >= 1 else None

    assert (await svc.eventually(failed_login))["items"][0]["status"] == 403
    everything = await svc.call(A.ADMIN_AUDIT_LOG, {"pageSize": 200}, token=a_access)
    actions = {e["action"] for e in everything["items"]}
    assert {"register", "login", "api_key_create", "user_status"} <= actions


async def test_jwks_verifies_the_access_tokens(svc):
    jwks = await svc.call(A.JWKS)
    assert [k["kid"] for k in jwks["keys"]] == [svc.ring.active.kid]
    await svc.register("rui@example.com")
    token = (await svc.login("rui@example.com"))["accessToken"]
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=A.ACCESS_TOKEN_AUDIENCE,
                        issuer=A.ACCESS_TOKEN_ISSUER)
    assert claims["role"] == "user" and claims["ev"] is False and claims["sid"]
    # discoverable like every micro service
    ping = await svc.nc.request("$SRV.PING.auth", b"", timeout=5)
    assert b'"auth"' in ping.data


async def test_audit_events_of_other_services_are_stored_once(svc):
    from contracts import subjects
    from contracts.events import encode, new_event_fields
    from contracts.events.audit import AuditRecorded

    admin = (await svc.login(svc.ADMIN_EMAIL, svc.ADMIN_PASSWORD))["accessToken"]
    js = svc.nc.jetstream()
    await js.publish(subjects.audit("gateway", "http"), b"not json")
    event = AuditRecorded(**new_event_fields(), service="gateway", action="http", user_id="u-9",
                          method="PUT", path="/api/user/profile", status=200, ip="198.51.100.3")
    for msg_id in (event.event_id, event.event_id + "-again"):  # a copy has no second effect
        await js.publish(subjects.audit("gateway", "http"), encode(event),
                         headers={"Nats-Msg-Id": msg_id})

    marker = AuditRecorded(**new_event_fields(), service="gateway", action="marker")
    await js.publish(subjects.audit("gateway", "marker"), encode(marker))

    async def marker_stored():
        page = await svc.call(A.ADMIN_AUDIT_LOG, {"action": "marker"}, token=admin)
        return page["total"] == 1

    await svc.eventually(marker_stored)  # the stream is consumed in order: all before it are in
    page = await svc.call(A.ADMIN_AUDIT_LOG, {"service": "gateway", "action": "http"}, token=admin)
    assert page["total"] == 1
    entry = page["items"][0]
    assert (entry["id"], entry["method"], entry["path"], entry["status"]) == \
        (event.event_id, "PUT", "/api/user/profile", 200)
