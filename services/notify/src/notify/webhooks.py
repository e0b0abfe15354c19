"""Webhook delivery: URL and address guard, HMAC-SHA256 signature, one signed POST.

Only http(s) URLs; the host is resolved and *every* address must be public (not private,
loopback, link-local, multicast, reserved or unspecified) unless the operator allows private
targets. The check runs when a webhook is registered and again at each send, and the HTTP
client resolves through `GuardedResolver`, so the connection goes only to addresses that
passed the check (a DNS answer that changes in between cannot smuggle in a private one).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

SIGNATURE_HEADER = "X-Algotrade-Signature"
EVENT_HEADER = "X-Algotrade-Event"
DELIVERY_HEADER = "X-Algotrade-Delivery"


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks (scheme, host or one of its addresses)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value `t=<ts>,v1=<hex>` over `timestamp.body`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """Check a signature header the way a receiver should (constant time, fresh timestamp)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def address_allowed(addr: str, allow_private: bool) -> bool:
    """Return True when a webhook may connect to this IP address."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    if allow_private:
        return True
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
                or not ip.is_global)


def check_scheme(url: str) -> tuple[str, int]:
    """Return (host, port) of an http(s) URL, refusing anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("Only http:// and https:// URLs with a host are allowed")
    if parts.username or parts.password:
        raise UnsafeTarget("Credentials in the URL are not allowed; use the signing secret")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTarget("Invalid port") from exc
    return parts.hostname, port


async def check_url(url: str, allow_private: bool) -> None:
    """Resolve the URL's host and refuse it when any address is not allowed."""
    host, port = check_scheme(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"Cannot resolve {host}") from exc
    addrs = {info[4][0] for info in infos}
    if not addrs:
        raise UnsafeTarget(f"Cannot resolve {host}")
    bad = sorted(a for a in addrs if not address_allowed(a, allow_private))
    if bad:
        raise UnsafeTarget(f"{host} resolves to a private or reserved address")


class GuardedResolver(AbstractResolver):
    """Resolve like aiohttp does, then refuse when any answer is not allowed."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Return the host's addresses, all of them checked."""
        results = await self._inner.resolve(host, port, family)
        if any(not address_allowed(r["host"], self._allow_private) for r in results):
            raise OSError(f"{host} resolves to a private or reserved address")
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


class WebhookSender:
    """POST signed JSON to user endpoints, never following redirects."""

    def __init__(self, allow_private: bool, timeout_s: float = 10.0) -> None:
        self._allow_private = allow_private
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            conn = aiohttp.TCPConnector(resolver=GuardedResolver(self._allow_private),
                                        use_dns_cache=False)
            self._session = aiohttp.ClientSession(connector=conn, timeout=self._timeout)
        return self._session

    async def post(self, url: str, secret: str, payload: dict[str, Any], *, event: str,
                   delivery_id: str, now: int) -> int:
        """Send one signed POST; return the status (raise on refusal or a network error)."""
        await check_url(url, self._allow_private)
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, now, body),
                   EVENT_HEADER: event, DELIVERY_HEADER: delivery_id,
                   "User-Agent": "algotrade-webhooks/1"}
        session = await self._client()
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            await resp.content.read(4096)  # enough to reuse the connection; never a huge body
            return resp.status

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
