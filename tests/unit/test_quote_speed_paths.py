"""The quote speed paths equal the straightforward computations they replace, digit for digit.

``quote()`` was made faster by caching calendar work (pure functions of dates), sharing
sub-expressions of the APR solver between cash flows, a validation fast path for well-typed cash
flows, and a few hoisted per-call constants. Each test below keeps the plain, term-by-term version
of a piece (as it was before the speed work) and checks on random inputs that the fast one returns
the very same numbers — equal values *and* equal Decimal representations (``as_tuple``), so nothing
disclosed or rounded downstream can change. No wall-clock assertions: speed lives in benchmarks.
"""

from __future__ import annotations

import datetime
import decimal
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.dates import add_months
from autofin.errors import ValidationError
from autofin.finance import apr
from autofin.finance.apr import CashFlow, PeriodKind, UnitPeriod
from autofin.finance.lease import _month_grid
from autofin.finance.schedule import ONE, RowKind, _plan, _solve_base, build_schedule
from autofin.finance.terms import LoanTerms, parse_terms
from autofin.money import CURRENCIES, Currency, Rounding, round_money

D = Decimal


def same(a: Decimal, b: Decimal) -> bool:
    """Equal value and equal representation (sign, digits, exponent)."""
    return a == b and a.as_tuple() == b.as_tuple()


# -- reference (term-by-term) APR pieces, as they were before the speed work -------------------------


@dataclass(frozen=True, slots=True)
class _RefTerm:
    sign: int
    amount: Decimal
    whole: int
    fraction: Decimal


def _ref_terms(
    advances: list[tuple[date, Decimal]], payments: list[tuple[date, Decimal]], unit: UnitPeriod, start: date
) -> list[_RefTerm]:
    terms: list[_RefTerm] = []
    for sign, flows in ((1, advances), (-1, payments)):
        anchor = apr._series_anchor([d for d, _ in flows])
        for d, amount in flows:
            t, f = apr.unit_periods_between(start, d, unit, anchor_day=anchor(d))
            terms.append(_RefTerm(sign, amount, t, f))
    return terms


def _ref_npv_float(terms: list[_RefTerm], i: float) -> tuple[float, float]:
    value = 0.0
    slope = 0.0
    for term in terms:
        f = float(term.fraction)
        denominator = (1.0 + f * i) * (1.0 + i) ** term.whole
        pv = term.sign * float(term.amount) / denominator
        value += pv
        slope -= pv * (f / (1.0 + f * i) + term.whole / (1.0 + i))
    return value, slope


def _ref_npv_decimal(terms: list[_RefTerm], i: Decimal) -> tuple[Decimal, Decimal]:
    value = Decimal(0)
    slope = Decimal(0)
    one_i = 1 + i
    powers: dict[int, Decimal] = {}
    for term in terms:
        power = powers.get(term.whole)
        if power is None:
            power = powers[term.whole] = one_i**term.whole
        one_fi = 1 + term.fraction * i
        pv = term.sign * term.amount / (one_fi * power)
        value += pv
        slope -= pv * (term.fraction / one_fi + term.whole / one_i)
    return value, slope


def _ref_guess(terms: list[_RefTerm]) -> float:
    advanced = sum(float(t.amount) for t in terms if t.sign > 0)
    repaid = sum(float(t.amount) for t in terms if t.sign < 0)
    count = max(1, sum(1 for t in terms if t.sign < 0))
    horizon = max(1.0, max(t.whole + float(t.fraction) for t in terms))
    if count == 1:
        return float(math.pow(repaid / advanced, 1.0 / horizon)) - 1.0
    return 2.0 * (repaid - advanced) / (advanced * (count + 1)) * count / horizon


def _ref_solve(terms: list[_RefTerm]) -> tuple[Decimal, int]:
    return apr._solve(
        lambda i: _ref_npv_float(terms, i),
        lambda i: _ref_npv_decimal(terms, i),
        _ref_guess(terms),
        "payments",
        "reference",
    )


def _outcome(f: Any, *args: Any) -> Any:
    """``f(*args)``, or the type of the arithmetic error it raised."""
    try:
        return f(*args)
    except (ZeroDivisionError, OverflowError) as error:
        return type(error)


# -- random cash flows ---------------------------------------------------------------------------


@st.composite
def cash_flows(draw: st.DrawFn) -> tuple[list[CashFlow], list[CashFlow]]:
    """One advance (sometimes two) and a payment series: monthly on a day (often a month end), with
    an odd first period, a balloon, or irregular gaps; amounts with 0-6 decimals."""
    start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 900)))
    principal = D(draw(st.integers(1_000_00, 500_000_00))) / 100
    n = draw(st.integers(1, 72))
    shape = draw(st.sampled_from(["monthly", "odd_first", "month_end", "irregular"]))
    if shape == "monthly":
        dates = [add_months(start, k) for k in range(1, n + 1)]
    elif shape == "odd_first":
        first = start + timedelta(days=draw(st.integers(10, 55)))
        dates = [add_months(first, k) for k in range(n)]
    elif shape == "month_end":
        end = date(start.year, start.month, 28) + timedelta(days=4)
        end = end - timedelta(days=end.day)  # last day of start's month
        dates = [add_months(end, k, end_of_month=True) for k in range(1, n + 1)]
    else:
        gaps = draw(st.lists(st.integers(1, 75), min_size=n, max_size=n))
        dates = []
        d = start
        for g in gaps:
            d = d + timedelta(days=g)
            dates.append(d)
    rate = D(draw(st.integers(0, 3000))) / 10000
    places = draw(st.integers(0, 6))
    level = (principal * (1 + rate) / n).quantize(D(1).scaleb(-places)) or D("0.01")
    amounts = [level] * n
    if draw(st.booleans()):
        amounts[-1] = amounts[-1] + (principal * D("0.3")).quantize(D("0.01"))
    if draw(st.booleans()):  # a few different amounts (fees, odd first instalment)
        k = draw(st.integers(0, n - 1))
        amounts[k] = amounts[k] + D(draw(st.integers(1, 99_999))) / 100
    advances = [CashFlow(start, principal)]
    if draw(st.booleans()) and dates[0] > start + timedelta(days=1):
        advances.append(CashFlow(start + timedelta(days=1), D(draw(st.integers(1, 5000)))))
    payments = [CashFlow(d, a) for d, a in zip(dates, amounts, strict=True)]
    return advances, payments


@settings(max_examples=150, deadline=None)
@given(cash_flows())
def test_fast_npv_and_solver_equal_term_by_term(flows: tuple[list[CashFlow], list[CashFlow]]) -> None:
    advances, payments = flows
    adv, pay = apr._validate(advances, payments)
    start = adv[0][0]
    unit = apr.determine_unit_period([d for d, _ in adv], [d for d, _ in pay], start)
    for u in (unit, apr.MONTHLY):
        if u.kind is PeriodKind.TERM and (len(adv) != 1 or len(pay) != 1):
            continue
        ref = _ref_terms(adv, pay, u, start)
        fast = apr._general_equation_terms(adv, pay, u, start)
        assert fast.calendar.whole == tuple(t.whole for t in ref)
        assert all(same(a, t.fraction) for a, t in zip(fast.calendar.fraction, ref, strict=True))
        assert apr._initial_guess(fast) == _ref_guess(ref)
        for x in (-0.5, -0.001, 0.0, 0.001, 0.004, 0.05, 0.5):
            # Far from the root a float power may underflow or overflow: both raise alike then.
            assert _outcome(apr._npv_float, fast, x) == _outcome(_ref_npv_float, ref, x)
        with decimal.localcontext(apr._CTX):
            for text in ("0", "0.0", "0.0035", "0.00416666666666666666666666666666666667", "-0.25", "1.5"):
                i = D(text)
                got, want = apr._npv_decimal(fast, i), _ref_npv_decimal(ref, i)
                assert same(got[0], want[0]) and same(got[1], want[1])
        try:
            want_rate = _ref_solve(ref)
        except apr.ConvergenceError:
            with pytest.raises(apr.ConvergenceError):
                apr._solve_general(fast, "payments")
            continue
        got_rate = apr._solve_general(fast, "payments")
        assert same(got_rate[0], want_rate[0]) and got_rate[1] == want_rate[1]


@settings(max_examples=100, deadline=None)
@given(cash_flows())
def test_cached_unit_period_equals_a_fresh_computation(flows: tuple[list[CashFlow], list[CashFlow]]) -> None:
    advances, payments = flows
    adv = sorted(f.date for f in advances)
    pay = sorted(f.date for f in payments)
    fresh = apr._unit_period.__wrapped__(tuple(adv), tuple(pay), adv[0])
    assert apr.determine_unit_period(adv, pay, adv[0]) == fresh
    assert apr.determine_unit_period(list(reversed(adv)), list(reversed(pay)), adv[0]) == fresh


@settings(max_examples=100, deadline=None)
@given(st.dates(date(1999, 1, 1), date(2060, 12, 31)), st.integers(-30, 30))
def test_cached_month_length_and_shift(d: date, months: int) -> None:
    import calendar

    assert apr._month_len(d.year, d.month) == calendar.monthrange(d.year, d.month)[1]
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    want = date(year, month0 + 1, min(d.day, calendar.monthrange(year, month0 + 1)[1]))
    assert apr._shift_months(d, months, d.day) == want


# -- validation fast path --------------------------------------------------------------------------


def test_validate_fast_path_still_refuses_bad_flows() -> None:
    start = date(2026, 1, 15)
    good = [CashFlow(start, D("1000.00"))]
    pay = [CashFlow(date(2026, 2, 15), D("510.00")), CashFlow(date(2026, 3, 15), D("510.00"))]
    assert apr._validate(good, pay) == (
        [(start, D("1000.00"))],
        [(date(2026, 2, 15), D("510.00")), (date(2026, 3, 15), D("510.00"))],
    )
    bad: list[tuple[Any, str]] = [
        (CashFlow(date(2026, 2, 15), D(0)), "payments[0].amount"),
        (CashFlow(date(2026, 2, 15), D("-1")), "payments[0].amount"),
        (CashFlow(date(2026, 2, 15), D("NaN")), "payments[0].amount"),
        (CashFlow(date(2026, 2, 15), D("Infinity")), "payments[0].amount"),
        (CashFlow(datetime.datetime(2026, 2, 15, 9, 0), D(1)), "payments[0].date"),
        (CashFlow(date(2026, 1, 1), D(1)), "payments[0].date"),
        (CashFlow(date(2026, 2, 15), True), "payments[0].amount"),  # type: ignore[arg-type]
        ((date(2026, 2, 15), D(1)), "payments[0]"),
    ]
    for flow, field in bad:
        with pytest.raises(ValidationError) as error:
            apr._validate(good, [flow])
        assert error.value.field == field
    # Non-Decimal amounts still go through the converting path.
    assert apr._validate(good, [CashFlow(date(2026, 2, 15), 12.5)])[1] == [  # type: ignore[arg-type]
        (date(2026, 2, 15), D("12.5"))
    ]


# -- money -----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
    st.sampled_from(sorted(CURRENCIES)),
    st.sampled_from(list(Rounding)),
    st.booleans(),
)
def test_round_money_equals_plain_quantize(amount: Decimal, code: str, mode: Rounding, by_code: bool) -> None:
    cur = CURRENCIES[code]
    quantum = Decimal(1).scaleb(-cur.minor_units)
    assert same(cur.quantum, quantum)
    modes = {
        Rounding.HALF_UP: decimal.ROUND_HALF_UP,
        Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
        Rounding.UP: decimal.ROUND_UP,
        Rounding.DOWN: decimal.ROUND_DOWN,
    }
    assert mode.decimal_mode == modes[mode]
    want = amount.quantize(quantum, rounding=modes[mode], context=decimal.Context(prec=34))
    got = round_money(amount, code if by_code else cur, mode)
    assert same(got, want)
    assert same(round_money(amount, Currency(code, cur.minor_units), mode), want)


# -- schedule pieces ---------------------------------------------------------------------------------


@st.composite
def loan_terms(draw: st.DrawFn) -> LoanTerms:
    price = draw(st.integers(8_000, 120_000))
    data: dict[str, Any] = {
        "currency": draw(st.sampled_from(["CNY", "USD", "EUR", "JPY"])),
        "price": str(price),
        "down_payment": str(draw(st.integers(0, price // 2))),
        "annual_rate": str(D(draw(st.integers(0, 2500))) / 10000),
        "term": draw(st.integers(3, 84)),
        "start_date": (date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 700)))).isoformat(),
        "repayment": draw(st.sampled_from(["annuity", "equal_principal"])),
        "interest_method": draw(st.sampled_from(["periodic", "daily"])),
        "timing": draw(st.sampled_from(["arrears", "advance"])),
    }
    if draw(st.booleans()):
        data["fees"] = [
            {
                "name": "service",
                "amount": str(draw(st.integers(1, 900))),
                "per_period": True,
                "finance_charge": draw(st.booleans()),
            }
        ]
    if draw(st.booleans()):
        data["balloon"] = {"pct_of_price": str(D(draw(st.integers(5, 35))) / 100)}
    return parse_terms(data)


def _ref_solve_base(
    balance: Decimal, periods: Any, rate: Decimal, target: Decimal, advance: bool, m_pre: Fraction
) -> Decimal:
    from autofin.finance.schedule import _interest
    from autofin.money import CONTEXT

    alpha = balance + _interest(balance, rate, m_pre)
    beta = Decimal(0)
    for p in periods:
        g = ONE + rate * p.m_solve.numerator / p.m_solve.denominator
        if p.kind is RowKind.AMORTISING:
            if advance:
                beta -= p.factor
                alpha, beta = alpha * g, beta * g
            else:
                alpha, beta = alpha * g, beta * g - p.factor
        elif p.kind is RowKind.HOLIDAY:
            alpha, beta = alpha * g, beta * g
    return CONTEXT.divide(target - alpha, beta)


@settings(max_examples=120, deadline=None)
@given(loan_terms())
def test_schedule_totals_cash_flows_and_solve_equal_row_by_row(terms: LoanTerms) -> None:
    try:
        schedule = build_schedule(terms)
    except ValidationError:
        return
    assert same(schedule.total_of_payments, sum((r.total_due for r in schedule.rows), Decimal(0)))
    advances, payments = schedule.cash_flows()
    non_fc = {r.number: r.fees - schedule.per_period_finance_charge for r in schedule.rows}
    want = [
        (r.due_date, r.total_due - non_fc[r.number])
        for r in schedule.rows
        if r.total_due - non_fc[r.number] > 0
    ]
    assert advances == [(terms.start_date, schedule.amount_financed)]
    assert len(payments) == len(want)
    assert all(d == wd and same(a, wa) for (d, a), (wd, wa) in zip(payments, want, strict=True))
    plan = _plan(terms)
    rate, balance, target = terms.annual_rate, schedule.opening_balance, schedule.balloon
    advance = terms.timing.value == "advance"
    got = _solve_base(balance, plan.periods, rate, target, advance, plan.m_pre_solve)
    assert same(got, _ref_solve_base(balance, plan.periods, rate, target, advance, plan.m_pre_solve))


def test_lease_month_grid_is_the_add_months_grid() -> None:
    start = date(2000, 1, 1)
    assert _month_grid(121) == tuple(add_months(start, k) for k in range(121))
