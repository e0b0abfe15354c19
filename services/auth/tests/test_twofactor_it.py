"""TOTP 2FA over NATS: setup, sign-in with a code or a recovery code, and removal."""

from datetime import UTC, datetime, timedelta

import pytest
from auth.totp import code_at
from contracts import auth as A
from contracts.errors import ErrorCode

pytestmark = pytest.mark.integration


def _code(secret: str, steps_ahead: int = 0) -> str:
    return code_at(secret, datetime.now(UTC) + timedelta(seconds=30 * steps_ahead))


def _wrong(secret: str) -> str:
    near = {_code(secret, k) for k in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in near)


@pytest.mark.parametrize("svc", [{"login_max_failures_per_account": 20}], indirect=True)
async def test_two_factor_setup_login_and_removal(svc):
    await svc.register("kim@example.com")
    access = (await svc.login("kim@example.com"))["accessToken"]
    assert (await svc.error(A.ENABLE_2FA)).error is ErrorCode.UNAUTHORIZED
    assert (await svc.error(A.VERIFY_2FA, {"code": "123456"}, token=access)).error \
        is ErrorCode.CONFLICT  # nothing pending yet

    setup = await svc.call(A.ENABLE_2FA, token=access)
    secret = setup["secret"]
    assert setup["otpauthUrl"].startswith("otpauth://totp/") and "AlgoTrade" in setup["otpauthUrl"]
    # pending until confirmed: sign-in still needs only the password
    assert (await svc.call(A.LOGIN, {"email": "kim@example.com", "password": svc.PASSWORD}))[
        "twoFactorRequired"] is False
    err = await svc.error(A.VERIFY_2FA, {"code": _wrong(secret)}, token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR
    codes = (await svc.call(A.VERIFY_2FA, {"code": _code(secret)}, token=access))["recoveryCodes"]
    assert len(codes) == 10 == len(set(codes))
    assert (await svc.call(A.GET_PROFILE, token=access))["twoFactorEnabled"] is True
    assert (await svc.error(A.ENABLE_2FA, token=access)).error is ErrorCode.CONFLICT
    event = await svc.event((await svc.call(A.GET_PROFILE, token=access))["id"],
                            "two_factor_changed")
    assert event["enabled"] is True

    # sign-in now stops at a challenge
    first = await svc.call(A.LOGIN, {"email": "kim@example.com", "password": svc.PASSWORD})
    assert first["twoFactorRequired"] is True and first["tokens"] is None
    challenge = first["challengeToken"]
    err = await svc.error(A.LOGIN_2FA, {"challengeToken": challenge, "code": _wrong(secret)})
    assert err.error is ErrorCode.UNAUTHORIZED
    err = await svc.error(A.LOGIN_2FA, {"challengeToken": challenge})
    assert err.error is ErrorCode.VALIDATION_ERROR
    done = await svc.call(A.LOGIN_2FA, {"challengeToken": challenge, "code": _code(secret, 1)})
    assert done["tokens"]["accessToken"] and done["tokens"]["user"]["twoFactorEnabled"]
    # a challenge is spent by its success
    err = await svc.error(A.LOGIN_2FA, {"challengeToken": challenge, "code": _code(secret, 1)})
    assert err.error is ErrorCode.UNAUTHORIZED

    # a recovery code works once
    second = await svc.call(A.LOGIN, {"email": "kim@example.com", "password": svc.PASSWORD})
    ok = await svc.call(A.LOGIN_2FA, {"challengeToken": second["challengeToken"],
                                      "recoveryCode": codes[0].upper()})
    assert ok["tokens"]["accessToken"]
    third = await svc.call(A.LOGIN, {"email": "kim@example.com", "password": svc.PASSWORD})
    err = await svc.error(A.LOGIN_2FA, {"challengeToken": third["challengeToken"],
                                        "recoveryCode": codes[0]})
    assert err.error is ErrorCode.UNAUTHORIZED

    # removal needs the password and a second factor
    err = await svc.error(A.DISABLE_2FA, {"password": "Wrong-pass-1", "recoveryCode": codes[1]},
                          token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR and err.details[0].field == "password"
    err = await svc.error(A.DISABLE_2FA, {"password": svc.PASSWORD}, token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR
    err = await svc.error(A.DISABLE_2FA, {"password": svc.PASSWORD, "recoveryCode": codes[0]},
                          token=access)
    assert err.error is ErrorCode.VALIDATION_ERROR  # already used
    await svc.call(A.DISABLE_2FA, {"password": svc.PASSWORD, "recoveryCode": codes[1]},
                   token=access)
    assert (await svc.call(A.GET_PROFILE, token=access))["twoFactorEnabled"] is False
    assert (await svc.call(A.LOGIN, {"email": "kim@example.com", "password": svc.PASSWORD}))[
        "twoFactorRequired"] is False
    assert (await svc.error(A.DISABLE_2FA, {"password": svc.PASSWORD, "code": "123456"},
                            token=access)).error is ErrorCode.CONFLICT


async def test_a_challenge_allows_few_guesses_and_counts_toward_the_lockout(svc):
    await svc.register("lea@example.com")
    access = (await svc.login("lea@example.com"))["accessToken"]
    secret = (await svc.call(A.ENABLE_2FA, token=access))["secret"]
    await svc.call(A.VERIFY_2FA, {"code": _code(secret)}, token=access)
    challenge = (await svc.call(A.LOGIN, {"email": "lea@example.com",
                                          "password": svc.PASSWORD}))["challengeToken"]
    limit = svc.settings.login_max_failures_per_account
    for _ in range(limit):
        err = await svc.error(A.LOGIN_2FA, {"challengeToken": challenge, "code": _wrong(secret)})
        assert err.error is ErrorCode.UNAUTHORIZED
    # the account is now locked out, even with the right password
    err = await svc.error(A.LOGIN, {"email": "lea@example.com", "password": svc.PASSWORD})
    assert err.error is ErrorCode.RATE_LIMITED
