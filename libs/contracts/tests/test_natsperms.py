"""Generated NATS permissions: shape checks that need no server (the real-server proofs
are in tests/nats_security)."""

from __future__ import annotations

from contracts import natsperms as P
from contracts import streams


def test_every_service_serves_only_its_own_requests() -> None:
    for name, perms in P.all_service_permissions().items():
        own = [s for s in perms.subscribe if s.startswith("svc.")]
        assert own == [f"svc.{name}.>"]


def test_each_declared_and_consumed_stream_exists() -> None:
    known = {s.name for s in streams.ALL_STREAMS}
    for io in P.SERVICE_IO.values():
        assert set(io.declares) <= known and set(io.consumes) <= known
        assert set(io.calls) <= set(P.SERVICES)


def test_stream_publishers_may_publish_their_subjects() -> None:
    perms = P.all_service_permissions()
    for spec in streams.ALL_STREAMS:
        if spec.owner in perms:
            for subject in spec.subjects:
                assert subject in perms[spec.owner].publish, (spec.name, subject)


def test_a_service_may_reply_into_the_inboxes_of_its_callers_only() -> None:
    perms = P.all_service_permissions()
    # auth is called by the gateway and notify; brokerage by the gateway and execution
    assert {"_INBOX.gateway.>", "_INBOX.notify.>"} <= set(perms["auth"].publish)
    assert "_INBOX.brokerage.>" not in perms["auth"].publish
    assert {"_INBOX.gateway.>", "_INBOX.execution.>"} <= set(perms["brokerage"].publish)
    assert not any(s.startswith("_INBOX") for s in perms["gateway"].publish)  # nobody calls it
    assert not any(s in ("_INBOX.>", ">") for p in perms.values() for s in p.publish)


def test_third_party_is_limited_to_one_consumer_on_its_own_events() -> None:
    cid = P.new_credential_id()
    perms = P.third_party_permissions("u1", cid)
    assert perms.subscribe == ("evt.u1.>", f"_INBOX.{cid}.>")
    assert not perms.allow_responses
    assert all(cid in s for s in perms.publish)
    assert not any(s.startswith(("evt.", "svc.", "$SRV")) for s in perms.publish)
    assert f"$JS.API.CONSUMER.CREATE.EVENTS.{cid}.evt.u1.>" in perms.publish


def test_render_config_lists_every_user() -> None:
    grant = P.ThirdPartyGrant(P.new_credential_id(), "u1", "pw")
    text = P.render_config(P.NatsAuthConfig({"auth": "a", "gateway": "g"}, [grant], "adm"))
    for user in ("auth", "gateway", grant.credential_id, "admin"):
        assert f'"user": "{user}"' in text
    assert '"user": "notify"' not in text


def test_credential_description_matches_permissions() -> None:
    cid = P.new_credential_id()
    d = P.describe_credential(cid, "u9")
    assert d["subject"] == "evt.u9.>" and d["durable"] == cid
    assert d["inbox_prefix"] == P.third_party_inbox(cid)
