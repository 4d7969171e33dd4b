"""Unit and property tests for autofin.finance.apr (no golden numbers here: see tests/golden)."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.errors import ValidationError
from autofin.finance.apr import (
    AprMethod,
    CashFlow,
    EuTimeBasis,
    PeriodKind,
    UnitPeriod,
    cn_annualised_rate,
    compute_apr,
    compute_apr_flows,
    eu_aprc,
    format_rate,
    regz_apr,
    regz_apr_batch,
    regz_apr_regular,
    unit_periods_between,
)

MONTHLY = UnitPeriod(PeriodKind.MONTH)
CTX = decimal.Context(prec=40)


def add_months(d: dt.date, months: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, d.day)


def level_payment(principal: Decimal, periodic: Decimal, n: int) -> Decimal:
    """Unrounded level payment at ``periodic`` per period (exact to 40 digits)."""
    with decimal.localcontext(CTX):
        if periodic == 0:
            return principal / n
        return principal * periodic / (1 - (1 + periodic) ** -n)


ADV = [CashFlow(dt.date(2024, 1, 15), Decimal("10000"))]
PAY = [CashFlow(add_months(dt.date(2024, 2, 15), j), Decimal("450")) for j in range(24)]


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [regz_apr, cn_annualised_rate, eu_aprc])
def test_empty_advances_and_payments(fn: object) -> None:
    with pytest.raises(ValidationError) as e:
        fn([], PAY)  # type: ignore[operator]
    assert e.value.field == "advances"
    with pytest.raises(ValidationError) as e:
        fn(ADV, [])  # type: ignore[operator]
    assert e.value.field == "payments"


@pytest.mark.parametrize("bad", [Decimal(0), Decimal("-5"), Decimal("NaN")])
def test_non_positive_amount_names_the_field(bad: Decimal) -> None:
    payments = [*PAY[:3], CashFlow(PAY[3].date, bad), *PAY[4:]]
    with pytest.raises(ValidationError) as e:
        regz_apr(ADV, payments)
    assert e.value.field == "payments[3].amount"
    with pytest.raises(ValidationError) as e:
        regz_apr([CashFlow(ADV[0].date, bad)], PAY)
    assert e.value.field == "advances[0].amount"


def test_payment_before_first_advance() -> None:
    payments = [*PAY[:3], CashFlow(dt.date(2023, 12, 1), Decimal(450)), *PAY[4:]]
    with pytest.raises(ValidationError) as e:
        cn_annualised_rate(ADV, payments)
    assert e.value.field == "payments[3].date"
    assert "2024-01-15" in e.value.rule


def test_wrong_types_name_the_field() -> None:
    with pytest.raises(ValidationError) as e:
        regz_apr(ADV, [*PAY[:1], "450"])  # type: ignore[list-item]
    assert e.value.field == "payments[1]"
    with pytest.raises(ValidationError) as e:
        regz_apr([CashFlow("2024-01-15", Decimal(1))], PAY)  # type: ignore[arg-type]
    assert e.value.field == "advances[0].date"


def test_unknown_method() -> None:
    with pytest.raises(ValidationError) as e:
        compute_apr(ADV, PAY, "uk_fca")
    assert e.value.field == "method"


def test_fast_path_validation() -> None:
    for kwargs, field in [
        ({"amount_financed": 0.0}, "amount_financed"),
        ({"payment": -1.0}, "payment"),
        ({"n": 0}, "n"),
        ({"first_period_fraction": 1.5}, "first_period_fraction"),
    ]:
        args: dict[str, float | int] = {"amount_financed": 1000.0, "payment": 100.0, "n": 12}
        args.update(kwargs)
        with pytest.raises(ValidationError) as e:
            regz_apr_regular(**args)  # type: ignore[arg-type]
        assert e.value.field == field
    with pytest.raises(ValidationError) as e:
        regz_apr_batch(np.array([1000.0, -1.0]), np.array([100.0, 100.0]), np.array([12, 12]))
    assert e.value.field == "amount_financed[1]"


def test_unit_period_multiple_limits() -> None:
    with pytest.raises(ValidationError):
        UnitPeriod(PeriodKind.MONTH, 13)
    with pytest.raises(ValidationError):
        UnitPeriod(PeriodKind.WEEK, 0)


# --- mechanics --------------------------------------------------------------------------------------


def test_dispatch_and_basis() -> None:
    for method in AprMethod:
        result = compute_apr(ADV, PAY, method.value)
        assert result.method is method
        assert result.basis
    regz = compute_apr(ADV, PAY, AprMethod.US_REGZ)
    cn = compute_apr(ADV, PAY, AprMethod.CN_IRR)
    # Same monthly flows on the same day of month: Reg Z and CN IRR x 12 coincide.
    assert abs(regz.apr - cn.apr) < Decimal("1e-25")
    assert regz.periods_per_year == 12
    assert cn.effective_annual_rate is not None and cn.effective_annual_rate > cn.apr


def test_unit_periods_between_month_rules() -> None:
    # App. J (b)(5)(ii): whole months back from the later date, odd days / 30 at the start.
    t, f = unit_periods_between(dt.date(1978, 2, 10), dt.date(1978, 4, 1), MONTHLY)
    assert (t, f * 30) == (1, 19)
    assert unit_periods_between(dt.date(2024, 1, 31), dt.date(2024, 2, 29), MONTHLY, anchor_day=31) == (1, 0)
    quarter = UnitPeriod(PeriodKind.MONTH, 3)
    t, f = unit_periods_between(dt.date(1978, 5, 23), dt.date(1978, 10, 1), quarter)
    assert (t, f * 90) == (1, 39)
    week = UnitPeriod(PeriodKind.WEEK)
    t, f = unit_periods_between(dt.date(2024, 1, 1), dt.date(2024, 1, 17), week)
    assert t == 2 and abs(f * 7 - 2) < Decimal("1e-30")
    year = UnitPeriod(PeriodKind.MONTH, 12)
    assert unit_periods_between(dt.date(2020, 1, 1), dt.date(2021, 7, 1), year) == (1, Decimal(6) / 12)


def test_month_end_series() -> None:
    month_ends = [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 30)]
    payments = [CashFlow(d, Decimal("300")) for d in month_ends[1:]]
    result = regz_apr([CashFlow(month_ends[0], Decimal("800"))], payments)
    assert result.unit_period == MONTHLY
    # Month-end to month-end is a whole month: the same flows as a plain 3-payment annuity.
    assert abs(float(result.apr) - regz_apr_regular(800.0, 300.0, 3)) < 1e-12


def test_zero_rate_and_eu_bases() -> None:
    payments = [CashFlow(add_months(dt.date(2024, 2, 15), j), Decimal("500")) for j in range(20)]
    assert abs(regz_apr(ADV, payments).apr) < Decimal("1e-25")
    assert regz_apr_regular(10000.0, 500.0, 20) == 0.0
    for basis in EuTimeBasis:
        assert eu_aprc(ADV, PAY, time_basis=basis).apr > 0


def test_format_rate() -> None:
    assert format_rate(Decimal("0.12962"), 1) == "13.0 %"
    assert format_rate(Decimal("0.1296204"), 2) == "12.96 %"
    assert format_rate(Decimal("0.00125"), 2) == "0.13 %"


# --- properties -------------------------------------------------------------------------------------

rates = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.35"), places=4)
terms = st.integers(min_value=1, max_value=96)
principals = st.decimals(min_value=Decimal("500"), max_value=Decimal("150000"), places=2)
start_days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 1)).map(
    lambda d: d.replace(day=min(d.day, 28))
)


@settings(max_examples=60, deadline=None)
@given(rate=rates, n=terms, principal=principals, start=start_days)
def test_round_trip_regz_and_cn(rate: Decimal, n: int, principal: Decimal, start: dt.date) -> None:
    """Flows generated at annual rate r (monthly, level, unrounded) give back APR r."""
    periodic = rate / 12
    payment = level_payment(principal, periodic, n)
    payments = [CashFlow(add_months(start, j + 1), payment) for j in range(n)]
    advances = [CashFlow(start, principal)]
    assert abs(regz_apr(advances, payments, MONTHLY).apr - rate) < Decimal("1e-20")
    assert abs(cn_annualised_rate(advances, payments).apr - rate) < Decimal("1e-20")


@settings(max_examples=40, deadline=None)
@given(rate=rates, n=st.integers(min_value=1, max_value=30), principal=principals)
def test_round_trip_eu(rate: Decimal, n: int, principal: Decimal) -> None:
    """Yearly flows on anniversaries generated at effective rate X give back X."""
    payment = level_payment(principal, rate, n)
    start = dt.date(2001, 3, 1)
    payments = [CashFlow(start.replace(year=2001 + j + 1), payment) for j in range(n)]
    assert abs(eu_aprc([CashFlow(start, principal)], payments).apr - rate) < Decimal("1e-20")


@settings(max_examples=50, deadline=None)
@given(
    rate=rates, n=st.integers(min_value=3, max_value=84), principal=principals, fee_share=st.floats(0.0, 0.05)
)
def test_prepaid_finance_charge_raises_apr(
    rate: Decimal, n: int, principal: Decimal, fee_share: float
) -> None:
    """A prepaid finance charge withheld from the amount financed can only raise the APR."""
    payment = level_payment(principal, rate / 12, n)
    start = dt.date(2024, 1, 10)
    payments = [CashFlow(add_months(start, j + 1), payment) for j in range(n)]
    fee = (principal * Decimal(repr(fee_share))).quantize(Decimal("0.01"))
    apr = regz_apr([CashFlow(start, principal - fee)], payments).apr
    assert apr >= rate - Decimal("1e-20")
    if fee > 0:
        assert apr > rate


@settings(max_examples=80, deadline=None)
@given(
    rate=rates,
    n=st.integers(min_value=1, max_value=96),
    principal=principals,
    odd_days=st.integers(min_value=0, max_value=27),
)
def test_float_path_agrees_with_decimal_path(
    rate: Decimal, n: int, principal: Decimal, odd_days: int
) -> None:
    payment = level_payment(principal, rate / 12, n).quantize(Decimal("0.01"))
    first = dt.date(2024, 3, 15)
    advance_date = add_months(first, -1) - dt.timedelta(days=odd_days)
    payments = [CashFlow(add_months(first, j), payment) for j in range(n)]
    exact = regz_apr([CashFlow(advance_date, principal)], payments, MONTHLY).apr
    fast = regz_apr_regular(float(principal), float(payment), n, 12, odd_days / 30)
    assert abs(float(exact) - fast) < 1e-8
    batch = regz_apr_batch([float(principal)] * 2, [float(payment)] * 2, [n, n], 12, odd_days / 30)
    assert np.all(np.abs(batch - fast) < 1e-10)


# --- (date, amount) pairs straight from a schedule ------------------------------------------------


def _pairs(flows: list[CashFlow]) -> list[tuple[dt.date, Decimal]]:
    return [(f.date, f.amount) for f in flows]


@pytest.mark.parametrize("method", list(AprMethod))
def test_compute_apr_flows_is_compute_apr_of_the_cash_flows(method: AprMethod) -> None:
    adv, pay = _pairs(ADV), _pairs(PAY)
    assert compute_apr_flows(adv, pay, method) == compute_apr(ADV, PAY, method)
    shuffled = pay[5:] + pay[:5]
    assert compute_apr_flows(adv, shuffled, method) == compute_apr(ADV, PAY, method)
    bad: list[list[tuple[dt.date, Decimal]]] = [
        [],
        [(dt.date(2024, 1, 1), Decimal("450")), *pay],  # before the advance
        [(pay[0][0], Decimal(0)), *pay[1:]],
        [(pay[0][0], Decimal("NaN")), *pay[1:]],
    ]
    for flows in bad:
        with pytest.raises(ValidationError) as want:
            compute_apr(ADV, [CashFlow(d, a) for d, a in flows], method)
        with pytest.raises(ValidationError) as got:
            compute_apr_flows(adv, flows, method)
        assert str(got.value) == str(want.value)
    with pytest.raises(ValidationError):
        compute_apr_flows(adv, pay, "nope")
