"""Pure domain rules: API keys, refresh rotation, throttling, links, admin rules."""

from datetime import UTC, datetime, timedelta

from auth import domain
from auth.domain import RefreshVerdict, judge_refresh

NOW = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)


def test_api_keys_round_trip_and_are_unique():
    keys = [domain.mint_api_key() for _ in range(50)]
    assert len({k.key for k in keys}) == 50
    for k in keys:
        assert k.key.startswith(f"at_{k.prefix}_") and len(k.prefix) == 8
        prefix, secret = domain.parse_api_key(k.key)
        assert prefix == k.prefix
        assert domain.api_key_matches(k.secret_digest, secret)
        assert not domain.api_key_matches(k.secret_digest, secret + "x")


def test_malformed_api_keys_are_not_parsed():
    for bad in ("", "at_", "xx_abcdefgh_" + "s" * 40, "at_ABCDEFGH_" + "s" * 40,
                "at_abcdefgh" + "s" * 40, "at_abcdefgh_short", "at_abc_" + "s" * 40):
        assert domain.parse_api_key(bad) is None


def test_api_key_usability():
    ok = {"revoked_at": None, "expires_at": None, "user_status": "active", "now": NOW}
    assert domain.api_key_usable(**ok)
    assert not domain.api_key_usable(**{**ok, "revoked_at": NOW})
    assert not domain.api_key_usable(**{**ok, "user_status": "suspended"})
    assert not domain.api_key_usable(**{**ok, "expires_at": NOW})
    assert domain.api_key_usable(**{**ok, "expires_at": NOW + timedelta(seconds=1)})


def test_refresh_verdicts():
    live = {"token_used_at": None, "token_expires_at": NOW + timedelta(days=1),
                "session_revoked_at": None, "user_status": "active", "now": NOW}
    assert judge_refresh(**live) is RefreshVerdict.ROTATE
    assert judge_refresh(**{**live, "token_used_at": NOW}) is RefreshVerdict.REUSED
    assert judge_refresh(**{**live, "token_expires_at": NOW}) is RefreshVerdict.EXPIRED
    assert judge_refresh(**{**live, "user_status": "suspended"}) is RefreshVerdict.SUSPENDED
    # a revoked family stays revoked even when a spent token of it comes back
    revoked = {**live, "session_revoked_at": NOW, "token_used_at": NOW}
    assert judge_refresh(**revoked) is RefreshVerdict.REVOKED


def test_throttle_waits_only_at_the_limit():
    assert domain.throttle_retry_after(4, 5, 600) is None
    assert domain.throttle_retry_after(5, 5, 600) == 600
    assert domain.throttle_retry_after(9, 5, 0) == 1


def test_links_escape_the_token_and_trim_the_base():
    url = domain.link("http://127.0.0.1:8080/", "/verify-email", "a+b/c=")
    assert url == "http://127.0.0.1:8080/verify-email?token=a%2Bb%2Fc%3D"


def test_admin_rules_and_paging():
    assert not domain.may_set_status("a", "a") and domain.may_set_status("a", "b")
    assert domain.page_offset(1, 20) == 0 and domain.page_offset(3, 20) == 40
    assert domain.like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_emails_and_ids_normalise():
    assert domain.normalise_email("  Ann@Example.COM ") == "ann@example.com"
    assert domain.parse_uuid("nope") is None
    assert str(domain.parse_uuid("6f1c0d8e-8d43-4a8e-9a43-0e6f3c1e2a11")).startswith("6f1c")


def test_audit_ids_are_always_safe_ids():
    assert domain.audit_entry_id("6f1c0d8e-8d43-4a8e-9a43-0e6f3c1e2a11").startswith("6f1c")
    odd = domain.audit_entry_id("gateway:req/42")
    assert odd == domain.audit_entry_id("gateway:req/42") and domain.parse_uuid(odd)
