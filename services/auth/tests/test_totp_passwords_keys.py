"""TOTP window and replay, recovery codes, argon2id, data-key loading and settings rules."""

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from auth import totp
from auth.keys import SecretBox, load_data_key, load_keyring
from auth.passwords import Passwords
from auth.settings import AuthSettings
from auth.tokens import SigningKeyError, generate_pem

NOW = datetime(2026, 1, 5, 4, 0, 10, tzinfo=UTC)


def test_totp_accepts_one_step_either_side_and_no_more():
    secret = totp.new_secret()
    current = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = totp.code_at(secret, NOW + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, NOW, None) == current + offset
    for offset in (-2, 2):
        code = totp.code_at(secret, NOW + timedelta(seconds=30 * offset))
        assert totp.matching_step(secret, code, NOW, None) is None
    assert totp.matching_step(secret, "000000" if totp.code_at(secret, NOW) != "000000"
                              else "111111", NOW, None) is None


def test_a_used_code_cannot_be_replayed():
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    step = totp.matching_step(secret, code, NOW, None)
    assert totp.matching_step(secret, code, NOW, step) is None
    later = totp.code_at(secret, NOW + timedelta(seconds=30))
    assert totp.matching_step(secret, later, NOW, step) == step + 1


def test_otpauth_url_is_scannable():
    secret = totp.new_secret()
    url = totp.otpauth_url(secret, "ann@example.com", "AlgoTrade")
    parsed = pyotp.parse_uri(url)
    assert parsed.secret == secret and parsed.issuer == "AlgoTrade"


def test_recovery_codes_are_unique_normalised_and_bound_to_the_user():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    code = codes[0]
    assert totp.recovery_code_digest("u1", code) == totp.recovery_code_digest(
        "u1", code.upper().replace("-", " "))
    assert totp.recovery_code_digest("u1", code) != totp.recovery_code_digest("u2", code)


async def test_argon2id_hash_verify_and_rehash():
    pw = Passwords(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    stored = await pw.hash("correct horse 1")
    assert stored.startswith("$argon2id$")
    assert await pw.verify(stored, "correct horse 1")
    assert not await pw.verify(stored, "wrong horse 1")
    assert not await pw.verify(None, "anything")
    assert not await pw.verify("not-a-hash", "x")
    assert not pw.needs_rehash(stored)
    assert Passwords(time_cost=2, memory_kib=8 * 1024, parallelism=1).needs_rehash(stored)


def test_secret_box_is_bound_to_its_owner():
    box = SecretBox(bytes(32))
    blob = box.seal("JBSWY3DPEHPK3PXP", "user-1")
    assert b"JBSWY3DP" not in blob and box.open(blob, "user-1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError):
        box.open(blob, "user-2")
    with pytest.raises(ValueError):
        box.open(blob[:-1] + bytes([blob[-1] ^ 1]), "user-1")
    with pytest.raises(ValueError):
        SecretBox(b"\x01" * 32).open(blob, "user-1")


def test_data_key_from_settings_or_a_dev_seed(tmp_path):
    key = base64.b64encode(b"k" * 32).decode()
    assert load_data_key(AuthSettings(data_key=key)) == b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        load_data_key(AuthSettings(data_key=base64.b64encode(b"short").decode()))
    dev = AuthSettings(environment="dev", dev_secrets_dir=tmp_path)
    first = load_data_key(dev)
    assert len(first) == 32 and load_data_key(dev) == first  # stable across restarts


def test_dev_generates_a_signing_key_once_and_prod_refuses(tmp_path):
    dev = AuthSettings(environment="dev", dev_secrets_dir=tmp_path)
    assert load_keyring(dev).active.kid == load_keyring(dev).active.kid
    key = generate_pem(tmp_path / "prod.pem")
    prod = AuthSettings(environment="prod", data_key=base64.b64encode(b"k" * 32).decode(),
                        jwt_keys_dir=tmp_path / "empty")
    with pytest.raises(SigningKeyError):
        load_keyring(prod)
    prod = prod.model_copy(update={"jwt_private_key_file": tmp_path / "prod.pem"})
    assert load_keyring(prod).active.kid == key.kid


def test_settings_read_the_admin_password_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "pw").write_text("Admin-password-7\n")
    monkeypatch.setenv("AUTH_ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("AUTH_ADMIN_PASSWORD_FILE", str(tmp_path / "pw"))
    settings = AuthSettings()
    assert settings.admin_password.get_secret_value() == "Admin-password-7"
    assert settings.service_name == "auth" and settings.mail_links_logged()


def test_settings_refuse_prod_without_keys_and_admin_without_password(monkeypatch):
    with pytest.raises(ValueError, match="AUTH_DATA_KEY"):
        AuthSettings(environment="prod")
    with pytest.raises(ValueError, match="AUTH_ADMIN_PASSWORD_FILE"):
        AuthSettings(admin_email="root@example.com")
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_TTL_S", "60")
    assert AuthSettings().access_token_ttl_s == 60
