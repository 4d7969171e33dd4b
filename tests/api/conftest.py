"""Fixtures for the REST service tests: one small engine (a fixed scorer, no model training), an app
factory with a token per role, and clients that run the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_support import TOKENS
from fastapi.testclient import TestClient

from autofin.api import ApiSettings, create_app
from autofin.decision.engine import DecisionEngine
from decision_support import FixedScorer


@pytest.fixture(scope="session")
def engine() -> DecisionEngine:
    """The demo catalogue and policy with a scorer that gives every applicant 700 points."""
    return DecisionEngine.load(FixedScorer(700.0))


@pytest.fixture
def make_client(engine: DecisionEngine, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a started client; keyword arguments go to :class:`ApiSettings` (the store defaults to a
    SQLite file in ``tmp_path``)."""
    clients: list[TestClient] = []

    def make(*, raise_server_exceptions: bool = True, **settings: object) -> TestClient:
        opts: dict[str, object] = {
            "tokens": TOKENS,
            "engine_factory": lambda: engine,
            "database_url": f"sqlite:///{tmp_path / 'autofin.db'}",
            **settings,
        }
        client = TestClient(create_app(ApiSettings(**opts)), raise_server_exceptions=raise_server_exceptions)  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A started client with the default settings (generous rate limit)."""
    return make_client(rate_per_second=1000.0, burst=1000)
