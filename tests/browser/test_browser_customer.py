"""The customer calculator and the analyst dashboards in a real browser (Debian's chromium): the form
submits, the payment, the schedule and the chart appear, the language switch gives the same payment in
Chinese, the page fits a 360 px screen, and the dashboards draw their five charts after signing in."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from browser_support import TIMEOUT_MS, LiveServer, PageLog, login

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect


def _amount(text: str) -> Decimal:
    """The number in a formatted amount (``CN¥3,612.40`` / ``¥3,612.40``)."""
    digits = re.sub(r"[^\d.]", "", text)
    return Decimal(digits)


def _assert_clean(log: PageLog, *, expected_status: str | None = None) -> None:
    """No request left the machine, no uncaught exception, no console error (but the browser's report
    of an ``expected_status`` answer, e.g. the 422 of a form re-rendered with its errors)."""
    assert log.blocked == [], f"requests left the machine: {log.blocked}"
    assert log.page_errors == [], f"uncaught exceptions: {log.page_errors}"
    errors = [e for e in log.console_errors if not (expected_status and f"status of {expected_status}" in e)]
    assert errors == [], f"console errors: {errors}"


def test_calculator_unsigned_then_in_chinese(server: LiveServer, page: Page, page_log: PageLog) -> None:
    page.goto(f"{server.url}/customer/calculator?lang=en")
    expect(page.locator("h1")).to_have_text("Payment calculator")
    page.select_option("#product", "cn-standard-equal-instalment")
    page.fill("#price", "150000")
    page.fill("#down", "25")
    page.select_option("#term", "48")
    page.click("button[type=submit]")
    payment = page.locator("#monthly-payment")
    expect(payment).to_be_visible()
    assert "term=48" in page.url and "price=150000" in page.url  # a shareable URL
    expect(page.locator("#schedule tbody tr")).to_have_count(48)
    expect(page.locator('div[data-drawn="true"]')).to_have_count(1, timeout=TIMEOUT_MS)
    en_payment = _amount(payment.inner_text())
    assert en_payment > 0
    page.click('a[hreflang="zh-CN"]')
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("月供计算器")
    expect(page.locator("#schedule caption")).to_contain_text("还款计划")
    assert _amount(page.locator("#monthly-payment").inner_text()) == en_payment
    expect(page.locator('div[data-drawn="true"]')).to_have_count(1, timeout=TIMEOUT_MS)
    _assert_clean(page_log)


def test_calculator_fits_a_small_screen_and_marks_a_bad_term(
    server: LiveServer, page: Page, page_log: PageLog
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{server.url}/customer/calculator?lang=en")
    page.select_option("#product", "cn-balloon-flex")
    page.select_option("#term", "60")
    page.click("button[type=submit]")
    expect(page.locator("#term")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#term-error")).to_contain_text("24, 36, 48")
    page.select_option("#term", "36")
    page.click("button[type=submit]")
    expect(page.locator("#monthly-payment")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a 360 px screen"
    _assert_clean(page_log, expected_status="422")


def test_analyst_dashboard_draws_its_charts(server: LiveServer, page: Page, page_log: PageLog) -> None:
    login(page, server, "analyst")
    assert page.url.endswith("/analyst")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator('div[data-drawn="true"]')).to_have_count(5, timeout=TIMEOUT_MS)
    page.select_option("#days", "90")
    page.click("form[action='/analyst'] button[type=submit]")
    expect(page.locator("#days")).to_have_value("90")
    expect(page.locator('div[data-drawn="true"]')).to_have_count(5, timeout=TIMEOUT_MS)
    _assert_clean(page_log)
