"""Simulated clients, access tokens (JWT-shaped) and the API-key consent flow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

import orjson

TOKEN_TTL = 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Credentials:
    """Secrets of one client: current token, API key pair and pending consents."""

    client_id: str
    token: str = ""
    token_exp: float = 0.0
    api_key: str = field(default_factory=lambda: secrets.token_hex(8))
    api_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    redirect_url: str = ""
    consents: dict[str, str] = field(default_factory=dict)  # consentAppId -> status
    token_ids: dict[str, str] = field(default_factory=dict)  # tokenId -> consentAppId


class TokenBook:
    """Mint and check access tokens; only one token per client is active at a time."""

    def __init__(self, wall=time.time) -> None:
        self.wall = wall
        self._key = secrets.token_bytes(32)
        self.by_client: dict[str, Credentials] = {}
        self.by_token: dict[str, str] = {}

    def register(self, client_id: str, redirect_url: str = "") -> Credentials:
        """Create credentials for a new client and mint its first token."""
        creds = Credentials(client_id, redirect_url=redirect_url)
        self.by_client[client_id] = creds
        self.mint(client_id)
        return creds

    def mint(self, client_id: str) -> str:
        """Issue a fresh 24-hour token for the client, revoking the previous one."""
        creds = self.by_client[client_id]
        self.by_token.pop(creds.token, None)
        exp = self.wall() + TOKEN_TTL
        header = _b64(orjson.dumps({"typ": "JWT", "alg": "HS512"}))
        claims = _b64(orjson.dumps({
            "iss": "dhan", "partnerId": "", "exp": int(exp), "tokenConsumerType": "SELF",
            "webhookUrl": "", "dhanClientId": client_id, "jti": secrets.token_hex(6)}))
        sig = hmac.new(self._key, f"{header}.{claims}".encode(), hashlib.sha512).digest()
        creds.token, creds.token_exp = f"{header}.{claims}.{_b64(sig)}", exp
        self.by_token[creds.token] = client_id
        return creds.token

    def check(self, token: str | None) -> tuple[str | None, str]:
        """Return (client_id, '') for a valid token, else (None, 'invalid'|'expired')."""
        client_id = self.by_token.get(token or "")
        if client_id is None:
            return None, "invalid"
        if self.by_client[client_id].token_exp <= self.wall():
            return None, "expired"
        return client_id, ""

    def expire(self, client_id: str) -> None:
        """Make the client's current token expired at once."""
        if client_id in self.by_client:
            self.by_client[client_id].token_exp = self.wall() - 1

    def by_api_key(self, api_key: str, api_secret: str) -> Credentials | None:
        """Return the client owning this API key pair."""
        for creds in self.by_client.values():
            if creds.api_key == api_key and hmac.compare_digest(creds.api_secret, api_secret):
                return creds
        return None
