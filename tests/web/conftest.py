"""Fixtures of the web page tests: the whole service (API + pages) with one small engine (a scorer that
gives every applicant 700 points), a token per demo principal, a fresh SQLite store (SQLite and PostgreSQL) seeded with the demo
applications, and a client per principal signed in through the ``/login`` form."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import TOKENS, token_of

from autofin.api import ApiSettings, create_app
from autofin.cli.serve import seed_demo
from autofin.decision.engine import DecisionEngine
from autofin.store.crypto import generate_key
from db_support import DB_PARAMS, database_url
from decision_support import FixedScorer


@pytest.fixture(scope="session")
def web_engine() -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(700.0))


@pytest.fixture(params=DB_PARAMS)
def site(
    request: pytest.FixtureRequest,
    web_engine: DecisionEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """A started service with the demo applications, no one signed in: on a fresh SQLite file and on a
    fresh PostgreSQL database (every page test runs on both; PostgreSQL takes its key for personal data
    from ``AUTOFIN_SECRET_KEY``)."""
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", generate_key())
    with database_url(request.param, tmp_path / "autofin.db") as url:
        settings = ApiSettings(
            tokens=TOKENS,
            engine_factory=lambda: web_engine,
            database_url=url,
            rate_per_second=1000.0,
            burst=1000,
        )
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            app = client.app
            seed_demo(app.state.sessions, app.state.engine, app.state.keys)  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def signed_in(site: TestClient) -> Callable[[str], TestClient]:
    """``signed_in(name)``: the site's client signed in as the demo principal ``name`` (``dealer-001``,
    ``dealer-002``, ``customer``, ``underwriter``, ``analyst``, ``admin``) through the sign-in form.
    One client holds one cookie: signing in as another principal replaces it."""

    def sign_in(name: str) -> TestClient:
        site.cookies.clear()
        response = site.post("/login", data={"token": token_of(name), "next": ""}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return site

    return sign_in
