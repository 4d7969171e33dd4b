"""Disclosure invariants over random loans: totals reconcile and fees only raise the rate."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.finance.apr import AprMethod
from autofin.finance.disclosure import disclose_loan
from autofin.finance.schedule import build_schedule
from autofin.finance.terms import parse_terms

D = Decimal


@st.composite
def loans_with_fees(draw: st.DrawFn) -> dict[str, Any]:
    price = draw(st.integers(8_000, 120_000))
    return {
        "currency": draw(st.sampled_from(["CNY", "USD", "EUR"])),
        "price": str(price),
        "down_payment": str(draw(st.integers(0, price // 2))),
        "annual_rate": str(D(draw(st.integers(0, 2000))) / 10000),
        "term": draw(st.integers(6, 84)),
        "start_date": (date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 700)))).isoformat(),
        "fees": [
            {
                "name": "origination",
                "amount": str(draw(st.integers(1, 1500))),
                "financed": draw(st.booleans()),
                "finance_charge": True,
            }
        ],
    }


@settings(max_examples=80, deadline=None)
@given(loans_with_fees())
def test_a_finance_charge_fee_puts_every_disclosed_rate_above_the_note_rate(data: dict[str, Any]) -> None:
    schedule = build_schedule(parse_terms(data))
    disclosure = disclose_loan(schedule)
    note = D(data["annual_rate"])
    # Reg Z and PBoC rates are nominal per unit period (a month): the note rate is their baseline.
    for method in (AprMethod.US_REGZ, AprMethod.CN_IRR):
        assert disclosure.rates[method].apr > note
    # The EU APRC counts actual days, so its baseline is the same loan without the fee.
    without_fee = disclose_loan(build_schedule(parse_terms({**data, "fees": []})), [AprMethod.EU_APRC])
    assert disclosure.rates[AprMethod.EU_APRC].apr > without_fee.rates[AprMethod.EU_APRC].apr


@settings(max_examples=80, deadline=None)
@given(loans_with_fees())
def test_totals_reconcile(data: dict[str, Any]) -> None:
    schedule = build_schedule(parse_terms(data))
    d = disclose_loan(schedule, [AprMethod.CN_IRR])
    fee = D(data["fees"][0]["amount"])
    assert d.amount_financed + d.finance_charge == d.total_of_payments
    assert d.finance_charge == schedule.total_interest + fee
    assert d.total_sale_price == D(data["down_payment"]) + d.total_of_payments
