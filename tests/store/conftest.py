"""Fixtures of the store tests: every test runs on a SQLite file and on a fresh PostgreSQL database.

PostgreSQL: see :mod:`db_support` (``127.0.0.1:5432``, user ``postgres``, trust auth; override with
``AUTOFIN_TEST_POSTGRES_URL``). Its parameters are skipped, with the reason, only when that server cannot
be reached.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from autofin.decision.application import Application
from autofin.decision.engine import Decision, DecisionEngine
from autofin.store.crypto import KeyRing
from autofin.store.db import make_engine, session_factory, upgrade
from db_support import DB_PARAMS, database_url
from decision_support import FixedScorer

ROOT = Path(__file__).resolve().parents[2]
APPROVE = ROOT / "examples" / "decisions" / "approve.json"


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in ``tmp_path``, or a uniquely named PostgreSQL database that
    is dropped afterwards."""
    with database_url(request.param, tmp_path / "autofin.db") as url:
        yield url


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing(os.urandom(32))


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, keys: KeyRing) -> KeyRing:
    """``AUTOFIN_SECRET_KEY`` set to the test key ring's key."""
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", base64.b64encode(keys.primary).decode())
    return keys


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the database migrated to head."""
    upgrade(db_url)
    eng = (
        make_engine(db_url, pool_size=20, max_overflow=10) if "postgresql" in db_url else make_engine(db_url)
    )
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def decision_engine() -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(700.0))


@pytest.fixture(scope="session")
def approve_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(APPROVE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def decision(decision_engine: DecisionEngine, approve_data: dict[str, Any]) -> Decision:
    return decision_engine.decide(approve_data)


@pytest.fixture(scope="session")
def application(decision_engine: DecisionEngine, approve_data: dict[str, Any]) -> Application:
    return decision_engine.parse(approve_data)
