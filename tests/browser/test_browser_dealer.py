"""The dealer desk in a real browser: sign in, submit the prefilled application, see the decision with
the offer menu and its chart drawn, open a schedule, choose an offer, open the disclosure; another dealer
gets the 404 page for that application; the desk in Chinese through the header's language switch; the
pages fit a 360 px wide screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from browser_support import LiveServer, PageLog, login

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect


def _clean(log: PageLog) -> None:
    assert log.blocked == [], f"requests left the machine: {log.blocked}"
    assert log.page_errors == [], f"uncaught exceptions: {log.page_errors}"
    assert log.console_errors == [], f"console errors: {log.console_errors}"


def _submit_prefilled(page: Page, server: LiveServer) -> str:
    """From the desk, open the form, submit it as prefilled; returns the application page's URL."""
    page.get_by_role("link", name="New application").click()
    page.wait_for_url(f"{server.url}/dealer/new")
    expect(page.locator("#f-applicant-age")).to_have_value("38")
    page.locator("form[action='/dealer/new'] button[type=submit]").click()
    page.wait_for_url("**/dealer/applications/*")
    return page.url


def test_dealer_flow_end_to_end(server: LiveServer, make_page: Callable[..., tuple[Page, PageLog]]) -> None:
    page, log = make_page("en-US")
    login(page, server, "dealer-001")
    assert page.url == f"{server.url}/dealer"
    app_url = _submit_prefilled(page, server)

    expect(page.locator(".outcome.outcome-approve").first).to_be_visible()
    offers = page.locator("li.offer")
    assert offers.count() >= 2
    expect(page.locator('div.chart[data-drawn="true"]')).to_have_count(1)
    assert page.locator('div.chart[data-drawn="true"] .main-svg').count() >= 1  # plotly drew it

    first = offers.first
    schedule = first.locator("details table")
    expect(schedule).to_be_hidden()
    first.locator("summary").click()
    expect(schedule).to_be_visible()
    assert schedule.locator("tbody tr").count() == 36  # the example asks for 36 months

    first.get_by_role("button", name="Choose this offer").click()
    page.wait_for_url("**/dealer/contracts/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contract")
    page.get_by_role("link", name="Print disclosure").click()
    page.wait_for_url("**/disclosure?lang=en")
    expect(page.locator("h1")).to_contain_text("Credit contract disclosure")
    _clean(log)

    # another dealer opening that application sees the 404 page, nothing of the application
    other, other_log = make_page("en-US")
    login(other, server, "dealer-002")
    response = other.goto(app_url)
    assert response is not None and response.status == 404
    expect(other.get_by_role("alert")).to_have_text("There is no such page or record.")
    assert "Choose this offer" not in other.content()
    assert other_log.blocked == []


def test_desk_in_chinese_through_the_language_switch(
    server: LiveServer, make_page: Callable[..., tuple[Page, PageLog]]
) -> None:
    page, log = make_page("en-US")
    login(page, server, "dealer-001")
    expect(page.get_by_role("heading", level=1)).to_have_text("My applications")
    page.get_by_role("link", name="中文").click()
    page.wait_for_url("**/dealer?lang=zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的申请")
    page.get_by_role("link", name="新建申请").click()  # the language is remembered by the cookie
    expect(page.get_by_role("heading", level=1)).to_have_text("新建申请")
    expect(page.get_by_label("年龄（周岁）")).to_have_value("38")
    _clean(log)


def test_pages_fit_a_small_screen(server: LiveServer, make_page: Callable[..., tuple[Page, PageLog]]) -> None:
    page, log = make_page("en-US")
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, server, "dealer-001")
    app_url = _submit_prefilled(page, server)
    for url in (f"{server.url}/dealer", f"{server.url}/dealer/new", app_url):
        page.goto(url)
        if url == app_url:
            expect(page.locator('div.chart[data-drawn="true"]')).to_have_count(1)
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (url, width)
    _clean(log)
