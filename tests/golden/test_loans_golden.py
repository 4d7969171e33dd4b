"""Published worked examples of loan schedules for autofin.finance.schedule.

Every expected number below is copied from the source named in the test's docstring; none was computed
by autofin. Each test sets the engine's options to the convention the source uses and says which:

* ``payment_first`` (round the instalment, then run the balance on rounded amounts, each row's interest
  rounded to the cent) is what the financial calculators do when they amortise (HP 12C ``f AMORT``
  "rounds the amounts ... to the number of decimal places of the display", TI BA II PLUS worksheet) and
  what Apache Fineract's schedules do;
* ``exact_balances`` (run the balance unrounded, round each row's parts for display) is what
  numpy-financial's ``ipmt``/``ppmt`` table and the HP 12C's TVM register arithmetic (``FV`` after
  ``n`` payments) do.

None of the sources gives dates; unless a test says otherwise the interest is periodic (annual rate / 12
a month, every month alike), which is the calculators' convention, and the start date is arbitrary.

Conventions a source uses that the engine cannot express are noted in the test, never bent to fit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from autofin.finance.schedule import Row, RowKind, Schedule, build_schedule
from autofin.finance.terms import parse_terms

pytestmark = pytest.mark.golden

D = Decimal


def _schedule(**fields: Any) -> Schedule:
    data: dict[str, Any] = {"currency": "USD", "start_date": "2024-01-15"}
    data.update(fields)
    return build_schedule(parse_terms(data))


def _span(schedule: Schedule, first: int, last: int) -> tuple[Decimal, Decimal, Decimal]:
    """(interest, principal, balance after ``last``) over rows ``first``..``last`` (1-based, inclusive),
    the three numbers a calculator's amortisation worksheet shows for a range of payments."""
    rows: list[Row] = [r for r in schedule.rows if first <= r.number <= last]
    assert [r.number for r in rows] == list(range(first, last + 1))
    return (
        sum((r.interest for r in rows), D(0)),
        sum((r.principal for r in rows), D(0)),
        rows[-1].balance,
    )


# --- numpy-financial 1.0 docstrings -----------------------------------------------------------------


def test_npf_pmt_200000_at_7_5_percent_15_years() -> None:
    """numpy-financial 1.0, ``numpy_financial.pmt`` docstring, Examples: "What is the monthly payment
    needed to pay off a $200,000 loan in 15 years at an annual interest rate of 7.5%?" ...
    "a monthly payment of $1,854.02 would be required". Periodic interest (0.075/12)."""
    s = _schedule(loan_amount="200000", annual_rate="0.075", term=180)
    assert s.regular_instalment == D("1854.02")
    assert all(r.instalment == D("1854.02") for r in s.rows[:-1])
    # Shown from unrounded balances, each instalment is the unrounded 1,854.0247 to within the
    # roundings of its parts.
    exact = _schedule(
        loan_amount="200000", annual_rate="0.075", term=180, rounding={"style": "exact_balances"}
    )
    assert all(abs(r.instalment - D("1854.02")) <= D("0.03") for r in exact.rows)


_NPF_IPMT_TABLE = [
    # (payment, principal, interest, balance) as printed in the docstring, signs dropped
    (1, "200.58", "17.17", "2299.42"),
    (2, "201.96", "15.79", "2097.46"),
    (3, "203.35", "14.40", "1894.11"),
    (4, "204.74", "13.01", "1689.37"),
    (5, "206.15", "11.60", "1483.22"),
    (6, "207.56", "10.18", "1275.66"),
    (7, "208.99", "8.76", "1066.67"),
    (8, "210.42", "7.32", "856.25"),
    (9, "211.87", "5.88", "644.38"),
    (10, "213.32", "4.42", "431.05"),
    (11, "214.79", "2.96", "216.26"),
    (12, "216.26", "1.49", "0.00"),
]


def _npf_2500() -> Schedule:
    return _schedule(loan_amount="2500", annual_rate="0.0824", term=12, rounding={"style": "exact_balances"})


def test_npf_ipmt_table_balances_interest_and_total() -> None:
    """numpy-financial 1.0, ``numpy_financial.ipmt`` docstring, Examples: "the amortization schedule for a
    1 year loan of $2500 at 8.24% interest per year compounded monthly": the 12-row table of principal,
    interest and running balance, and ``np.round(interestpd, 2)`` = -112.98.

    Convention: the table is ``ipmt``/``ppmt`` of the unrounded annuity -> ``rounding.style=
    "exact_balances"``. The published columns are each rounded on their own, so they do not roll
    forward to the cent (row 10: 644.38 - 213.32 = 431.06, printed 431.05); autofin's rows must roll
    forward, so every *balance* and the total interest match exactly and each interest and principal
    cell matches to within one cent.
    """
    s = _npf_2500()
    assert [r.balance for r in s.rows] == [D(b) for _, _, _, b in _NPF_IPMT_TABLE]
    for row, (_, principal, interest, _) in zip(s.rows, _NPF_IPMT_TABLE, strict=True):
        assert abs(row.interest - D(interest)) <= D("0.01")
        assert abs(row.principal - D(principal)) <= D("0.01")
    assert sum(r.interest == D(i) for r, (_, _, i, _) in zip(s.rows, _NPF_IPMT_TABLE, strict=True)) >= 10
    assert s.total_interest == D("112.98")
    assert s.total_principal == D("2500.00")


def test_npf_nper_8000_at_7_percent_150_a_month() -> None:
    """numpy-financial 1.0, ``numpy_financial.nper`` docstring, Examples: "If you only had $150/month to pay
    towards the loan, how long would it take to pay-off a loan of $8,000 at 7% annual interest?" ->
    64.07335: "over 64 months would be required", i.e. 64 full payments and a 65th, smaller one.
    A fixed ``instalment`` ends the loan when it is repaid."""
    s = _schedule(loan_amount="8000", annual_rate="0.07", term=120, instalment="150")
    assert len(s.rows) == 65
    assert all(r.instalment == D("150.00") for r in s.rows[:64])
    assert D(0) < s.rows[-1].instalment < D("150.00")
    assert s.rows[-1].balance == 0


# --- HP 12C / 12C Platinum / 10bII+ --------------------------------------------------------------------


def test_hp12c_handbook_amortization_50000_at_13_25_percent() -> None:
    """HP 12C Owner's Handbook and Problem-Solving Guide (hp 12c_user's guide_English_HDPMBF12E44),
    Section 3 "Amortization", pp. 54-56: a 25-year mortgage of $50,000 at 13 1/4 %, payments of $573.35
    at the end of each month. Second year's payments: interest 6,570.72, principal 309.48, balance after
    2 years 49,419.21; first payment: interest 552.08, principal 21.27; second: 551.85 and 21.50.

    Convention: the 12C rounds each amortised amount to the displayed cent -> ``payment_first``; the
    payment is keyed in (``instalment``)."""
    s = _schedule(loan_amount="50000", annual_rate="0.1325", term=300, instalment="573.35")
    assert _span(s, 13, 24) == (D("6570.72"), D("309.48"), D("49419.21"))
    assert (s.rows[0].interest, s.rows[0].principal) == (D("552.08"), D("21.27"))
    assert (s.rows[1].interest, s.rows[1].principal) == (D("551.85"), D("21.50"))
    # and the engine solves the same payment the handbook quotes
    assert _schedule(loan_amount="50000", annual_rate="0.1325", term=300).regular_instalment == D("573.35")


def test_hp12c_platinum_amortization_250000_at_5_25_percent_25_years() -> None:
    """HP 12c Platinum User's Guide (hp 12c pt_user's guide_English_HDPMF123E27), Section 3
    "Amortization", pp. 70-71: $250,000 at 5.25 % for 25 years, monthly payment 1,498.12 (End mode).
    First year: interest 13,006.53, principal 4,970.91, balance 245,029.09; second year: 12,739.18,
    5,238.26, 239,790.83; first payment 1,093.75 / 404.37; second 1,091.98 / 406.14.
    Convention: ``payment_first`` (the 12C rounds each amortised amount)."""
    s = _schedule(loan_amount="250000", annual_rate="0.0525", term=300)
    assert s.regular_instalment == D("1498.12")
    assert _span(s, 1, 12) == (D("13006.53"), D("4970.91"), D("245029.09"))
    assert _span(s, 13, 24) == (D("12739.18"), D("5238.26"), D("239790.83"))
    assert (s.rows[0].interest, s.rows[0].principal) == (D("1093.75"), D("404.37"))
    assert (s.rows[1].interest, s.rows[1].principal) == (D("1091.98"), D("406.14"))


def test_hp12c_platinum_amortization_250000_at_5_25_percent_30_years() -> None:
    """HP 12c Platinum User's Guide (HDPMF123E27), Section 3, p. 71: the same $250,000 at 5.25 % over
    30 years: monthly payment 1,380.51; first payment interest 1,093.75, principal 286.76, remaining
    balance 249,713.24. Convention: ``payment_first``."""
    s = _schedule(loan_amount="250000", annual_rate="0.0525", term=360)
    assert s.regular_instalment == D("1380.51")
    assert (s.rows[0].interest, s.rows[0].principal, s.rows[0].balance) == (
        D("1093.75"),
        D("286.76"),
        D("249713.24"),
    )


def test_hp12c_learning_module_180000_at_7_75_percent() -> None:
    """hp calculators, "HP 12C Loan Amortizations" learning module, Version 1.0, pp. 3-4, Examples 1-2:
    $180,000 at 7.75 % for 30 years, End mode. After one year the balance is $178,420.18, principal paid
    $1,579.82, interest $13,894.66; in the second year principal $1,706.69, interest $13,767.79, balance
    $176,713.49. Convention: ``payment_first``."""
    s = _schedule(loan_amount="180000", annual_rate="0.0775", term=360)
    assert _span(s, 1, 12) == (D("13894.66"), D("1579.82"), D("178420.18"))
    assert _span(s, 13, 24) == (D("13767.79"), D("1706.69"), D("176713.49"))


def test_hp12c_learning_module_car_loan_payments_in_advance() -> None:
    """hp calculators, "HP 12C Loan Amortizations" learning module, Version 1.0, pp. 4-5, Example 3: "Amortize
    the 10th payment of a 4-year car loan. The loan amount is $12,500 and the interest rate is 10.2%,
    compounded monthly. Assume monthly payments starting immediately" (BEGIN mode). With the 10th payment
    principal $226.83 and interest $88.72; balance after ten payments $10,210.45.

    Convention: payments in advance (``timing="advance"``: the first falls on the start date and
    carries no interest), ``payment_first``."""
    s = _schedule(loan_amount="12500", annual_rate="0.102", term=48, timing="advance")
    assert s.rows[0].due_date == s.terms.start_date
    assert s.rows[0].interest == 0
    assert _span(s, 10, 10) == (D("88.72"), D("226.83"), D("10210.45"))


def test_hp12c_handbook_number_of_payments_log_cabin() -> None:
    """HP 12C Owner's Handbook (HDPMBF12E44), Section 3 "Calculating the Number of Payments", pp. 40-41,
    Example 1: a $35,000 loan at 10.5 % with $325 payments at the end of each month needs 328 payments
    (327 full payments of $325 and a smaller 328th). A fixed ``instalment`` ends the loan when repaid."""
    s = _schedule(loan_amount="35000", annual_rate="0.105", term=400, instalment="325")
    assert len(s.rows) == 328
    assert all(r.instalment == D("325.00") for r in s.rows[:327])
    assert s.rows[-1].instalment < D("325.00")


def test_hp12c_handbook_final_fractional_and_balloon_payment() -> None:
    """HP 12C Owner's Handbook (HDPMBF12E44), Section 3, p. 41, continuing Example 1 ($35,000 at 10.5 %,
    $325 a month): "Final, fractional payment" of the 328th month -143.11; or, paying it with the 327th,
    "Final, balloon payment" -466.87 (the balance after 327 full payments, 141.87, plus 325).

    Convention: the 12C's TVM registers carry the balance unrounded -> ``exact_balances``. (Under
    ``payment_first`` — every row's interest rounded to the cent — 327 rows of rounding add up to a
    different, equally legitimate 143.37 / 467.13; that is not what the handbook computes.)"""
    fractional = _schedule(
        loan_amount="35000",
        annual_rate="0.105",
        term=400,
        instalment="325",
        rounding={"style": "exact_balances"},
    )
    assert len(fractional.rows) == 328
    assert fractional.rows[-1].instalment == D("143.11")
    balloon = _schedule(
        loan_amount="35000",
        annual_rate="0.105",
        term=327,
        instalment="325",
        rounding={"style": "exact_balances"},
    )
    assert balloon.rows[-1].total_due == D("466.87")


def test_hp10bii_automobile_loan_payment() -> None:
    """HP 10bII+ Financial Calculator User's Guide (NW239-90001, Edition 1, May 2010), "Additional Examples
    - Automobile Loan", p. 145, Table 13-14: financing 12,500 over 36 months at 3.5 % a year: payment
    -366.28 (End mode). (The guide's total 13,185.94 is the unrounded payment x 36, not the sum of a
    schedule's rounded payments: the engine cannot express that total and it is not asserted.)"""
    s = _schedule(loan_amount="12500", annual_rate="0.035", term=36)
    assert s.regular_instalment == D("366.28")


# --- TI BA II PLUS -----------------------------------------------------------------------------------


def test_ti_baii_plus_kb_11219_amortization_150000_at_7_percent() -> None:
    """Texas Instruments Knowledge Base, Solution 11219 "Calculating Amortization on the Amortization
    Worksheet Using the BAII PLUS and BAII PLUS PROFESSIONAL"
    (https://education.ti.com/en/customer-support/knowledge-base/financial-calculators/product-usage/11219):
    $150,000 at 7 % compounded monthly for 30 years: PMT = -997.95; after payments 1-60:
    BAL = 141,197.64, PRN = -8,802.36, INT = -51,074.64.
    Convention: the worksheet amortises the rounded payment, row by row -> ``payment_first``."""
    s = _schedule(loan_amount="150000", annual_rate="0.07", term=360)
    assert s.regular_instalment == D("997.95")
    assert _span(s, 1, 60) == (D("51074.64"), D("8802.36"), D("141197.64"))


def test_ti_baii_plus_monthly_payments() -> None:
    """Texas Instruments BA II PLUS Guidebook, "Examples: Computing Basic Loan Payments", p. 27: a $75,000
    mortgage at 5.5 % for 30 years, "The monthly payments are $425.84"; and TI Knowledge Base Solution
    11237 "Computing Monthly Payments Using the BA II PLUS Family Calculator"
    (https://education.ti.com/en/customer-support/knowledge-base/financial-calculators/product-usage/11237):
    $75,000 at 8.5 % for 30 years, "The monthly payment is $-576.69"."""
    assert _schedule(loan_amount="75000", annual_rate="0.055", term=360).regular_instalment == D("425.84")
    assert _schedule(loan_amount="75000", annual_rate="0.085", term=360).regular_instalment == D("576.69")


def test_ti_baii_plus_kb_11269_interest_only() -> None:
    """Texas Instruments Knowledge Base, Solution 11269 "Calculating Interest Only Payments on the BA II PLUS
    or BA II PLUS PROFESSIONAL"
    (https://education.ti.com/en/customer-support/knowledge-base/financial-calculators/product-usage/11269):
    an interest-only mortgage of $75,000 at 8.5 % with 360 payments: "The monthly payment displayed will
    be $-531.25", the full loan amount still owed at the end. Engine: ``repayment="bullet"``."""
    s = _schedule(loan_amount="75000", annual_rate="0.085", term=360, repayment="bullet")
    assert all(r.instalment == D("531.25") and r.principal == 0 for r in s.rows[:-1])
    assert s.rows[-1].interest == D("531.25")
    assert s.rows[-1].principal == D("75000.00")


# --- US Consumer Financial Protection Bureau ------------------------------------------------------------


def test_cfpb_auto_loan_shopping_sheet_example() -> None:
    """CFPB, "Comparing auto loans" (CFPB Auto Loan Shopping Sheet, OMB 3170-0036), the "Example" column:
    H. total amount to finance $15,800; I. interest rate 3.5 %; J. 48 months; K. monthly payment $353.22;
    L. total of payments over the life of the loan $16,955 (printed to the dollar).
    Convention: ``payment_first``; the last payment absorbs the rounding, so the total is compared to the
    dollar, the precision the sheet prints."""
    s = _schedule(loan_amount="15800", annual_rate="0.035", term=48)
    assert s.regular_instalment == D("353.22")
    assert s.total_of_payments.quantize(D(1)) == D("16955")


# --- Chinese bank-calculator examples (等额本息 / 等额本金) --------------------------------------------


def test_cn_630000_30_years_4_9_percent_annuity_and_equal_principal() -> None:
    """http://vdgb.cn/wenda/220578.html (stored copy): 贷款本金 63 万, 期限 30 年, 人行 5 年期以上基准年利率
    4.90%: 等额本息 月供 3343.58; 等额本金 第一期 4322.50, 随后每期逐笔递减金额 7.15.

    Convention: monthly rate 4.9 %/12, 2-decimal rounding of each row (``payment_first``). The decrease
    the page prints, 7.15, is the exact 630000/360 x 4.9 %/12 = 7.1458 rounded; with each month's interest
    rounded to the fen the actual decreases are 7.14 or 7.15, so each is checked to within one fen.
    Not asserted: the page's totals (利息总额 573688.2 and 464336.25) are the unrounded monthly payment x
    360 and the unrounded interest sum — a convention of the summary line, not of any schedule of rounded
    payments, which the engine (rightly) cannot express."""
    annuity = _schedule(currency="CNY", loan_amount="630000", annual_rate="0.049", term=360)
    assert annuity.regular_instalment == D("3343.58")
    ep = _schedule(
        currency="CNY", loan_amount="630000", annual_rate="0.049", term=360, repayment="equal_principal"
    )
    assert ep.rows[0].instalment == D("4322.50")
    assert ep.rows[0].instalment - ep.rows[1].instalment == D("7.15")
    decreases = [a.instalment - b.instalment for a, b in zip(ep.rows[:-2], ep.rows[1:-1], strict=True)]
    assert all(abs(d - D("7.15")) <= D("0.01") for d in decreases)


def test_cn_300000_and_510000_annuity_payments() -> None:
    """https://13l.net/index.php/l/1771868819402209700.html (stored copy): 贷款本金 30 万, 期限 30 年, 年利率
    4.90%, 等额本息 月供 1592.18; and http://wwwbz417.com/wenda/242703.html (stored copy): 等额本息 贷款总额
    510000, 期数 240, 年利率 5.300%, 每月还款 3450.87. Convention: monthly rate = annual / 12."""
    s300 = _schedule(currency="CNY", loan_amount="300000", annual_rate="0.049", term=360)
    assert s300.regular_instalment == D("1592.18")
    s510 = _schedule(currency="CNY", loan_amount="510000", annual_rate="0.053", term=240)
    assert s510.regular_instalment == D("3450.87")


# --- Apache Fineract (published expected schedules of its end-to-end tests) -----------------------------


def _rows(s: Schedule) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    return [(r.due_date.isoformat(), r.balance, r.principal, r.interest, r.instalment) for r in s.rows]


def test_fineract_emi_360_30_integer_rate() -> None:
    """Apache Fineract EMICalculation.feature, scenario C3154 "EMI calculation with 360/30 setup - integer":
    100 EUR at 12 % disbursed 1 January 2024, 6 monthly repayments (progressive, declining balance):
    rows (balance, principal, interest, due) 83.75/16.25/1.0/17.25, 67.34/16.41/0.84/17.25,
    50.76/16.58/0.67/17.25, 34.02/16.74/0.51/17.25, 17.11/16.91/0.34/17.25, 0.0/17.11/0.17/17.28;
    total interest 3.53.

    Convention: Fineract's "360/30" gives every month 30/360 of a year = periodic interest;
    ``payment_first``, the last instalment absorbing the residue, as Fineract does."""
    s = _schedule(currency="EUR", start_date="2024-01-01", loan_amount="100", annual_rate="0.12", term=6)
    expected = [
        ("2024-02-01", "83.75", "16.25", "1.00", "17.25"),
        ("2024-03-01", "67.34", "16.41", "0.84", "17.25"),
        ("2024-04-01", "50.76", "16.58", "0.67", "17.25"),
        ("2024-05-01", "34.02", "16.74", "0.51", "17.25"),
        ("2024-06-01", "17.11", "16.91", "0.34", "17.25"),
        ("2024-07-01", "0.00", "17.11", "0.17", "17.28"),
    ]
    assert _rows(s) == [(d, D(b), D(p), D(i), D(t)) for d, b, p, i, t in expected]
    assert s.total_interest == D("3.53")


def test_fineract_emi_360_30_decimal_rate() -> None:
    """Apache Fineract EMICalculation.feature, scenario C3155 "EMI calculation with 360/30 setup - decimal":
    100 EUR at 9.4822 % disbursed 1 January 2024, 6 monthly repayments: every instalment 17.13; rows
    (balance, principal, interest) 83.66/16.34/0.79, 67.19/16.47/0.66, 50.59/16.6/0.53, 33.86/16.73/0.4,
    17.0/16.86/0.27, 0.0/17.0/0.13; total interest 2.78. Convention as in C3154."""
    s = _schedule(currency="EUR", start_date="2024-01-01", loan_amount="100", annual_rate="0.094822", term=6)
    expected = [
        ("2024-02-01", "83.66", "16.34", "0.79", "17.13"),
        ("2024-03-01", "67.19", "16.47", "0.66", "17.13"),
        ("2024-04-01", "50.59", "16.60", "0.53", "17.13"),
        ("2024-05-01", "33.86", "16.73", "0.40", "17.13"),
        ("2024-06-01", "17.00", "16.86", "0.27", "17.13"),
        ("2024-07-01", "0.00", "17.00", "0.13", "17.13"),
    ]
    assert _rows(s) == [(d, D(b), D(p), D(i), D(t)) for d, b, p, i, t in expected]
    assert s.total_interest == D("2.78")


def test_fineract_emi_365_actual_daily_interest() -> None:
    """Apache Fineract EMICalculation.feature, scenario C3159 "EMI calculation with 365/Actual setup -
    integer": 100 EUR at 12 % disbursed 1 January 2024, 6 monthly repayments, interest on actual days
    over 365: rows (days, balance, principal, interest, due) 31 83.77/16.23/1.02/17.25,
    29 67.32/16.45/0.8/17.25, 31 50.76/16.56/0.69/17.25, 30 34.01/16.75/0.5/17.25,
    31 17.11/16.9/0.35/17.25, 30 0.0/17.11/0.17/17.28; total interest 3.53.

    Convention: ``interest_method="daily"``, ``day_count="act/365f"``; the level EMI is solved with each
    period's actual days (Fineract's progressive EMI); ``payment_first``.
    Not used from the same file: the Actual/Actual scenarios (C3152/C3153) split a period across the year
    end counting 19 days in 2023 and 12 in 2024 for 12 Dec 2023 -> 12 Jan 2024 (interest 101.81), whereas
    ISDA ACT/ACT counts 20 and 11 (101.82); and the "iterate" scenarios (C3164/C3165) move the EMI by a
    cent to even out the last instalment. The engine expresses neither."""
    s = _schedule(
        currency="EUR",
        start_date="2024-01-01",
        loan_amount="100",
        annual_rate="0.12",
        term=6,
        interest_method="daily",
        day_count="act/365f",
    )
    expected = [
        ("2024-02-01", "83.77", "16.23", "1.02", "17.25"),
        ("2024-03-01", "67.32", "16.45", "0.80", "17.25"),
        ("2024-04-01", "50.76", "16.56", "0.69", "17.25"),
        ("2024-05-01", "34.01", "16.75", "0.50", "17.25"),
        ("2024-06-01", "17.11", "16.90", "0.35", "17.25"),
        ("2024-07-01", "0.00", "17.11", "0.17", "17.28"),
    ]
    assert _rows(s) == [(d, D(b), D(p), D(i), D(t)) for d, b, p, i, t in expected]
    assert s.total_interest == D("3.53")


# --- Flat (add-on) rate and the Rule of 78 -------------------------------------------------------------


def test_bnm_flat_rate_hire_purchase_instalment() -> None:
    """Bank Negara Malaysia, BankingInfo, "How are interest rate and hire purchase instalment calculated on a
    fixed rate hire purchase (HP) financing?" (reprinted at https://www.lawyerment.com/library/kb/
    Banking_and_Finance/Credit_and_Loans/Hire_Purchases_Car_Loans/1305.htm): amount financed RM50,000,
    10 % a year, 5 years (60 months): interest charged 50,000 x 10 % x 5 = RM25,000; monthly instalment
    (50,000 + 25,000) / 60 = RM1,250. The currency (MYR) is not in autofin's table; the arithmetic is the
    same in any 2-decimal currency, so USD stands in."""
    s = _schedule(loan_amount="50000", annual_rate="0.10", term=60, repayment="flat")
    assert s.total_interest == D("25000.00")
    assert all(r.instalment == D("1250.00") for r in s.rows)


def test_bnm_rule_of_78_rebate_after_48_of_60_instalments() -> None:
    """Bank Negara Malaysia, BankingInfo (same page as above): paying off the RM50,000 / 10 % / 60-month
    hire purchase after 48 instalments, the rebate on term charges is
    RM25,000 x (1+2+...+12) / (1+2+...+60) = RM25,000 x 78 / 1,830 = RM1,066 (printed to the ringgit).
    Under ``flat_allocation="rule_of_78"`` the interest of the 12 unearned months is that rebate."""
    s = _schedule(
        loan_amount="50000", annual_rate="0.10", term=60, repayment="flat", flat_allocation="rule_of_78"
    )
    assert s.total_interest == D("25000.00")
    unearned = sum((r.interest for r in s.rows[48:]), D(0))
    assert unearned.quantize(D(1)) == D("1066")


def test_hp12c_platinum_rule_of_78_rebate() -> None:
    """HP 12c Platinum Financial Calculator Solutions Handbook, "Lending - Rule of 78's Rebate", p. 32
    (stored copy http://hp.manymanuals.com/unknown/12c-platinum-financial-calculator/user-manual-31495/32):
    a 30-month loan with a total finance charge of $180 repaid with the 25th payment: rebate 5.81.
    The loan behind it is 30 payments of $39.33 (= (1,000 + 180) / 30): $1,000 at a 7.2 % flat rate
    for 2.5 years. Under the Rule of 78 the unearned interest is that of payments 26-30."""
    s = _schedule(
        loan_amount="1000", annual_rate="0.072", term=30, repayment="flat", flat_allocation="rule_of_78"
    )
    assert s.total_interest == D("180.00")
    assert sum((r.interest for r in s.rows[25:]), D(0)) == D("5.81")


def test_rule_of_78_precomputed_loan_has_level_instalments() -> None:
    """Two sources state the instalment of a precomputed (flat-rate) loan whose interest is earned by the
    Rule of 78: Bank Negara Malaysia, BankingInfo (page cited above): RM50,000, 10 %, 60 months, monthly
    instalment RM1,250 with the Rule-of-78 rebate; and the HP 12c Platinum Solutions Handbook, "Rule of
    78's Rebate", p. 32: the periodic payment amount $39.33 of a 30-month loan with a $180 finance charge
    (outstanding principal after the 25th payment = 5 x 39.33 - 5.81 = 190.84)."""
    bnm = _schedule(
        loan_amount="50000", annual_rate="0.10", term=60, repayment="flat", flat_allocation="rule_of_78"
    )
    assert all(r.instalment == D("1250.00") for r in bnm.rows)
    hp = _schedule(
        loan_amount="1000", annual_rate="0.072", term=30, repayment="flat", flat_allocation="rule_of_78"
    )
    assert all(r.instalment == D("39.33") for r in hp.rows[:-1])


def test_rule_of_78_monthly_interest_1700_over_18_months() -> None:
    """Jiskha Homework Help, "Business Math" (https://www.jiskha.com/display.cgi?id=1200349435, 14 Jan 2008),
    worked answer: an 18-month instalment loan of $1,700 at 12 % add-on interest, interest computed by the
    Rule of 78: total finance charge 0.01 x 18 x 1700 = $306; sum of months 171; month 1 interest
    306 x 18/171 = $32.21, month 2 $30.42, month 3 $28.63, month 17 $3.58, month 18 $1.79.
    (A homework-help answer rather than a regulator; the arithmetic it states is the textbook
    sum-of-digits split.)"""
    s = _schedule(
        loan_amount="1700", annual_rate="0.12", term=18, repayment="flat", flat_allocation="rule_of_78"
    )
    assert s.total_interest == D("306.00")
    interest = {r.number: r.interest for r in s.rows}
    assert [interest[k] for k in (1, 2, 3, 17, 18)] == [
        D("32.21"),
        D("30.42"),
        D("28.63"),
        D("3.58"),
        D("1.79"),
    ]
    assert all(r.kind is RowKind.AMORTISING for r in s.rows)
