"""Disclosure rates from dated cash flows: US Reg Z APR, China annualised rate, EU APRC.

Units and conventions (all three methods):

* A :class:`CashFlow` is a dated amount in *major* currency units (dollars, yuan, euros), always > 0.
  *Advances* are money the lender pays out (the amount financed, in Reg Z words; the drawdowns, in the
  EU directive's words). *Payments* are everything the borrower pays back: instalments, and any fee the
  disclosure rule counts as a cost of credit (the caller decides which fees count and adds them as
  payments, or lends a smaller advance when a fee is withheld at the start).
* Rates are annual decimals (``Decimal("0.0599")`` is 5.99 %). Percents appear only in display helpers.
* The exact path works in :class:`~decimal.Decimal` (40 significant digits) and returns the rate at full
  precision; rounding for disclosure is a separate, explicit step (:func:`round_rate`, :func:`format_rate`).

Methods:

``US_REGZ``  12 CFR 1026 Appendix J, actuarial method. The general equation (App. J (b)(8)) equates
    the advances and the payments, each discounted by ``(1 + f·i)·(1 + i)^t`` where ``t`` is the number of
    whole unit periods from the beginning of the term and ``f`` the fraction of a unit period (simple
    interest for the fraction, App. J (b)(6)). The APR is ``i`` times the unit periods per year (b)(1).
``CN_IRR``   PBoC Announcement [2021] No. 3: the annualised rate is the internal rate of return of the
    borrower's cash flows. Reported as the *monthly* IRR × 12 (nominal, the usual 年化利率 (IRR) basis);
    the compound equivalent ``(1 + i)^12 − 1`` is given as ``effective_annual_rate``.
``EU_APRC``  Directive 2008/48/EC Annex I (as amended by 2011/90/EU): ``Σ C_k (1+X)^(−t_k) =
    Σ D_l (1+X)^(−s_l)`` with times in years from the first drawdown; ``X`` is an effective annual rate.

A fast float path (:func:`regz_apr_regular`, :func:`regz_apr_batch`) handles the common case — one
advance, ``n`` equal payments one unit period apart, optional odd first period — for pricing loops.
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import functools
import math
import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from autofin.errors import ConvergenceError, ValidationError
from autofin.money import to_decimal

__all__ = [
    "AprMethod",
    "AprResult",
    "CashFlow",
    "EuTimeBasis",
    "PeriodKind",
    "UnitPeriod",
    "cn_annualised_rate",
    "compute_apr",
    "compute_apr_flows",
    "determine_unit_period",
    "eu_aprc",
    "eu_years_between",
    "format_rate",
    "regz_apr",
    "regz_apr_batch",
    "regz_apr_regular",
    "round_rate",
    "unit_periods_between",
]

#: Working precision of the exact path (significant digits).
_PREC: Final = 40
_CTX: Final = decimal.Context(prec=_PREC, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
#: Newton stops when a step changes the rate per period by less than this.
_TOL: Final = Decimal("1e-28")
_MAX_NEWTON: Final = 60
_MAX_BISECT: Final = 400
#: Float Newton stops when a step is below this (rate per period); the float path is good to ~1e-13.
_FLOAT_TOL: Final = 1e-14
_ONE: Final = Decimal(1)
_ZERO: Final = Decimal(0)


class AprMethod(StrEnum):
    """Which disclosure rule to apply."""

    US_REGZ = "us_regz"
    CN_IRR = "cn_irr"
    EU_APRC = "eu_aprc"


class PeriodKind(StrEnum):
    """Standard intervals of time (Reg Z App. J (b)(3)(iii)), plus the whole term of a single-advance,
    single-payment transaction (App. J (b)(4)(ii), (b)(5)(vi)-(vii))."""

    DAY = "day"
    WEEK = "week"
    SEMIMONTH = "semimonth"
    MONTH = "month"
    TERM = "term"


@dataclass(frozen=True, slots=True)
class UnitPeriod:
    """A Reg Z unit period: ``multiple`` × ``kind`` (a quarter is ``UnitPeriod(MONTH, 3)``).

    A year is ``UnitPeriod(MONTH, 12)``. ``TERM`` is only for single-advance, single-payment transactions
    shorter than a year; its ``term_per_year`` is the number of such terms in a year (12 / months, or
    365 / days).
    """

    kind: PeriodKind
    multiple: int = 1
    term_per_year: Decimal | None = None

    def __post_init__(self) -> None:
        if self.multiple < 1:
            raise ValidationError("unit_period.multiple", self.multiple, "must be a positive whole number")
        limits = {PeriodKind.WEEK: 52, PeriodKind.MONTH: 12, PeriodKind.SEMIMONTH: 1, PeriodKind.DAY: 365}
        if self.kind in limits and self.multiple > limits[self.kind]:
            raise ValidationError(
                "unit_period.multiple", self.multiple, f"must not exceed one year ({limits[self.kind]})"
            )
        if (self.kind is PeriodKind.TERM) != (self.term_per_year is not None):
            raise ValidationError(
                "unit_period.term_per_year", self.term_per_year, "is required for, and only for, kind 'term'"
            )

    @property
    def per_year(self) -> Decimal:
        """Unit periods per year (App. J (b)(5)): 365/d, 52/w, 24, 12/m, or the term's own count."""
        with decimal.localcontext(_CTX):
            if self.kind is PeriodKind.DAY:
                return Decimal(365) / self.multiple
            if self.kind is PeriodKind.WEEK:
                return Decimal(52) / self.multiple
            if self.kind is PeriodKind.SEMIMONTH:
                return Decimal(24)
            if self.kind is PeriodKind.MONTH:
                return Decimal(12) / self.multiple
            assert self.term_per_year is not None
            return self.term_per_year

    @property
    def words(self) -> str:
        if self.kind is PeriodKind.TERM:
            return f"the whole term ({self.term_per_year} per year)"
        if self.kind is PeriodKind.MONTH and self.multiple == 12:
            return "year"
        name = str(self.kind.value)
        return name if self.multiple == 1 else f"{self.multiple} {name}s"

    @property
    def approx_days(self) -> float:
        """Length in days, for comparing and rounding periods only (month = 365/12 days)."""
        if self.kind is PeriodKind.DAY:
            return float(self.multiple)
        if self.kind is PeriodKind.WEEK:
            return 7.0 * self.multiple
        if self.kind is PeriodKind.SEMIMONTH:
            return 365.0 / 24.0
        if self.kind is PeriodKind.MONTH:
            return 365.0 / 12.0 * self.multiple
        return 365.0 / float(self.per_year)


MONTHLY: Final = UnitPeriod(PeriodKind.MONTH)


@dataclass(frozen=True, slots=True)
class CashFlow:
    """One dated amount: ``amount`` > 0 in major currency units, paid on ``date``."""

    date: datetime.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class AprResult:
    """A disclosure rate and how it was obtained.

    Attributes:
        apr: the disclosed annual rate as a decimal (0.0599 = 5.99 %), full precision, not rounded.
        method: the rule applied.
        basis: the basis in words (unit period, nominal or effective, regulation).
        periodic_rate: the rate per unit period (Reg Z) or per month (CN); ``None`` for the EU APRC.
        effective_annual_rate: the compound annual equivalent ``(1 + periodic)^(periods per year) − 1``
            (for the EU APRC this equals ``apr``).
        unit_period: the unit period used (Reg Z, CN), ``None`` for the EU APRC.
        periods_per_year: unit periods per year (Reg Z, CN).
        iterations: solver iterations (Newton steps in Decimal, plus bisection steps if needed).
    """

    apr: Decimal
    method: AprMethod
    basis: str
    periodic_rate: Decimal | None
    effective_annual_rate: Decimal | None
    unit_period: UnitPeriod | None = None
    periods_per_year: Decimal | None = None
    iterations: int = 0


# --------------------------------------------------------------------------------------------------
# validation


def _validate(
    advances: Sequence[CashFlow], payments: Sequence[CashFlow]
) -> tuple[list[tuple[datetime.date, Decimal]], list[tuple[datetime.date, Decimal]]]:
    """Check the flows and return them as (date, Decimal amount) lists sorted by date."""
    clean: dict[str, list[tuple[datetime.date, Decimal]]] = {}
    for name, flows in (("advances", advances), ("payments", payments)):
        if isinstance(flows, str | bytes) or not isinstance(flows, Sequence):
            raise ValidationError(name, flows, "must be a sequence of CashFlow")
        if len(flows) == 0:
            raise ValidationError(name, [], f"must contain at least one {name[:-1]}")
        out: list[tuple[datetime.date, Decimal]] = []
        for k, flow in enumerate(flows):
            # Fast path for the common, already well-typed flow (exact types, so no subclass with
            # overridden behaviour slips through): the same checks as below, without building the
            # field name or calling ``to_decimal``.
            if (
                type(flow) is CashFlow
                and type(flow.date) is datetime.date
                and type(flow.amount) is Decimal
                and flow.amount.is_finite()
                and flow.amount > 0
            ):
                out.append((flow.date, flow.amount))
                continue
            where = f"{name}[{k}]"
            if not isinstance(flow, CashFlow):
                raise ValidationError(where, flow, "must be a CashFlow")
            if not isinstance(flow.date, datetime.date) or isinstance(flow.date, datetime.datetime):
                raise ValidationError(f"{where}.date", flow.date, "must be a datetime.date")
            if isinstance(flow.amount, bool) or not isinstance(flow.amount, Decimal | int | str | float):
                raise ValidationError(f"{where}.amount", flow.amount, "must be a Decimal")
            amount = to_decimal(flow.amount, f"{where}.amount")
            if amount <= 0:
                raise ValidationError(f"{where}.amount", flow.amount, "must be greater than zero")
            out.append((flow.date, amount))
        clean[name] = out
    by_date = operator.itemgetter(0)  # C-level key: the same stable sort as ``lambda x: x[0]``
    first = min(map(by_date, clean["advances"]))
    if min(map(by_date, clean["payments"])) < first:  # only then look for the first offender
        for k, (d, _) in enumerate(clean["payments"]):
            if d < first:
                raise ValidationError(
                    f"payments[{k}].date", d, f"must not be before the first advance ({first.isoformat()})"
                )
    return sorted(clean["advances"], key=by_date), sorted(clean["payments"], key=by_date)


def _checked_pairs(
    advances: Sequence[tuple[datetime.date, Decimal]], payments: Sequence[tuple[datetime.date, Decimal]]
) -> tuple[list[tuple[datetime.date, Decimal]], list[tuple[datetime.date, Decimal]]] | None:
    """What :func:`_validate` returns for ``CashFlow(d, a)`` of these ``(date, amount)`` pairs, when it
    accepts every flow on its fast path (a ``datetime.date``, a finite ``Decimal`` > 0) and no payment
    is before the first advance; ``None`` otherwise (then :func:`_validate` decides, and says why)."""
    clean: list[list[tuple[datetime.date, Decimal]]] = []
    for flows in (advances, payments):
        if (type(flows) is not list and type(flows) is not tuple) or not flows:
            return None
        for pair in flows:
            if type(pair) is not tuple or len(pair) != 2:
                return None
            d, a = pair
            if type(d) is not datetime.date or type(a) is not Decimal or not a.is_finite() or not a > 0:
                return None
        clean.append(list(flows))
    by_date = operator.itemgetter(0)
    if min(map(by_date, clean[1])) < min(map(by_date, clean[0])):
        return None
    return sorted(clean[0], key=by_date), sorted(clean[1], key=by_date)


# --------------------------------------------------------------------------------------------------
# calendar helpers (Reg Z App. J (b)(3)(iv): all months are equal)


@functools.lru_cache(maxsize=4096)
def _month_len(year: int, month: int) -> int:
    """Days in ``month`` of ``year``; cached because every cash flow's date asks it several times."""
    return calendar.monthrange(year, month)[1]


def _is_month_end(d: datetime.date) -> bool:
    return d.day == _month_len(d.year, d.month)


def _shift_months(d: datetime.date, months: int, anchor_day: int) -> datetime.date:
    """``d`` moved by ``months`` calendar months onto ``anchor_day``, clamped to the month's length
    (so the 29th, 30th and 31st fall on the last day of February, App. J (b)(3)(iv))."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    return datetime.date(year, month0 + 1, min(anchor_day, _month_len(year, month0 + 1)))


def _anchor_day(d: datetime.date, month_end_series: bool) -> int:
    """Day of month to measure whole months on: the last day for a month-end series."""
    return 31 if month_end_series and _is_month_end(d) else d.day


def _whole_months(a: datetime.date, b: datetime.date) -> int | None:
    """Number of months from ``a`` to ``b`` (a < b) if the interval is whole months, else ``None``."""
    k = (b.year - a.year) * 12 + b.month - a.month
    if k <= 0:
        return None
    if _is_month_end(a) and _is_month_end(b):
        return k
    if _shift_months(a, k, a.day) == b or _shift_months(b, -k, b.day) == a:
        return k
    return None


def _is_semimonth(a: datetime.date, b: datetime.date) -> bool:
    """A half month: the 1st→16th→1st, 15th→last→15th pattern (and the like)."""
    if a.day <= 15 and not _is_month_end(a):
        if (b.year, b.month) != (a.year, a.month):
            return False
        target = a.day + 15
        return b.day == target or (b.day < target and _is_month_end(b)) or (a.day == 15 and _is_month_end(b))
    nxt = _shift_months(a, 1, 1)
    if (b.year, b.month) != (nxt.year, nxt.month):
        return False
    return b.day == (15 if _is_month_end(a) else a.day - 15)


# --------------------------------------------------------------------------------------------------
# Reg Z App. J (b)(4): the unit period


_Key = tuple[str, int]


def _period_key(a: datetime.date, b: datetime.date) -> _Key:
    months = _whole_months(a, b)
    if months is not None:
        return ("month", months)
    if _is_semimonth(a, b):
        return ("semimonth", 1)
    return ("day", (b - a).days)


def _key_days(key: _Key) -> float:
    kind, n = key
    if kind == "month":
        return 365.0 / 12.0 * n
    if kind == "semimonth":
        return 365.0 / 24.0
    return float(n)


def _key_to_unit(key: _Key) -> UnitPeriod | None:
    kind, n = key
    if kind == "month":
        return UnitPeriod(PeriodKind.MONTH, n) if n <= 12 else None
    if kind == "semimonth":
        return UnitPeriod(PeriodKind.SEMIMONTH)
    if n <= 0 or n > 365:
        return None
    if n % 7 == 0:
        return UnitPeriod(PeriodKind.WEEK, n // 7)
    return UnitPeriod(PeriodKind.DAY, n)


def _standard_intervals() -> list[UnitPeriod]:
    out = [UnitPeriod(PeriodKind.DAY), UnitPeriod(PeriodKind.SEMIMONTH)]
    out += [UnitPeriod(PeriodKind.WEEK, w) for w in range(1, 53)]
    out += [UnitPeriod(PeriodKind.MONTH, m) for m in range(1, 13)]
    return sorted(out, key=lambda u: u.approx_days)


def determine_unit_period(
    advances: Sequence[datetime.date], payments: Sequence[datetime.date], term_start: datetime.date
) -> UnitPeriod:
    """The unit period of App. J (b)(4).

    Periods are the intervals between consecutive advances, between consecutive payments, and from the
    beginning of the term to the first advance after it and to the first payment (b)(3)(i). The unit
    period is the common period (one occurring more than once) that occurs most often, not exceeding a
    year; on a tie, the shorter (b)(4)(i)(A). With no common period, it is the average of all periods
    rounded to the nearest standard interval, the shorter on a tie (b)(4)(i)(B) — for that rounding a
    month counts 365/12 days and a semimonth 365/24 (the regulation does not fix a day count there).
    A single-advance, single-payment transaction uses its term, capped at one year (b)(4)(ii).
    """
    return _unit_period(tuple(sorted(advances)), tuple(sorted(payments)), term_start)


@functools.lru_cache(maxsize=1024)
def _unit_period(
    adv: tuple[datetime.date, ...], pay: tuple[datetime.date, ...], term_start: datetime.date
) -> UnitPeriod:
    """:func:`determine_unit_period` on sorted date tuples; cached because it depends on the dates
    only, which repeat from quote to quote (the result is immutable)."""
    if len(adv) == 1 and len(pay) == 1:
        start, end = min(term_start, adv[0]), pay[0]
        months = _whole_months(start, end)
        days = (end - start).days
        if days <= 0:
            raise ValidationError("payments[0].date", end, "must be after the advance")
        if (months is not None and months >= 12) or days >= 365:
            return UnitPeriod(PeriodKind.MONTH, 12)
        with decimal.localcontext(_CTX):
            per_year = Decimal(12) / months if months is not None else Decimal(365) / days
        return UnitPeriod(PeriodKind.TERM, 1, per_year)
    periods: list[_Key] = []
    for series in (adv, pay):
        previous = term_start
        for d in series:
            if d > previous:
                periods.append(_period_key(previous, d))
            previous = d
    if not periods:
        raise ValidationError("payments", list(pay), "must span at least one period after the advance")
    counts = Counter(periods)
    common = [(c, k) for k, c in counts.items() if c > 1 and _key_days(k) <= 366 and _key_to_unit(k)]
    if common:
        best = max(common, key=lambda ck: (ck[0], -_key_days(ck[1])))[1]
        unit = _key_to_unit(best)
        assert unit is not None
        return unit
    average = sum(_key_days(k) for k in periods) / len(periods)
    return min(_standard_intervals(), key=lambda u: (abs(u.approx_days - average), u.approx_days))


# --------------------------------------------------------------------------------------------------
# Reg Z App. J (b)(5): number of unit periods between two dates


def unit_periods_between(
    start: datetime.date, end: datetime.date, unit: UnitPeriod, *, anchor_day: int | None = None
) -> tuple[int, Decimal]:
    """Whole unit periods ``t`` and the fraction ``f`` (0 ≤ f ≤ 1) from ``start`` to ``end``.

    App. J (b)(5), with the fraction at the beginning of the term (measured back from the later date):

    * month: whole months measured back from ``end``; the remaining days (forward from ``start``) / 30;
    * semimonth or 2-11 months: days = 30 × whole months back + remaining days, divided by 15 or 30·m;
    * year: whole years back; the rest is months / 12 if whole months, else days / 365;
    * day, week or a multiple: actual days divided by the days in a unit period;
    * the whole term of a single-advance, single-payment transaction: 1 unit period.

    ``anchor_day`` is the day of month the later date's series falls on (31 for a month-end series);
    by default ``end.day``.
    """
    if end < start:
        raise ValidationError("end", end, f"must not be before {start.isoformat()}")
    kind, m = unit.kind, unit.multiple
    with decimal.localcontext(_CTX):
        if kind is PeriodKind.TERM:
            return (1, _ZERO) if end > start else (0, _ZERO)
        if kind in (PeriodKind.DAY, PeriodKind.WEEK):
            per = m * (7 if kind is PeriodKind.WEEK else 1)
            whole, rest = divmod((end - start).days, per)
            return whole, Decimal(rest) / per
        anchor = end.day if anchor_day is None else anchor_day
        k = (end.year - start.year) * 12 + end.month - start.month + 1
        while k > 0 and _shift_months(end, -k, anchor) < start:
            k -= 1
        back = _shift_months(end, -k, anchor) if k > 0 else end
        rest_days = (back - start).days
        if kind is PeriodKind.MONTH and m == 12:
            years, rest_months = divmod(k, 12)
            back_years = _shift_months(end, -12 * years, anchor) if years else end
            if rest_days == 0:
                return years, Decimal(rest_months) / 12
            return years, Decimal((back_years - start).days) / 365
        per_days = 15 if kind is PeriodKind.SEMIMONTH else 30 * m
        whole, rest = divmod(30 * k + rest_days, per_days)
        if kind is PeriodKind.MONTH and m == 1 and rest == 0 and rest_days == 0:
            return k, _ZERO
        return whole, Decimal(rest) / per_days


def _series_anchor(dates: Sequence[datetime.date]) -> Callable[[datetime.date], int]:
    """Per App. J (b)(3)(iv): a series on the last day of each month is measured month-end to
    month-end; a series on the 29th/30th uses the last day of February. The series' usual day is its
    most common day of month."""
    month_end = len(dates) > 1 and all(_is_month_end(d) for d in dates)
    usual = Counter(d.day for d in dates).most_common(1)[0][0] if dates else 1

    def anchor(d: datetime.date) -> int:
        if month_end:
            return 31
        if _is_month_end(d) and usual > d.day:
            return usual
        return _anchor_day(d, False)

    return anchor


# --------------------------------------------------------------------------------------------------
# the general equation and its solver


@functools.lru_cache(maxsize=1024)
def _series_periods(
    term_start: datetime.date, dates: tuple[datetime.date, ...], unit: UnitPeriod
) -> tuple[tuple[int, Decimal], ...]:
    """``(t, f)`` of :func:`unit_periods_between` (whole unit periods, fraction of one) for each date
    of one series (advances or payments).

    Cached: the calendar work depends only on the dates and the unit period, and a quoting loop asks
    for the same due dates over and over with different amounts. Every argument is immutable.
    """
    anchor = _series_anchor(dates)
    return tuple(unit_periods_between(term_start, d, unit, anchor_day=anchor(d)) for d in dates)


@dataclass(frozen=True, slots=True)
class _Calendar:
    """The date side of the general equation, for advances then payments in that order.

    Term ``k`` is discounted by ``(1 + f·i)(1 + i)^t`` with ``t = whole[k]`` whole unit periods and
    ``f = fraction[k]`` of one. ``wholes`` / ``fractions`` (``fractions_float``) are the distinct values and
    ``whole_index`` / ``fraction_index`` point each term at its own, so that a solver step computes
    ``(1 + i)^t`` once per distinct ``t`` and ``1 + f·i`` once per distinct ``f``. Fractions are
    grouped by exact representation (value and exponent), so a shared result is the very Decimal the
    term would have computed itself.
    """

    whole: tuple[int, ...]
    fraction: tuple[Decimal, ...]
    fraction_float: tuple[float, ...]
    wholes: tuple[int, ...]
    whole_index: tuple[int, ...]
    fractions: tuple[Decimal, ...]
    fractions_float: tuple[float, ...]
    fraction_index: tuple[int, ...]
    advances: int
    payments: int


@functools.lru_cache(maxsize=1024)
def _calendar(
    term_start: datetime.date,
    advance_dates: tuple[datetime.date, ...],
    payment_dates: tuple[datetime.date, ...],
    unit: UnitPeriod,
) -> _Calendar:
    """The :class:`_Calendar` of these dates; cached (immutable arguments, immutable result)."""
    periods = _series_periods(term_start, advance_dates, unit) + _series_periods(
        term_start, payment_dates, unit
    )
    whole = tuple(t for t, _ in periods)
    fraction = tuple(f for _, f in periods)
    wholes_at: dict[int, int] = {}
    fractions_at: dict[tuple[Decimal, decimal.DecimalTuple], int] = {}
    fractions: list[Decimal] = []
    fraction_index: list[int] = []
    for f in fraction:
        key = (f, f.as_tuple())
        at = fractions_at.get(key)
        if at is None:
            at = fractions_at[key] = len(fractions)
            fractions.append(f)
        fraction_index.append(at)
    for t in whole:
        wholes_at.setdefault(t, len(wholes_at))
    return _Calendar(
        whole,
        fraction,
        tuple(float(f) for f in fraction),
        tuple(wholes_at),
        tuple(wholes_at[t] for t in whole),
        tuple(fractions),
        tuple(float(f) for f in fractions),
        tuple(fraction_index),
        len(advance_dates),
        len(payment_dates),
    )


@dataclass(frozen=True, slots=True)
class _Terms:
    """The general equation's terms: term ``k`` contributes ``signed[k] / ((1 + f·i)(1 + i)^t)``.

    ``signed[k]`` is ``+A`` for an advance and ``−A`` for a payment (Decimal, major units);
    ``signed_float`` the same in floats, converted once rather than at every Newton step; the dates'
    side (``t``, ``f``) is in ``calendar``.
    """

    calendar: _Calendar
    signed: tuple[Decimal, ...]
    signed_float: tuple[float, ...]


def _general_equation_terms(
    advances: list[tuple[datetime.date, Decimal]],
    payments: list[tuple[datetime.date, Decimal]],
    unit: UnitPeriod,
    term_start: datetime.date,
) -> _Terms:
    cal = _calendar(term_start, tuple(d for d, _ in advances), tuple(d for d, _ in payments), unit)
    # ``sign * amount`` at working precision, as the solver used to form it at every step.
    signed = tuple(_CTX.multiply(1, a) for _, a in advances) + tuple(
        _CTX.multiply(-1, a) for _, a in payments
    )
    # ``sign * float(amount)`` as the float solver formed it (from the amount itself, not the
    # working-precision product). float(Decimal) goes through a string and instalments repeat, so
    # each value is converted once (the float of a Decimal depends on its value only).
    as_float: dict[Decimal, float] = {}
    signed_float: list[float] = []
    for sign, flows in ((1.0, advances), (-1.0, payments)):
        for _, a in flows:
            a_float = as_float.get(a)
            if a_float is None:
                a_float = as_float[a] = float(a)
            signed_float.append(sign * a_float)
    return _Terms(cal, signed, tuple(signed_float))


def _npv_float(terms: _Terms, i: float) -> tuple[float, float]:
    """Σ sign·A / ((1+f i)(1+i)^t) and its derivative, in floats (for the first guess).

    The same float operations on the same operands as term-by-term evaluation (so the same guess):
    ``(1+i)^t``, ``t/(1+i)``, ``1+f·i`` and ``f/(1+f·i)`` are computed once per distinct ``t`` or
    ``f`` and shared, and the sums run over the terms in order.
    """
    cal = terms.calendar
    value = 0.0
    slope = 0.0
    one_i = 1.0 + i
    powers = [one_i**t for t in cal.wholes]
    per_t = [t / one_i for t in cal.wholes]
    one_fi = [1.0 + f * i for f in cal.fractions_float]
    per_f = [f / fi for f, fi in zip(cal.fractions_float, one_fi, strict=True)]
    for amount, w, k in zip(terms.signed_float, cal.whole_index, cal.fraction_index, strict=True):
        pv = amount / (one_fi[k] * powers[w])
        value += pv
        slope -= pv * (per_f[k] + per_t[w])
    return value, slope


def _npv_decimal(terms: _Terms, i: Decimal) -> tuple[Decimal, Decimal]:
    """Σ sign·A / ((1+f i)(1+i)^t) and its derivative at the current (working) Decimal context.

    Sub-expressions that depend only on ``t`` (``(1+i)^t``, ``t/(1+i)``) or only on ``f``
    (``1+f·i``, ``f/(1+f·i)``) are computed once per distinct value and reused: the same operations
    on the same operands, so the same digits.
    """
    cal = terms.calendar
    value = _ZERO
    slope = _ZERO
    one_i = _ONE + i
    powers = [one_i**t for t in cal.wholes]
    per_t = [t / one_i for t in cal.wholes]
    one_fi = [_ONE + f * i for f in cal.fractions]
    per_f = [f / fi for f, fi in zip(cal.fractions, one_fi, strict=True)]
    for amount, w, k in zip(terms.signed, cal.whole_index, cal.fraction_index, strict=True):
        pv = amount / (one_fi[k] * powers[w])
        value += pv
        slope -= pv * (per_f[k] + per_t[w])
    return value, slope


def _solve(
    value_float: Callable[[float], tuple[float, float]],
    value_decimal: Callable[[Decimal], tuple[Decimal, Decimal]],
    guess: float,
    field: str,
    describe: object,
) -> tuple[Decimal, int]:
    """Root of an increasing present-value difference on (−1, ∞): Newton in floats for a first guess,
    Newton in Decimal to full precision, bisection if Newton leaves the domain or stalls."""
    x = guess
    for _ in range(100):
        try:
            fx, dfx = value_float(x)
        except (OverflowError, ZeroDivisionError):
            break
        if dfx == 0.0 or not math.isfinite(fx) or not math.isfinite(dfx):
            break
        step = fx / dfx
        x_new = x - step
        if x_new <= -1.0:
            x_new = (x - 1.0) / 2.0
        if abs(x_new - x) < 1e-15:
            x = x_new
            break
        x = x_new
    with decimal.localcontext(_CTX):
        i = Decimal(repr(x)) if math.isfinite(x) and x > -1.0 else Decimal("0.01")
        iterations = 0
        for _ in range(_MAX_NEWTON):
            iterations += 1
            try:
                fx_d, dfx_d = value_decimal(i)
            except (decimal.DivisionByZero, decimal.InvalidOperation, decimal.Overflow):
                break
            if dfx_d == 0:
                break
            step_d = fx_d / dfx_d
            i_new = i - step_d
            if i_new <= -1:
                break
            if abs(step_d) <= _TOL:
                return +i_new, iterations
            i = i_new
        return _bisect(value_decimal, field, describe, iterations)


def _bisect(
    value_decimal: Callable[[Decimal], tuple[Decimal, Decimal]], field: str, describe: object, iterations: int
) -> tuple[Decimal, int]:
    lo, hi = Decimal("-0.999999"), Decimal(1)
    f_lo = value_decimal(lo)[0]
    f_hi = value_decimal(hi)[0]
    while f_hi < 0 and hi < Decimal(10) ** 9:
        hi *= 10
        f_hi = value_decimal(hi)[0]
    if f_lo > 0 or f_hi < 0:
        raise ConvergenceError(field, describe, "has no rate that equates advances and payments")
    for _ in range(_MAX_BISECT):
        iterations += 1
        mid = (lo + hi) / 2
        f_mid = value_decimal(mid)[0]
        if f_mid < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= _TOL:
            return +((lo + hi) / 2), iterations
    raise ConvergenceError(field, describe, f"did not converge within {_MAX_BISECT} bisection steps")


def _initial_guess(terms: _Terms) -> float:
    """A first guess of the rate per unit period for the float Newton (a float)."""
    # From the floats converted once in ``terms`` (``-(-float(A)) == float(A)``): the same sums as
    # converting each amount and fraction here.
    cal = terms.calendar
    advanced = sum(a for a in terms.signed_float if a > 0)
    repaid = sum(-a for a in terms.signed_float if a < 0)
    count = max(1, cal.payments)
    horizon = max(1.0, max(t + f for t, f in zip(cal.whole, cal.fraction_float, strict=True)))
    if count == 1:
        return float(math.pow(repaid / advanced, 1.0 / horizon)) - 1.0
    return 2.0 * (repaid - advanced) / (advanced * (count + 1)) * count / horizon


def _solve_general(terms: _Terms, field: str) -> tuple[Decimal, int]:
    return _solve(
        lambda i: _npv_float(terms, i),
        lambda i: _npv_decimal(terms, i),
        _initial_guess(terms),
        field,
        f"{terms.calendar.advances} advances, {terms.calendar.payments} payments",
    )


def _compound(periodic: Decimal, per_year: Decimal) -> Decimal:
    """``(1 + periodic)^per_year − 1`` at working precision."""
    with decimal.localcontext(_CTX):
        if per_year == per_year.to_integral_value():
            return (_ONE + periodic) ** int(per_year) - _ONE
        return ((_ONE + periodic).ln() * per_year).exp() - _ONE


# --------------------------------------------------------------------------------------------------
# public API: exact paths


def regz_apr(
    advances: Sequence[CashFlow],
    payments: Sequence[CashFlow],
    unit_period: UnitPeriod | None = None,
    *,
    term_start: datetime.date | None = None,
) -> AprResult:
    """US Regulation Z APR, 12 CFR 1026 Appendix J actuarial method.

    Args:
        advances: amounts financed, by date (the first is normally at consummation).
        payments: scheduled payments, by date (none before the first advance).
        unit_period: force a unit period; by default it is determined as App. J (b)(4) says.
        term_start: the beginning of the term (consummation, or the later date the finance charge begins
            to be earned, (b)(2)); by default the date of the first advance.

    Returns:
        :class:`AprResult` with ``apr`` = rate per unit period × unit periods per year (nominal, (b)(1)).
    """
    adv, pay = _validate(advances, payments)
    return _regz_apr(adv, pay, unit_period, term_start)


def _regz_apr(
    adv: list[tuple[datetime.date, Decimal]],
    pay: list[tuple[datetime.date, Decimal]],
    unit_period: UnitPeriod | None,
    term_start: datetime.date | None,
) -> AprResult:
    """:func:`regz_apr` of flows already checked and sorted (:func:`_validate`)."""
    start = adv[0][0] if term_start is None else term_start
    if not isinstance(start, datetime.date):
        raise ValidationError("term_start", term_start, "must be a datetime.date")
    if start > adv[0][0]:
        raise ValidationError("term_start", start, "must not be after the first advance")
    unit = (
        determine_unit_period([d for d, _ in adv], [d for d, _ in pay], start)
        if unit_period is None
        else unit_period
    )
    if unit.kind is PeriodKind.TERM and (len(adv) != 1 or len(pay) != 1):
        raise ValidationError("unit_period", unit, "kind 'term' is only for one advance and one payment")
    terms = _general_equation_terms(adv, pay, unit, start)
    periodic, iterations = _solve_general(terms, "payments")
    per_year = unit.per_year
    with decimal.localcontext(_CTX):
        apr = periodic * per_year
    return AprResult(
        apr=apr,
        method=AprMethod.US_REGZ,
        basis=(
            f"actuarial, unit period {unit.words}, {per_year.normalize():f} per year, odd days at simple "
            "interest (12 CFR 1026 App. J)"
        ),
        periodic_rate=periodic,
        effective_annual_rate=_compound(periodic, per_year),
        unit_period=unit,
        periods_per_year=per_year,
        iterations=iterations,
    )


def cn_annualised_rate(
    advances: Sequence[CashFlow], payments: Sequence[CashFlow], *, term_start: datetime.date | None = None
) -> AprResult:
    """China annualised rate (PBoC Announcement [2021] No. 3), IRR basis.

    The monthly IRR ``i`` of all the borrower's cash flows is found, and the disclosed rate is
    ``12 × i`` (nominal, 年化利率 on an IRR basis); ``(1 + i)^12 − 1`` is the effective annual rate.
    Fees the borrower pays are payments; a fee withheld from the loan reduces the advance.

    Times are counted in months with Reg Z App. J's machinery on a *monthly* unit period: whole months
    measured back from each date, remaining odd days / 30 at simple interest. For monthly cash flows on
    the same day of the month this is exactly the monthly IRR; odd dates are the documented choice.
    """
    adv, pay = _validate(advances, payments)
    return _cn_annualised_rate(adv, pay, term_start)


def _cn_annualised_rate(
    adv: list[tuple[datetime.date, Decimal]],
    pay: list[tuple[datetime.date, Decimal]],
    term_start: datetime.date | None,
) -> AprResult:
    """:func:`cn_annualised_rate` of flows already checked and sorted (:func:`_validate`)."""
    start = adv[0][0] if term_start is None else term_start
    terms = _general_equation_terms(adv, pay, MONTHLY, start)
    monthly, iterations = _solve_general(terms, "payments")
    with decimal.localcontext(_CTX):
        apr = monthly * 12
    return AprResult(
        apr=apr,
        method=AprMethod.CN_IRR,
        basis="monthly IRR x 12 (nominal), odd days / 30 at simple interest (PBoC Announcement [2021] No. 3)",
        periodic_rate=monthly,
        effective_annual_rate=_compound(monthly, Decimal(12)),
        unit_period=MONTHLY,
        periods_per_year=Decimal(12),
        iterations=iterations,
    )


class EuTimeBasis(StrEnum):
    """How Directive 2008/48/EC Annex I (c) turns dates into years.

    ``CALENDAR``: whole years from the first drawdown (anniversaries), then the remaining days / 365
    (/ 366 when the remaining stretch contains 29 February). ``MONTHS``: whole months from the first
    drawdown / 12, then remaining days / (365/12). ``WEEKS``: whole weeks / 52, remaining days / 365.
    """

    CALENDAR = "calendar"
    MONTHS = "months"
    WEEKS = "weeks"


def _contains_feb29(a: datetime.date, b: datetime.date) -> bool:
    """Whether 29 February falls in (a, b]."""
    for year in range(a.year, b.year + 1):
        if calendar.isleap(year):
            leap_day = datetime.date(year, 2, 29)
            if a < leap_day <= b:
                return True
    return False


def eu_years_between(start: datetime.date, end: datetime.date, basis: EuTimeBasis) -> Decimal:
    """Interval in years and fractions of a year (Annex I, remark (c))."""
    with decimal.localcontext(_CTX):
        if basis is EuTimeBasis.WEEKS:
            weeks, days = divmod((end - start).days, 7)
            return Decimal(weeks) / 52 + Decimal(days) / 365
        k = (end.year - start.year) * 12 + end.month - start.month + 1
        anchor = 31 if _is_month_end(start) else start.day
        while k > 0 and _shift_months(start, k, anchor) > end:
            k -= 1
        if basis is EuTimeBasis.MONTHS:
            rest = (end - _shift_months(start, k, anchor)).days if k else (end - start).days
            # remaining days in equal months of 365/12 days, i.e. days / 365 of a year
            return Decimal(k) / 12 + Decimal(rest) / 365
        years = k // 12
        anniversary = _shift_months(start, 12 * years, anchor) if years else start
        rest_days = (end - anniversary).days
        if rest_days == 0:
            return Decimal(years)
        year_days = 366 if _contains_feb29(anniversary, end) else 365
        return Decimal(years) + Decimal(rest_days) / year_days


def eu_aprc(
    advances: Sequence[CashFlow],
    payments: Sequence[CashFlow],
    *,
    time_basis: EuTimeBasis = EuTimeBasis.CALENDAR,
) -> AprResult:
    """EU annual percentage rate of charge, Directive 2008/48/EC Annex I (as amended by 2011/90/EU).

    Solves ``Σ C_k (1+X)^(−t_k) = Σ D_l (1+X)^(−s_l)``, times in years from the first drawdown on the
    chosen :class:`EuTimeBasis`. ``X`` is an effective annual rate, returned at full precision; the
    directive requires disclosure to at least one decimal place of a percent (:func:`format_rate`).
    """
    adv, pay = _validate(advances, payments)
    return _eu_aprc(adv, pay, time_basis)


def _eu_aprc(
    adv: list[tuple[datetime.date, Decimal]],
    pay: list[tuple[datetime.date, Decimal]],
    time_basis: EuTimeBasis,
) -> AprResult:
    """:func:`eu_aprc` of flows already checked and sorted (:func:`_validate`)."""
    basis = EuTimeBasis(time_basis)
    start = adv[0][0]
    flows = [(1, a, eu_years_between(start, d, basis)) for d, a in adv]
    flows += [(-1, a, eu_years_between(start, d, basis)) for d, a in pay]
    float_flows = [(s * float(a), float(t)) for s, a, t in flows]

    def value_float(x: float) -> tuple[float, float]:
        log1x = math.log1p(x)
        v = 0.0
        dv = 0.0
        for amount, t in float_flows:
            pv = amount * math.exp(-t * log1x)
            v += pv
            dv -= pv * t / (1.0 + x)
        return v, dv

    def value_decimal(x: Decimal) -> tuple[Decimal, Decimal]:
        log1x = (_ONE + x).ln()
        v = _ZERO
        dv = _ZERO
        for sign, amount, t in flows:
            pv = sign * amount * (-t * log1x).exp()
            v += pv
            dv -= pv * t / (_ONE + x)
        return v, dv

    advanced = sum(float(a) for _, a, _ in [f for f in flows if f[0] > 0])
    repaid = sum(float(a) for _, a, _ in [f for f in flows if f[0] < 0])
    horizon = max(float(t) for _, _, t in flows) or 1.0
    guess = (repaid / advanced) ** (1.0 / max(horizon / 2.0, 1e-6)) - 1.0 if repaid > 0 else 0.0
    rate, iterations = _solve(value_float, value_decimal, guess, "payments", f"{len(flows)} cash flows")
    return AprResult(
        apr=rate,
        method=AprMethod.EU_APRC,
        basis=f"effective annual rate, time in years on a {basis.value} basis (Directive 2008/48/EC Annex I)",
        periodic_rate=None,
        effective_annual_rate=rate,
        unit_period=None,
        periods_per_year=None,
        iterations=iterations,
    )


def compute_apr(
    advances: Sequence[CashFlow], payments: Sequence[CashFlow], method: AprMethod | str
) -> AprResult:
    """Dispatch to :func:`regz_apr`, :func:`cn_annualised_rate` or :func:`eu_aprc` by ``method``."""
    chosen = _method(method)
    if chosen is AprMethod.US_REGZ:
        return regz_apr(advances, payments)
    if chosen is AprMethod.CN_IRR:
        return cn_annualised_rate(advances, payments)
    return eu_aprc(advances, payments)


def _method(method: AprMethod | str) -> AprMethod:
    try:
        return AprMethod(method)
    except ValueError:
        raise ValidationError(
            "method", method, f"must be one of {', '.join(m.value for m in AprMethod)}"
        ) from None


def compute_apr_flows(
    advances: Sequence[tuple[datetime.date, Decimal]],
    payments: Sequence[tuple[datetime.date, Decimal]],
    method: AprMethod | str,
) -> AprResult:
    """:func:`compute_apr` of ``[CashFlow(d, a) for d, a in advances]`` and the same of ``payments``
    (``(date, amount)`` pairs, as :meth:`~autofin.finance.schedule.Schedule.cash_flows` gives them):
    the same result, or the same error. Flows that :func:`compute_apr` accepts without a question
    (:func:`_checked_pairs`) skip building the :class:`CashFlow` objects and checking them again."""
    chosen = _method(method)
    checked = _checked_pairs(advances, payments)
    if checked is None:
        adv = [CashFlow(d, a) for d, a in advances]
        return compute_apr(adv, [CashFlow(d, a) for d, a in payments], chosen)
    if chosen is AprMethod.US_REGZ:
        return _regz_apr(*checked, None, None)
    if chosen is AprMethod.CN_IRR:
        return _cn_annualised_rate(*checked, None)
    return _eu_aprc(*checked, EuTimeBasis.CALENDAR)


# --------------------------------------------------------------------------------------------------
# display


def round_rate(rate: Decimal, places: int = 2) -> Decimal:
    """``rate`` (a decimal, 0.12962) as a percent rounded half-up to ``places`` decimals (12.96)."""
    if places < 0:
        raise ValidationError("places", places, "must not be negative")
    with decimal.localcontext(_CTX):
        return (rate * 100).quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


def format_rate(rate: Decimal, places: int = 2) -> str:
    """``rate`` for display: ``format_rate(Decimal("0.129620"), 1) == "13.0 %"`` (EU: ``places`` ≥ 1)."""
    return f"{round_rate(rate, places):f} %"


# --------------------------------------------------------------------------------------------------
# fast float path (regular transactions)


def regz_apr_regular(
    amount_financed: float,
    payment: float,
    n: int,
    periods_per_year: int = 12,
    first_period_fraction: float = 0.0,
) -> float:
    """Reg Z APR of a regular transaction, in floats: one advance and ``n`` equal payments.

    Payment ``j`` (1..n) falls ``j`` unit periods plus ``first_period_fraction`` of a unit period after
    the advance (the odd first period, App. J (b)(5)), so the general equation is
    ``A·(1 + f·i) = P·(1 − (1+i)^−n) / i``. Returns ``i × periods_per_year`` (a decimal, 0.0969).
    Agrees with :func:`regz_apr` to about 1e-12 on the same transaction.
    """
    a = float(amount_financed)
    p = float(payment)
    f = float(first_period_fraction)
    if not (a > 0 and math.isfinite(a)):
        raise ValidationError("amount_financed", amount_financed, "must be a positive finite number")
    if not (p > 0 and math.isfinite(p)):
        raise ValidationError("payment", payment, "must be a positive finite number")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError("n", n, "must be a whole number of payments, at least 1")
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int) or periods_per_year < 1:
        raise ValidationError("periods_per_year", periods_per_year, "must be a positive whole number")
    if not (0.0 <= f <= 1.0):
        raise ValidationError("first_period_fraction", first_period_fraction, "must be between 0 and 1")
    total = p * n
    if total == a:
        return 0.0
    i = 2.0 * (total - a) / (a * (n + 1))
    if i <= -1.0:
        i = -0.5
    for _ in range(100):
        if abs(i) < 1e-9:
            # series form near zero: (1 − v^n)/i → n − n(n+1)/2·i
            annuity = n - n * (n + 1) / 2.0 * i
            d_annuity = -n * (n + 1) / 2.0
        else:
            # expm1/log1p keep 1 − (1+i)^−n accurate when i is small
            log_v_n = -n * math.log1p(i)
            annuity = -math.expm1(log_v_n) / i
            d_annuity = (n * math.exp(log_v_n) / (1.0 + i) - annuity) / i
        value = p * annuity - a * (1.0 + f * i)
        slope = p * d_annuity - a * f
        i_new = i - value / slope
        if i_new <= -1.0:
            i_new = (i - 1.0) / 2.0
        if abs(i_new - i) <= _FLOAT_TOL * max(1.0, abs(i)):
            return i_new * periods_per_year
        i = i_new
    raise ConvergenceError("payment", payment, "APR did not converge (regular transaction)")


def regz_apr_batch(
    amount_financed: npt.ArrayLike,
    payment: npt.ArrayLike,
    n: npt.ArrayLike,
    periods_per_year: npt.ArrayLike = 12,
    first_period_fraction: npt.ArrayLike = 0.0,
) -> npt.NDArray[np.float64]:
    """:func:`regz_apr_regular` for arrays of contracts at once (Newton on arrays, broadcast inputs).

    Raises :class:`ConvergenceError` naming the first contract that does not converge.
    """
    a, p, nn, ppy, f = np.broadcast_arrays(
        np.asarray(amount_financed, dtype=np.float64),
        np.asarray(payment, dtype=np.float64),
        np.asarray(n, dtype=np.float64),
        np.asarray(periods_per_year, dtype=np.float64),
        np.asarray(first_period_fraction, dtype=np.float64),
    )
    for name, arr, ok in (
        ("amount_financed", a, (a > 0) & np.isfinite(a)),
        ("payment", p, (p > 0) & np.isfinite(p)),
        ("n", nn, (nn >= 1) & (nn == np.floor(nn))),
        ("periods_per_year", ppy, ppy > 0),
        ("first_period_fraction", f, (f >= 0) & (f <= 1)),
    ):
        bad = np.flatnonzero(~ok)
        if bad.size:
            k = int(bad[0])
            raise ValidationError(f"{name}[{k}]", float(arr.flat[k]), "is out of range")
    total = p * nn
    i = 2.0 * (total - a) / (a * (nn + 1.0))
    i = np.where(i <= -1.0, -0.5, i)
    zero = total == a
    done = zero.copy()
    i = np.where(zero, 0.0, i)
    for _ in range(100):
        small = np.abs(i) < 1e-9
        safe_i = np.where(small, 1.0, i)
        log_v_n = -nn * np.log1p(i)
        annuity = np.where(small, nn - nn * (nn + 1.0) / 2.0 * i, -np.expm1(log_v_n) / safe_i)
        d_annuity = np.where(
            small, -nn * (nn + 1.0) / 2.0, (nn * np.exp(log_v_n) / (1.0 + i) - annuity) / safe_i
        )
        value = p * annuity - a * (1.0 + f * i)
        slope = p * d_annuity - a * f
        i_new = i - value / slope
        i_new = np.where(i_new <= -1.0, (i - 1.0) / 2.0, i_new)
        i_new = np.where(done, i, i_new)
        converged = np.abs(i_new - i) <= _FLOAT_TOL * np.maximum(1.0, np.abs(i))
        i = i_new
        done |= converged
        if bool(done.all()):
            return np.asarray(i * ppy, dtype=np.float64)
    k = int(np.flatnonzero(~done)[0])
    raise ConvergenceError(f"payment[{k}]", float(p.flat[k]), "APR did not converge (regular transaction)")
