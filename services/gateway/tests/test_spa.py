"""Serving web/dist: files as they are, client-side routes fall back to index.html."""

from __future__ import annotations

import httpx
import pytest
from gateway.app import create_http_app
from gateway.settings import GatewaySettings


@pytest.fixture
async def client(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>spa</html>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("nope")
    app = create_http_app(GatewaySettings(web_dist=dist))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        yield c


async def test_files_and_fallback(client):
    r = await client.get("/")
    assert r.status_code == 200 and "spa" in r.text
    r = await client.get("/dashboard/strategies/42")
    assert r.status_code == 200 and "spa" in r.text and r.headers["cache-control"] == "no-cache"
    r = await client.get("/assets/app-1234.js")
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]


async def test_api_paths_never_fall_back_and_nothing_outside_dist_is_served(client):
    r = await client.get("/api/unknown")
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
    r = await client.get("/assets/../../secret.txt")
    assert "nope" not in r.text
    r = await client.get("/%2e%2e/secret.txt")
    assert "nope" not in r.text


async def test_no_dist_means_no_spa_routes(tmp_path):
    app = create_http_app(GatewaySettings(web_dist=tmp_path / "missing"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        r = await c.get("/dashboard")
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
