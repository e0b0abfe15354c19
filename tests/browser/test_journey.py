"""The journey a new trader takes, in a real browser against the real processes (issue 8 §3)."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .conftest import PASSWORD, Site, shot
from .flows import log_in, sign_up

pytestmark = pytest.mark.browser

RELIANCE = "2885"


def test_new_trader_journey(site: Site, new_page) -> None:
    page = new_page()
    email, _ = sign_up(page, site, "Asha Trader")
    log_in(page, email)
    shot(page, "01-dashboard-new")

    # enable 2FA: the QR code is drawn in the browser; the key under it feeds the authenticator
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Two-factor").click()
    page.get_by_role("button", name="Enable 2FA").click()
    expect(page.get_by_alt_text("2FA QR code")).to_be_visible()
    shot(page, "02-2fa-setup")
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text())
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("button", name="I saved them").click()
    expect(page.get_by_test_id("2fa-on")).to_be_visible()

    # log out, then in again with a TOTP code
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile("/login$"))
    log_in(page, email, totp)
    expect(page.get_by_test_id("live-status")).to_have_text("Live")

    # link an account on the Dhan simulator (its client id and token, as Dhan's site shows them)
    sim = site.sim_client()
    page.get_by_role("link", name="Brokerage").click()
    expect(page.get_by_text("No accounts linked yet")).to_be_visible()
    page.get_by_role("button", name="Link Dhan account").click()
    page.get_by_label("Client id").fill(sim["dhanClientId"])
    page.get_by_label("Label").fill("Sim Dhan")
    page.get_by_label("Access token").fill(sim["accessToken"])
    shot(page, "03-link-dhan")
    page.get_by_role("button", name="Link account").click()
    expect(page.get_by_test_id("account-label")).to_have_text("Sim Dhan")
    expect(page.get_by_text("active", exact=True)).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("toast").filter(has_text="Connection works")).to_be_visible()
    shot(page, "04-brokerage")

    # search RELIANCE with the keyboard, open it, and watch live ticks move the price
    page.get_by_role("link", name="Market").click()
    expect(page.get_by_test_id("market-status")).to_be_visible()
    search = page.get_by_role("combobox", name="Search instruments")
    search.fill("RELIANCE")
    expect(page.get_by_role("option").first).to_contain_text("RELIANCE")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/market/NSE_EQ/2885"))
    expect(page.get_by_test_id("candle-chart")).to_be_visible()
    tick_time = page.get_by_test_id("tick-time")
    expect(tick_time).to_contain_text("live", timeout=20_000)
    first = tick_time.inner_text()
    expect(tick_time).not_to_have_text(first, timeout=20_000)
    shot(page, "05a-instrument")

    # a manual order: ticket, confirmation, live status in the order book, then cancel it
    page.on("dialog", lambda d: d.accept())
    page.get_by_role("link", name="Orders").click()
    ticket = page.locator("form").filter(has=page.get_by_label("Security id"))
    expect(ticket.get_by_label("Account")).to_contain_text("Sim Dhan")
    ticket.get_by_label("Security id").fill(RELIANCE)
    ticket.get_by_label("Quantity").fill("2")
    ticket.get_by_label("Price", exact=True).fill("1300")
    ticket.get_by_role("button", name="Review order").click()
    expect(page.get_by_test_id("order-confirm")).to_contain_text("BUY 2 × NSE_EQ 2885, LIMIT at ₹1300")
    page.get_by_role("button", name="Place order").click()
    book = page.get_by_test_id("order-book")
    row = book.locator("tbody tr").first
    expect(row.get_by_test_id("order-status")).to_have_text(re.compile("placed|accepted"))
    shot(page, "05-orders-open")
    order_id = row.get_attribute("data-order-id")
    row.get_by_role("button", name="Cancel").click()
    expect(row.get_by_test_id("order-status")).to_have_text("cancelled")
    # the cancellation also arrived live over /ws as a toast
    expect(page.get_by_test_id("toast").filter(has_text="Order cancelled")).to_be_visible()
    shot(page, "06-orders-cancelled")

    # a market order fills on the simulator: its fill arrives live and lands in the trades
    ticket.get_by_label("Type").select_option("MARKET")
    ticket.get_by_label("Quantity").fill("1")
    ticket.get_by_role("button", name="Review order").click()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_test_id("toast").filter(has_text="Order filled")).to_be_visible()
    expect(book.locator("tbody tr")).to_have_count(2)
    expect(book.locator("tbody tr").first.get_by_test_id("order-status")).to_have_text("filled")
    page.get_by_role("button", name="Trades").click()
    expect(page.get_by_role("cell", name="BUY")).to_have_count(1, timeout=20_000)
    expect(page.get_by_role("button", name="Export CSV")).to_be_enabled()
    shot(page, "06b-trades")

    # the fill's notification: a number on the bell, an entry in the inbox, then all read
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Notifications \(")).click()
    expect(page.get_by_test_id("inbox")).to_contain_text("Order filled")
    shot(page, "06c-notifications")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_test_id("unread-count")).to_have_count(0)

    page.get_by_role("link", name="Portfolio").click()
    expect(page.get_by_text("Available funds")).to_be_visible()
    expect(page.locator("[data-state=loading]")).to_have_count(0)
    shot(page, "07-portfolio")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("account-label").or_(page.get_by_text("Sim Dhan"))).to_be_visible()
    expect(page.get_by_text("Available funds")).to_be_visible()
    shot(page, "08-dashboard")

    # a second trader sees none of it, in the browser or by asking for the order directly
    other = new_page()
    other_email, _ = sign_up(other, site, "Bala Other")
    log_in(other, other_email)
    other.get_by_role("link", name="Orders").click()
    expect(other.get_by_text("No orders yet.")).to_be_visible()
    other.get_by_role("link", name="Brokerage").click()
    expect(other.get_by_text("No accounts linked yet")).to_be_visible()
    with httpx.Client(base_url=site.url) as http:
        r = http.post("/api/auth/login", json={"email": other_email, "password": PASSWORD})
        token = r.json()["tokens"]["accessToken"]
        r = http.get(f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 404, r.text


def test_expired_session_returns_to_login(site: Site, new_page) -> None:
    page = new_page()
    email, _ = sign_up(page, site, "Chitra Expiry")
    log_in(page, email)
    # The session ends behind the page's back (as when it expires or is revoked elsewhere).
    r = page.context.request.post("/api/auth/logout")
    assert r.ok, r.text()
    # Either the next API call finds the session gone, or the app already noticed (the
    # gateway closes /ws on revocation) and left the page; both must end on the login page.
    try:
        page.get_by_role("link", name="Settings").click(timeout=5000)
    except PlaywrightTimeoutError:
        pass
    expect(page).to_have_url(re.compile("/login$"))
    expect(page.get_by_test_id("session-expired")).to_be_visible()
    shot(page, "09-session-expired")


def test_phone_layout_and_themes(site: Site, new_page) -> None:
    page = new_page(390, 844)
    email, _ = sign_up(page, site, "Dev Mobile")
    log_in(page, email)
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Toggle theme").click()
    html = page.locator("html")
    dark = "dark" in (html.get_attribute("class") or "")
    shot(page, "10-phone-" + ("dark" if dark else "light"))
    page.get_by_role("button", name="Toggle theme").click()
    assert ("dark" in (html.get_attribute("class") or "")) != dark
    # a form shows the API's validation errors next to the field
    page.get_by_role("link", name="Password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator('[data-field-error="newPassword"]')).to_be_visible()
    shot(page, "11-phone-field-error")
