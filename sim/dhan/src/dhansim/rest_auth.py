"""The auth host: API-key consent flow (generate, browser login, consume)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from dhansim.clock import IST
from dhansim.web import SIM_KEY, reply

routes = web.RouteTableDef()


def _bad(message: str) -> web.Response:
    return reply({"status": "error", "message": message}, 400)


@routes.post("/app/generate-consent")
async def generate_consent(request: web.Request) -> web.Response:
    """Start a consent for the client owning the app_id/app_secret headers."""
    sim = request.app[SIM_KEY]
    creds = sim.tokens.by_api_key(request.headers.get("app_id", ""),
                                  request.headers.get("app_secret", ""))
    if creds is None or request.query.get("client_id") != creds.client_id:
        return _bad("Invalid app_id, app_secret or client_id")
    consent_id = str(uuid.uuid4())
    creds.consents[consent_id] = "GENERATED"
    return reply({"consentAppId": consent_id, "consentAppStatus": "GENERATED",
                  "status": "success"})


@routes.get("/login/consentApp-login")
async def consent_login(request: web.Request) -> web.StreamResponse:
    """Stand in for the browser login: approve at once and redirect with a tokenId."""
    sim = request.app[SIM_KEY]
    consent_id = request.query.get("consentAppId", "")
    for creds in sim.tokens.by_client.values():
        if creds.consents.get(consent_id) == "GENERATED":
            creds.consents[consent_id] = "APPROVED"
            token_id = secrets.token_urlsafe(16)
            creds.token_ids[token_id] = consent_id
            target = request.query.get("redirect_url") or creds.redirect_url
            if target:
                sep = "&" if "?" in target else "?"
                raise web.HTTPFound(f"{target}{sep}{urlencode({'tokenId': token_id})}")
            return reply({"tokenId": token_id})
    return _bad("Invalid consentAppId")


@routes.get("/app/consumeApp-consent")
async def consume_consent(request: web.Request) -> web.Response:
    """Exchange a tokenId for a fresh access token (the previous token stops working)."""
    sim = request.app[SIM_KEY]
    creds = sim.tokens.by_api_key(request.headers.get("app_id", ""),
                                  request.headers.get("app_secret", ""))
    token_id = request.query.get("tokenId", "")
    if creds is None or token_id not in creds.token_ids:
        return _bad("Invalid tokenId")
    del creds.token_ids[token_id]
    token = sim.tokens.mint(creds.client_id)
    acc = sim.exchange.accounts[creds.client_id]
    return reply({"dhanClientId": creds.client_id, "dhanClientName": acc.name,
                  "dhanClientUcc": f"SIM{creds.client_id[-5:]}", "givenPowerOfAttorney": True,
                  "accessToken": token,
                  "expiryTime": datetime.fromtimestamp(creds.token_exp, IST)
                  .strftime("%Y-%m-%dT%H:%M:%S")})
