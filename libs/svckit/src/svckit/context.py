"""The acting user and request identity, read from NATS headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import headers as h

from .errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class RequestContext:
    """Who is asking, from where, under which request id."""

    user_id: str | None = None
    role: str | None = None
    session_id: str | None = None
    email_verified: bool = False
    request_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None) -> RequestContext:
        """Build the context from a message's headers."""
        hd = dict(headers or {})
        return cls(
            user_id=hd.get(h.USER_ID) or None,
            role=hd.get(h.USER_ROLE) or None,
            session_id=hd.get(h.SESSION_ID) or None,
            email_verified=hd.get(h.EMAIL_VERIFIED) == "true",
            request_id=hd.get(h.REQUEST_ID) or None,
            client_ip=hd.get(h.CLIENT_IP) or None,
            user_agent=hd.get(h.USER_AGENT) or None,
            headers=hd,
        )

    def to_headers(self) -> dict[str, str]:
        """Return headers that carry this context to the next hop."""
        out = {
            h.USER_ID: self.user_id,
            h.USER_ROLE: self.role,
            h.SESSION_ID: self.session_id,
            h.EMAIL_VERIFIED: "true" if self.email_verified else None,
            h.REQUEST_ID: self.request_id,
            h.CLIENT_IP: self.client_ip,
            h.USER_AGENT: self.user_agent,
        }
        return {k: v for k, v in out.items() if v}

    def require_user(self) -> str:
        """Return the acting user's id, refusing anonymous requests."""
        if not self.user_id:
            raise Unauthorized("Authentication required")
        return self.user_id

    def require_verified(self) -> str:
        """Return the acting user's id, refusing users who have not verified their e-mail."""
        user_id = self.require_user()
        if not self.email_verified:
            raise Forbidden("Verify your e-mail address first")
        return user_id

    def require_admin(self) -> str:
        """Return the acting admin's id, refusing everyone else."""
        user_id = self.require_user()
        if self.role != "admin":
            raise Forbidden("Administrator role required")
        return user_id
