"""Unit and property tests for autofin.dates: calendars, add_months, regular periods, day-count algebra.

Published day-count values live in tests/golden/test_daycount_golden.py; the dates below follow from the
calendar rules stated in the module docstring of autofin.dates.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autofin.dates import (
    DayCount,
    Frequency,
    add_months,
    day_count_days,
    days_in_month,
    days_in_year,
    is_month_end,
    payment_dates,
    regular_period_start,
    year_fraction,
    year_fraction_ratio,
)
from autofin.errors import ValidationError

M = Frequency.MONTHLY


def _dates(*ymd: tuple[int, int, int]) -> list[date]:
    return [date(*t) for t in ymd]


# --- small helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [
        (2023, 2, 28),
        (2024, 2, 29),
        (1900, 2, 28),
        (2000, 2, 29),
        (2100, 2, 28),
        (2024, 4, 30),
        (2024, 12, 31),
    ],
)
def test_days_in_month_knows_the_gregorian_leap_rule(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days == calendar.monthrange(year, month)[1]


def test_is_month_end() -> None:
    assert is_month_end(date(2023, 2, 28)) and not is_month_end(date(2024, 2, 28))
    assert is_month_end(date(2024, 2, 29)) and is_month_end(date(2024, 4, 30))
    assert not is_month_end(date(2024, 3, 30))


def test_frequency_lengths() -> None:
    assert [f.periods_per_year for f in Frequency] == [52, 26, 24, 12, 4, 2, 1]
    assert Frequency.WEEKLY.days == 7 and Frequency.BI_WEEKLY.days == 14
    assert Frequency.MONTHLY.days is None and Frequency.SEMI_MONTHLY.months is None
    assert [Frequency.MONTHLY.months, Frequency.QUARTERLY.months, Frequency.SEMI_ANNUAL.months] == [1, 3, 6]
    assert Frequency.ANNUAL.months == 12 and Frequency.WEEKLY.months is None


def test_days_in_year_per_basis() -> None:
    assert days_in_year(DayCount.THIRTY_360_US) == days_in_year(DayCount.THIRTY_E_360) == 360
    assert days_in_year(DayCount.ACT_360) == 360
    assert days_in_year(DayCount.ACT_365F) == days_in_year(DayCount.NL_365) == 365
    with pytest.raises(ValidationError) as info:
        days_in_year(DayCount.ACT_ACT_ISDA)
    assert info.value.field == "day_count"
    assert info.value.value == "act/act_isda"


# --- add_months --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),  # clamped to a short February
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2023, 3, 31), -1, date(2023, 2, 28)),
        (date(2024, 8, 31), 1, date(2024, 9, 30)),
        (date(2023, 12, 31), 2, date(2024, 2, 29)),  # across a year end
        (date(2024, 1, 15), -1, date(2023, 12, 15)),
        (date(2024, 1, 15), -13, date(2022, 12, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2099, 2, 28), 12, date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2024, 5, 17), 0, date(2024, 5, 17)),
        (date(2024, 5, 17), 1200, date(2124, 5, 17)),
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2024, 1, 30), 2, date(2024, 3, 30)),  # the anchor day is kept where it exists
    ],
)
def test_add_months_clamps_to_the_month_length(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "months", "with_eom", "without_eom"),
    [
        (date(2023, 2, 28), 1, date(2023, 3, 31), date(2023, 3, 28)),  # a month end stays a month end
        (date(2024, 2, 29), 1, date(2024, 3, 31), date(2024, 3, 29)),
        (date(2024, 2, 28), 1, date(2024, 3, 28), date(2024, 3, 28)),  # 28 Feb 2024 is not a month end
        (date(2024, 4, 30), 1, date(2024, 5, 31), date(2024, 5, 30)),
        (date(2024, 4, 30), -2, date(2024, 2, 29), date(2024, 2, 29)),
        (date(2025, 2, 28), 36, date(2028, 2, 29), date(2028, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29), date(2024, 2, 29)),
    ],
)
def test_add_months_end_of_month_rule(start: date, months: int, with_eom: date, without_eom: date) -> None:
    assert add_months(start, months, end_of_month=True) == with_eom
    assert add_months(start, months, end_of_month=False) == without_eom


@given(
    d=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    a=st.integers(min_value=-240, max_value=240),
    b=st.integers(min_value=-240, max_value=240),
)
def test_add_months_on_days_up_to_28_composes(d: date, a: int, b: int) -> None:
    d = d.replace(day=min(d.day, 28))  # no clamping can happen
    assert add_months(add_months(d, a), b) == add_months(d, a + b)
    assert add_months(add_months(d, a), -a) == d


@given(d=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), n=st.integers(-240, 240))
def test_add_months_lands_in_the_right_month_and_never_overflows(d: date, n: int) -> None:
    got = add_months(d, n)
    assert (got.year * 12 + got.month) - (d.year * 12 + d.month) == n
    assert got.day == min(d.day, days_in_month(got.year, got.month))
    assert is_month_end(add_months(d, n, end_of_month=True)) or not is_month_end(d)


# --- monthly and longer calendars ----------------------------------------------------------------------------


def test_monthly_from_31_january_non_leap_year() -> None:
    expected = _dates(
        (2023, 1, 31), (2023, 2, 28), (2023, 3, 31), (2023, 4, 30), (2023, 5, 31), (2023, 6, 30)
    )
    # computed from the anchor, not chained: 28 Feb returns to the 31st in March, with or without EOM
    assert payment_dates(date(2023, 1, 31), 6, M, end_of_month=True) == expected
    assert payment_dates(date(2023, 1, 31), 6, M, end_of_month=False) == expected


def test_monthly_from_31_january_leap_year() -> None:
    expected = _dates((2024, 1, 31), (2024, 2, 29), (2024, 3, 31), (2024, 4, 30))
    assert payment_dates(date(2024, 1, 31), 4, M, end_of_month=True) == expected
    assert payment_dates(date(2024, 1, 31), 4, M, end_of_month=False) == expected


def test_monthly_from_28_february_non_leap_year() -> None:
    # 28 Feb 2023 is a month end: with EOM the schedule stays on month ends
    assert payment_dates(date(2023, 2, 28), 4, M, end_of_month=True) == _dates(
        (2023, 2, 28), (2023, 3, 31), (2023, 4, 30), (2023, 5, 31)
    )
    assert payment_dates(date(2023, 2, 28), 4, M, end_of_month=False) == _dates(
        (2023, 2, 28), (2023, 3, 28), (2023, 4, 28), (2023, 5, 28)
    )


def test_monthly_from_28_february_leap_year_is_not_a_month_end() -> None:
    expected = _dates((2024, 2, 28), (2024, 3, 28), (2024, 4, 28))
    assert payment_dates(date(2024, 2, 28), 3, M, end_of_month=True) == expected
    assert payment_dates(date(2024, 2, 28), 3, M, end_of_month=False) == expected


def test_monthly_from_29_february_leap_year() -> None:
    assert payment_dates(date(2024, 2, 29), 3, M, end_of_month=True) == _dates(
        (2024, 2, 29), (2024, 3, 31), (2024, 4, 30)
    )
    assert payment_dates(date(2024, 2, 29), 3, M, end_of_month=False) == _dates(
        (2024, 2, 29), (2024, 3, 29), (2024, 4, 29)
    )


def test_monthly_from_30_april_and_default_is_end_of_month() -> None:
    assert payment_dates(date(2024, 4, 30), 3, M) == _dates((2024, 4, 30), (2024, 5, 31), (2024, 6, 30))
    assert payment_dates(date(2024, 4, 30), 3, M, end_of_month=False) == _dates(
        (2024, 4, 30), (2024, 5, 30), (2024, 6, 30)
    )


def test_monthly_from_the_30th_keeps_the_30th_where_it_exists() -> None:
    assert payment_dates(date(2024, 1, 30), 4, M) == _dates(
        (2024, 1, 30), (2024, 2, 29), (2024, 3, 30), (2024, 4, 30)
    )


def test_monthly_across_a_year_end() -> None:
    assert payment_dates(date(2023, 10, 31), 5, M) == _dates(
        (2023, 10, 31), (2023, 11, 30), (2023, 12, 31), (2024, 1, 31), (2024, 2, 29)
    )
    assert payment_dates(date(2023, 11, 15), 3, M) == _dates((2023, 11, 15), (2023, 12, 15), (2024, 1, 15))


def test_quarterly_semi_annual_annual() -> None:
    assert payment_dates(date(2023, 11, 30), 4, Frequency.QUARTERLY) == _dates(
        (2023, 11, 30), (2024, 2, 29), (2024, 5, 31), (2024, 8, 31)
    )
    assert payment_dates(date(2023, 11, 30), 4, Frequency.QUARTERLY, end_of_month=False) == _dates(
        (2023, 11, 30), (2024, 2, 29), (2024, 5, 30), (2024, 8, 30)
    )
    assert payment_dates(date(2024, 8, 31), 3, Frequency.SEMI_ANNUAL) == _dates(
        (2024, 8, 31), (2025, 2, 28), (2025, 8, 31)
    )
    assert payment_dates(date(2024, 2, 29), 5, Frequency.ANNUAL) == _dates(
        (2024, 2, 29), (2025, 2, 28), (2026, 2, 28), (2027, 2, 28), (2028, 2, 29)
    )


# --- semi-monthly ------------------------------------------------------------------------------------------------

S = Frequency.SEMI_MONTHLY


def test_semi_monthly_from_the_1st() -> None:
    assert payment_dates(date(2024, 1, 1), 6, S) == _dates(
        (2024, 1, 1), (2024, 1, 16), (2024, 2, 1), (2024, 2, 16), (2024, 3, 1), (2024, 3, 16)
    )


def test_semi_monthly_from_the_15th_with_end_of_month_pairs_15th_and_last_day() -> None:
    assert payment_dates(date(2024, 1, 15), 8, S, end_of_month=True) == _dates(
        (2024, 1, 15), (2024, 1, 31), (2024, 2, 15), (2024, 2, 29),
        (2024, 3, 15), (2024, 3, 31), (2024, 4, 15), (2024, 4, 30),
    )  # fmt: skip


def test_semi_monthly_from_the_15th_without_end_of_month_is_15th_and_30th() -> None:
    assert payment_dates(date(2023, 1, 15), 6, S, end_of_month=False) == _dates(
        (2023, 1, 15), (2023, 1, 30), (2023, 2, 15), (2023, 2, 28), (2023, 3, 15), (2023, 3, 30)
    )


def test_semi_monthly_from_the_31st_pairs_with_the_15th() -> None:
    assert payment_dates(date(2024, 1, 31), 5, S, end_of_month=True) == _dates(
        (2024, 1, 31), (2024, 2, 15), (2024, 2, 29), (2024, 3, 15), (2024, 3, 31)
    )


def test_semi_monthly_second_half_anchors() -> None:
    assert payment_dates(date(2024, 1, 20), 4, S) == _dates(
        (2024, 1, 20), (2024, 2, 5), (2024, 2, 20), (2024, 3, 5)
    )
    assert payment_dates(date(2024, 1, 16), 3, S) == _dates((2024, 1, 16), (2024, 2, 1), (2024, 2, 16))
    # 14th + 15 = 29th, clamped to 28 February in a common year
    assert payment_dates(date(2023, 1, 14), 4, S) == _dates(
        (2023, 1, 14), (2023, 1, 29), (2023, 2, 14), (2023, 2, 28)
    )


def test_semi_monthly_across_a_year_end() -> None:
    assert payment_dates(date(2023, 12, 15), 4, S) == _dates(
        (2023, 12, 15), (2023, 12, 31), (2024, 1, 15), (2024, 1, 31)
    )
    assert payment_dates(date(2023, 12, 16), 3, S) == _dates((2023, 12, 16), (2024, 1, 1), (2024, 1, 16))


def test_semi_monthly_first_date_is_first_31st_without_end_of_month() -> None:
    assert payment_dates(date(2024, 1, 31), 3, S, end_of_month=False)[0] == date(2024, 1, 31)


def test_semi_monthly_first_date_is_first_30th_with_end_of_month() -> None:
    assert payment_dates(date(2024, 1, 30), 3, S, end_of_month=True)[0] == date(2024, 1, 30)


# --- weekly and bi-weekly --------------------------------------------------------------------------------------------


def test_weekly_across_a_year_end() -> None:
    assert payment_dates(date(2023, 12, 20), 4, Frequency.WEEKLY) == _dates(
        (2023, 12, 20), (2023, 12, 27), (2024, 1, 3), (2024, 1, 10)
    )


def test_bi_weekly_across_a_year_end_and_a_leap_day() -> None:
    assert payment_dates(date(2023, 12, 22), 3, Frequency.BI_WEEKLY) == _dates(
        (2023, 12, 22), (2024, 1, 5), (2024, 1, 19)
    )
    assert payment_dates(date(2024, 2, 16), 2, Frequency.BI_WEEKLY) == _dates((2024, 2, 16), (2024, 3, 1))
    assert payment_dates(date(2023, 2, 16), 2, Frequency.BI_WEEKLY) == _dates((2023, 2, 16), (2023, 3, 2))


def test_day_based_calendars_ignore_end_of_month() -> None:
    for f in (Frequency.WEEKLY, Frequency.BI_WEEKLY):
        assert payment_dates(date(2024, 1, 31), 5, f, end_of_month=True) == payment_dates(
            date(2024, 1, 31), 5, f, end_of_month=False
        )


# --- validation -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, -1, -120])
@pytest.mark.parametrize("frequency", list(Frequency))
def test_count_below_one_names_the_term(count: int, frequency: Frequency) -> None:
    with pytest.raises(ValidationError) as info:
        payment_dates(date(2024, 1, 15), count, frequency)
    assert info.value.field == "term"
    assert info.value.value == count
    assert info.value.rule == "must be at least 1"


@pytest.mark.parametrize("frequency", list(Frequency))
def test_a_single_payment_is_the_first_date(frequency: Frequency) -> None:
    assert payment_dates(date(2024, 3, 10), 1, frequency) == [date(2024, 3, 10)]


_FIRSTS = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))


@given(
    first=_FIRSTS, count=st.integers(1, 120), frequency=st.sampled_from(list(Frequency)), eom=st.booleans()
)
def test_calendars_are_increasing_and_have_count_dates(
    first: date, count: int, frequency: Frequency, eom: bool
) -> None:
    dues = payment_dates(first, count, frequency, eom)
    assert len(dues) == count
    assert all(a < b for a, b in pairwise(dues))
    if frequency.days is not None:
        assert all((b - a).days == frequency.days for a, b in pairwise(dues))
    if frequency.months is not None:
        assert dues[0] == first
        months = [d.year * 12 + d.month for d in dues]
        assert all(b - a == frequency.months for a, b in pairwise(months))
        for k, d in enumerate(dues):  # each date is the anchor moved k steps (never chained)
            assert d == add_months(first, k * frequency.months, eom)
    if frequency is Frequency.SEMI_MONTHLY:
        months = [d.year * 12 + d.month for d in dues]
        assert all(months.count(m) <= 2 for m in months)  # two dates a month
        assert all(12 <= (b - a).days <= 18 for a, b in pairwise(dues))


@given(first=_FIRSTS, count=st.integers(1, 48), eom=st.booleans())
def test_semi_monthly_starts_on_first(first: date, count: int, eom: bool) -> None:
    assert payment_dates(first, count, S, eom)[0] == first


# --- regular_period_start ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "frequency", "eom", "start"),
    [
        (date(2024, 3, 15), M, True, date(2024, 2, 15)),
        (date(2024, 3, 31), M, True, date(2024, 2, 29)),
        (date(2024, 3, 31), M, False, date(2024, 2, 29)),
        (date(2024, 4, 30), M, True, date(2024, 3, 31)),  # a month end steps back to a month end
        (date(2024, 4, 30), M, False, date(2024, 3, 30)),
        (date(2023, 2, 28), M, True, date(2023, 1, 31)),
        (date(2023, 2, 28), M, False, date(2023, 1, 28)),
        (date(2024, 1, 15), M, True, date(2023, 12, 15)),
        (date(2024, 5, 31), Frequency.QUARTERLY, True, date(2024, 2, 29)),
        (date(2024, 8, 31), Frequency.SEMI_ANNUAL, True, date(2024, 2, 29)),
        (date(2025, 2, 28), Frequency.ANNUAL, True, date(2024, 2, 29)),
        (date(2025, 2, 28), Frequency.ANNUAL, False, date(2024, 2, 28)),
        (date(2024, 1, 3), Frequency.WEEKLY, True, date(2023, 12, 27)),
        (date(2024, 3, 1), Frequency.BI_WEEKLY, True, date(2024, 2, 16)),
        # semi-monthly: a regular half month is 15 days (module docstring), whatever the month length
        (date(2024, 3, 1), S, True, date(2024, 2, 15)),
        (date(2024, 1, 31), S, True, date(2024, 1, 16)),
    ],
)
def test_regular_period_start(due: date, frequency: Frequency, eom: bool, start: date) -> None:
    assert regular_period_start(due, frequency, eom) == start


_MONTH_BASED = st.sampled_from([M, Frequency.QUARTERLY, Frequency.SEMI_ANNUAL, Frequency.ANNUAL])


@given(due=_FIRSTS, frequency=_MONTH_BASED, eom=st.booleans())
def test_regular_period_start_is_one_step_back(due: date, frequency: Frequency, eom: bool) -> None:
    """The regular start is ``due`` moved back one period (a month end to a month end under the
    end-of-month rule, otherwise the same day, clamped), and stepping forward from it returns to
    ``due`` unless the step back had to clamp, or landed on a month end that the end-of-month rule would
    then roll forward to a month end (28 Mar 2023 -> 28 Feb 2023 -> 31 Mar 2023): no schedule anchored
    on such a start passes through ``due``."""
    start = regular_period_start(due, frequency, eom)
    months = frequency.months
    assert months is not None
    target = add_months(due.replace(day=1), -months)
    last = days_in_month(target.year, target.month)
    assert start == target.replace(day=last if eom and is_month_end(due) else min(due.day, last))
    clamped = start.day != due.day and not (eom and is_month_end(due))
    rolls_to_month_end = eom and is_month_end(start) and not is_month_end(due)
    if not clamped and not rolls_to_month_end:
        assert payment_dates(start, 2, frequency, eom)[1] == due
        assert add_months(start, months, eom) == due


@given(first=_FIRSTS, frequency=_MONTH_BASED, eom=st.booleans())
def test_regular_period_start_of_a_step_is_the_anchor(first: date, frequency: Frequency, eom: bool) -> None:
    """``regular_period_start`` undoes one calendar step from an anchor that cannot clamp. It does not
    know the anchor, so when a 28th-anchored schedule reaches 28 February of a common year (a month end)
    the end-of-month rule takes it back to the 31st (28 Feb 2023 -> 31 Jan 2023); finance.terms and
    finance.schedule only call it on the first due date, which is the anchor itself."""
    if first.day > 28 and not (eom and is_month_end(first)):
        first = first.replace(day=28)
    second = payment_dates(first, 2, frequency, eom)[1]
    if eom and is_month_end(second) and not is_month_end(first):
        back = regular_period_start(second, frequency, eom)
        assert is_month_end(back) and back.month == first.month and back != first
    else:
        assert regular_period_start(second, frequency, eom) == first


@given(due=_FIRSTS, frequency=st.sampled_from([Frequency.WEEKLY, Frequency.BI_WEEKLY]), eom=st.booleans())
def test_regular_period_start_day_based_is_an_exact_inverse(
    due: date, frequency: Frequency, eom: bool
) -> None:
    start = regular_period_start(due, frequency, eom)
    assert payment_dates(start, 2, frequency, eom)[1] == due
    assert due - start == timedelta(days=frequency.days or 0)


# --- day-count algebra ----------------------------------------------------------------------------------------------

_DATES = st.dates(min_value=date(1896, 1, 1), max_value=date(2204, 12, 31))  # includes 1900, 2000, 2100
_ADDITIVE = st.sampled_from([DayCount.ACT_365F, DayCount.ACT_360, DayCount.ACT_ACT_ISDA, DayCount.NL_365])
_ALL_BASES = st.sampled_from(list(DayCount))


@given(a=_DATES, b=_DATES, c=_DATES, basis=_ADDITIVE)
def test_actual_year_fractions_are_additive(a: date, b: date, c: date, basis: DayCount) -> None:
    d1, d2, d3 = sorted((a, b, c))
    whole = year_fraction_ratio(d1, d3, basis)
    assert year_fraction_ratio(d1, d2, basis) + year_fraction_ratio(d2, d3, basis) == whole  # exact
    assert day_count_days(d1, d2, basis) + day_count_days(d2, d3, basis) == day_count_days(d1, d3, basis)
    parts = year_fraction(d1, d2, basis) + year_fraction(d2, d3, basis)
    assert abs(Fraction(parts) - Fraction(year_fraction(d1, d3, basis))) < Fraction(1, 10**20)


@given(a=_DATES, b=_DATES, basis=_ADDITIVE)
def test_additivity_holds_in_any_order(a: date, b: date, basis: DayCount) -> None:
    c = date(2000, 2, 29)
    assert year_fraction_ratio(a, c, basis) + year_fraction_ratio(c, b, basis) == year_fraction_ratio(
        a, b, basis
    )


@given(
    d=st.dates(min_value=date(1896, 1, 1), max_value=date(2190, 12, 31)),
    years=st.integers(1, 10),
    eom=st.booleans(),
)
def test_nl_365_of_whole_years_is_exactly_the_number_of_years(d: date, years: int, eom: bool) -> None:
    end = add_months(d, 12 * years, eom)
    assert year_fraction_ratio(d, end, DayCount.NL_365) == years
    assert year_fraction(d, end, DayCount.NL_365) == years
    assert day_count_days(d, end, DayCount.NL_365) == 365 * years


@given(year=st.integers(1896, 2200))
def test_act_act_isda_of_a_calendar_year_is_one(year: int) -> None:
    assert year_fraction_ratio(date(year, 1, 1), date(year + 1, 1, 1), DayCount.ACT_ACT_ISDA) == 1
    assert year_fraction(date(year, 1, 1), date(year + 1, 1, 1), DayCount.ACT_ACT_ISDA) == 1


@given(a=_DATES, b=_DATES, basis=_ALL_BASES)
def test_year_fraction_ratio_equals_year_fraction(a: date, b: date, basis: DayCount) -> None:
    ratio = year_fraction_ratio(a, b, basis)
    decimal_fraction = year_fraction(a, b, basis)
    # year_fraction divides in Decimal (28 significant digits); the ratio is exact
    assert abs(Fraction(decimal_fraction) - ratio) <= abs(ratio) * Fraction(1, 10**26) + Fraction(1, 10**26)
    if basis is not DayCount.ACT_ACT_ISDA:
        assert ratio == Fraction(day_count_days(a, b, basis), days_in_year(basis))


@given(a=_DATES, b=_DATES, basis=_ALL_BASES)
def test_reversing_the_dates_negates(a: date, b: date, basis: DayCount) -> None:
    assert day_count_days(b, a, basis) == -day_count_days(a, b, basis)
    assert year_fraction_ratio(b, a, basis) == -year_fraction_ratio(a, b, basis)
    assert year_fraction(b, a, basis) == -year_fraction(a, b, basis)


@given(a=_DATES, basis=_ALL_BASES)
def test_zero_length_period_is_zero(a: date, basis: DayCount) -> None:
    assert day_count_days(a, a, basis) == 0
    assert year_fraction_ratio(a, a, basis) == 0
    assert year_fraction(a, a, basis) == 0


@given(a=_DATES, b=_DATES)
def test_act_bases_count_actual_days(a: date, b: date) -> None:
    actual = (b - a).days
    for basis in (DayCount.ACT_360, DayCount.ACT_365F, DayCount.ACT_ACT_ISDA):
        assert day_count_days(a, b, basis) == actual
    leap_days = abs(actual) - abs(day_count_days(a, b, DayCount.NL_365))
    assert 0 <= leap_days <= abs(actual) // 1460 + 1  # at most one 29 February in any four years


@given(y=st.integers(1900, 2200), m=st.integers(1, 12), d1=st.integers(1, 31))
def test_30_360_month_is_30_days_between_same_days(y: int, m: int, d1: int) -> None:
    """The same day number one month apart is 30 days under both 30/360 bases (when neither date is the
    last day of February, where the US end-of-February rule applies)."""
    start = date(y, m, min(d1, 28))
    end = add_months(start, 1)
    for basis in (DayCount.THIRTY_360_US, DayCount.THIRTY_E_360):
        if not (basis is DayCount.THIRTY_360_US and (start.month == 2 or end.month == 2)):
            assert day_count_days(start, end, basis) == 30


def test_us_and_european_30_360_differ_where_the_rules_differ() -> None:
    # D2 = 31 with D1 < 30: 30/360 US keeps the 31st, 30E/360 makes it the 30th
    assert day_count_days(date(2024, 1, 15), date(2024, 3, 31), DayCount.THIRTY_360_US) == 76
    assert day_count_days(date(2024, 1, 15), date(2024, 3, 31), DayCount.THIRTY_E_360) == 75
    # D1 = last day of February: 30/360 US makes it the 30th, 30E/360 leaves it
    assert day_count_days(date(2023, 2, 28), date(2023, 3, 31), DayCount.THIRTY_360_US) == 30
    assert day_count_days(date(2023, 2, 28), date(2023, 3, 31), DayCount.THIRTY_E_360) == 32
