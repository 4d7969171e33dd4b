"""The numbers behind the analyst dashboards, read from the store (SQLite or PostgreSQL).

Every function takes a session and a :class:`Window` (a period ``[since, until)`` in UTC and an optional
dealer) and returns plain frozen dataclasses; the pages turn them into tables and plotly figures.

Definitions (all counts are over the applications **submitted** in the window — a cohort view: an
application submitted on the last day and booked the day after counts as booked):

- *outcome* of an application: the outcome of its **latest** decision (an underwriter's approval of a
  referred application replaces the ``refer``); *approved*: outcome ``approve`` or ``counter_offer``;
- *booked*: a contract exists on the application (its status is then ``booked``);
- *segment*, *top offer*: from the application's first decision (the engine's); the top offer is the
  first entry of the list a dealer accepts from by default: the ``counter_offers`` of a
  ``counter_offer`` decision, else the ``offers`` (else the ``counter_offers``);
- *quotes*: rows of the quote log dated in the window (of the dealer, when one is chosen);
- *approval rate* = approved / applications with a decision; *booking rate* = booked / approved;
- *average amount financed* and *average rate* are over the **booked contracts** (amount in the
  contract's currency, major units; rate: the contract offer's headline annual rate — the APR, the CN
  annualised rate or a lease rate, whichever the product discloses).

Money stays :class:`~decimal.Decimal`; rates are annual decimals (floats: analytics, DESIGN.md). The
JSON fields are read with SQLAlchemy's JSON path operators, which work on both databases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autofin.errors import ValidationError
from autofin.store.models import ApplicationRow, ContractRow, DecisionRow, QuoteLogRow

__all__ = [
    "APPROVED",
    "PERIODS",
    "AppFact",
    "Funnel",
    "Kpis",
    "ProductMix",
    "RateSample",
    "SegmentMix",
    "VolumePoint",
    "Window",
    "application_facts",
    "dealers",
    "funnel",
    "kpis",
    "pricing",
    "product_mix",
    "segment_mix",
    "volume",
    "window",
]

#: The periods the dashboard offers (days back from now).
PERIODS: Final[tuple[int, ...]] = (30, 90, 365)
#: Outcomes that count as approved.
APPROVED: Final = frozenset({"approve", "counter_offer"})
#: The order outcomes are listed in.
OUTCOMES: Final[tuple[str, ...]] = ("approve", "counter_offer", "refer", "decline")
_RATIO = Decimal("0.0001")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Window:
    """The applications ``since <= submitted_at < until`` (UTC), of ``dealer_id`` when given."""

    since: datetime
    until: datetime
    dealer_id: str | None = None

    @property
    def days(self) -> int:
        """Length of the window in whole days."""
        return max(1, round((self.until - self.since).total_seconds() / 86400))


def window(days: int, dealer_id: str | None = None, *, now: datetime | None = None) -> Window:
    """The last ``days`` days up to ``now`` (default: the current time). ``days`` must be one of
    :data:`PERIODS`; errors name the field ``days``."""
    if days not in PERIODS:
        raise ValidationError("days", days, f"must be one of {', '.join(map(str, PERIODS))}")
    end = now if now is not None else datetime.now(UTC)
    return Window(since=end - timedelta(days=days), until=end, dealer_id=dealer_id or None)


@dataclass(frozen=True)
class AppFact:
    """One application of the window: its outcome (latest decision; ``None`` before any), segment and
    top offer (first decision), whether it is booked."""

    id: str
    dealer_id: str
    submitted_at: datetime
    outcome: str | None
    segment: str | None
    top_product: str | None
    top_rate: float | None
    booked: bool


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(part) / Decimal(whole)).quantize(_RATIO, ROUND_HALF_UP)


def application_facts(session: Session, w: Window) -> list[AppFact]:
    """Every application of the window, oldest first (see the module docstring)."""
    record = DecisionRow.record
    query = (
        select(
            ApplicationRow.id,
            ApplicationRow.dealer_id,
            ApplicationRow.submitted_at,
            DecisionRow.outcome,
            DecisionRow.decided_at,
            DecisionRow.id,
            record["segment"].as_string(),
            record[("offers", 0, "structure", "product")].as_string(),
            record[("offers", 0, "headline_rate")].as_float(),
            record[("counter_offers", 0, "structure", "product")].as_string(),
            record[("counter_offers", 0, "headline_rate")].as_float(),
        )
        .join(DecisionRow, DecisionRow.application_id == ApplicationRow.id, isouter=True)
        .where(ApplicationRow.submitted_at >= w.since, ApplicationRow.submitted_at < w.until)
    )
    if w.dealer_id is not None:
        query = query.where(ApplicationRow.dealer_id == w.dealer_id)
    booked_query = select(ContractRow.application_id).join(
        ApplicationRow, ApplicationRow.id == ContractRow.application_id
    )
    booked_query = booked_query.where(
        ApplicationRow.submitted_at >= w.since, ApplicationRow.submitted_at < w.until
    )
    booked = set(session.scalars(booked_query))
    rows: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    heads: dict[str, tuple[str, datetime]] = {}
    for row in session.execute(query):
        heads[row[0]] = (row[1], row[2])
        if row[3] is not None:
            rows[row[0]].append(tuple(row))
    facts = []
    for app_id, (dealer, submitted) in heads.items():
        decisions = sorted(rows.get(app_id, []), key=lambda r: (cast(datetime, r[4]), str(r[5])))
        first = decisions[0] if decisions else None
        last = decisions[-1] if decisions else None
        product = rate = None
        if first is not None:
            # The menu the dealer accepts from by default (autofin.store.contracts.default_menu).
            counter = first[9] is not None and (first[3] == "counter_offer" or first[7] is None)
            product, rate = (first[9], first[10]) if counter else (first[7], first[8])
        facts.append(
            AppFact(
                id=app_id,
                dealer_id=dealer,
                submitted_at=submitted,
                outcome=None if last is None else str(last[3]),
                segment=None if first is None or first[6] is None else str(first[6]),
                top_product=None if product is None else str(product),
                top_rate=None if rate is None else float(rate),  # type: ignore[arg-type]
                booked=app_id in booked,
            )
        )
    facts.sort(key=lambda f: (f.submitted_at, f.id))
    return facts


@dataclass(frozen=True)
class Kpis:
    """Headline numbers of a window (see the module docstring). Rates are fractions (``0.6512``) or
    ``None`` when their denominator is 0; ``avg_amount_financed`` in ``currency`` (major units)."""

    applications: int
    decided: int
    approved: int
    booked: int
    approval_rate: Decimal | None
    booking_rate: Decimal | None
    avg_amount_financed: Decimal | None
    avg_booked_rate: float | None
    currency: str = "CNY"


def _contracts(session: Session, w: Window) -> list[tuple[str, str, str, float | None]]:
    """(application id, product id, amount financed, headline rate) of the window's contracts."""
    query = (
        select(
            ContractRow.application_id,
            ContractRow.product_id,
            ContractRow.amount_financed,
            ContractRow.offer["headline_rate"].as_float(),
        )
        .join(ApplicationRow, ApplicationRow.id == ContractRow.application_id)
        .where(ApplicationRow.submitted_at >= w.since, ApplicationRow.submitted_at < w.until)
    )
    if w.dealer_id is not None:
        query = query.where(ApplicationRow.dealer_id == w.dealer_id)
    return [(r[0], r[1], r[2], None if r[3] is None else float(r[3])) for r in session.execute(query)]


def kpis(session: Session, w: Window, facts: Sequence[AppFact] | None = None) -> Kpis:
    """The headline numbers (``facts``: :func:`application_facts` of ``w`` when already read)."""
    facts = application_facts(session, w) if facts is None else facts
    decided = sum(f.outcome is not None for f in facts)
    approved = sum(f.outcome in APPROVED for f in facts)
    contracts = _contracts(session, w)
    amounts = [Decimal(a) for _, _, a, _ in contracts if a]
    rates = [r for _, _, _, r in contracts if r is not None]
    avg_amount = (sum(amounts, Decimal(0)) / len(amounts)).quantize(_CENT, ROUND_HALF_UP) if amounts else None
    return Kpis(
        applications=len(facts),
        decided=decided,
        approved=approved,
        booked=len(contracts),
        approval_rate=_ratio(approved, decided),
        booking_rate=_ratio(len(contracts), approved),
        avg_amount_financed=avg_amount,
        avg_booked_rate=sum(rates) / len(rates) if rates else None,
    )


@dataclass(frozen=True)
class VolumePoint:
    """Applications submitted in the period starting ``start`` (a UTC day, or the Monday of a week)
    whose outcome is ``outcome`` (``pending`` when not yet decided)."""

    start: date
    outcome: str
    count: int


def volume(facts: Sequence[AppFact], bucket: Literal["day", "week"] = "day") -> list[VolumePoint]:
    """Applications per period and outcome, periods in order, outcomes in :data:`OUTCOMES` order."""
    if bucket not in ("day", "week"):
        raise ValidationError("bucket", bucket, "must be day or week")
    counts: Counter[tuple[date, str]] = Counter()
    for f in facts:
        day = f.submitted_at.astimezone(UTC).date()
        start = day - timedelta(days=day.weekday()) if bucket == "week" else day
        counts[(start, f.outcome or "pending")] += 1
    order = {o: k for k, o in enumerate((*OUTCOMES, "pending"))}
    return [
        VolumePoint(start, outcome, n)
        for (start, outcome), n in sorted(counts.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99)))
    ]


@dataclass(frozen=True)
class Funnel:
    """Quote → application → approval → booking counts of a window."""

    quotes: int
    applications: int
    approved: int
    booked: int


def quote_count(session: Session, w: Window) -> int:
    """Quote log rows dated in the window (of the window's dealer when given)."""
    query = select(func.count()).select_from(QuoteLogRow)
    query = query.where(QuoteLogRow.at >= w.since, QuoteLogRow.at < w.until)
    if w.dealer_id is not None:
        query = query.where(QuoteLogRow.dealer_id == w.dealer_id)
    return int(session.scalar(query) or 0)


def funnel(session: Session, w: Window, facts: Sequence[AppFact] | None = None) -> Funnel:
    """The funnel of the window (see the module docstring)."""
    facts = application_facts(session, w) if facts is None else facts
    return Funnel(
        quotes=quote_count(session, w),
        applications=len(facts),
        approved=sum(f.outcome in APPROVED for f in facts),
        booked=sum(f.booked for f in facts),
    )


@dataclass(frozen=True)
class SegmentMix:
    """Applications of ``segment`` (``unknown`` when undecided) with ``outcome``."""

    segment: str
    outcome: str
    count: int


def segment_mix(facts: Sequence[AppFact]) -> list[SegmentMix]:
    """Applications by segment and outcome; segments by descending volume, outcomes in order."""
    counts: Counter[tuple[str, str]] = Counter(
        (f.segment or "unknown", f.outcome or "pending") for f in facts
    )
    totals: Counter[str] = Counter()
    for (segment, _), n in counts.items():
        totals[segment] += n
    order = {o: k for k, o in enumerate((*OUTCOMES, "pending"))}
    return [
        SegmentMix(segment, outcome, n)
        for (segment, outcome), n in sorted(
            counts.items(), key=lambda kv: (-totals[kv[0][0]], kv[0][0], order.get(kv[0][1], 99))
        )
    ]


@dataclass(frozen=True)
class ProductMix:
    """How often ``product_id`` was the top offer and how often it was booked."""

    product_id: str
    offered: int
    booked: int


def product_mix(session: Session, w: Window, facts: Sequence[AppFact] | None = None) -> list[ProductMix]:
    """Top offered and booked products, by descending offers then bookings."""
    facts = application_facts(session, w) if facts is None else facts
    offered: Counter[str] = Counter(f.top_product for f in facts if f.top_product is not None)
    booked: Counter[str] = Counter(pid for _, pid, _, _ in _contracts(session, w))
    products = set(offered) | set(booked)
    rows = [ProductMix(p, offered[p], booked[p]) for p in products]
    return sorted(rows, key=lambda r: (-r.offered, -r.booked, r.product_id))


@dataclass(frozen=True)
class RateSample:
    """The headline annual rates (decimals) of the top offers made to ``segment``, ascending."""

    segment: str
    rates: tuple[float, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return len(self.rates)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (linear interpolation between order statistics); ``None`` when empty."""
        if not self.rates:
            return None
        pos = (len(self.rates) - 1) * q
        lo = int(pos)
        hi = min(lo + 1, len(self.rates) - 1)
        return self.rates[lo] + (self.rates[hi] - self.rates[lo]) * (pos - lo)


def pricing(facts: Sequence[AppFact]) -> list[RateSample]:
    """Top-offer rates by segment (segments by name)."""
    by_segment: dict[str, list[float]] = defaultdict(list)
    for f in facts:
        if f.top_rate is not None:
            by_segment[f.segment or "unknown"].append(f.top_rate)
    return [RateSample(s, tuple(sorted(v))) for s, v in sorted(by_segment.items())]


def dealers(session: Session) -> list[str]:
    """Every dealer id with at least one application, sorted."""
    return sorted(session.scalars(select(ApplicationRow.dealer_id).distinct()))
