"""The integer batch kernel agrees with the exact Decimal engine to the cent, on every row.

Thousands of random contracts of every payment shape (annuity, equal principal, balloon, stepped,
interest-only and bullet), ragged terms, zero and high rates, tiny and large principals, are built once
by :func:`autofin.finance.batch.batch_schedule` and once each by
:func:`autofin.finance.schedule.build_schedule`; every row must match exactly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.finance.batch import SHAPES, BatchSchedule, batch_schedule

schedule_mod = pytest.importorskip("autofin.finance.schedule")
terms_mod = pytest.importorskip("autofin.finance.terms")

START = date(2024, 1, 31)


def _terms(
    cents: int, rate_units: int, n: int, shape: str, balloon: int, io: int, growth: str, every: int
) -> object:
    kw: dict[str, object] = {
        "loan_amount": Decimal(cents) / 100,
        "annual_rate": Decimal(rate_units) / Decimal(10**8),
        "term": n,
        "start_date": START,
    }
    if shape == "equal_principal":
        kw["repayment"] = terms_mod.Repayment.EQUAL_PRINCIPAL
    elif shape == "balloon":
        kw["balloon"] = terms_mod.Balloon(amount=Decimal(balloon) / 100)
    elif shape == "step":
        kw["steps"] = terms_mod.Steps(growth_rate=Decimal(growth), every=every)
    elif shape == "interest_only":
        if io == n:
            kw["repayment"] = terms_mod.Repayment.BULLET
        else:
            kw["grace"] = [terms_mod.Grace(kind=terms_mod.GraceKind.INTEREST_ONLY, periods=io)]
    return terms_mod.LoanTerms(**kw)


def _assert_row_by_row(batch: BatchSchedule, j: int, terms: object) -> None:
    exact = schedule_mod.build_schedule(terms)
    rows = exact.rows
    assert int(batch.term[j]) == len(rows), (j, terms)
    for k, row in enumerate(rows):
        want = tuple(int(x * 100) for x in (row.instalment, row.interest, row.principal, row.balance))
        got = (
            int(batch.instalment[j, k]),
            int(batch.interest[j, k]),
            int(batch.principal[j, k]),
            int(batch.balance_after[j, k]),
        )
        assert got == want, (j, k + 1, terms)
    assert int(batch.balloon[j]) == int(exact.balloon * 100)
    assert not batch.instalment[j, len(rows) :].any()


def _random_contracts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    term = rng.integers(1, 97, n)
    term[: n // 20] = rng.integers(97, 361, n // 20)  # some long terms
    cents = rng.integers(100_000, 20_000_000, n)
    cents[: n // 10] = rng.integers(1, 5_000, n // 10)  # tiny loans: rounding ends them early
    cents[n // 10 : n // 10 + n // 20] = rng.integers(10**9, 10**10, n // 20)  # huge loans
    rate = rng.integers(0, 3_600_000, n)
    rate[rng.random(n) < 0.05] = 0
    on_grid = rng.random(n) < 0.3
    rate[on_grid] = rng.integers(0, 73, int(on_grid.sum())) * 50_000  # quarter-point rates
    codes = rng.integers(0, len(SHAPES), n)
    codes[term == 1] = 0
    balloon = np.where(codes == 2, (cents * rng.uniform(0.05, 0.6, n)).astype(np.int64), 0)
    codes[(codes == 2) & (balloon == 0)] = 0
    io = np.where(codes == 4, rng.integers(1, term + 1), 0)
    growth = np.round(rng.uniform(-0.3, 0.4, n), 3)
    every = rng.integers(1, 13, n)
    return {
        "cents": cents,
        "rate": rate,
        "term": term,
        "codes": codes,
        "balloon": balloon,
        "io": io,
        "growth": growth,
        "every": every,
    }


def _check_batch(c: dict[str, np.ndarray]) -> None:
    rates = np.array([str(Decimal(int(r)) / Decimal(10**8)) for r in c["rate"]], dtype=object)
    batch = batch_schedule(
        c["cents"],
        rates,
        c["term"],
        shape=c["codes"],
        balloon_cents=c["balloon"],
        interest_only_periods=c["io"],
        step_rate=c["growth"],
        step_every=c["every"],
    )
    for j in range(len(c["cents"])):
        terms = _terms(
            int(c["cents"][j]),
            int(c["rate"][j]),
            int(c["term"][j]),
            SHAPES[int(c["codes"][j])],
            int(c["balloon"][j]),
            int(c["io"][j]),
            repr(float(c["growth"][j])),
            int(c["every"][j]),
        )
        _assert_row_by_row(batch, j, terms)


@pytest.mark.parametrize("seed", [0, 1])
def test_thousands_of_random_contracts(seed: int) -> None:
    _check_batch(_random_contracts(np.random.default_rng(seed), 1500))


def test_half_cent_ties_everywhere() -> None:
    # balances × rate / 12 landing on exact half cents, and zero-rate payments of x.5 cents
    cents = np.array([600, 1_800, 6_000_006, 30_000, 101, 303, 1_000_001, 7])
    rate = np.array([1_000_000, 1_000_000, 1_000_000, 20_000_000, 0, 0, 0, 0])
    term = np.array([2, 3, 12, 7, 2, 2, 2, 2])
    c = {
        "cents": cents,
        "rate": rate,
        "term": term,
        "codes": np.zeros(8, dtype=np.int64),
        "balloon": np.zeros(8, dtype=np.int64),
        "io": np.zeros(8, dtype=np.int64),
        "growth": np.zeros(8),
        "every": np.full(8, 12),
    }
    _check_batch(c)


contract = st.tuples(
    st.integers(1, 10**10),  # principal, cents
    st.integers(0, 36_000_000),  # rate, 1e-8 units
    st.integers(1, 120),  # term
    st.sampled_from(SHAPES),
    st.floats(0.0, 0.9),  # balloon share
    st.floats(0.0, 1.0),  # interest-only share of the term
    st.decimals(Decimal("-0.5"), Decimal("0.5"), places=3),
    st.integers(1, 24),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(contract, min_size=1, max_size=30))
def test_hypothesis_contracts(contracts: list[tuple[int, int, int, str, float, float, Decimal, int]]) -> None:
    rows = []
    for cents, rate, n, shape, bshare, ioshare, growth, every in contracts:
        if n == 1:
            shape = "annuity"
        balloon = int(cents * bshare) if shape == "balloon" else 0
        if shape == "balloon" and balloon == 0:
            shape = "annuity"
        io = max(1, round(n * ioshare)) if shape == "interest_only" else 0
        if shape == "step":  # keep negative amortisation within the int64 range of the kernel
            cents = min(cents, 10**9)
        rows.append((cents, rate, n, SHAPES.index(shape), balloon, io, float(growth), every))
    arr = np.array(rows, dtype=object)
    c = {
        "cents": arr[:, 0].astype(np.int64),
        "rate": arr[:, 1].astype(np.int64),
        "term": arr[:, 2].astype(np.int64),
        "codes": arr[:, 3].astype(np.int64),
        "balloon": arr[:, 4].astype(np.int64),
        "io": arr[:, 5].astype(np.int64),
        "growth": arr[:, 6].astype(np.float64),
        "every": arr[:, 7].astype(np.int64),
    }
    _check_batch(c)
