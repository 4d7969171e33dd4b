"""The demo history (autofin.demo_history.seed_history): deterministic for a seed, exactly-once, spread
over the window, with contracts, quotes and referred applications left in the queue; and ``autofin serve``
seeds it into an empty database only."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from autofin.decision.engine import DecisionEngine
from autofin.demo_history import DEALERS, HistoryReport, seed_history
from autofin.errors import ValidationError
from autofin.store import audit
from autofin.store.crypto import KeyRing
from autofin.store.db import make_engine, session_factory, upgrade
from autofin.store.models import ApplicationRow, ContractRow, DecisionRow, QuoteLogRow
from decision_support import FixedScorer

NOW = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(700.0))


def _store(folder: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{folder / 'autofin.db'}"
    upgrade(url)
    return session_factory(make_engine(url))


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as s:
        apps = sorted(
            (a.application["application_id"], a.dealer_id, a.submitted_at, a.status)
            for a in s.scalars(select(ApplicationRow))
        )
        by_id = {a.id: a.application["application_id"] for a in s.scalars(select(ApplicationRow))}
        contracts = sorted(
            (by_id[c.application_id], c.product_id, c.amount_financed) for c in s.scalars(select(ContractRow))
        )
        quotes = sorted(
            (q.at, q.dealer_id, q.product_id, q.amount_financed) for q in s.scalars(select(QuoteLogRow))
        )
    return {"apps": apps, "contracts": contracts, "quotes": quotes}


def test_history_is_deterministic_and_seeded_once(tmp_path: Path, engine: DecisionEngine) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = _store(tmp_path / "a"), _store(tmp_path / "b")
    first = seed_history(one, engine, KeyRing(os.urandom(32)), applications=40, days=30, seed=5, now=NOW)
    other = seed_history(two, engine, KeyRing(os.urandom(32)), applications=40, days=30, seed=5, now=NOW)
    assert first.created == other.created == 40 and first.existing == 0
    assert _snapshot(one) == _snapshot(two)
    assert (first.outcomes, first.contracts, first.quotes) == (other.outcomes, other.contracts, other.quotes)
    again = seed_history(one, engine, KeyRing(os.urandom(32)), applications=40, days=30, seed=5, now=NOW)
    assert (again.created, again.existing, again.contracts, again.quotes) == (0, 40, 0, 0)
    assert _snapshot(one) == _snapshot(two)
    with one() as s:
        assert audit.verify(s).ok


def test_another_seed_gives_another_history(tmp_path: Path, engine: DecisionEngine) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _store(tmp_path / "a"), _store(tmp_path / "b")
    seed_history(a, engine, KeyRing(os.urandom(32)), applications=12, days=30, seed=1, now=NOW)
    seed_history(b, engine, KeyRing(os.urandom(32)), applications=12, days=30, seed=2, now=NOW)
    assert _snapshot(a)["apps"] != _snapshot(b)["apps"]


def test_history_is_spread_booked_quoted_and_queued(tmp_path: Path, engine: DecisionEngine) -> None:
    sessions = _store(tmp_path)
    report = seed_history(
        sessions, engine, KeyRing(os.urandom(32)), applications=60, days=45, seed=7, now=NOW
    )
    with sessions() as s:
        apps = list(s.scalars(select(ApplicationRow)))
        decisions = {d.application_id: d for d in s.scalars(select(DecisionRow))}
        contracts = list(s.scalars(select(ContractRow)))
        quotes = list(s.scalars(select(QuoteLogRow)))
    assert len(apps) == report.created == 60
    # submitted over the window, before now, on many different days
    assert all(NOW - timedelta(days=45) <= a.submitted_at < NOW for a in apps)
    assert len({a.submitted_at.date() for a in apps}) >= 20
    assert {a.dealer_id for a in apps} == {d for d, _ in DEALERS}
    assert all(a.application["application_id"].startswith("history-") for a in apps)
    # the outcomes reported are the stored decisions'
    assert Counter(d.outcome for d in decisions.values()) == Counter(report.outcomes)
    assert len({d.outcome for d in decisions.values()}) >= 2
    # contracts: about 60 % of the approved, each on an approved application, booked status
    approved = [a for a in apps if decisions[a.id].outcome in ("approve", "counter_offer")]
    assert len(contracts) == report.contracts
    assert 0.3 * len(approved) <= len(contracts) <= 0.9 * len(approved)
    booked = {c.application_id for c in contracts}
    assert all(a.status == "booked" for a in apps if a.id in booked)
    # quotes: about three per application, each before the application it led to
    assert len(quotes) == report.quotes
    assert 1.5 * len(apps) <= len(quotes) <= 4 * len(apps)
    assert all(q.channel == "web" and q.role == "dealer" and q.at < NOW for q in quotes)
    # referred applications stay in the underwriter queue
    assert sum(a.status == "refer" for a in apps) == report.referred == report.outcomes.get("refer", 0)
    assert "60 history applications" in report.summary()


@pytest.mark.parametrize(
    "kwargs,field",
    [({"applications": 0}, "applications"), ({"days": 400}, "days"), ({"now": datetime(2026, 1, 1)}, "now")],
)
def test_bad_arguments_name_the_field(
    tmp_path: Path, engine: DecisionEngine, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        seed_history(_store(tmp_path), engine, KeyRing(os.urandom(32)), **kwargs)
    assert info.value.field == field


def test_serve_seeds_the_history_into_an_empty_database_only(
    tmp_path: Path, engine: DecisionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    import autofin.cli.decide
    from autofin.cli import app as cli_app

    calls: list[dict[str, Any]] = []

    def fake_history(*args: Any, **kwargs: Any) -> HistoryReport:
        calls.append(kwargs)
        return HistoryReport(created=7, existing=0, outcomes={"approve": 7}, contracts=3, quotes=20)

    monkeypatch.delenv("AUTOFIN_SECRET_KEY", raising=False)
    monkeypatch.delenv("AUTOFIN_API_TOKENS_FILE", raising=False)
    monkeypatch.setattr(autofin.cli.decide, "build_engine", lambda models: engine)
    monkeypatch.setattr("autofin.demo_history.seed_history", fake_history)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    url = f"sqlite:///{tmp_path / 'autofin.db'}"
    for run in range(2):
        result = CliRunner().invoke(cli_app, ["serve", "--port", "8765", "--database", url])
        assert result.exit_code == 0, result.output
        assert ("seeded 7 history applications (approve 7), 3 contracts, 20 quotes" in result.output) is (
            run == 0
        )
    assert len(calls) == 1
