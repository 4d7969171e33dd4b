"""Interest-rate management: floating-rate spreads, rate locks, and repricing when funding moves.

* :func:`spread_for_target` — a floating-rate product is priced as *benchmark + spread*, reset every
  ``reset_every_months`` within periodic and lifetime caps and floors (as
  :class:`autofin.finance.terms.FloatingRate` and the catalogue's ``FloatingSpec`` define them). Given a
  forward benchmark path, the spread is the smallest (on the spread step) at which the loan earns the
  target RAROC: the customer-rate path it implies must give, on the loan's expected balances, at least
  the interest of the minimum *fixed* rate for the target (:func:`autofin.pricing.buildup.minimum_rate`).
  The comparison is by the **balance-weighted average rate** ``Σ B_t r_t / Σ B_t`` (balances of the
  fixed-rate annuity at that minimum rate): the fixed rate that earns the same interest on the same
  balances. Re-amortisation at resets changes the balances only slightly — a second-order effect
  ignored here; the funding assumption is the fixed loan's.
* :class:`RateLock` — a quote's rate is honoured until its lock expires.
* :func:`reprice` — when the funding curve moves, every cell of a rate sheet moves by the change in
  funding at its term × ``pass_through``, rounded up to the sheet's step, then made monotone again;
  quotes inside their lock keep their locked rate. The shift per cell is reported.

Units: rates and spreads are annual decimals (``0.0035`` = 35 bp); terms and resets are months; money in
currency units; lock windows in days.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from autofin.catalog.models import FloatingSpec
from autofin.errors import ValidationError
from autofin.pricing.buildup import PricingAssumptions, minimum_rate, offer_economics, opening_balances
from autofin.pricing.ratesheet import (
    FLAG_LEGAL_CAP,
    FLAG_MARKET_CEILING,
    FLAG_UNREACHABLE,
    RateSheet,
    ceil_to_step,
    enforce_monotone,
    with_lgd,
)

__all__ = [
    "FloatingPrice",
    "FloatingTerms",
    "LockedQuote",
    "QuoteRate",
    "RateLock",
    "Repricing",
    "customer_rate_path",
    "reprice",
    "spread_for_target",
]


class Curve(Protocol):
    """Anything with an annual decimal rate by tenor in months (a FundingCurve or a Funding)."""

    def rate(self, months: float) -> float: ...


# -- floating-rate spreads ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloatingTerms:
    """How a floating rate resets: every ``reset_every_months`` after ``lock_months``; at most
    ``periodic_cap`` up / ``periodic_floor`` down per reset (positive decimals); always within
    ``[lifetime_floor, lifetime_cap]`` (annual decimals). ``None``: no such limit."""

    reset_every_months: int = 12
    periodic_cap: float | None = None
    periodic_floor: float | None = None
    lifetime_cap: float | None = None
    lifetime_floor: float | None = None
    lock_months: int = 0

    def __post_init__(self) -> None:
        if self.reset_every_months < 1:
            raise ValidationError("reset_every_months", self.reset_every_months, "must be at least 1")
        if self.lock_months < 0:
            raise ValidationError("lock_months", self.lock_months, "must be 0 or more")
        for name in ("periodic_cap", "periodic_floor"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValidationError(name, v, "must not be negative (it is a size of move)")
        lo, hi = self.lifetime_floor, self.lifetime_cap
        if lo is not None and hi is not None and hi < lo:
            raise ValidationError("lifetime_floor", lo, f"must not be above lifetime_cap ({hi})")

    @classmethod
    def from_spec(cls, spec: FloatingSpec) -> FloatingTerms:
        """The reset rules of a catalogue product's ``floating`` section."""

        def f(x: Any) -> float | None:
            return None if x is None else float(x)

        return cls(
            spec.reset_every_months,
            f(spec.periodic_cap),
            f(spec.periodic_floor),
            f(spec.lifetime_cap),
            f(spec.lifetime_floor),
            spec.lock_months,
        )


def customer_rate_path(
    benchmark_path: Sequence[float], spread: float, term_months: int, terms: FloatingTerms = FloatingTerms()
) -> npt.NDArray[np.float64]:
    """The customer's annual rate in months 1..``term_months`` (index 0 = month 1).

    ``benchmark_path[k]`` is the forward benchmark (annual decimal) at the start of month ``k + 1``;
    a short path is extended with its last value. The rate is set at the start to benchmark + spread
    (within the lifetime bounds) and reset at the start of months ``1 + j·reset_every_months`` for
    j ≥ 1 that are past ``lock_months``, each move limited by the periodic cap / floor. Never below 0.
    """
    if not benchmark_path:
        raise ValidationError("benchmark_path", benchmark_path, "give at least one benchmark rate")
    if term_months < 1:
        raise ValidationError("term_months", term_months, "must be at least 1")
    b = [float(benchmark_path[min(k, len(benchmark_path) - 1)]) for k in range(term_months)]
    out = np.empty(term_months)
    current = _lifetime(b[0] + spread, terms)
    for k in range(term_months):
        if k and k % terms.reset_every_months == 0 and k >= terms.lock_months:
            target = b[k] + spread
            if terms.periodic_cap is not None:
                target = min(target, current + terms.periodic_cap)
            if terms.periodic_floor is not None:
                target = max(target, current - terms.periodic_floor)
            current = _lifetime(target, terms)
        out[k] = current
    return out


def _lifetime(rate: float, terms: FloatingTerms) -> float:
    if terms.lifetime_cap is not None:
        rate = min(rate, terms.lifetime_cap)
    if terms.lifetime_floor is not None:
        rate = max(rate, terms.lifetime_floor)
    return max(rate, 0.0)


@dataclass(frozen=True, slots=True)
class FloatingPrice:
    """A priced floating-rate offer: ``spread`` over the benchmark (annual decimal, on the spread step),
    the ``initial_rate``, the customer ``rate_path`` by month, its balance-weighted
    ``equivalent_fixed_rate``, the ``min_fixed_rate`` for the target and the ``raroc`` at the
    equivalent fixed rate (annual decimals)."""

    spread: float
    initial_rate: float
    equivalent_fixed_rate: float
    min_fixed_rate: float
    raroc: float
    rate_path: tuple[float, ...]


def spread_for_target(
    amount: float,
    term_months: int,
    pd: float | Sequence[float],
    assumptions: PricingAssumptions,
    target_raroc: float,
    benchmark_path: Sequence[float],
    *,
    terms: FloatingTerms = FloatingTerms(),
    balloon: float = 0.0,
    spread_step: float = 0.0001,
) -> FloatingPrice:
    """The spread over ``benchmark_path`` that earns ``target_raroc`` (see the module docstring).

    ``amount`` in currency units, ``term_months`` months, ``pd`` as the build-up takes it, rates annual
    decimals. The spread is rounded **up** to ``spread_step``. Raises :class:`ValidationError` naming
    ``lifetime_cap`` (or ``periodic_cap``) when the caps keep the rate below what the target needs.
    """
    r_min = minimum_rate(amount, term_months, pd, assumptions, target_raroc, balloon=balloon)
    weights = opening_balances(amount, r_min, term_months, balloon)
    total = float(weights.sum())

    def avg(s: float) -> float:
        return float((customer_rate_path(benchmark_path, s, term_months, terms) * weights).sum()) / total

    lo, hi = -1.0, 1.0
    if avg(hi) < r_min - 1e-12:
        capped = "lifetime_cap" if terms.lifetime_cap is not None else "periodic_cap"
        raise ValidationError(
            capped,
            getattr(terms, capped),
            f"keeps the average rate below the {r_min:.4%} the target RAROC needs",
        )
    if avg(lo) >= r_min:
        s = lo
    else:
        for _ in range(200):  # bisection: the average rate is non-decreasing in the spread
            mid = (lo + hi) / 2
            if avg(mid) >= r_min:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1e-13:
                break
        s = hi
    s = ceil_to_step(s, spread_step)
    path = customer_rate_path(benchmark_path, s, term_months, terms)
    eq = avg(s)
    econ = offer_economics(amount, min(eq, 1.0), term_months, pd, assumptions, balloon=balloon)
    return FloatingPrice(s, float(path[0]), eq, r_min, float(econ.raroc), tuple(float(x) for x in path))


# -- rate locks --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLock:
    """A quoted ``rate`` (annual decimal) honoured from ``locked_on`` for ``days`` days: through
    ``locked_on + days`` inclusive (a 30-day lock taken on 1 March holds through 31 March)."""

    rate: float
    locked_on: date
    days: int

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValidationError("days", self.days, "must be 0 or more")
        if not 0 <= self.rate < 1:
            raise ValidationError("rate", self.rate, "must be an annual decimal in [0, 1)")

    @property
    def expires(self) -> date:
        """The last day the rate is honoured."""
        return self.locked_on + timedelta(days=self.days)

    def valid_on(self, day: date) -> bool:
        """Whether the locked rate is honoured on ``day``."""
        return self.locked_on <= day <= self.expires


# -- repricing ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockedQuote:
    """An outstanding quote: its id, the sheet cell it was priced in, and its lock."""

    quote_id: str
    band: str
    term_months: int
    condition: str
    lock: RateLock
    ltv: float | None = None


@dataclass(frozen=True, slots=True)
class QuoteRate:
    """The rate a quote gets after repricing: its locked rate while the lock holds (``locked=True``),
    else the repriced sheet's rate (``None`` if the cell is unreachable)."""

    quote_id: str
    rate: float | None
    locked: bool
    sheet_rate: float | None


@dataclass(frozen=True)
class Repricing:
    """The repriced ``sheet``, the per-cell ``shifts`` (band, term, condition, LTV band,
    ``old_rate``, ``funding_change`` at the cell's term, ``shift`` applied = new − old, ``new_rate``,
    ``flags``) and what each outstanding quote now gets."""

    sheet: RateSheet
    shifts: pl.DataFrame
    quotes: dict[str, QuoteRate] = field(default_factory=dict)


def reprice(
    sheet: RateSheet,
    old_curve: Curve,
    new_curve: Curve,
    pass_through: float = 1.0,
    *,
    locks: Sequence[LockedQuote] = (),
    on: date | None = None,
    assumptions: PricingAssumptions | None = None,
) -> Repricing:
    """Move every cell by ``pass_through`` × (new − old funding rate at the cell's term).

    The moved rate is rounded up to the sheet's step, floored at 0, and the cumulative maximum along
    the sheet's risk directions is taken again (a parallel move keeps the order; rounding and the
    zero floor could not break it, but the check is cheap). Cap and ceiling flags are re-evaluated.
    ``locks``: outstanding quotes; each keeps its locked rate if its lock is valid ``on`` (required
    when locks are given). ``assumptions`` (with the *new* funding): recompute each cell's RAROC;
    otherwise the ``raroc`` column is cleared (it described the old funding).
    """
    if not 0 <= pass_through <= 2:
        raise ValidationError("pass_through", pass_through, "must be between 0 and 2 (1 = full)")
    if locks and on is None:
        raise ValidationError("on", None, "give the repricing date to check the quotes' locks")
    f = sheet.frame
    term_index = {t: i for i, t in enumerate(sorted(set(f["term_min"].to_list())))}
    conds = sorted(set(f["condition"].to_list()), key=lambda c: ("new", "used").index(c))
    cond_index = {c: i for i, c in enumerate(conds)}
    shape = (
        int(f["band_index"].max()) + 1,  # type: ignore[arg-type]
        len(term_index),
        len(conds),
        int(f["ltv_index"].max()) + 1,  # type: ignore[arg-type]
    )
    moved = np.full(shape, math.inf)
    changes: list[float] = []
    rows = list(f.iter_rows(named=True))
    for r in rows:
        d = float(new_curve.rate(r["term"])) - float(old_curve.rate(r["term"]))
        changes.append(d)
        if r["rate"] is None:
            continue
        new = max(0.0, ceil_to_step(r["rate"] + pass_through * d, sheet.rate_step))
        moved[r["band_index"], term_index[r["term_min"]], cond_index[r["condition"]], r["ltv_index"]] = new
    final = enforce_monotone(moved, term_monotone=sheet.term_monotone)

    new_rates: list[float | None] = []
    flags: list[list[str]] = []
    rarocs: list[float | None] = []
    for r in rows:
        x = final[r["band_index"], term_index[r["term_min"]], cond_index[r["condition"]], r["ltv_index"]]
        rate = float(x) if math.isfinite(x) else None
        fl: list[str] = []
        raroc: float | None = None
        if rate is None:
            fl.append(FLAG_UNREACHABLE)
        else:
            if r["legal_cap"] is not None and rate > r["legal_cap"] + 1e-12:
                fl.append(FLAG_LEGAL_CAP)
            if r["ceiling"] is not None and rate > r["ceiling"] + 1e-12:
                fl.append(FLAG_MARKET_CEILING)
            if assumptions is not None:
                a = with_lgd(assumptions, r["lgd"])
                raroc = float(offer_economics(r["amount"], rate, r["term"], r["pd"], a).raroc)
        new_rates.append(rate)
        flags.append(fl)
        rarocs.append(raroc)

    new_frame = f.with_columns(
        pl.Series("rate", new_rates, dtype=pl.Float64),
        pl.Series("raroc", rarocs, dtype=pl.Float64),
        pl.Series("flags", flags, dtype=pl.List(pl.Utf8)),
    )
    new_sheet = RateSheet(
        frame=new_frame,
        target_raroc=sheet.target_raroc,
        rate_step=sheet.rate_step,
        legal_cap=sheet.legal_cap,
        has_ltv=sheet.has_ltv,
        term_monotone=sheet.term_monotone,
        notes=(*sheet.notes, f"repriced: pass-through {pass_through:g}"),
    )
    shifts = f.select("band", "term_min", "term_max", "term", "condition", "ltv_index").with_columns(
        f["rate"].alias("old_rate"),
        pl.Series("funding_change", changes, dtype=pl.Float64),
        (pl.Series("new_rate", new_rates, dtype=pl.Float64) - f["rate"]).round(10).alias("shift"),
        pl.Series("new_rate", new_rates, dtype=pl.Float64),
        pl.Series("flags", flags, dtype=pl.List(pl.Utf8)),
    )
    quotes: dict[str, QuoteRate] = {}
    for q in locks:
        sheet_rate = new_sheet.rate_for(q.band, q.term_months, q.condition, q.ltv)
        assert on is not None
        if q.lock.valid_on(on):
            quotes[q.quote_id] = QuoteRate(q.quote_id, q.lock.rate, True, sheet_rate)
        else:
            quotes[q.quote_id] = QuoteRate(q.quote_id, sheet_rate, False, sheet_rate)
    return Repricing(new_sheet, shifts, quotes)
