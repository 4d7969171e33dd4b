"""Tests for autofin.risk.challenger (LightGBM challenger) and autofin.risk.calibration.

AUC anchors: shared REFERENCES.md ("Peer scorecard libraries"): stratified 70/30 split,
``random_state=42``, y = 1 for bad; LightGBM on Give Me Some Credit 0.8671 (with ``age``; here ``age``
is a protected column and is left out, which costs LightGBM about 0.005 AUC). German credit has no
published LightGBM anchor there; on the 17 non-protected columns a plain ``LGBMClassifier()`` (defaults,
categoricals as pandas categories) scores 0.788 on this split, measured when this test was written.
The synthetic samples below are drawn here from a known logistic model, so the "true" PD is known.
LightGBM runs with one thread (the test machine is shared).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from autofin.data.public import load_german_credit
from autofin.errors import ValidationError
from autofin.risk.calibration import Calibrator, calibration_table, hosmer_lemeshow
from autofin.risk.challenger import DEFAULT_MONOTONE, Challenger
from autofin.risk.reasons import ReasonCatalog

# --- helpers ----------------------------------------------------------------------------------------------

_REGION_EFFECT = {"tier1": -0.2, "tier2": 0.0, "tier3": 0.15, "tier4": 0.3}


def _logistic_sample(n: int, seed: int) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """A well-specified sample: features named as in the synthetic world, y ~ Bernoulli(expit(z))."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "score_z": rng.normal(0.0, 1.0, n),
            "dti": rng.uniform(0.1, 0.6, n),
            "ltv": rng.uniform(0.5, 1.1, n),
            "pti": rng.uniform(0.05, 0.3, n),
            "delinquencies_24m": rng.poisson(0.4, n).astype(np.float64),
            "region": rng.choice(list(_REGION_EFFECT), n),
        }
    )
    region = frame["region"].replace_strict(_REGION_EFFECT, return_dtype=pl.Float64).to_numpy()
    z = (
        -4.0
        - 0.75 * frame["score_z"].to_numpy()
        + 1.0 * frame["dti"].to_numpy()
        + 1.5 * frame["ltv"].to_numpy()
        + 2.5 * frame["pti"].to_numpy()
        + 0.3 * frame["delinquencies_24m"].to_numpy()
        + region
    )
    p = 1.0 / (1.0 + np.exp(-z))
    y = (rng.random(n) < p).astype(np.int8)
    return frame, y, p


def _split(n: int, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    train, test = train_test_split(np.arange(n), test_size=0.3, stratify=y, random_state=42)
    return np.asarray(train), np.asarray(test)


def _grid_predictions(model: Challenger, rows: pl.DataFrame, feature: str, grid: np.ndarray) -> np.ndarray:
    """Log-odds of each row (axis 0) with ``feature`` set to each grid value (axis 1), others fixed."""
    dtype = rows.schema[feature]
    repeated = rows.select(pl.all().repeat_by(len(grid)).explode())
    values = np.tile(grid, rows.height)
    varied = repeated.with_columns(pl.Series(feature, values).cast(dtype))
    return model.log_odds(varied).reshape(rows.height, len(grid))


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def german() -> dict[str, Any]:
    ds = load_german_credit()
    x = ds.frame.select(ds.model_columns)
    y = ds.y().to_numpy()
    train, test = _split(x.height, y)
    model = Challenger(num_threads=1, protected_columns=ds.protected_columns).fit(x[train], y[train])
    return {"ds": ds, "x": x, "y": y, "train": train, "test": test, "model": model}


@pytest.fixture(scope="module")
def synthetic() -> dict[str, Any]:
    x, y, p = _logistic_sample(10_000, seed=0)
    half = x.height // 2
    model = Challenger(num_threads=1).fit(x[:half], y[:half])
    return {"x": x, "y": y, "p": p, "half": half, "model": model}


# --- discrimination ---------------------------------------------------------------------------------------


def test_german_credit_auc_on_the_reference_split(german: dict[str, Any]) -> None:
    model, x, y, test = german["model"], german["x"], german["y"], german["test"]
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    # measured: 0.784 (cv_folds=0: 0.791; plain LGBMClassifier 0.788); German is small (700 rows)
    assert auc >= 0.74
    assert model.features_ == german["ds"].model_columns
    assert set(model.categorical_) == set(german["ds"].categorical_columns) & set(model.features_)
    proba = model.predict_proba(x[test])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-15)


@pytest.mark.network
def test_give_me_some_credit_auc_on_the_reference_split() -> None:
    from autofin.data.public import load_give_me_some_credit

    ds = load_give_me_some_credit()
    x, y = ds.frame.select(ds.model_columns), ds.y().to_numpy()
    train, test = _split(x.height, y)
    model = Challenger(num_threads=1, protected_columns=ds.protected_columns).fit(x[train], y[train])
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    # REFERENCES.md: LightGBM 0.8671 with age; measured here without it: challenger 0.863, plain 0.860
    assert auc >= 0.86
    # the calibrated PD keeps the ranking (isotonic ties cost a little AUC) and the level
    assert roc_auc_score(y[test], model.pd(x[test])) >= 0.855
    assert abs(model.pd(x[test]).mean() - y[test].mean()) <= 0.005


# --- monotone constraints ---------------------------------------------------------------------------------


def test_default_monotone_constraints_hold_on_a_grid(synthetic: dict[str, Any]) -> None:
    model, x = synthetic["model"], synthetic["x"]
    assert model.monotone_ == {
        f: DEFAULT_MONOTONE[f] for f in ("score_z", "dti", "ltv", "pti", "delinquencies_24m")
    }
    rows = x[:60]
    for feature, grid in (
        ("score_z", np.linspace(-3.5, 3.5, 57)),
        ("dti", np.linspace(0.0, 0.8, 41)),
        ("ltv", np.linspace(0.3, 1.3, 41)),
        ("pti", np.linspace(0.0, 0.4, 41)),
        ("delinquencies_24m", np.arange(0.0, 8.0)),
    ):
        steps = np.diff(_grid_predictions(model, rows, feature, grid), axis=1) * DEFAULT_MONOTONE[feature]
        assert steps.min() >= 0.0, feature
        assert steps.max() > 0.0, feature  # the feature is used, not just flat


def test_explicit_monotone_constraints_hold_on_german_credit(german: dict[str, Any]) -> None:
    ds, x, y, train = german["ds"], german["x"], german["y"], german["train"]
    monotone = {"duration_in_month": 1, "credit_amount": 1}
    model = Challenger(num_threads=1, protected_columns=ds.protected_columns).fit(
        x[train], y[train], monotone=monotone
    )
    free = Challenger(num_threads=1, protected_columns=ds.protected_columns).fit(
        x[train], y[train], monotone={}
    )
    assert model.monotone_ == monotone and free.monotone_ == {}
    rows = x[german["test"]][:80]
    grids = {"duration_in_month": np.arange(4, 73, 2), "credit_amount": np.linspace(250, 18_500, 60).round()}
    for feature, grid in grids.items():
        constrained = _grid_predictions(model, rows, feature, grid)
        assert np.diff(constrained, axis=1).min() >= 0.0, feature
        # the check has teeth: without the constraint the same grid is not monotone for every row
        assert np.diff(_grid_predictions(free, rows, feature, grid), axis=1).min() < 0.0, feature
    pd_grid = model.pd(rows.with_columns(pl.lit(72, dtype=pl.Int64).alias("duration_in_month")))
    assert (
        pd_grid >= model.pd(rows.with_columns(pl.lit(6, dtype=pl.Int64).alias("duration_in_month")))
    ).all()


# --- calibration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibrated_pd_on_a_held_out_half_of_a_logistic_sample(
    synthetic: dict[str, Any], method: Literal["isotonic", "platt"]
) -> None:
    x, y, p, half = synthetic["x"], synthetic["y"], synthetic["p"], synthetic["half"]
    model = (
        synthetic["model"]
        if method == "isotonic"
        else Challenger(num_threads=1).fit(x[:half], y[:half], calibration=method)
    )
    pd_hat, y_out = model.pd(x[half:]), y[half:]
    assert abs(pd_hat.mean() - y_out.mean()) <= 0.02
    _, p_value = hosmer_lemeshow(pd_hat, y_out)
    # measured on seeds 0-9: isotonic p > 0.01 on all ten, Platt on eight (seed 0 is used here)
    assert p_value > 0.01
    # the truth itself passes the same test on the same rows (the sample is well specified)
    assert hosmer_lemeshow(p[half:], y_out)[1] > 0.01
    assert ((pd_hat > 0.0) & (pd_hat < 1.0)).all()


def test_calibration_sample_and_metadata(synthetic: dict[str, Any]) -> None:
    x, y, half = synthetic["x"], synthetic["y"], synthetic["half"]
    model = synthetic["model"]
    meta = model.metadata_
    assert meta["n_train"] == half and meta["calibration_sample"] == "out-of-fold (5 folds)"
    assert meta["best_iteration"] == model.best_iteration_ >= 1
    quick = Challenger(num_threads=1, cv_folds=0).fit(x[:half], y[:half])
    assert quick.metadata_["calibration_sample"] == "validation"
    assert quick.calibrator_ is not None and quick.calibrator_.n_fit_ == meta["n_validation"]
    raw = Challenger(num_threads=1, cv_folds=0).fit(x[:half], y[:half], calibration=None)
    np.testing.assert_array_equal(raw.pd(x[:5]), raw.predict_proba(x[:5])[:, 1])


def test_isotonic_calibrator_is_monotone_and_round_trips_as_data() -> None:
    rng = np.random.default_rng(3)
    score = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * score - 1.0)))).astype(int)
    cal = Calibrator("isotonic", input_kind="score").fit(score, y)
    grid = np.linspace(-5, 5, 1001)
    out = cal.transform(grid)
    assert np.diff(out).min() >= 0.0
    assert out.min() >= 1e-4 and out.max() <= 1 - 1e-4
    data = json.loads(cal.to_json())
    assert set(data) >= {"thresholds_x", "thresholds_y", "method"} and data["method"] == "isotonic"
    np.testing.assert_array_equal(Calibrator.from_json(cal.to_json()).transform(grid), out)


def test_platt_calibrator_recovers_known_coefficients_and_round_trips() -> None:
    rng = np.random.default_rng(4)
    score = rng.normal(size=20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(1.7 * score - 2.0)))).astype(int)
    cal = Calibrator("platt", input_kind="score").fit(score, y)
    assert cal.coef_ == pytest.approx(1.7, abs=0.1) and cal.intercept_ == pytest.approx(-2.0, abs=0.1)
    assert set(json.loads(cal.to_json())) >= {"coef", "intercept"}
    np.testing.assert_array_equal(Calibrator.from_json(cal.to_json()).transform(score), cal.transform(score))
    # on probabilities that are already calibrated, Platt is (nearly) the identity
    p = 1 / (1 + np.exp(-(1.7 * score - 2.0)))
    ident = Calibrator("platt").fit(p, y)
    assert ident.coef_ == pytest.approx(1.0, abs=0.06) and ident.intercept_ == pytest.approx(0.0, abs=0.1)


def test_calibration_table_and_hosmer_lemeshow() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.4, 5000)
    y = (rng.random(5000) < p).astype(int)
    table = calibration_table(p, y, bands=10)
    assert table.height == 10 and table["n"].sum() == 5000
    assert table["observed_bads"].sum() == y.sum()
    assert table["expected_bads"].sum() == pytest.approx(p.sum())
    assert (table["pd_min"].to_numpy()[1:] >= table["pd_max"].to_numpy()[:-1]).all()
    assert np.abs(table["difference"].to_numpy()).max() < 0.06
    stat, p_value = hosmer_lemeshow(p, y)
    assert stat > 0 and p_value > 0.01
    # PDs half of the truth are badly calibrated: the test rejects them
    assert hosmer_lemeshow(p / 2, y)[1] < 1e-6


def test_calibration_inputs_are_validated() -> None:
    with pytest.raises(ValidationError) as err:
        Calibrator("beta")  # type: ignore[arg-type]
    assert err.value.field == "method"
    with pytest.raises(ValidationError) as err:
        Calibrator("platt").fit([0.2, 1.3], [0, 1])
    assert err.value.field == "scores_or_pd"
    with pytest.raises(ValidationError) as err:
        Calibrator().fit([0.2, 0.3], [1, 1])
    assert err.value.field == "y"
    with pytest.raises(ValidationError) as err:
        Calibrator().transform([0.5])
    assert err.value.field == "calibrator"
    with pytest.raises(ValidationError) as err:
        hosmer_lemeshow([0.1, 0.2], [0, 1], groups=10)
    assert err.value.field == "groups"


# --- explanations, reasons, storage -----------------------------------------------------------------------


def test_contributions_plus_expected_value_are_the_log_odds(german: dict[str, Any]) -> None:
    model, x = german["model"], german["x"][german["test"]]
    contrib = model.explain(x)
    assert contrib.shape == (x.height, len(model.features_))
    np.testing.assert_allclose(
        contrib.sum(axis=1) + model.expected_value_, model.log_odds(x), rtol=0, atol=1e-9
    )


def test_reasons_name_only_model_features_never_protected_ones(german: dict[str, Any]) -> None:
    model, ds, x = german["model"], german["ds"], german["x"][german["test"]]
    catalog = ReasonCatalog.default()
    reasons = model.reasons(x, catalog)
    contrib = model.explain(x)
    assert len(reasons) == x.height
    protected = set(ds.protected_columns) | {"gender", "age_band", "ethnicity"}
    for i, row in enumerate(reasons):
        assert len(row) <= 4
        assert all(r.impact > 0 and r.feature in model.features_ and r.feature not in protected for r in row)
        assert [r.impact for r in row] == sorted((r.impact for r in row), reverse=True)
        if contrib[i].max() > 0:
            assert row, "a row pushed toward default gets at least one reason"
    # the worst applicant's top reason is the biggest contribution's reason (or its code group's)
    worst = int(np.argmax(model.log_odds(x)))
    top = reasons[worst][0]
    assert (
        top.code == catalog[model.features_[int(np.argmax(contrib[worst]))]].code
        or top.impact >= contrib[worst].max()
    )
    assert model.reasons(x[:3], catalog, max_reasons=2)[0].__len__() <= 2


def test_json_round_trip_reproduces_predictions_exactly(german: dict[str, Any]) -> None:
    model, x = german["model"], german["x"][german["test"]]
    text = model.to_json()
    data = json.loads(text)
    assert data["lightgbm_model"].startswith("tree")
    assert "pickle" not in text.lower()
    assert data["calibrator"]["method"] == "isotonic"
    again = Challenger.from_json(text)
    for method in ("log_odds", "pd", "predict_proba", "explain"):
        np.testing.assert_allclose(getattr(again, method)(x), getattr(model, method)(x), rtol=0, atol=1e-12)
    assert again.features_ == model.features_ and again.categorical_ == model.categorical_
    assert again.to_json() == text


def test_unseen_categories_and_nulls_are_missing_values(german: dict[str, Any]) -> None:
    model, x = german["model"], german["x"][german["test"]][:5]
    odd = x.with_columns(
        pl.lit("never seen").alias("purpose"), pl.lit(None, dtype=pl.Int64).alias("credit_amount")
    )
    pd_odd = model.pd(odd)
    assert np.isfinite(pd_odd).all() and pd_odd.shape == (5,)
    # extra columns (here a protected one) are ignored at prediction; missing ones are named
    assert np.array_equal(model.pd(german["ds"].frame[german["test"]][:5]), model.pd(x))
    with pytest.raises(ValidationError) as err:
        model.pd(x.drop("purpose"))
    assert err.value.field == "X.columns"


# --- refusals and parameter checks ------------------------------------------------------------------------


def test_protected_features_are_refused(german: dict[str, Any]) -> None:
    ds, y = german["ds"], german["y"]
    with pytest.raises(ValidationError) as err:
        Challenger(num_threads=1, protected_columns=ds.protected_columns).fit(ds.X(), y)
    assert err.value.field == "features" and "age_in_years" in err.value.value
    frame = german["x"].with_columns(pl.lit("female").alias("gender"))
    with pytest.raises(ValidationError) as err:
        Challenger(num_threads=1).fit(frame, y)
    assert err.value.value == ["gender"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"num_leaves": 1}, "num_leaves"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"n_estimators": 2.5}, "n_estimators"),
        ({"validation_fraction": 0.7}, "validation_fraction"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"subsample": 1.5}, "subsample"),
        ({"monotone_method": "strict"}, "monotone_method"),
        ({"num_threads": 0}, "num_threads"),
        ({"random_state": -1}, "random_state"),
        ({"num_trees": 10}, "num_trees"),
    ],
)
def test_parameters_are_validated_in_one_place(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Challenger(**params)
    assert err.value.field == field


def test_fit_arguments_are_validated(german: dict[str, Any]) -> None:
    x, y = german["x"], german["y"]
    model = Challenger(num_threads=1, cv_folds=0)
    for kwargs, field in (
        ({"monotone": {"no_such_feature": 1}}, "monotone.no_such_feature"),
        ({"monotone": {"credit_amount": 2}}, "monotone.credit_amount"),
        ({"monotone": {"purpose": 1}}, "monotone.purpose"),
        ({"calibration": "beta"}, "calibration"),
    ):
        with pytest.raises(ValidationError) as err:
            model.fit(x, y, **kwargs)
        assert err.value.field == field
    with pytest.raises(ValidationError) as err:
        model.fit(x, y[:-1])
    assert err.value.field == "y"
    with pytest.raises(ValidationError) as err:
        model.fit(x.to_pandas(), y)
    assert err.value.field == "X"
    with pytest.raises(ValidationError) as err:
        Challenger().pd(x)
    assert err.value.field == "challenger"
