"""Day counts, payment frequencies and payment calendars.

Conventions (all standard, see ISDA 2006 Definitions §4.16 for the day counts):

* ``30/360 US`` (bond basis, with the end-of-February rules of the SIA), ``30E/360`` (Eurobond basis),
  ``ACT/360``, ``ACT/365F`` (actual days over a fixed 365), ``ACT/ACT ISDA`` (the period is split at
  year ends and each part divided by its own year length, 365 or 366) and ``NL/365`` ("fixed 365":
  actual days not counting 29 February, over 365 — a year of interest is the same in leap years).
* A year fraction is ``days / basis`` and interest for a period is ``balance × annual_rate × fraction``.
* Calendars: monthly (with an end-of-month rule: an anchor on the last day of a month stays on the last
  day), semi-monthly (two dates a month, 15 days apart: the anchor day ``d ≤ 15`` and ``d + 15``, the
  second clamped to the month end; an anchor of 15 with the end-of-month rule gives the 15th and the
  last day), bi-weekly (14 days), weekly (7 days), plus quarterly, semi-annual and annual.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Final

from autofin.errors import ValidationError


class DayCount(StrEnum):
    """Day-count conventions for accruing interest between two dates."""

    THIRTY_360_US = "30/360_us"
    THIRTY_E_360 = "30e/360"
    ACT_360 = "act/360"
    ACT_365F = "act/365f"
    ACT_ACT_ISDA = "act/act_isda"
    NL_365 = "nl/365"


class Frequency(StrEnum):
    """How often instalments fall due."""

    WEEKLY = "weekly"
    BI_WEEKLY = "bi_weekly"
    SEMI_MONTHLY = "semi_monthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMI_ANNUAL = "semi_annual"
    ANNUAL = "annual"

    @property
    def periods_per_year(self) -> int:
        return _PPY[self]

    @property
    def months(self) -> int | None:
        """Length in whole months, or ``None`` for the day-based frequencies."""
        return _MONTHS.get(self)

    @property
    def days(self) -> int | None:
        """Length in days for the day-based frequencies (weekly, bi-weekly), else ``None``."""
        return {Frequency.WEEKLY: 7, Frequency.BI_WEEKLY: 14}.get(self)


_PPY: Final = {
    Frequency.WEEKLY: 52,
    Frequency.BI_WEEKLY: 26,
    Frequency.SEMI_MONTHLY: 24,
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
    Frequency.SEMI_ANNUAL: 2,
    Frequency.ANNUAL: 1,
}
_MONTHS: Final = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMI_ANNUAL: 6,
    Frequency.ANNUAL: 12,
}


_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return 29
    return _MONTH_DAYS[month - 1]


def is_month_end(d: date) -> bool:
    return d.day == days_in_month(d.year, d.month)


def add_months(d: date, months: int, end_of_month: bool = False) -> date:
    """``d`` moved by ``months`` calendar months; the day is clamped to the month's length.

    With ``end_of_month`` an anchor on the last day of its month lands on the last day of the target
    month (31 Jan → 28/29 Feb → 31 Mar), otherwise the anchor day is kept where it exists.
    """
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = days_in_month(year, month)
    day = last if end_of_month and is_month_end(d) else min(d.day, last)
    return date(year, month, day)


def _days_30_360(d1: date, d2: date, european: bool) -> int:
    y1, m1, day1 = d1.year, d1.month, d1.day
    y2, m2, day2 = d2.year, d2.month, d2.day
    if european:
        day1, day2 = min(day1, 30), min(day2, 30)
    else:
        # SIA / US bond basis with the end-of-February rules.
        feb_end1 = m1 == 2 and is_month_end(d1)
        feb_end2 = m2 == 2 and is_month_end(d2)
        if feb_end1 and feb_end2:
            day2 = 30
        if feb_end1:
            day1 = 30
        if day2 == 31 and day1 >= 30:
            day2 = 30
        if day1 == 31:
            day1 = 30
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (day2 - day1)


def _leap_days_between(d1: date, d2: date) -> int:
    """Number of 29 Februaries in the half-open interval (d1, d2]."""
    count = 0
    for y in range(d1.year, d2.year + 1):
        if calendar.isleap(y) and d1 < date(y, 2, 29) <= d2:
            count += 1
    return count


def day_count_days(d1: date, d2: date, basis: DayCount) -> int:
    """Days between ``d1`` and ``d2`` under ``basis`` (negative if ``d2`` is before ``d1``)."""
    if d2 < d1:
        return -day_count_days(d2, d1, basis)
    if basis is DayCount.THIRTY_360_US:
        return _days_30_360(d1, d2, european=False)
    if basis is DayCount.THIRTY_E_360:
        return _days_30_360(d1, d2, european=True)
    if basis is DayCount.NL_365:
        return (d2 - d1).days - _leap_days_between(d1, d2)
    return (d2 - d1).days


def year_fraction_ratio(d1: date, d2: date, basis: DayCount) -> Fraction:
    """The exact year fraction from ``d1`` to ``d2`` under ``basis`` as a rational number.

    Interest computed as ``balance × rate × numerator / denominator`` multiplies before it divides, so
    an exact half of a minor unit is seen as one (and rounds as the rounding rule says).
    """
    if d2 < d1:
        return -year_fraction_ratio(d2, d1, basis)
    if basis is DayCount.ACT_ACT_ISDA:
        total = Fraction(0)
        start = d1
        while start < d2:
            stop = min(date(start.year + 1, 1, 1), d2)
            total += Fraction((stop - start).days, 366 if calendar.isleap(start.year) else 365)
            start = stop
        return total
    return Fraction(day_count_days(d1, d2, basis), days_in_year(basis))


def year_fraction(d1: date, d2: date, basis: DayCount) -> Decimal:
    """The fraction of a year from ``d1`` to ``d2`` under ``basis`` (exact Decimal, not rounded)."""
    if d2 < d1:
        return -year_fraction(d2, d1, basis)
    if basis is DayCount.ACT_ACT_ISDA:
        total = Decimal(0)
        start = d1
        while start < d2:
            year_end = date(start.year + 1, 1, 1)
            stop = min(year_end, d2)
            total += Decimal((stop - start).days) / (366 if calendar.isleap(start.year) else 365)
            start = stop
        return total
    return Decimal(day_count_days(d1, d2, basis)) / days_in_year(basis)


def days_in_year(basis: DayCount) -> int:
    """The denominator of ``basis`` (360 or 365); ACT/ACT has none and raises."""
    if basis in (DayCount.THIRTY_360_US, DayCount.THIRTY_E_360, DayCount.ACT_360):
        return 360
    if basis in (DayCount.ACT_365F, DayCount.NL_365):
        return 365
    raise ValidationError("day_count", basis.value, "ACT/ACT has no fixed year length; use year_fraction")


def payment_dates(first: date, count: int, frequency: Frequency, end_of_month: bool = True) -> list[date]:
    """``count`` due dates starting at ``first``, one ``frequency`` apart.

    Month-based frequencies are computed from the anchor ``first`` (never by chaining, so a 31st
    clamped to the 28th in February returns to the 31st in March). The calendar is a pure function of
    its arguments and is memoised: pricing thousands of structures on one start date computes it once.
    """
    if count < 1:
        raise ValidationError("term", count, "must be at least 1")
    return list(_payment_dates(first, count, frequency, end_of_month))


@functools.lru_cache(maxsize=4096)
def _payment_dates(first: date, count: int, frequency: Frequency, end_of_month: bool) -> tuple[date, ...]:
    return tuple(_compute_payment_dates(first, count, frequency, end_of_month))


def _compute_payment_dates(first: date, count: int, frequency: Frequency, end_of_month: bool) -> list[date]:
    if frequency.days is not None:
        step = timedelta(days=frequency.days)
        return [first + k * step for k in range(count)]
    if frequency is Frequency.SEMI_MONTHLY:
        return _semi_monthly(first, count, end_of_month)
    months = frequency.months
    assert months is not None
    keep_end = end_of_month and is_month_end(first)
    out = []
    y, m0 = first.year, first.month - 1
    for k in range(count):
        yy, mm = divmod(m0 + k * months, 12)
        year, month = y + yy, mm + 1
        last = days_in_month(year, month)
        out.append(date(year, month, last if keep_end else min(first.day, last)))
    return out


def _semi_monthly(first: date, count: int, end_of_month: bool) -> list[date]:
    """Two dates a month: ``(d, d + 15)`` from an anchor ``d``; the first date is always ``first``.

    An anchor after the 15th is the second date of its pair (``first.day − 15``, ``first.day``). With
    the end-of-month rule an anchor on the 15th or on a month end makes the pair (15th, last day).
    """
    month_end_pair = end_of_month and (first.day == 15 or (first.day > 15 and is_month_end(first)))
    if first.day > 15:
        day_a, day_b, half = (15 if month_end_pair else first.day - 15), first.day, 1
    else:
        day_a, day_b, half = first.day, first.day + 15, 0
    out: list[date] = []
    year, month = first.year, first.month
    while len(out) < count:
        last = days_in_month(year, month)
        if half == 0:
            out.append(date(year, month, min(day_a, last)))
            half = 1
        else:
            out.append(date(year, month, last if month_end_pair else min(day_b, last)))
            half = 0
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def regular_period_start(due: date, frequency: Frequency, end_of_month: bool = True) -> date:
    """The date one regular period before ``due`` (the start of a full-length period ending on it)."""
    if frequency.days is not None:
        return due - timedelta(days=frequency.days)
    if frequency is Frequency.SEMI_MONTHLY:
        return due - timedelta(days=15)
    months = frequency.months
    assert months is not None
    return add_months(due, -months, end_of_month)
