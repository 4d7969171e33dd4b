"""Price optimiser on small hand-made cells with known optima, constraints that bind, and errors."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import brentq

from autofin.errors import ValidationError
from autofin.pricing.optimise import (
    FairLending,
    PricingCell,
    PricingConstraints,
    evaluate_sheet,
    flat_margin_rates,
    margin_npv,
    optimise_rates,
)
from autofin.pricing.takeup import TrueTakeup

# rate-only take-up (no payment effect): P(r) = logistic(a + b·100·r)
A, B = 1.0, -0.25
MODEL = TrueTakeup(
    {
        "s": {"intercept": A, "rate_pct": B},
        "t": {"intercept": A + 0.5, "rate_pct": 2 * B},
    }
)


def _cell(**kw: object) -> PricingCell:
    base: dict[str, object] = {
        "segment": "s",
        "tier": "prime",
        "term_months": 36,
        "n_quotes": 1000.0,
        "amount": 100_000.0,
        "annual_pd": 0.01,
        "funding_rate": 0.03,
        "amount_to_income": 10.0,
        "down_share": 0.3,
        "group_shares": {"female": 0.5, "male": 0.5},
    }
    return PricingCell(**(base | kw))  # type: ignore[arg-type]


def linear_npv(cell: PricingCell, rates: np.ndarray) -> np.ndarray:
    """NPV = amount · (rate − funding − pd·0.5): linear in the rate."""
    return cell.amount * (rates - cell.funding_rate - 0.5 * cell.annual_pd)


def _known_optimum(cost: float, a: float = A, b: float = B) -> float:
    """Root of the first-order condition (r − cost)·(1 − P(r))·(−100 b) = 1."""

    def foc(r: float) -> float:
        p = 1 / (1 + math.exp(-(a + 100 * b * r)))
        return (r - cost) * (1 - p) * (-100 * b) - 1

    return float(brentq(foc, cost, 1.0))


CAP = PricingConstraints(cap=0.30)


def test_one_cell_solves_the_first_order_condition() -> None:
    cell = _cell()
    res = optimise_rates([cell], MODEL, linear_npv, CAP)
    expected = _known_optimum(0.03 + 0.005)
    assert res.rates[0] == pytest.approx(expected, abs=2e-5)
    assert res.success and res.report.feasible


def test_payment_sensitivity_lowers_the_optimal_rate() -> None:
    pti_model = TrueTakeup({"s": {"intercept": A + 1.0, "rate_pct": B, "pti_pct": -0.06}})
    plain = optimise_rates([_cell()], MODEL, linear_npv, CAP).rates[0]
    with_pti = optimise_rates([_cell()], pti_model, linear_npv, CAP).rates[0]
    grid = np.linspace(0.03, 0.3, 27001)
    p = pti_model.p_take("s", grid, term_months=36, amount_to_income=10.0, down_share=0.3)
    brute = grid[np.argmax(p * linear_npv(_cell(), grid))]
    assert with_pti == pytest.approx(brute, abs=2e-5)
    assert with_pti != pytest.approx(plain, abs=1e-3)


def test_cap_binds() -> None:
    unconstrained = _known_optimum(0.035)
    res = optimise_rates([_cell(cap=0.08)], MODEL, linear_npv, CAP)
    assert unconstrained > 0.08
    assert res.rates[0] == pytest.approx(0.08)
    assert res.report.check("cap").binding
    global_cap = optimise_rates([_cell()], MODEL, linear_npv, PricingConstraints(cap=0.07))
    assert global_cap.rates[0] == pytest.approx(0.07)


def test_floor_binds_at_funding_plus_margin() -> None:
    cons = PricingConstraints(cap=0.30, min_margin=0.20)
    res = optimise_rates([_cell()], MODEL, linear_npv, cons)
    assert res.rates[0] == pytest.approx(0.23)
    assert res.report.check("floor").binding
    floor = PricingConstraints(cap=0.30, floor=0.25)
    assert optimise_rates([_cell()], MODEL, linear_npv, floor).rates[0] == pytest.approx(0.25)


def test_volume_target_binds() -> None:
    free = optimise_rates([_cell()], MODEL, linear_npv, CAP)
    target = free.report.volume * 1.2
    res = optimise_rates([_cell()], MODEL, linear_npv, replace(CAP, min_volume=target))
    assert res.report.volume == pytest.approx(target, rel=1e-6)
    assert res.report.check("volume").binding
    assert res.rates[0] < free.rates[0]
    assert res.report.profit < free.report.profit


def test_volume_target_out_of_reach_names_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell()], MODEL, linear_npv, replace(CAP, min_volume=5000.0))
    assert exc.value.field == "constraints.min_volume"


def _two_tiers() -> list[PricingCell]:
    return [
        _cell(tier="prime", annual_pd=0.01),
        _cell(segment="s", tier="subprime", annual_pd=0.03),
    ]


def test_monotone_tiers() -> None:
    safe = _cell(tier="prime", annual_pd=0.0)
    risky = _cell(tier="subprime", annual_pd=0.0, funding_rate=0.0)  # cheaper to fund: wants a lower rate
    free = optimise_rates([safe, risky], MODEL, linear_npv, CAP)
    assert free.rates[1] < free.rates[0]
    cons = replace(CAP, tier_order=("prime", "subprime"))
    res = optimise_rates([safe, risky], MODEL, linear_npv, cons)
    assert res.rates[1] >= res.rates[0] - 1e-9
    assert res.report.check("monotone").binding
    assert res.rates[1] == pytest.approx(res.rates[0], abs=1e-7)


def test_risk_mix_limit_binds() -> None:
    cells = _two_tiers()
    free = optimise_rates(
        cells, MODEL, linear_npv, replace(CAP, risky_tiers=("subprime",), max_risky_share=1.0)
    )
    share = free.report.risky_share
    cons = replace(CAP, risky_tiers=("subprime",), max_risky_share=share - 0.05)
    res = optimise_rates(cells, MODEL, linear_npv, cons)
    assert res.report.risky_share == pytest.approx(share - 0.05, abs=1e-6)
    assert res.report.check("risk_mix").binding


def test_fair_lending_gap_binds_at_delta() -> None:
    # female-heavy cell is the rate-sensitive segment "t" (cheaper), male-heavy the other: a natural gap
    cells = [
        _cell(segment="s", group_shares={"female": 0.2, "male": 0.8}),
        _cell(segment="t", group_shares={"female": 0.8, "male": 0.2}),
    ]
    loose = optimise_rates(
        cells, MODEL, linear_npv, replace(CAP, fair_lending=FairLending("female", "male", 1.0))
    )
    natural = loose.report.rate_gap
    assert natural < -0.005
    delta = 0.002
    tight = optimise_rates(
        cells, MODEL, linear_npv, replace(CAP, fair_lending=FairLending("female", "male", delta))
    )
    assert tight.report.rate_gap == pytest.approx(-delta, abs=1e-7)
    assert tight.report.check("fair_lending_lower").binding
    assert tight.report.profit < loose.report.profit
    assert not np.allclose(tight.rates, loose.rates, atol=1e-4)


def test_report_against_flat_sheet_and_json() -> None:
    cells = _two_tiers()
    flat = flat_margin_rates(cells, 0.04, cap=0.30)
    np.testing.assert_allclose(flat, [0.07, 0.07])
    cost_plus = flat_margin_rates(cells, 0.04, lgd=0.5)
    np.testing.assert_allclose(cost_plus, [0.075, 0.085])
    res = optimise_rates(cells, MODEL, margin_npv(), CAP, baseline=flat)
    assert res.baseline is not None and res.lift > 0
    assert res.report.profit == pytest.approx(res.baseline.profit + res.lift)
    comp = res.comparison()
    assert {"rate", "rate_baseline", "profit_change"} <= set(comp.columns) and comp.height == 2
    json.dumps(res.to_dict())
    again = evaluate_sheet(cells, res.rates, MODEL, margin_npv(), CAP)
    assert again.profit == pytest.approx(res.report.profit)
    assert 0 < again.takeup_rate < 1 and again.approval_rate == pytest.approx(1.0)


def test_margin_npv_is_margin_on_balance() -> None:
    cell = _cell(term_months=12)
    npv = margin_npv(opex_rate=0.0, lgd=0.0)
    zero = npv(cell, np.array([0.0, 0.03]))
    assert zero[1] == pytest.approx(0.0, abs=1e-9)
    # at a 0 % rate the balance falls linearly: Σ B_k/12 = A·(n + 1)/(2n)·n/12
    assert zero[0] == pytest.approx(-0.03 * 100_000 * (13 / 24), rel=1e-12)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0.0}, "cells[0].amount"),
        ({"annual_pd": 1.5}, "cells[0].annual_pd"),
        ({"n_quotes": -1.0}, "cells[0].n_quotes"),
        ({"down_share": 1.2}, "cells[0].down_share"),
        ({"cap": 0.01}, "cells[0].cap"),
        ({"group_shares": {"female": 2.0}}, "cells[0].group_shares.female"),
    ],
)
def test_cell_errors_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell(**change)], MODEL, linear_npv, CAP)
    assert exc.value.field == field


@pytest.mark.parametrize(
    ("cons", "field"),
    [
        (PricingConstraints(), "cells[0].cap"),
        (PricingConstraints(cap=0.3, max_risky_share=0.2), "constraints.risky_tiers"),
        (PricingConstraints(cap=0.3, risky_tiers=("nope",), max_risky_share=0.2), "constraints.risky_tiers"),
        (
            PricingConstraints(cap=0.3, fair_lending=FairLending("female", "male", -0.1)),
            "constraints.fair_lending.max_gap",
        ),
        (
            PricingConstraints(cap=0.3, fair_lending=FairLending("x", "male", 0.1)),
            "constraints.fair_lending.group",
        ),
        (PricingConstraints(cap=1.3), "constraints.cap"),
    ],
)
def test_constraint_errors_name_the_field(cons: PricingConstraints, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell()], MODEL, linear_npv, cons)
    assert exc.value.field == field


def test_other_errors() -> None:
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell(), _cell()], MODEL, linear_npv, CAP)
    assert exc.value.field == "cells[1].key"
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell(segment="zzz")], MODEL, linear_npv, CAP)
    assert exc.value.field == "segment"
    with pytest.raises(ValidationError) as exc:
        evaluate_sheet([_cell()], [0.05, 0.06], MODEL, linear_npv, CAP)
    assert exc.value.field == "rates"
    with pytest.raises(ValidationError) as exc:
        optimise_rates([_cell()], MODEL, lambda c, r: np.zeros(3), CAP)
    assert exc.value.field == "npv_fn"
