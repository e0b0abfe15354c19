"""One thin handler per subject: svckit decodes the body, the use case answers.

The table below is the whole request/reply surface of the auth service.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import auth as c
from contracts.api import Empty
from pydantic import BaseModel
from svckit.context import RequestContext
from svckit.micro import Handler, MicroService

from .accounts import Accounts
from .admin import Admin
from .apikeys import ApiKeys
from .profile import Profile
from .service import Core
from .sessions import Sessions
from .twofactor import TwoFactor


@dataclass(frozen=True)
class UseCases:
    """Every use case of the service, built on one Core."""

    core: Core
    sessions: Sessions
    accounts: Accounts
    twofactor: TwoFactor
    profile: Profile
    apikeys: ApiKeys
    admin: Admin

    @classmethod
    def build(cls, core: Core) -> UseCases:
        """Wire the use cases to the core."""
        return cls(core, Sessions(core), Accounts(core), TwoFactor(core), Profile(core),
                   ApiKeys(core), Admin(core))

    async def jwks(self, _: Empty, __: RequestContext) -> c.JwkSet:
        """Return every public signing key (the gateway verifies access tokens with them)."""
        return self.core.ring.jwks()


def routes(uc: UseCases) -> list[tuple[str, type[BaseModel], Handler]]:
    """Return (subject, request model, handler) for every subject the service answers."""
    return [
        (c.REGISTER, c.Register, uc.accounts.register),
        (c.LOGIN, c.Login, uc.sessions.login),
        (c.LOGIN_2FA, c.Login2fa, uc.sessions.login_2fa),
        (c.REFRESH, c.Refresh, uc.sessions.refresh),
        (c.LOGOUT, c.Logout, uc.sessions.logout),
        (c.VERIFY_EMAIL, c.VerifyEmail, uc.accounts.verify_email),
        (c.RESEND_VERIFICATION, Empty, uc.accounts.resend_verification),
        (c.FORGOT_PASSWORD, c.ForgotPassword, uc.accounts.forgot_password),
        (c.RESET_PASSWORD, c.ResetPassword, uc.accounts.reset_password),
        (c.CHANGE_PASSWORD, c.ChangePassword, uc.accounts.change_password),
        (c.ENABLE_2FA, Empty, uc.twofactor.enable),
        (c.VERIFY_2FA, c.Verify2fa, uc.twofactor.verify),
        (c.DISABLE_2FA, c.Disable2fa, uc.twofactor.disable),
        (c.GET_PROFILE, Empty, uc.profile.get),
        (c.UPDATE_PROFILE, c.UpdateProfile, uc.profile.update),
        (c.GET_PREFERENCES, Empty, uc.profile.get_preferences),
        (c.UPDATE_PREFERENCES, c.Preferences, uc.profile.update_preferences),
        (c.CREATE_API_KEY, c.CreateApiKey, uc.apikeys.create),
        (c.LIST_API_KEYS, Empty, uc.apikeys.list),
        (c.REVOKE_API_KEY, c.RevokeApiKey, uc.apikeys.revoke),
        (c.VERIFY_API_KEY, c.VerifyApiKey, uc.apikeys.verify),
        (c.ADMIN_LIST_USERS, c.AdminListUsers, uc.admin.list_users),
        (c.ADMIN_SET_STATUS, c.AdminSetStatus, uc.admin.set_status),
        (c.ADMIN_AUDIT_LOG, c.AuditQuery, uc.admin.audit_log),
        (c.JWKS, Empty, uc.jwks),
    ]


def register(micro: MicroService, uc: UseCases) -> None:
    """Add every endpoint to the micro service (before it starts)."""
    for subject, model, handler in routes(uc):
        micro.endpoint(subject, model, handler)
