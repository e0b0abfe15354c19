"""Dhan's API key/secret consent flow (API.md §2.3) on the auth host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx

from ..base import BrokerAuthFailed, BrokerRetryable
from .parsing import IST


@dataclass(frozen=True)
class ConsumedConsent:
    """What consuming a consent yields."""

    client_id: str
    access_token: str
    expires_at: datetime | None


class ConsentClient:
    """Generate a consent, build the browser login URL, consume the returned tokenId."""

    def __init__(self, auth_base: str, timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = auth_base.rstrip("/")
        self._timeout = timeout_s
        self._transport = transport

    async def generate(self, client_id: str, api_key: str, api_secret: str) -> str:
        """Start a consent; return its consentAppId."""
        body = await self._send("POST", "/app/generate-consent", api_key, api_secret,
                                {"client_id": client_id})
        if body.get("status") != "success" or not body.get("consentAppId"):
            raise BrokerAuthFailed(str(body.get("message") or "Dhan refused the API key"))
        return str(body["consentAppId"])

    def login_url(self, consent_app_id: str, redirect_url: str = "") -> str:
        """Return the URL the user's browser opens to approve the consent."""
        query = {"consentAppId": consent_app_id}
        if redirect_url:
            query["redirect_url"] = redirect_url
        return f"{self._base}/login/consentApp-login?{urlencode(query)}"

    async def consume(self, token_id: str, api_key: str, api_secret: str) -> ConsumedConsent:
        """Exchange the tokenId for an access token."""
        body = await self._send("GET", "/app/consumeApp-consent", api_key, api_secret,
                                {"tokenId": token_id})
        token = body.get("accessToken")
        if not token:
            raise BrokerAuthFailed(str(body.get("message") or "Dhan refused the consent"))
        expires = None
        if body.get("expiryTime"):
            try:
                expires = datetime.fromisoformat(str(body["expiryTime"])).replace(
                    tzinfo=IST).astimezone(UTC)
            except ValueError:
                expires = None
        return ConsumedConsent(str(body.get("dhanClientId") or ""), str(token), expires)

    async def _send(self, method: str, path: str, api_key: str, api_secret: str,
                    params: dict[str, str]) -> dict:
        headers = {"app_id": api_key, "app_secret": api_secret, "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                resp = await http.request(method, self._base + path, params=params,
                                          headers=headers)
        except httpx.HTTPError as exc:
            raise BrokerRetryable(f"cannot reach Dhan auth: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise BrokerRetryable(f"Dhan auth answered {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if not resp.is_success:
            raise BrokerAuthFailed(str(body.get("message") or f"HTTP {resp.status_code}"))
        return body if isinstance(body, dict) else {}
