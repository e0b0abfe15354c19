"""The route table and the OpenAPI document generated from it."""

from __future__ import annotations

from gateway.app import create_http_app
from gateway.routes import ROUTES, Access, Limit
from gateway.settings import GatewaySettings

REQUIRED = {
    ("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("POST", "/api/auth/login/2fa"),
    ("POST", "/api/auth/refresh"), ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/verify-email"), ("POST", "/api/auth/resend-verification"),
    ("POST", "/api/auth/forgot-password"), ("POST", "/api/auth/reset-password"),
    ("POST", "/api/auth/enable-2fa"), ("POST", "/api/auth/verify-2fa"),
    ("POST", "/api/auth/disable-2fa"),
    ("GET", "/api/user/profile"), ("PUT", "/api/user/profile"), ("PUT", "/api/user/password"),
    ("GET", "/api/user/preferences"), ("PUT", "/api/user/preferences"),
    ("GET", "/api/user/api-keys"), ("POST", "/api/user/api-keys"),
    ("DELETE", "/api/user/api-keys/{keyId}"),
    ("GET", "/api/admin/users"), ("PUT", "/api/admin/users/{userId}/status"),
    ("GET", "/api/admin/logs"),
}


def _contract_subjects() -> set[str]:
    """Every request subject declared by a contracts module (routes may use no other)."""
    import importlib
    import pkgutil

    import contracts

    found = set()
    for mod in pkgutil.iter_modules(contracts.__path__):
        module = importlib.import_module(f"contracts.{mod.name}")
        found |= {v for k, v in vars(module).items()
                  if k.isupper() and isinstance(v, str) and v.startswith("svc.")}
    return found


def _doc(tmp_path) -> dict:
    return create_http_app(GatewaySettings(web_dist=tmp_path)).openapi()


def test_every_required_endpoint_is_in_the_table_once():
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert REQUIRED <= set(keys)


def test_rows_are_consistent():
    known = _contract_subjects()
    for r in ROUTES:
        assert r.subject in known, r
        assert r.limit is (Limit.AUTH_IP if r.path.startswith("/api/auth/") else Limit.USER)
        assert r.audit is (r.method != "GET")
        if r.path.startswith("/api/admin/"):
            assert r.access is Access.ADMIN
        if r.path.startswith("/api/user/"):
            assert r.access in (Access.USER, Access.VERIFIED)
        for p in r.path_params:
            assert p in {f.alias for f in r.request.model_fields.values()}, (r.path, p)


def test_openapi_documents_every_route_with_schemas_errors_and_security(tmp_path):
    doc = _doc(tmp_path)
    schemas = doc["components"]["schemas"]
    assert {"bearerAuth", "apiKeyAuth"} <= set(doc["components"]["securitySchemes"])
    assert set(schemas["ApiError"]["properties"]) >= {"error", "message", "code", "details"}
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        assert op["summary"] and op["tags"] == [r.tag]
        content = op["responses"][str(r.status)]["content"]
        if r.file:
            assert {"text/csv", "application/pdf"} <= set(content), r.path
        else:
            assert content["application/json"]["schema"], r.path
        for status in ("400", "429", "503"):
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ApiError")
        assert "422" not in op["responses"]
        if r.access is not Access.NONE:
            assert {"bearerAuth": []} in op["security"] and "401" in op["responses"]
        names = {p["name"] for p in op.get("parameters", [])}
        assert set(r.path_params) <= names
        fields = {f.alias for f in (r.body_doc or r.request).model_fields.values()}
        body_fields = fields - set(r.path_params)
        if r.method in ("GET", "DELETE"):  # no body: everything else is a query parameter
            assert body_fields <= names
        elif body_fields:
            assert "requestBody" in op, (r.method, r.path)
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schemas[ref.rsplit("/", 1)[1]]
            assert set(body["properties"]) == body_fields
    # every $ref resolves
    text = str(doc)
    for name in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name


def test_login_and_refresh_replies_are_documented_without_the_refresh_token(tmp_path):
    schemas = _doc(tmp_path)["components"]["schemas"]
    assert "refreshToken" not in schemas["SessionTokens"]["properties"]
    assert "accessToken" in schemas["SessionTokens"]["properties"]


async def test_cors_allows_only_configured_origins_with_credentials(tmp_path):
    import httpx

    app = create_http_app(GatewaySettings(web_dist=tmp_path, cors_origins=["https://app.example"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        ok = await c.options("/api/user/profile", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        bad = await c.options("/api/user/profile", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in bad.headers
