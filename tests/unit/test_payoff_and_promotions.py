"""Payoff quotes, partial prepayments, subvention and "low APR or rebate"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.errors import ValidationError
from autofin.finance.payoff import InterestTo, PrepaymentEffect, partial_prepayment, payoff_quote
from autofin.finance.promotions import low_apr_vs_rebate, present_value, subvention
from autofin.finance.schedule import build_schedule
from autofin.finance.terms import parse_terms

D = Decimal

BASE: dict[str, Any] = {
    "currency": "CNY",
    "loan_amount": "100000",
    "annual_rate": "0.0599",
    "term": 60,
    "start_date": "2026-01-15",
}


def schedule(**overrides: Any):  # type: ignore[no-untyped-def]
    return build_schedule(parse_terms({**BASE, **overrides}))


@st.composite
def loans(draw: st.DrawFn) -> dict[str, Any]:
    term = draw(st.integers(2, 96))
    shape: dict[str, Any] = {
        "currency": draw(st.sampled_from(["CNY", "USD", "JPY"])),
        "loan_amount": str(draw(st.integers(1_000, 500_000))),
        "annual_rate": str(D(draw(st.integers(0, 2400))) / 10000),
        "term": term,
        "start_date": (date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 900)))).isoformat(),
        "repayment": draw(st.sampled_from(["annuity", "equal_principal", "flat", "bullet"])),
        "interest_method": draw(st.sampled_from(["periodic", "daily"])),
        "day_count": draw(st.sampled_from(["act/365f", "30/360_us", "act/360", "act/act_isda"])),
    }
    if shape["repayment"] in ("annuity", "equal_principal") and draw(st.booleans()):
        shape["balloon"] = {"pct_of_principal": str(D(draw(st.integers(0, 50))) / 100)}
    if shape["repayment"] == "annuity" and term > 4 and draw(st.booleans()):
        kind = draw(st.sampled_from(["interest_only", "deferred_interest", "interest_free", "holiday"]))
        shape["grace"] = [{"kind": kind, "periods": draw(st.integers(1, min(3, term - 2)))}]
    return shape


@settings(max_examples=150, deadline=None)
@given(loans())
def test_payoff_on_the_start_date_equals_the_amount_lent(shape: dict[str, Any]) -> None:
    s = build_schedule(parse_terms(shape))
    quote = payoff_quote(s, s.terms.start_date)
    assert quote.total == s.opening_balance
    assert quote.interest == 0


@settings(max_examples=150, deadline=None)
@given(loans(), st.data())
def test_payoff_on_a_due_date_equals_paying_that_instalment_then_settling(
    shape: dict[str, Any], data: st.DataObject
) -> None:
    s = build_schedule(parse_terms(shape))
    k = data.draw(st.integers(0, len(s.rows) - 1))
    row = s.rows[k]
    quote = payoff_quote(s, row.due_date)
    assert quote.instalments_paid == k
    # Everything owed on that day = the instalment due (incl. balloon) + what is still owed after it.
    assert quote.total == row.instalment + row.balloon + row.balance + row.deferred


@settings(max_examples=100, deadline=None)
@given(loans(), st.data())
def test_payoff_between_due_dates_accrues_interest_and_never_falls_below_the_balance(
    shape: dict[str, Any], data: st.DataObject
) -> None:
    s = build_schedule(parse_terms(shape))
    k = data.draw(st.integers(1, len(s.rows) - 1))
    prev, nxt = s.rows[k - 1], s.rows[k]
    gap = (nxt.due_date - prev.due_date).days
    on = prev.due_date + timedelta(days=data.draw(st.integers(1, max(1, gap - 1))))
    if on >= nxt.due_date:
        return
    quote = payoff_quote(s, on)
    assert quote.principal == prev.balance
    assert quote.interest >= 0
    full = payoff_quote(s, on, InterestTo.NEXT_DUE)
    assert full.interest >= quote.interest


def test_payoff_rejects_dates_outside_the_contract() -> None:
    s = schedule()
    with pytest.raises(ValidationError) as exc:
        payoff_quote(s, date(2026, 1, 14))
    assert exc.value.field == "on"
    with pytest.raises(ValidationError) as exc:
        payoff_quote(s, date(2031, 1, 16))
    assert exc.value.field == "on"


def test_penalty_kinds_and_waiver() -> None:
    pct = schedule(prepayment_penalty={"pct_of_prepaid": "0.02"})
    assert payoff_quote(pct, date(2026, 1, 15)).penalty == D("2000.00")
    months = schedule(prepayment_penalty={"months_of_interest": 3})
    # 3 months of interest at 5.99 % on 100,000 = 100000 × 0.0599 × 3 / 12 = 1497.50
    assert payoff_quote(months, date(2026, 1, 15)).penalty == D("1497.50")
    waived = schedule(prepayment_penalty={"flat_amount": "500", "waived_after": 12})
    assert payoff_quote(waived, date(2026, 6, 1)).penalty == D("500")
    assert payoff_quote(waived, date(2027, 1, 16)).penalty == 0


@pytest.mark.parametrize("effect", list(PrepaymentEffect))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_partial_prepayment_accounts_for_every_cent(effect: PrepaymentEffect, data: st.DataObject) -> None:
    s = schedule(repayment=data.draw(st.sampled_from(["annuity", "equal_principal"])))
    k = data.draw(st.integers(1, 50))
    on = s.rows[k].due_date - timedelta(days=data.draw(st.integers(0, 20)))
    paid = sum(1 for r in s.rows if r.due_date <= on)  # instalments due up to the date are paid as usual
    balance = s.rows[paid - 1].balance
    amount = D(data.draw(st.integers(2000, int(balance) - 1000)))
    result = partial_prepayment(s, on, amount, effect)
    assert result.interest + result.deferred_interest + result.penalty + result.principal_reduction == amount
    new = result.schedule
    assert new.total_principal == balance - result.principal_reduction
    assert new.rows[0].due_date == s.rows[paid].due_date
    assert new.rows[-1].balance == 0
    if effect is PrepaymentEffect.REDUCE_INSTALMENT:
        assert new.rows[-1].due_date == s.rows[-1].due_date
        assert new.rows[1].instalment < s.rows[paid + 1].instalment
    else:
        assert new.rows[-1].due_date <= s.rows[-1].due_date
        assert len(new.rows) <= len(s.rows) - paid


def test_partial_prepayment_with_a_percentage_penalty_splits_the_amount() -> None:
    s = schedule(prepayment_penalty={"pct_of_prepaid": "0.01"})
    result = partial_prepayment(s, s.rows[6].due_date, D("20000"))
    assert result.penalty == (result.principal_reduction * D("0.01")).quantize(D("0.01"))
    assert result.interest + result.penalty + result.principal_reduction == D("20000")


def test_partial_prepayment_rejects_what_it_cannot_do() -> None:
    s = schedule()
    with pytest.raises(ValidationError) as exc:
        partial_prepayment(s, date(2026, 7, 15), D("0"))
    assert exc.value.field == "amount"
    with pytest.raises(ValidationError) as exc:
        partial_prepayment(s, date(2026, 7, 15), D("500000"))
    assert exc.value.field == "amount"
    with pytest.raises(ValidationError) as exc:
        partial_prepayment(schedule(repayment="flat"), date(2026, 7, 15), D("1000"))
    assert exc.value.field == "repayment"


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1500), st.integers(12, 84), st.integers(5_000, 80_000))
def test_present_value_at_the_contract_rate_is_the_amount_lent(rate_bp: int, term: int, amount: int) -> None:
    s = build_schedule(
        parse_terms(
            {
                "currency": "USD",
                "loan_amount": amount,
                "annual_rate": D(rate_bp) / 10000,
                "term": term,
                "start_date": "2026-03-01",
            }
        )
    )
    pv = present_value(s, s.terms.annual_rate)
    # Only rounding separates them: at most half a cent per instalment, discounted.
    assert abs(pv - s.opening_balance) <= D("0.005") * term
    assert abs(subvention(s, s.terms.annual_rate)) <= D("0.005") * term + D("0.01")


def test_subvention_is_what_the_buy_down_costs() -> None:
    s = build_schedule(parse_terms({**BASE, "currency": "USD", "loan_amount": "27000", "annual_rate": "0"}))
    sub = subvention(s, D("0.0599"))
    # A 0 % loan of 27,000 over 60 months pays 450.00 a month; at 5.99 % those payments are worth
    # 450 × annuity factor; the subvention is the shortfall, between 3,000 and 4,500 here.
    assert D("3000") < sub < D("4500")
    assert sub == (s.opening_balance - present_value(s, D("0.0599"))).quantize(D("0.01"))


def test_low_apr_vs_rebate_breakeven_makes_the_options_equal() -> None:
    base = parse_terms(
        {**BASE, "currency": "USD", "price": "35000", "down_payment": "5000", "loan_amount": None}
    )
    cmp = low_apr_vs_rebate(base, D("0.009"), D("0.0649"), D("2500"))
    assert cmp.better == "low_apr"
    assert cmp.low_apr_present_value < cmp.rebate_present_value
    even = low_apr_vs_rebate(base, D("0.009"), D("0.0649"), cmp.breakeven_rebate)
    assert abs(even.low_apr_present_value - even.rebate_present_value) < D("1.00")
    bigger = low_apr_vs_rebate(base, D("0.009"), D("0.0649"), cmp.breakeven_rebate + 500)
    assert bigger.better == "rebate"
    with pytest.raises(ValidationError):
        low_apr_vs_rebate(base, D("0.009"), D("0.0649"), D("0"))
