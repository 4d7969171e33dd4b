"""Take-up model: fit on reached quotes, predict, serialise, true-model adapter, field-naming errors."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from autofin.data.credit import TAKEUP_FEATURES
from autofin.errors import ValidationError
from autofin.pricing.takeup import POOLED, TakeupModel, TrueTakeup, monthly_payment_factor

TRUE = {
    "a": {
        "intercept": 0.8,
        "rate_pct": -0.12,
        "pti_pct": -0.06,
        "term_years": 0.35,
        "down_share": -1.5,
        "balloon": 0.2,
        "lease": -0.3,
    },
    "b": {
        "intercept": 0.3,
        "rate_pct": -0.20,
        "pti_pct": -0.02,
        "term_years": 0.20,
        "down_share": -0.5,
        "balloon": -0.1,
        "lease": 0.3,
    },
}


def _quotes(n: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    seg = rng.choice(["a", "b"], n)
    product = rng.choice([0, 1, 2], n, p=[0.6, 0.25, 0.15])
    frame = pl.DataFrame(
        {
            "segment": seg,
            "rate_pct": rng.uniform(3, 12, n),
            "pti_pct": rng.uniform(5, 40, n),
            "term_years": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n),
            "down_share": rng.choice([0.15, 0.2, 0.3, 0.4, 0.5], n),
            "balloon": (product == 1).astype(float),
            "lease": (product == 2).astype(float),
        }
    )
    truth = TrueTakeup(TRUE)
    p = truth.predict_proba(frame)[:, 1]
    reached = rng.uniform(size=n) < 0.8
    return frame.with_columns(
        pl.Series("taken", rng.uniform(size=n) < p),
        # unreached quotes are never taken: they must not enter the fit
        pl.Series("reached", reached),
    ).with_columns((pl.col("taken") & pl.col("reached")).alias("taken"))


def test_fit_recovers_coefficients_on_reached_quotes() -> None:
    data = _quotes(60_000)
    model = TakeupModel().fit(data)
    assert model.segments == ("a", "b")
    assert model.n_reached_["a"] + model.n_reached_["b"] == int(data["reached"].sum())
    for seg, coefs in TRUE.items():
        for name, value in coefs.items():
            est, se = model.coefficients_[seg][name], model.standard_errors_[seg][name]
            assert abs(est - value) < 4.5 * se, (seg, name, est, value, se)
    assert model.status_ == {"a": "fitted", "b": "fitted"}


def test_fitting_unreached_quotes_would_bias_the_fit() -> None:
    data = _quotes(60_000)
    biased = TakeupModel().fit(data.drop("reached"))
    right = TakeupModel().fit(data)
    assert biased.coefficients_["a"]["intercept"] < right.coefficients_["a"]["intercept"] - 0.1


def test_predict_proba_matches_logistic_and_p_take() -> None:
    model = TrueTakeup(TRUE)
    row = pl.DataFrame(
        {
            "segment": ["a"],
            "rate_pct": [6.0],
            "pti_pct": [20.0],
            "term_years": [3.0],
            "down_share": [0.3],
            "balloon": [0.0],
            "lease": [0.0],
        }
    )
    proba = model.predict_proba(row)
    eta = 0.8 - 0.12 * 6 - 0.06 * 20 + 0.35 * 3 - 1.5 * 0.3
    assert proba.shape == (1, 2)
    assert proba[0, 1] == pytest.approx(1 / (1 + np.exp(-eta)), rel=1e-12)
    assert proba.sum() == pytest.approx(1.0)
    # p_take computes the PTI from the amount/income ratio and the payment at the rate
    factor = monthly_payment_factor(0.06, 36)
    ati = 0.20 / float(factor)
    assert model.p_take("a", 0.06, term_months=36, amount_to_income=ati, down_share=0.3)[()] == pytest.approx(
        proba[0, 1], rel=1e-10
    )


def test_payment_factor_matches_annuity_and_balloon() -> None:
    i = 0.06 / 12
    assert float(monthly_payment_factor(0.06, 36)) == pytest.approx(i / (1 - (1 + i) ** -36))
    assert float(monthly_payment_factor(0.0, 24, 0.5)) == pytest.approx(0.5 / 24)
    with_balloon = float(monthly_payment_factor(0.06, 36, 0.4))
    assert with_balloon == pytest.approx((1 - 0.4 * (1 + i) ** -36) * i / (1 - (1 + i) ** -36))


def test_json_round_trip() -> None:
    model = TakeupModel().fit(_quotes(20_000))
    text = json.dumps(model.to_dict())
    again = TakeupModel.from_dict(json.loads(text))
    frame = _quotes(100, seed=3)
    np.testing.assert_allclose(again.predict_proba(frame), model.predict_proba(frame), rtol=1e-12)
    assert again.standard_errors_ == model.standard_errors_
    assert again.status_ == model.status_
    true = TrueTakeup(TRUE)
    assert TrueTakeup.from_dict(true.to_dict()).coefficients_ == true.coefficients_


def test_true_takeup_from_truth_json(tmp_path: object) -> None:
    truth = {"credit": {"takeup_model": {"coefficients": TRUE}}}
    model = TrueTakeup.from_truth(truth)
    assert model.coefficient_vector("b")[1] == pytest.approx(-0.20)
    el = model.elasticities()
    assert set(el) == {"a", "b"} and el["a"]["rate"] < 0
    with pytest.raises(ValidationError) as exc:
        TrueTakeup.from_truth({"credit": {}})
    assert exc.value.field == "truth.credit.takeup_model.coefficients"


def test_small_segment_uses_pooled_model() -> None:
    data = _quotes(20_000).with_columns(
        pl.when(pl.int_range(pl.len()) < 50)
        .then(pl.lit("tiny"))
        .otherwise(pl.col("segment"))
        .alias("segment")
    )
    model = TakeupModel(min_reached=200).fit(data)
    assert model.status_["tiny"].startswith("pooled")
    np.testing.assert_allclose(model.coefficient_vector("tiny"), model.coefficient_vector(POOLED))


def test_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        TakeupModel(min_reached=0)
    assert exc.value.field == "min_reached"
    with pytest.raises(ValidationError) as exc:
        TakeupModel().fit(_quotes(1000).drop("pti_pct"))
    assert exc.value.field == "features" and "pti_pct" in exc.value.value
    with pytest.raises(ValidationError) as exc:
        TakeupModel().predict_proba(_quotes(10))
    assert exc.value.field == "takeup_model"
    with pytest.raises(ValidationError) as exc:
        TrueTakeup(TRUE).predict_proba(_quotes(10).with_columns(pl.lit("zzz").alias("segment")))
    assert exc.value.field == "segment" and exc.value.value == "zzz"
    with pytest.raises(ValidationError) as exc:
        TrueTakeup({"a": {"intercept": 1.0, "colour": 2.0}})
    assert exc.value.field == "coefficients.a"
    with pytest.raises(ValidationError) as exc:
        TrueTakeup({"a": {"intercept": float("nan")}})
    assert exc.value.field == "coefficients.a.intercept"
    with pytest.raises(ValidationError) as exc:
        TakeupModel.from_dict({"format": "other"})
    assert exc.value.field == "takeup_model.format"


def test_features_are_the_data_package_features() -> None:
    assert tuple(c for c in _quotes(5).columns if c in TAKEUP_FEATURES) == TAKEUP_FEATURES
