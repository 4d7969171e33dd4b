"""Shared by the browser tests: the live server handle, an offline guard and a log of each page's errors,
and :func:`login`.

Importable from the tests in this folder (pytest puts the folder of a test module without
``__init__.py`` on ``sys.path``); the name is unique so that it never shadows another helper.

Pages must work offline: :func:`watch` aborts every request to a host other than the loopback
addresses and records it, so a page that reaches for a CDN, a web font or an analytics host fails its
test instead of silently depending on the internet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import ConsoleMessage, Error, Page, Route

#: Debian's chromium (package ``chromium``, installed by ``.ci/run``); ``AUTOFIN_CHROMIUM`` overrides it.
CHROMIUM = Path(os.environ.get("AUTOFIN_CHROMIUM", "/usr/bin/chromium"))
#: Hosts a page may load from: the live server only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: URL schemes that never leave the browser.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
#: Milliseconds Playwright waits for a page event before failing (a generous bound, never asserted on).
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class LiveServer:
    """The app served by uvicorn on ``url`` (``http://127.0.0.1:<port>``, no trailing slash) for the
    session; ``tokens`` maps each demo principal's name (``dealer-001``, ``dealer-002``,
    ``underwriter``, ``analyst``, ``admin``, ``customer``) to its API token; ``app`` is the running
    FastAPI application (its ``state`` holds the store: ``sessions``, ``engine``, ``keys``)."""

    url: str
    tokens: dict[str, str]
    app: FastAPI


@dataclass
class PageLog:
    """What went wrong on a page: requests aborted because they left the machine (URLs), console
    messages of type ``error`` (text with their source location) and uncaught page exceptions."""

    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


def is_local(url: str) -> bool:
    """Whether ``url`` stays on this machine: a loopback host, or a ``data:``/``blob:``/``about:`` URL."""
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in LOOPBACK_HOSTS


def watch(page: Page) -> PageLog:
    """Block and record every non-local request of ``page`` and record its console errors and uncaught
    exceptions; returns the log, filled as the page runs."""
    log = PageLog()

    def route(r: Route) -> None:
        url = r.request.url
        if is_local(url):
            r.continue_()
        else:
            log.blocked.append(url)
            r.abort("blockedbyclient")

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location
            log.console_errors.append(f"{msg.text} ({where.get('url', '?')}:{where.get('lineNumber', '?')})")

    def page_error(err: Error) -> None:
        log.page_errors.append(f"{err.name}: {err.message}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", page_error)
    return log


def login(page: Page, server: LiveServer, principal_name: str) -> None:
    """Sign ``page`` in as the demo principal ``principal_name`` through the web login form.

    Contract of ``GET /login``: a form with one password input named ``token`` and a submit button;
    posting it sets an HttpOnly session cookie and redirects to the role's home page. Returns once that
    page has loaded; raises ``KeyError`` for an unknown principal and Playwright's ``TimeoutError`` when
    the form is missing or the sign-in does not navigate away from ``/login``."""
    token = server.tokens[principal_name]
    page.goto(f"{server.url}/login", timeout=TIMEOUT_MS)
    page.fill("input[name=token]", token, timeout=TIMEOUT_MS)
    page.click("button[type=submit]", timeout=TIMEOUT_MS)
    page.wait_for_url(lambda url: urlsplit(url).path != "/login", timeout=TIMEOUT_MS)
    page.wait_for_load_state("load", timeout=TIMEOUT_MS)
