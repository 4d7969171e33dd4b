"""A believable business history for the demo: a few months of applications, decisions, contracts and
quotes, so that the dealer desk, the underwriter queue and the analyst dashboards have something to show
on first start.

:func:`seed_history` draws applicants from the synthetic world (:func:`autofin.data.synth.synthesize`
with the default world file, turned into applications by
:func:`autofin.decision.synthetic.world_applications`) and then, for each application ``n``:

* re-dates it: ``submitted_at`` is spread over the ``days`` days before ``now`` (a random instant in
  that window, more in recent weeks than early on, office hours in China Standard Time);
* gives it a dealer (``dealer-001``, ``-002``, ``-003``; weights 45/35/20 %) and a vehicle model the
  catalogue knows (the world names brands only: the model is drawn from ``known_models`` by powertrain);
* submits it through :func:`autofin.api.service.submit_and_decide` with the idempotency key
  ``history:<n>`` scoped to its dealer, exactly like the dealer desk or the API: stored, decided by the
  engine and audited once. Seeding again with the same arguments adds nothing;
* for a newly stored application only: books the top offer of about 60 % of the approved ones (outcome
  ``approve`` or ``counter_offer``) with :func:`autofin.api.contracts.accept_offer` as the dealer, and
  records about three quotes the dealer gave before submitting (real quotes: the offers of its decision
  menu, else the wished structure quoted by the catalogue) in the quote log, dated in the days before the
  submission. Referred applications stay in the underwriter queue.

Deterministic: the same ``seed``, ``applications``, ``days`` and ``now`` give the same applications,
dealers, dates, acceptances and quotes. The quote log rows are written directly (one transaction per
application) because :func:`autofin.store.contracts.log_quote` stamps the current time and the history
needs past dates; nothing else bypasses the service layer.

Speed (measured on the 2-core development machine, demo engine, 240 applications): see
docs/platform-web-analyst.md.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from autofin.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from autofin.decision.application import Application
    from autofin.decision.engine import DecisionEngine
    from autofin.store.crypto import KeyRing, PersonalData

__all__ = ["DEALERS", "HistoryReport", "history_personal", "seed_history"]

#: The demo dealers and the share of the history each one submits.
DEALERS: Final[tuple[tuple[str, float], ...]] = (
    ("dealer-001", 0.45),
    ("dealer-002", 0.35),
    ("dealer-003", 0.20),
)
#: Share of approved applications whose top offer is booked.
BOOKING_SHARE: Final = 0.6
#: Catalogue models by powertrain, for the world's vehicles (which name no model).
MODELS_BY_POWERTRAIN: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "nev": (
        ("BYD", "Seal"),
        ("BYD", "Sealion 07"),
        ("BYD", "Qin L"),
        ("BYD", "Song PLUS"),
        ("Geely", "Galaxy E5"),
    ),
    "hybrid": (("Toyota", "RAV4"), ("Toyota", "Camry"), ("Toyota", "Corolla")),
    "ice": (("Geely", "Xingyue L"), ("Toyota", "Corolla"), ("Toyota", "Camry"), ("Toyota", "RAV4")),
}
#: China Standard Time (applications are dated in the dealers' local time).
CST: Final = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class HistoryReport:
    """What :func:`seed_history` did. ``created``: applications stored by this call; ``existing``:
    already there (a repeated seeding); ``outcomes``: first decision outcome → count, over the
    applications of this call; ``contracts``: contracts booked; ``quotes``: quote log rows written;
    ``referred``: applications left in the underwriter queue; ``seconds``: wall time of the call."""

    created: int
    existing: int
    outcomes: Mapping[str, int] = field(default_factory=dict)
    contracts: int = 0
    quotes: int = 0
    referred: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for a console: ``240 applications (approve 150, …), 80 contracts, 700 quotes``."""
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.created} history applications ({parts or 'none new'}), {self.contracts} contracts, "
            f"{self.quotes} quotes, {self.referred} referred; {self.existing} already stored "
            f"({self.seconds:.1f} s)"
        )


def history_personal(n: int) -> PersonalData:
    """Synthetic personal data of history application ``n`` (no real person; stable per ``n``)."""
    from autofin.store.crypto import IncomeDocument, PersonalData

    return PersonalData(
        national_id=f"3101011985{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 10_000:04d}",
        name=f"History Customer {n:04d}",
        phone=f"1390000{n % 10_000:04d}",
        income_documents=(IncomeDocument(kind="payslip", issuer="Demo Employer Co."),),
    )


def _world_applications(applications: int, seed: int) -> list[Application]:
    from autofin.data.synth import synthesize
    from autofin.data.world import load_world
    from autofin.decision.synthetic import world_applications

    with tempfile.TemporaryDirectory(prefix="autofin-history-") as folder:
        out = Path(folder) / "world"
        synthesize(load_world(), applicants=applications, months=1, seed=seed, out=out)
        return [app for _, app in world_applications(out)]


def _submitted_at(rng: np.random.Generator, now: datetime, days: int) -> datetime:
    """A past instant within ``days`` days of ``now``: a day drawn with a gentle upward trend (more
    business lately), a time of day in CST office hours (09:00–20:00)."""
    weights = np.linspace(1.0, 1.6, days)
    day_back = days - 1 - int(rng.choice(days, p=weights / weights.sum()))
    local_day = (now.astimezone(CST) - timedelta(days=day_back)).date()
    minute = int(rng.integers(9 * 60, 20 * 60))
    when = datetime(local_day.year, local_day.month, local_day.day, tzinfo=CST) + timedelta(minutes=minute)
    return min(when, now - timedelta(minutes=1)).astimezone(CST)


def _application_data(app: Application, n: int, when: datetime, rng: np.random.Generator) -> dict[str, Any]:
    data: dict[str, Any] = app.model_dump(mode="json")
    brand, model = MODELS_BY_POWERTRAIN[str(app.vehicle.powertrain)][
        int(rng.integers(len(MODELS_BY_POWERTRAIN[str(app.vehicle.powertrain)])))
    ]
    data["vehicle"].update(brand=brand, model=model)
    data["applicant"]["channel"] = "dealer"
    data["application_id"] = f"history-{n:04d}"
    data["submitted_at"] = when.isoformat()
    return data


def _menu_quotes(record: Mapping[str, Any]) -> list[tuple[str, Decimal]]:
    """(product id, amount financed) of each offer and counter-offer of a decision record."""
    out: list[tuple[str, Decimal]] = []
    for menu in ("offers", "counter_offers"):
        for entry in record.get(menu) or []:
            quote = entry.get("quote") if isinstance(entry, Mapping) else None
            if not isinstance(quote, Mapping):
                continue
            product = quote.get("product")
            pid = product.get("id") if isinstance(product, Mapping) else None
            amount = quote.get("amount_financed")
            if isinstance(pid, str) and amount is not None:
                out.append((pid, Decimal(str(amount))))
    return out


def _wished_quote(engine: DecisionEngine, app: Application, on: date) -> list[tuple[str, Decimal]]:
    """The wished structure quoted on the standard loan (when the catalogue accepts it)."""
    from autofin.catalog.quote import quote
    from autofin.decision.application import to_quote_inputs, to_structure_request
    from autofin.errors import AutofinError

    try:
        applicant, vehicle = to_quote_inputs(app)
        structure = to_structure_request(app, start_date=on)
        q = quote(
            engine.catalogue, "cn-standard-equal-instalment", vehicle, structure, applicant, engine.market
        )
    except (AutofinError, ValueError):
        return []
    return [(q.product_id, q.amount_financed)]


def _log_quotes(
    sessions: sessionmaker[Session],
    dealer: str,
    quotes: Sequence[tuple[str, Decimal]],
    submitted: datetime,
    rng: np.random.Generator,
) -> int:
    from autofin.store.models import QuoteLogRow

    if not quotes:
        return 0
    count = min(5, 1 + int(rng.poisson(2.0)))
    rows = []
    for k in range(count):
        product_id, amount = quotes[k % len(quotes)]
        before = timedelta(minutes=int(rng.integers(5, 3 * 24 * 60)))
        rows.append(
            QuoteLogRow(
                at=(submitted - before).astimezone(UTC),
                role="dealer",
                dealer_id=dealer,
                product_id=product_id[:100],
                amount_financed=str(amount),
                channel="web",
            )
        )
    with sessions() as session, session.begin():
        session.add_all(rows)
    return len(rows)


def seed_history(
    sessions: sessionmaker[Session],
    engine: DecisionEngine,
    keys: KeyRing,
    *,
    applications: int = 240,
    days: int = 90,
    seed: int = 7,
    now: datetime | None = None,
) -> HistoryReport:
    """Seed ``applications`` history applications over the ``days`` days before ``now`` (default: the
    current time; give it for a reproducible history) with ``seed`` (see the module docstring).

    Raises :class:`~autofin.errors.ValidationError` naming ``applications`` (1–5,000), ``days`` (1–365)
    or ``now`` (must be timezone-aware). Contracts start on the submission date, so the catalogue's
    products must be effective on those dates (the demo catalogue's are from 2026-01-01)."""
    from autofin.api.auth import Principal
    from autofin.api.contracts import accept_offer
    from autofin.api.service import scoped_key, submit_and_decide

    if isinstance(applications, bool) or not 1 <= applications <= 5_000:
        raise ValidationError("applications", applications, "must be a whole number from 1 to 5000")
    if isinstance(days, bool) or not 1 <= days <= 365:
        raise ValidationError("days", days, "must be a whole number of days from 1 to 365")
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValidationError("now", now, "must be timezone-aware")
    started = time.perf_counter()
    moment = now if now is not None else datetime.now(UTC)
    rng = np.random.default_rng(seed)
    names = [d for d, _ in DEALERS]
    shares = np.array([s for _, s in DEALERS])
    created = existing = contracts = quotes = referred = 0
    outcomes: Counter[str] = Counter()
    for n, app in enumerate(_world_applications(applications, seed)):
        # Every draw happens for every application, whether stored now or before: same seed, same history.
        dealer = names[int(rng.choice(len(names), p=shares))]
        when = _submitted_at(rng, moment, days)
        data = _application_data(app, n, when, rng)
        book = bool(rng.random() < BOOKING_SHARE)
        quote_rng = np.random.default_rng([seed, n])
        result = submit_and_decide(
            sessions,
            engine,
            keys,
            idempotency_key=scoped_key(f"dealer:{dealer}", f"history:{n}"),
            dealer_id=dealer,
            application=data,
            personal=history_personal(n),
        )
        if not result.created:
            existing += 1
            continue
        created += 1
        outcome = result.decision.outcome
        outcomes[outcome] += 1
        referred += outcome == "refer"
        record = result.decision.record
        menu = _menu_quotes(record)
        if not menu:
            menu = _wished_quote(engine, engine.parse(data), when.date())
        quotes += _log_quotes(sessions, dealer, menu, when, quote_rng)
        if book and outcome in ("approve", "counter_offer"):
            principal = Principal(name=dealer, role="dealer", dealer_id=dealer)
            _, made = accept_offer(
                sessions, keys, application_id=result.application.id, offer=1, principal=principal
            )
            contracts += made
    return HistoryReport(
        created=created,
        existing=existing,
        outcomes=dict(outcomes),
        contracts=contracts,
        quotes=quotes,
        referred=referred,
        seconds=time.perf_counter() - started,
    )
