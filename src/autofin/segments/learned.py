"""Learned segments: k-means clusters of the applicant frame, stable names, profiles in words.

:class:`SegmentModel` clusters the applicant frame (:func:`autofin.segments.features.applicant_frame`)
on mixed numeric and categorical features. See docs/segments-learned.md for the reasoning; in short:

Encoding (fitted on the training frame, stored as data):

* money amounts (``monthly_income``, ``monthly_debt_payments``, ``price``, ``msrp``; currency units)
  are replaced by ``log(1 + x)`` because they are right-skewed and matter in ratios;
* every numeric feature is then standardised: ``(x - mean) / sd`` (training mean and population sd);
* a numeric feature with nulls in training (``bureau_score`` for no-file applicants) gets its nulls
  set to the mean (0 after standardising) and a ``<name>_missing`` indicator kept at 0/1 (not
  standardised: a rare indicator scaled to unit variance would jump by ``1/sqrt(p(1-p))`` sds and,
  doubled by ``no_file``, split no-file applicants off as a cluster of their own);
* categorical features (and booleans, as two-level categoricals) are one-hot encoded at 0/1 and
  multiplied by ``categorical_weight`` (default 1.5): a change of level then moves a row by
  ``sqrt(2) × 1.5 ≈ 2.1``, about two sds of a numeric feature. (Scaling each block to unit variance
  instead gives rare levels such as ``no_file`` a jump of ``1/sqrt(p(1-p))`` and, on the synthetic
  world, a second k-means solution within 0.1 % of the best inertia that splits the no-file
  applicants off; see docs/segments-learned.md.) An unseen level encodes as all zeros.

Clustering is scikit-learn's :class:`~sklearn.cluster.KMeans` (k-means++, ``n_init`` restarts) on
that encoding. The number of clusters is either given (``n_clusters``) or chosen over ``k_range`` on
a fixed-seed subsample: by default the largest k whose partition is reproducible on independent
halves of the data (cluster stability, ``selection="stability"``), or by the silhouette
(``selection="silhouette"``, the largest wins) or the spherical-Gaussian BIC of the k-means solution
(``selection="bic"``, the smallest wins, Pelleg & Moore's x-means formula); all three criteria are
always recorded in :attr:`SegmentModel.selection_`.

Labels are integers ``0..k-1`` and names ``C1..Ck``. Without a reference they are ordered by cluster
size (largest first). With ``fit(frame, reference=previous)`` each new cluster takes the label and
name of the reference cluster whose centroid is nearest (minimum total distance, Hungarian
assignment, both measured in the reference's encoding) so the same customers keep the same name.

Protected attributes are refused as features (:func:`~autofin.segments.features.refuse_protected`);
the world's true segments are never an input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from autofin.errors import ValidationError
from autofin.segments.features import refuse_protected

__all__ = [
    "DEFAULT_CATEGORICAL",
    "DEFAULT_LOG_COLUMNS",
    "DEFAULT_NUMERIC",
    "FORMAT",
    "Encoder",
    "SegmentModel",
]

#: Numeric features used by default (units as in :mod:`autofin.data.schemas`).
DEFAULT_NUMERIC: Final = (
    "age",
    "monthly_income",
    "employment_tenure_months",
    "residence_tenure_months",
    "dependents",
    "bureau_score",
    "inquiries_6m",
    "delinquencies_24m",
    "revolving_utilisation",
    "monthly_debt_payments",
    "price",
    "msrp",
    "age_years",
    "mileage_km",
    "residual_36m",
)
#: Categorical (string or boolean) features used by default.
DEFAULT_CATEGORICAL: Final = (
    "region",
    "area",
    "channel",
    "customer_type",
    "employment_type",
    "residence_type",
    "condition",
    "vehicle_class",
    "powertrain",
    "use",
    "first_time_buyer",
    "thin_file",
    "no_file",
)
#: Money amounts (currency units) encoded as ``log(1 + x)`` before standardising.
DEFAULT_LOG_COLUMNS: Final = ("monthly_income", "monthly_debt_payments", "price", "msrp")
#: Version of the :meth:`SegmentModel.to_dict` layout.
FORMAT: Final = 1

Lang = Literal["en", "zh-CN"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------- encoding
def _level_key(value: object) -> str:
    """Levels are stored as strings: booleans as ``"true"``/``"false"``, null as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_columns(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError("frame", type(frame).__name__, "must be a polars DataFrame")
    if frame.height == 0:
        raise ValidationError("frame", 0, "must have at least one row")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"frame.{missing[0]}", missing, f"missing column(s): {', '.join(missing)}")


def _numeric(frame: pl.DataFrame, column: str) -> FloatArray:
    try:
        values = frame[column].cast(pl.Float64, strict=True).to_numpy()
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise ValidationError(f"frame.{column}", str(frame[column].dtype), "must be numeric") from exc
    return np.asarray(values, dtype=np.float64)


def _categorical(frame: pl.DataFrame, column: str) -> npt.NDArray[np.str_]:
    series = frame[column]
    if series.dtype == pl.Boolean:
        series = series.cast(pl.String).str.to_lowercase()
    return np.asarray(series.cast(pl.String).fill_null("").to_numpy(), dtype=np.str_)


@dataclass(frozen=True, slots=True)
class Encoder:
    """The fitted encoding, as data (every array a plain list in :meth:`to_dict`).

    Attributes:
        numeric: numeric feature names, in column order.
        log_columns: the subset encoded as ``log(1 + x)`` first (money amounts, currency units).
        center, scale: per numeric feature, the training mean and sd (after the log, if any).
        missing: numeric features that had nulls in training; each adds a ``<name>_missing`` column.
        missing_share: training share of nulls, per ``missing`` feature (for reference; the
            indicator column itself is 0/1).
        categorical: categorical feature names.
        levels: per categorical feature, its training levels (strings; booleans ``"true"``/``"false"``).
        weights: per categorical feature, the factor applied to its 0/1 one-hot block
            (``categorical_weight``).
    """

    numeric: tuple[str, ...]
    log_columns: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    missing: tuple[str, ...]
    missing_share: tuple[float, ...]
    categorical: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    weights: tuple[float, ...]

    @classmethod
    def fit(
        cls,
        frame: pl.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        log_columns: Sequence[str],
        categorical_weight: float,
    ) -> Encoder:
        """Learn means, sds, null shares and levels from ``frame`` (already checked for columns)."""
        center: list[float] = []
        scale: list[float] = []
        missing: list[str] = []
        shares: list[float] = []
        for col in numeric:
            x = _numeric(frame, col)
            if col in log_columns:
                if np.nanmin(x, initial=np.inf) < 0:
                    raise ValidationError(f"frame.{col}", float(np.nanmin(x)), "must not be negative (log)")
                x = np.log1p(x)
            nulls = np.isnan(x)
            if nulls.all():
                raise ValidationError(f"frame.{col}", None, "must have at least one non-null value")
            if nulls.any():
                missing.append(col)
                shares.append(float(nulls.mean()))
            mean, sd = float(np.nanmean(x)), float(np.nanstd(x))
            center.append(mean)
            scale.append(sd if sd > 0 else 1.0)
        levels: list[tuple[str, ...]] = []
        weights: list[float] = []
        for col in categorical:
            v = _categorical(frame, col)
            levels.append(tuple(str(u) for u in np.unique(v)))
            weights.append(float(categorical_weight))
        return cls(
            tuple(numeric),
            tuple(c for c in log_columns if c in numeric),
            tuple(center),
            tuple(scale),
            tuple(missing),
            tuple(shares),
            tuple(categorical),
            tuple(levels),
            tuple(weights),
        )

    @property
    def columns(self) -> list[str]:
        """Names of the encoded columns (``age``, ``bureau_score_missing``, ``region=tier1``, …)."""
        out = list(self.numeric) + [f"{c}_missing" for c in self.missing]
        for col, levels in zip(self.categorical, self.levels, strict=True):
            out.extend(f"{col}={lv}" for lv in levels)
        return out

    def transform(self, frame: pl.DataFrame) -> FloatArray:
        """Encode ``frame`` (one row per applicant) into a float matrix, one column per :attr:`columns`."""
        _check_columns(frame, [*self.numeric, *self.categorical])
        n = frame.height
        blocks: list[FloatArray] = []
        nulls: dict[str, npt.NDArray[np.bool_]] = {}
        num = np.empty((n, len(self.numeric)))
        for j, col in enumerate(self.numeric):
            x = _numeric(frame, col)
            if col in self.log_columns:
                x = np.log1p(np.maximum(x, 0.0))
            isnull = np.isnan(x)
            nulls[col] = isnull
            z = (x - self.center[j]) / self.scale[j]
            z[isnull] = 0.0  # the training mean
            num[:, j] = z
        blocks.append(num)
        if self.missing:
            ind = np.empty((n, len(self.missing)))
            for j, col in enumerate(self.missing):
                ind[:, j] = nulls[col]
            blocks.append(ind)
        for col, levels, weight in zip(self.categorical, self.levels, self.weights, strict=True):
            v = _categorical(frame, col)
            blocks.append(
                (v[:, None] == np.asarray(levels, dtype=np.str_)[None, :]).astype(np.float64) * weight
            )
        return np.hstack(blocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {
            "numeric": list(self.numeric),
            "log_columns": list(self.log_columns),
            "center": list(self.center),
            "scale": list(self.scale),
            "missing": list(self.missing),
            "missing_share": list(self.missing_share),
            "categorical": list(self.categorical),
            "levels": [list(lv) for lv in self.levels],
            "weights": list(self.weights),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Encoder:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(data["numeric"]),
            tuple(data["log_columns"]),
            tuple(float(x) for x in data["center"]),
            tuple(float(x) for x in data["scale"]),
            tuple(data["missing"]),
            tuple(float(x) for x in data["missing_share"]),
            tuple(data["categorical"]),
            tuple(tuple(str(v) for v in lv) for lv in data["levels"]),
            tuple(float(x) for x in data["weights"]),
        )


# ---------------------------------------------------------------------------------------- descriptions
_FEATURE_TEXT: Final[dict[str, tuple[str, str]]] = {
    "age": ("age", "年龄"),
    "monthly_income": ("monthly income", "月收入"),
    "employment_tenure_months": ("employment tenure (months)", "工作年限（月）"),
    "residence_tenure_months": ("time at address (months)", "现址居住时长（月）"),
    "dependents": ("dependents", "受抚养人数"),
    "bureau_score": ("bureau score", "征信评分"),
    "inquiries_6m": ("credit inquiries (6 months)", "近6个月查询次数"),
    "delinquencies_24m": ("delinquencies (24 months)", "近24个月逾期次数"),
    "revolving_utilisation": ("revolving utilisation", "循环额度使用率"),
    "monthly_debt_payments": ("monthly debt payments", "月还款额"),
    "price": ("vehicle price", "车价"),
    "msrp": ("MSRP", "厂商指导价"),
    "age_years": ("vehicle age (years)", "车龄（年）"),
    "mileage_km": ("mileage (km)", "里程（公里）"),
    "residual_36m": ("36-month residual", "36个月残值率"),
    "region": ("region", "地区"),
    "area": ("area", "区域"),
    "channel": ("channel", "渠道"),
    "customer_type": ("customer type", "客户类型"),
    "employment_type": ("employment", "就业类型"),
    "residence_type": ("residence", "居住类型"),
    "condition": ("condition", "车况"),
    "vehicle_class": ("vehicle class", "车型级别"),
    "powertrain": ("powertrain", "动力类型"),
    "use": ("use", "用途"),
    "first_time_buyer": ("first-time buyers", "首次购车"),
    "thin_file": ("thin bureau file", "征信记录薄"),
    "no_file": ("no bureau file", "无征信记录"),
}
_LEVEL_TEXT: Final[dict[str, tuple[str, str]]] = {
    "tier1": ("tier-1 cities", "一线城市"),
    "tier2": ("tier-2 cities", "二线城市"),
    "tier3": ("tier-3 cities", "三线城市"),
    "tier4": ("tier-4 cities", "四线及以下城市"),
    "urban": ("urban", "城区"),
    "suburban": ("suburban", "郊区"),
    "rural": ("rural", "农村"),
    "dealer": ("dealer channel", "经销商渠道"),
    "online": ("online channel", "线上渠道"),
    "branch": ("branch channel", "网点渠道"),
    "individual": ("individuals", "个人客户"),
    "small_business": ("small businesses", "小微企业"),
    "fleet": ("fleets", "车队客户"),
    "government": ("government", "政府客户"),
    "salaried": ("salaried", "受薪"),
    "self_employed": ("self-employed", "自雇"),
    "civil_servant": ("civil servants", "公务员"),
    "business_owner": ("business owners", "企业主"),
    "retired": ("retired", "退休"),
    "other": ("other employment", "其他就业"),
    "own": ("home owners", "自有住房"),
    "mortgage": ("mortgaged homes", "按揭住房"),
    "rent": ("renters", "租房"),
    "family": ("living with family", "与家人同住"),
    "new": ("new cars", "新车"),
    "used": ("used cars", "二手车"),
    "economy": ("economy cars", "经济型车"),
    "mid": ("mid-range cars", "中级车"),
    "luxury": ("luxury cars", "豪华车"),
    "ice": ("ICE", "燃油车"),
    "hybrid": ("hybrid", "混动车"),
    "nev": ("NEV", "新能源车"),
    "passenger": ("passenger use", "乘用"),
    "commercial": ("commercial use", "商用"),
}


def _feature_text(col: str, lang: Lang) -> str:
    pair = _FEATURE_TEXT.get(col)
    return col if pair is None else pair[0 if lang == "en" else 1]


def _level_text(col: str, level: str, lang: Lang) -> str:
    if level == "true":
        return _feature_text(col, lang)
    pair = _LEVEL_TEXT.get(level)
    if pair is None:
        return f"{_feature_text(col, lang)} {level}"
    return pair[0 if lang == "en" else 1]


def _number(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) >= 0.01 else f"{x:.3g}"


def _phrase(item: Mapping[str, Any], lang: Lang) -> str:
    """One distinguishing feature of a cluster in words, with the cluster's and the population's numbers."""
    col = str(item["feature"])
    up = item["cluster"] > item["population"]
    if item["kind"] == "numeric":
        c, p = _number(item["cluster"]), _number(item["population"])
        if col == "age":
            if lang == "en":
                return f"{'older' if up else 'younger'} (mean age {c} vs {p})"
            return f"{'年龄较大' if up else '更年轻'}（平均年龄 {c}，总体 {p}）"
        name = _feature_text(col, lang)
        if lang == "en":
            return f"{'higher' if up else 'lower'} {name} (mean {c} vs {p})"
        return f"{name}{'较高' if up else '较低'}（均值 {c}，总体 {p}）"
    level = _level_text(col, str(item["level"]), lang)
    c, p = f"{100 * item['cluster']:.0f} %", f"{100 * item['population']:.0f} %"
    if lang == "en":
        lead = ("mostly " if item["cluster"] >= 0.5 else "more often ") if up else "less often "
        return f"{lead}{level} ({c} vs {p})"
    if up and item["cluster"] >= 0.5:
        return f"以{level}为主（{c}，总体 {p}）"
    return f"{level}比例{'较高' if up else '较低'}（{c}，总体 {p}）"


# --------------------------------------------------------------------------------------------- the model
def _sq_distances(x: FloatArray, centroids: FloatArray) -> FloatArray:
    """Squared Euclidean distances, rows of ``x`` × rows of ``centroids`` (vectorised, no n×k×d array)."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ centroids.T + (centroids * centroids).sum(1)[None, :]
    out: FloatArray = np.maximum(d, 0.0)
    return out


def _kmeans_bic(x: FloatArray, labels: IntArray, centroids: FloatArray) -> float:
    """BIC of a k-means solution read as a spherical Gaussian mixture (Pelleg & Moore 2000, x-means).

    Lower is better. One shared variance ``sigma² = RSS / ((n - k) d)``; ``k (d + 1)`` free parameters.
    """
    n, d = x.shape
    k = centroids.shape[0]
    rss = float(_sq_distances(x, centroids)[np.arange(n), labels].sum())
    var = max(rss / max(n - k, 1) / d, 1e-12)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    sizes = sizes[sizes > 0]
    loglik = (
        float(np.sum(sizes * np.log(sizes / n))) - n * d / 2 * math.log(2 * math.pi * var) - rss / (2 * var)
    )
    return float(-2.0 * loglik + k * (d + 1) * math.log(n))


class SegmentModel:
    """k-means segments of applicants with stable names and bilingual profiles (scikit-learn-like).

    Parameters (validated in :meth:`_check_params`, at :meth:`fit`):
        n_clusters: the number of clusters, or ``None`` (default) to choose it over ``k_range``.
        k_range: ``(low, high)``, inclusive; the candidates when ``n_clusters`` is ``None``. Default 2..10.
        selection: ``"stability"`` (default): the largest k whose partition is reproducible — k-means
            fitted on two disjoint halves of the selection sample label the whole sample with mean
            adjusted Rand index >= ``stability_threshold`` (Ben-Hur, Elisseeff and Guyon 2002; Lange,
            Roth, Braun and Buhmann 2004). Fewer clusters than the data hold merge true groups the same
            way every time and stay stable; one more than they hold splits a group arbitrarily and
            is not. ``"silhouette"``: the largest mean silhouette wins; ``"bic"``: the smallest
            spherical-Gaussian BIC wins. All three criteria are recorded in ``selection_`` whichever
            decides.
        stability_threshold: the mean ARI a k must reach to count as stable (default 0.95).
        stability_repeats: pairs of disjoint halves drawn per k (default 5; the mean ARI is used:
            single pairs are noisy because k-means can land in different local optima).
        features: numeric feature names (default :data:`DEFAULT_NUMERIC`).
        categorical: categorical / boolean feature names (default :data:`DEFAULT_CATEGORICAL`).
        log_columns: money amounts encoded as ``log(1 + x)`` (default :data:`DEFAULT_LOG_COLUMNS`).
        categorical_weight: factor on each categorical feature's 0/1 one-hot block (default 1.5).
        n_init: k-means++ restarts per fit; the lowest inertia wins (default 10).
        max_iter: Lloyd iterations per restart (default 300).
        selection_sample_size: rows (drawn once, seeded) on which each candidate k is fitted and scored
            (default 10,000; all rows if fewer).
        silhouette_sample_size: rows of that sample on which the silhouette is computed (default 5,000).
        n_describe: distinguishing features named per cluster in :meth:`describe` (default 3).
        random_state: seed of every random choice; the same seed and data give the same model.

    Fitted attributes: ``encoder_``, ``centroids_`` (k × encoded columns), ``names_`` (``C1``…),
    ``n_clusters_``, ``selection_`` (one row per candidate k: ``k``, ``silhouette``, ``bic``,
    ``inertia``), ``profiles_`` (per cluster: share, numeric means, level shares, distinguishing
    features), ``labels_`` (the training rows' labels).
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        k_range: tuple[int, int] = (2, 10),
        selection: Literal["stability", "silhouette", "bic"] = "stability",
        stability_threshold: float = 0.95,
        stability_repeats: int = 5,
        features: Sequence[str] = DEFAULT_NUMERIC,
        categorical: Sequence[str] = DEFAULT_CATEGORICAL,
        log_columns: Sequence[str] = DEFAULT_LOG_COLUMNS,
        categorical_weight: float = 1.5,
        n_init: int = 10,
        max_iter: int = 300,
        selection_sample_size: int = 10_000,
        silhouette_sample_size: int = 5_000,
        n_describe: int = 3,
        random_state: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.selection = selection
        self.stability_threshold = stability_threshold
        self.stability_repeats = stability_repeats
        self.features = tuple(features)
        self.categorical = tuple(categorical)
        self.log_columns = tuple(log_columns)
        self.categorical_weight = categorical_weight
        self.n_init = n_init
        self.max_iter = max_iter
        self.selection_sample_size = selection_sample_size
        self.silhouette_sample_size = silhouette_sample_size
        self.n_describe = n_describe
        self.random_state = random_state

    # ------------------------------------------------------------------------------- validation
    def _check_params(self) -> None:
        """Every parameter rule, in one place."""
        if self.n_clusters is not None and (
            isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, int) or self.n_clusters < 1
        ):
            raise ValidationError("n_clusters", self.n_clusters, "must be a positive integer or None")
        lo_hi = self.k_range
        if (
            not isinstance(lo_hi, tuple | list)
            or len(lo_hi) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in lo_hi)
            or not 2 <= lo_hi[0] <= lo_hi[1]
        ):
            raise ValidationError("k_range", lo_hi, "must be (low, high) integers with 2 <= low <= high")
        if self.selection not in ("stability", "silhouette", "bic"):
            raise ValidationError("selection", self.selection, "must be 'stability', 'silhouette' or 'bic'")
        if not (
            isinstance(self.stability_threshold, int | float)
            and not isinstance(self.stability_threshold, bool)
            and 0 < self.stability_threshold <= 1
        ):
            raise ValidationError("stability_threshold", self.stability_threshold, "must be in (0, 1]")
        if not self.features and not self.categorical:
            raise ValidationError("features", [], "must name at least one feature")
        refuse_protected(self.features, "features")
        refuse_protected(self.categorical, "categorical")
        both = set(self.features) & set(self.categorical)
        if both:
            raise ValidationError("categorical", sorted(both), "must not repeat a numeric feature")
        dup = len(set(self.features)) != len(self.features) or len(set(self.categorical)) != len(
            self.categorical
        )
        if dup:
            raise ValidationError("features", list(self.features), "must not name a feature twice")
        if not (isinstance(self.categorical_weight, int | float) and self.categorical_weight >= 0):
            raise ValidationError("categorical_weight", self.categorical_weight, "must be a number >= 0")
        for name, low in (
            ("n_init", 1),
            ("max_iter", 1),
            ("selection_sample_size", 10),
            ("silhouette_sample_size", 10),
            ("n_describe", 1),
            ("stability_repeats", 1),
            ("random_state", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValidationError(name, value, f"must be an integer >= {low}")

    # ---------------------------------------------------------------------------------- fitting
    def _kmeans(self, x: FloatArray, k: int) -> KMeans:
        return KMeans(
            n_clusters=k, n_init=self.n_init, max_iter=self.max_iter, random_state=self.random_state
        ).fit(x)

    def _select_k(self, x: FloatArray) -> tuple[int, list[dict[str, float]]]:
        rng = np.random.default_rng(self.random_state)
        n = x.shape[0]
        sample = (
            x[np.sort(rng.choice(n, self.selection_sample_size, replace=False))]
            if n > (self.selection_sample_size)
            else x
        )
        lo, hi = self.k_range
        if sample.shape[0] <= hi:
            raise ValidationError("frame", n, f"must have more rows than the largest k ({hi})")
        table: list[dict[str, float]] = []
        # The halves are drawn up front, one set per k, so a k's score does not depend on the range.
        rng_halves = [
            [rng.permutation(sample.shape[0]) for _ in range(self.stability_repeats)]
            for _ in range(lo, hi + 1)
        ]
        for k in range(lo, hi + 1):
            km = self._kmeans(sample, k)
            labels = np.asarray(km.labels_, dtype=np.int64)
            sil = (
                float(
                    silhouette_score(
                        sample,
                        labels,
                        sample_size=min(self.silhouette_sample_size, sample.shape[0]),
                        random_state=self.random_state,
                    )
                )
                if np.unique(labels).size > 1
                else -1.0
            )
            bic = _kmeans_bic(sample, labels, np.asarray(km.cluster_centers_, dtype=np.float64))
            stability = self._stability(sample, k, rng_halves[k - lo])
            table.append(
                {"k": k, "stability": stability, "silhouette": sil, "bic": bic, "inertia": float(km.inertia_)}
            )
        if self.selection == "stability":
            stable = [r for r in table if r["stability"] >= self.stability_threshold]
            best = max(stable, key=lambda r: r["k"]) if stable else table[0]
        elif self.selection == "silhouette":
            best = max(table, key=lambda r: (r["silhouette"], -r["k"]))
        else:
            best = min(table, key=lambda r: (r["bic"], r["k"]))
        return int(best["k"]), table

    def _stability(self, sample: FloatArray, k: int, halves: list[IntArray]) -> float:
        """Mean ARI between the labels two k-means (fitted on disjoint halves) give the whole sample."""
        scores = []
        for order in halves:
            half = order.size // 2
            a = self._kmeans(sample[order[:half]], k).predict(sample)
            b = self._kmeans(sample[order[half:]], k).predict(sample)
            scores.append(adjusted_rand_score(a, b))
        return float(np.mean(scores))

    def fit(self, frame: pl.DataFrame, reference: SegmentModel | None = None) -> SegmentModel:
        """Fit the encoding and the clusters on ``frame`` (one row per applicant); returns ``self``.

        With ``reference`` (a fitted model, typically last period's), clusters take the labels and
        names of the reference clusters they are nearest to, so retraining does not rename segments.
        """
        self._check_params()
        if reference is not None and not hasattr(reference, "centroids_"):
            raise ValidationError("reference", type(reference).__name__, "must be a fitted SegmentModel")
        _check_columns(frame, [*self.features, *self.categorical])
        encoder = Encoder.fit(
            frame, self.features, self.categorical, self.log_columns, self.categorical_weight
        )
        x = encoder.transform(frame)
        if self.n_clusters is None:
            k, table = self._select_k(x)
        else:
            k, table = self.n_clusters, []
        if x.shape[0] < k:
            raise ValidationError("frame", x.shape[0], f"must have at least n_clusters ({k}) rows")
        km = self._kmeans(x, k)
        raw = np.asarray(km.labels_, dtype=np.int64)
        centroids = np.asarray(km.cluster_centers_, dtype=np.float64)
        if reference is None:
            sizes = np.bincount(raw, minlength=k)
            order = sorted(range(k), key=lambda j: (-sizes[j], j))
            names = [f"C{i + 1}" for i in range(k)]
        else:
            order, names = _match(reference, frame, raw, k)
        remap = np.empty(k, dtype=np.int64)
        remap[order] = np.arange(k)
        self.encoder_ = encoder
        self.centroids_ = centroids[order]
        self.names_ = names
        self.n_clusters_ = k
        self.selection_ = table
        self.labels_ = remap[raw]
        self.profiles_ = _profiles(frame, encoder, self.labels_, names, self.n_describe)
        return self

    # ------------------------------------------------------------------------------- prediction
    def _fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise ValidationError("model", "unfitted", "must be fitted (call fit or from_dict) first")

    def transform(self, frame: pl.DataFrame) -> FloatArray:
        """The encoded matrix of ``frame`` (rows × :attr:`Encoder.columns`)."""
        self._fitted()
        return self.encoder_.transform(frame)

    def predict(self, frame: pl.DataFrame) -> IntArray:
        """The nearest centroid's label (``0..k-1``, index into ``names_``) for each row of ``frame``."""
        x = self.transform(frame)
        return np.asarray(_sq_distances(x, self.centroids_).argmin(1), dtype=np.int64)

    def predict_labels(self, frame: pl.DataFrame) -> pl.Series:
        """The segment name (``C1``…) of each row of ``frame``, as a polars Series named ``segment``."""
        idx = self.predict(frame)
        return pl.Series("segment", np.asarray(self.names_, dtype=object)[idx], dtype=pl.String)

    def describe(self, lang: Lang = "en") -> dict[str, str]:
        """Each segment's name → its ``n_describe`` most distinguishing features, in words with numbers.

        Numbers are the segment's value vs the whole training population: means for numeric features
        (money in currency units), shares in percent for categorical levels. ``lang``: ``"en"`` or
        ``"zh-CN"``.
        """
        self._fitted()
        if lang not in ("en", "zh-CN"):
            raise ValidationError("lang", lang, "must be 'en' or 'zh-CN'")
        sep = "; " if lang == "en" else "；"
        return {
            name: sep.join(_phrase(item, lang) for item in self.profiles_[name]["distinguishing"])
            for name in self.names_
        }

    # ---------------------------------------------------------------------------- serialisation
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (JSON-ready)."""
        return {
            "n_clusters": self.n_clusters,
            "k_range": list(self.k_range),
            "selection": self.selection,
            "stability_threshold": self.stability_threshold,
            "stability_repeats": self.stability_repeats,
            "features": list(self.features),
            "categorical": list(self.categorical),
            "log_columns": list(self.log_columns),
            "categorical_weight": self.categorical_weight,
            "n_init": self.n_init,
            "max_iter": self.max_iter,
            "selection_sample_size": self.selection_sample_size,
            "silhouette_sample_size": self.silhouette_sample_size,
            "n_describe": self.n_describe,
            "random_state": self.random_state,
        }

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-ready data (no pickles): parameters, encoder, centroids, names,
        chosen k, the k-selection table, profiles and descriptions in both languages."""
        self._fitted()
        return {
            "format": FORMAT,
            "kind": "autofin.segments.learned.SegmentModel",
            "params": self.get_params(),
            "encoder": self.encoder_.to_dict(),
            "n_clusters": self.n_clusters_,
            "names": list(self.names_),
            "centroids": self.centroids_.tolist(),
            "selection": [dict(r) for r in self.selection_],
            "profiles": self.profiles_,
            "descriptions": {"en": self.describe("en"), "zh-CN": self.describe("zh-CN")},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentModel:
        """Rebuild a fitted model from :meth:`to_dict` output; it predicts exactly as the original."""
        if data.get("format") != FORMAT:
            raise ValidationError("format", data.get("format"), f"must be {FORMAT}")
        params = dict(data["params"])
        params["k_range"] = tuple(params["k_range"])
        model = cls(**params)
        model.encoder_ = Encoder.from_dict(data["encoder"])
        model.centroids_ = np.asarray(data["centroids"], dtype=np.float64)
        model.names_ = [str(n) for n in data["names"]]
        model.n_clusters_ = int(data["n_clusters"])
        model.selection_ = [dict(r) for r in data["selection"]]
        model.profiles_ = dict(data["profiles"])
        model.labels_ = np.empty(0, dtype=np.int64)
        if model.centroids_.shape != (model.n_clusters_, len(model.encoder_.columns)):
            raise ValidationError(
                "centroids", list(model.centroids_.shape), "must be n_clusters × encoded columns"
            )
        return model

    encoder_: Encoder
    centroids_: FloatArray
    names_: list[str]
    n_clusters_: int
    selection_: list[dict[str, float]]
    labels_: IntArray
    profiles_: dict[str, Any]


def _match(
    reference: SegmentModel, frame: pl.DataFrame, raw: IntArray, k: int
) -> tuple[list[int], list[str]]:
    """Order the new clusters so that each takes the label of its nearest reference cluster.

    New clusters' centroids are measured in the *reference's* encoding (mean of the reference-encoded
    rows of each new cluster), then matched one-to-one by minimum total Euclidean distance. New clusters
    beyond the reference's count get fresh names after the reference's highest ``C`` number.
    """
    ref_x = reference.encoder_.transform(frame)
    counts = np.bincount(raw, minlength=k).astype(np.float64)
    sums = np.zeros((k, ref_x.shape[1]))
    np.add.at(sums, raw, ref_x)
    centres = sums / np.maximum(counts, 1.0)[:, None]
    cost = np.sqrt(_sq_distances(centres, reference.centroids_))
    rows, cols = linear_sum_assignment(cost)
    matched = sorted(zip(cols.tolist(), rows.tolist(), strict=True))  # by reference label
    order = [new for _, new in matched]
    names = [reference.names_[ref] for ref, _ in matched]
    numbers = [int(n[1:]) for n in reference.names_ if n.startswith("C") and n[1:].isdigit()]
    next_number = max(numbers, default=0) + 1
    rest = sorted((j for j in range(k) if j not in order), key=lambda j: (-counts[j], j))
    for j in rest:
        order.append(j)
        names.append(f"C{next_number}")
        next_number += 1
    return order, names


def _profiles(
    frame: pl.DataFrame, encoder: Encoder, labels: IntArray, names: Sequence[str], n_describe: int
) -> dict[str, Any]:
    """Per cluster: its share, numeric means, level shares and its most distinguishing features.

    Distinctiveness of a numeric feature is ``|cluster mean - population mean|`` in the encoded
    (standardised, logged for money) scale; of a categorical level it is ``|p_cluster - p_pop| /
    sqrt(p_pop (1 - p_pop))``, the same standardised units. Each feature appears at most once.
    """
    n = labels.size
    num_raw = {col: _numeric(frame, col) for col in encoder.numeric}
    cat_raw = {col: _categorical(frame, col) for col in encoder.categorical}
    x = encoder.transform(frame)
    out: dict[str, Any] = {}
    pop_means = {col: float(np.nanmean(v)) for col, v in num_raw.items()}
    pop_shares = {
        col: {lv: float(np.mean(cat_raw[col] == lv)) for lv in levels}
        for col, levels in zip(encoder.categorical, encoder.levels, strict=True)
    }
    for j, name in enumerate(names):
        mask = labels == j
        size = int(mask.sum())
        candidates: list[tuple[float, dict[str, Any]]] = []
        means: dict[str, float | None] = {}
        for i, col in enumerate(encoder.numeric):
            vals = num_raw[col][mask]
            mean = float(np.nanmean(vals)) if size and not np.isnan(vals).all() else None
            means[col] = mean
            if mean is not None:
                z = float(np.mean(x[mask, i]))
                item = {"feature": col, "kind": "numeric", "cluster": mean, "population": pop_means[col]}
                candidates.append((abs(z), item))
        shares: dict[str, dict[str, float]] = {}
        for col, levels in zip(encoder.categorical, encoder.levels, strict=True):
            shares[col] = {}
            best: tuple[float, dict[str, Any]] | None = None
            for lv in levels:
                pc = float(np.mean(cat_raw[col][mask] == lv)) if size else 0.0
                shares[col][lv] = pc
                pp = pop_shares[col][lv]
                if lv == "false" or not 0 < pp < 1:
                    continue
                score = abs(pc - pp) / math.sqrt(pp * (1 - pp))
                if best is None or score > best[0]:
                    best = (score, {"feature": col, "kind": "categorical", "level": lv, "cluster": pc,
                                    "population": pp})  # fmt: skip
            if best is not None:
                candidates.append(best)
        candidates.sort(key=lambda c: -c[0])
        out[name] = {
            "size": size,
            "share": size / n if n else 0.0,
            "numeric_means": means,
            "level_shares": shares,
            "distinguishing": [dict(item, score=score) for score, item in candidates[:n_describe]],
        }
    out["_population"] = {"size": n, "numeric_means": pop_means, "level_shares": pop_shares}
    return out
