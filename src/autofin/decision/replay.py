"""Replay a decision bit for bit, and compare two strategies on the same applications before publishing.

* :func:`replay_record` re-decides the application stored in a decision record
  (:meth:`~autofin.decision.engine.Decision.to_dict`, usually read back from JSON) with an engine running
  the *same* versions, and says whether the new record is identical, with the JSON paths that differ.
  An engine with other versions is refused: re-deciding with other versions is a comparison, not a
  replay.
* :func:`compare` decides every application with a *baseline* and a *candidate* engine (new policy
  tables, model, catalogue or pricing assumptions) and summarises what would change: outcome counts, the
  baseline → candidate transition matrix, approval rates, the mean headline rate (APR / annualised rate)
  of the top offer, expected loss (PD × LGD × amount financed) and expected bookings (Σ take-up
  probability), plus the applications whose outcome changed.

Units: rates are annual decimals (``0.0419`` = 4.19 %), shares are fractions in [0, 1], money is the
application's currency in major units (expected loss is summed per currency, never across currencies),
PD and take-up are probabilities in [0, 1]. Pure apart from the engines' clocks; guide:
docs/decisions-replay.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

from autofin.errors import AutofinError, ValidationError

if TYPE_CHECKING:
    from autofin.decision.engine import Decision, DecisionEngine
    from autofin.pricing.takeup import LogitTakeup

__all__ = [
    "APPROVED",
    "MAX_CHANGED",
    "MAX_PATHS",
    "OUTCOMES",
    "OutcomeChange",
    "ReplayCheck",
    "ReplayDiff",
    "SideSummary",
    "TakeupFn",
    "compare",
    "diff_paths",
    "record_digest",
    "replay_record",
    "takeup_from_model",
    "top_offer",
]

#: Outcome buckets of a comparison: the four decision outcomes, and ``invalid`` for an application an
#: engine refuses (a :class:`~autofin.errors.ValidationError` before any decision, e.g. a brand the
#: candidate catalogue no longer carries), so that every application lands in exactly one cell.
OUTCOMES: Final = ("approve", "counter_offer", "refer", "decline", "invalid")
#: Outcomes that put an offer in front of the customer (the approval rate counts these).
APPROVED: Final = frozenset({"approve", "counter_offer"})
#: At most this many differing JSON paths are listed by :func:`replay_record`.
MAX_PATHS: Final = 20
#: At most this many changed applications (and refused ones) are listed by :func:`compare`.
MAX_CHANGED: Final = 100

#: A take-up model for :func:`compare`: a decision record (:meth:`Decision.to_dict` form, with
#: ``application``, ``segment`` and the offers) → probability in [0, 1] that the customer takes the top
#: offer (:func:`top_offer`). :func:`takeup_from_model` adapts :class:`autofin.pricing.takeup.TakeupModel`.
TakeupFn = Callable[[Mapping[str, Any]], float]

_CENT: Final = Decimal("0.01")
#: Refused applications shown by :meth:`ReplayDiff.to_table` (all of them are in :meth:`ReplayDiff.to_dict`).
_TABLE_REFUSED: Final = 10


# -- canonical JSON and differences ------------------------------------------------------------------


def _canonical(data: Any) -> str:
    # The same form as Decision.digest (engine._canonical): sorted keys, no spaces, UTF-8 kept.
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _comparable(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record without its timings, as plain JSON data (tuples → lists, as on disk)."""
    stripped = {k: v for k, v in record.items() if k != "timings_us"}
    out: dict[str, Any] = json.loads(_canonical(stripped))
    return out


def record_digest(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a decision record's canonical JSON without ``timings_us`` — equal to
    :attr:`Decision.digest` of the decision that made the record (when made with the same ``trace``)."""
    return hashlib.sha256(_canonical(_comparable(record)).encode()).hexdigest()


def _key(name: str) -> str:
    return f".{name}" if name.replace("_", "").replace("-", "").isalnum() else f"[{json.dumps(name)}]"


def diff_paths(before: Any, after: Any, *, limit: int | None = None) -> list[str]:
    """The JSON paths (``$.offers[0].monthly_payment``) where two JSON values differ, in document order
    (keys sorted); a key present on one side only is a difference at that key; ``limit`` caps the list.
    ``1`` and ``1.0`` are equal, ``True`` and ``1`` are not."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if limit is not None and len(out) >= limit:
            return
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for k in sorted(set(a) | set(b), key=str):
                if k not in a or k not in b:
                    out.append(path + _key(str(k)))
                else:
                    walk(a[k], b[k], path + _key(str(k)))
                if limit is not None and len(out) >= limit:
                    return
            return
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                out.append(f"{path}.length")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{path}[{i}]")
            return
        if type(a) is bool or type(b) is bool:
            if a is not b:
                out.append(path)
            return
        if a != b:
            out.append(path)

    walk(before, after, "$")
    return out if limit is None else out[:limit]


# -- replay ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayCheck:
    """The result of :func:`replay_record`.

    ``identical``: the re-decided record equals the original (timings excluded) — byte for byte in
    canonical JSON, hence ``original_digest == replay_digest``. ``differences``: the first
    :data:`MAX_PATHS` differing JSON paths; ``n_differences`` how many there are in all.
    """

    application_id: str | None
    identical: bool
    original_digest: str
    replay_digest: str
    differences: tuple[str, ...]
    n_differences: int
    decision: Decision | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "identical": self.identical,
            "original_digest": self.original_digest,
            "replay_digest": self.replay_digest,
            "differences": list(self.differences),
            "n_differences": self.n_differences,
        }


def _require_record(record: Any, where: str = "record") -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise ValidationError(where, type(record).__name__, "must be a decision record (a JSON object)")
    for key in ("application", "version_digest", "outcome"):
        if key not in record:
            raise ValidationError(f"{where}.{key}", None, "is required in a decision record")
    return record


def replay_record(engine: DecisionEngine, record: Mapping[str, Any]) -> ReplayCheck:
    """Re-decide ``record["application"]`` with ``engine`` and check the result is the same record.

    ``record`` is a :meth:`Decision.to_dict` (with or without ``trace``; ``timings_us`` is ignored),
    typically parsed back from JSON. Raises :class:`~autofin.errors.ValidationError` naming
    ``versions`` when ``engine.stamp.digest`` differs from ``record["version_digest"]`` (use
    :func:`compare` to see what other versions would decide), and the application's own field errors
    when the stored application no longer validates.

    The replay uses the record's ``start_date`` (``None``: the application's submission date), as the
    original decision did.
    """
    record = _require_record(record)
    stored = record["version_digest"]
    running = engine.stamp.digest
    if stored != running:
        raise ValidationError(
            "versions",
            str(stored)[:12],
            f"the record was decided with versions {str(stored)[:12]}…, the engine runs {running[:12]}…: "
            "that is a comparison (compare), not a replay",
        )
    decision = engine.decide(record["application"], start_date=_record_start(record))
    new = _comparable(decision.to_dict(trace="trace" in record, timings=False))
    old = _comparable(record)
    paths = [] if new == old else diff_paths(old, new)
    return ReplayCheck(
        application_id=record.get("application_id"),
        identical=not paths,
        original_digest=record_digest(old),
        replay_digest=decision.digest if "trace" in record else record_digest(new),
        differences=tuple(paths[:MAX_PATHS]),
        n_differences=len(paths),
        decision=decision,
    )


# -- comparison --------------------------------------------------------------------------------------


def top_offer(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The offer a decision record puts first: rank 1 of ``offers``, else of ``counter_offers``; ``None``
    unless the outcome is approve or counter_offer (a referred application's menu is for the
    underwriter, not the customer)."""
    if record.get("outcome") not in APPROVED:
        return None
    for key in ("offers", "counter_offers"):
        rows = record.get(key) or []
        if rows:
            first: Mapping[str, Any] = rows[0]
            return first
    return None


def headline_rate(offer: Mapping[str, Any]) -> float | None:
    """The quote's headline rate (annual decimal): the rate of its disclosure method
    (``quote.rates[quote.rate_method]``: US APR, CN annualised IRR, EU APRC), or ``None``."""
    q = offer.get("quote") or {}
    if q.get("headline_rate") is not None:
        return float(q["headline_rate"])
    rate = (q.get("rates") or {}).get(q.get("rate_method"))
    return None if rate is None else float(rate)


@dataclass(frozen=True)
class OutcomeChange:
    """One application whose outcome differs: its id (or ``#index`` in the input), the outcomes before
    (baseline) and after (candidate), and the candidate's reason codes."""

    application_id: str
    before: str
    after: str
    reasons_after: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "before": self.before,
            "after": self.after,
            "reasons_after": list(self.reasons_after),
        }


@dataclass(frozen=True)
class SideSummary:
    """What one engine decided over the applications.

    ``counts``: outcome → applications (every bucket of :data:`OUTCOMES`). ``approval_rate``:
    (approve + counter_offer) / applications. ``offered``: applications with a top offer;
    ``mean_rate``: mean headline rate of the top offer among them (annual decimal; ``None`` when none).
    ``expected_loss``: currency → Σ PD × LGD × amount financed of the top offer (major units, rounded to
    the cent). ``lgd``: the fraction used. ``expected_bookings``: Σ take-up probability of the top offer
    when a take-up model was given (``bookings_basis`` ``"takeup"``), else the number of approvals
    (``"approvals"``).
    """

    version_digest: str
    strategy: str
    counts: Mapping[str, int]
    approval_rate: float
    offered: int
    mean_rate: float | None
    expected_loss: Mapping[str, Decimal]
    lgd: float
    expected_bookings: float
    bookings_basis: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_digest": self.version_digest,
            "strategy": self.strategy,
            "counts": dict(self.counts),
            "approval_rate": self.approval_rate,
            "offered": self.offered,
            "mean_rate": self.mean_rate,
            "expected_loss": {k: str(v) for k, v in sorted(self.expected_loss.items())},
            "lgd": self.lgd,
            "expected_bookings": self.expected_bookings,
            "bookings_basis": self.bookings_basis,
        }


@dataclass(frozen=True)
class ReplayDiff:
    """The comparison of a baseline and a candidate engine over the same applications.

    ``transitions[before][after]``: applications that the baseline decided ``before`` and the candidate
    ``after`` (every bucket of :data:`OUTCOMES` present; the cells sum to ``applications``).
    ``mean_rate_change``: mean of (candidate − baseline) headline rate of the top offer over the
    ``both_offered`` applications offered by both (annual decimal). ``changed``: the first
    :data:`MAX_CHANGED` applications whose outcome changed, ``n_changed`` all of them. ``refused``:
    the first :data:`MAX_CHANGED` applications an engine refused (``side``, ``error``).
    ``baseline_reused``: input records whose stored decision stood in for the baseline (made with the
    baseline's version digest), ``menus_reusable``: freshly decided applications whose menu inputs
    were the same for both engines (what stage reuse would save), ``candidate_redecided``: input records
    the candidate decided again without solving the menu (:meth:`DecisionEngine.redecide`: a policy
    decline or refer, or the record's menu had exactly the candidate's inputs). ``notes``: caveats in
    words.
    """

    applications: int
    baseline: SideSummary
    candidate: SideSummary
    transitions: Mapping[str, Mapping[str, int]]
    both_offered: int
    mean_rate_change: float | None
    changed: tuple[OutcomeChange, ...]
    n_changed: int
    refused: tuple[Mapping[str, str], ...]
    baseline_reused: int
    menus_reusable: int
    notes: tuple[str, ...]
    candidate_redecided: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings, rates and shares as numbers)."""
        return {
            "applications": self.applications,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "transitions": {b: dict(row) for b, row in self.transitions.items()},
            "approval_rate_change": self.candidate.approval_rate - self.baseline.approval_rate,
            "both_offered": self.both_offered,
            "mean_rate_change": self.mean_rate_change,
            "n_changed": self.n_changed,
            "changed": [c.to_dict() for c in self.changed],
            "refused": [dict(r) for r in self.refused],
            "baseline_reused": self.baseline_reused,
            "menus_reusable": self.menus_reusable,
            "candidate_redecided": self.candidate_redecided,
            "notes": list(self.notes),
        }

    def to_table(self) -> str:
        """A plain-text summary for people (percentages for rates and shares)."""
        b, c = self.baseline, self.candidate
        width = max(len(o) for o in OUTCOMES) + 2

        def pct(x: float | None, digits: int = 2) -> str:
            return "—" if x is None else f"{x * 100:.{digits}f} %"

        def money(m: Mapping[str, Decimal]) -> str:
            return ", ".join(f"{v} {k}" for k, v in sorted(m.items())) or "0"

        rows = [
            f"applications: {self.applications}   baseline {b.strategy} {b.version_digest[:12]}   "
            f"candidate {c.strategy} {c.version_digest[:12]}",
            "",
            f"{'':<{width}}{'baseline':>10}{'candidate':>11}{'change':>9}",
        ]
        for o in OUTCOMES:
            rows.append(f"{o:<{width}}{b.counts[o]:>10}{c.counts[o]:>11}{c.counts[o] - b.counts[o]:>+9}")
        rows += [
            f"{'approval rate':<{width}}{pct(b.approval_rate, 1):>10}{pct(c.approval_rate, 1):>11}"
            f"{(c.approval_rate - b.approval_rate) * 100:>+7.1f} pp",
            f"{'mean rate':<{width}}{pct(b.mean_rate):>10}{pct(c.mean_rate):>11}   "
            f"(top offer; change on {self.both_offered} offered by both: "
            f"{'—' if self.mean_rate_change is None else f'{self.mean_rate_change * 1e4:+.1f} bp'})",
            f"expected loss (LGD {b.lgd:g} / {c.lgd:g}): baseline {money(b.expected_loss)}; "
            f"candidate {money(c.expected_loss)}",
            f"expected bookings ({c.bookings_basis}): baseline {b.expected_bookings:.2f}; "
            f"candidate {c.expected_bookings:.2f}",
            "",
            "transitions (rows: baseline, columns: candidate)",
            f"{'':<{width}}" + "".join(f"{o[:9]:>10}" for o in OUTCOMES),
        ]
        for o in OUTCOMES:
            rows.append(f"{o:<{width}}" + "".join(f"{self.transitions[o][p]:>10}" for p in OUTCOMES))
        if self.changed:
            rows += ["", f"outcome changed: {self.n_changed} (first {len(self.changed)})"]
            for ch in self.changed:
                why = ", ".join(ch.reasons_after) or "—"
                rows.append(f"  {ch.application_id}: {ch.before} → {ch.after}  [{why}]")
        refused: dict[tuple[str, str], list[str]] = {}
        for r in self.refused:
            refused.setdefault((r["application_id"], r["error"]), []).append(r["side"])
        if refused:
            rows += ["", f"refused (first {min(len(refused), _TABLE_REFUSED)} of {len(refused)} listed)"]
        for (app_id, error), sides in list(refused.items())[:_TABLE_REFUSED]:
            rows.append(f"  {app_id} ({' and '.join(sides)}): {error}")
        rows += [f"note: {n}" for n in self.notes]
        return "\n".join(rows)


@dataclass(slots=True)
class _Facts:
    """What a comparison keeps of one side's decision on one application (not the whole record: the
    schedules of every offer would be held twice). ``rate``/``amount``/``currency``: the top offer's
    headline rate (annual decimal), amount financed and currency; ``p_take``: P(take) of the top offer
    (``None`` without a take-up model)."""

    outcome: str
    reasons: tuple[str, ...] = ()
    pd: float = 0.0
    offered: bool = False
    rate: float | None = None
    amount: Decimal | None = None
    currency: str | None = None
    p_take: float | None = None
    error: str | None = None


def _rate_number(rate: Decimal | None) -> float | None:
    # The same rounding as the record's JSON (autofin.catalog.presentation), so a fresh decision and
    # its stored record summarise to the same numbers.
    return None if rate is None else float(rate.quantize(Decimal("1e-10")))


def _p_take(takeup: TakeupFn | None, record: Mapping[str, Any] | None) -> float | None:
    if takeup is None or record is None:
        return None
    p = float(takeup(record))
    if not (0.0 <= p <= 1.0):
        raise ValidationError("takeup", p, "must return a probability in [0, 1]")
    return p


def _facts_from_record(record: Mapping[str, Any], takeup: TakeupFn | None) -> _Facts:
    facts = _Facts(
        outcome=str(record["outcome"]),
        reasons=tuple(str(r["code"]) for r in record.get("reasons") or ()),
        pd=float(record["score"]["pd"]),
    )
    offer = top_offer(record)
    if offer is not None:
        q = offer["quote"]
        facts.offered = True
        facts.rate = headline_rate(offer)
        facts.amount = Decimal(str(q["amount_financed"]))
        facts.currency = str(q["currency"])
        facts.p_take = _p_take(takeup, record)
    return facts


def _facts_from_decision(decision: Decision, takeup: TakeupFn | None) -> _Facts:
    facts = _Facts(
        outcome=decision.outcome,
        reasons=tuple(r.code for r in decision.reasons),
        pd=round(float(decision.risk.pd), 9),
    )
    if decision.outcome in APPROVED and (decision.offers or decision.counter_offers):
        offer = decision.offers[0] if decision.offers else decision.counter_offers[0].offer
        facts.offered = True
        facts.rate = _rate_number(offer.quote.headline_rate)
        facts.amount = offer.quote.amount_financed
        facts.currency = offer.quote.currency
        if takeup is not None:  # the record (with its quotes) is built only for the take-up model
            facts.p_take = _p_take(takeup, decision.to_dict(trace=False, timings=False))
    return facts


def _redecided(
    engine: DecisionEngine, record: Mapping[str, Any], start: dt.date | None, takeup: TakeupFn | None
) -> _Facts | None:
    """The candidate's facts from :meth:`DecisionEngine.redecide` on a stored record, or ``None`` when
    the record cannot stand in for the candidate's menu (then the caller decides in full). An
    application the candidate refuses is decided in full too, so the refusal is reported the same way."""
    try:
        app = engine.parse(record["application"])
        again = engine.redecide(app, start, record)
    except AutofinError:
        return None
    if again is None:
        return None
    facts = _Facts(outcome=again.outcome, reasons=tuple(r.code for r in again.reasons), pd=round(again.pd, 9))
    top = again.top
    if top is None:
        return facts
    facts.offered = True
    if again.full:
        q = top["quote"]
        facts.rate = headline_rate(top)
        facts.amount = Decimal(str(q["amount_financed"]))
        facts.currency = str(q["currency"])
    else:
        facts.rate = None if top["headline_rate"] is None else float(top["headline_rate"])
        facts.amount = Decimal(str(top["amount_financed"]))
        facts.currency = str(top["currency"])
    if takeup is not None:
        # The take-up model reads a record: the candidate's, with its top offer as the record wrote it.
        full = top if again.full else _written_counter(record, top)
        if full is None:
            return None
        key = "offers" if again.full else "counter_offers"
        other = "counter_offers" if again.full else "offers"
        facts.p_take = _p_take(takeup, {**record, "outcome": again.outcome, "segment": again.segment,
                                        key: [full], other: []})  # fmt: skip
    return facts


def _written_counter(record: Mapping[str, Any], solved: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The record's full JSON of a solved counter-offer (matched by structure), if the record kept it."""
    want = {k: solved[k] for k in ("product", "term", "down_payment", "balloon_pct")}
    for c in record.get("counter_offers") or ():
        if c.get("structure") == want:
            found: Mapping[str, Any] = c
            return found
    return None


def _record_start(record: Mapping[str, Any]) -> dt.date | None:
    """The contract start date a record was decided with (``None``: its submission date)."""
    raw = record.get("start_date")
    try:
        return None if raw is None else dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError("start_date", raw, "must be an ISO date (YYYY-MM-DD) or null") from None


def _decide(
    engine: DecisionEngine, data: Any, reuse: Decision | None, hook: bool, start: dt.date | None = None
) -> tuple[Decision | None, str | None]:
    # The stage-reuse hook (``decide(..., reuse=)``) is used when the engine has it; see compare().
    decide: Callable[..., Decision] = engine.decide
    try:
        if hook and reuse is not None:
            return decide(data, start_date=start, reuse=reuse), None
        return decide(data, start_date=start), None
    except AutofinError as exc:
        return None, exc.message


def _has_reuse_hook(engine: DecisionEngine) -> bool:
    try:
        return "reuse" in inspect.signature(engine.decide).parameters
    except (TypeError, ValueError):
        return False


def _engine_menu_key(engine: DecisionEngine) -> tuple[Any, ...]:
    """What the menu depends on at the engine level (not per application)."""
    market = None if engine.market is None else engine.market.model_dump_json()
    return (
        engine.catalogue.version,
        id(engine.catalogue) if engine.catalogue is not None else None,
        market,
        engine.pricing_version,
        engine.top_n,
        engine.max_counter_offers,
        engine.max_exact,
    )


def _menus_equal_engines(a: DecisionEngine, b: DecisionEngine) -> bool:
    ka, kb = _engine_menu_key(a), _engine_menu_key(b)
    # Same catalogue object, or equal catalogues of the same version (compared once per comparison).
    same_catalogue = ka[1] == kb[1] or (ka[0] == kb[0] and a.catalogue == b.catalogue)
    return same_catalogue and ka[0] == kb[0] and ka[2:] == kb[2:]


def _menu_inputs(engine: DecisionEngine, d: Decision) -> tuple[Any, ...]:
    """The per-application inputs of the menu (see the stage-reuse note in docs/decisions-replay.md)."""
    segment = d.segment or None
    return (
        segment,
        d.catalogue_segments,
        engine.limits(d.application.jurisdiction, segment),
        d.policy.limits,
        float(d.risk.pd) if engine.assumptions is not None else None,
    )


def _split(item: Any, index: int) -> tuple[Any, Mapping[str, Any] | None, str]:
    from autofin.decision.application import Application

    if isinstance(item, Application):
        return item, None, item.application_id or f"#{index}"
    if not isinstance(item, Mapping):
        raise ValidationError(f"input[{index}]", type(item).__name__, "must be an application or a record")
    if "application" in item and "version_digest" in item:
        record = _require_record(item, f"input[{index}]")
        app = record["application"]
    else:
        record, app = None, item
    app_id = app.get("application_id") if isinstance(app, Mapping) else None
    return app, record, str(app_id) if app_id else f"#{index}"


def _lgd_of(engine: DecisionEngine, lgd: float | None, side: str) -> float:
    if engine.assumptions is not None:
        return float(engine.assumptions.lgd)
    if lgd is None:
        raise ValidationError(
            "lgd", None, f"the {side} engine has no pricing assumptions: give the loss given default (0-1)"
        )
    return lgd


def _summarise(engine: DecisionEngine, rows: Sequence[_Facts], lgd: float, with_takeup: bool) -> SideSummary:
    counts = Counter(r.outcome for r in rows)
    rates = [r.rate for r in rows if r.rate is not None]
    losses: dict[str, Decimal] = {}
    lgd_d = Decimal(repr(lgd))
    for r in rows:
        if r.amount is not None and r.currency is not None:
            loss = Decimal(repr(r.pd)) * lgd_d * r.amount
            losses[r.currency] = losses.get(r.currency, Decimal(0)) + loss
    approved = sum(counts[o] for o in APPROVED)
    assert engine.strategy is not None
    return SideSummary(
        version_digest=engine.stamp.digest,
        strategy=engine.strategy.name,
        counts={o: counts.get(o, 0) for o in OUTCOMES},
        approval_rate=approved / len(rows) if rows else 0.0,
        offered=sum(1 for r in rows if r.offered),
        mean_rate=math.fsum(rates) / len(rates) if rates else None,
        expected_loss={k: v.quantize(_CENT, ROUND_HALF_UP) for k, v in losses.items()},
        lgd=lgd,
        expected_bookings=math.fsum(r.p_take or 0.0 for r in rows) if with_takeup else float(approved),
        bookings_basis="takeup" if with_takeup else "approvals",
    )


def compare(
    records_or_applications: Iterable[Mapping[str, Any]],
    baseline: DecisionEngine,
    candidate: DecisionEngine,
    *,
    lgd: float | None = None,
    takeup: TakeupFn | None = None,
    start_date: dt.date | None = None,
) -> ReplayDiff:
    """Decide every application with ``baseline`` and ``candidate`` and summarise the difference.

    Each item is an application (an :class:`Application` or a JSON-ready mapping) or a decision record
    (:meth:`Decision.to_dict`). Applications are decided with contract start ``start_date`` (``None``:
    their submission date); records with the start date they carry.
    A record made with the baseline's version digest stands in for the baseline decision (it is not
    re-decided; use :func:`replay_record` to check it still reproduces). An application an engine
    refuses counts as ``invalid`` on that side.

    ``lgd``: loss given default (fraction in [0, 1]) for an engine without pricing assumptions (an
    engine's own ``assumptions.lgd`` wins); without either, :class:`ValidationError` names ``lgd``.
    ``takeup``: P(customer takes the top offer) from a decision record (:data:`TakeupFn`); the
    platform's :class:`autofin.pricing.takeup.TakeupModel` plugs in through :func:`takeup_from_model`.
    Without it, expected bookings are the number of approvals, and a note says so.
    """
    if lgd is not None and not (isinstance(lgd, int | float) and 0.0 <= lgd <= 1.0):
        raise ValidationError("lgd", lgd, "must be a fraction in [0, 1]")
    lgd_b = _lgd_of(baseline, lgd, "baseline")
    lgd_c = _lgd_of(candidate, lgd, "candidate")
    hook = _has_reuse_hook(candidate)
    same_menu_engines = _menus_equal_engines(baseline, candidate)
    base_digest, cand_digest = baseline.stamp.digest, candidate.stamp.digest

    ids: list[str] = []
    before: list[_Facts] = []
    after: list[_Facts] = []
    reused = reusable = redecided = 0
    redecide = callable(getattr(candidate, "redecide", None))
    for index, item in enumerate(records_or_applications):
        app, record, app_id = _split(item, index)
        ids.append(app_id)
        start = _record_start(record) if record is not None else start_date
        bd = cd = None
        if record is not None and record["version_digest"] == base_digest:
            b = _facts_from_record(record, takeup)
            reused += 1
        else:
            bd, error = _decide(baseline, app, None, False, start)
            b = _Facts("invalid", error=error) if bd is None else _facts_from_decision(bd, takeup)
        fast: _Facts | None = None
        if record is not None and record["version_digest"] == cand_digest:
            c = _facts_from_record(record, takeup)
        elif record is not None and redecide and (fast := _redecided(candidate, record, start, takeup)):
            c = fast
            redecided += 1
        else:
            cd, error = _decide(candidate, app, bd if same_menu_engines else None, hook, start)
            c = _Facts("invalid", error=error) if cd is None else _facts_from_decision(cd, takeup)
        if (
            same_menu_engines
            and bd is not None
            and cd is not None
            and bd.menu is not None
            and _menu_inputs(baseline, bd) == _menu_inputs(candidate, cd)
        ):
            reusable += 1
        before.append(b)
        after.append(c)

    transitions = {o: dict.fromkeys(OUTCOMES, 0) for o in OUTCOMES}
    changed: list[OutcomeChange] = []
    n_changed = 0
    deltas: list[float] = []
    refused: list[dict[str, str]] = []
    for app_id, b, c in zip(ids, before, after, strict=True):
        transitions[b.outcome][c.outcome] += 1
        if b.outcome != c.outcome:
            n_changed += 1
            if len(changed) < MAX_CHANGED:
                changed.append(OutcomeChange(app_id, b.outcome, c.outcome, c.reasons))
        for side, row in (("baseline", b), ("candidate", c)):
            if row.error is not None and len(refused) < MAX_CHANGED:
                refused.append({"application_id": app_id, "side": side, "error": row.error})
        if b.rate is not None and c.rate is not None:
            deltas.append(c.rate - b.rate)

    notes: list[str] = []
    if takeup is None:
        notes.append(
            "no take-up model was given: expected bookings are the number of approvals "
            "(pass takeup=takeup_from_model(TakeupModel) for Σ P(take))"
        )
    if lgd is not None and (baseline.assumptions is not None or candidate.assumptions is not None):
        notes.append("the lgd argument is used only for an engine without pricing assumptions")
    return ReplayDiff(
        applications=len(ids),
        baseline=_summarise(baseline, before, lgd_b, takeup is not None),
        candidate=_summarise(candidate, after, lgd_c, takeup is not None),
        transitions=transitions,
        both_offered=len(deltas),
        mean_rate_change=math.fsum(deltas) / len(deltas) if deltas else None,
        changed=tuple(changed),
        n_changed=n_changed,
        refused=tuple(refused),
        baseline_reused=reused,
        menus_reusable=reusable,
        notes=tuple(notes),
        candidate_redecided=redecided,
    )


# -- take-up -----------------------------------------------------------------------------------------


def takeup_from_model(
    model: LogitTakeup, *, segment: str | Callable[[Mapping[str, Any]], str] | None = None
) -> TakeupFn:
    """A :data:`TakeupFn` from a :class:`autofin.pricing.takeup.TakeupModel` (or ``TrueTakeup``).

    The top offer (:func:`top_offer`) becomes the model's features (:data:`autofin.data.credit.
    TAKEUP_FEATURES`): ``rate_pct`` = 100 × the quote's customer rate, ``pti_pct`` = 100 × monthly
    payment / the applicant's gross monthly income, ``term_years`` = term / 12, ``down_share`` = down
    payment / price, ``balloon`` = 1 for a loan with a balloon, ``lease`` = 1 for a lease.
    ``segment``: the take-up model's segment — a fixed name, a function of the record, or ``None`` for
    the record's strategy segment (a segment the model does not know uses its pooled model; without one
    the model raises naming the segment). A record without a top offer has probability 0.
    """
    from autofin.pricing.takeup import TAKEUP_PARAMETERS

    expected = ("intercept", "rate_pct", "pti_pct", "term_years", "down_share", "balloon", "lease")
    if tuple(TAKEUP_PARAMETERS) != expected:  # pragma: no cover - guards a silent reorder
        raise ValidationError("takeup.parameters", TAKEUP_PARAMETERS, f"expected {expected}")
    cache: dict[str, Any] = {}

    def p_take(record: Mapping[str, Any]) -> float:
        offer = top_offer(record)
        if offer is None:
            return 0.0
        q = offer["quote"]
        seg = segment(record) if callable(segment) else (segment or str(record.get("segment", "")))
        beta = cache.get(seg)
        if beta is None:
            beta = cache[seg] = model.coefficient_vector(seg)
        income = float(record["application"]["applicant"]["monthly_income"])
        price = float(q["price"])
        balloon_pct = (offer.get("structure") or {}).get("balloon_pct")
        x = (
            1.0,
            100.0 * float(q["customer_rate"]),
            100.0 * float(offer["monthly_payment"]) / income,
            float(q["term"]) / 12.0,
            float(q["down_payment"]) / price,
            1.0 if q["kind"] == "loan" and balloon_pct is not None and float(balloon_pct) > 0 else 0.0,
            1.0 if q["kind"] == "lease" else 0.0,
        )
        eta = math.fsum(float(b) * v for b, v in zip(beta, x, strict=True))
        return 1.0 / (1.0 + math.exp(-eta)) if eta >= 0 else math.exp(eta) / (1.0 + math.exp(eta))

    return p_take
