"""Reject inference: infer the outcomes declined applicants would have had, so that a new scorecard can
be trained on the whole *through-the-door* population rather than only on the loans that were booked.

A model trained on accepted loans only learns the risk of the applicants the old policy liked; where
the old policy declined, the new model has no outcomes and extrapolates — for a binned scorecard that
means the riskiest accepted bin is stretched over every rejected applicant, so their risk is
understated. Both methods below are described by Siddiqi, *Credit Risk Scorecards* (Wiley, 2006),
ch. 6 "Reject inference"; both return an augmented ``(X, y, sample_weight)`` — accepted rows first
(weight 1, their real outcome), then the inferred rejected rows — to retrain with any learner that
takes sample weights.

* :func:`parcelling` — score everyone with ``score_fn``; cut the through-the-door scores into
  ``bands`` quantile bands; in each band take the accepted bad rate (where a band has too few accepts
  — typically the bands below the old cut-off — it is extrapolated from a straight line of accepted
  log-odds against band mean score, the score–odds relationship a scorecard assumes); raise its odds
  by ``factor`` (Siddiqi: rejects in a band are usually worse than accepts in the same band because
  they were declined for reasons the score does not see, so 2–4× is common; 1 = no extra); then mark
  that share of the band's rejects bad *at random* (seeded) and the rest good, weight 1 each.
* :func:`fuzzy_augmentation` — every reject enters twice, once bad with weight ``p`` and once good
  with weight ``1 − p``, where ``p = pd_fn(rejected_X)`` (odds optionally raised by ``factor``) and
  both weights are multiplied by ``reject_weight``. No random draw; the expected bad count equals
  Σ p exactly.

Limits, stated plainly: neither method creates information. If the old decision depended only on
features the new model sees (selection "at random" given X) and the model is correctly specified, an
accepts-only model is already unbiased and inference changes little; what inference does fix is the
*extrapolation* of a model that cannot extrapolate (binned scorecards), by importing the score–odds
trend of ``score_fn`` / ``pd_fn``. With selection on information the model does not have, only
``factor`` (a judgement) or real outcomes of declined applicants (a test-and-learn cell) help.

:class:`autofin.risk.scorecard.Scorecard` does not take ``sample_weight`` (its ``fit`` has no such
argument), so :func:`fit_weighted_woe_logit` gives the weighted equivalent for retraining: optbinning
WOE bins fitted with the weights, then a weighted scikit-learn logistic regression on the WOE values.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from autofin.errors import ValidationError

__all__ = [
    "Augmented",
    "WeightedWoeLogit",
    "fit_weighted_woe_logit",
    "fuzzy_augmentation",
    "parcelling",
]

FloatArray = NDArray[np.float64]
ScoreFn = Callable[[pl.DataFrame], ArrayLike]


class Augmented(NamedTuple):
    """Accepted rows (real outcomes, weight 1) followed by rejected rows (inferred outcomes)."""

    X: pl.DataFrame
    y: NDArray[np.int8]
    sample_weight: FloatArray


def _check_inputs(
    accepted_X: pl.DataFrame,  # noqa: N803
    accepted_y: ArrayLike | pl.Series,
    rejected_X: pl.DataFrame,  # noqa: N803
) -> NDArray[np.int8]:
    for name, frame in (("accepted_X", accepted_X), ("rejected_X", rejected_X)):
        if not isinstance(frame, pl.DataFrame):
            raise ValidationError(name, type(frame).__name__, "must be a polars DataFrame")
    if accepted_X.height == 0:
        raise ValidationError("accepted_X", 0, "must have at least one row")
    if rejected_X.columns != accepted_X.columns:
        raise ValidationError(
            "rejected_X", rejected_X.columns, "must have the columns of accepted_X, in order"
        )
    y = np.asarray(accepted_y.to_numpy() if isinstance(accepted_y, pl.Series) else accepted_y)
    if y.shape != (accepted_X.height,) or not np.isin(y, (0, 1)).all():
        raise ValidationError("accepted_y", y.shape, f"must be {accepted_X.height} values of 0 or 1")
    if y.min() == y.max():
        raise ValidationError("accepted_y", int(y[0]), "needs both goods and bads")
    return y.astype(np.int8)


def _check_factor(factor: float) -> None:
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 0):
        raise ValidationError("factor", factor, "must be a finite odds multiplier > 0 (1 = none)")


def _raise_odds(p: FloatArray, factor: float) -> FloatArray:
    odds = p / np.clip(1.0 - p, 1e-12, None) * factor
    return np.asarray(odds / (1.0 + odds))


def _scores(fn: ScoreFn, frame: pl.DataFrame, name: str) -> FloatArray:
    out = np.asarray(fn(frame), dtype=np.float64)
    if out.ndim == 2 and out.shape[1] == 2:
        out = out[:, 1]
    if out.shape != (frame.height,) or not np.isfinite(out).all():
        raise ValidationError(name, out.shape, f"must return {frame.height} finite values")
    return out


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def band_bad_rates(
    accepted_score: FloatArray,
    accepted_y: NDArray[np.int8],
    rejected_score: FloatArray,
    bands: int = 10,
    min_accepts: int = 30,
) -> pl.DataFrame:
    """The parcelling table: per through-the-door score band, accepts, their bads, rejects and the
    bad rate used for the rejects (``source`` = "accepted" or "extrapolated")."""
    if isinstance(bands, bool) or not isinstance(bands, int) or bands < 2:
        raise ValidationError("bands", bands, "must be an integer >= 2")
    every = np.concatenate([accepted_score, rejected_score])
    edges = np.unique(np.quantile(every, np.linspace(0, 1, bands + 1)[1:-1]))
    band_a = np.searchsorted(edges, accepted_score, side="right")
    band_r = np.searchsorted(edges, rejected_score, side="right")
    k = edges.size + 1
    n_acc = np.bincount(band_a, minlength=k)
    n_bad = np.bincount(band_a, weights=accepted_y.astype(np.float64), minlength=k)
    n_rej = np.bincount(band_r, minlength=k)
    total = np.bincount(np.concatenate([band_a, band_r]), weights=every, minlength=k)
    mean_score = total / np.maximum(n_acc + n_rej, 1)
    # Accepted log-odds by band (with a half-count correction so empty-bad bands stay finite) and a
    # weighted straight line through them: the score-odds relationship to extrapolate along.
    ok = n_acc >= min_accepts
    rate = (n_bad + 0.5) / (n_acc + 1.0)
    if ok.sum() >= 2:
        w = n_acc[ok].astype(np.float64)
        slope, intercept = np.polyfit(mean_score[ok], _logit(rate[ok]), 1, w=np.sqrt(w))
        line = 1.0 / (1.0 + np.exp(-(intercept + slope * mean_score)))
    else:
        line = np.full(k, n_bad.sum() / max(n_acc.sum(), 1))
    used = np.where(ok, n_bad / np.maximum(n_acc, 1), line)
    return pl.DataFrame(
        {
            "band": np.arange(k, dtype=np.int32),
            "mean_score": mean_score,
            "accepted": n_acc.astype(np.int64),
            "accepted_bads": n_bad.astype(np.int64),
            "rejected": n_rej.astype(np.int64),
            "bad_rate": used,
            "source": np.where(ok, "accepted", "extrapolated"),
        }
    )


def parcelling(
    accepted_X: pl.DataFrame,  # noqa: N803 - scikit-learn's name
    accepted_y: ArrayLike | pl.Series,
    rejected_X: pl.DataFrame,  # noqa: N803
    score_fn: ScoreFn,
    bands: int = 10,
    factor: float = 1.0,
    *,
    min_accepts: int = 30,
    random_state: int = 0,
) -> Augmented:
    """Parcelling (Siddiqi ch. 6): rejects get outcomes drawn at their score band's bad rate.

    Args:
        score_fn: any score of the old or a preliminary model, ``frame -> (n,)`` (either direction:
            only the order and a straight score–log-odds line are used); a ``(n, 2)`` predict_proba
            output is taken as its PD column.
        bands: quantile bands of the through-the-door scores (accepted and rejected together).
        factor: odds multiplier of the rejects' bad rate against the accepts' in the same band
            (1 = rejects like accepts; Siddiqi suggests 2–4 when declines used information the score
            lacks).
        min_accepts: bands with fewer accepts use the extrapolated score–odds line.
        random_state: seed of the random parcelling (the result is reproducible).

    Returns:
        ``(X, y, sample_weight)``: accepts then rejects, all weights 1.
    """
    y = _check_inputs(accepted_X, accepted_y, rejected_X)
    _check_factor(factor)
    s_acc = _scores(score_fn, accepted_X, "score_fn")
    s_rej = _scores(score_fn, rejected_X, "score_fn")
    table = band_bad_rates(s_acc, y, s_rej, bands, min_accepts)
    every = np.concatenate([s_acc, s_rej])
    edges = np.unique(np.quantile(every, np.linspace(0, 1, bands + 1)[1:-1]))
    band_r = np.searchsorted(edges, s_rej, side="right")
    rate = _raise_odds(table["bad_rate"].to_numpy(), factor)
    rng = np.random.default_rng(random_state)
    y_rej = np.zeros(rejected_X.height, dtype=np.int8)
    for b in np.unique(band_r):
        members = np.flatnonzero(band_r == b)
        n_bad = round(rate[b] * members.size)
        if n_bad:
            y_rej[rng.choice(members, size=n_bad, replace=False)] = 1
    return Augmented(
        pl.concat([accepted_X, rejected_X], how="vertical"),
        np.concatenate([y, y_rej]),
        np.ones(accepted_X.height + rejected_X.height),
    )


def fuzzy_augmentation(
    accepted_X: pl.DataFrame,  # noqa: N803
    accepted_y: ArrayLike | pl.Series,
    rejected_X: pl.DataFrame,  # noqa: N803
    pd_fn: ScoreFn,
    factor: float = 1.0,
    reject_weight: float = 1.0,
) -> Augmented:
    """Fuzzy augmentation (Siddiqi ch. 6): each reject enters as a bad with weight ``p`` and as a good
    with weight ``1 − p``.

    Args:
        pd_fn: ``frame -> PD in [0, 1]`` (or ``(n, 2)`` predict_proba output) of a model fitted on the
            accepts — ideally one that extrapolates (e.g. logistic regression on raw features).
        factor: odds multiplier applied to ``p`` (1 = none).
        reject_weight: multiplies both weights of every reject (e.g. to down-weight inferred rows).

    Returns:
        ``(X, y, sample_weight)``: accepts (weight 1), then every reject as bad, then as good.
    """
    y = _check_inputs(accepted_X, accepted_y, rejected_X)
    _check_factor(factor)
    if not (isinstance(reject_weight, int | float) and math.isfinite(reject_weight) and reject_weight > 0):
        raise ValidationError("reject_weight", reject_weight, "must be a finite number > 0")
    p = _scores(pd_fn, rejected_X, "pd_fn")
    if (p < 0).any() or (p > 1).any():
        raise ValidationError("pd_fn", "values", "must return probabilities in [0, 1]")
    p = _raise_odds(p, factor)
    n_r = rejected_X.height
    return Augmented(
        pl.concat([accepted_X, rejected_X, rejected_X], how="vertical"),
        np.concatenate([y, np.ones(n_r, dtype=np.int8), np.zeros(n_r, dtype=np.int8)]),
        np.concatenate([np.ones(accepted_X.height), reject_weight * p, reject_weight * (1.0 - p)]),
    )


class WeightedWoeLogit:
    """A weighted WOE logistic regression (the retraining model when sample weights are needed).

    Fitted by :func:`fit_weighted_woe_logit`; ``predict_proba(X)`` → ``(n, 2)``. Analysis only: it is
    not stored in the registry (register a :class:`~autofin.risk.scorecard.Scorecard` for production).
    """

    def __init__(self, process: Any, model: Any, features: tuple[str, ...]) -> None:
        self.process = process
        self.model = model
        self.features = features

    def woe(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        frame = X.select(self.features).to_pandas()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.process.transform(frame, metric="woe")
        return np.asarray(out[list(self.features)].to_numpy(), dtype=np.float64)

    def predict_proba(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        return np.asarray(self.model.predict_proba(self.woe(X)), dtype=np.float64)


def fit_weighted_woe_logit(
    X: pl.DataFrame,  # noqa: N803
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    features: Sequence[str] | None = None,
    *,
    min_bin_size: float = 0.05,
    C: float = 1.0,  # noqa: N803
) -> WeightedWoeLogit:
    """optbinning monotonic WOE bins (``BinningProcess.fit`` with ``sample_weight``) and a weighted
    scikit-learn logistic regression on the WOE values — every candidate feature is kept."""
    from optbinning import BinningProcess  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression

    names = tuple(features) if features is not None else tuple(X.columns)
    target = np.asarray(y)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    process = BinningProcess(
        variable_names=list(names),
        min_bin_size=min_bin_size,
        binning_fit_params={f: {"monotonic_trend": "auto_asc_desc"} for f in names},
    )
    frame = X.select(names).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        process.fit(frame, target, sample_weight=weight)
        woe = np.asarray(process.transform(frame, metric="woe")[list(names)].to_numpy(), dtype=np.float64)
    model = LogisticRegression(C=C, max_iter=1000).fit(woe, target, sample_weight=weight)
    return WeightedWoeLogit(process, model, names)
