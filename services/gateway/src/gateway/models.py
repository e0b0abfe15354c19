"""HTTP-only reply shapes: what the browser sees where it differs from the NATS reply.

The refresh token travels in an httpOnly cookie, never in a JSON body the page's scripts
can read, so the token-issuing replies are documented without it. (Candidates to move to
contracts once a second user appears.)
"""

from __future__ import annotations

from typing import Literal

from contracts.api import ApiModel, ApiReply
from contracts.auth import User
from pydantic import Field


class SessionTokens(ApiReply):
    """A signed-in session as HTTP returns it; the refresh token is in the `at_refresh` cookie."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_expires_in: int
    user: User


class LoginReply(ApiReply):
    """Either a session, or a challenge to finish with a second factor."""

    two_factor_required: bool = False
    challenge_token: str | None = None
    tokens: SessionTokens | None = None


class RefreshBody(ApiModel):
    """Optional body of /refresh and /logout for clients without cookies."""

    refresh_token: str | None = Field(default=None, min_length=10, max_length=512)
