"""Floating-rate spreads, rate locks and repricing a rate sheet when funding moves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autofin.catalog.models import FloatingSpec
from autofin.errors import ValidationError
from autofin.pricing.buildup import PricingAssumptions
from autofin.pricing.funding import Funding, FundingCurve
from autofin.pricing.rates import (
    FloatingTerms,
    LockedQuote,
    RateLock,
    customer_rate_path,
    reprice,
    spread_for_target,
)
from autofin.pricing.ratesheet import RateSheet, ScoreBand, TermBand, compile_rate_sheet, is_monotone

BANDS = [ScoreBand("A", 700, None), ScoreBand("B", None, 699)]
TERMS = [TermBand(1, 12), TermBand(13, 36)]


def simple(funding: float = 0.03) -> PricingAssumptions:
    """PD 0 and no opex: minimum rate = funding + capital ratio (10 %) × target."""
    return PricingAssumptions(Funding.flat(funding), lgd=0.4, opex_origination=0, opex_annual=0,
                              capital_ratio=0.1, hurdle_rate=0.12)  # fmt: skip


def sheet() -> RateSheet:
    # every cell at 3 % + 10 % × 15 % = 4.5 %
    return compile_rate_sheet(simple(), 0.15, bands=BANDS, pd_by_band={"A": 0.0, "B": 0.0},
                              terms=TERMS, lgd={"new": 0.4, "used": 0.5}, legal_cap=0.052)  # fmt: skip


def test_rate_path_resets_within_periodic_and_lifetime_caps() -> None:
    bench = [0.03] * 12 + [0.05] * 12 + [0.02] * 12
    plain = customer_rate_path(bench, 0.02, 36)
    assert plain[0] == 0.05 and plain[12] == 0.07 and plain[24] == pytest.approx(0.04)
    capped = customer_rate_path(bench, 0.02, 36, FloatingTerms(periodic_cap=0.01, periodic_floor=0.005))
    assert capped[11] == 0.05 and capped[12] == pytest.approx(0.06) and capped[24] == pytest.approx(0.055)
    life = customer_rate_path(bench, 0.02, 36, FloatingTerms(lifetime_cap=0.065, lifetime_floor=0.045))
    assert life[12] == 0.065 and life[24] == 0.045
    locked = customer_rate_path(bench, 0.02, 36, FloatingTerms(lock_months=18))
    assert locked[12] == 0.05 and locked[24] == pytest.approx(0.04)  # reset at 12 months ignored
    assert customer_rate_path([0.03], 0.01, 3).tolist() == [0.04, 0.04, 0.04]  # short path carried on


def test_floating_terms_from_a_catalogue_spec() -> None:
    spec = FloatingSpec(
        benchmark="LPR_5Y",
        reset_every_months=6,
        periodic_cap=Decimal("0.01"),
        lifetime_cap=Decimal("0.12"),
        lock_months=12,
    )
    t = FloatingTerms.from_spec(spec)
    assert t == FloatingTerms(6, 0.01, None, 0.12, None, 12)
    with pytest.raises(ValidationError) as e:
        FloatingTerms(lifetime_cap=0.05, lifetime_floor=0.06)
    assert e.value.field == "lifetime_floor"


def test_spread_over_a_flat_benchmark_is_the_fixed_minimum_less_the_benchmark() -> None:
    # minimum fixed rate 4.5 %; benchmark 3.5 % flat ⇒ spread 1.00 %
    p = spread_for_target(50_000, 36, 0.0, simple(), 0.15, [0.035])
    assert p.spread == 0.01 and p.initial_rate == pytest.approx(0.045)
    assert p.min_fixed_rate == pytest.approx(0.045) and p.raroc == pytest.approx(0.15, abs=1e-9)


def test_a_rising_benchmark_path_needs_a_smaller_spread() -> None:
    rising = [0.035] * 12 + [0.045] * 12 + [0.055] * 12
    p = spread_for_target(50_000, 36, 0.0, simple(), 0.15, rising)
    assert p.spread < 0.01 and p.raroc >= 0.15 - 1e-9
    assert p.rate_path[12] - p.rate_path[0] == pytest.approx(0.01)


def test_a_binding_lifetime_cap_is_reported() -> None:
    with pytest.raises(ValidationError) as e:
        spread_for_target(50_000, 36, 0.0, simple(), 0.15, [0.035], terms=FloatingTerms(lifetime_cap=0.04))
    assert e.value.field == "lifetime_cap"


def test_rate_lock_is_honoured_through_its_last_day() -> None:
    lock = RateLock(0.045, date(2026, 3, 1), 30)
    assert lock.expires == date(2026, 3, 31)
    assert lock.valid_on(date(2026, 3, 1)) and lock.valid_on(date(2026, 3, 31))
    assert not lock.valid_on(date(2026, 4, 1)) and not lock.valid_on(date(2026, 2, 28))
    with pytest.raises(ValidationError) as e:
        RateLock(0.045, date(2026, 3, 1), -1)
    assert e.value.field == "days"


def test_reprice_shifts_each_cell_by_the_funding_change_at_its_term() -> None:
    old = FundingCurve.flat(0.03)
    new = FundingCurve((12, 36), (0.035, 0.04))  # +50 bp at 12 months, +100 bp at 36
    r = reprice(sheet(), old, new)
    s = r.sheet
    assert s.rate_for("A", 12, "new") == 0.05 and s.rate_for("B", 36, "used") == 0.055
    sh = r.shifts
    assert set(zip(sh["term"].to_list(), sh["shift"].to_list(), strict=True)) == {(12, 0.005), (36, 0.01)}
    assert sh["funding_change"].to_list()[0] == pytest.approx(0.005)
    # 5.5 % is above the 5.2 % legal cap: flagged again, not capped
    assert set(s.flagged["term"].to_list()) == {36}
    assert is_monotone(s) == [] and s.frame["raroc"].null_count() == s.frame.height
    half = reprice(sheet(), old, new, pass_through=0.5).sheet
    assert half.rate_for("A", 12, "new") == 0.0475 and half.rate_for("A", 36, "new") == 0.05
    down = reprice(sheet(), old, old.shifted(-25)).sheet
    assert down.rate_for("A", 36, "new") == 0.0425


def test_reprice_recomputes_raroc_with_the_new_assumptions() -> None:
    new = FundingCurve.flat(0.04)
    r = reprice(sheet(), FundingCurve.flat(0.03), new, assumptions=simple(0.04))
    assert r.sheet.frame["raroc"].to_list() == pytest.approx([0.15] * 8)
    r_half = reprice(sheet(), FundingCurve.flat(0.03), new, pass_through=0.5, assumptions=simple(0.04))
    assert max(r_half.sheet.frame["raroc"].to_list()) < 0.15  # partial pass-through eats the margin


def test_quotes_inside_their_lock_keep_their_rate() -> None:
    old, new = FundingCurve.flat(0.03), FundingCurve.flat(0.035)
    quotes = [
        LockedQuote("q-1", "A", 24, "new", RateLock(0.045, date(2026, 3, 1), 30)),
        LockedQuote("q-2", "A", 24, "new", RateLock(0.045, date(2026, 2, 1), 30)),
    ]
    r = reprice(sheet(), old, new, locks=quotes, on=date(2026, 3, 15))
    assert r.quotes["q-1"].rate == 0.045 and r.quotes["q-1"].locked and r.quotes["q-1"].sheet_rate == 0.05
    assert r.quotes["q-2"].rate == 0.05 and not r.quotes["q-2"].locked
    with pytest.raises(ValidationError) as e:
        reprice(sheet(), old, new, locks=quotes)
    assert e.value.field == "on"
    with pytest.raises(ValidationError) as e:
        reprice(sheet(), old, new, pass_through=-0.1)
    assert e.value.field == "pass_through"
