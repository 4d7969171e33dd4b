"""Reject inference (autofin.risk.reject_inference): parcelling and fuzzy augmentation.

The synthetic-world test builds a through-the-door experiment whose answer is known: of the booked
loans, the 25 % with the lowest bureau score are treated as "rejects" (their outcomes hidden), the
rest as accepts. The realised default of the hidden group is known, so we can check that reject
inference moves the estimate of its bad rate toward the truth compared with ignoring the rejects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from autofin.errors import ValidationError
from autofin.risk.reject_inference import (
    band_bad_rates,
    fit_weighted_woe_logit,
    fuzzy_augmentation,
    parcelling,
)


def _toy(n: int = 3000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 - 1.2 * x)))).astype(np.int8)
    return pl.DataFrame({"x": x, "z": rng.normal(size=n)}), y


def test_parcelling_shapes_weights_and_reproducibility() -> None:
    X, y = _toy()  # noqa: N806
    acc, rej = X.filter(pl.col("x") > -0.5), X.filter(pl.col("x") <= -0.5)
    y_acc = y[(X["x"] > -0.5).to_numpy()]

    def score(f: pl.DataFrame) -> np.ndarray:
        return f["x"].to_numpy()

    a = parcelling(acc, y_acc, rej, score, bands=10)
    assert a.X.height == X.height and a.X.columns == X.columns
    np.testing.assert_array_equal(a.y[: acc.height], y_acc)
    assert (a.sample_weight == 1).all()
    b = parcelling(acc, y_acc, rej, score, bands=10)
    np.testing.assert_array_equal(a.y, b.y)  # seeded
    worse = parcelling(acc, y_acc, rej, score, bands=10, factor=3.0)
    assert worse.y[acc.height :].mean() > a.y[acc.height :].mean()


def test_band_table_extrapolates_below_the_cutoff() -> None:
    X, y = _toy(20000)  # noqa: N806
    keep = (X["x"] > 0).to_numpy()
    table = band_bad_rates(X["x"].to_numpy()[keep], y[keep], X["x"].to_numpy()[~keep], bands=10)
    extrapolated = table.filter(pl.col("source") == "extrapolated")
    assert extrapolated.height >= 4 and (extrapolated["accepted"] < 30).all()
    # bad rate rises as the score falls, beyond the worst accepted band
    rates = table.sort("mean_score")["bad_rate"].to_numpy()
    assert (np.diff(rates) <= 1e-12).all()
    assert rates[0] > y[keep].mean() * 2


def test_fuzzy_weights_sum_to_one_per_reject() -> None:
    X, y = _toy()  # noqa: N806
    acc, rej, y_acc = X[:2000], X[2000:], y[:2000]
    p = np.linspace(0.01, 0.5, rej.height)
    a = fuzzy_augmentation(acc, y_acc, rej, lambda f: p)
    n_r = rej.height
    assert a.X.height == acc.height + 2 * n_r
    bad_w, good_w = a.sample_weight[acc.height : acc.height + n_r], a.sample_weight[acc.height + n_r :]
    np.testing.assert_allclose(bad_w + good_w, 1.0)
    np.testing.assert_allclose(bad_w, p)
    assert (a.y[acc.height : acc.height + n_r] == 1).all() and (a.y[acc.height + n_r :] == 0).all()
    raised = fuzzy_augmentation(acc, y_acc, rej, lambda f: p, factor=2.0, reject_weight=0.5)
    assert (raised.sample_weight[acc.height : acc.height + n_r] > 0.5 * p).all()
    np.testing.assert_allclose(raised.sample_weight[acc.height :].sum(), 0.5 * n_r)


def test_bad_inputs_are_refused() -> None:
    X, y = _toy(200)  # noqa: N806
    with pytest.raises(ValidationError, match="rejected_X"):
        parcelling(X, y, X.select("z", "x"), lambda f: f["x"].to_numpy())
    with pytest.raises(ValidationError, match="accepted_y"):
        parcelling(X, y[:10], X, lambda f: f["x"].to_numpy())
    with pytest.raises(ValidationError, match="factor"):
        fuzzy_augmentation(X, y, X, lambda f: np.full(f.height, 0.1), factor=0)
    with pytest.raises(ValidationError, match="pd_fn"):
        fuzzy_augmentation(X, y, X, lambda f: np.full(f.height, 1.5))
    with pytest.raises(ValidationError, match="score_fn"):
        parcelling(X, y, X, lambda f: np.zeros(3))


# --- through-the-door test on the synthetic world -----------------------------------------------------------

FEATURES = [
    "score_z",
    "delinquencies_24m",
    "inquiries_6m",
    "revolving_utilisation",
    "dti",
    "ltv",
    "pti",
    "used",
]


@pytest.fixture(scope="module")
def through_the_door(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    pytest.importorskip("optbinning")
    from autofin.data.synth import synthesize
    from autofin.data.world import load_world
    from autofin.risk.train import synthetic_frame

    out: Path = tmp_path_factory.mktemp("ri") / "w"
    synthesize(load_world(), applicants=40_000, months=36, seed=11, out=out)
    loans = synthetic_frame(out)
    cut = loans["score_z"].quantile(0.25)
    return loans.filter(pl.col("score_z") > cut), loans.filter(pl.col("score_z") <= cut)


@pytest.mark.slow
def test_reject_inference_moves_hidden_bad_rate_toward_truth(
    through_the_door: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """Scorecard stand-in: weighted WOE logistic regression on ``FEATURES`` (Scorecard.fit takes no
    sample_weight).

    Ignoring the rejects, the accepts-only WOE model stretches its worst accepted bin over every
    reject and understates their bad rate; parcelling and fuzzy augmentation, using the score–odds
    trend of a logistic regression on the accepts' raw features (the "known good/bad" model, which
    extrapolates linearly — a binned model cannot), must remove part of that error: fuzzy
    augmentation, which carries the known model's PD itself, at least 40 %; parcelling, which only
    carries the score *band's* extrapolated bad rate, at least 20 %.

    Measured (world 1.1.0, seed 11): truth 16.3 %, ignore 7.7 %, parcelling 10.3 % inferred / 10.5 %
    retrained (about 30 % of the error removed), fuzzy 13.9 % (73 %); the known model's own mean PD on
    the hidden group is 13.6 % — below the truth because realised default is censored by the
    observation window, which a logistic extrapolation does not know. On world 1.0.0 (value-used cars
    four years younger) parcelling removed about 55 % at this seed; the 20 % floor is set for the
    method, not for one world.
    """
    from sklearn.linear_model import LogisticRegression

    from autofin.data.credit import DEFAULT_FEATURES

    acc, rej = through_the_door
    truth = rej["bad"].mean()
    y_acc = acc["bad"].to_numpy()
    xa, xr = acc.select(DEFAULT_FEATURES), rej.select(DEFAULT_FEATURES)
    assert truth > 2 * y_acc.mean()  # the hidden group really is worse

    ignore = fit_weighted_woe_logit(xa, y_acc, features=FEATURES).predict_proba(xr)[:, 1].mean()
    known = LogisticRegression(C=1e4, max_iter=5000).fit(xa.to_numpy(), y_acc)

    def log_odds(f: pl.DataFrame) -> np.ndarray:
        return np.asarray(known.decision_function(f.to_numpy()))

    def pd_known(f: pl.DataFrame) -> np.ndarray:
        return np.asarray(known.predict_proba(f.to_numpy()))

    parcel = parcelling(xa, y_acc, xr, log_odds, bands=10)
    inferred_parcel = parcel.y[acc.height :].mean()
    retrained = fit_weighted_woe_logit(parcel.X, parcel.y, parcel.sample_weight, FEATURES)
    est_parcel = retrained.predict_proba(xr)[:, 1].mean()

    fuzzy = fuzzy_augmentation(xa, y_acc, xr, pd_known)
    retrained = fit_weighted_woe_logit(fuzzy.X, fuzzy.y, fuzzy.sample_weight, FEATURES)
    est_fuzzy = retrained.predict_proba(xr)[:, 1].mean()

    error_ignore = abs(ignore - truth)
    for name, estimate, keep in (
        ("parcelling (inferred)", inferred_parcel, 0.8),
        ("parcelling (retrained)", est_parcel, 0.8),
        ("fuzzy (retrained)", est_fuzzy, 0.6),
    ):
        assert abs(estimate - truth) < keep * error_ignore, (name, estimate, truth, ignore)
    # the naive assumption "rejects behave like accepts" is worse still
    assert abs(y_acc.mean() - truth) > error_ignore
