"""Fixtures of the browser tests: the real app served by uvicorn on a free loopback port (one per test
session, with the demo applications seeded), Debian's chromium driven by Playwright, and a fresh
browser context per test.

Chromium is the Debian package (``/usr/bin/chromium``, installed by ``.ci/run``), launched headless with
``--no-sandbox`` (tests run as root in CI); Playwright's own browser downloads are never used. Without
that binary, or without the ``playwright`` package, the browser tests are skipped with the reason, except
under ``CI=true``, where a missing browser is an error: CI installs it, so a skip there would hide a
broken install.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import CHROMIUM, TIMEOUT_MS, LiveServer, PageLog, watch

from autofin.api import ApiSettings, Principal, create_app
from autofin.cli.serve import DEMO_PRINCIPALS, seed_demo
from autofin.decision.engine import DecisionEngine
from decision_support import FixedScorer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: Seconds to wait for the live server to answer /v1/health (a bound, never asserted on).
STARTUP_SECONDS = 30.0
#: The customer principal of the browser tests (the demo tokens file has no customer).
CUSTOMER = ("customer", "customer", None)


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"Debian chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does this)"
    return None


def _require_browser() -> None:
    reason = _missing_browser()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def _free_socket() -> socket.socket:
    """A listening-ready TCP socket bound to a free loopback port (handed to uvicorn: no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped while starting (see the log above)")
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer {url}/v1/health in {STARTUP_SECONDS} s: {last}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on ``http://127.0.0.1:<free port>``: a SQLite store in a temporary folder, the demo
    catalogue with a scorer giving every applicant 700 points, one token per demo principal
    (:data:`autofin.cli.serve.DEMO_PRINCIPALS` and a customer) and the demo applications seeded."""
    _require_browser()
    import uvicorn

    folder: Path = tmp_path_factory.mktemp("live")
    engine = DecisionEngine.load(FixedScorer(700.0))
    tokens = {name: f"browser-{name}-token-0123456789" for name, _, _ in (*DEMO_PRINCIPALS, CUSTOMER)}
    principals = {
        tokens[name]: Principal(name=name, role=role, dealer_id=dealer)
        for name, role, dealer in (*DEMO_PRINCIPALS, CUSTOMER)
    }
    app = create_app(
        ApiSettings(
            tokens=principals,
            engine_factory=lambda: engine,
            database_url=f"sqlite:///{folder / 'autofin.db'}",
            rate_per_second=1000.0,
            burst=1000,
        )
    )
    sock = _free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        _wait_healthy(url, thread)
        seed_demo(app.state.sessions, app.state.engine, app.state.keys)
        yield LiveServer(url=url, tokens=tokens, app=app)
    finally:
        uv.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def locale() -> str:
    """The browser locale of :func:`page`; override with ``@pytest.mark.parametrize("locale", [...])``."""
    return "en-US"


@pytest.fixture
def make_page(browser: Browser) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """Open a page in a new browser context (own cookies) with ``locale`` (default ``en-US``) and
    :func:`browser_support.watch` on it; returns (page, log). Every context is closed after the test,
    and the test errors if any page requested a host other than the live server."""
    opened: list[tuple[Page, PageLog]] = []

    def make(locale: str = "en-US") -> tuple[Page, PageLog]:
        context = browser.new_context(locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        pair = (page, watch(page))
        opened.append(pair)
        return pair

    yield make
    blocked = [url for _, log in opened for url in log.blocked]
    for page, _ in opened:
        page.context.close()
    if blocked:
        pytest.fail(f"pages requested hosts other than the live server (blocked): {blocked}")


@pytest.fixture
def page_and_log(make_page: Callable[..., tuple[Page, PageLog]], locale: str) -> tuple[Page, PageLog]:
    """One watched page with the :func:`locale` fixture's locale, and its log."""
    return make_page(locale)


@pytest.fixture
def page(page_and_log: tuple[Page, PageLog]) -> Page:
    """A fresh page (new context, so signed out) with the :func:`locale` fixture's locale."""
    return page_and_log[0]


@pytest.fixture
def page_log(page_and_log: tuple[Page, PageLog]) -> PageLog:
    """The :class:`browser_support.PageLog` of :func:`page`."""
    return page_and_log[1]
