"""The API docs page works without reaching any CDN."""

import httpx
from gateway.app import create_http_app
from gateway.settings import GatewaySettings


async def test_docs_page_and_its_assets_are_served_by_the_gateway(tmp_path):
    app = create_http_app(GatewaySettings(web_dist=tmp_path / "none"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        page = await http.get("/api/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "/api/docs/static/swagger-ui-bundle.js" in page.text
        js = await http.get("/api/docs/static/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000
        spec = (await http.get("/api/openapi.json")).json()
        assert "/api/auth/login" in spec["paths"] and "/api/user/profile" in spec["paths"]


async def test_asyncapi_document_is_served(tmp_path):
    app = create_http_app(GatewaySettings(web_dist=tmp_path / "none"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        doc = (await http.get("/api/asyncapi")).json()
    assert doc["asyncapi"].startswith("3.") and doc["channels"]
