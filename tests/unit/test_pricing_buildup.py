"""Hand-checkable cases of the cost build-up (autofin.pricing.buildup / funding)."""

from __future__ import annotations

import numpy as np
import pytest

from autofin.errors import ValidationError
from autofin.finance.schedule import build_schedule
from autofin.finance.terms import LoanTerms
from autofin.pricing import (
    LINES,
    Funding,
    FundingCurve,
    PricingAssumptions,
    minimum_rate,
    offer_economics,
    ul_capital,
)
from autofin.pricing.buildup import conditional_pds, monthly_hazards, opening_balances


def bare(funding: Funding | None = None, **kw: object) -> PricingAssumptions:
    base: dict[str, object] = {
        "funding": funding or Funding.flat(0.03),
        "lgd": 0.5,
        "opex_origination": 0.0,
        "opex_annual": 0.0,
        "capital_ratio": 0.08,
        "hurdle_rate": 0.15,
    }
    base.update(kw)
    return PricingAssumptions(**base)  # type: ignore[arg-type]


def rich(**kw: object) -> PricingAssumptions:
    base: dict[str, object] = {
        "opex_origination": 250.0,
        "opex_annual": 0.006,
        "tax_rate": 0.25,
        "dealer_flat": 150.0,
        "dealer_participation": 0.7,
        "fi_margin": 300.0,
        "subvention": 400.0,
    }
    base.update(kw)
    return bare(**base)


# -- funding ----------------------------------------------------------------------------------------


def test_curve_interpolates_linearly_and_is_flat_beyond_ends() -> None:
    c = FundingCurve((12, 36, 60), (0.02, 0.03, 0.04))
    assert c.rate(24) == pytest.approx(0.025)
    assert c.rate(6) == pytest.approx(0.02)
    assert c.rate(120) == pytest.approx(0.04)
    assert np.allclose(c.rate(np.array([12, 48])), [0.02, 0.035])
    assert c.shifted(25).rate(36) == pytest.approx(0.0325)


def test_partner_funding_blends() -> None:
    f = Funding(FundingCurve.flat(0.04), FundingCurve.flat(0.02), partner_share=0.3)
    assert f.rate(60) == pytest.approx(0.7 * 0.04 + 0.3 * 0.02)
    e = offer_economics(20_000, 0.06, 36, 0.0, bare(f))
    assert e.funding_rate == pytest.approx(0.034)
    assert e.bp["funding"] == pytest.approx(-340.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tenors_months": (12, 12), "rates": (0.01, 0.02)}, "tenors_months"),
        ({"tenors_months": (12,), "rates": (0.01, 0.02)}, "rates"),
        ({"tenors_months": (), "rates": ()}, "tenors_months"),
    ],
)
def test_curve_validation(kwargs: dict[str, tuple[float, ...]], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        FundingCurve(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_funding_validation() -> None:
    with pytest.raises(ValidationError) as err:
        Funding(FundingCurve.flat(0.03), None, 0.3)
    assert err.value.field == "partner"
    with pytest.raises(ValidationError) as err:
        Funding(FundingCurve.flat(0.03), FundingCurve.flat(0.02), 1.5)
    assert err.value.field == "partner_share"


# -- the build-up -----------------------------------------------------------------------------------


def test_zero_pd_zero_costs_raroc_is_spread_over_capital() -> None:
    e = offer_economics(20_000, 0.07, 60, 0.0, bare())
    # RAROC = (r − f) / k with no loss, costs or tax, whatever the schedule
    assert e.raroc == pytest.approx((0.07 - 0.03) / 0.08, rel=1e-12)
    assert e.bp["customer_rate"] == pytest.approx(700.0)
    assert e.bp["capital_charge"] == pytest.approx(-0.15 * 0.08 * 1e4)
    assert e.bp["net_margin"] == pytest.approx(700 - 300 - 120)
    assert e.npv == pytest.approx(e.capital_years * (e.raroc - 0.15))
    taxed = offer_economics(20_000, 0.07, 60, 0.0, bare(tax_rate=0.25))
    assert taxed.raroc == pytest.approx(0.75 * 0.04 / 0.08)


def test_waterfall_sums_to_npv_and_lines_in_order() -> None:
    e = offer_economics(25_000, 0.0899, 72, 0.03, rich(), markup=0.01, balloon=5_000, fee=100)
    assert tuple(ln.name for ln in e.waterfall) == LINES
    parts = sum(ln.pv for ln in e.waterfall if ln.name != "net_margin")
    assert parts == pytest.approx(e.npv, rel=1e-12)
    assert e.line("net_margin").pv == e.npv
    assert e.raroc == pytest.approx(e.risk_adjusted_income / e.capital_years)


def test_expected_loss_small_pd_is_pd_times_lgd() -> None:
    # flat balance (bullet), zero discount: EL over one year = LGD × balance × PD exactly
    e = offer_economics(10_000, 0.05, 12, 0.02, bare(discount_rate=0.0), balloon=10_000)
    assert -e.pv["expected_loss"] == pytest.approx(0.5 * 10_000 * 0.02, rel=1e-12)


def test_term_structure_pd_equals_flat_when_constant_hazard() -> None:
    pd = 0.04
    marginal = [pd * (1 - pd) ** y for y in range(5)]  # the flat hazard's marginal PDs
    a = offer_economics(20_000, 0.08, 60, pd, rich())
    b = offer_economics(20_000, 0.08, 60, marginal, rich())
    assert b.npv == pytest.approx(a.npv, rel=1e-10)
    assert np.allclose(conditional_pds(marginal), pd)
    assert monthly_hazards([0.01, 0.05], 30)[-1] == pytest.approx(1 - (1 - 0.05 / 0.99) ** (1 / 12))


def test_markup_participation() -> None:
    a = bare(dealer_participation=0.6)
    with_markup = offer_economics(20_000, 0.08, 48, 0.0, a, markup=0.0125)
    assert with_markup.bp["dealer_comp"] == pytest.approx(-0.6 * 125.0)
    none = offer_economics(20_000, 0.08, 48, 0.0, a)
    assert none.pv["dealer_comp"] == 0.0
    flat = offer_economics(20_000, 0.08, 48, 0.0, bare(dealer_flat=300.0))
    assert flat.pv["dealer_comp"] == pytest.approx(-300.0)


def test_upfront_items_and_opex() -> None:
    e = offer_economics(20_000, 0.08, 48, 0.0, rich(tax_rate=0.0))
    assert e.pv["fi_margin"] == 300.0 and e.pv["subvention"] == 400.0
    assert e.pv["opex"] == pytest.approx(-(0.006 * e.balance_years + 250.0))


def test_negative_return_flag() -> None:
    good = offer_economics(20_000, 0.09, 60, 0.01, rich())
    bad = offer_economics(20_000, 0.035, 60, 0.01, rich())
    assert not good.negative_return and good.npv > 0 and good.raroc > 0.15
    assert bad.negative_return and bad.npv < 0 and bad.raroc < 0.15


def test_wal_funding_basis() -> None:
    curve = Funding(FundingCurve((12, 60), (0.02, 0.04)))
    matched = offer_economics(20_000, 0.06, 60, 0.0, bare(curve))
    wal = offer_economics(20_000, 0.06, 60, 0.0, bare(curve, funding_basis="wal"))
    assert matched.funding_rate == pytest.approx(0.04)
    assert 25 < wal.wal_months < 35  # an annuity's WAL is a little over half its term
    assert wal.funding_rate == pytest.approx(0.02 + 0.02 * (wal.wal_months - 12) / 48)


def test_capital_amount_overrides_ratio() -> None:
    a = bare()
    by_ratio = offer_economics(20_000, 0.07, 60, 0.0, a)
    by_amount = offer_economics(20_000, 0.07, 60, 0.0, a, capital=1_600.0)
    assert by_amount.raroc == pytest.approx(by_ratio.raroc)
    assert ul_capital(1_000_000, 0.5, 0.009, 6) == pytest.approx(27_000.0)


def test_exact_schedule_close_to_float_schedule() -> None:
    import datetime as dt
    from decimal import Decimal

    terms = LoanTerms(
        currency="USD",
        loan_amount=Decimal("20000"),
        annual_rate=Decimal("0.0599"),
        term=60,
        start_date=dt.date(2024, 1, 31),
    )
    sched = build_schedule(terms)
    exact = offer_economics(20_000, 0.0599, 60, 0.02, rich(), schedule=sched)
    approx = offer_economics(20_000, 0.0599, 60, 0.02, rich())
    assert exact.npv == pytest.approx(approx.npv, abs=1.0)  # cents move the NPV by pennies
    bal = opening_balances(20_000, 0.0599, 60)
    assert float(sched.rows[0].balance) == pytest.approx(bal[1], abs=0.01)


@pytest.mark.parametrize("pd", [0.0, 0.02, [0.01, 0.03, 0.04]])
@pytest.mark.parametrize("basis", ["matched", "wal"])
def test_minimum_rate_round_trips(pd: float | list[float], basis: str) -> None:
    curve = Funding(FundingCurve((12, 36, 72), (0.02, 0.03, 0.035)), FundingCurve.flat(0.028), 0.3)
    a = rich(funding=curve, funding_basis=basis)
    for target in (0.10, 0.15, 0.25):
        r = minimum_rate(22_000, 60, pd, a, target, balloon=4_000)
        e = offer_economics(22_000, r, 60, pd, a, balloon=4_000)
        assert e.raroc == pytest.approx(target, abs=1e-10)
    r_h = minimum_rate(22_000, 60, pd, a, a.hurdle_rate)
    assert offer_economics(22_000, r_h, 60, pd, a).npv == pytest.approx(0.0, abs=1e-6)


def test_minimum_rate_floor_and_unreachable() -> None:
    generous = bare(subvention=5_000.0)
    assert minimum_rate(10_000, 36, 0.0, generous, 0.15) == 0.0
    with pytest.raises(ValidationError) as err:
        minimum_rate(10_000, 36, 0.9, bare(lgd=1.0), 0.15)
    assert err.value.field == "target_raroc"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: offer_economics(0, 0.05, 60, 0.01, bare()), "amount"),
        (lambda: offer_economics(1_000, 1.5, 60, 0.01, bare()), "rate"),
        (lambda: offer_economics(1_000, 0.05, 0, 0.01, bare()), "term_months"),
        (lambda: offer_economics(1_000, 0.05, 60.5, 0.01, bare()), "term_months"),
        (lambda: offer_economics(1_000, 0.05, 60, 1.2, bare()), "pd"),
        (lambda: offer_economics(1_000, 0.05, 60, [0.6, 0.6], bare()), "pd"),
        (lambda: offer_economics(1_000, 0.05, 60, 0.01, bare(), balloon=2_000), "balloon"),
        (lambda: offer_economics(1_000, 0.05, 60, 0.01, bare(), markup=0.06), "markup"),
        (lambda: offer_economics(1_000, 0.05, 60, 0.01, bare(), capital=0), "capital"),
        (lambda: offer_economics(1_000, 0.05, 60, 0.01, bare(), periods_per_year=5), "periods_per_year"),
        (lambda: offer_economics(1_000, 0.05, 60, 0.01, bare(), schedule=[1_000.0] * 3), "schedule"),
        (lambda: bare(lgd=1.5), "lgd"),
        (lambda: bare(capital_ratio=0.0), "capital_ratio"),
        (lambda: bare(tax_rate=1.0), "tax_rate"),
        (lambda: bare(dealer_participation=-0.1), "dealer_participation"),
        (lambda: bare(opex_annual=float("nan")), "opex_annual"),
        (lambda: bare(funding_basis="spot"), "funding_basis"),
    ],
)
def test_validation_names_the_field(call: object, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        call()  # type: ignore[operator]
    assert err.value.field == field
    assert err.value.rule
