"""Validation metrics for credit-risk models: discrimination, calibration, stability, lift, comparison.

Conventions (every function):

* ``y`` is the observed outcome, ``1 = bad`` (the event the model predicts: default, charge-off,
  denial) and ``0 = good``; no nulls.
* ``score`` is oriented so that **higher means riskier** (a PD, or a risk score). For a points
  scorecard where higher points mean safer, pass ``-points`` or ``higher_is_bad=False`` where offered.
* ``pd`` is a probability of default in ``[0, 1]`` (a fraction, not a percent).
* Results are polars frames or small frozen dataclasses; each dataclass has ``to_dict()`` giving
  plain JSON-ready values (floats, ints, strings, lists; ``None`` where a value is undefined).

Formulas are stated in each docstring; the tests check each one on a hand-computable or published
example. See docs/risk-validation.md for interpretation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats  # type: ignore[import-untyped]

from autofin.errors import ValidationError

__all__ = [
    "PSI_BANDS",
    "AucComparison",
    "AucEstimate",
    "HosmerLemeshow",
    "KSResult",
    "ModelComparison",
    "PSIResult",
    "RocCurve",
    "as_series",
    "auc",
    "auc_delong",
    "bad_rate_by_band",
    "calibration_by_band",
    "compare_models",
    "csi",
    "frame_to_dict",
    "gini",
    "hosmer_lemeshow",
    "ks",
    "lift_and_gains",
    "out_of_time",
    "psi",
    "psi_band",
    "roc_points",
    "score_distribution",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Usual PSI / CSI reading: below 0.10 stable, 0.10 to 0.25 moderate shift, 0.25 and above major shift.
PSI_BANDS: Final = (0.10, 0.25)
#: Share used in place of an empty bin's share in PSI, so that ln(a/e) stays finite.
PSI_FLOOR: Final = 1e-4


# --- input checks -------------------------------------------------------------------------------------------


def _vector(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValidationError(name, f"shape {array.shape}", "must be one-dimensional")
    if array.size == 0:
        raise ValidationError(name, "empty", "must hold at least one value")
    if not np.isfinite(array).all():
        raise ValidationError(name, "NaN or inf", "must be finite numbers (no nulls)")
    return array


def _outcome(y: ArrayLike, name: str = "y") -> npt.NDArray[np.int8]:
    array = _vector(y, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValidationError(name, "values", "must be 0 (good) or 1 (bad)")
    return array.astype(np.int8)


def _pair(
    y: ArrayLike, score: ArrayLike, score_name: str = "score"
) -> tuple[npt.NDArray[np.int8], FloatArray]:
    yy = _outcome(y)
    ss = _vector(score, score_name)
    if yy.size != ss.size:
        raise ValidationError(score_name, ss.size, f"must have as many values as y ({yy.size})")
    return yy, ss


def _both_classes(y: npt.NDArray[np.int8], what: str) -> None:
    bads = int(y.sum())
    if bads == 0 or bads == y.size:
        raise ValidationError("y", f"{bads} bad of {y.size}", f"{what} needs at least one bad and one good")


def _probability(pd_: ArrayLike, name: str = "pd") -> FloatArray:
    array = _vector(pd_, name)
    if (array < 0).any() or (array > 1).any():
        raise ValidationError(name, "values", "must be probabilities in [0, 1]")
    return array


def as_series(name: str, values: ArrayLike | pl.Series) -> pl.Series:
    """``values`` as a polars Series (returned unchanged if it already is one)."""
    return values if isinstance(values, pl.Series) else pl.Series(name, cast(Any, values))


def _float_or_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _frame_dict(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dicts()
    return [{k: (_float_or_none(v) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


# --- discrimination -----------------------------------------------------------------------------------------


def _midranks(values: FloatArray) -> FloatArray:
    """Ranks 1..n, ties given the mean of the ranks they span (midranks)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    n = values.size
    ranks = np.empty(n, dtype=np.float64)
    # Boundaries of runs of equal values.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], n]
    mid = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks[order] = np.repeat(mid, ends - starts)
    return ranks


def auc(y: ArrayLike, score: ArrayLike, higher_is_bad: bool = True) -> float:
    """Area under the ROC curve (the Mann–Whitney probability), a fraction in ``[0, 1]``.

    ``AUC = P(score_bad > score_good) + ½·P(score_bad = score_good)``, computed with midranks:
    ``AUC = (R_bad − n_bad(n_bad+1)/2) / (n_bad·n_good)`` where ``R_bad`` is the sum of the bads' ranks
    in the pooled sample. 0.5 is a coin toss, 1.0 a perfect ordering.
    """
    yy, ss = _pair(y, score)
    _both_classes(yy, "AUC")
    if not higher_is_bad:
        ss = -ss
    ranks = _midranks(ss)
    n_bad = int(yy.sum())
    n_good = yy.size - n_bad
    r_bad = float(ranks[yy == 1].sum())
    return (r_bad - n_bad * (n_bad + 1) / 2.0) / (n_bad * n_good)


def gini(y: ArrayLike, score: ArrayLike, higher_is_bad: bool = True) -> float:
    """Gini coefficient (accuracy ratio, Somers' D of score on outcome).

    ``Gini = 2·AUC − 1``, in ``[−1, 1]``; 0 is chance, 1 a perfect ordering.
    """
    return 2.0 * auc(y, score, higher_is_bad) - 1.0


@dataclass(frozen=True, slots=True)
class RocCurve:
    """ROC curve points, one per distinct score threshold (descending), starting at ``(0, 0)``.

    At threshold ``t`` a case is flagged bad when ``score ≥ t``; ``tpr`` = share of bads flagged
    (sensitivity), ``fpr`` = share of goods flagged (1 − specificity). The first point has threshold
    ``+inf`` (nothing flagged).
    """

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    thresholds: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fpr": list(self.fpr),
            "tpr": list(self.tpr),
            "thresholds": [_float_or_none(t) for t in self.thresholds],
        }


def _roc_arrays(y: npt.NDArray[np.int8], s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    last_of_run = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    cum_bad = np.cumsum(y_sorted)[last_of_run].astype(np.float64)
    cum_all = (np.flatnonzero(last_of_run) + 1).astype(np.float64)
    cum_good = cum_all - cum_bad
    n_bad = float(y.sum())
    n_good = float(y.size) - n_bad
    tpr = np.r_[0.0, cum_bad / n_bad]
    fpr = np.r_[0.0, cum_good / n_good]
    thresholds = np.r_[np.inf, s_sorted[last_of_run]]
    return fpr, tpr, thresholds


def roc_points(y: ArrayLike, score: ArrayLike, higher_is_bad: bool = True) -> RocCurve:
    """The empirical ROC curve of ``score`` for the event ``y = 1`` (see :class:`RocCurve`)."""
    yy, ss = _pair(y, score)
    _both_classes(yy, "ROC")
    if not higher_is_bad:
        ss = -ss
    fpr, tpr, thr = _roc_arrays(yy, ss)
    if not higher_is_bad:
        thr = -thr
    return RocCurve(tuple(fpr.tolist()), tuple(tpr.tolist()), tuple(thr.tolist()))


@dataclass(frozen=True, slots=True)
class KSResult:
    """Kolmogorov–Smirnov statistic between the score distributions of bads and goods.

    ``statistic = max_t |F_bad(t) − F_good(t)|`` (a fraction in ``[0, 1]``, often quoted ×100) where
    ``F`` are the empirical distribution functions; ``threshold`` is the score at which the maximum is
    reached (cases with ``score ≥ threshold`` flagged bad); ``bad_share`` / ``good_share`` are the shares
    of bads and goods at or above it.
    """

    statistic: float
    threshold: float
    bad_share: float
    good_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "threshold": _float_or_none(self.threshold),
            "bad_share": self.bad_share,
            "good_share": self.good_share,
        }


def ks(y: ArrayLike, score: ArrayLike, higher_is_bad: bool = True) -> KSResult:
    """Kolmogorov–Smirnov separation of bads and goods (see :class:`KSResult`).

    Evaluated at every distinct score: ``KS = max |TPR(t) − FPR(t)|`` over the ROC points, which equals
    the maximum gap between the two cumulative distributions.
    """
    yy, ss = _pair(y, score)
    _both_classes(yy, "KS")
    if not higher_is_bad:
        ss = -ss
    fpr, tpr, thr = _roc_arrays(yy, ss)
    n_bad = int(yy.sum())
    n_good = yy.size - n_bad
    # Exact integer gaps, so that equal maxima tie exactly and the first (highest) threshold wins.
    cum_bad = np.rint(tpr * n_bad).astype(np.int64)
    cum_good = np.rint(fpr * n_good).astype(np.int64)
    i = int(np.argmax(np.abs(cum_bad * n_good - cum_good * n_bad)))
    gap = np.abs(tpr - fpr)
    threshold = float(thr[i]) if higher_is_bad else float(-thr[i])
    return KSResult(float(gap[i]), threshold, float(tpr[i]), float(fpr[i]))


# --- banding ------------------------------------------------------------------------------------------------


def _edges(values: FloatArray, bands: int | Sequence[float], name: str) -> FloatArray:
    """Band edges: given edges (sorted, strictly increasing) or quantile edges for ``bands`` groups.

    Quantile edges that coincide (heavy ties) are merged, so there may be fewer bands than asked.
    The outer edges are ``-inf`` and ``+inf`` so that every value falls in a band.
    """
    if isinstance(bands, int):
        if bands < 1:
            raise ValidationError(name, bands, "must be at least 1")
        inner = np.quantile(values, np.linspace(0, 1, bands + 1)[1:-1], method="linear")
        inner = np.unique(inner)
        # A quantile edge equal to the maximum would leave an empty last band.
        inner = inner[inner < values.max()]
    else:
        inner = np.asarray(list(bands), dtype=np.float64)
        if inner.ndim != 1 or not np.isfinite(inner).all():
            raise ValidationError(name, list(bands), "must be finite numbers")
        if inner.size > 1 and (np.diff(inner) <= 0).any():
            raise ValidationError(name, list(bands), "must be strictly increasing")
    return np.asarray(np.r_[-np.inf, inner, np.inf], dtype=np.float64)


def _band_index(values: FloatArray, edges: FloatArray) -> npt.NDArray[np.int64]:
    """Band of each value: band ``k`` holds ``edges[k] < v ≤ edges[k+1]`` (right-closed)."""
    return np.searchsorted(edges[1:-1], values, side="left").astype(np.int64)


def calibration_by_band(pd: ArrayLike, y: ArrayLike, bands: int | Sequence[float] = 10) -> pl.DataFrame:
    """Expected versus observed bad rate by PD band.

    ``bands`` is a number of quantile bands of ``pd`` or a list of inner edges (band ``k`` holds
    ``lower < pd ≤ upper``). Per band: ``count``, ``bads`` (observed), ``expected_bads = Σ pd``,
    ``expected_bad_rate = mean(pd)``, ``observed_bad_rate = bads / count`` (fractions), and the binomial
    z-score ``z = (bads − Σpd) / √(Σ pd(1 − pd))`` (|z| > 1.96 flags a band miscalibrated at 5 %).
    Empty bands are left out.
    """
    p = _probability(pd)
    yy, p = _pair(y, p, "pd")
    edges = _edges(p, bands, "bands")
    idx = _band_index(p, edges)
    frame = (
        pl.DataFrame({"band": idx, "pd": p, "y": yy.astype(np.int64)})
        .group_by("band")
        .agg(
            pl.len().alias("count"),
            pl.col("y").sum().alias("bads"),
            pl.col("pd").sum().alias("expected_bads"),
            pl.col("pd").mean().alias("expected_bad_rate"),
            (pl.col("pd") * (1 - pl.col("pd"))).sum().alias("_var"),
        )
        .sort("band")
    )
    return frame.with_columns(
        pl.Series("lower", edges[frame["band"].to_numpy()]),
        pl.Series("upper", edges[frame["band"].to_numpy() + 1]),
        (pl.col("bads") / pl.col("count")).alias("observed_bad_rate"),
        pl.when(pl.col("_var") > 0)
        .then((pl.col("bads") - pl.col("expected_bads")) / pl.col("_var").sqrt())
        .otherwise(None)
        .alias("z"),
        pl.col("count").cast(pl.Int64),
        pl.col("bads").cast(pl.Int64),
    ).select(
        "band",
        "lower",
        "upper",
        "count",
        "bads",
        "expected_bads",
        "expected_bad_rate",
        "observed_bad_rate",
        "z",
    )


@dataclass(frozen=True, slots=True)
class HosmerLemeshow:
    """Hosmer–Lemeshow goodness-of-fit test of a PD model.

    ``statistic = Σ_g (O_g − E_g)² / (E_g·(1 − E_g/n_g))`` over ``groups`` groups (deciles of PD by
    default), ``O_g`` observed bads, ``E_g = Σ pd`` expected bads, ``n_g`` count; compared with a χ²
    distribution on ``df = groups − 2`` degrees of freedom. A small ``p_value`` (< 0.05) says the PDs do
    not match observed bad rates. ``table`` is the band table of :func:`calibration_by_band`.
    """

    statistic: float
    df: int
    p_value: float
    table: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "table": _frame_dict(self.table),
        }


def hosmer_lemeshow(pd: ArrayLike, y: ArrayLike, groups: int | Sequence[float] = 10) -> HosmerLemeshow:
    """Hosmer–Lemeshow test (see :class:`HosmerLemeshow`). Groups whose expected bads are 0 or equal to
    their count contribute nothing (their variance is zero)."""
    table = calibration_by_band(pd, y, groups)
    o = table["bads"].to_numpy().astype(np.float64)
    e = table["expected_bads"].to_numpy()
    n = table["count"].to_numpy().astype(np.float64)
    var = e * (1.0 - e / n)
    keep = var > 0
    statistic = float(np.sum((o[keep] - e[keep]) ** 2 / var[keep]))
    df = max(int(table.height) - 2, 1)
    return HosmerLemeshow(statistic, df, float(stats.chi2.sf(statistic, df)), table)


def score_distribution(score: ArrayLike, y: ArrayLike, bins: int | Sequence[float] = 20) -> pl.DataFrame:
    """Histogram of the score for goods and bads on shared bins.

    ``bins`` is a number of equal-width bins between the minimum and maximum score, or a list of inner
    edges (bin ``k`` holds ``lower < score ≤ upper``; the outer bins are open). Per bin: ``goods``,
    ``bads``, ``good_share`` = goods in bin / all goods, ``bad_share`` likewise (fractions summing to 1).
    """
    yy, ss = _pair(y, score)
    if isinstance(bins, int):
        if bins < 1:
            raise ValidationError("bins", bins, "must be at least 1")
        lo, hi = float(ss.min()), float(ss.max())
        inner = np.linspace(lo, hi, bins + 1)[1:-1] if hi > lo else np.array([], dtype=np.float64)
        edges = np.r_[lo, inner, hi] if hi > lo else np.array([lo, hi])
        idx = np.clip(np.searchsorted(inner, ss, side="left"), 0, max(bins - 1, 0)).astype(np.int64)
        n_bins = max(len(edges) - 1, 1)
    else:
        edges = _edges(ss, bins, "bins")
        idx = _band_index(ss, edges)
        n_bins = len(edges) - 1
    goods = np.bincount(idx[yy == 0], minlength=n_bins)
    bads = np.bincount(idx[yy == 1], minlength=n_bins)
    n_good, n_bad = max(int(goods.sum()), 1), max(int(bads.sum()), 1)
    lower = edges[:-1] if len(edges) > 1 else edges
    upper = edges[1:] if len(edges) > 1 else edges
    return pl.DataFrame(
        {
            "bin": np.arange(n_bins, dtype=np.int64),
            "lower": lower[:n_bins],
            "upper": upper[:n_bins],
            "goods": goods.astype(np.int64),
            "bads": bads.astype(np.int64),
            "good_share": goods / n_good,
            "bad_share": bads / n_bad,
        }
    )


def bad_rate_by_band(score: ArrayLike, y: ArrayLike, bands: int | Sequence[float] = 10) -> pl.DataFrame:
    """Observed bad rate by score band, with population shares.

    ``bands``: number of quantile bands or a list of inner edges (band ``k``: ``lower < score ≤
    upper``). Per band: ``count``, ``bads``, ``bad_rate = bads / count``, ``population_share`` = count /
    total, ``bad_share`` = bads / all bads (fractions). For a good model the bad rate rises with the
    band (score oriented higher = riskier). Empty bands are left out.
    """
    yy, ss = _pair(y, score)
    edges = _edges(ss, bands, "bands")
    idx = _band_index(ss, edges)
    total, total_bad = yy.size, max(int(yy.sum()), 1)
    frame = (
        pl.DataFrame({"band": idx, "y": yy.astype(np.int64)})
        .group_by("band")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("y").sum().cast(pl.Int64).alias("bads"))
        .sort("band")
    )
    b = frame["band"].to_numpy()
    return frame.with_columns(
        pl.Series("lower", edges[b]),
        pl.Series("upper", edges[b + 1]),
        (pl.col("bads") / pl.col("count")).alias("bad_rate"),
        (pl.col("count") / total).alias("population_share"),
        (pl.col("bads") / total_bad).alias("bad_share"),
    ).select("band", "lower", "upper", "count", "bads", "bad_rate", "population_share", "bad_share")


# --- stability ----------------------------------------------------------------------------------------------


def psi_band(value: float) -> str:
    """Reading of a PSI/CSI value: ``"stable"`` (< 0.10), ``"moderate"`` (0.10–0.25), ``"major"`` (≥ 0.25)."""
    if value < PSI_BANDS[0]:
        return "stable"
    if value < PSI_BANDS[1]:
        return "moderate"
    return "major"


@dataclass(frozen=True, slots=True)
class PSIResult:
    """Population stability index between an expected (development) and an actual (later) sample.

    ``PSI = Σ_i (a_i − e_i)·ln(a_i / e_i)`` over bins ``i``, with ``e_i``, ``a_i`` the shares (fractions)
    of the expected and actual samples in bin ``i``; an empty bin's share is replaced by
    :data:`PSI_FLOOR` so that the logarithm stays finite. ``band`` reads it with :data:`PSI_BANDS`.
    ``table`` has one row per bin: ``bin`` (label), ``expected_count``, ``actual_count``,
    ``expected_share``, ``actual_share``, ``contribution``.
    """

    value: float
    band: str
    table: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "band": self.band, "table": _frame_dict(self.table)}


def _psi_from_counts(labels: list[str], expected: FloatArray, actual: FloatArray) -> PSIResult:
    e_share = expected / max(expected.sum(), 1.0)
    a_share = actual / max(actual.sum(), 1.0)
    e = np.maximum(e_share, PSI_FLOOR)
    a = np.maximum(a_share, PSI_FLOOR)
    contribution = (a - e) * np.log(a / e)
    value = float(contribution.sum())
    table = pl.DataFrame(
        {
            "bin": labels,
            "expected_count": expected.astype(np.int64),
            "actual_count": actual.astype(np.int64),
            "expected_share": e_share,
            "actual_share": a_share,
            "contribution": contribution,
        }
    )
    return PSIResult(value, psi_band(value), table)


def _is_numeric(series: pl.Series) -> bool:
    return series.dtype.is_numeric()


def psi(
    expected: ArrayLike | pl.Series, actual: ArrayLike | pl.Series, bins: int | Sequence[float] = 10
) -> PSIResult:
    """Population stability index of one variable (see :class:`PSIResult`).

    Numeric values: ``bins`` quantile bins of the *expected* sample, or a list of inner edges (bin ``k``
    holds ``lower < v ≤ upper``). Non-numeric values (strings, booleans, categories): one bin per value
    seen in either sample, ``bins`` ignored. Nulls form their own bin ``"missing"``.
    """
    e_series = as_series("expected", expected)
    a_series = as_series("actual", actual)
    if e_series.len() == 0 or a_series.len() == 0:
        raise ValidationError("expected/actual", "empty", "both samples must hold at least one value")
    if _is_numeric(e_series) and _is_numeric(a_series):
        e_vals = e_series.drop_nulls().cast(pl.Float64).to_numpy()
        a_vals = a_series.drop_nulls().cast(pl.Float64).to_numpy()
        if e_vals.size == 0:
            raise ValidationError("expected", "all null", "needs at least one non-null value to bin")
        edges = _edges(e_vals, bins, "bins")
        n_bins = len(edges) - 1
        e_counts = np.bincount(_band_index(e_vals, edges), minlength=n_bins).astype(np.float64)
        a_counts = np.bincount(_band_index(a_vals, edges), minlength=n_bins).astype(np.float64)
        labels = [_interval(edges[k], edges[k + 1]) for k in range(n_bins)]
    else:
        e_str = e_series.cast(pl.String)
        a_str = a_series.cast(pl.String)
        values = sorted(set(e_str.drop_nulls().to_list()) | set(a_str.drop_nulls().to_list()))
        e_map = dict(e_str.drop_nulls().value_counts().iter_rows())
        a_map = dict(a_str.drop_nulls().value_counts().iter_rows())
        e_counts = np.array([e_map.get(v, 0) for v in values], dtype=np.float64)
        a_counts = np.array([a_map.get(v, 0) for v in values], dtype=np.float64)
        labels = [str(v) for v in values]
    e_null, a_null = e_series.null_count(), a_series.null_count()
    if e_null or a_null:
        labels.append("missing")
        e_counts = np.r_[e_counts, float(e_null)]
        a_counts = np.r_[a_counts, float(a_null)]
    return _psi_from_counts(labels, e_counts, a_counts)


def _interval(lower: float, upper: float) -> str:
    lo = "-inf" if math.isinf(lower) else f"{lower:.6g}"
    hi = "inf" if math.isinf(upper) else f"{upper:.6g}"
    return f"({lo}, {hi}]"


def csi(
    dev_frame: pl.DataFrame,
    later_frame: pl.DataFrame,
    features: Sequence[str] | None = None,
    bins: int | Sequence[float] = 10,
) -> pl.DataFrame:
    """Characteristic stability index: the PSI formula applied to each feature.

    ``features`` defaults to every column present in both frames. Numeric features are binned by
    ``bins`` quantiles of the development frame; other features by value (see :func:`psi`). Returns one
    row per feature: ``feature``, ``csi`` (= PSI of that feature), ``band``, ``bins`` (number used),
    sorted by ``csi`` descending so the largest shifts come first.
    """
    names = (
        list(features) if features is not None else [c for c in dev_frame.columns if c in later_frame.columns]
    )
    missing = [c for c in names if c not in dev_frame.columns or c not in later_frame.columns]
    if missing:
        raise ValidationError("features", missing, "must be columns of both the development and later frames")
    rows = []
    for name in names:
        result = psi(dev_frame.get_column(name), later_frame.get_column(name), bins)
        rows.append({"feature": name, "csi": result.value, "band": result.band, "bins": result.table.height})
    schema = {"feature": pl.String, "csi": pl.Float64, "band": pl.String, "bins": pl.Int64}
    return pl.DataFrame(rows, schema=schema).sort("csi", descending=True)


# --- lift and gains -----------------------------------------------------------------------------------------


def lift_and_gains(
    score: ArrayLike, y: ArrayLike, deciles: int = 10, higher_is_bad: bool = True
) -> pl.DataFrame:
    """Lift and cumulative gains by score group, riskiest group first.

    Cases are sorted by score, riskiest first (ties kept in input order), and cut into ``deciles`` groups
    of near-equal size (group of the case at position ``i``, 0-based, among ``n``: ``⌊i·deciles/n⌋ + 1``).
    Per group: ``count``, ``bads``, ``bad_rate``; ``lift = bad_rate / overall bad rate``;
    ``cum_population_share`` (fraction of cases in groups 1..k), ``cum_bads``, ``gains`` (= cumulative
    share of all bads captured in groups 1..k, the gains/CAP curve) and ``cum_lift = gains /
    cum_population_share``.
    """
    yy, ss = _pair(y, score)
    if deciles < 1:
        raise ValidationError("deciles", deciles, "must be at least 1")
    if not higher_is_bad:
        ss = -ss
    order = np.argsort(-ss, kind="mergesort")
    n = yy.size
    group = (np.arange(n) * deciles // n + 1).astype(np.int64)
    y_sorted = yy[order].astype(np.int64)
    total_bad = int(yy.sum())
    overall = total_bad / n
    frame = (
        pl.DataFrame({"group": group, "y": y_sorted})
        .group_by("group")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("y").sum().cast(pl.Int64).alias("bads"))
        .sort("group")
    )
    return (
        frame.with_columns(
            (pl.col("bads") / pl.col("count")).alias("bad_rate"),
            pl.col("count").cum_sum().alias("_cum_count"),
            pl.col("bads").cum_sum().alias("cum_bads"),
        )
        .with_columns(
            (pl.col("bad_rate") / overall if overall > 0 else pl.lit(None, pl.Float64)).alias("lift"),
            (pl.col("_cum_count") / n).alias("cum_population_share"),
            (pl.col("cum_bads") / total_bad if total_bad else pl.lit(None, pl.Float64)).alias("gains"),
        )
        .with_columns(
            (pl.col("gains") / pl.col("cum_population_share")).alias("cum_lift"),
        )
        .select(
            "group",
            "count",
            "bads",
            "bad_rate",
            "lift",
            "cum_population_share",
            "cum_bads",
            "gains",
            "cum_lift",
        )
    )


# --- champion vs challenger ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AucEstimate:
    """One model's AUC with its standard error and a two-sided confidence interval (fractions)."""

    model: str
    auc: float
    gini: float
    se: float
    ci_lower: float
    ci_upper: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "auc": self.auc,
            "gini": self.gini,
            "se": _float_or_none(self.se),
            "ci_lower": _float_or_none(self.ci_lower),
            "ci_upper": _float_or_none(self.ci_upper),
        }


@dataclass(frozen=True, slots=True)
class AucComparison:
    """Challenger AUC minus champion AUC on the same cases, with its SE, CI and two-sided p-value."""

    champion: str
    challenger: str
    difference: float
    se: float
    ci_lower: float
    ci_upper: float
    z: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "champion": self.champion,
            "challenger": self.challenger,
            "difference": self.difference,
            "se": _float_or_none(self.se),
            "ci_lower": _float_or_none(self.ci_lower),
            "ci_upper": _float_or_none(self.ci_upper),
            "z": _float_or_none(self.z),
            "p_value": _float_or_none(self.p_value),
        }


@dataclass(frozen=True, slots=True)
class ModelComparison:
    """Champion versus challengers: each model's AUC and each challenger's difference to the champion.

    ``method`` is ``"delong"`` (DeLong, DeLong & Clarke-Pearson 1988, paired, exact midrank form) or
    ``"bootstrap"`` (percentile CI over ``n_boot`` stratified resamples). ``confidence`` is the CI level.
    """

    method: str
    confidence: float
    champion: str
    models: tuple[AucEstimate, ...]
    comparisons: tuple[AucComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "confidence": self.confidence,
            "champion": self.champion,
            "models": [m.to_dict() for m in self.models],
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def auc_delong(y: ArrayLike, scores: Sequence[ArrayLike]) -> tuple[FloatArray, FloatArray]:
    """AUCs of several scores on the same cases and their DeLong covariance matrix.

    With ``m`` bads ``X`` and ``n`` goods ``Y``, the structural components are
    ``V10(X_i) = (1/n)·Σ_j ψ(X_i, Y_j)`` and ``V01(Y_j) = (1/m)·Σ_i ψ(X_i, Y_j)`` with ``ψ = 1, ½, 0`` for
    ``X > Y, X = Y, X < Y``; ``S = S10/m + S01/n`` where ``S10``, ``S01`` are the sample covariance
    matrices (over models) of the components. Computed with midranks (Sun & Xu 2014), ``O(N log N)``.
    Returns ``(aucs, covariance)``.
    """
    yy = _outcome(y)
    _both_classes(yy, "DeLong")
    mat = np.vstack([_vector(s, "score") for s in scores])
    if mat.shape[1] != yy.size:
        raise ValidationError("scores", mat.shape[1], f"must each have as many values as y ({yy.size})")
    pos, neg = mat[:, yy == 1], mat[:, yy == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = mat.shape[0]
    aucs = np.empty(k)
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for r in range(k):
        tx = _midranks(pos[r])
        ty = _midranks(neg[r])
        tz = _midranks(np.r_[pos[r], neg[r]])
        aucs[r] = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1.0 - (tz[m:] - ty) / m
    s10 = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((k, k))
    s01 = np.atleast_2d(np.cov(v01)) if n > 1 else np.zeros((k, k))
    return aucs, s10 / m + s01 / n


def _bootstrap_aucs(yy: npt.NDArray[np.int8], mat: FloatArray, n_boot: int, seed: int) -> FloatArray:
    """``n_boot × k`` AUCs on stratified resamples (bads and goods resampled separately)."""
    rng = np.random.default_rng(seed)
    bad_idx, good_idx = np.flatnonzero(yy == 1), np.flatnonzero(yy == 0)
    out = np.empty((n_boot, mat.shape[0]))
    for b in range(n_boot):
        idx = np.r_[rng.choice(bad_idx, bad_idx.size), rng.choice(good_idx, good_idx.size)]
        y_b = yy[idx]
        for r in range(mat.shape[0]):
            out[b, r] = auc(y_b, mat[r, idx])
    return out


def compare_models(
    y: ArrayLike,
    models: Mapping[str, ArrayLike],
    champion: str | None = None,
    method: str = "delong",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> ModelComparison:
    """Champion versus challenger discrimination on the same cases.

    ``models`` maps a name to its PD or risk score (higher = riskier); ``champion`` defaults to the first.
    Each model: AUC, Gini, SE and CI. Each challenger: ``Δ = AUC_challenger − AUC_champion`` with
    ``SE(Δ) = √(S_cc + S_hh − 2·S_ch)`` from the DeLong covariance, ``z = Δ / SE(Δ)``, two-sided
    ``p = 2·(1 − Φ(|z|))``, CI ``Δ ± z_{(1+confidence)/2}·SE``; or, with ``method="bootstrap"``, SE the
    standard deviation and CI the percentiles of ``n_boot`` stratified resamples (seeded by ``seed``),
    ``p`` from the normal approximation ``z = Δ / SE``.
    """
    if not models:
        raise ValidationError("models", {}, "must name at least one model")
    names = list(models)
    champion = names[0] if champion is None else champion
    if champion not in models:
        raise ValidationError("champion", champion, f"must be one of {names}")
    if method not in ("delong", "bootstrap"):
        raise ValidationError("method", method, "must be 'delong' or 'bootstrap'")
    if not 0 < confidence < 1:
        raise ValidationError("confidence", confidence, "must be between 0 and 1")
    yy = _outcome(y)
    _both_classes(yy, "compare_models")
    mat = np.vstack([_pair(yy, models[nm], f"models.{nm}")[1] for nm in names])
    zq = float(stats.norm.ppf(0.5 + confidence / 2.0))
    c = names.index(champion)
    estimates: list[AucEstimate] = []
    comparisons: list[AucComparison] = []
    if method == "delong":
        aucs, cov = auc_delong(yy, list(mat))
        for r, nm in enumerate(names):
            se = math.sqrt(max(cov[r, r], 0.0))
            a = float(aucs[r])
            estimates.append(AucEstimate(nm, a, 2 * a - 1, se, a - zq * se, a + zq * se))
        for r, nm in enumerate(names):
            if r == c:
                continue
            diff = float(aucs[r] - aucs[c])
            se = math.sqrt(max(cov[r, r] + cov[c, c] - 2 * cov[r, c], 0.0))
            z = diff / se if se > 0 else math.nan
            p = float(2 * stats.norm.sf(abs(z))) if se > 0 else math.nan
            comparisons.append(AucComparison(champion, nm, diff, se, diff - zq * se, diff + zq * se, z, p))
    else:
        if n_boot < 2:
            raise ValidationError("n_boot", n_boot, "must be at least 2")
        boot = _bootstrap_aucs(yy, mat, n_boot, seed)
        lo_q, hi_q = 0.5 - confidence / 2.0, 0.5 + confidence / 2.0
        for r, nm in enumerate(names):
            a = auc(yy, mat[r])
            lo, hi = np.quantile(boot[:, r], [lo_q, hi_q])
            estimates.append(
                AucEstimate(nm, a, 2 * a - 1, float(boot[:, r].std(ddof=1)), float(lo), float(hi))
            )
        for r, nm in enumerate(names):
            if r == c:
                continue
            diff = estimates[r].auc - estimates[c].auc
            d = boot[:, r] - boot[:, c]
            se = float(d.std(ddof=1))
            lo, hi = np.quantile(d, [lo_q, hi_q])
            z = diff / se if se > 0 else math.nan
            p = float(2 * stats.norm.sf(abs(z))) if se > 0 else math.nan
            comparisons.append(AucComparison(champion, nm, diff, se, float(lo), float(hi), z, p))
    return ModelComparison(method, confidence, champion, tuple(estimates), tuple(comparisons))


# --- out of time --------------------------------------------------------------------------------------------


def out_of_time(y: ArrayLike, pd: ArrayLike, vintage: ArrayLike | pl.Series) -> pl.DataFrame:
    """Metrics per vintage (origination cohort, e.g. ``"2024-03"``), in vintage order.

    Per vintage: ``count``, ``bads``, ``bad_rate`` (observed), ``mean_pd`` (expected bad rate),
    ``auc``, ``gini``, ``ks`` (null when the vintage holds only goods or only bads). Compare later
    vintages with the development ones: a falling Gini or a widening gap between ``mean_pd`` and
    ``bad_rate`` says the model is ageing. Young vintages have not had time to go bad: read their bad
    rates with their months on book in mind.
    """
    yy, p = _pair(y, _probability(pd), "pd")
    v = as_series("vintage", vintage)
    if v.len() != yy.size:
        raise ValidationError("vintage", v.len(), f"must have as many values as y ({yy.size})")
    if v.null_count():
        raise ValidationError("vintage", "null", "must not hold nulls")
    frame = pl.DataFrame({"vintage": v, "y": yy.astype(np.int64), "pd": p})
    rows = []
    for (key,), part in frame.group_by("vintage", maintain_order=False):
        y_v = part["y"].to_numpy()
        p_v = part["pd"].to_numpy()
        bads = int(y_v.sum())
        both = 0 < bads < y_v.size
        a = auc(y_v, p_v) if both else None
        rows.append(
            {
                "vintage": key,
                "count": int(y_v.size),
                "bads": bads,
                "bad_rate": bads / y_v.size,
                "mean_pd": float(p_v.mean()),
                "auc": a,
                "gini": 2 * a - 1 if a is not None else None,
                "ks": ks(y_v, p_v).statistic if both else None,
            }
        )
    schema: dict[str, Any] = {
        "vintage": frame.schema["vintage"],
        "count": pl.Int64,
        "bads": pl.Int64,
        "bad_rate": pl.Float64,
        "mean_pd": pl.Float64,
        "auc": pl.Float64,
        "gini": pl.Float64,
        "ks": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("vintage")


def frame_to_dict(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """A polars frame as JSON-ready rows (NaN and inf become ``None``)."""
    return _frame_dict(frame)
