"""The interactive API docs (Swagger UI at /docs, ReDoc at /redoc) render in a real browser with every
request outside the live server blocked: their scripts and styles come from the installed package, not
from a CDN."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import LiveServer, PageLog
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient

from autofin.api import ApiSettings, create_app
from autofin.api.docs_ui import STATIC_NAME, STATIC_PREFIX, SWAGGER_CSS, SWAGGER_JS, install_docs

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect


def _operations(server: LiveServer) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the live OpenAPI document."""
    with urllib.request.urlopen(f"{server.url}/openapi.json", timeout=10) as resp:
        doc = json.load(resp)
    return [(method.upper(), path) for path, ops in doc["paths"].items() for method in ops]


def _assert_clean(log: PageLog) -> None:
    assert log.blocked == [], f"requests left the machine: {log.blocked}"
    assert log.page_errors == [], f"uncaught exceptions: {log.page_errors}"


def test_swagger_ui_renders_every_operation_offline(
    server: LiveServer, page: Page, page_log: PageLog
) -> None:
    page.goto(f"{server.url}/docs")
    submit = page.locator(
        ".opblock-post", has=page.locator('.opblock-summary-path[data-path="/v1/applications"]')
    )
    expect(submit.locator(".opblock-summary-method", has_text="POST")).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("autofin")
    rendered = page.locator(".opblock").evaluate_all(
        "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
        " e.querySelector('.opblock-summary-path').getAttribute('data-path')])"
    )
    assert sorted(map(tuple, rendered)) == sorted(_operations(server))
    _assert_clean(page_log)


def test_swagger_ui_loads_assets_from_the_server(server: LiveServer, page: Page, page_log: PageLog) -> None:
    loaded: list[str] = []
    page.on("requestfinished", lambda req: loaded.append(req.url))
    page.goto(f"{server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    for asset in (SWAGGER_JS, SWAGGER_CSS):
        assert f"{server.url}{STATIC_PREFIX}/{asset}" in loaded
    assert f"{server.url}/openapi.json" in loaded
    _assert_clean(page_log)


def test_swagger_ui_console_has_no_errors(server: LiveServer, page: Page, page_log: PageLog) -> None:
    page.goto(f"{server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page_log.console_errors == []
    _assert_clean(page_log)


def test_swagger_ui_expands_an_operation(server: LiveServer, page: Page, page_log: PageLog) -> None:
    page.goto(f"{server.url}/docs")
    health = page.locator(".opblock", has=page.locator('.opblock-summary-path[data-path="/v1/health"]'))
    health.locator(".opblock-summary").click()
    expect(health.locator(".responses-wrapper")).to_be_visible()
    expect(health.get_by_text("200", exact=True).first).to_be_visible()
    _assert_clean(page_log)


def test_redoc_is_switched_off(server: LiveServer, page: Page, page_log: PageLog) -> None:
    """ReDoc's bundle fetches its logo from the vendor's CDN, so the page is not served at all."""
    response = page.goto(f"{server.url}/redoc")
    assert response is not None and response.status == 404
    _assert_clean(page_log)


@pytest.mark.parametrize("locale", ["zh-CN"])
def test_docs_render_under_a_chinese_locale(server: LiveServer, page: Page, page_log: PageLog) -> None:
    assert page.evaluate("navigator.language") == "zh-CN"
    page.goto(f"{server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    _assert_clean(page_log)


def test_offline_guard_blocks_and_records_outside_requests(
    page: Page, page_log: PageLog, server: LiveServer
) -> None:
    """The guard itself: a page that asks a CDN for a script gets nothing and the URL is recorded."""
    page.goto(f"{server.url}/docs")
    status = page.evaluate(
        "() => fetch('https://cdn.example.invalid/x.js').then(() => 'loaded', () => 'blocked')"
    )
    assert status == "blocked"
    assert page_log.blocked == ["https://cdn.example.invalid/x.js"]
    page_log.blocked.clear()  # expected here; the fixture fails any other test that leaves one


def test_install_docs_without_a_browser(tmp_path: Path) -> None:
    """Served HTML names no outside host; calling install_docs twice, or after a broader /static mount,
    still serves the packaged assets; the CDN-backed FastAPI pages are gone."""
    app = create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'autofin.db'}"))
    app.mount("/static", StaticFiles(directory=tmp_path), name="other-static")
    install_docs(app)
    install_docs(app)
    assert sum(getattr(r, "name", None) == STATIC_NAME for r in app.routes) == 1
    assert [getattr(r, "path", None) for r in app.routes].count("/docs") == 1
    with TestClient(app) as client:
        html = client.get("/docs").text
        assert re.findall(r"https?://[^\"' ]+", html) == []
        assert f"{STATIC_PREFIX}/{SWAGGER_JS}" in html
        for asset in (SWAGGER_JS, SWAGGER_CSS):
            got = client.get(f"{STATIC_PREFIX}/{asset}")
            assert got.status_code == 200 and len(got.content) > 10_000
        assert client.get("/redoc").status_code == 404
        assert client.get("/docs/oauth2-redirect").status_code == 200
    assert app.redoc_url is None and app.docs_url == "/docs"
