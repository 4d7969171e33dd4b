"""Promotion NPVs at the lender's cost of funds, and campaign budgets consumed at booking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autofin.catalog.loader import load_catalogue
from autofin.catalog.models import PromotionKind
from autofin.errors import ValidationError
from autofin.finance.promotions import subvention
from autofin.finance.schedule import build_schedule
from autofin.finance.terms import parse_terms
from autofin.pricing.buildup import PricingAssumptions
from autofin.pricing.funding import Funding, FundingCurve
from autofin.pricing.promotions import (
    Campaign,
    cash_rebate_value,
    deferred_first_payment_value,
    discount_factor,
    extended_term_value,
    free_service_value,
    pv_at_funding,
    rate_buydown_value,
    zero_apr_value,
)

D = Decimal
# docs/payoff-and-promotions.md: 27,000 USD over 60 months at 0.9 % for a lender buying at 5.99 %.
BASE = parse_terms({"currency": "USD", "loan_amount": "27000", "annual_rate": "0.059900",
                    "term": 60, "start_date": "2026-03-15"})  # fmt: skip


def test_discount_factor_is_monthly_compounding_at_the_tenor_rate() -> None:
    assert discount_factor(FundingCurve.flat(0.12), 0) == 1
    assert round(discount_factor(FundingCurve.flat(0.12), 12), 10) == round(D(1) / D("1.01") ** 12, 10)
    curve = FundingCurve((12, 24), (0.12, 0.24))
    assert round(discount_factor(curve, 24), 12) == round(D(1) / D("1.02") ** 24, 12)


def test_buydown_at_a_flat_curve_equal_to_the_buy_rate_is_the_subvention() -> None:
    v = rate_buydown_value(BASE, D("0.0599"), D("0.009"), FundingCurve.flat(0.0599))
    assert v.kind is PromotionKind.RATE_BUYDOWN and v.currency == "USD"
    assert v.cost == D("3181.38") == v.detail["subvention"]
    assert v.detail["promo_instalment"] < v.detail["standard_instalment"]


def test_buydown_at_a_cheaper_cost_of_funds_is_worth_more_than_the_subvention() -> None:
    # Discounting the payments given up at 3 % instead of 5.99 % gives them more weight.
    v = rate_buydown_value(BASE, D("0.0599"), D("0.009"), FundingCurve.flat(0.03))
    assert v.cost > v.detail["subvention"] == D("3181.38")
    assert v.cost < v.detail["interest_given_up"]  # still less than the undiscounted interest


def test_zero_apr_costs_more_than_a_partial_buydown() -> None:
    curve = FundingCurve.flat(0.0599)
    z = zero_apr_value(BASE, D("0.0599"), curve)
    assert z.kind is PromotionKind.ZERO_APR
    promo = build_schedule(BASE.model_copy(update={"annual_rate": D(0)}))
    # equal to the contractual subvention up to the cent rounding of the standard instalment
    assert abs(z.cost - subvention(promo, D("0.0599"))) <= D("0.01")
    assert z.cost > D("3181.38")
    with pytest.raises(ValidationError) as e:
        rate_buydown_value(BASE, D("0.05"), D("0.06"), curve)
    assert e.value.field == "promo_rate"


def test_cash_rebate() -> None:
    assert cash_rebate_value(D("1000"), FundingCurve.flat(0.12), "USD").cost == D("1000.00")
    # 1000 / 1.01^12 = 887.449...
    assert cash_rebate_value(D("1000"), FundingCurve.flat(0.12), "USD", paid_after_months=12).cost == D(
        "887.45"
    )
    with pytest.raises(ValidationError) as e:
        cash_rebate_value(D("0"), FundingCurve.flat(0.12), "USD")
    assert e.value.field == "amount"


def test_free_service_is_its_cost() -> None:
    assert free_service_value(D("1200"), FundingCurve.flat(0.12), "CNY").cost == D("1200.00")
    # 100 a month for 12 months at 1 % a month: 100 × (1 − 1.01^−12) / 0.01 = 1125.51
    v = free_service_value(D("1200"), FundingCurve.flat(0.12), "CNY", paid_over_months=12)
    assert v.cost == D("1125.51") and v.kind is PromotionKind.FREE_SERVICE


def test_deferred_first_payment_without_interest() -> None:
    flat0 = FundingCurve.flat(0.0)
    assert deferred_first_payment_value(BASE, 3, flat0).cost == D("0.00")  # money costs nothing
    curve = FundingCurve.flat(0.12)
    std = build_schedule(BASE)
    v = deferred_first_payment_value(BASE, 3, curve)
    expected = pv_at_funding(std, curve) * (1 - D(1) / D("1.01") ** 3)
    assert abs(v.cost - expected) < D("0.01")
    assert v.detail["deferred_instalment"] == std.regular_instalment


def test_deferred_first_payment_with_interest_capitalised_costs_about_nothing_at_the_contract_rate() -> None:
    v = deferred_first_payment_value(BASE, 3, FundingCurve.flat(0.0599), interest_accrues=True)
    assert abs(v.cost) < D("0.10")  # only cent rounding
    assert v.detail["capitalised_balance"] == D("27406.35")  # 27000 × (1 + 0.0599/12)^3 = 27406.3466
    cheap = deferred_first_payment_value(BASE, 3, FundingCurve.flat(0.03), interest_accrues=True)
    assert cheap.cost < 0  # funded at 3 %, the lender earns 5.99 % on the deferred interest: a gain
    with pytest.raises(ValidationError) as e:
        deferred_first_payment_value(BASE, 0, FundingCurve.flat(0.03))
    assert e.value.field == "months"


def test_extended_term_costs_funding_loss_and_capital() -> None:
    a = PricingAssumptions(Funding(FundingCurve((12, 84), (0.025, 0.04))), lgd=0.45, opex_origination=500,
                           opex_annual=0.005, capital_ratio=0.1, hurdle_rate=0.12)  # fmt: skip
    v = extended_term_value(30_000, 0.065, 60, 12, 0.02, a, "USD")
    assert v.kind is PromotionKind.EXTENDED_TERM
    d = v.detail
    assert v.cost > 0 and abs(v.cost - (d["npv_standard"] - d["npv_extended"])) <= D("0.01")
    assert abs(float(v.cost) + d["delta_net_margin"]) < 0.005
    assert d["delta_funding"] < 0 and d["delta_expected_loss"] < 0 and d["delta_capital_charge"] < 0
    assert d["delta_capital_years"] > 0 and d["extended_months"] == 72
    with pytest.raises(ValidationError) as e:
        extended_term_value(30_000, 0.065, 60, 0, 0.02, a, "USD")
    assert e.value.field == "extra_months"


def test_campaign_consumes_at_booking_and_refuses_to_overdraw() -> None:
    c = Campaign("cn-promo", D("10000"), "CNY", date(2026, 1, 1), date(2026, 6, 30))
    assert c.can_fund(D("6000")) and c.remaining == D("10000")  # quoting consumes nothing
    c = c.book("offer-1", D("4000"), date(2026, 2, 1))
    c = c.book("offer-2", D("5000.004"), date(2026, 2, 2))
    assert c.consumed == D("9000.00") and c.remaining == D("1000.00")
    assert [(x.offer_id, x.amount, x.remaining_after) for x in c.audit] == [
        ("offer-1", D("4000.00"), D("6000.00")),
        ("offer-2", D("5000.00"), D("1000.00")),
    ]
    assert not c.can_fund(D("2000"))
    with pytest.raises(ValidationError) as e:
        c.book("offer-3", D("2000"), date(2026, 2, 3))
    assert e.value.field == "budget" and "overdraw" in e.value.rule
    with pytest.raises(ValidationError) as e:
        c.book("offer-1", D("10"), date(2026, 2, 3))
    assert e.value.field == "offer_id"
    with pytest.raises(ValidationError) as e:
        c.book("offer-4", D("10"), date(2026, 7, 1))
    assert e.value.field == "booked_on"
    assert c.ledger.consumed == {"cn-promo": D("9000.00")}


def test_campaign_from_a_catalogue_promotion_shares_the_budget_ledger() -> None:
    promo = load_catalogue().promotions["us-toyota-rav4-cash-rebate-2026"]
    c = Campaign.from_promotion(promo)
    assert c.budget == promo.budget and c.currency == "USD"
    c = c.book("o-1", D("1500"), date(2026, 3, 10))
    assert c.ledger.remaining(promo) == promo.budget - D("1500")
    with pytest.raises(ValidationError) as e:
        Campaign("x-promo", D("-1"), "USD")
    assert e.value.field == "budget"
