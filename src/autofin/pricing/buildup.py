"""The cost build-up of one auto-loan offer: what it earns, what it costs, and its RAROC and NPV.

The waterfall (every line a present value in currency *and* an annualised rate in basis points of the
average balance; revenue positive, cost negative)::

    customer rate            + r · BY                      interest at the customer rate (incl. markup)
    fees                     + fee                         lender fee paid by the borrower at signing
    funding                  − f · BY                      cost of funds at the funding curve
    expected loss            − LGD · Σ_t w_t · p_t · B_{t−1}
    opex                     − opex_annual · BY − opex_origination
    capital charge           − hurdle · CY                 return the capital must earn
    dealer comp              − participation · markup · BY − dealer_flat
    F&I margin               + fi_margin
    subvention               + subvention
    tax                      − tax_rate · (every line above except the capital charge)
    net margin               = the sum = NPV

with, for month ``t = 1 … n`` of the contractual schedule (balances ``B_{t−1}`` owed at the start of
month ``t``; ``S_{t−1}`` the probability of no default before month ``t``; ``p_t = S_{t−1}·h_t`` the
probability of default in month ``t``; ``w_t = (1 + d/12)^−t`` the discount factor):

* ``BY = Σ_t w_t · S_{t−1} · B_{t−1} / 12`` — the present value of the expected **balance-years**
  (currency × years). ``line.bp = line.pv / BY × 10 000``: each line as an annual rate on the
  (discounted) average balance. The customer-rate line is therefore exactly ``r`` in bp.
* ``CY = k · BY`` — the present value of the **capital-years**, with capital ``k × expected balance``
  held each month (``k = capital_ratio``, or ``capital / amount`` when a capital amount is given).

Definitions (the choices, and why):

* **RAROC** = risk-adjusted net income / economic capital, over the life of the loan, both as present
  values: ``RAROC = (NPV + hurdle · CY) / CY`` — the PV of the after-tax income net of expected loss
  (before the capital charge), divided by the PV of capital-years. Its unit is an **annual decimal
  rate** (``0.15`` = 15 % a year on capital), comparable with ``hurdle_rate``. A lifetime PV ratio,
  not a first-year one, so that amortisation, upfront costs and the timing of defaults all count; for a
  one-year bullet loan with a zero discount rate it is the textbook one-year RAROC (see the golden test).
* **NPV** is discounted at the offer's **cost of funds** (``d = f`` unless
  ``PricingAssumptions.discount_rate`` is given) with the capital charge ``hurdle × capital`` as an
  explicit cost line: an economic-profit NPV. Then ``NPV = CY · (RAROC − hurdle)``, so
  ``NPV ≥ 0 ⇔ RAROC ≥ hurdle`` and the minimum rate for the hurdle is where the NPV is zero.
* ``negative_return`` is ``NPV < 0``: the offer returns less than the hurdle on its capital.

Modelling conventions: monthly periods, payments in arrears; a default in month ``t`` loses
``LGD × B_{t−1}`` (no cure, recovery at the default month); interest, funding, opex, dealer
participation and capital accrue on the expected balance ``S_{t−1}·B_{t−1}``; no prepayment. The
schedule is the exact annuity (with an optional balloon) in floats, unrounded; pass ``schedule=`` (an
:class:`autofin.finance.schedule.Schedule`) to use the to-the-cent schedule instead — cents change the
economics by far less than a basis point.

PDs: a scalar is an annual PD with a flat hazard, month hazard ``h = 1 − (1 − PD)^(1/12)``; a
sequence is a term structure of annual **marginal** (unconditional) PDs ``m_y`` — the probability, seen
at origination, of defaulting in year ``y`` — turned into conditional annual PDs
``q_y = m_y / (1 − Σ_{k<y} m_k)`` and month hazards ``1 − (1 − q_y)^(1/12)``; beyond its last year the
last conditional PD applies.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq  # type: ignore[import-untyped]

from autofin.errors import ValidationError
from autofin.pricing.funding import Funding

if TYPE_CHECKING:
    from autofin.finance.schedule import Schedule

__all__ = [
    "LINES",
    "FundingBasis",
    "OfferEconomics",
    "PricingAssumptions",
    "WaterfallLine",
    "conditional_pds",
    "duration_capital",
    "minimum_rate",
    "monthly_hazards",
    "offer_economics",
    "opening_balances",
    "ul_capital",
]

FloatArray = NDArray[np.float64]
FundingBasis = Literal["matched", "wal"]

#: The waterfall lines, in order (``net_margin`` is their sum and equals the NPV).
LINES: tuple[str, ...] = (
    "customer_rate",
    "fees",
    "funding",
    "expected_loss",
    "opex",
    "capital_charge",
    "dealer_comp",
    "fi_margin",
    "subvention",
    "tax",
    "net_margin",
)
MAX_TERM_MONTHS = 600


def _finite(field: str, value: float, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, hi_open: bool = False) -> float:  # fmt: skip
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(field, value, "must be a number") from exc
    if not math.isfinite(x):
        raise ValidationError(field, value, "must be finite")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise ValidationError(field, value, f"must be {'above' if lo_open else 'at least'} {lo:g}")
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise ValidationError(field, value, f"must be {'below' if hi_open else 'at most'} {hi:g}")
    return x


@dataclass(frozen=True)
class PricingAssumptions:
    """The lender's cost and return assumptions for pricing (market inputs passed in).

    Attributes:
        funding: the funding curve(s) of the loan (:class:`~autofin.pricing.funding.Funding`).
        lgd: loss given default, fraction of the exposure at default, in [0, 1].
        opex_origination: operating cost to originate one loan, currency per loan (at signing).
        opex_annual: running operating cost, fraction of the balance per year (``0.005`` = 50 bp p.a.).
        capital_ratio: economic capital held, fraction of the exposure (balance), in (0, 1].
        hurdle_rate: annual return required on capital (annual decimal, ``0.15`` = 15 % p.a.).
        tax_rate: income tax rate on the pre-capital-charge income, in [0, 1); default 0.
        dealer_flat: flat dealer commission, currency per loan (paid at signing); default 0.
        dealer_participation: share of the dealer markup's interest paid to the dealer, in [0, 1].
        fi_margin: F&I (finance and insurance) product margin the lender receives, currency per loan.
        subvention: subvention received up front (e.g. from the manufacturer), currency per loan.
        funding_basis: ``"matched"`` funds at the curve point of the contract term; ``"wal"`` at the
            curve point of the schedule's weighted average life (months).
        discount_rate: annual decimal rate for the NPV; ``None`` (default) discounts at the offer's
            own funding rate (cost of funds).
    """

    funding: Funding
    lgd: float
    opex_origination: float
    opex_annual: float
    capital_ratio: float
    hurdle_rate: float
    tax_rate: float = 0.0
    dealer_flat: float = 0.0
    dealer_participation: float = 0.0
    fi_margin: float = 0.0
    subvention: float = 0.0
    funding_basis: FundingBasis = "matched"
    discount_rate: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.funding, Funding):
            raise ValidationError("funding", self.funding, "must be a Funding")
        checks: dict[str, dict[str, float | bool]] = {
            "lgd": {"lo": 0.0, "hi": 1.0},
            "opex_origination": {"lo": 0.0},
            "opex_annual": {"lo": 0.0, "hi": 1.0},
            "capital_ratio": {"lo": 0.0, "hi": 1.0, "lo_open": True},
            "hurdle_rate": {"lo": -1.0, "lo_open": True},
            "tax_rate": {"lo": 0.0, "hi": 1.0, "hi_open": True},
            "dealer_flat": {"lo": 0.0},
            "dealer_participation": {"lo": 0.0, "hi": 1.0},
            "fi_margin": {},
            "subvention": {},
        }
        for name, kw in checks.items():
            object.__setattr__(self, name, _finite(name, getattr(self, name), **kw))  # type: ignore[arg-type]
        if self.funding_basis not in ("matched", "wal"):
            raise ValidationError("funding_basis", self.funding_basis, "must be 'matched' or 'wal'")
        if self.discount_rate is not None:
            object.__setattr__(
                self, "discount_rate", _finite("discount_rate", self.discount_rate, lo=-1.0, lo_open=True)
            )


@dataclass(frozen=True)
class WaterfallLine:
    """One line of the build-up: ``pv`` in currency (present value, + revenue / − cost) and ``bp``,
    the same as an annual rate in basis points of the average (PV) balance."""

    name: str
    pv: float
    bp: float


@dataclass(frozen=True)
class OfferEconomics:
    """The economics of one offer (see the module docstring for the definitions).

    Attributes:
        npv: net present value, currency (= the ``net_margin`` line), after the capital charge.
        raroc: lifetime RAROC, annual decimal (``(NPV + hurdle·CY) / CY``).
        negative_return: ``npv < 0`` — the offer earns less than the hurdle on its capital.
        waterfall: the lines of :data:`LINES`, in order.
        funding_rate: the annual decimal funding rate applied (blended, at the term or the WAL).
        discount_rate: the annual decimal rate the NPV is discounted at.
        wal_months: weighted average life of the contractual schedule, months.
        balance_years: PV of the expected balance-years ``BY`` (currency × years).
        capital: economic capital at origination, currency.
        capital_years: PV of the capital-years ``CY`` (currency × years).
        risk_adjusted_income: PV of the after-tax income net of expected loss, before the capital
            charge (currency) — RAROC's numerator.
        hurdle_rate: the hurdle the capital charge used (annual decimal).
    """

    npv: float
    raroc: float
    negative_return: bool
    waterfall: tuple[WaterfallLine, ...]
    funding_rate: float
    discount_rate: float
    wal_months: float
    balance_years: float
    capital: float
    capital_years: float
    risk_adjusted_income: float
    hurdle_rate: float

    def line(self, name: str) -> WaterfallLine:
        """The waterfall line called ``name`` (one of :data:`LINES`)."""
        for ln in self.waterfall:
            if ln.name == name:
                return ln
        raise ValidationError("name", name, f"must be one of {LINES}")

    @property
    def pv(self) -> dict[str, float]:
        """Each line's present value, currency."""
        return {ln.name: ln.pv for ln in self.waterfall}

    @property
    def bp(self) -> dict[str, float]:
        """Each line as an annual rate, basis points of the average balance."""
        return {ln.name: ln.bp for ln in self.waterfall}

    @property
    def loss_making(self) -> bool:
        """``raroc < 0``: the offer loses money even before the capital charge."""
        return self.raroc < 0.0


# --------------------------------------------------------------------------------------------------
# building blocks (shared with autofin.pricing.batch)
# --------------------------------------------------------------------------------------------------


def duration_capital(amount: float, duration_years: float, delta_r: float, rate: float) -> float:
    """Market-based capital at risk of a loan (Saunders & Cornett's RAROC denominator).

    The duration approximation of the worst-case fall in the loan's value when its risk premium rises
    by ``delta_r``: ``|ΔL| = D · L · ΔR / (1 + R)``.

    Args:
        amount: loan value ``L``, currency.
        duration_years: (Macaulay) duration ``D`` of the loan, years.
        delta_r: the worst-case rise in the loan's discount rate ``ΔR`` (annual decimal).
        rate: the loan's current discount rate ``R`` (annual decimal).

    Returns:
        the capital at risk ``|ΔL|``, currency (positive).
    """
    amount = _finite("amount", amount, lo=0.0)
    duration_years = _finite("duration_years", duration_years, lo=0.0)
    delta_r = _finite("delta_r", delta_r, lo=0.0)
    rate = _finite("rate", rate, lo=-1.0, lo_open=True)
    return duration_years * amount * delta_r / (1.0 + rate)


def ul_capital(exposure: float, lgd: float, default_rate_sd: float, multiplier: float) -> float:
    """Experience-based capital at risk: a multiple of the unexpected loss,
    ``multiplier × σ(default rate) × LGD × exposure`` (Saunders & Allen's "BA model" approach).

    Args:
        exposure: exposure at default, currency.
        lgd: loss given default, fraction in [0, 1].
        default_rate_sd: standard deviation of the annual default rate (fraction).
        multiplier: the capital multiple of the unexpected loss (e.g. 6).

    Returns:
        capital, currency.
    """
    exposure = _finite("exposure", exposure, lo=0.0)
    lgd = _finite("lgd", lgd, lo=0.0, hi=1.0)
    default_rate_sd = _finite("default_rate_sd", default_rate_sd, lo=0.0)
    multiplier = _finite("multiplier", multiplier, lo=0.0)
    return multiplier * default_rate_sd * lgd * exposure


def conditional_pds(marginal: Sequence[float] | FloatArray) -> FloatArray:
    """Annual marginal (unconditional) PDs → conditional annual PDs, along the last axis.

    ``q_y = m_y / (1 − Σ_{k<y} m_k)``; once survival is zero the conditional PD is set to 1.
    """
    m = np.asarray(marginal, dtype=np.float64)
    before = np.cumsum(m, axis=-1) - m
    surv = 1.0 - before
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(surv > 1e-15, m / np.where(surv > 1e-15, surv, 1.0), 1.0)
    out: FloatArray = np.clip(q, 0.0, 1.0)
    return out


def _annual_to_monthly(q: FloatArray | float, periods_per_year: int = 12) -> FloatArray:
    """Conditional annual PD → per-period hazard ``1 − (1 − q)^(1/ppy)`` (monthly by default)."""
    qa = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out: FloatArray = -np.expm1(np.log1p(-qa) / periods_per_year)
    return out


def _validate_pd(pd: float | Sequence[float]) -> float | tuple[float, ...]:
    if isinstance(pd, int | float | np.floating | np.integer):
        return _finite("pd", float(pd), lo=0.0, hi=1.0)
    try:
        seq = tuple(float(x) for x in pd)
    except (TypeError, ValueError) as exc:
        raise ValidationError("pd", pd, "must be a number or a sequence of annual marginal PDs") from exc
    if len(seq) == 0:
        raise ValidationError("pd", pd, "must hold at least one annual PD")
    if not all(math.isfinite(x) and 0.0 <= x <= 1.0 for x in seq):
        raise ValidationError("pd", pd, "annual marginal PDs must be between 0 and 1")
    if sum(seq) > 1.0 + 1e-12:
        raise ValidationError("pd", pd, "annual marginal PDs must sum to at most 1")
    return seq


@functools.lru_cache(maxsize=1024)
def _flat_hazard(pd: float, periods_per_year: int, sign: float) -> float:
    """``float(_annual_to_monthly(pd, periods_per_year))``, cached (a pure function of two numbers; the
    sign of ``pd`` is in the key because a cache treats ``0.0`` and ``-0.0`` as one)."""
    return float(_annual_to_monthly(pd, periods_per_year))


def monthly_hazards(pd: float | Sequence[float], months: int, periods_per_year: int = 12) -> FloatArray:
    """Period-by-period default hazards ``h_1 … h_months`` (monthly unless ``periods_per_year`` says
    otherwise; ``months`` then counts periods) from an annual PD or a marginal-PD term structure (see
    the module docstring)."""
    checked = _validate_pd(pd)
    if isinstance(checked, float):
        return np.full(months, _flat_hazard(checked, periods_per_year, math.copysign(1.0, checked)))
    q = conditional_pds(checked)
    years = np.minimum(np.arange(months) // periods_per_year, len(q) - 1)
    out: FloatArray = _annual_to_monthly(q, periods_per_year)[years]
    return out


def level_payment(
    amount: float, rate: float, term_months: int, balloon: float = 0.0, periods_per_year: int = 12
) -> float:
    """The level instalment of an annuity with an optional balloon (floats, unrounded); monthly unless
    ``periods_per_year`` says otherwise, ``term_months`` then counting periods."""
    i = rate / periods_per_year
    if i == 0.0:
        return (amount - balloon) / term_months
    vn = (1.0 + i) ** (-term_months)
    return (amount - balloon * vn) * i / (1.0 - vn)


def opening_balances(
    amount: float, rate: float, term_months: int, balloon: float = 0.0, periods_per_year: int = 12
) -> FloatArray:
    """``B_0 … B_{n−1}``: the balance owed at the start of each period of the float annuity schedule."""
    pmt = level_payment(amount, rate, term_months, balloon, periods_per_year)
    g = 1.0 + rate / periods_per_year
    out = np.empty(term_months)
    b = float(amount)
    for t in range(term_months):
        out[t] = b
        b = b * g - pmt
    return out


def _schedule_balances(schedule: Schedule | Sequence[float], amount: float, term_months: int) -> FloatArray:
    rows = getattr(schedule, "rows", None)
    if rows is not None:
        opening = float(schedule.opening_balance)  # type: ignore[union-attr]
        bal = np.asarray([opening] + [float(r.balance) for r in rows[:-1]], dtype=np.float64)
    else:
        bal = np.asarray(schedule, dtype=np.float64)
    if bal.ndim != 1 or bal.shape[0] != term_months:
        raise ValidationError("schedule", f"{bal.shape[0]} periods", f"must have term_months ({term_months})")
    if not np.all(np.isfinite(bal)) or abs(bal[0] - amount) > 0.005 + 1e-9 * amount:
        raise ValidationError("schedule", float(bal[0]), f"must open at the amount ({amount})")
    return bal


# --------------------------------------------------------------------------------------------------
# the build-up
# --------------------------------------------------------------------------------------------------


def _funding_rate(a: PricingAssumptions, term_months: int, wal_months: float) -> float:
    months = float(term_months) if a.funding_basis == "matched" else wal_months
    return float(a.funding.rate(months))


def _economics(
    amount: float,
    rate: float,
    term_months: int,
    hazards: FloatArray,
    a: PricingAssumptions,
    balloon: float,
    markup: float,
    balances: FloatArray | None,
    capital_ratio: float,
    fee: float,
    ppy: int = 12,
) -> OfferEconomics:
    n = len(hazards)
    bal = opening_balances(amount, rate, n, balloon, ppy) if balances is None else balances
    wal = float(bal.sum() / amount) * (12 / ppy)
    f = _funding_rate(a, term_months, wal)
    d = f if a.discount_rate is None else a.discount_rate
    t = np.arange(1, n + 1, dtype=np.float64)
    w = (1.0 + d / ppy) ** (-t)
    surv = np.concatenate(([1.0], np.cumprod(1.0 - hazards[:-1])))
    x = w * surv * bal
    by = float(x.sum()) / ppy
    el_sum = float((hazards * x).sum())
    return _assemble(amount, rate, by, el_sum, wal, f, d, a, markup, capital_ratio, fee)


def _assemble(
    amount: float,
    rate: float,
    by: float,
    el_sum: float,
    wal: float,
    f: float,
    d: float,
    a: PricingAssumptions,
    markup: float,
    k: float,
    fee: float,
) -> OfferEconomics:
    cy = k * by
    pre = {
        "customer_rate": rate * by,
        "fees": fee,
        "funding": -f * by,
        "expected_loss": -a.lgd * el_sum,
        "opex": -(a.opex_annual * by + a.opex_origination),
        "dealer_comp": -(a.dealer_participation * markup * by + a.dealer_flat),
        "fi_margin": a.fi_margin,
        "subvention": a.subvention,
    }
    pre_tax = sum(pre.values())
    tax = -a.tax_rate * pre_tax
    income = pre_tax + tax
    charge = -a.hurdle_rate * cy
    npv = income + charge
    pvs = {**pre, "capital_charge": charge, "tax": tax, "net_margin": npv}
    lines = tuple(WaterfallLine(n, pvs[n], pvs[n] / by * 10_000.0) for n in LINES)
    raroc = income / cy
    return OfferEconomics(
        npv=npv,
        raroc=raroc,
        negative_return=npv < 0.0,
        waterfall=lines,
        funding_rate=f,
        discount_rate=d,
        wal_months=wal,
        balance_years=by,
        capital=k * amount,
        capital_years=cy,
        risk_adjusted_income=income,
        hurdle_rate=a.hurdle_rate,
    )


def _check_offer(
    amount: float, term_months: int, balloon: float, a: PricingAssumptions
) -> tuple[float, int, float]:
    if not isinstance(a, PricingAssumptions):
        raise ValidationError("assumptions", a, "must be PricingAssumptions")
    amount = _finite("amount", amount, lo=0.0, lo_open=True)
    if isinstance(term_months, bool) or int(term_months) != term_months:
        raise ValidationError("term_months", term_months, "must be a whole number of months")
    term = int(term_months)
    if not 1 <= term <= MAX_TERM_MONTHS:
        raise ValidationError("term_months", term_months, f"must be between 1 and {MAX_TERM_MONTHS}")
    balloon = _finite("balloon", balloon, lo=0.0, hi=amount)
    return amount, term, balloon


def _periods(term: int, periods_per_year: int) -> int:
    if periods_per_year not in (1, 2, 3, 4, 6, 12):
        raise ValidationError("periods_per_year", periods_per_year, "must be one of 1, 2, 3, 4, 6, 12")
    step = 12 // periods_per_year
    if term % step:
        raise ValidationError("term_months", term, f"must be a whole number of {step}-month periods")
    return term // step


def _capital_ratio(capital: float | None, amount: float, a: PricingAssumptions) -> float:
    if capital is None:
        return a.capital_ratio
    return _finite("capital", capital, lo=0.0, lo_open=True) / amount


def offer_economics(
    amount: float,
    rate: float,
    term_months: int,
    pd: float | Sequence[float],
    assumptions: PricingAssumptions,
    *,
    balloon: float = 0.0,
    markup: float = 0.0,
    schedule: Schedule | Sequence[float] | None = None,
    capital: float | None = None,
    fee: float = 0.0,
    periods_per_year: int = 12,
) -> OfferEconomics:
    """The cost build-up, NPV and RAROC of one loan offer.

    Args:
        amount: amount financed, currency (> 0).
        rate: customer annual decimal rate (``0.0799``), dealer markup included, in [0, 1].
        term_months: contract term in months (1 … 600).
        pd: annual PD (flat hazard) or a sequence of annual marginal PDs (year 1, 2, …).
        assumptions: costs, capital, hurdle and the funding curves (:class:`PricingAssumptions`).
        balloon: balloon paid with the last instalment, currency, in [0, amount].
        markup: dealer markup included in ``rate`` (annual decimal, ≤ rate); the dealer receives
            ``dealer_participation`` of the interest it earns.
        schedule: the balances to use instead of the float annuity: an exact
            :class:`~autofin.finance.schedule.Schedule` (monthly, ``term_months`` rows, opening at
            ``amount``) or the opening balances ``B_0 … B_{n−1}`` as numbers.
        capital: economic capital as a given amount at origination (currency), held in proportion to
            the expected balance; overrides ``assumptions.capital_ratio``.
        fee: lender fee paid by the borrower at signing, currency.
        periods_per_year: instalments a year (12 = monthly, the default; 1 = one annual period, as in
            textbook one-year RAROC examples); ``term_months`` must be whole periods.

    Returns:
        :class:`OfferEconomics` — NPV (currency), RAROC (annual decimal) and the waterfall.

    Raises:
        ValidationError: naming the offending field.
    """
    amount, term, balloon = _check_offer(amount, term_months, balloon, assumptions)
    rate = _finite("rate", rate, lo=0.0, hi=1.0)
    markup = _finite("markup", markup, lo=0.0, hi=rate)
    fee = _finite("fee", fee)
    k = _capital_ratio(capital, amount, assumptions)
    n = _periods(term, periods_per_year)
    hazards = monthly_hazards(pd, n, periods_per_year)
    bal = None if schedule is None else _schedule_balances(schedule, amount, n)
    return _economics(
        amount, rate, term, hazards, assumptions, balloon, markup, bal, k, fee, periods_per_year
    )


def minimum_rate(
    amount: float,
    term_months: int,
    pd: float | Sequence[float],
    assumptions: PricingAssumptions,
    target_raroc: float,
    *,
    balloon: float = 0.0,
    markup: float = 0.0,
    capital: float | None = None,
    fee: float = 0.0,
    periods_per_year: int = 12,
    xtol: float = 1e-13,
) -> float:
    """The lowest customer rate (annual decimal) at which the offer's RAROC reaches ``target_raroc``.

    Solved with :func:`scipy.optimize.brentq` on ``offer_economics(rate).raroc − target`` over rates
    in [0, 1] (RAROC rises with the rate). With ``target_raroc = assumptions.hurdle_rate`` this is the
    break-even rate where the NPV is zero. If even a zero rate meets the target (a large subvention, say)
    the answer is ``0.0``; ``markup`` is then treated as part of the rate found.

    Raises:
        ValidationError: ``target_raroc`` cannot be reached at rates up to 100 % p.a., or a bad input.
    """
    amount, term, balloon = _check_offer(amount, term_months, balloon, assumptions)
    target = _finite("target_raroc", target_raroc)
    markup = _finite("markup", markup, lo=0.0, hi=1.0)
    fee = _finite("fee", fee)
    k = _capital_ratio(capital, amount, assumptions)
    n = _periods(term, periods_per_year)
    hazards = monthly_hazards(pd, n, periods_per_year)
    ppy = periods_per_year

    def gap(r: float) -> float:
        e = _economics(amount, r, term, hazards, assumptions, balloon, markup, None, k, fee, ppy)
        return e.raroc - target

    lo, hi = 0.0, 1.0
    g_lo = gap(lo)
    if g_lo >= 0.0:
        return 0.0
    if gap(hi) < 0.0:
        raise ValidationError("target_raroc", target_raroc, "is not reached at any rate up to 100 % p.a.")
    root: float = brentq(gap, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200)
    return root
