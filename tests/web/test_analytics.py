"""The dashboard numbers (autofin.web.analytics) against counts made directly from the stored rows, after
seeding a small demo history — on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres, trust auth;
the PostgreSQL parameter is skipped with the reason when the server cannot be reached)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from autofin.decision.engine import DecisionEngine
from autofin.demo_history import seed_history
from autofin.store.crypto import KeyRing
from autofin.store.db import make_engine, session_factory, upgrade
from autofin.store.models import ApplicationRow, ContractRow, DecisionRow, QuoteLogRow
from autofin.web import analytics
from db_support import DB_PARAMS, database_url
from decision_support import FixedScorer

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
APPLICATIONS = 36


@pytest.fixture(params=DB_PARAMS, scope="module")
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database: a SQLite file, or a uniquely named PostgreSQL database dropped afterwards
    (one per module and database: the seeded history is shared by the tests, which only read it, except
    :func:`test_a_later_decision_replaces_the_outcome`, whose change keeps every other test's equality)."""
    with database_url(request.param, tmp_path_factory.mktemp("analytics") / "autofin.db") as url:
        yield url


@pytest.fixture(scope="module")
def engine() -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(700.0))


@pytest.fixture(scope="module")
def sessions(db_url: str, engine: DecisionEngine) -> Iterator[sessionmaker[Session]]:
    """The store at ``db_url`` with a seeded history of :data:`APPLICATIONS` applications over 60 days."""
    upgrade(db_url)
    db = make_engine(db_url)
    factory = session_factory(db)
    report = seed_history(
        factory, engine, KeyRing(os.urandom(32)), applications=APPLICATIONS, days=60, seed=11, now=NOW
    )
    assert report.created == APPLICATIONS
    try:
        yield factory
    finally:
        db.dispose()


def _direct(session: Session, since: datetime, until: datetime, dealer: str | None) -> dict[str, object]:
    """The dashboard numbers counted in Python from every stored row (no SQL filtering)."""
    apps = [
        a
        for a in session.scalars(select(ApplicationRow))
        if since <= a.submitted_at < until and (dealer is None or a.dealer_id == dealer)
    ]
    ids = {a.id for a in apps}
    latest: dict[str, DecisionRow] = {}
    first: dict[str, DecisionRow] = {}
    for d in session.scalars(select(DecisionRow)):
        if d.application_id not in ids:
            continue
        if d.application_id not in latest or d.decided_at >= latest[d.application_id].decided_at:
            latest[d.application_id] = d
        if d.application_id not in first or d.decided_at < first[d.application_id].decided_at:
            first[d.application_id] = d
    contracts = [c for c in session.scalars(select(ContractRow)) if c.application_id in ids]
    quotes = [
        q
        for q in session.scalars(select(QuoteLogRow))
        if since <= q.at < until and (dealer is None or q.dealer_id == dealer)
    ]
    approved = sum(d.outcome in ("approve", "counter_offer") for d in latest.values())
    return {
        "applications": len(apps),
        "decided": len(latest),
        "approved": approved,
        "booked": len(contracts),
        "quotes": len(quotes),
        "outcomes": Counter(d.outcome for d in latest.values()),
        "segments": Counter(str(d.record.get("segment")) for d in first.values()),
        "booked_products": Counter(c.product_id for c in contracts),
        "amount": sum((Decimal(c.amount_financed) for c in contracts), Decimal(0)),
        "rates": sorted(float(c.offer["headline_rate"]) for c in contracts),
    }


@pytest.mark.parametrize("days,dealer", [(90, None), (30, None), (90, "dealer-002")])
def test_dashboard_numbers_equal_direct_counts(
    sessions: sessionmaker[Session], days: int, dealer: str | None
) -> None:
    w = analytics.window(days, dealer, now=NOW)
    with sessions() as session:
        want = _direct(session, w.since, w.until, dealer)
        facts = analytics.application_facts(session, w)
        kpis = analytics.kpis(session, w, facts)
        funnel = analytics.funnel(session, w, facts)
        products = analytics.product_mix(session, w, facts)
    assert want["applications"] and int(str(want["applications"])) > 0
    assert (kpis.applications, kpis.decided, kpis.approved, kpis.booked) == (
        want["applications"], want["decided"], want["approved"], want["booked"],
    )  # fmt: skip
    assert (funnel.quotes, funnel.applications, funnel.approved, funnel.booked) == (
        want["quotes"], want["applications"], want["approved"], want["booked"],
    )  # fmt: skip
    assert kpis.approval_rate == (Decimal(kpis.approved) / Decimal(kpis.decided)).quantize(Decimal("0.0001"))
    if kpis.booked:
        assert kpis.avg_amount_financed == (Decimal(str(want["amount"])) / kpis.booked).quantize(
            Decimal("0.01")
        )
        rates = want["rates"]
        assert isinstance(rates, list)
        assert kpis.avg_booked_rate == pytest.approx(sum(rates) / len(rates))
    outcomes = Counter({o: 0 for o in analytics.OUTCOMES})
    for row in analytics.segment_mix(facts):
        outcomes[row.outcome] += row.count
    assert +outcomes == want["outcomes"]
    segments: Counter[str] = Counter()
    for row in analytics.segment_mix(facts):
        segments[row.segment] += row.count
    assert segments == want["segments"]
    assert Counter({p.product_id: p.booked for p in products if p.booked}) == want["booked_products"]
    volume = analytics.volume(facts, "week")
    assert sum(p.count for p in volume) == want["applications"]
    assert all(p.start.weekday() == 0 for p in volume)


def test_a_later_decision_replaces_the_outcome(sessions: sessionmaker[Session]) -> None:
    """An underwriter's decision (a newer decision row) is the application's outcome."""
    w = analytics.window(90, now=NOW)
    with sessions() as session:
        facts = analytics.application_facts(session, w)
        declined = next(f for f in facts if f.outcome == "decline")
        before = analytics.kpis(session, w, facts).approved
    with sessions() as session, session.begin():
        session.add(
            DecisionRow(
                application_id=declined.id, outcome="approve", version_digest="x" * 64,
                record_digest="y" * 64, record={"outcome": "approve"},
                decided_at=datetime.now(UTC) + timedelta(seconds=5),
            )
        )  # fmt: skip
    with sessions() as session:
        facts = analytics.application_facts(session, w)
        again = next(f for f in facts if f.id == declined.id)
        assert again.outcome == "approve"
        assert again.segment == declined.segment  # segment and top offer stay the engine's first
        assert analytics.kpis(session, w, facts).approved == before + 1


def test_pricing_samples_are_the_top_offer_rates(sessions: sessionmaker[Session]) -> None:
    w = analytics.window(90, now=NOW)
    with sessions() as session:
        facts = analytics.application_facts(session, w)
    samples = analytics.pricing(facts)
    assert sum(s.count for s in samples) == sum(f.top_rate is not None for f in facts) > 0
    for s in samples:
        assert list(s.rates) == sorted(s.rates)
        assert 0 < s.rates[0] <= s.quantile(0.5) <= s.rates[-1] < 0.24  # type: ignore[operator]


def test_dealers_and_window_validation(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert analytics.dealers(session) == ["dealer-001", "dealer-002", "dealer-003"]
    from autofin.errors import ValidationError

    with pytest.raises(ValidationError, match="days"):
        analytics.window(7)
    with pytest.raises(ValidationError, match="bucket"):
        analytics.volume([], "month")  # type: ignore[arg-type]
