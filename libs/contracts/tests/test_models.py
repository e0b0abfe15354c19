import inspect
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pydantic
import pytest
from contracts import api, auth, errors, events, types
from contracts.events import audit as audit_events
from contracts.events import auth as auth_events

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def _event_samples():
    base = {"event_id": "e1", "ts_event": NOW, "ts_init": NOW}
    yield auth_events.UserRegistered(**base, user_id="u", email="a@b.in", name="A")
    yield auth_events.EmailVerificationRequested(
        **base, user_id="u", email="a@b.in", name="A", verify_url="http://x/v?t=1", expires_at="z"
    )
    yield auth_events.EmailVerified(**base, user_id="u")
    yield auth_events.PasswordResetRequested(
        **base, user_id="u", email="a@b.in", name="A", reset_url="http://x", expires_at="z"
    )
    yield auth_events.PasswordChanged(**base, user_id="u", via="reset")
    yield auth_events.NewLogin(**base, user_id="u", ip="1.2.3.4", user_agent="curl")
    yield auth_events.TwoFactorChanged(**base, user_id="u", enabled=True)
    yield auth_events.UserStatusChanged(**base, user_id="u", status="suspended", by_user_id="a")
    yield audit_events.AuditRecorded(**base, service="gateway", action="POST /api/x", status=200)


@pytest.mark.parametrize("event", list(_event_samples()), ids=lambda e: type(e).__name__)
def test_every_event_round_trips(event):
    data = events.encode(event)
    assert events.decode(data, type(event)) == event
    assert b'"eventId"' in data and b'"tsEvent"' in data and b'"tsInit"' in data


def test_every_event_type_has_a_sample():
    known = {type(e) for e in _event_samples()}
    declared = {
        obj
        for mod in (auth_events, audit_events)
        for obj in vars(mod).values()
        if inspect.isclass(obj) and issubclass(obj, events.Event) and obj is not events.Event
    }
    assert declared <= known


def test_an_older_reader_ignores_a_field_added_later():
    class NewLoginV2(auth_events.NewLogin, kw_only=True):
        device: str = "phone"

    newer = NewLoginV2(event_id="e", ts_event=NOW, ts_init=NOW, user_id="u", version=2)
    old = events.decode(events.encode(newer), auth_events.NewLogin)
    assert old.user_id == "u" and old.version == 2


def test_a_newer_reader_reads_an_older_event_with_defaults():
    class NewLoginV2(auth_events.NewLogin, kw_only=True):
        device: str = "unknown"

    older = auth_events.NewLogin(event_id="e", ts_event=NOW, ts_init=NOW, user_id="u")
    assert events.decode(events.encode(older), NewLoginV2).device == "unknown"


def _model_samples():
    user = auth.User(
        id="u1", email="a@b.in", name="A", role="user", status="active", email_verified=True,
        two_factor_enabled=False, created_at=NOW,
    )
    yield auth.Register(email="a@b.in", password="s3cret-pass", name="A")
    yield auth.Login(email="a@b.in", password="x")
    yield auth.Login2fa(challenge_token="c" * 20, code="123456")
    yield auth.Refresh(refresh_token="r" * 40)
    yield auth.ResetPassword(token="t" * 20, password="n3w-password")
    yield auth.ChangePassword(current_password="x", new_password="n3w-password")
    yield auth.Preferences(theme="dark", extra={"a": 1})
    yield auth.AdminListUsers(q="a", status="active", page=2, page_size=50)
    yield auth.AuditQuery(since=NOW, outcome="failure")
    yield user
    yield auth.TokenPair(
        access_token="a", expires_in=900, refresh_token="r", refresh_expires_in=10, user=user
    )
    yield auth.LoginResult(two_factor_required=True, challenge_token="c")
    yield auth.ApiKeyCreated(
        key="k", info=auth.ApiKeyInfo(id="k1", name="ci", prefix="at_abc", created_at=NOW)
    )
    yield auth.JwkSet(keys=[auth.Jwk(x="abc", kid="k1")])
    yield api.Page[auth.User](items=[user], total=1, page=1, page_size=20)
    yield errors.ApiError.of(errors.ErrorCode.NOT_FOUND)


@pytest.mark.parametrize("model", list(_model_samples()), ids=lambda m: type(m).__name__)
def test_every_model_round_trips_through_camel_case_json(model):
    data = model.model_dump_json(by_alias=True)
    assert type(model).model_validate_json(data) == model


def test_request_models_refuse_unknown_fields_and_weak_passwords():
    with pytest.raises(pydantic.ValidationError):
        auth.Login.model_validate({"email": "a@b.in", "password": "x", "isAdmin": True})
    with pytest.raises(pydantic.ValidationError) as err:
        auth.Register.model_validate({"email": "a@b.in", "password": "short", "name": "A"})
    assert "at least 8" in str(err.value)
    with pytest.raises(pydantic.ValidationError):
        auth.Register.model_validate({"email": "not-an-email", "password": "long-enough1", "name": "A"})


def test_reply_models_ignore_fields_added_later():
    payload = {"message": "ok", "addedLater": 1}
    assert auth.Message.model_validate(payload).message == "ok"


def test_error_shape_matches_the_api_contract():
    err = errors.ApiError.of(
        errors.ErrorCode.VALIDATION_ERROR,
        details=[errors.FieldError(field="email", message="Invalid email format")],
    )
    assert err.model_dump(mode="json") == {
        "error": "VALIDATION_ERROR",
        "message": "Invalid input data",
        "code": 400,
        "details": [{"field": "email", "message": "Invalid email format"}],
    }
    assert all(code in errors.HTTP_STATUS for code in errors.ErrorCode)


def test_money_is_exact_and_serialised_as_a_string():
    class Amount(api.ApiReply):
        value: types.Money

    amt = Amount(value=Decimal("1234.50"))
    assert amt.model_dump_json() == '{"value":"1234.50"}'
    assert types.rupees_to_paise(Decimal("12.34")) == 1234
    assert types.paise_to_rupees(1234) == Decimal("12.34")
    with pytest.raises(ValueError):
        types.rupees_to_paise(Decimal("0.001"))


def test_utc_datetimes_are_normalised_and_naive_ones_refused():
    class At(api.ApiReply):
        at: types.UtcDateTime

    ist = datetime.fromisoformat("2026-11-24T09:15:00+05:30")
    assert At(at=ist).at == datetime(2026, 11, 24, 3, 45, tzinfo=UTC)
    with pytest.raises(pydantic.ValidationError):
        At(at=datetime(2026, 1, 1))
    assert msgspec.json.decode(b'"2026-11-24T03:45:00Z"', type=datetime).tzinfo is not None
