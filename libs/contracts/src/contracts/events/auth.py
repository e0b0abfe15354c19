"""Events published by the auth service on `evt.<userId>.auth.<event>`.

The two that carry a live single-use token (`EmailVerificationRequested`,
`PasswordResetRequested`) go instead to `mail.<userId>.auth.<event>` (stream MAIL), which
only notify reads: `evt.` is pushed to browsers and readable by third-party credentials.
"""

from __future__ import annotations

from .base import Event

DOMAIN = "auth"


class UserRegistered(Event, kw_only=True):
    """A user signed up."""

    user_id: str
    email: str
    name: str


class EmailVerificationRequested(Event, kw_only=True):
    """A verification mail must go to the user (the link carries a single-use token).

    Published on `mail.<userId>.auth.email_verification_requested`, never on `evt.`."""

    user_id: str
    email: str
    name: str
    verify_url: str
    expires_at: str


class EmailVerified(Event, kw_only=True):
    """The user proved they own their e-mail address."""

    user_id: str


class PasswordResetRequested(Event, kw_only=True):
    """A reset mail must go to the user (the link carries a single-use token).

    Published on `mail.<userId>.auth.password_reset_requested`, never on `evt.`."""

    user_id: str
    email: str
    name: str
    reset_url: str
    expires_at: str


class PasswordChanged(Event, kw_only=True):
    """The password changed (by the user or by a reset); other sessions were revoked."""

    user_id: str
    via: str  # "change" | "reset"


class NewLogin(Event, kw_only=True):
    """A new session started."""

    user_id: str
    ip: str | None = None
    user_agent: str | None = None
    session_id: str = ""


class TwoFactorChanged(Event, kw_only=True):
    """2FA was enabled or disabled."""

    user_id: str
    enabled: bool


class UserStatusChanged(Event, kw_only=True):
    """An admin suspended or reactivated a user."""

    user_id: str
    status: str
    by_user_id: str


EVENT_NAMES: dict[type[Event], str] = {
    UserRegistered: "registered",
    EmailVerificationRequested: "email_verification_requested",
    EmailVerified: "email_verified",
    PasswordResetRequested: "password_reset_requested",
    PasswordChanged: "password_changed",
    NewLogin: "new_login",
    TwoFactorChanged: "two_factor_changed",
    UserStatusChanged: "status_changed",
}

MAIL_EVENTS: frozenset[type[Event]] = frozenset({EmailVerificationRequested,
                                                 PasswordResetRequested})
"""Events that carry a secret: published on `mail.<userId>.auth.<name>` (stream MAIL)."""
