"""Need profiles recover the synthetic world's ground truth (autofin.segments.profiles).

One world of 80,000 applicants with 36 months of performance (``synthesize``, default world file,
seed 7), profiled with its TRUE segments (the labelling whose truth is known). Each tolerance is a
number of standard errors of the estimate, so it tightens as the data grow, plus a relative bound
where it matters that the estimate is precise enough to be useful, not merely consistent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from autofin.data.credit import DEFAULT_FEATURES, default_features, load_credit_world, takeup_features
from autofin.data.synth import load, synthesize
from autofin.data.world import load_world
from autofin.segments.profiles import (
    ELASTICITIES,
    Profiles,
    fit_takeup,
    loan_outcomes,
    profile_world,
    takeup_sensitivity,
)

pytestmark = pytest.mark.slow

N_APPLICANTS = 80_000
MONTHS = 36
Z = 4.0  # |z| > 4 has probability 6.3·10⁻⁵ under normality
#: the elasticities a pricing decision turns on; each must be measured to within 25 % (1 SE)
KEY_ELASTICITIES = ("rate_total", "term_total", "pti")
MAX_RELATIVE_SE = 0.25


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profiles") / "world"
    synthesize(load_world(), applicants=N_APPLICANTS, months=MONTHS, seed=7, out=out)
    return out


@pytest.fixture(scope="module")
def truth(world_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world_dir / "truth.json").read_text())["credit"]
    return data


@pytest.fixture(scope="module")
def profiles(world_dir: Path) -> Profiles:
    return profile_world(world_dir, "truth")


def _elasticity_failures(takeup: pl.DataFrame, truth: dict[str, Any]) -> list[str]:
    """Every (segment, elasticity) whose estimate is more than Z delta-method SEs from the truth."""
    bad: list[str] = []
    true = truth["takeup_model"]["elasticities_at_reference"]
    for row in takeup.iter_rows(named=True):
        for e in ELASTICITIES:
            est, se, t = row[f"elasticity_{e}"], row[f"elasticity_{e}_se"], true[row["segment"]][e]
            if est is None or abs(est - t) > Z * se:
                bad.append(f"{row['segment']}.{e}: true {t:+.4f} est {est} se {se}")
    return bad


def test_elasticities_match_the_truth(profiles: Profiles, truth: dict[str, Any]) -> None:
    """|estimate − truth| ≤ 4 delta-method SE for each of 5 segments × 7 elasticities.

    The per-segment take-up model is exactly the generator's (a logistic on the reached quotes with
    the same features: docs/data-credit.md §2), so the MLE is consistent and asymptotically normal
    with the inverse-Fisher covariance; each elasticity is a smooth function of the coefficients, so
    the delta method gives its asymptotic SE. With ≥ 13,000 reached quotes per segment the normal
    approximation is good; P(any of 35 |z| > 4) ≤ 35 × 6.3·10⁻⁵ ≈ 0.2 % (seed fixed). A huge SE would
    pass vacuously, so the rate, payment (PTI) and term elasticities must also have SE ≤ 25 % of
    their true size — precise enough to rank segments by sensitivity.
    """
    takeup = profiles.takeup
    assert takeup["status"].to_list() == ["fitted"] * 5
    assert not _elasticity_failures(takeup, truth)
    true = truth["takeup_model"]["elasticities_at_reference"]
    for row in takeup.iter_rows(named=True):
        for e in KEY_ELASTICITIES:
            assert row[f"elasticity_{e}_se"] <= MAX_RELATIVE_SE * abs(true[row["segment"]][e]), (
                row["segment"],
                e,
            )
        # the documented design: demand responds more to the term than to the rate, in every segment
        assert abs(row["elasticity_term_total"]) > abs(row["elasticity_rate_total"])


def test_elasticity_check_fails_on_a_shuffled_labelling(world_dir: Path, truth: dict[str, Any]) -> None:
    """The check has power: shuffling the true labels across applicants (same segment sizes) pools
    the segments, and the pooled elasticities sit many SEs from most segments' truths."""
    tables = {t: load(world_dir, t) for t in ("quotes", "applicants", "vehicles")}
    segments = load(world_dir, "truth/segments")
    rng = np.random.default_rng(0)
    shuffled = segments.with_columns(pl.Series("segment", rng.permutation(segments["segment"].to_numpy())))
    takeup = takeup_sensitivity(takeup_features(tables | {"segments": shuffled}))
    failures = _elasticity_failures(takeup, truth)
    assert len(failures) >= 10, failures


def test_observed_default_rates_match_the_true_pd(profiles: Profiles, world_dir: Path) -> None:
    """Observed default rate of full-window loans vs the mean TRUE p_default of the same loans.

    Given the true probabilities, the default count of a segment is a sum of independent Bernoullis
    (Poisson-binomial), so the observed rate has SE √(Σ p(1 − p))/n around the mean true p: the
    tolerance is 4 of those SEs (P(any of 5 spurious failures) ≈ 3·10⁻⁴). The Wilson 95 % interval is
    not asserted to cover the truth: it misses by design in 1 segment of 20.
    """
    loans = load(world_dir, "loans")
    outcomes = loan_outcomes(loans, load(world_dir, "performance"), window_months=36)
    seg = load(world_dir, "truth/segments")
    full = (
        outcomes.filter(pl.col("full_window"))
        .join(loans.select("loan_id", "applicant_id"), on="loan_id")
        .join(seg, on="applicant_id")
        .join(load(world_dir, "truth/defaults"), on="loan_id")
    )
    # months = window = 36 ≥ every loan's min(term, 36): the realised flag is the truth's draw
    assert (full["defaulted"] == full["will_default"]).all()
    expected = full.group_by("segment").agg(
        pl.len().alias("n"),
        pl.col("p_default").mean().alias("p_true"),
        (pl.col("p_default") * (1 - pl.col("p_default"))).sum().sqrt().alias("_sd"),
    )
    rows = profiles.summary.join(expected, on="segment").with_columns(
        (pl.col("_sd") / pl.col("n")).alias("se")
    )
    assert rows.height == 5
    for r in rows.iter_rows(named=True):
        assert r["n_full_window"] == r["n"]
        assert abs(r["default_rate"] - r["p_true"]) <= Z * r["se"], r
        assert r["default_rate_low"] <= r["default_rate"] <= r["default_rate_high"]


def test_model_pd_segment_means_match_the_true_pd(world_dir: Path) -> None:
    """A simple model PD (unpenalised logistic on the documented default features + macro, fitted on a
    random half of the loans) averaged per segment over the other half vs the mean TRUE p_default of
    those same loans.

    The model is correctly specified, so the only error in a segment's mean predicted PD is the
    coefficient estimation error; by the delta method its SE is √(gᵀ Σ g), g = mean over the
    segment's test loans of p̂(1 − p̂)·x, Σ the inverse Fisher information of the training fit. The
    tolerance is 4 of those SEs, and — so the bound is not vacuous — that SE must be ≤ 15 % of the
    true mean PD in every segment.
    """
    world = load_credit_world(world_dir / "world.yaml")
    tables = {t: load(world_dir, t) for t in ("loans", "applicants", "bureau", "vehicles", "performance")}
    names = [*DEFAULT_FEATURES, "macro"]
    outcomes = loan_outcomes(tables["loans"], tables["performance"], window_months=36)
    frame = (
        default_features(world, tables)
        .join(outcomes.select("loan_id", "defaulted"), on="loan_id")
        .join(tables["loans"].select("loan_id", "applicant_id"), on="loan_id")
        .join(load(world_dir, "truth/segments"), on="applicant_id")
        .join(load(world_dir, "truth/defaults").select("loan_id", "p_default"), on="loan_id")
    )
    train_mask = np.random.default_rng(1).random(frame.height) < 0.5
    train, test = frame.filter(pl.Series(train_mask)), frame.filter(pl.Series(~train_mask))
    beta, cov = fit_takeup(train.select(names).to_numpy(), train["defaulted"].to_numpy())
    x1 = np.column_stack([np.ones(test.height), test.select(names).to_numpy()])
    p_hat = 1 / (1 + np.exp(-(x1 @ beta)))
    pd_frame = test.select("applicant_id", pl.Series("pd", p_hat))
    profiled = profile_world(world_dir, "truth", pd=pd_frame).summary
    for segment in sorted(test["segment"].unique().to_list()):
        sel = (test["segment"] == segment).to_numpy()
        g = (p_hat[sel] * (1 - p_hat[sel]))[:, None] * x1[sel]
        g_mean = g.mean(axis=0)
        se = float(np.sqrt(g_mean @ cov @ g_mean))
        p_true = float(test.filter(pl.Series(sel))["p_default"].mean())  # type: ignore[arg-type]
        row = profiled.filter(pl.col("segment") == segment).row(0, named=True)
        assert row["n_pd"] == int(sel.sum())
        assert row["pd_mean"] == pytest.approx(float(p_hat[sel].mean()))
        assert se <= 0.15 * p_true, (segment, se, p_true)
        assert abs(row["pd_mean"] - p_true) <= Z * se, (segment, row["pd_mean"], p_true, se)


def test_service_attach_rates_match_the_truth(profiles: Profiles, truth: dict[str, Any]) -> None:
    """Each booked loan attaches each kind independently with its true segment's probability p
    (docs/data-credit.md, services), so a segment's attach rate over n loans has SE √(p(1 − p)/n);
    tolerance 4 SE for each of the 5 × 4 (segment, kind) rates (P(any spurious failure) ≈ 0.1 %)."""
    if not truth.get("services"):
        pytest.skip("this world has no services section")
    attach = truth["services"]["attach_probability"]
    rows = profiles.services
    assert rows.height == sum(len(kinds) for kinds in attach.values())
    for r in rows.iter_rows(named=True):
        p = attach[r["segment"]][r["service"]]
        assert abs(r["attach_rate"] - p) <= Z * np.sqrt(p * (1 - p) / r["n_loans"]), r


def test_profile_shape_and_values_are_sane(profiles: Profiles, truth: dict[str, Any]) -> None:
    s = profiles.summary
    assert s["share"].sum() == pytest.approx(1.0)
    assert set(s["segment"]) == set(truth["takeup_model"]["coefficients"])
    # prime professionals: highest income, lowest default rate, least payment-sensitive
    by = {r["segment"]: r for r in s.iter_rows(named=True)}
    assert max(by, key=lambda k: by[k]["income_median"]) == "prime_professional"
    assert min(by, key=lambda k: by[k]["default_rate"]) == "prime_professional"
    t = {r["segment"]: r for r in profiles.takeup.iter_rows(named=True)}
    assert max(t, key=lambda k: t[k]["elasticity_pti"]) == "prime_professional"
    assert s["return_on_balance_annual"].is_finite().all()
    json.dumps(profiles.to_dict(), allow_nan=False)
