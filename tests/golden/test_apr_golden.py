"""Published worked examples for autofin.finance.apr. Every expected number below is copied from the
source named in the test's docstring; none was computed by autofin.

Sources:
* 12 CFR 1026 (Regulation Z), Appendix J, paragraph (c) "Examples for the actuarial method"
  (https://www.consumerfinance.gov/rules-policy/regulations/1026/j/). The regulation states each APR to
  two decimals of a percent, so the tests compare the rate rounded the same way.
* Directive 98/7/EC, Annex III "Examples of calculation", part A (calendar basis), the worked examples
  kept by Directive 2008/48/EC's Annex I equation (same equation, same day count).
* numpy-financial 1.0 ``irr`` docstring examples (a periodic IRR of dated cash flows; used for the
  China IRR method with one period = one month).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from autofin.finance.apr import (
    CashFlow,
    PeriodKind,
    UnitPeriod,
    cn_annualised_rate,
    eu_aprc,
    regz_apr,
    regz_apr_regular,
    round_rate,
)

pytestmark = pytest.mark.golden


def _add_months(d: dt.date, months: int) -> dt.date:
    index = d.year * 12 + d.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, d.day)


def _one(year: int, month: int, day: int, amount: str | int) -> list[CashFlow]:
    return [CashFlow(dt.date(year, month, day), Decimal(amount))]


def _monthly(first: dt.date, count: int, amount: str, step: int = 1) -> list[CashFlow]:
    return [CashFlow(_add_months(first, step * j), Decimal(amount)) for j in range(count)]


def _every_days(first: dt.date, count: int, days: int, amount: str) -> list[CashFlow]:
    return [CashFlow(first + dt.timedelta(days=days * j), Decimal(amount)) for j in range(count)]


def _regz_percent(advances: list[CashFlow], payments: list[CashFlow]) -> Decimal:
    return round_rate(regz_apr(advances, payments).apr, 2)


# --- US Regulation Z, Appendix J (c) ---------------------------------------------------------------


def test_regz_c1i_monthly_regular_first_period() -> None:
    """App. J (c)(1)(i): $5,000 advanced 1978-01-10; 24 monthly payments of $230 from 1978-02-10.
    APR 9.69 %."""
    payments = _monthly(dt.date(1978, 2, 10), 24, "230.00")
    assert _regz_percent(_one(1978, 1, 10, 5000), payments) == Decimal("9.69")


def test_regz_c1ii_monthly_long_first_period() -> None:
    """App. J (c)(1)(ii): $6,000 advanced 1978-02-10; 36 monthly payments of $200 from 1978-04-01
    (a long first period: 1 month and 19 days). APR 11.82 %."""
    payments = _monthly(dt.date(1978, 4, 1), 36, "200.00")
    result = regz_apr(_one(1978, 2, 10, 6000), payments)
    assert result.unit_period == UnitPeriod(PeriodKind.MONTH)
    assert round_rate(result.apr, 2) == Decimal("11.82")


def test_regz_c1iii_semimonthly_short_first_period() -> None:
    """App. J (c)(1)(iii): $5,000 advanced 1978-02-23; 24 semimonthly payments of $219.17 on the 1st
    and 16th from 1978-03-01. APR 10.34 %."""
    payments = [
        CashFlow(
            _add_months(dt.date(1978, 3, 1), j // 2) + dt.timedelta(days=15 * (j % 2)), Decimal("219.17")
        )
        for j in range(24)
    ]
    result = regz_apr(_one(1978, 2, 23, 5000), payments)
    assert result.unit_period == UnitPeriod(PeriodKind.SEMIMONTH)
    assert round_rate(result.apr, 2) == Decimal("10.34")


def test_regz_c1iv_quarterly_long_first_period() -> None:
    """App. J (c)(1)(iv): $10,000 advanced 1978-05-23; 40 quarterly payments of $385 from 1978-10-01.
    APR 8.97 %."""
    payments = _monthly(dt.date(1978, 10, 1), 40, "385.00", step=3)
    result = regz_apr(_one(1978, 5, 23, 10000), payments)
    assert result.unit_period == UnitPeriod(PeriodKind.MONTH, 3)
    assert round_rate(result.apr, 2) == Decimal("8.97")


def test_regz_c1v_weekly_long_first_period() -> None:
    """App. J (c)(1)(v): $500 advanced 1978-03-20; 30 weekly payments of $17.60 from 1978-04-21.
    APR 14.96 %."""
    payments = _every_days(dt.date(1978, 4, 21), 30, 7, "17.60")
    assert _regz_percent(_one(1978, 3, 20, 500), payments) == Decimal("14.96")


def test_regz_c2i_monthly_irregular_first_payment() -> None:
    """App. J (c)(2)(i): $5,000 advanced 1978-01-10; first payment $250 on 1978-02-10, then 23 monthly
    payments of $230 from 1978-03-10. APR 10.08 %."""
    payments = _one(1978, 2, 10, 250) + _monthly(dt.date(1978, 3, 10), 23, "230.00")
    assert _regz_percent(_one(1978, 1, 10, 5000), payments) == Decimal("10.08")


def test_regz_c2ii_four_weekly_irregular_first_payment() -> None:
    """App. J (c)(2)(ii): $400 advanced 1978-03-18; first payment $39.50 on 1978-04-20, then 11
    payments of $38.31 every 4 weeks from 1978-05-18. APR 28.50 %."""
    payments = _one(1978, 4, 20, "39.50") + _every_days(dt.date(1978, 5, 18), 11, 28, "38.31")
    result = regz_apr(_one(1978, 3, 18, 400), payments)
    assert result.unit_period == UnitPeriod(PeriodKind.WEEK, 4)
    assert round_rate(result.apr, 2) == Decimal("28.50")


def test_regz_c3i_monthly_irregular_final_payment() -> None:
    """App. J (c)(3)(i): $5,000 advanced 1978-01-10; 23 monthly payments of $230 from 1978-02-10 and a
    final payment of $280 on 1980-01-10. APR 10.50 %."""
    payments = _monthly(dt.date(1978, 2, 10), 23, "230.00") + _one(1980, 1, 10, 280)
    assert _regz_percent(_one(1978, 1, 10, 5000), payments) == Decimal("10.50")


def test_regz_c3ii_biweekly_irregular_final_payment() -> None:
    """App. J (c)(3)(ii): $200 advanced 1978-04-03; 19 payments of $9.50 every 2 weeks from 1978-04-11
    and a final payment of $30 two weeks after the 19th. APR 12.22 %."""
    payments = _every_days(dt.date(1978, 4, 11), 19, 14, "9.50")
    payments.append(CashFlow(dt.date(1978, 4, 11) + dt.timedelta(days=14 * 19), Decimal(30)))
    assert _regz_percent(_one(1978, 4, 3, 200), payments) == Decimal("12.22")


def test_regz_c4i_monthly_irregular_first_and_final_payments() -> None:
    """App. J (c)(4)(i): $5,000 advanced 1978-01-10; $250 on 1978-02-10, 22 monthly payments of $230
    from 1978-03-10, and $280 on 1980-01-10. APR 10.90 %."""
    payments = _one(1978, 2, 10, 250) + _monthly(dt.date(1978, 3, 10), 22, "230.00") + _one(1980, 1, 10, 280)
    assert _regz_percent(_one(1978, 1, 10, 5000), payments) == Decimal("10.90")


def test_regz_c4ii_bimonthly_irregular_first_and_final_payments() -> None:
    """App. J (c)(4)(ii): $8,000 advanced 1978-01-10; $449.36 on 1978-03-01, 18 payments of $465
    every two months from 1978-05-01, and $200 on 1981-05-01. APR 7.30 %."""
    payments = (
        _one(1978, 3, 1, "449.36")
        + _monthly(dt.date(1978, 5, 1), 18, "465.00", step=2)
        + _one(1981, 5, 1, 200)
    )
    result = regz_apr(_one(1978, 1, 10, 8000), payments)
    assert result.unit_period == UnitPeriod(PeriodKind.MONTH, 2)
    assert round_rate(result.apr, 2) == Decimal("7.30")


def test_regz_c5i_single_advance_single_payment() -> None:
    """App. J (c)(5)(i): $1,000 advanced 1978-01-03, $1,080 repaid 1978-09-15 (255 days; the unit
    period is the term, 365/255 per year). APR 11.45 %."""
    result = regz_apr(_one(1978, 1, 3, 1000), _one(1978, 9, 15, 1080))
    assert result.unit_period is not None and result.unit_period.kind is PeriodKind.TERM
    assert round_rate(result.apr, 2) == Decimal("11.45")


@pytest.mark.parametrize(
    ("amount", "payment", "n", "per_year", "fraction", "expected"),
    [
        # App. J (c)(1)(i): regular first period.
        (5000.0, 230.0, 24, 12, 0.0, "9.69"),
        # App. J (c)(1)(ii): first period 1 month + 19 days (1978-02-10 to 1978-04-01).
        (6000.0, 200.0, 36, 12, 19 / 30, "11.82"),
        # App. J (c)(1)(iv): first period 1 quarter + 39 days (1978-05-23 to 1978-10-01).
        (10000.0, 385.0, 40, 4, 39 / 90, "8.97"),
    ],
)
def test_regz_fast_path_on_appendix_j_examples(
    amount: float, payment: float, n: int, per_year: int, fraction: float, expected: str
) -> None:
    """The float path on the regular App. J (c)(1) examples (same sources and figures as above)."""
    apr = regz_apr_regular(amount, payment, n, per_year, fraction)
    assert round_rate(Decimal(repr(apr)), 2) == Decimal(expected)


# --- EU: Directive 98/7/EC Annex III, part A (calendar basis) ---------------------------------------


def test_eu_first_example_single_repayment() -> None:
    """98/7/EC Annex III A, first example: ECU 1,000 lent 1994-01-01, ECU 1,200 repaid 1995-07-01
    (546 days). APRC 13 % to one place, 12.96 % to two."""
    result = eu_aprc(_one(1994, 1, 1, 1000), _one(1995, 7, 1, 1200))
    assert round_rate(result.apr, 1) == Decimal("13.0")
    assert round_rate(result.apr, 2) == Decimal("12.96")
    assert result.effective_annual_rate == result.apr


def test_eu_second_example_fee_withheld() -> None:
    """98/7/EC Annex III A, second example: as the first, but ECU 50 retained by the creditor, so
    ECU 950 is lent. APRC 16.9 %."""
    result = eu_aprc(_one(1994, 1, 1, 950), _one(1995, 7, 1, 1200))
    assert round_rate(result.apr, 1) == Decimal("16.9")


def test_eu_third_example_two_instalments() -> None:
    """98/7/EC Annex III A, third example: ECU 1,000 lent 1994-01-01, repaid by ECU 600 after one
    year and ECU 600 after two. i = 0,1306623 (13.1 %, or 13.07 %). The directive prints seven
    decimals (truncated), so the comparison allows one unit in the seventh."""
    result = eu_aprc(_one(1994, 1, 1, 1000), _one(1995, 1, 1, 600) + _one(1996, 1, 1, 600))
    assert abs(result.apr - Decimal("0.1306623")) < Decimal("0.0000001")
    assert round_rate(result.apr, 1) == Decimal("13.1")
    assert round_rate(result.apr, 2) == Decimal("13.07")


# --- China: monthly IRR (numpy-financial irr docstring figures, one period = one month) ------------


def test_cn_monthly_irr_uneven_payments() -> None:
    """numpy-financial ``irr`` docstring: ``round(npf.irr([-100, 39, 59, 55, 20]), 5) == 0.28095``.
    Here: 100 lent 2024-01-15, 39/59/55/20 paid on the 15th of the next four months."""
    payments = [
        CashFlow(_add_months(dt.date(2024, 2, 15), j), Decimal(x)) for j, x in enumerate([39, 59, 55, 20])
    ]
    result = cn_annualised_rate(_one(2024, 1, 15, 100), payments)
    assert result.periodic_rate is not None
    assert round(result.periodic_rate, 5) == Decimal("0.28095")
    assert abs(result.apr - result.periodic_rate * 12) < Decimal("1e-25")


def test_cn_monthly_irr_negative() -> None:
    """numpy-financial ``irr`` docstring: ``round(npf.irr([-100, 0, 0, 74]), 5) == -0.0955``.
    Here: 100 lent 2024-01-15, 74 repaid three months later."""
    result = cn_annualised_rate(_one(2024, 1, 15, 100), _one(2024, 4, 15, 74))
    assert result.periodic_rate is not None
    assert round(result.periodic_rate, 5) == Decimal("-0.09550")
