"""Flows several browser tests share: signing up through the form, logging in."""

from __future__ import annotations

import re
import secrets
import time

import pyotp
from playwright.sync_api import Page, expect

from .conftest import PASSWORD, Site


def sign_up(page: Page, site: Site, name: str) -> tuple[str, str]:
    """Sign up through the form and verify the address with the mailed link; return (email, id)."""
    email = f"{name.split()[0].lower()}-{secrets.token_hex(4)}@example.com"
    page.goto("/signup")
    page.get_by_label("Name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response("**/api/auth/register") as reg:
        page.get_by_role("button", name="Sign up").click()
    user_id = reg.value.json()["id"]
    expect(page.get_by_test_id("signup-done")).to_contain_text(email)
    token = site.mailed_token(email, "email_verification_requested")
    page.goto(f"/verify-email?token={token}")
    expect(page.get_by_test_id("verify-result")).to_have_text("Your e-mail address is verified.")
    return email, user_id


def log_in(page: Page, email: str, totp: pyotp.TOTP | None = None) -> None:
    """Log in through the form (with a TOTP code when 2FA is on) and land on the dashboard."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if totp is not None:
        expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
        # The step after the one 2FA setup spent: a code is never accepted twice.
        page.get_by_label("Code").fill(totp.at(time.time() + 30))
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("^Welcome,"))).to_be_visible()
