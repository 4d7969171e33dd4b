"""How the decision flow treats a synthetic world: approval rates, and whether it declines the riskier.

:func:`evaluate` decides every application of a world (:func:`autofin.decision.synthetic.world_applications`)
with one :class:`~autofin.decision.engine.DecisionEngine` and sets the outcomes against what the world
knows about each applicant (:func:`autofin.decision.synthetic.world_outcomes`):

* counts and shares by outcome (approve / counter_offer / refer / decline);
* the approval rate (approve + counter_offer) overall and by the applicant's **true** segment;
* by outcome group (approved, approve, counter_offer, refer, decline): the mean **true PD at the first
  quote** (``true_pd_first_quote``: the world's own default model evaluated at the applicant's first
  quote — the expected bad rate of the group, known for everyone, booked or not) with a normal 95 %
  interval of the mean; the **realised bad rate** of the group's applicants whom the world booked,
  with its n and a Wilson 95 % interval (binomial); the mean **model PD** (the engine's scorecard);
* the most frequent reason codes of declines, counter-offers and referrals;
* the decision time per application as the engine measured it (mean, p50, p99).

Units: PDs and rates are probabilities (0-1); times are milliseconds. Pure apart from the engine (whose
clock times each decision): no I/O. Guide: docs/decisions-evaluation.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import polars as pl

from autofin.decision.application import Application
from autofin.decision.engine import DecisionEngine
from autofin.errors import ValidationError

__all__ = [
    "GROUPS",
    "OUTCOMES",
    "Estimate",
    "Evaluation",
    "GroupRisk",
    "ReasonCount",
    "catalogue_start",
    "evaluate",
]

#: The decision outcomes, in the order reports list them.
OUTCOMES: Final = ("approve", "counter_offer", "refer", "decline")
#: The outcome groups reported: ``approved`` = approve + counter_offer, then each outcome.
GROUPS: Final = ("approved", "approve", "counter_offer", "refer", "decline")
#: Two-sided 95 % normal quantile.
Z95: Final = 1.959963984540054
#: Reason codes listed per outcome.
TOP_REASONS: Final = 5
_REQUIRED_COLUMNS: Final = ("application_id", "segment", "booked", "bad", "true_pd_first_quote")


@dataclass(frozen=True, slots=True)
class Estimate:
    """A proportion or a mean of probabilities with its 95 % interval: ``value`` (0-1), ``n`` (the
    observations behind it), ``low``/``high`` (the interval), ``se`` (the standard error). With
    ``n == 0`` every number is ``None``."""

    n: int
    value: float | None
    low: float | None
    high: float | None
    se: float | None

    @classmethod
    def proportion(cls, successes: int, n: int) -> Estimate:
        """``successes / n`` with the Wilson score interval (binomial; sound near 0 and 1);
        ``se`` is the binomial standard error sqrt(p(1-p)/n)."""
        if n == 0:
            return cls(0, None, None, None, None)
        p = successes / n
        z2 = Z95 * Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return cls(n, p, max(0.0, centre - half), min(1.0, centre + half), math.sqrt(p * (1 - p) / n))

    @classmethod
    def mean(cls, values: Sequence[float]) -> Estimate:
        """The mean of ``values`` with the normal interval mean ± 1.96 · s/√n (``s`` the sample standard
        deviation; ``se`` = s/√n, 0 for a single value)."""
        n = len(values)
        if n == 0:
            return cls(0, None, None, None, None)
        m = math.fsum(values) / n
        s = math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
        se = s / math.sqrt(n)
        return cls(n, m, m - Z95 * se, m + Z95 * se, se)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "value": self.value, "low": self.low, "high": self.high, "se": self.se}

    def pct(self, digits: int = 2) -> str:
        """``value % [low, high]`` for a report (``—`` when there are no observations)."""
        if self.value is None or self.low is None or self.high is None:
            return "—"
        return f"{self.value * 100:.{digits}f} % [{self.low * 100:.{digits}f}, {self.high * 100:.{digits}f}]"


@dataclass(frozen=True, slots=True)
class GroupRisk:
    """The risk of one outcome group: ``n`` applications; ``true_pd`` the mean true PD at the first quote
    (expected bad rate, 0-1); ``booked`` how many the world booked and ``bad_rate`` the realised bad
    rate among them (0-1, Wilson interval); ``model_pd`` the mean PD of the engine's scorecard (0-1)."""

    group: str
    n: int
    true_pd: Estimate
    booked: int
    bad_rate: Estimate
    model_pd: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "true_pd_first_quote": self.true_pd.to_dict(),
            "booked_by_world": self.booked,
            "realised_bad_rate": self.bad_rate.to_dict(),
            "model_pd": self.model_pd.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """A reason code, how many decisions of the outcome carry it and their share of that outcome (0-1)."""

    code: str
    count: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "count": self.count, "share": self.share}


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`. ``counts``/``shares`` by outcome (every outcome present, 0 when
    none); ``approval`` the approval rate (approve + counter_offer, Wilson interval) and
    ``approval_by_segment`` the same by true segment; ``groups`` the risk of each of :data:`GROUPS`;
    ``top_reasons`` per outcome (``decline``, ``counter_offer``, ``refer``), most frequent first;
    ``time_ms`` the engine's decision time per application (``mean``, ``p50``, ``p99``, milliseconds);
    ``start_date`` the contract start date the decisions used (``None``: each application's
    submission date)."""

    n: int
    counts: Mapping[str, int]
    shares: Mapping[str, float]
    approval: Estimate
    approval_by_segment: Mapping[str, Estimate]
    groups: Mapping[str, GroupRisk]
    top_reasons: Mapping[str, tuple[ReasonCount, ...]]
    time_ms: Mapping[str, float]
    start_date: date | None = None

    @property
    def declines_riskier(self) -> bool | None:
        """Whether declined applicants' mean true PD exceeds the approved ones' by more than the sum of
        the two standard errors (``None`` when either group is empty)."""
        a, d = self.groups["approved"].true_pd, self.groups["decline"].true_pd
        if a.value is None or d.value is None or a.se is None or d.se is None:
            return None
        return d.value - a.value > a.se + d.se

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (plain numbers and strings; ``None`` where a group is empty)."""
        return {
            "n": self.n,
            "start_date": None if self.start_date is None else self.start_date.isoformat(),
            "counts": dict(self.counts),
            "shares": dict(self.shares),
            "approval_rate": self.approval.to_dict(),
            "approval_rate_by_true_segment": {k: v.to_dict() for k, v in self.approval_by_segment.items()},
            "groups": {k: v.to_dict() for k, v in self.groups.items()},
            "declines_riskier": self.declines_riskier,
            "top_reasons": {k: [r.to_dict() for r in v] for k, v in self.top_reasons.items()},
            "time_ms": dict(self.time_ms),
        }

    def to_markdown(self) -> str:
        """A report for a risk manager: outcomes, risk by outcome, approval by segment, reasons, time."""
        start = "each application's submission date" if self.start_date is None else str(self.start_date)
        lines = [
            f"**{self.n:,} applications** decided (contract start: {start}). "
            f"Approval rate (approve + counter-offer): **{self.approval.pct(1)}**.",
            "",
            "| outcome | n | share | mean true PD at first quote [95 % CI] | booked by the world "
            "| realised bad rate of booked [95 % CI] | mean model PD |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in GROUPS:
            g = self.groups[name]
            share = g.n / self.n if self.n else 0.0
            label = "**approved** (approve + counter-offer)" if name == "approved" else name
            model = "—" if g.model_pd.value is None else f"{g.model_pd.value * 100:.2f} %"
            lines.append(
                f"| {label} | {g.n:,} | {share * 100:.1f} % | {g.true_pd.pct()} | {g.booked:,} "
                f"| {g.bad_rate.pct()} | {model} |"
            )
        verdict = {
            True: "declined applicants are riskier than approved ones by more than the two standard errors",
            False: "declined applicants are NOT clearly riskier than approved ones",
            None: "no comparison (approved or declined group empty)",
        }[self.declines_riskier]
        lines += [
            "",
            f"True PD: {verdict}.",
            "",
            "| true segment | n | approval rate [95 % CI] |",
            "|---|---:|---:|",
        ]
        for seg, est in self.approval_by_segment.items():
            lines.append(f"| {seg} | {est.n:,} | {est.pct(1)} |")
        for outcome in ("decline", "counter_offer", "refer"):
            reasons = self.top_reasons.get(outcome, ())
            lines += ["", f"Top reasons ({outcome}, share of {outcome} decisions): " + (
                ", ".join(f"{r.code} {r.share * 100:.0f} %" for r in reasons) or "—"
            ) + "."]  # fmt: skip
        t = self.time_ms
        lines += ["", f"Decision time (engine clock): mean {t['mean']:.2f} ms, p50 {t['p50']:.2f} ms, "
                  f"p99 {t['p99']:.2f} ms."]  # fmt: skip
        return "\n".join(lines) + "\n"


def catalogue_start(engine: DecisionEngine, jurisdiction: str = "CN") -> date:
    """The first day on which every product of ``jurisdiction`` in the engine's catalogue is effective
    (the latest ``effective.from``): a contract start date at which a world dated before the catalogue
    can be decided on the whole catalogue. Raises :class:`~autofin.errors.ValidationError` when the
    catalogue has no product there."""
    starts = [p.effective.start for p in engine.catalogue.products.values() if p.jurisdiction == jurisdiction]
    if not starts:
        raise ValidationError("jurisdiction", jurisdiction, "the catalogue has no product there")
    return max(starts)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation (numpy's default), of already sorted values."""
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def evaluate(
    engine: DecisionEngine,
    applications: Sequence[tuple[str, Application]],
    outcomes: pl.DataFrame,
    *,
    start_date: date | None = None,
) -> Evaluation:
    """Decide every application and report approval rates and risk by outcome (see the module docstring).

    ``applications``: ``(application_id, Application)`` pairs as
    :func:`~autofin.decision.synthetic.world_applications` gives them. ``outcomes``: the world's truth,
    :func:`~autofin.decision.synthetic.world_outcomes` (columns ``application_id``, ``segment``,
    ``booked``, ``bad``, ``true_pd_first_quote``), one row per application at least. ``start_date``: the
    contract start date of every decision (``None``: each application's submission date; the demo world's
    applications predate the demo catalogue's products, so evaluations of it pass the catalogue's
    effective date). Raises :class:`~autofin.errors.ValidationError` when a column is missing or an
    application has no outcome row, and whatever the engine raises for an invalid application.
    """
    missing = [c for c in _REQUIRED_COLUMNS if c not in outcomes.columns]
    if missing:
        raise ValidationError("outcomes", missing, "needs the columns of world_outcomes()")
    truth = {
        row[0]: row[1:]
        for row in outcomes.select(_REQUIRED_COLUMNS).iter_rows()  # (id, segment, booked, bad, true_pd)
    }
    per_group: dict[str, list[tuple[float, float, bool, bool | None]]] = {g: [] for g in GROUPS}
    counts: Counter[str] = Counter()
    by_segment: dict[str, list[bool]] = {}
    reasons: dict[str, Counter[str]] = {"decline": Counter(), "counter_offer": Counter(), "refer": Counter()}
    times: list[float] = []
    for key, app in applications:
        row = truth.get(key)
        if row is None:
            raise ValidationError("outcomes", key, "has no row for this application")
        segment, booked, bad, true_pd = row
        decision = engine.decide(app, start_date=start_date)
        outcome = decision.outcome
        counts[outcome] += 1
        approved = outcome in ("approve", "counter_offer")
        by_segment.setdefault(str(segment), []).append(approved)
        item = (float(true_pd), float(decision.risk.pd), bool(booked), None if bad is None else bool(bad))
        per_group[outcome].append(item)
        if approved:
            per_group["approved"].append(item)
        if outcome in reasons:
            reasons[outcome].update({r.code for r in decision.reasons})
        times.append(float(decision.timings_us.get("total", 0.0)) / 1000.0)

    n = len(applications)
    groups: dict[str, GroupRisk] = {}
    for name, items in per_group.items():
        booked_bad = [bad for _, _, booked, bad in items if booked and bad is not None]
        groups[name] = GroupRisk(
            group=name,
            n=len(items),
            true_pd=Estimate.mean([t for t, _, _, _ in items]),
            booked=len(booked_bad),
            bad_rate=Estimate.proportion(sum(booked_bad), len(booked_bad)),
            model_pd=Estimate.mean([m for _, m, _, _ in items]),
        )
    top = {
        outcome: tuple(
            ReasonCount(code, c, c / counts[outcome])
            for code, c in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
        )
        for outcome, counter in reasons.items()
    }
    ordered = sorted(times)
    return Evaluation(
        n=n,
        counts={o: counts[o] for o in OUTCOMES},
        shares={o: (counts[o] / n if n else 0.0) for o in OUTCOMES},
        approval=Estimate.proportion(counts["approve"] + counts["counter_offer"], n),
        approval_by_segment={
            seg: Estimate.proportion(sum(flags), len(flags)) for seg, flags in sorted(by_segment.items())
        },
        groups=groups,
        top_reasons=top,
        time_ms={
            "mean": math.fsum(times) / n if n else 0.0,
            "p50": _quantile(ordered, 0.5),
            "p99": _quantile(ordered, 0.99),
        },
        start_date=start_date,
    )
