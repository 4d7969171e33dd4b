"""The synthetic credit world's ground truth is recoverable from its data (autofin.data.credit).

On 200,000 applicants, plain (unpenalised) logistic regressions recover every coefficient of the latent
default model and of each segment's take-up model within 4 standard errors, and the sign of every
driver. The standard errors come from the Fisher information of the fitted model,
Cov(β̂) = (Xᵀ diag(p̂(1 − p̂)) X)⁻¹: a correctly specified maximum-likelihood fit is asymptotically normal
around the truth with that covariance, so each |β̂ − β| / SE exceeds 4 with probability 6·10⁻⁵; over the
~60 coefficients checked the chance of a spurious failure is below 0.4 % (and the seed is fixed). A
driver's sign is only asserted when its true coefficient is at least 4 standard errors from zero, so
the sign check is as strict as the data allow rather than a coin toss on small effects.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from autofin.data.credit import (
    DEFAULT_FEATURES,
    TAKEUP_FEATURES,
    CreditWorld,
    default_features,
    generate_credit,
    load_credit_world,
    takeup_features,
)

WORLD_FILE = Path(__file__).parents[2] / "src" / "autofin" / "data" / "worlds" / "default.yaml"
N_APPLICANTS = 200_000
TOLERANCE_SE = 4.0


def _fixture_module() -> ModuleType:
    # the schema-conforming stand-in population lives beside the unit tests (one definition)
    path = Path(__file__).parents[1] / "unit" / "test_credit.py"
    spec = importlib.util.spec_from_file_location("_credit_population_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def world() -> CreditWorld:
    return load_credit_world(WORLD_FILE)


@pytest.fixture(scope="module")
def data(world: CreditWorld) -> dict[str, pl.DataFrame]:
    pop = _fixture_module().fake_population(N_APPLICANTS, seed=11)
    return pop | generate_credit(world, pop, 2024, 36)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpenalised logistic MLE (intercept first) and its standard errors from the Fisher information."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    # no penalty: scikit-learn ≥ 1.8 deprecates penalty=None in favour of the equivalent C=inf
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=5000, tol=1e-10)
    model.fit((x - mu) / sd, y)
    slope = model.coef_[0] / sd
    beta = np.r_[model.intercept_[0] - slope @ mu, slope]
    x1 = np.column_stack([np.ones(x.shape[0]), x])
    p = 1.0 / (1.0 + np.exp(-(x1 @ beta)))
    info = x1.T @ (x1 * (p * (1.0 - p))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return beta, se


def _check(names: list[str], truth: np.ndarray, beta: np.ndarray, se: np.ndarray, what: str) -> None:
    z = (beta - truth) / se
    report = "\n".join(
        f"  {n:24s} true {t:+.4f} fitted {b:+.4f} se {s:.4f} z {zz:+.2f}"
        for n, t, b, s, zz in zip(names, truth, beta, se, z, strict=True)
    )
    assert np.all(np.abs(z) <= TOLERANCE_SE), f"{what}: coefficient off by more than 4 SE\n{report}"
    clear = np.abs(truth) >= TOLERANCE_SE * se
    assert np.all(np.sign(beta[clear]) == np.sign(truth[clear])), f"{what}: wrong sign\n{report}"


def test_default_model_is_recovered(world: CreditWorld, data: dict[str, pl.DataFrame]) -> None:
    feats = default_features(world, data)
    realised = (
        data["performance"].group_by("loan_id").agg((pl.col("status") == "default").any().alias("defaulted"))
    )
    frame = feats.join(realised, on="loan_id", how="left", maintain_order="left")
    y = frame["defaulted"].to_numpy()
    assert y.sum() > 1_500, "too few defaults to test recovery"
    names = [*DEFAULT_FEATURES, "macro"]
    x = frame.select(names).to_numpy()
    beta, se = _fit(x, y)
    c = world.default.coefficients
    truth = np.array([world.default.intercept, *(getattr(c, f) for f in DEFAULT_FEATURES), 1.0])
    _check(["intercept", *names], truth, beta, se, "default model")
    # every documented driver is signed and clearly identified at this sample size
    assert np.all(np.abs(truth[1:-1]) >= TOLERANCE_SE * se[1:-1]), "a driver is too weak to identify"


def test_takeup_models_are_recovered(world: CreditWorld, data: dict[str, pl.DataFrame]) -> None:
    tf = takeup_features(data).filter(pl.col("reached"))
    checked: list[str] = []
    for segment, coefs in sorted(world.takeup.coefficients.items()):
        seg = tf.filter(pl.col("segment") == segment)
        x = seg.select(TAKEUP_FEATURES).to_numpy()
        y = seg["taken"].to_numpy()
        beta, se = _fit(x, y)
        truth = np.array([coefs.intercept, *(getattr(coefs, f) for f in TAKEUP_FEATURES)])
        _check(["intercept", *TAKEUP_FEATURES], truth, beta, se, f"take-up {segment}")
        checked.append(segment)
    assert len(checked) == 5


def test_truth_tables_match_the_data(world: CreditWorld, data: dict[str, pl.DataFrame]) -> None:
    truth = data["truth_defaults"]
    defaulted = (
        data["performance"]
        .filter(pl.col("status") == "default")
        .group_by("loan_id")
        .agg(pl.col("month_on_book").min())
    )
    joined = truth.join(defaulted, on="loan_id", how="left")
    # with 36 months observed, a loan defaults in the data exactly when the truth says so, at that month
    assert (joined["will_default"] == joined["month_on_book"].is_not_null()).all()
    d = joined.filter(pl.col("will_default"))
    assert (d["default_month"] == d["month_on_book"]).all()
    # mean predicted take-up equals the realised rate on reached quotes (calibration of the truth)
    tf = takeup_features(data).filter(pl.col("reached")).join(data["truth_takeup"], on="quote_id")
    gap: Any = abs(tf["p_take"].mean() - tf["taken"].mean())  # type: ignore[operator]
    assert gap < 0.005
