"""Published worked lease examples, reproduced by autofin.finance.lease.

Every expected number below is copied from the cited source; none was computed by autofin.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from autofin.finance.lease import (
    ConsumerLeaseTerms,
    FinanceLeaseTerms,
    closed_end_lease,
    finance_lease,
    finance_lease_rate,
    implied_money_factor,
    lease_rate_from_money_factor,
    total_of_payments,
)

D = Decimal  # short for the many literal amounts below

pytestmark = pytest.mark.golden


def test_colorado_dor_lease_payment_example() -> None:
    """Colorado Department of Revenue, Auto Industry Division, "Leasing" consumer page, example of a
    lease payment calculation (http://www.colorado.gov/cs/Satellite/Rev-Enforcement/RE/1214992373576):
    gross cap cost $22,700 − cap cost reduction $2,700 = $20,000; − residual $8,000 = $12,000;
    ÷ 48 = $250; ($20,000 + $8,000) × 0.004 = $112; $250 + $112 = $362; 0.004 × 24 = 9.6 %.
    """
    d = closed_end_lease(
        ConsumerLeaseTerms(
            agreed_upon_value=D("22700"),
            cash_down=D("2700"),
            residual_value=D("8000"),
            term_months=48,
            money_factor=D("0.004"),
        )
    )
    assert d.gross_capitalized_cost == D("22700.00")
    assert d.capitalized_cost_reduction == D("2700.00")
    assert d.adjusted_capitalized_cost == D("20000.00")
    assert d.depreciation_and_amortized_amounts == D("12000.00")
    assert d.depreciation_and_amortized_amounts / d.lease_term == D("250")
    assert d.rent_charge / d.lease_term == D("112")
    assert d.base_periodic_payment == D("362.00")
    assert lease_rate_from_money_factor(D("0.004")) == D("0.096")


def test_remmont_guide_lease_with_sales_tax_on_payment() -> None:
    """ "Guide to Lease Payments, Lease Calculations and ALG Residual Values", auto.remmont.com, worked
    example: 36 months, adjusted cap cost $35,000, residual 54 % ($18,900), money factor .00333,
    Florida tax 6 %: depreciation fee $447.22 + finance charge $179.49 + tax $37.60 = $664.31.
    """
    d = closed_end_lease(
        ConsumerLeaseTerms(
            agreed_upon_value=D("35000"),
            msrp=D("35000"),
            residual_percent=D("0.54"),
            term_months=36,
            money_factor=D("0.00333"),
            tax_rate=D("0.06"),
        )
    )
    assert d.residual_value == D("18900.00")
    assert d.base_periodic_payment == D("447.22") + D("179.49")
    assert d.periodic_sales_tax == D("37.60")
    assert d.total_periodic_payment == D("664.31")


def test_fed_keys_to_vehicle_leasing_sample_form_total_of_payments() -> None:
    """Federal Reserve Board, "Keys to Vehicle Leasing", sample leasing form page 1
    (https://www.federalreserve.gov/pubs/leasing/formce/description.htm): amount due at signing
    $4,241.94 (cap cost reduction $3,500.00 + first monthly payment $256.94 + refundable security
    deposit $350.00 + title $75.00 + registration $60.00); 48 payments of $256.94 total $12,333.12;
    disposition fee $400.00; total of payments $16,368.12 (= 2 + 3 + 4 − first payment − deposit).
    """
    signing = D("3500.00") + D("256.94") + D("350.00") + D("75.00") + D("60.00")
    assert signing == D("4241.94")
    assert D("256.94") * 48 == D("12333.12")
    assert total_of_payments(signing, D("12333.12"), D("400.00"), D("256.94"), D("350.00")) == D("16368.12")


def test_carlawyer_implied_money_factor() -> None:
    """ "Calculating the Money Factor Rate", carlawyer.com blog: rent charge $5,000, 48 months,
    adjusted cap cost $31,000, residual $14,000 → money factor .00231; .00231 × 2400 = 5.544 %.
    """
    mf = implied_money_factor(D("5000"), 48, D("31000"), D("14000"))
    assert mf.quantize(D("0.00001")) == D("0.00231")
    assert lease_rate_from_money_factor(D("0.00231")) == D("0.05544")


@pytest.mark.parametrize(
    ("annual_rate", "advance", "expected"),
    [
        # Advance Payments, Solving for Payment, examples 1–2: $750, 12 months, 3 payments at closing.
        (D("0.10"), 3, D("64.45")),
        (D("0.15"), 3, D("65.43")),
        # Example 3: one payment at closing (an annuity due), 15 %.
        (D("0.15"), 1, D("66.86")),
    ],
)
def test_hp12c_advance_payments_payment(annual_rate: D, advance: int, expected: D) -> None:
    """HP 12c Financial Calculator User's Guide (HP part 0012C-90001, 2005 English
    edition), section 14 "Leasing", "Advance Payments — Solving for Payment", examples 1–3
    (pp. 151–153)."""
    s = finance_lease(
        FinanceLeaseTerms(
            asset_price=D("750"),
            lease_rate=annual_rate,
            term_months=12,
            advance_payments=advance,
            currency="USD",
        )
    )
    assert s.level_rent == expected


def test_hp12c_advance_payments_with_residual_payment() -> None:
    """HP 12c Financial Calculator User's Guide (HP part 0012C-90001, 2005 English
    edition), section 14 "Leasing", "Advance Payments With Residual — Solving for Payment",
    example 1 (p. 157): a $22,000 copier leased 48 months, 4 payments in advance, purchase option
    30 % of the price at the end, 15 % annual yield → $487.29 a month.
    """
    s = finance_lease(
        FinanceLeaseTerms(
            asset_price=D("22000"),
            lease_rate=D("0.15"),
            term_months=48,
            advance_payments=4,
            purchase_option_price=D("22000") * D("0.30"),
            currency="USD",
        )
    )
    assert s.level_rent == D("487.29")
    assert s.rows[-1].closing_balance == D("6600.00")


@pytest.mark.parametrize(("rent", "expected_percent"), [(D("600"), D("17.33")), (D("625"), D("19.48"))])
def test_hp12c_advance_payments_yield(rent: D, expected_percent: D) -> None:
    """HP 12c Financial Calculator User's Guide (HP part 0012C-90001, 2005 English
    edition), section 14 "Leasing", "Advance Payments — Solving for Yield", examples 1–2
    (pp. 154–156): 60 months, $25,000 equipment, 3 payments at closing; $600 a month → 17.33 % a
    year; $625 → 19.48 %.
    """
    rate = finance_lease_rate(D("25000"), rent, 60, advance_payments=3)
    assert (rate * 100).quantize(D("0.01")) == expected_percent


def test_hp12c_platinum_yield_with_purchase_option() -> None:
    """HP 12c Platinum Financial Calculator User's Guide (2005 English edition), section
    14 "Leasing", "Advance Payments With Residual — Solving for Yield" (p. 212): $5,000
    equipment, 36 months at $145, first and last payments in advance, purchase option $1,500 at the
    end → 18.10 % annual yield to the lessor.
    """
    rate = finance_lease_rate(D("5000"), D("145"), 36, advance_payments=2, purchase_option_price=D("1500"))
    assert (rate * 100).quantize(D("0.01")) == D("18.10")
