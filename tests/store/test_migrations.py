"""Alembic migrations: an empty database goes to head, and the models match the migrations exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from autofin.store.db import current_revision, database_url, make_engine, normalise_url, upgrade
from autofin.store.models import Base


def test_upgrade_empty_database_to_head(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert upgrade(db_url) == "0002"
    assert upgrade(db_url) == "0002"  # idempotent
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"applications", "decisions", "audit_log", "alembic_version"} <= tables


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    try:
        for _ in range(2):
            with engine.connect() as conn:
                pragma = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
                }
                assert pragma == {
                    "journal_mode": "wal",
                    "foreign_keys": 1,
                    "busy_timeout": 10_000,
                    "synchronous": 1,
                }
    finally:
        engine.dispose()


def test_postgres_url_uses_psycopg() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_default_url_is_sqlite_file_in_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOFIN_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert database_url() == f"sqlite:///{tmp_path}/autofin.db"
    monkeypatch.setenv("AUTOFIN_DATABASE_URL", "postgresql://x@y/z")
    assert database_url() == "postgresql://x@y/z"
