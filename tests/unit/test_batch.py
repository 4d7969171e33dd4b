"""Unit tests of autofin.finance.batch: exact integer schedules and the portfolio projection."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from autofin.errors import ValidationError
from autofin.finance.batch import (
    SHAPES,
    BatchSchedule,
    abs_to_smm,
    batch_schedule,
    cdr_to_mdr,
    cpr_to_smm,
    project_cashflows,
    rate_to_units,
    smm_to_cpr,
)

# ---------------------------------------------------------------------------------------------------
# exact schedules
# ---------------------------------------------------------------------------------------------------


def _check_invariants(s: BatchSchedule, principal: np.ndarray) -> None:
    assert np.array_equal(s.principal.sum(axis=1), principal)
    n = s.instalment.shape[1]
    for j in range(s.n_contracts):
        t = int(s.term[j])
        assert s.balance_after[j, t - 1] == 0
        assert not s.instalment[j, t:].any() and not s.principal[j, t:].any() and not s.interest[j, t:].any()
        paid = s.instalment[j, :t] - s.interest[j, :t]
        paid[t - 1] += s.balloon[j]
        assert np.array_equal(paid, s.principal[j, :t])
        running = principal[j] - np.cumsum(s.principal[j, :t])
        assert np.array_equal(running, s.balance_after[j, :t])
        assert t <= n


def test_annuity_matches_level_payment() -> None:
    # 20,000.00 at 5.99 % for 60 months; the level payment 386.56 agrees with numpy-financial's pmt
    s = batch_schedule(2_000_000, 0.0599, 60)
    assert s.instalment[0, 0] == 38656
    assert np.all(s.instalment[0, :59] == 38656)
    assert s.interest[0, 0] == 9983  # 2,000,000 × 0.0599 / 12 = 9983.33 cents
    _check_invariants(s, np.array([2_000_000]))
    npf = pytest.importorskip("numpy_financial")
    assert round(-float(npf.pmt(0.0599 / 12, 60, 20_000.0)), 2) == 386.56


def test_interest_half_cent_rounds_up() -> None:
    # 6.00 at 1 %: a month's interest is exactly 0.5 cent and rounds half-up to 1 cent
    s = batch_schedule(600, 0.01, 2, shape="interest_only", interest_only_periods=2)
    assert s.interest[0].tolist() == [1, 1]
    assert s.instalment[0].tolist() == [1, 601]


def test_zero_rate_payment_ties_round_up() -> None:
    s = batch_schedule(101, 0, 2)
    assert s.instalment[0].tolist() == [51, 50]
    assert s.interest[0].tolist() == [0, 0]


def test_equal_principal() -> None:
    s = batch_schedule(1_000_000, 0.06, 3, shape="equal_principal")
    assert s.principal[0].tolist() == [333_333, 333_333, 333_334]
    assert s.interest[0].tolist() == [5000, 3333, 1667]
    _check_invariants(s, np.array([1_000_000]))


def test_balloon_kept_to_the_end() -> None:
    s = batch_schedule(3_000_000, 0.048, 36, shape="balloon", balloon_cents=1_200_000)
    assert s.balloon[0] == 1_200_000
    assert s.balance_after[0, 34] > 1_200_000
    assert s.principal[0, 35] == s.balance_after[0, 34]
    assert s.instalment[0, 35] == s.balance_after[0, 34] - 1_200_000 + s.interest[0, 35]
    assert s.total_paid()[0] == s.instalment[0].sum() + 1_200_000
    _check_invariants(s, np.array([3_000_000]))


def test_interest_only_then_annuity_and_bullet() -> None:
    s = batch_schedule([1_000_000, 1_000_000], 0.12, 12, shape="interest_only", interest_only_periods=[3, 12])
    assert s.principal[0, :3].tolist() == [0, 0, 0]
    assert s.instalment[0, :3].tolist() == [10_000] * 3
    assert len(set(s.instalment[0, 3:11].tolist())) == 1  # level once amortising
    assert s.instalment[1, :11].tolist() == [10_000] * 11  # bullet
    assert s.instalment[1, 11] == 1_010_000
    _check_invariants(s, np.array([1_000_000, 1_000_000]))


def test_step_rate_and_explicit_factors_agree() -> None:
    by_rate = batch_schedule(2_500_000, 0.07, 36, shape="step", step_rate=0.1, step_every=12)
    factors = np.repeat([1.0, 1.1, 1.21], 12)
    by_factor = batch_schedule(2_500_000, 0.07, 36, shape="step", step_factors=factors)
    assert np.array_equal(by_rate.instalment, by_factor.instalment)
    first, second = by_rate.instalment[0, 0], by_rate.instalment[0, 12]
    assert abs(second - first * 1.1) <= 1
    _check_invariants(by_rate, np.array([2_500_000]))


def test_step_grace_delays_the_clock() -> None:
    s = batch_schedule(1_200_000, 0.05, 24, shape="step", step_rate=0.2, step_every=6, step_grace=6)
    inst = s.instalment[0]
    assert len(set(inst[:12].tolist())) == 1
    assert inst[12] > inst[11]


def test_ragged_terms_and_every_shape_in_one_call() -> None:
    principal = np.array([1_000_000, 2_000_000, 3_000_000, 500_000, 800_000])
    s = batch_schedule(
        principal,
        [0.05, 0.0, 0.1, 0.2, 0.0399],
        [12, 24, 36, 6, 48],
        shape=list(SHAPES),
        balloon_cents=[0, 0, 900_000, 0, 0],
        interest_only_periods=[0, 0, 0, 0, 6],
        step_rate=[0, 0, 0, 0.05, 0],
        step_every=[12, 12, 12, 2, 12],
    )
    assert s.instalment.shape == (5, 48)
    assert s.term.tolist() == [12, 24, 36, 6, 48]
    _check_invariants(s, principal)


def test_tiny_loan_repaid_early_like_the_exact_engine() -> None:
    # 1.00 over 60 months at 0 %: 2-cent instalments repay it in 50 rows
    s = batch_schedule(100, 0, 60, shape="equal_principal")
    assert s.term[0] == 50
    _check_invariants(s, np.array([100]))


def test_rate_units() -> None:
    assert rate_to_units(0.0599).item() == 5_990_000
    mixed: list[Decimal | str] = [Decimal("0.12345678"), "0.1"]
    assert rate_to_units(mixed).tolist() == [12_345_678, 10_000_000]
    with pytest.raises(ValidationError) as err:
        rate_to_units(0.123456789)
    assert err.value.field == "annual_rate"
    with pytest.raises(ValidationError):
        rate_to_units(["0.123456789"])
    with pytest.raises(ValidationError):
        rate_to_units(-0.01)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal_cents": 0}, "principal_cents"),
        ({"term_months": 0}, "term_months"),
        ({"balloon_cents": 100_000}, "balloon_cents"),
        ({"shape": "balloon"}, "balloon_cents"),
        ({"shape": "interest_only"}, "interest_only_periods"),
        ({"interest_only_periods": 13}, "interest_only_periods"),
        ({"shape": "flat"}, "shape"),
        ({"step_rate": -1.0}, "step_rate"),
        ({"step_every": 0}, "step_every"),
        ({"term_months": [12, 24]}, "term_months"),
    ],
)
def test_validation(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"principal_cents": 100_000, "annual_rate": 0.05, "term_months": 12}
    if field == "term_months" and isinstance(kwargs.get("term_months"), list):
        base["principal_cents"] = [100_000, 100_000, 100_000]
    base.update(kwargs)
    with pytest.raises(ValidationError) as err:
        batch_schedule(**base)  # type: ignore[arg-type]
    assert err.value.field == field


# ---------------------------------------------------------------------------------------------------
# speeds
# ---------------------------------------------------------------------------------------------------


def test_speed_conversions() -> None:
    assert smm_to_cpr(cpr_to_smm(0.2)) == pytest.approx(0.2, rel=1e-14)
    assert cdr_to_mdr(0.06) == pytest.approx(1 - 0.94 ** (1 / 12), rel=1e-14)
    # % ABS: SMM = ABS / (1 − ABS·(age − 1))
    assert abs_to_smm(0.015, 1) == pytest.approx(0.015)
    assert abs_to_smm(0.015, 25) == pytest.approx(0.015 / (1 - 0.015 * 24))
    assert abs_to_smm(0.05, 30) == 1.0  # pool exhausted


# ---------------------------------------------------------------------------------------------------
# projection
# ---------------------------------------------------------------------------------------------------


def _pool(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "balance": np.round(rng.uniform(2_000, 40_000, n), 2),
        "annual_rate": np.round(rng.uniform(0.0, 0.2, n), 4),
        "remaining_term": rng.integers(1, 73, n),
        "age": rng.integers(0, 40, n),
    }


@pytest.mark.parametrize("block_size", [1, 37, 16_384])
def test_projection_conserves_balance(block_size: int) -> None:
    pool = _pool(500)
    p = project_cashflows(
        pool["balance"],
        pool["annual_rate"],
        pool["remaining_term"],
        age=pool["age"],
        months=72,
        abs_speed=0.015,
        cdr=0.04,
        severity=0.6,
        recovery_lag=5,
        block_size=block_size,
    )
    assert p.months == 77
    total = pool["balance"].sum()
    assert p.opening_balance[0] == pytest.approx(total, rel=1e-12)
    paid = p.scheduled_principal + p.prepayments + p.defaults
    assert np.allclose(p.opening_balance - paid, p.ending_balance, rtol=1e-12, atol=1e-6)
    assert np.allclose(p.opening_balance[1:72], p.ending_balance[:71], rtol=1e-12)
    assert paid.sum() + p.ending_balance[71] == pytest.approx(total, rel=1e-12)
    assert p.recoveries.sum() + p.losses.sum() == pytest.approx(p.defaults.sum(), rel=1e-12)
    assert np.allclose(p.recoveries[5:], 0.4 * p.defaults[:72])
    assert p.ending_balance[71] == pytest.approx(0.0, abs=1e-6)  # every loan matures within 72 months
    assert np.all(np.diff(p.loans_performing[:72]) <= 1e-9)


def test_projection_block_size_does_not_change_results() -> None:
    pool = _pool(300, seed=3)
    kw: dict[str, Any] = {
        "age": pool["age"],
        "abs_speed": 0.013,
        "mdr": 0.002,
        "severity": 0.5,
        "recovery_lag": 3,
    }
    a = project_cashflows(pool["balance"], pool["annual_rate"], pool["remaining_term"], block_size=1, **kw)
    b = project_cashflows(
        pool["balance"], pool["annual_rate"], pool["remaining_term"], block_size=10**6, **kw
    )
    for name, col in a.as_dict().items():
        assert np.allclose(col, b.as_dict()[name], rtol=1e-12, atol=1e-8), name


def test_projection_without_speeds_is_the_sum_of_exact_schedules() -> None:
    rng = np.random.default_rng(11)
    n = 400
    cents = rng.integers(100_000, 5_000_000, n)
    rate = np.round(rng.uniform(0, 0.25, n), 4)
    term = rng.integers(1, 85, n)
    shapes = rng.choice(["annuity", "equal_principal", "balloon", "interest_only"], n)
    balloon = np.where(shapes == "balloon", cents // 3, 0)
    io = np.where(shapes == "interest_only", rng.integers(0, term), 0)
    shapes = np.where((shapes == "interest_only") & (io == 0), "annuity", shapes)
    exact = batch_schedule(cents, rate, term, shape=shapes, balloon_cents=balloon, interest_only_periods=io)
    p = project_cashflows(
        cents / 100, rate, term, shape=shapes, balloon=balloon / 100, interest_only_remaining=io
    )
    horizon = int(term.max())
    assert p.months == horizon
    # the exact schedules round each row to the cent; the projection does not: allow a cent per loan-row
    tol = 0.01 * n
    assert np.allclose(p.scheduled_interest, exact.interest.sum(axis=0) / 100, atol=tol)
    assert np.allclose(p.scheduled_principal, exact.principal.sum(axis=0) / 100, atol=tol)
    assert np.allclose(p.ending_balance, exact.balance_after.sum(axis=0) / 100, atol=tol)
    assert p.scheduled_principal.sum() == pytest.approx(cents.sum() / 100, rel=1e-12)
    alive = (exact.term[:, None] > np.arange(1, horizon + 1)[None, :]).sum(axis=0)
    assert np.array_equal(p.loans_performing, alive)
    assert p.prepayments.sum() == 0 and p.defaults.sum() == 0


@pytest.mark.parametrize("months", [None, 100])
def test_projection_moment_and_stepping_paths_agree(
    monkeypatch: pytest.MonkeyPatch, months: int | None
) -> None:
    from autofin.finance import batch

    rng = np.random.default_rng(21)
    n = 2_000
    bal = rng.uniform(100, 80_000, n)
    rate = np.round(rng.uniform(0.0, 0.5, n), 6)
    rate[::9] = 0.0
    rem = rng.integers(1, 361, n)
    kw: dict[str, Any] = {
        "age": rng.integers(0, 4, n),
        "months": months,
        "balloon": np.where(rng.random(n) < 0.3, bal * 0.4, 0.0),
        "abs_speed": 0.01,
        "cdr": 0.02,
        "severity": 0.5,
        "recovery_lag": 3,
    }
    size = 4 * (int(months or rem.max()) + 2)
    assert batch._moment_plan(rate, int(months or rem.max()), size) is not None
    moments = project_cashflows(bal, rate, rem, **kw)
    monkeypatch.setattr(batch, "_MOMENT_TABLE_MAX", 0)  # force the per-month stepping path
    stepped = project_cashflows(bal, rate, rem, **kw)
    for name, col in moments.as_dict().items():
        ref = stepped.as_dict()[name]
        assert np.allclose(col, ref, rtol=1e-11, atol=1e-9 * float(np.abs(ref).max() or 1.0)), name


def test_projection_long_high_rate_loan_stays_accurate() -> None:
    # 100 % p.a. over 1,200 months: g^m ≈ 1e41, so payment − i·B0 has no correct digit; π_1 is computed
    # as (B0 − balloon)·i / (g^m − 1) instead, and the scheduled balances stay exact to rounding
    b0, i = Fraction(10_000), Fraction(1, 12)
    pmt = b0 * i / (1 - (1 + i) ** -1200)
    p = project_cashflows([10_000.0], [1.0], [1200], months=12)
    b = b0
    for t in range(12):
        interest = b * i
        b -= pmt - interest
        assert p.scheduled_interest[t] == pytest.approx(float(interest), rel=1e-12)
        assert p.ending_balance[t] == pytest.approx(float(b), rel=1e-12)
    full = project_cashflows([10_000.0], [1.0], [1200])
    assert full.scheduled_principal.sum() == pytest.approx(10_000.0, rel=1e-12)
    assert full.ending_balance[-1] == 0.0


def test_projection_seasoned_loans_prepay_at_their_age() -> None:
    one = project_cashflows([10_000.0], [0.0], [24], age=[0], abs_speed=0.02, months=1)
    old = project_cashflows([10_000.0], [0.0], [24], age=[12], abs_speed=0.02, months=1)
    after_sched = 10_000.0 - 10_000.0 / 24
    assert one.prepayments[0] == pytest.approx(after_sched * 0.02)
    assert old.prepayments[0] == pytest.approx(after_sched * 0.02 / (1 - 0.02 * 12))


def test_projection_order_of_events_for_one_loan() -> None:
    p = project_cashflows(
        [12_000.0], [0.12], [12], smm=0.1, mdr=0.05, severity=0.4, recovery_lag=2, months=12
    )
    d = 0.05 * 12_000.0
    survivors = 12_000.0 - d
    assert p.defaults[0] == pytest.approx(d)
    assert p.scheduled_interest[0] == pytest.approx(survivors * 0.01)
    level = 12_000.0 * 0.01 / (1 - 1.01**-12)
    sched = survivors / 12_000.0 * (level - 120.0)
    assert p.scheduled_principal[0] == pytest.approx(sched)
    assert p.prepayments[0] == pytest.approx(0.1 * (survivors - sched))
    assert p.recoveries[2] == pytest.approx(0.6 * d) and p.losses[2] == pytest.approx(0.4 * d)
    assert p.recoveries[:2].sum() == 0


def test_projection_speed_vectors_and_cpr() -> None:
    pool = _pool(50)
    smm = cpr_to_smm(np.linspace(0.05, 0.3, 72))
    a = project_cashflows(pool["balance"], pool["annual_rate"], pool["remaining_term"], smm=smm, months=72)
    b = project_cashflows(
        pool["balance"],
        pool["annual_rate"],
        pool["remaining_term"],
        cpr=np.linspace(0.05, 0.3, 72),
        months=72,
    )
    assert np.allclose(a.prepayments, b.prepayments)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"smm": 0.01, "cpr": 0.1}, "smm"),
        ({"mdr": 0.01, "cdr": 0.1}, "mdr"),
        ({"smm": [0.01, 0.02]}, "smm"),
        ({"cdr": 1.5}, "cdr"),
        ({"severity": 1.2}, "severity"),
        ({"recovery_lag": -1}, "recovery_lag"),
        ({"balloon": 20_000.0}, "balloon"),
        ({"interest_only_remaining": 12}, "interest_only_remaining"),
    ],
)
def test_projection_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        project_cashflows([10_000.0], [0.05], [12], months=12, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
