"""Price optimisation: the customer rate of each cell that maximises expected profit under constraints.

A *cell* is a group of quotes priced alike — segment × risk tier × term. Given a take-up model
(:mod:`autofin.pricing.takeup`) and the NPV of a booked loan as a function of its rate, the optimiser
chooses one rate per cell to

    maximise   Π(r) = Σ_c N_c · a_c · P_c(r_c) · NPV_c(r_c)

where N_c is the number of (reached) quotes of the cell in the planning period, a_c its approval rate
(share of accepted quotes that pass the credit policy; 1 when not known) and P_c the take-up
probability of the cell's representative quote — its payment moves with the rate. Expected volume
is V(r) = Σ_c N_c·a_c·P_c(r_c) booked loans. Subject to

* **volume**: V(r) ≥ ``min_volume``;
* **risk mix**: the share of expected volume from the ``risky_tiers`` ≤ ``max_risky_share``;
* **monotone tiers**: within a segment × term, a riskier tier's rate ≥ a safer tier's
  (``tier_order``, safest first);
* **legal caps**: r_c ≤ cap (per cell, or global: the lower applies);
* **floors**: r_c ≥ the cell's funding rate + ``min_margin`` (and ≥ a global ``floor``);
* **fair lending**: |mean rate of group A − mean rate of group B| ≤ δ, means weighted by expected
  volume and each cell's composition by protected group (e.g. gender from the world's ``protected``
  table; group take-up is assumed equal within a cell).

The problem is solved by sequential quadratic programming (``scipy.optimize.minimize``, SLSQP) with
analytic gradients, from several starting sheets (the per-cell optimum made monotone, the baseline,
the floors); the best sheet meeting every constraint wins. NPV curves are tabulated once per cell on
a rate grid and interpolated by cubic splines, so the NPV function may be as slow as it needs to be.

Units: rates are annual decimals (0.06 = 6 %); money in the world's currency (CNY) major units;
volume in booked loans over the planning period of N_c.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline  # type: ignore[import-untyped]
from scipy.optimize import minimize  # type: ignore[import-untyped]

from autofin.errors import ConvergenceError, ValidationError
from autofin.jsonsafe import finite, finite_mapping
from autofin.pricing.buildup import PricingAssumptions
from autofin.pricing.takeup import LogitTakeup, monthly_payment_factor

__all__ = [
    "ConstraintCheck",
    "FairLending",
    "NpvFunction",
    "OptimisationResult",
    "PricingCell",
    "PricingConstraints",
    "SheetReport",
    "buildup_npv",
    "cells_from_world",
    "evaluate_sheet",
    "flat_margin_rates",
    "margin_npv",
    "optimise_rates",
    "score_tier",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_GRID_STEP: Final = 0.0025  # NPV tabulation step (annual decimal): 25 bp, cubic-spline interpolated
_TOL: Final = 1e-6  # relative feasibility tolerance of the constraint checks
_RATE_TOL: Final = 1e-7  # absolute tolerance on rates (bounds, monotone tiers, fair-lending gap)


class NpvFunction(Protocol):
    """NPV of one booked loan of ``cell`` (currency units) at each of ``rates`` (annual decimals)."""

    def __call__(self, cell: PricingCell, rates: FloatArray, /) -> FloatArray: ...


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricingCell:
    """One priced cell: segment × risk tier × term, and the representative quote the rate applies to.

    Attributes:
        segment: customer segment (must be known to the take-up model).
        tier: risk tier (e.g. a bureau score band).
        term_months: contract term in months.
        n_quotes: N_c, quotes reached in the planning period (the opportunities; ≥ 0).
        amount: representative amount financed (currency units, > 0).
        annual_pd: annual probability of default (decimal in [0, 1)).
        funding_rate: the cell's cost of funds (annual decimal); the rate floor before ``min_margin``.
        amount_to_income: mean amount financed / monthly income (months of income, > 0): the PTI of
            a quote is this times the monthly payment factor of its rate.
        down_share: mean down payment / vehicle price (0–1).
        balloon_share: mean balloon (or lease residual) / amount financed (0–1).
        share_balloon, share_lease: shares of balloon-loan and lease quotes in the cell (0–1).
        approval_rate: share of accepted quotes the credit policy approves (0–1; default 1).
        group_shares: composition of the cell by protected group (``{"female": 0.4, "male": 0.6}``).
        cap: the cell's legal cap (annual decimal), or ``None`` to use the global cap only.
        current_rate: today's rate of the cell (annual decimal), if any — for reports.
    """

    segment: str
    tier: str
    term_months: int
    n_quotes: float
    amount: float
    annual_pd: float
    funding_rate: float
    amount_to_income: float
    down_share: float
    balloon_share: float = 0.0
    share_balloon: float = 0.0
    share_lease: float = 0.0
    approval_rate: float = 1.0
    group_shares: Mapping[str, float] = field(default_factory=dict)
    cap: float | None = None
    current_rate: float | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        """``(segment, tier, term_months)``."""
        return (self.segment, self.tier, self.term_months)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "segment": self.segment,
            "tier": self.tier,
            "term_months": self.term_months,
            "n_quotes": self.n_quotes,
            "amount": self.amount,
            "annual_pd": self.annual_pd,
            "funding_rate": self.funding_rate,
            "amount_to_income": self.amount_to_income,
            "down_share": self.down_share,
            "balloon_share": self.balloon_share,
            "share_balloon": self.share_balloon,
            "share_lease": self.share_lease,
            "approval_rate": self.approval_rate,
            "group_shares": dict(self.group_shares),
            "cap": self.cap,
            "current_rate": self.current_rate,
        }


@dataclass(frozen=True)
class FairLending:
    """Fair-lending limit: |mean rate of ``group`` − mean rate of ``reference``| ≤ ``max_gap``.

    Means are weighted by expected volume × the cell's share of the group; ``max_gap`` is an annual
    decimal (0.001 = 10 bp).
    """

    group: str
    reference: str
    max_gap: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"group": self.group, "reference": self.reference, "max_gap": self.max_gap}


@dataclass(frozen=True)
class PricingConstraints:
    """The business, risk, legal and fairness constraints of a rate sheet.

    Attributes:
        min_volume: expected booked loans the sheet must reach (``None``: no target).
        risky_tiers: tiers whose share of expected volume is limited.
        max_risky_share: the limit on that share (0–1; ``None``: no limit).
        tier_order: tiers from safest to riskiest; within each segment × term a riskier tier's rate
            must be ≥ a safer tier's. Tiers not listed are not ordered. Empty: no monotone constraint.
        cap: global legal cap (annual decimal); a cell's own ``cap`` applies when lower.
        floor: global minimum rate (annual decimal), e.g. a product's floor.
        min_margin: minimum spread over the cell's funding rate (annual decimal; default 0, i.e. the
            floor is the funding cost).
        fair_lending: the protected-group rate-gap limit, or ``None``.
    """

    min_volume: float | None = None
    risky_tiers: tuple[str, ...] = ()
    max_risky_share: float | None = None
    tier_order: tuple[str, ...] = ()
    cap: float | None = None
    floor: float | None = None
    min_margin: float = 0.0
    fair_lending: FairLending | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "min_volume": self.min_volume,
            "risky_tiers": list(self.risky_tiers),
            "max_risky_share": self.max_risky_share,
            "tier_order": list(self.tier_order),
            "cap": self.cap,
            "floor": self.floor,
            "min_margin": self.min_margin,
            "fair_lending": None if self.fair_lending is None else self.fair_lending.to_dict(),
        }


# --------------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConstraintCheck:
    """One constraint evaluated on a sheet.

    ``value`` and ``limit`` are in the constraint's units (loans, share, annual decimal);
    ``sense`` is ``">="`` or ``"<="``; ``slack`` ≥ 0 when met (value − limit for ``>=``, limit − value
    for ``<=``); ``binding`` when met with (relative) slack below 10⁻⁴. ``satisfied`` allows the solver
    tolerance (10⁻⁶ relative; 10⁻⁷ absolute on rates).
    """

    name: str
    value: float
    limit: float
    sense: str
    satisfied: bool
    slack: float
    binding: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "sense": self.sense,
            "satisfied": self.satisfied,
            "slack": self.slack,
            "binding": self.binding,
        }


@dataclass(frozen=True)
class SheetReport:
    """A rate sheet evaluated under one take-up model and NPV function.

    Attributes:
        name: label (``"optimised"``, ``"flat"``, …).
        profit: expected profit Σ N·a·P·NPV (currency units).
        volume: expected booked loans Σ N·a·P.
        quotes: Σ N (opportunities).
        takeup_rate: expected accepted quotes / quotes (Σ N·P / Σ N).
        approval_rate: expected booked / expected accepted.
        risky_share: share of expected volume from the risky tiers (NaN when none are declared).
        mean_rate: volume-weighted mean rate (annual decimal).
        group_rates: volume-weighted mean rate per protected group.
        rate_gap: mean rate of the fair-lending group − the reference group (NaN when not set).
        checks: every constraint evaluated on this sheet.
        cells: per cell: ``segment, tier, term_months, rate, floor, cap, n_quotes, p_take,
            approval_rate, volume, npv_per_loan, profit, annual_pd, amount``.
    """

    name: str
    profit: float
    volume: float
    quotes: float
    takeup_rate: float
    approval_rate: float
    risky_share: float
    mean_rate: float
    group_rates: dict[str, float]
    rate_gap: float
    checks: tuple[ConstraintCheck, ...]
    cells: pl.DataFrame

    @property
    def feasible(self) -> bool:
        """Every constraint met (within the solver tolerance)."""
        return all(c.satisfied for c in self.checks)

    def check(self, name: str) -> ConstraintCheck:
        """The check called ``name`` (``volume``, ``risk_mix``, ``monotone``, ``cap``, ``floor``,
        ``fair_lending_upper``, ``fair_lending_lower``)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise ValidationError("name", name, f"is not a check of this sheet ({[c.name for c in self.checks]})")

    def summary(self) -> dict[str, Any]:
        """The headline numbers (no per-cell rows)."""
        return finite_mapping(
            {
                "name": self.name,
                "profit": self.profit,
                "volume": self.volume,
                "quotes": self.quotes,
                "takeup_rate": self.takeup_rate,
                "approval_rate": self.approval_rate,
                "risky_share": self.risky_share,
                "mean_rate": self.mean_rate,
                "group_rates": dict(self.group_rates),
                "rate_gap": self.rate_gap,
                "feasible": self.feasible,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: headline numbers, the checks and one dict per cell."""
        return self.summary() | {
            "checks": [finite(c.to_dict()) for c in self.checks],
            "cells": [finite(r) for r in self.cells.to_dicts()],
        }


@dataclass(frozen=True)
class OptimisationResult:
    """The optimised sheet, its report, the baseline's report and how the solver fared.

    Attributes:
        rates: optimised rate per cell (annual decimals), in the order of ``cells``.
        report: the optimised sheet evaluated with the model it was optimised under.
        baseline: the baseline sheet (e.g. flat margin) under the same model, or ``None``.
        success: the solver converged to a sheet that meets every constraint.
        message: the solver's message for the chosen start.
        iterations: SLSQP iterations of the chosen start.
        seconds: wall time of the whole optimisation.
        constraints: the constraints solved for.
    """

    rates: FloatArray
    report: SheetReport
    baseline: SheetReport | None
    success: bool
    message: str
    iterations: int
    seconds: float
    constraints: PricingConstraints

    @property
    def lift(self) -> float:
        """Expected profit of the optimised sheet − the baseline's (NaN without a baseline)."""
        return math.nan if self.baseline is None else self.report.profit - self.baseline.profit

    def comparison(self) -> pl.DataFrame:
        """Per cell: optimised and baseline rate, take-up, volume and profit, and the differences."""
        opt = self.report.cells
        if self.baseline is None:
            return opt
        base = self.baseline.cells.select(
            pl.col("rate").alias("rate_baseline"),
            pl.col("p_take").alias("p_take_baseline"),
            pl.col("volume").alias("volume_baseline"),
            pl.col("profit").alias("profit_baseline"),
        )
        return pl.concat([opt, base], how="horizontal").with_columns(
            (pl.col("rate") - pl.col("rate_baseline")).alias("rate_change"),
            (pl.col("profit") - pl.col("profit_baseline")).alias("profit_change"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return finite_mapping(
            {
                "rates": self.rates.tolist(),
                "report": self.report.to_dict(),
                "baseline": None if self.baseline is None else self.baseline.to_dict(),
                "lift": self.lift,
                "success": self.success,
                "message": self.message,
                "iterations": self.iterations,
                "seconds": self.seconds,
                "constraints": self.constraints.to_dict(),
            }
        )


# --------------------------------------------------------------------------------------------------
# NPV functions
# --------------------------------------------------------------------------------------------------


def margin_npv(*, opex_rate: float = 0.010, lgd: float = 0.50) -> NpvFunction:
    """A simple NPV stand-in: margin over cost on the scheduled balance, undiscounted.

    NPV(r) = Σ_{k=1..n} B_{k−1}(r)/12 · (r − funding − ``opex_rate`` − annual_pd·``lgd``), the
    balances B of the cell's representative level-annuity schedule at rate r with its balloon
    (currency units). No prepayment, no discounting, expected loss as an annual charge on the balance:
    a transparent stand-in for :func:`buildup_npv` when testing the optimiser.
    """
    for name, value in (("opex_rate", opex_rate), ("lgd", lgd)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValidationError(name, value, "must be a decimal in [0, 1]")

    def npv(cell: PricingCell, rates: FloatArray) -> FloatArray:
        r = np.asarray(rates, dtype=np.float64)
        balance_years = _balance_years(cell.amount, r, cell.term_months, cell.balloon_share)
        out: FloatArray = balance_years * (r - cell.funding_rate - opex_rate - cell.annual_pd * lgd)
        return out

    return npv


def buildup_npv(assumptions: PricingAssumptions) -> NpvFunction:
    """The cost build-up's NPV of one booked loan (:func:`autofin.pricing.batch.price_offers` ``"npv"``).

    Each cell's representative amount, term, balloon (``balloon_share`` × amount) and annual PD are
    priced at every rate with ``assumptions`` (funding, LGD, operating cost, capital charge at the
    hurdle rate, dealer and F&I terms); currency units per booked loan. Keep the cells'
    ``funding_rate`` (the rate floors) consistent with ``assumptions.funding``.
    """
    from autofin.pricing.batch import price_offers

    if not isinstance(assumptions, PricingAssumptions):
        raise ValidationError("assumptions", assumptions, "must be PricingAssumptions")

    def npv(cell: PricingCell, rates: FloatArray) -> FloatArray:
        r = np.asarray(rates, dtype=np.float64)
        out = price_offers(
            np.full(r.shape, cell.amount),
            r,
            np.full(r.shape, cell.term_months, dtype=np.int64),
            np.full(r.shape, cell.annual_pd),
            assumptions,
            balloon=np.full(r.shape, cell.balloon_share * cell.amount),
            minimum_rate=False,
        )
        return np.asarray(out["npv"], dtype=np.float64)

    return npv


def _balance_years(amount: float, rates: FloatArray, term_months: int, balloon_share: float) -> FloatArray:
    """Σ_{k=0..n−1} B_k / 12 of a level annuity with a final balloon (currency-years), per rate."""
    i = rates / 12.0
    k = np.arange(term_months, dtype=np.float64)[:, None]
    pay = amount * monthly_payment_factor(rates, term_months, balloon_share)
    small = np.abs(i) < 1e-12
    i_safe = np.where(small, 1.0, i)
    growth = (1.0 + i_safe) ** k
    bal = np.where(small, amount - pay * k, amount * growth - pay * (growth - 1.0) / i_safe)
    out: FloatArray = bal.sum(axis=0) / 12.0
    return out


# --------------------------------------------------------------------------------------------------
# the problem
# --------------------------------------------------------------------------------------------------


class _Problem:
    """Arrays of a validated problem, and the objective, constraints and their gradients."""

    def __init__(
        self,
        cells: Sequence[PricingCell],
        takeup: LogitTakeup,
        npv_fn: NpvFunction,
        constraints: PricingConstraints,
    ) -> None:
        _check_cells(cells)
        _check_constraints(constraints, cells)
        self.cells = tuple(cells)
        self.constraints = constraints
        n = len(cells)
        self.n = n
        self.weight = np.array([c.n_quotes * c.approval_rate for c in cells])
        self.quotes = np.array([c.n_quotes for c in cells])
        self.beta = np.vstack([takeup.coefficient_vector(c.segment) for c in cells])
        self.term = np.array([c.term_months for c in cells], dtype=np.float64)
        self.ati = np.array([c.amount_to_income for c in cells])
        self.bshare = np.array([c.balloon_share for c in cells])
        self.base_eta = (
            self.beta[:, 0]
            + self.beta[:, 3] * self.term / 12.0
            + self.beta[:, 4] * np.array([c.down_share for c in cells])
            + self.beta[:, 5] * np.array([c.share_balloon for c in cells])
            + self.beta[:, 6] * np.array([c.share_lease for c in cells])
        )
        self.floor, self.cap = _bounds(cells, constraints)
        self.risky = np.array([c.tier in constraints.risky_tiers for c in cells])
        self.pairs = _monotone_pairs(cells, constraints.tier_order)
        fl = constraints.fair_lending
        self.w_a = np.array([c.group_shares.get(fl.group, 0.0) for c in cells]) if fl else np.zeros(n)
        self.w_b = np.array([c.group_shares.get(fl.reference, 0.0) for c in cells]) if fl else np.zeros(n)
        self._cache: tuple[bytes, dict[str, FloatArray]] | None = None
        self._tabulate(npv_fn)

    def _tabulate(self, npv_fn: NpvFunction) -> None:
        lo = max(float(self.floor.min()) - 2 * _GRID_STEP, 0.0)
        hi = float(self.cap.max()) + 2 * _GRID_STEP
        grid = np.arange(lo, hi + _GRID_STEP / 2, _GRID_STEP)
        values = np.empty((grid.size, self.n))
        for j, cell in enumerate(self.cells):
            v = np.asarray(npv_fn(cell, grid.copy()), dtype=np.float64)
            if v.shape != grid.shape or not np.isfinite(v).all():
                raise ValidationError(
                    "npv_fn", cell.key, f"must return one finite NPV per rate (got shape {v.shape})"
                )
            values[:, j] = v
        spline = CubicSpline(grid, values, axis=0)
        self.grid = grid
        self._coef = spline.c  # (4, intervals, cells): cubic pieces, highest power first

    def npv(self, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        """NPV per booked loan and its derivative in the rate, per cell."""
        idx = np.clip(np.searchsorted(self.grid, r, side="right") - 1, 0, self.grid.size - 2)
        t = r - self.grid[idx]
        cols = np.arange(self.n)
        c3, c2, c1, c0 = (self._coef[k, idx, cols] for k in range(4))
        value: FloatArray = ((c3 * t + c2) * t + c1) * t + c0
        slope: FloatArray = (3.0 * c3 * t + 2.0 * c2) * t + c1
        return value, slope

    def p_take(self, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Take-up probability and its derivative in the rate, per cell."""
        h = 1e-7
        f = monthly_payment_factor(r, self.term, self.bshare)
        df = (
            monthly_payment_factor(r + h, self.term, self.bshare)
            - monthly_payment_factor(r - h, self.term, self.bshare)
        ) / (2 * h)
        eta = self.base_eta + self.beta[:, 1] * 100.0 * r + self.beta[:, 2] * 100.0 * self.ati * f
        deta = self.beta[:, 1] * 100.0 + self.beta[:, 2] * 100.0 * self.ati * df
        p: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * eta))
        dp: FloatArray = p * (1.0 - p) * deta
        return p, dp

    def parts(self, r: FloatArray) -> dict[str, FloatArray]:
        key = r.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out = self._parts(r)
        self._cache = (key, out)
        return out

    def curvature(self, r: FloatArray) -> FloatArray:
        """|d²/dr² of each cell's expected profit| (central differences), for variable scaling."""
        h = 1e-4
        lo, mid, hi = (self._parts(r + d) for d in (-h, 0.0, h))
        prof = [s["vol"] * s["npv"] for s in (lo, mid, hi)]
        out: FloatArray = np.abs(prof[0] - 2 * prof[1] + prof[2]) / (h * h)
        return out

    def _parts(self, r: FloatArray) -> dict[str, FloatArray]:
        p, dp = self.p_take(r)
        npv, dnpv = self.npv(r)
        vol = self.weight * p
        dvol = self.weight * dp
        return {"p": p, "dp": dp, "npv": npv, "dnpv": dnpv, "vol": vol, "dvol": dvol}

    # -- objective and constraints (in rates) ----------------------------------------------------

    def profit(self, r: FloatArray) -> tuple[float, FloatArray]:
        s = self.parts(r)
        value = float(np.sum(s["vol"] * s["npv"]))
        grad: FloatArray = s["dvol"] * s["npv"] + s["vol"] * s["dnpv"]
        return value, grad

    def group_mean(
        self, r: FloatArray, w: FloatArray, s: Mapping[str, FloatArray]
    ) -> tuple[float, FloatArray]:
        weight = s["vol"] * w
        total = float(weight.sum())
        if total <= 0:
            return math.nan, np.zeros(self.n)
        mean = float((weight * r).sum() / total)
        grad: FloatArray = w * (s["dvol"] * (r - mean) + s["vol"]) / total
        return mean, grad

    def slsqp_constraints(self, d: FloatArray) -> list[dict[str, Any]]:
        """Inequalities g(x) ≥ 0 in the solver's scaled variable x = d·rate (so rate = x / d)."""
        c = self.constraints
        out: list[dict[str, Any]] = []
        total0 = max(float(self.weight.sum()), 1.0)
        if c.min_volume is not None:
            target = c.min_volume

            def vol_fun(x: FloatArray) -> float:
                return float((self.parts(x / d)["vol"].sum() - target) / total0)

            def vol_jac(x: FloatArray) -> FloatArray:
                out_: FloatArray = self.parts(x / d)["dvol"] / d / total0
                return out_

            out.append({"type": "ineq", "fun": vol_fun, "jac": vol_jac})
        if c.max_risky_share is not None and self.risky.any():
            coef = c.max_risky_share - self.risky.astype(np.float64)

            def risk_fun(x: FloatArray) -> float:
                return float((coef * self.parts(x / d)["vol"]).sum() / total0)

            def risk_jac(x: FloatArray) -> FloatArray:
                out_: FloatArray = coef * self.parts(x / d)["dvol"] / d / total0
                return out_

            out.append({"type": "ineq", "fun": risk_fun, "jac": risk_jac})
        if self.pairs.size:
            m = self.pairs.shape[0]
            a = np.zeros((m, self.n))
            a[np.arange(m), self.pairs[:, 1]] = 100.0
            a[np.arange(m), self.pairs[:, 0]] = -100.0
            a_x = a / d[None, :]
            out.append({"type": "ineq", "fun": lambda x: a_x @ x, "jac": lambda x: a_x})
        fl = c.fair_lending
        if fl is not None:
            for sign in (1.0, -1.0):

                def gap_fun(x: FloatArray, sign: float = sign) -> float:
                    r = x / d
                    s = self.parts(r)
                    ma, _ = self.group_mean(r, self.w_a, s)
                    mb, _ = self.group_mean(r, self.w_b, s)
                    return 100.0 * (fl.max_gap - sign * (ma - mb))

                def gap_jac(x: FloatArray, sign: float = sign) -> FloatArray:
                    r = x / d
                    s = self.parts(r)
                    _, ga = self.group_mean(r, self.w_a, s)
                    _, gb = self.group_mean(r, self.w_b, s)
                    out_: FloatArray = -100.0 * sign * (ga - gb) / d
                    return out_

                out.append({"type": "ineq", "fun": gap_fun, "jac": gap_jac})
        return out

    # -- starting sheets ---------------------------------------------------------------------------

    def cell_optimum(self) -> FloatArray:
        """Each cell's own profit-maximising rate on a 1 bp grid within its bounds (no coupling)."""
        steps = np.linspace(0.0, 1.0, 1201)
        r = self.floor[None, :] + steps[:, None] * (self.cap - self.floor)[None, :]
        best = np.empty(self.n)
        values = np.empty_like(r)
        for k in range(r.shape[0]):
            s = self.parts(r[k])
            values[k] = s["vol"] * s["npv"]
        best = r[np.argmax(values, axis=0), np.arange(self.n)]
        return self.make_monotone(best)

    def make_monotone(self, r: FloatArray) -> FloatArray:
        """Raise rates so every riskier tier is ≥ its safer neighbour (within bounds)."""
        out = np.clip(r.copy(), self.floor, self.cap)
        for _ in range(len(self.constraints.tier_order) + 1):
            changed = False
            for safe, risky in self.pairs:
                if out[risky] < out[safe]:
                    out[risky] = min(out[safe], self.cap[risky])
                    changed = True
            if not changed:
                break
        return out


# --------------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------------


def evaluate_sheet(
    cells: Sequence[PricingCell],
    rates: Sequence[float] | FloatArray,
    takeup: LogitTakeup,
    npv_fn: NpvFunction,
    constraints: PricingConstraints | None = None,
    *,
    name: str = "sheet",
) -> SheetReport:
    """Expected profit, volume, take-up, approval, risk mix, rate gap and constraint checks of ``rates``.

    ``rates`` are annual decimals, one per cell in the order of ``cells``.
    """
    problem = _Problem(cells, takeup, npv_fn, constraints or PricingConstraints())
    return _report(problem, _check_rates(rates, problem.n), name)


def optimise_rates(
    cells: Sequence[PricingCell],
    takeup: LogitTakeup,
    npv_fn: NpvFunction,
    constraints: PricingConstraints,
    *,
    baseline: Sequence[float] | FloatArray | None = None,
    max_iterations: int = 500,
) -> OptimisationResult:
    """The rate of each cell that maximises expected profit subject to ``constraints``.

    Args:
        cells: the priced cells (validated: every field is checked and named in errors).
        takeup: the take-up model (fitted :class:`~autofin.pricing.takeup.TakeupModel` or
            :class:`~autofin.pricing.takeup.TrueTakeup`) pricing every cell's segment.
        npv_fn: NPV per booked loan (currency units) of a cell at an array of rates.
        constraints: volume, risk mix, monotone tiers, caps, floors, fair lending.
        baseline: a sheet to compare with (annual decimals per cell; e.g. :func:`flat_margin_rates`);
            also used as a starting point.
        max_iterations: SLSQP iteration limit per start.

    Raises:
        ValidationError: a malformed cell or constraint, or a volume target above what the lowest
            allowed rates reach.
        ConvergenceError: no start reached a sheet meeting every constraint.
    """
    t0 = time.perf_counter()
    if not (isinstance(max_iterations, int) and max_iterations >= 1):
        raise ValidationError("max_iterations", max_iterations, "must be a positive whole number")
    problem = _Problem(cells, takeup, npv_fn, constraints)
    base = None if baseline is None else _check_rates(baseline, problem.n, "baseline")
    lowest = problem.make_monotone(problem.floor)
    if constraints.min_volume is not None:
        reachable = float(problem.parts(lowest)["vol"].sum())
        if reachable < constraints.min_volume:
            raise ValidationError(
                "constraints.min_volume",
                constraints.min_volume,
                f"cannot be reached: the lowest allowed rates give {reachable:,.1f} expected loans",
            )
    starts = [problem.cell_optimum(), lowest]
    if base is not None:
        starts.append(problem.make_monotone(base))
    # Scale each rate by the square root of its cell's profit curvature so that the objective's
    # Hessian is close to the identity: SLSQP's quasi-Newton update then needs a few iterations, not
    # one per cell (profit is separable by cell, so its Hessian is diagonal).
    scale = max(abs(problem.profit(starts[0])[0]), 1.0)
    curv = problem.curvature(starts[0]) / scale
    positive = curv[curv > 0]
    floor_curv = 1e-3 * float(np.median(positive)) if positive.size else 1.0
    d = np.sqrt(np.maximum(curv, floor_curv))
    bounds = list(zip(d * problem.floor, d * problem.cap, strict=True))
    cons = problem.slsqp_constraints(d)

    def fun(x: FloatArray) -> float:
        return -problem.profit(x / d)[0] / scale

    def jac(x: FloatArray) -> FloatArray:
        out: FloatArray = -problem.profit(x / d)[1] / d / scale
        return out

    best: tuple[float, FloatArray, str, int] | None = None
    fallback: tuple[float, FloatArray, str, int] | None = None
    for start in starts:
        res = minimize(
            fun,
            d * start,
            jac=jac,
            bounds=bounds,
            constraints=cons,
            method="SLSQP",
            options={"maxiter": max_iterations, "ftol": 1e-12},
        )
        r = np.clip(np.asarray(res.x, dtype=np.float64) / d, problem.floor, problem.cap)
        value = problem.profit(r)[0]
        candidate = (value, r, str(res.message), int(res.nit))
        if _report(problem, r, "candidate").feasible:
            if best is None or value > best[0]:
                best = candidate
        elif fallback is None:
            fallback = candidate
    if best is None:
        assert fallback is not None
        bad = [c.name for c in _report(problem, fallback[1], "x").checks if not c.satisfied]
        raise ConvergenceError("constraints", bad, "could not all be met by the solver: " + fallback[2])
    value, rates, message, nit = best
    report = _report(problem, rates, "optimised")
    baseline_report = None if base is None else _report(problem, base, "baseline")
    return OptimisationResult(
        rates=rates,
        report=report,
        baseline=baseline_report,
        success=True,
        message=message,
        iterations=nit,
        seconds=time.perf_counter() - t0,
        constraints=constraints,
    )


def flat_margin_rates(
    cells: Sequence[PricingCell], margin: float, *, lgd: float | None = None, cap: float | None = None
) -> FloatArray:
    """A flat-margin sheet: funding rate + ``margin`` for every cell (annual decimals).

    With ``lgd`` the expected loss annual_pd·lgd is added too (a cost-plus sheet); the result is capped
    at the lower of ``cap`` and each cell's own cap.
    """
    _check_cells(cells)
    if not (math.isfinite(margin) and -1.0 < margin < 1.0):
        raise ValidationError("margin", margin, "must be an annual decimal in (-1, 1)")
    if lgd is not None and not (math.isfinite(lgd) and 0.0 <= lgd <= 1.0):
        raise ValidationError("lgd", lgd, "must be a decimal in [0, 1]")
    out = np.array([c.funding_rate + margin + (c.annual_pd * lgd if lgd is not None else 0.0) for c in cells])
    caps = np.array([min(x for x in (c.cap, cap, math.inf) if x is not None) for c in cells])
    result: FloatArray = np.minimum(out, caps)
    return result


# --------------------------------------------------------------------------------------------------
# cells from a world's tables
# --------------------------------------------------------------------------------------------------


def score_tier(
    score_bands: Sequence[Mapping[str, Any]], *, score: str = "bureau_score", no_file: str = "no_file"
) -> pl.Expr:
    """A polars expression naming each applicant's score band (``"no_file"`` without a score).

    ``score_bands`` as in truth.json ``credit.score_bands``: ``{"name", "min_score"}`` from the highest
    ``min_score`` down.
    """
    if not score_bands:
        raise ValidationError("score_bands", score_bands, "must list at least one band")
    bands = sorted(((int(b["min_score"]), str(b["name"])) for b in score_bands), reverse=True)
    expr: Any = pl.when(pl.col(no_file) | pl.col(score).is_null()).then(pl.lit("no_file"))
    for min_score, name in bands:
        expr = expr.when(pl.col(score) >= min_score).then(pl.lit(name))
    out: pl.Expr = expr.otherwise(pl.lit(bands[-1][1]))
    return out


def cells_from_world(
    tables: Mapping[str, pl.DataFrame],
    *,
    score_bands: Sequence[Mapping[str, Any]],
    funding_rate: float | Mapping[int, float],
    annual_pd: pl.DataFrame,
    group_column: str = "gender",
    min_quotes: int = 50,
    cap: float | None = None,
) -> list[PricingCell]:
    """Cells (segment × score band × term) of a world's quote history, with their representative quote.

    Args:
        tables: ``quotes``, ``applicants``, ``vehicles``, ``bureau``, ``loans``, ``protected`` and
            ``segments`` (``applicant_id, segment`` — the true or a learned labelling).
        score_bands: truth.json ``credit.score_bands`` (tiers; no-file applicants form ``"no_file"``).
        funding_rate: cost of funds (annual decimal), one number or one per term in months.
        annual_pd: ``applicant_id, annual_pd`` — annual PD of the applicants that have one; a cell
            takes the mean over its reached quotes, falling back to its tier × term, then its tier.
        group_column: protected attribute whose composition each cell records.
        min_quotes: cells with fewer reached quotes are dropped.
        cap: a legal cap stored on every cell (``None``: leave to the constraints).

    N_c is the cell's number of reached quotes (docs/data-credit.md §2); the representative quote is
    the mean over them of amount financed, amount/income, down-payment share, balloon/amount and the
    product flags; the approval rate is booked / taken in the cell (1 when nothing was taken);
    ``current_rate`` the mean quoted rate.
    """
    from autofin.data.credit import takeup_features

    need = ("quotes", "applicants", "vehicles", "bureau", "loans", "protected", "segments")
    for name in need:
        if name not in tables:
            raise ValidationError("tables", name, f"must include the {name} table")
    if not (isinstance(min_quotes, int) and min_quotes >= 1):
        raise ValidationError("min_quotes", min_quotes, "must be a positive whole number")
    for col in ("applicant_id", "annual_pd"):
        if col not in annual_pd.columns:
            raise ValidationError("annual_pd", annual_pd.columns, f"misses column {col!r}")
    feats = takeup_features(dict(tables)).filter(pl.col("reached"))
    booked = tables["loans"].select("applicant_id").unique().with_columns(pl.lit(True).alias("_booked"))
    q = (
        feats.select("quote_id", "applicant_id", "segment", "down_share", "balloon", "lease", "taken")
        .join(
            tables["quotes"].select(
                "quote_id",
                "term_months",
                "annual_rate",
                "amount_financed",
                pl.col("balloon").alias("_balloon_amt"),
            ),
            on="quote_id",
        )
        .join(tables["applicants"].select("applicant_id", "monthly_income"), on="applicant_id", how="left")
        .join(
            tables["bureau"].select("applicant_id", score_tier(score_bands).alias("tier")),
            on="applicant_id",
            how="left",
        )
        .join(
            tables["protected"].select("applicant_id", pl.col(group_column).alias("_group")),
            on="applicant_id",
            how="left",
        )
        .join(
            annual_pd.select("applicant_id", pl.col("annual_pd").cast(pl.Float64)),
            on="applicant_id",
            how="left",
        )
        .join(booked, on="applicant_id", how="left")
        .with_columns(pl.col("_booked").fill_null(False))
    )
    keys = ["segment", "tier", "term_months"]
    groups = sorted(str(g) for g in q["_group"].drop_nulls().unique().to_list())
    agg = q.group_by(keys).agg(
        pl.len().alias("n_quotes"),
        pl.col("amount_financed").mean().alias("amount"),
        (pl.col("amount_financed") / pl.col("monthly_income")).mean().alias("amount_to_income"),
        pl.col("down_share").mean(),
        (pl.col("_balloon_amt") / pl.col("amount_financed")).mean().alias("balloon_share"),
        pl.col("balloon").mean().alias("share_balloon"),
        pl.col("lease").mean().alias("share_lease"),
        pl.col("annual_rate").mean().alias("current_rate"),
        pl.col("annual_pd").mean().alias("_pd"),
        pl.col("taken").sum().alias("_taken"),
        (pl.col("taken") & pl.col("_booked")).sum().alias("_booked_n"),
        *[(pl.col("_group") == g).mean().alias(f"_g_{g}") for g in groups],
    )
    tier_term = q.group_by("tier", "term_months").agg(pl.col("annual_pd").mean().alias("_pd_tt"))
    tier_only = q.group_by("tier").agg(pl.col("annual_pd").mean().alias("_pd_t"))
    agg = (
        agg.join(tier_term, on=["tier", "term_months"], how="left")
        .join(tier_only, on="tier", how="left")
        .with_columns(pl.coalesce("_pd", "_pd_tt", "_pd_t").alias("annual_pd"))
        .filter(pl.col("n_quotes") >= min_quotes)
        .sort(keys)
    )
    cells: list[PricingCell] = []
    for row in agg.iter_rows(named=True):
        term = int(row["term_months"])
        if isinstance(funding_rate, Mapping):
            if term not in funding_rate:
                raise ValidationError("funding_rate", term, "gives no rate for this term (months)")
            f = float(funding_rate[term])
        else:
            f = float(funding_rate)
        if row["annual_pd"] is None:
            raise ValidationError("annual_pd", row["tier"], "gives no PD for any applicant of this tier")
        approval = row["_booked_n"] / row["_taken"] if row["_taken"] else 1.0
        cells.append(
            PricingCell(
                segment=str(row["segment"]),
                tier=str(row["tier"]),
                term_months=term,
                n_quotes=float(row["n_quotes"]),
                amount=float(row["amount"]),
                annual_pd=float(row["annual_pd"]),
                funding_rate=f,
                amount_to_income=float(row["amount_to_income"]),
                down_share=float(row["down_share"]),
                balloon_share=float(row["balloon_share"]),
                share_balloon=float(row["share_balloon"]),
                share_lease=float(row["share_lease"]),
                approval_rate=float(approval),
                group_shares={g: float(row[f"_g_{g}"]) for g in groups},
                cap=cap,
                current_rate=float(row["current_rate"]),
            )
        )
    if not cells:
        raise ValidationError("min_quotes", min_quotes, "leaves no cell with that many reached quotes")
    return cells


# --------------------------------------------------------------------------------------------------
# validation and reports
# --------------------------------------------------------------------------------------------------


def _check_cells(cells: Sequence[PricingCell]) -> None:
    if len(cells) == 0:
        raise ValidationError("cells", 0, "must hold at least one cell")
    seen: set[tuple[str, str, int]] = set()
    for j, c in enumerate(cells):
        where = f"cells[{j}]"
        if c.key in seen:
            raise ValidationError(f"{where}.key", c.key, "must be unique (segment, tier, term_months)")
        seen.add(c.key)
        if not (isinstance(c.term_months, int) and 1 <= c.term_months <= 120):
            raise ValidationError(
                f"{where}.term_months", c.term_months, "must be a whole number of months in 1–120"
            )
        checks: list[tuple[str, float, bool, str]] = [
            ("n_quotes", c.n_quotes, c.n_quotes >= 0, "must be 0 or more quotes"),
            ("amount", c.amount, c.amount > 0, "must be a positive amount financed"),
            ("annual_pd", c.annual_pd, 0 <= c.annual_pd < 1, "must be a probability in [0, 1)"),
            ("funding_rate", c.funding_rate, -1 < c.funding_rate < 1, "must be an annual decimal in (-1, 1)"),
            (
                "amount_to_income",
                c.amount_to_income,
                c.amount_to_income > 0,
                "must be positive (months of income)",
            ),
            ("down_share", c.down_share, 0 <= c.down_share < 1, "must be a share in [0, 1)"),
            ("balloon_share", c.balloon_share, 0 <= c.balloon_share < 1, "must be a share in [0, 1)"),
            ("share_balloon", c.share_balloon, 0 <= c.share_balloon <= 1, "must be a share in [0, 1]"),
            ("share_lease", c.share_lease, 0 <= c.share_lease <= 1, "must be a share in [0, 1]"),
            ("approval_rate", c.approval_rate, 0 <= c.approval_rate <= 1, "must be a share in [0, 1]"),
        ]
        for name, value, ok, rule in checks:
            if not (isinstance(value, int | float) and math.isfinite(value) and ok):
                raise ValidationError(f"{where}.{name}", value, rule)
        for g, share in c.group_shares.items():
            if not (math.isfinite(share) and 0 <= share <= 1):
                raise ValidationError(f"{where}.group_shares.{g}", share, "must be a share in [0, 1]")
        if c.cap is not None and not (math.isfinite(c.cap) and 0 < c.cap < 1):
            raise ValidationError(f"{where}.cap", c.cap, "must be an annual decimal in (0, 1)")


def _check_constraints(c: PricingConstraints, cells: Sequence[PricingCell]) -> None:
    if c.min_volume is not None and not (math.isfinite(c.min_volume) and c.min_volume >= 0):
        raise ValidationError("constraints.min_volume", c.min_volume, "must be 0 or more loans")
    if c.max_risky_share is not None:
        if not (math.isfinite(c.max_risky_share) and 0 <= c.max_risky_share <= 1):
            raise ValidationError(
                "constraints.max_risky_share", c.max_risky_share, "must be a share in [0, 1]"
            )
        if not c.risky_tiers:
            raise ValidationError("constraints.risky_tiers", (), "must name the risky tiers the share limits")
    tiers = {cell.tier for cell in cells}
    unknown = [t for t in c.risky_tiers if t not in tiers]
    if unknown:
        raise ValidationError("constraints.risky_tiers", unknown, "names tier(s) no cell has")
    if len(set(c.tier_order)) != len(c.tier_order):
        raise ValidationError("constraints.tier_order", list(c.tier_order), "must list each tier once")
    if c.cap is not None and not (math.isfinite(c.cap) and 0 < c.cap < 1):
        raise ValidationError("constraints.cap", c.cap, "must be an annual decimal in (0, 1)")
    if c.floor is not None and not (math.isfinite(c.floor) and -1 < c.floor < 1):
        raise ValidationError("constraints.floor", c.floor, "must be an annual decimal in (-1, 1)")
    if not (math.isfinite(c.min_margin) and -1 < c.min_margin < 1):
        raise ValidationError("constraints.min_margin", c.min_margin, "must be an annual decimal in (-1, 1)")
    fl = c.fair_lending
    if fl is not None:
        if not (math.isfinite(fl.max_gap) and fl.max_gap >= 0):
            raise ValidationError(
                "constraints.fair_lending.max_gap", fl.max_gap, "must be 0 or more (annual decimal)"
            )
        if fl.group == fl.reference:
            raise ValidationError(
                "constraints.fair_lending.reference", fl.reference, "must differ from group"
            )
        for name, g in (("group", fl.group), ("reference", fl.reference)):
            if not any(cell.group_shares.get(g, 0.0) > 0 for cell in cells):
                raise ValidationError(f"constraints.fair_lending.{name}", g, "has no share in any cell")


def _bounds(cells: Sequence[PricingCell], c: PricingConstraints) -> tuple[FloatArray, FloatArray]:
    floor = np.empty(len(cells))
    cap = np.empty(len(cells))
    for j, cell in enumerate(cells):
        lo = cell.funding_rate + c.min_margin
        if c.floor is not None:
            lo = max(lo, c.floor)
        caps = [x for x in (cell.cap, c.cap) if x is not None]
        if not caps:
            raise ValidationError(
                f"cells[{j}].cap", None, "needs a legal cap (on the cell or constraints.cap)"
            )
        hi = min(caps)
        if hi < lo:
            raise ValidationError(f"cells[{j}].cap", hi, f"must be at least the cell's floor {lo:.4f}")
        floor[j], cap[j] = lo, hi
    return floor, cap


def _monotone_pairs(cells: Sequence[PricingCell], tier_order: Sequence[str]) -> NDArray[np.int64]:
    """(safer, riskier) index pairs of neighbouring listed tiers within each segment × term."""
    rank = {t: k for k, t in enumerate(tier_order)}
    by_group: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for j, c in enumerate(cells):
        if c.tier in rank:
            by_group.setdefault((c.segment, c.term_months), []).append((rank[c.tier], j))
    pairs: list[tuple[int, int]] = []
    for members in by_group.values():
        members.sort()
        pairs.extend((a[1], b[1]) for a, b in itertools.pairwise(members))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _check_rates(rates: Sequence[float] | FloatArray, n: int, name: str = "rates") -> FloatArray:
    r = np.asarray(rates, dtype=np.float64)
    if r.shape != (n,):
        raise ValidationError(name, r.shape, f"must give one rate per cell ({n})")
    if not np.isfinite(r).all():
        raise ValidationError(
            name, int(np.argwhere(~np.isfinite(r))[0, 0]), "must be finite (index of first bad)"
        )
    return r


def _report(problem: _Problem, r: FloatArray, name: str) -> SheetReport:
    s = problem.parts(r)
    c = problem.constraints
    vol = s["vol"]
    total_vol = float(vol.sum())
    accepted = float((problem.quotes * s["p"]).sum())
    quotes = float(problem.quotes.sum())
    profit = float((vol * s["npv"]).sum())
    risky_share = (
        float(vol[problem.risky].sum() / total_vol) if problem.risky.any() and total_vol > 0 else math.nan
    )
    mean_rate = float((vol * r).sum() / total_vol) if total_vol > 0 else math.nan
    groups = sorted({g for cell in problem.cells for g in cell.group_shares})
    group_rates: dict[str, float] = {}
    for g in groups:
        w = np.array([cell.group_shares.get(g, 0.0) for cell in problem.cells])
        group_rates[g] = problem.group_mean(r, w, s)[0]
    fl = c.fair_lending
    gap = (
        problem.group_mean(r, problem.w_a, s)[0] - problem.group_mean(r, problem.w_b, s)[0]
        if fl is not None
        else math.nan
    )
    checks: list[ConstraintCheck] = []
    if c.min_volume is not None:
        checks.append(_ge("volume", total_vol, c.min_volume, _TOL * max(c.min_volume, 1.0)))
    if c.max_risky_share is not None:
        checks.append(_le("risk_mix", risky_share, c.max_risky_share, _TOL))
    if problem.pairs.size:
        diffs = r[problem.pairs[:, 1]] - r[problem.pairs[:, 0]]
        checks.append(_ge("monotone", float(diffs.min()), 0.0, _RATE_TOL))
    checks.append(_le("cap", float((r - problem.cap).max()), 0.0, _RATE_TOL))
    checks.append(_ge("floor", float((r - problem.floor).min()), 0.0, _RATE_TOL))
    if fl is not None:
        checks.append(_le("fair_lending_upper", gap, fl.max_gap, _RATE_TOL))
        checks.append(_ge("fair_lending_lower", gap, -fl.max_gap, _RATE_TOL))
    cells = pl.DataFrame(
        {
            "segment": [cell.segment for cell in problem.cells],
            "tier": [cell.tier for cell in problem.cells],
            "term_months": [cell.term_months for cell in problem.cells],
            "rate": r,
            "floor": problem.floor,
            "cap": problem.cap,
            "n_quotes": problem.quotes,
            "p_take": s["p"],
            "approval_rate": np.array([cell.approval_rate for cell in problem.cells]),
            "volume": vol,
            "npv_per_loan": s["npv"],
            "profit": vol * s["npv"],
            "annual_pd": np.array([cell.annual_pd for cell in problem.cells]),
            "amount": np.array([cell.amount for cell in problem.cells]),
        },
        schema_overrides={"term_months": pl.Int64},
    )
    return SheetReport(
        name=name,
        profit=profit,
        volume=total_vol,
        quotes=quotes,
        takeup_rate=accepted / quotes if quotes > 0 else math.nan,
        approval_rate=total_vol / accepted if accepted > 0 else math.nan,
        risky_share=risky_share,
        mean_rate=mean_rate,
        group_rates=group_rates,
        rate_gap=gap,
        checks=tuple(checks),
        cells=cells,
    )


def _ge(name: str, value: float, limit: float, tol: float) -> ConstraintCheck:
    slack = value - limit
    return ConstraintCheck(
        name, value, limit, ">=", bool(slack >= -tol), slack, bool(abs(slack) <= max(tol, 1e-4 * abs(limit)))
    )


def _le(name: str, value: float, limit: float, tol: float) -> ConstraintCheck:
    slack = limit - value
    return ConstraintCheck(
        name, value, limit, "<=", bool(slack >= -tol), slack, bool(abs(slack) <= max(tol, 1e-4 * abs(limit)))
    )
