"""Unit and property tests for autofin.finance.lease: validation, reconciliation, schedules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.errors import UnknownCurrencyError, ValidationError
from autofin.finance.apr import CashFlow, cn_annualised_rate
from autofin.finance.lease import (
    RATE_NOTICE,
    ConsumerLeaseTerms,
    DepositTreatment,
    FinanceLeaseTerms,
    LeaseCharge,
    OnePlusThreeTerms,
    PaymentMethod,
    RentTiming,
    TaxBasis,
    closed_end_lease,
    finance_lease,
    lease_rate_from_money_factor,
    money_factor_from_lease_rate,
    one_plus_three,
    open_end_lease,
    open_end_settlement,
)
from autofin.finance.schedule import RowKind, build_schedule
from autofin.finance.terms import Balloon, LoanTerms, PaymentTiming, RoundingRule

D = Decimal  # short for the many literal amounts below


def consumer(**overrides: Any) -> ConsumerLeaseTerms:
    base: dict[str, Any] = {
        "agreed_upon_value": D("30000"),
        "term_months": 36,
        "residual_value": D("17000"),
        "money_factor": D("0.0025"),
    }
    base.update(overrides)
    return ConsumerLeaseTerms(**base)


def finance(**overrides: Any) -> FinanceLeaseTerms:
    base: dict[str, Any] = {"asset_price": D("150000"), "lease_rate": D("0.06"), "term_months": 36}
    base.update(overrides)
    return FinanceLeaseTerms(**base)


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agreed_upon_value": D("-1")}, "agreed_upon_value"),
        ({"agreed_upon_value": D("0")}, "agreed_upon_value"),
        ({"residual_value": D("30000")}, "residual_value"),
        ({"residual_value": D("31000")}, "residual_value"),
        ({"cash_down": D("14000")}, "residual_value"),  # adjusted cap cost 16,000 < residual 17,000
        ({"lease_rate": D("0.06")}, "money_factor"),  # both given
        ({"money_factor": None}, "money_factor"),  # neither given
        ({"money_factor": D("-0.001")}, "money_factor"),
        ({"money_factor": D("0.06")}, "money_factor"),  # a rate typed as a money factor
        ({"money_factor": None, "lease_rate": D("5.99")}, "lease_rate"),  # a percent
        ({"term_months": 0}, "term_months"),
        ({"term_months": -12}, "term_months"),
        ({"currency": "XYZ"}, "currency"),
        ({"cash_down": D("-5")}, "cash_down"),
        ({"cash_down": D("31000")}, "capitalized_cost_reduction"),
        ({"tax_rate": D("6")}, "tax_rate"),
        ({"residual_value": None}, "residual_value"),
        ({"residual_value": None, "residual_percent": D("0.5")}, "msrp"),
        ({"residual_value": D("1"), "residual_percent": D("0.5"), "msrp": D("1")}, "residual_percent"),
    ],
)
def test_consumer_terms_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        consumer(**overrides)
    assert excinfo.value.field == field
    assert field in str(excinfo.value)


def test_unknown_currency_is_the_specific_error() -> None:
    with pytest.raises(UnknownCurrencyError):
        consumer(currency="ABC")


def test_negative_charge_names_the_charge() -> None:
    with pytest.raises(ValidationError) as excinfo:
        LeaseCharge("Acquisition fee", D("-1"), capitalized=True)
    assert excinfo.value.field == "charges[Acquisition fee].amount"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"asset_price": D("-100")}, "asset_price"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 601}, "term_months"),  # beyond the loan engine's 600 periods
        ({"lease_rate": D("-0.01")}, "lease_rate"),
        ({"lease_rate": D("6")}, "lease_rate"),
        ({"down_payment": D("150000")}, "down_payment"),
        ({"purchase_option_price": D("150000")}, "purchase_option_price"),
        ({"down_payment": D("50000"), "purchase_option_price": D("100000")}, "purchase_option_price"),
        ({"deposit": D("-1")}, "deposit"),
        ({"advance_payments": 0}, "advance_payments"),
        ({"advance_payments": 37}, "advance_payments"),
        ({"timing": RentTiming.ARREARS, "advance_payments": 1}, "advance_payments"),
        ({"currency": "ZZZ"}, "currency"),
    ],
)
def test_finance_terms_errors_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        finance(**overrides)
    assert excinfo.value.field == field


def test_one_plus_three_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as excinfo:
        OnePlusThreeTerms(
            vehicle_price=D("100000"),
            down_payment=D("20000"),
            balloon_amount=D("80000"),
            lease_rate=D("0.08"),
            instalment_rate=D("0.08"),
        )
    assert excinfo.value.field == "balloon_amount"


# --------------------------------------------------------------------------------- consumer leases


def test_money_factor_conversions() -> None:
    assert money_factor_from_lease_rate(D("0.06")) == D("0.0025")
    assert lease_rate_from_money_factor(D("0.0025")) == D("0.06")


def test_floats_are_accepted_without_binary_noise() -> None:
    t = consumer(agreed_upon_value=30000.10, money_factor=0.0025)
    assert t.agreed_upon_value == D("30000.1")
    assert t.money_factor == D("0.0025")


def test_itemised_signing_and_totals() -> None:
    d = closed_end_lease(
        consumer(
            charges=(
                LeaseCharge("Acquisition fee", D("695"), capitalized=True),
                LeaseCharge("Title fee", D("75")),
                LeaseCharge("Registration fee", D("60")),
            ),
            cash_down=D("1000"),
            net_trade_in=D("2500"),
            security_deposit=D("350"),
            disposition_fee=D("400"),
            tax_rate=D("0.07"),
            tax_cap_cost_reduction=True,
        )
    )
    assert d.gross_capitalized_cost == D("30695.00")
    assert d.capitalized_cost_reduction == D("3500.00")
    assert d.adjusted_capitalized_cost == D("27195.00")
    labels = dict(d.amount_due_at_signing_items)
    assert labels["First periodic payment"] == d.total_periodic_payment
    assert labels["Sales/use tax on capitalized cost reduction"] == D("70.00")
    assert d.amount_due_at_signing == sum(labels.values())
    assert sum(a for _, a in d.amount_due_paid_by) == d.amount_due_at_signing
    assert dict(d.amount_due_paid_by)["Net trade-in allowance"] == D("2500.00")
    expected_total = (
        d.amount_due_at_signing
        - D("350")
        + d.total_of_periodic_payments
        - d.total_periodic_payment
        + D("400")
    )
    assert d.total_of_payments == expected_total
    assert d.periodic_sales_tax == (d.base_periodic_payment * D("0.07")).quantize(D("0.01"))
    assert d.rate_notice == RATE_NOTICE


def test_upfront_tax_capitalized_or_due_at_signing() -> None:
    capitalized = closed_end_lease(
        consumer(
            tax_rate=D("0.0625"), tax_basis=TaxBasis.UPFRONT_ON_AGREED_VALUE, upfront_tax_capitalized=True
        )
    )
    assert dict(capitalized.gross_capitalized_cost_items)["Sales/use tax (capitalized)"] == D("1875.00")
    assert capitalized.periodic_sales_tax == 0
    upfront = closed_end_lease(consumer(tax_rate=D("0.0625"), tax_basis=TaxBasis.UPFRONT_ON_AGREED_VALUE))
    assert dict(upfront.amount_due_at_signing_items)["Sales/use tax"] == D("1875.00")
    assert upfront.gross_capitalized_cost == D("30000.00")


def test_annuity_due_method_yields_the_stated_rate() -> None:
    d = closed_end_lease(consumer(money_factor=None, lease_rate=D("0.06"), method=PaymentMethod.ANNUITY_DUE))
    assert abs(d.lease_rate - D("0.06")) < D("0.0005")  # only the payment's rounding to a cent differs
    mf = closed_end_lease(consumer())
    # Same nominal rate; the money-factor formula is an approximation, close to the exact annuity.
    assert abs(mf.base_periodic_payment - d.base_periodic_payment) < D("2")


def test_residual_percent_of_msrp() -> None:
    d = closed_end_lease(consumer(residual_value=None, residual_percent=D("0.58"), msrp=D("32000")))
    assert d.residual_value == D("18560.00")


def test_open_end_max_liability_and_settlement() -> None:
    o = open_end_lease(consumer())
    assert o.max_end_of_term_liability == 3 * o.lease.base_periodic_payment
    low = open_end_settlement(o, D("12000"))
    assert low.shortfall == D("5000.00")
    assert low.presumptive_liability == o.max_end_of_term_liability
    assert low.presumptive_liability + low.excess_over_presumption == low.shortfall
    small = open_end_settlement(o, D("16900"))
    assert small.presumptive_liability == D("100.00") and small.excess_over_presumption == 0
    high = open_end_settlement(o, D("18000"))
    assert high.shortfall == 0 and high.surplus == D("1000.00")


money = st.decimals(min_value=D("5000"), max_value=D("150000"), places=2)


@settings(max_examples=60, deadline=None)
@given(
    price=money,
    residual_share=st.decimals(min_value=D("0"), max_value=D("0.85"), places=3),
    down_share=st.decimals(min_value=D("0"), max_value=D("0.1"), places=3),
    term=st.integers(min_value=1, max_value=72),
    mf=st.decimals(min_value=D("0"), max_value=D("0.006"), places=5),
    method=st.sampled_from(list(PaymentMethod)),
)
def test_consumer_lease_reconciles(
    price: D, residual_share: D, down_share: D, term: int, mf: D, method: PaymentMethod
) -> None:
    down = (price * down_share).quantize(D("0.01"))
    residual = ((price - down) * residual_share).quantize(D("0.01"))
    d = closed_end_lease(
        ConsumerLeaseTerms(
            agreed_upon_value=price,
            cash_down=down,
            residual_value=residual,
            term_months=term,
            money_factor=mf,
            method=method,
        )
    )
    s = d.schedule
    assert len(s) == term
    assert sum(r.depreciation for r in s) == d.adjusted_capitalized_cost - d.residual_value
    assert sum(r.rent_charge for r in s) == d.rent_charge
    assert d.depreciation_and_amortized_amounts + d.rent_charge == d.total_of_base_periodic_payments
    assert d.total_of_base_periodic_payments == d.base_periodic_payment * term
    assert s[0].opening_balance == d.adjusted_capitalized_cost
    assert s[-1].closing_balance == d.residual_value
    assert all(r.opening_balance >= 0 and r.closing_balance >= 0 for r in s)
    assert all(r.rent_charge + r.depreciation == r.base_payment for r in s)


# ---------------------------------------------------------------------------------- finance leases


@settings(max_examples=80, deadline=None)
@given(
    price=money,
    rate=st.decimals(min_value=D("0"), max_value=D("0.25"), places=4),
    term=st.integers(min_value=1, max_value=60),
    option_share=st.decimals(min_value=D("0"), max_value=D("0.6"), places=3),
    timing=st.sampled_from(list(RentTiming)),
    advance=st.integers(min_value=1, max_value=6),
    deposit_share=st.decimals(min_value=D("0"), max_value=D("0.2"), places=3),
    treatment=st.sampled_from(list(DepositTreatment)),
    whole_yuan=st.booleans(),
)
def test_finance_lease_reconciles_and_ends_at_purchase_option(
    price: D,
    rate: D,
    term: int,
    option_share: D,
    timing: RentTiming,
    advance: int,
    deposit_share: D,
    treatment: DepositTreatment,
    whole_yuan: bool,
) -> None:
    option = max((price * option_share).quantize(D("0.01")), D("1"))
    t = FinanceLeaseTerms(
        asset_price=price,
        lease_rate=rate,
        term_months=term,
        timing=timing,
        advance_payments=min(advance, term) if timing is RentTiming.ADVANCE else None,
        purchase_option_price=option,
        deposit=(price * deposit_share).quantize(D("0.01")),
        deposit_treatment=treatment,
        rent_rounding_multiple=D("1") if whole_yuan else None,
        handling_fee=D("500"),
        start_date=date(2024, 1, 31),
    )
    try:
        s = finance_lease(t)
    except ValidationError as error:  # whole-yuan rounding can overpay a tiny rent over a long term
        assert error.field == "rent_rounding_multiple" and whole_yuan
        return
    assert len(s.rows) == term
    assert s.rows[-1].closing_balance == s.purchase_option_price == option
    assert s.total_principal + s.purchase_option_price == s.financed_amount
    assert s.total_rent == s.total_principal + s.total_interest
    for row in s.rows:
        assert row.opening_balance >= 0 and row.closing_balance >= 0
        assert row.rent >= 0 and row.cash_due >= 0
        assert row.rent - row.interest == row.principal
        assert row.rent == row.cash_due + row.deposit_applied
    for before, after in zip(s.rows, s.rows[1:], strict=False):
        assert before.closing_balance == after.opening_balance
    applied = sum(r.deposit_applied for r in s.rows)
    assert applied + s.deposit_against_purchase_option + s.deposit_refund == t.deposit


def test_one_yuan_purchase_option_in_arrears_with_dates() -> None:
    s = finance_lease(
        finance(
            timing=RentTiming.ARREARS,
            purchase_option_price=D("1"),
            down_payment=D("30000"),
            start_date=date(2024, 1, 31),
        )
    )
    assert s.financed_amount == D("120000.00")
    assert s.rows[0].due_date == date(2024, 2, 29)  # month end clamped, leap year
    assert s.rows[1].due_date == date(2024, 3, 31)
    assert s.rows[-1].due_date == s.purchase_option_due == date(2027, 1, 31)
    assert s.rows[-1].closing_balance == D("1.00")
    assert s.rows[0].interest == D("600.00")  # 120,000 × 6 % / 12
    assert all(r.rent == s.level_rent for r in s.rows[:-1])


def test_advance_rents_first_row_has_no_interest_before_payment() -> None:
    s = finance_lease(finance(start_date=date(2024, 3, 15)))
    assert s.rows[0].due_date == date(2024, 3, 15)
    first = s.rows[0]
    assert first.interest == ((first.opening_balance - first.rent) * D("0.005")).quantize(D("0.01"))


def test_deposit_offsets_last_rents_then_option() -> None:
    s = finance_lease(
        finance(
            deposit=D("15000"),
            deposit_treatment=DepositTreatment.OFFSET_FINAL_RENTS,
            purchase_option_price=D("1"),
        )
    )
    level = s.level_rent
    fully_covered = [r for r in s.rows if r.cash_due == 0]
    assert len(fully_covered) == int(D("15000") // level)
    assert fully_covered[-1].period == 36
    assert s.deposit_refund == 0 or s.deposit_against_purchase_option == D("1.00")
    plain = finance_lease(finance(purchase_option_price=D("1")))
    # Collecting the deposit early raises the effective cost above the contract rate.
    assert s.annualised_rate is not None and plain.annualised_rate is not None
    assert s.annualised_rate > plain.annualised_rate


def test_handling_fee_raises_annualised_rate() -> None:
    plain = finance_lease(finance())
    with_fee = finance_lease(finance(handling_fee=D("3000")))
    assert plain.level_rent == with_fee.level_rent
    assert plain.annualised_rate is not None and with_fee.annualised_rate is not None
    assert abs(plain.annualised_rate - D("0.06")) < D("0.0001")
    assert with_fee.annualised_rate > plain.annualised_rate


def test_zero_rate_lease_is_straight_line() -> None:
    s = finance_lease(finance(lease_rate=D("0"), purchase_option_price=D("6000"), timing=RentTiming.ARREARS))
    assert s.level_rent == D("4000.00")
    assert s.total_interest == 0


def test_too_coarse_rent_rounding_is_rejected() -> None:
    with pytest.raises(ValidationError) as excinfo:
        finance_lease(
            finance(
                asset_price=D("5168.21"),
                lease_rate=D("0.2989"),
                term_months=57,
                timing=RentTiming.ARREARS,
                purchase_option_price=D("1844.62"),
                rent_rounding_multiple=D("10"),
            )
        )
    assert excinfo.value.field == "rent_rounding_multiple"


def test_one_plus_three() -> None:
    r = one_plus_three(
        OnePlusThreeTerms(
            vehicle_price=D("120000"),
            down_payment=D("12000"),
            balloon_amount=D("80000"),
            lease_rate=D("0.075"),
            instalment_rate=D("0.07"),
            start_date=date(2024, 5, 10),
        )
    )
    lease, inst = r.lease_phase, r.instalment_phase
    assert len(lease.rows) == 12 and len(inst.rows) == 36
    assert lease.rows[-1].closing_balance == r.balloon_amount == D("80000.00")
    assert inst.financed_amount == D("80000.00")
    assert inst.rows[-1].closing_balance == 0
    assert lease.rows[0].due_date == date(2024, 6, 10)
    assert lease.purchase_option_due == date(2025, 5, 10)
    assert inst.rows[0].due_date == date(2025, 6, 10)
    assert inst.rows[-1].due_date == date(2028, 5, 10)


# ---------------------------------------------------------------- one mechanism: engine and solver


def test_rent_timing_is_the_engines_payment_timing() -> None:
    assert RentTiming is PaymentTiming


@pytest.mark.parametrize(
    ("timing", "option", "multiple"),
    [
        (RentTiming.ARREARS, D("1"), None),
        (RentTiming.ADVANCE, D("1"), None),
        (RentTiming.ADVANCE, D("45000"), None),
        (RentTiming.ARREARS, D("30000"), D("1")),
        (RentTiming.ADVANCE, D("0"), D("10")),
    ],
)
def test_rent_is_the_loan_engines_instalment(timing: RentTiming, option: D, multiple: D | None) -> None:
    """With rents in arrears or one in advance, the lease's priced rent is the instalment the engine
    solves for a loan with the purchase option as its balloon, and the rents are its instalments."""
    s = finance_lease(finance(timing=timing, purchase_option_price=option, rent_rounding_multiple=multiple))
    loan = build_schedule(
        LoanTerms(
            loan_amount=D("150000"),
            annual_rate=D("0.06"),
            term=36,
            start_date=date(2024, 1, 1),
            timing=timing,
            balloon=Balloon(amount=option) if option else None,
            rounding=RoundingRule(instalment_multiple=multiple),
        )
    )
    instalments = [r.instalment for r in loan.rows if r.kind is RowKind.AMORTISING]
    assert s.level_rent == instalments[0]
    assert [r.rent for r in s.rows] == instalments
    assert s.total_rent + option == loan.total_of_payments


def test_interest_on_an_exact_half_cent_rounds_half_up() -> None:
    # 198,975.00 × 2.8 % / 12 = 464.275 exactly: computed as 198,975 × 0.00233… it looked like
    # 464.27499… and rounded down; the engine multiplies before dividing.
    s = finance_lease(finance(asset_price=D("198975"), lease_rate=D("0.028"), timing=RentTiming.ARREARS))
    assert s.rows[0].interest == D("464.28")


def test_annualised_rate_is_the_cn_irr_of_the_lessees_flows() -> None:
    s = finance_lease(finance(handling_fee=D("3000"), deposit=D("10000"), purchase_option_price=D("1")))
    start = date(2024, 1, 1)
    advance = [CashFlow(start, s.financed_amount - D("3000") - D("10000") - s.rows[0].cash_due)]
    payments = [
        CashFlow(date(2024 + (j // 12), j % 12 + 1, 1), r.cash_due) for j, r in enumerate(s.rows) if j > 0
    ]
    refund = s.deposit_refund - s.purchase_option_price
    solved = cn_annualised_rate([*advance, CashFlow(date(2027, 1, 1), refund)], payments).apr
    assert s.annualised_rate is not None
    assert abs(s.annualised_rate - solved) < D("1e-30")  # the lease keeps 34 digits, the solver 40


def test_rent_rounding_that_leaves_no_principal_for_the_last_rent_is_rejected() -> None:
    # Whole tens overpay so much that 68 rents bring the investment down to the purchase option: the
    # 69th rent would not even cover its interest.
    with pytest.raises(ValidationError) as excinfo:
        finance_lease(
            finance(
                asset_price=D("49639.01"),
                down_payment=D("2233.76"),
                lease_rate=D("0.2489"),
                term_months=69,
                timing=RentTiming.ARREARS,
                purchase_option_price=D("33357.41"),
                rent_rounding_multiple=D("10"),
            )
        )
    assert excinfo.value.field == "rent_rounding_multiple"


def test_rent_rounding_that_makes_the_last_rent_negative_is_rejected() -> None:
    # Two rents in advance, tens: the engine's last instalment would be negative.
    with pytest.raises(ValidationError) as excinfo:
        finance_lease(
            finance(
                asset_price=D("9559.54"),
                lease_rate=D("0.1595"),
                term_months=37,
                advance_payments=2,
                purchase_option_price=D("8488.87"),
                rent_rounding_multiple=D("10"),
            )
        )
    assert excinfo.value.field == "rent_rounding_multiple"
    assert "negative" in excinfo.value.rule
