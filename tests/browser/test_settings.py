"""Settings a trader and an admin use, in a real browser (issue 8 §2): API keys, webhooks,
the event-feed credentials, and the admin pages (admins only)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Site, shot
from .flows import log_in, sign_up

pytestmark = pytest.mark.browser


class Receiver:
    """A webhook endpoint on this machine that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_api_keys_webhooks_and_event_feed(site: Site, new_page) -> None:
    page = new_page()
    email, _ = sign_up(page, site, "Farah Settings")
    log_in(page, email)
    page.on("dialog", lambda d: d.accept())
    page.get_by_role("link", name="Settings").click()

    # an API key: shown once, then listed by prefix, and it works against the API until revoked
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("my script")
    page.get_by_role("button", name="Create").click()
    key = page.locator("code").first.inner_text()
    assert key
    expect(page.get_by_role("cell", name="my script")).to_be_visible()
    shot(page, "30-api-keys")
    r = httpx.get(f"{site.url}/api/user/profile", headers={"X-API-Key": key}, timeout=10)
    assert r.status_code == 200 and r.json()["email"] == email, r.text
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked", exact=True)).to_be_visible()
    r = httpx.get(f"{site.url}/api/user/profile", headers={"X-API-Key": key}, timeout=10)
    assert r.status_code == 401, r.text

    # a webhook: the API's validation error sits under the field; a signed test delivery arrives
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_label("Endpoint URL").fill("ftp://example.com/hook")
    page.get_by_label("Signing secret (optional)").fill("short")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator('[data-field-error="secret"]')).to_be_visible()
    shot(page, "31-webhook-field-error")
    receiver = Receiver()
    try:
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("Signing secret (optional)").fill("")
        page.get_by_label("Description").fill("my desk")
        page.get_by_label("Order filled").check()
        page.get_by_role("button", name="Add webhook").click()
        secret = page.get_by_test_id("webhook-secret").locator("code").first.inner_text()
        row = page.get_by_test_id("webhooks").locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Order filled")
        row.get_by_role("button", name="Send test").click()
        expect(row.get_by_test_id("webhook-test-result")).to_contain_text("delivered (200)")
        shot(page, "32-webhooks")
        assert len(receiver.received) == 1
        headers, body = receiver.received[0]
        parts = dict(p.split("=", 1) for p in headers["x-algotrade-signature"].split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["v1"], expected)
        assert json.loads(body)
    finally:
        receiver.close()
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()

    # an event-feed credential: everything needed to connect, the password once; then revoked
    page.get_by_role("link", name="Event feed").click()
    expect(page.get_by_text("No credentials yet.")).to_be_visible()
    page.get_by_role("button", name="Create").click()
    expect(page.locator('[data-field-error="name"]')).to_be_visible()
    page.get_by_label("Credential name").fill("my bot")
    page.get_by_role("button", name="Create").click()
    secret_box = page.get_by_test_id("event-credential-secret")
    expect(secret_box).to_contain_text(site.nats_url)
    assert page.get_by_test_id("event-credential-password").inner_text()
    expect(page.get_by_test_id("event-credentials").locator("tbody tr")).to_have_count(1)
    shot(page, "33-event-feed")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("event-credentials")).to_contain_text("revoked")


def test_admin_pages_for_admins_only(site: Site, new_page) -> None:
    # a trader has no admin links, and an admin address tells them so
    page = new_page()
    email, _ = sign_up(page, site, "Gita Member")
    log_in(page, email)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.goto("/admin/users")
    expect(page.get_by_test_id("admin-only")).to_be_visible()
    page.goto("/admin/audit")
    expect(page.get_by_test_id("admin-only")).to_be_visible()

    admin = new_page()
    admin.goto("/login")
    admin.get_by_label("E-mail").fill(ADMIN_EMAIL)
    admin.get_by_label("Password").fill(ADMIN_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    expect(admin.get_by_role("heading", name=re.compile("^Welcome,"))).to_be_visible()
    admin.get_by_role("link", name="Users").click()
    admin.get_by_placeholder("Search name or e-mail").fill(email)
    expect(admin.get_by_role("cell", name=email)).to_be_visible()
    shot(admin, "34-admin-users")
    admin.get_by_role("link", name="Audit log").click()
    expect(admin.locator("tbody tr").first).to_be_visible()
    expect(admin.locator("[data-state=error]")).to_have_count(0)
    shot(admin, "35-admin-audit")
