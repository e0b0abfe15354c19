"""Auth request/response models and request subjects (service `auth`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import EmailStr, Field, field_validator

from . import subjects
from .api import ApiModel, ApiReply, PageQuery
from .types import Id, UtcDateTime

SERVICE = "auth"

# request/reply subjects -------------------------------------------------------------
REGISTER = subjects.svc(SERVICE, "user", "register")
LOGIN = subjects.svc(SERVICE, "session", "login")
LOGIN_2FA = subjects.svc(SERVICE, "session", "login_2fa")
REFRESH = subjects.svc(SERVICE, "session", "refresh")
LOGOUT = subjects.svc(SERVICE, "session", "logout")
VERIFY_EMAIL = subjects.svc(SERVICE, "email", "verify")
RESEND_VERIFICATION = subjects.svc(SERVICE, "email", "resend")
FORGOT_PASSWORD = subjects.svc(SERVICE, "password", "forgot")
RESET_PASSWORD = subjects.svc(SERVICE, "password", "reset")
CHANGE_PASSWORD = subjects.svc(SERVICE, "password", "change")
ENABLE_2FA = subjects.svc(SERVICE, "twofa", "enable")
VERIFY_2FA = subjects.svc(SERVICE, "twofa", "verify")
DISABLE_2FA = subjects.svc(SERVICE, "twofa", "disable")
GET_PROFILE = subjects.svc(SERVICE, "profile", "get")
UPDATE_PROFILE = subjects.svc(SERVICE, "profile", "update")
GET_PREFERENCES = subjects.svc(SERVICE, "preferences", "get")
UPDATE_PREFERENCES = subjects.svc(SERVICE, "preferences", "update")
CREATE_API_KEY = subjects.svc(SERVICE, "apikey", "create")
LIST_API_KEYS = subjects.svc(SERVICE, "apikey", "list")
REVOKE_API_KEY = subjects.svc(SERVICE, "apikey", "revoke")
VERIFY_API_KEY = subjects.svc(SERVICE, "apikey", "verify")
ADMIN_LIST_USERS = subjects.svc(SERVICE, "admin", "list_users")
ADMIN_SET_STATUS = subjects.svc(SERVICE, "admin", "set_status")
ADMIN_AUDIT_LOG = subjects.svc(SERVICE, "admin", "audit_log")
JWKS = subjects.svc(SERVICE, "keys", "jwks")

PASSWORD_MIN = 8
PASSWORD_MAX = 128


class Role(StrEnum):
    """What a user may do."""

    USER = "user"
    ADMIN = "admin"


class UserStatus(StrEnum):
    """Whether a user may sign in."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


def _password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"Password must be at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"Password must be at most {PASSWORD_MAX} characters")
    if value.isdigit() or value.isalpha():
        raise ValueError("Password must mix letters with digits or symbols")
    return value


class Register(ApiModel):
    """Create an account."""

    email: EmailStr
    password: str = Field(repr=False)
    name: str = Field(min_length=1, max_length=120)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 \-]{7,20}$")

    _check_password = field_validator("password")(_password)


class Login(ApiModel):
    """Sign in with e-mail and password."""

    email: EmailStr
    password: str = Field(min_length=1, max_length=PASSWORD_MAX, repr=False)


class Login2fa(ApiModel):
    """Finish a sign-in that needs a second factor."""

    challenge_token: str = Field(min_length=10, max_length=512)
    code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    recovery_code: str | None = Field(default=None, min_length=6, max_length=32)


class Refresh(ApiModel):
    """Exchange a refresh token for a new pair (the old one is spent)."""

    refresh_token: str = Field(min_length=10, max_length=512, repr=False)


class Logout(ApiModel):
    """End a session (the refresh token's family)."""

    refresh_token: str | None = Field(default=None, max_length=512, repr=False)


class VerifyEmail(ApiModel):
    """Prove ownership of the e-mail address with the mailed token."""

    token: str = Field(min_length=10, max_length=512)


class ForgotPassword(ApiModel):
    """Ask for a reset mail; the reply never says whether the address is registered."""

    email: EmailStr


class ResetPassword(ApiModel):
    """Set a new password with the mailed single-use token."""

    token: str = Field(min_length=10, max_length=512)
    password: str = Field(repr=False)

    _check_password = field_validator("password")(_password)


class ChangePassword(ApiModel):
    """Change the password (revokes every other session)."""

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX, repr=False)
    new_password: str = Field(repr=False)

    _check_password = field_validator("new_password")(_password)


class Verify2fa(ApiModel):
    """Confirm 2FA setup with a code from the authenticator app."""

    code: str = Field(pattern=r"^[0-9]{6}$")


class Disable2fa(ApiModel):
    """Turn 2FA off; needs the password and a current code or a recovery code."""

    password: str = Field(min_length=1, max_length=PASSWORD_MAX, repr=False)
    code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    recovery_code: str | None = Field(default=None, min_length=6, max_length=32)


class UpdateProfile(ApiModel):
    """Change profile fields (only those given)."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 \-]{7,20}$")


class Preferences(ApiModel):
    """Display and notification preferences."""

    theme: Literal["light", "dark", "system"] = "system"
    timezone: str = Field(default="Asia/Kolkata", max_length=64)
    default_landing: str = Field(default="/dashboard", max_length=64)
    email_notifications: bool = True
    sms_notifications: bool = False
    extra: dict[str, str | int | float | bool] = Field(default_factory=dict)


class CreateApiKey(ApiModel):
    """Create a personal API key (shown once)."""

    name: str = Field(min_length=1, max_length=80)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class RevokeApiKey(ApiModel):
    """Revoke a personal API key."""

    key_id: Id


class VerifyApiKey(ApiModel):
    """Gateway-internal: resolve an API key to its owner."""

    api_key: str = Field(min_length=10, max_length=256, repr=False)


class AdminListUsers(PageQuery):
    """Search users (admin)."""

    q: str | None = Field(default=None, max_length=120)
    status: UserStatus | None = None
    role: Role | None = None


class AdminSetStatus(ApiModel):
    """Suspend or reactivate a user (admin); suspension revokes sessions at once."""

    user_id: Id
    status: UserStatus
    reason: str | None = Field(default=None, max_length=500)


class AuditQuery(PageQuery):
    """Query the audit log (admin)."""

    user_id: Id | None = None
    action: str | None = Field(default=None, max_length=100)
    service: str | None = Field(default=None, max_length=40)
    outcome: Literal["success", "failure"] | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None


# replies ------------------------------------------------------------------------------


class User(ApiReply):
    """A user as the user (or an admin) sees it."""

    id: Id
    email: str
    name: str
    phone: str | None = None
    role: Role
    status: UserStatus
    email_verified: bool
    two_factor_enabled: bool
    created_at: UtcDateTime
    last_login_at: UtcDateTime | None = None


class TokenPair(ApiReply):
    """A signed-in session: a short-lived access token and a rotating refresh token."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str = Field(repr=False)
    refresh_expires_in: int
    user: User


class LoginResult(ApiReply):
    """Either tokens, or a challenge to finish with a second factor."""

    two_factor_required: bool = False
    challenge_token: str | None = None
    tokens: TokenPair | None = None


class TwoFactorSetup(ApiReply):
    """The secret to put in an authenticator app (not active until verified)."""

    secret: str
    otpauth_url: str


class RecoveryCodes(ApiReply):
    """One-time recovery codes, shown once."""

    recovery_codes: list[str]


class ApiKeyInfo(ApiReply):
    """A personal API key without its secret."""

    id: Id
    name: str
    prefix: str
    created_at: UtcDateTime
    expires_at: UtcDateTime | None = None
    last_used_at: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None


class ApiKeyCreated(ApiReply):
    """A new API key; `key` is shown only this once."""

    key: str
    info: ApiKeyInfo


class ApiKeyOwner(ApiReply):
    """Gateway-internal: who owns a valid API key."""

    user_id: Id
    role: Role
    key_id: Id
    email_verified: bool = False


class Message(ApiReply):
    """A human-readable outcome."""

    message: str


class Jwk(ApiReply):
    """One public signing key (OKP / Ed25519)."""

    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519"] = "Ed25519"
    x: str
    kid: str
    alg: Literal["EdDSA"] = "EdDSA"
    use: Literal["sig"] = "sig"


class JwkSet(ApiReply):
    """The public keys the gateway verifies access tokens with."""

    keys: list[Jwk]


class AuditEntry(ApiReply):
    """One audit-log row."""

    id: Id
    ts: UtcDateTime
    service: str
    action: str
    user_id: str | None = None
    method: str | None = None
    path: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    status: int | None = None
    outcome: str
    request_id: str | None = None


# token claims and revocation keys (shared by auth and gateway) ---------------------

ACCESS_TOKEN_AUDIENCE = "algotrade-api"
ACCESS_TOKEN_ISSUER = "algotrade-auth"


def revoked_session_key(prefix: str, session_id: str) -> str:
    """Redis key marking a session (refresh family) revoked; access tokens carry `sid`."""
    return f"{prefix}auth:revoked:sid:{session_id}"


def user_revoked_before_key(prefix: str, user_id: str) -> str:
    """Redis key: access tokens of this user issued before the stored epoch are invalid."""
    return f"{prefix}auth:revoked:user:{user_id}"
