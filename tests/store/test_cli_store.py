"""``autofin db upgrade`` and ``autofin audit verify``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from autofin.cli import app
from autofin.store import audit
from autofin.store.db import make_engine, session_factory

runner = CliRunner()


def _append(url: str, n: int) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            for i in range(n):
                audit.append(s, "catalogue", f"cn-demo@{i}", {"products": i})
    finally:
        engine.dispose()


def test_db_upgrade_then_audit_verify(db_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "revision 0002" in result.output
    _append(db_url, 3)
    result = runner.invoke(app, ["audit", "verify", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "ok: 3 entries" in result.output


def test_audit_verify_names_the_first_bad_seq(db_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade", "--url", db_url]).exit_code == 0
    _append(db_url, 4)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET subject = 'forged' WHERE seq = 2"))
    finally:
        engine.dispose()
    result = runner.invoke(app, ["audit", "verify", "--url", db_url])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "seq 2" in lines[0] and "edited" in lines[0]


def test_url_from_environment_and_one_line_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("AUTOFIN_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (tmp_path / "env.db").exists()
    result = runner.invoke(app, ["audit", "verify", "--url", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: --url:") and len(result.output.strip().splitlines()) == 1
