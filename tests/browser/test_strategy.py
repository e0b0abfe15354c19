"""A strategy from its first rule to a live paper deployment, in a real browser (issue 8 §3)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import Site, shot
from .flows import log_in, sign_up

pytestmark = pytest.mark.browser


def test_strategy_backtest_and_paper_deployment(site: Site, new_page) -> None:
    page = new_page()
    email, _ = sign_up(page, site, "Esha Quant")
    log_in(page, email)
    page.on("dialog", lambda d: d.accept())

    # a paper account to deploy on
    page.get_by_role("link", name="Brokerage").click()
    page.get_by_role("button", name="Link paper account").click()
    page.get_by_role("button", name="Link paper account").last.click()
    expect(page.get_by_test_id("account-label")).to_have_text("Paper")

    # a strategy with a rule error: the editor underlines it as you type; fixing it clears it
    page.get_by_role("link", name="Strategies").click()
    expect(page.get_by_text("No strategies yet")).to_be_visible()
    page.get_by_role("link", name="New strategy").click()
    page.get_by_label("Name").fill("SMA cross")
    picker = page.get_by_role("combobox", name="Instrument")
    picker.fill("RELIANCE")
    expect(page.get_by_role("option").first).to_contain_text("RELIANCE")
    picker.press("Enter")
    expect(page.get_by_test_id("picked-instrument")).to_contain_text("RELIANCE")
    page.get_by_label("Timeframe").select_option("1m")
    entry = page.get_by_label("Entry rule")
    entry.fill("sma(close, 10) crosses abve sma(close, 30)")
    expect(page.get_by_test_id("entryRule-error")).to_be_visible()
    expect(page.get_by_test_id("rule-error-span")).to_have_text("abve")
    shot(page, "20-rule-error")
    entry.fill("sma(close, 10) crosses above sma(close, 30)")
    expect(page.get_by_test_id("entryRule-ok")).to_be_visible()
    expect(page.get_by_test_id("entryRule-error")).to_have_count(0)
    page.get_by_label("Exit rule").fill("sma(close, 10) crosses below sma(close, 30)")
    expect(page.get_by_test_id("exitRule-ok")).to_be_visible()
    page.get_by_role("button", name="Create strategy").click()
    expect(page.get_by_role("heading", name="SMA cross")).to_be_visible()
    shot(page, "21-strategy")

    # backtest it on daily bars and watch it run to its results
    page.get_by_role("link", name="Backtest", exact=True).click()
    page.get_by_label("From", exact=True).fill("2021-01-01")
    page.get_by_label("To", exact=True).fill("2024-12-31")
    page.get_by_label("Interval").select_option("1d")
    page.get_by_role("button", name="Run backtest").click()
    expect(page).to_have_url(re.compile(r"/backtests/[A-Za-z0-9_-]+$"))
    expect(page.get_by_test_id("bt-status")).to_have_text("completed", timeout=60_000)
    expect(page.get_by_test_id("metrics")).to_contain_text("Total return")
    expect(page.get_by_test_id("equity-chart")).to_be_visible()
    expect(page.get_by_test_id("bt-trades").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("trades-chart")).to_be_visible()
    expect(page.get_by_test_id("max-drawdown")).to_contain_text("%")
    expect(page.get_by_test_id("heatmap")).to_contain_text("Jan")
    shot(page, "22-backtest-results")

    # the trades export is a CSV file of the trades on the page
    with page.expect_download() as dl:
        page.get_by_role("button", name="Trades CSV").click()
    csv_text = Path(dl.value.path()).read_text(encoding="utf-8")
    header, *rows = csv_text.strip().splitlines()
    assert "entry" in header.lower() and len(rows) == page.get_by_test_id("bt-trades").locator("tbody tr").count()

    # a second backtest on minute bars runs long enough to watch its progress bar move
    page.get_by_role("link", name="Strategies").click()
    page.get_by_role("link", name="SMA cross").click()
    page.get_by_role("link", name="Backtest", exact=True).click()
    page.get_by_label("From", exact=True).fill("2025-01-01")
    page.get_by_label("To", exact=True).fill("2025-06-30")
    page.get_by_label("Interval").select_option("1m")
    # record every value the bar shows (the app navigates in place, so this survives)
    page.evaluate("""() => {
      window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[role=progressbar]');
        if (bar) window.__progress.push(Number(bar.getAttribute('aria-valuenow')));
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    }""")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.get_by_test_id("bt-status")).to_have_text("completed", timeout=90_000)
    seen = page.evaluate("window.__progress")
    assert seen and seen == sorted(seen), seen  # shown while it ran, never going back

    # compare the two runs side by side
    page.get_by_role("link", name="Backtests").click()
    page.get_by_role("checkbox", name="Compare SMA cross").nth(0).check()
    page.get_by_role("checkbox", name="Compare SMA cross").nth(1).check()
    page.get_by_role("button", name="Compare (2)").click()
    table = page.get_by_test_id("compare-table")
    expect(table.locator("thead th")).to_have_count(3)
    expect(table).to_contain_text("Total return")
    shot(page, "22b-compare")

    # a second version that enters on the first bar, so a live signal comes quickly
    page.get_by_role("link", name="Strategies").click()
    page.get_by_role("link", name="SMA cross").click()
    page.get_by_label("Entry rule").fill("close > 0")
    page.get_by_label("Exit rule").fill("close < 0")
    expect(page.get_by_test_id("exitRule-ok")).to_be_visible()
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_test_id("versions").locator("li")).to_have_count(2)

    # deploy on paper: the risk must be acknowledged before the button works
    page.get_by_role("button", name="Deploy").click()
    deploy = page.get_by_role("dialog")
    expect(deploy.get_by_text("Risk warning.")).to_be_visible()
    expect(deploy.get_by_role("button", name="Deploy")).to_be_disabled()
    deploy.get_by_role("checkbox").check()
    shot(page, "23-deploy-modal")
    deploy.get_by_role("button", name="Deploy").click()
    expect(page.get_by_test_id("deployment-status")).to_have_text("active")

    # bars close faster on the simulator's clock: a signal, with its why, and its order arrive
    httpx.put(f"{site.sim_url}/sim/clock", json={"speed": 6}, timeout=10).raise_for_status()
    try:
        expect(page.get_by_test_id("signals").locator("li").first).to_be_visible(timeout=45_000)
        expect(page.get_by_test_id("deployment-orders").locator("tbody tr").first).to_be_visible(timeout=20_000)
    finally:
        httpx.put(f"{site.sim_url}/sim/clock", json={"speed": 1}, timeout=10).raise_for_status()
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    # the filled entry is a trade, on the monitor and on the trades page, with its details
    trade = page.get_by_test_id("strategy-trades").locator("tbody tr").first
    expect(trade).to_contain_text("RELIANCE", timeout=20_000)
    expect(trade).to_contain_text(re.compile("open|closed"), timeout=20_000)  # filled on paper
    shot(page, "24-deployment-live")
    page.get_by_role("link", name="Trades").click()
    expect(page.get_by_role("heading", name="Strategy trades")).to_be_visible()
    row = page.get_by_test_id("strategy-trades").locator("tbody tr").first
    expect(row).to_contain_text("long")
    expect(row).to_contain_text("₹")  # the entry price of the fill
    row.click()
    expect(page.get_by_test_id("trade-detail")).to_contain_text("RELIANCE")
    shot(page, "24b-trade-detail")
    page.get_by_role("link", name="open the monitor").click()

    # stop it
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog").get_by_role("button", name="Stop").click()
    expect(page.get_by_test_id("deployment-status")).to_have_text("stopped")
    shot(page, "25-deployment-stopped")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Recent backtests")).to_be_visible()
    expect(page.locator("[data-state=loading]")).to_have_count(0)
    shot(page, "26-dashboard")
