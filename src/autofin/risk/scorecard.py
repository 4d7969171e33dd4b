"""Application scorecard: optimal monotonic WOE binning, logistic regression, points, reason codes.

:class:`Scorecard` follows scikit-learn's surface (``fit`` / ``predict_proba``, parameters validated in
one place) and is built from well-kept parts:

0. **Family summaries** - with ``summarise_families`` (default), every family of at least three
   numbered numeric columns (``PAY_AMT1 ... PAY_AMT6``) adds its max, mean, count of positive values and
   first-minus-last as candidate features (:mod:`autofin.risk.derived`), recomputed when scoring.
1. **Binning** - optbinning's ``BinningProcess`` bins every candidate feature (numerical and
   categorical; missing values and ``special_codes`` in bins of their own) with optimal bins whose
   bad rate follows optbinning's ``monotonic_trend="auto_heuristic"`` (ascending, descending, or one
   peak or valley, chosen from the data as ``"auto"`` does, the change point found by optbinning's
   faster heuristic), and keeps the features whose information value (IV) is at least
   ``min_iv``. With ``relax_trend`` (default), each numerical feature is also binned without a trend
   constraint from the same pre-bins, and the unconstrained bins replace the constrained ones only when
   the Bayesian information criterion (BIC, ``-2 log L + bins * ln n``) prefers them: a shape the trend
   cannot follow is kept only when the training data support it at BIC's strict penalty.
2. **Correlation filter** - of any pair of kept features whose WOE values correlate with
   ``|rho| > max_correlation`` (Pearson, training data), the one with the lower IV is dropped.
3. **Model** - one scikit-learn L2 ``LogisticRegression``, ``target = 1`` = bad, on the WOE values
   (inverse strength ``C``) and, only with ``deviation_C`` (default None), one indicator per non-empty
   bin whose coefficient - the bin's deviation from ``coefficient * WOE`` - is shrunk towards 0
   (inverse strength ``deviation_C``); the points then need not follow the bins' bad-rate order.
4. **Points** - ``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)``; the score
   is ``offset - factor * logit(PD)`` (600 points at 19:1 good:bad odds, 50 points to double the
   odds by default: ``points = 387.6 - 72.13 * logit(PD)``). Each bin gets
   ``-factor * (coefficient * woe + deviation) + (offset - factor * intercept) / k`` points, so the
   points of an applicant's bins add up to the score.
5. **Compiled scoring** - the fitted bins are compiled into numpy lookup tables (sorted split points
   for ``np.searchsorted``, a category -> bin dictionary, special and missing bins), so scoring needs
   neither optbinning nor pandas and runs on millions of rows per second. It equals optbinning's own
   ``transform(metric="woe", metric_special="empirical", metric_missing="empirical")`` followed by the
   logistic regression.
6. **Reasons** - points lost against each feature's maximum points (over its bins seen in training),
   ranked by :func:`autofin.risk.reasons.rank_reasons` (at most four, never a protected attribute).

The fitted scorecard is data (:meth:`Scorecard.to_json`): bins, WOE, coefficients and points, no
pickles. See docs/risk-scorecard.md.
"""

from __future__ import annotations

import functools
import html
import inspect
import itertools
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal, Self

import numpy as np
import polars as pl

from autofin.data.schemas import assert_no_protected
from autofin.errors import ValidationError
from autofin.risk.artefacts import parse_artefact
from autofin.risk.derived import ColumnFamily, derive, find_families
from autofin.risk.reasons import MAX_REASONS, Reason, ReasonCatalog, rank_reasons

__all__ = ["MONOTONIC_TRENDS", "Scorecard"]

#: optbinning's ``monotonic_trend`` values (for numerical features; categorical bins are ordered by
#: bad rate and so monotonic by construction).
MONOTONIC_TRENDS: Final = (
    "auto",
    "auto_heuristic",
    "auto_asc_desc",
    "ascending",
    "descending",
    "convex",
    "concave",
    "peak",
    "valley",
    "peak_heuristic",
    "valley_heuristic",
)
_FORMAT: Final = "autofin.risk.Scorecard"
#: 2 added per-bin ``deviation`` arrays, derived column ``families`` and their parameters; version 1
#: documents (neither) are still read.
_FORMAT_VERSION: Final = 2
_FORMAT_VERSIONS: Final = (1, 2)
_NUMERIC_DTYPES: Final = (pl.Boolean,)
_CATEGORICAL_DTYPES: Final = (pl.String, pl.Categorical, pl.Enum)
Kind = Literal["bin", "special", "missing", "unknown"]
SpecialValue = str | int | float


def _woe_of_rate(event_rate: np.ndarray[Any, Any] | float, n_good: float, n_bad: float) -> Any:
    """WOE = ln(share of goods / share of bads), computed exactly as optbinning's
    ``transform_event_rate_to_woe`` does, so compiled values equal its transform bit for bit."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log((1.0 / event_rate - 1) * n_bad / n_good)


@dataclass(frozen=True)
class _FeatureBins:
    """One feature's compiled bins. Bin index layout: ``[0, R)`` regular bins, ``[R, R + S)`` special
    bins, ``R + S`` missing, ``R + S + 1`` unknown category (never hit for numerical features).

    A bin adds ``coefficient * woe[b] + deviation[b]`` to logit(PD) (:attr:`logit`; ``deviation`` is
    None - all zeros - unless the scorecard was fitted with ``deviation_C``) and ``points[b]`` to the
    score; ``points = -factor * logit + share of the intercept``."""

    name: str
    dtype: Literal["numerical", "categorical"]
    splits: np.ndarray[Any, np.dtype[np.float64]]
    categories: tuple[tuple[str, ...], ...]
    special: tuple[tuple[str, tuple[SpecialValue, ...]], ...]
    n_good: np.ndarray[Any, np.dtype[np.int64]]
    n_bad: np.ndarray[Any, np.dtype[np.int64]]
    woe: np.ndarray[Any, np.dtype[np.float64]]
    points: np.ndarray[Any, np.dtype[np.float64]]
    coefficient: float
    iv: float
    deviation: np.ndarray[Any, np.dtype[np.float64]] | None = None

    @property
    def logit(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Per bin, the feature's contribution to logit(PD) (the intercept excluded)."""
        out: np.ndarray[Any, np.dtype[np.float64]] = self.coefficient * self.woe
        return out if self.deviation is None else out + self.deviation

    @property
    def n_regular(self) -> int:
        return len(self.splits) + 1 if self.dtype == "numerical" else len(self.categories)

    @property
    def missing_index(self) -> int:
        return self.n_regular + len(self.special)

    @property
    def unknown_index(self) -> int:
        return self.missing_index + 1

    @property
    def counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Training records per bin (unknown bin: 0)."""
        return np.append(self.n_good + self.n_bad, 0)

    @property
    def max_points(self) -> float:
        """The most points this feature gives, over the bins that held training records."""
        return float(self.points[self.counts > 0].max())

    def kinds(self) -> list[Kind]:
        special: list[Kind] = ["special"] * len(self.special)
        regular: list[Kind] = ["bin"] * self.n_regular
        return [*regular, *special, "missing", "unknown"]

    def labels(self) -> list[str]:
        if self.dtype == "numerical":
            edges = [-math.inf, *self.splits.tolist(), math.inf]
            regular = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in itertools.pairwise(edges)]
        else:
            regular = [", ".join(c) for c in self.categories]
        return [*regular, *(label for label, _ in self.special), "Missing", "Unknown category"]

    def lookup(self) -> dict[Any, int]:
        """Category (as a string) or special code -> bin index (special codes win, as in optbinning)."""
        table: dict[Any, int] = {}
        for b, cats in enumerate(self.categories):
            for c in cats:
                table[c] = b
        for s, (_, values) in enumerate(self.special):
            for v in values:
                table[v] = self.n_regular + s
        return table

    def bin_indices(self, column: pl.Series) -> np.ndarray[Any, np.dtype[np.intp]]:
        """The bin index of every value of ``column`` (vectorised, no optbinning)."""
        if self.dtype == "numerical":
            try:
                x = column.cast(pl.Float64).to_numpy()
            except pl.exceptions.InvalidOperationError as exc:
                raise ValidationError(self.name, str(column.dtype), "must be numeric") from exc
            idx = np.searchsorted(self.splits, x, side="right")
            for s, (_, values) in enumerate(self.special):
                if values:
                    idx[np.isin(x, np.asarray(values, dtype=np.float64))] = self.n_regular + s
            missing = np.isnan(x)
            if missing.any():
                idx[missing] = self.missing_index
            return idx
        strings = column.cast(pl.String)
        table = self.lookup()
        idx32 = strings.replace_strict(
            list(table), list(table.values()), default=self.unknown_index, return_dtype=pl.Int32
        ).to_numpy(writable=True)
        if strings.null_count():
            idx32[strings.is_null().to_numpy()] = self.missing_index
        return idx32.astype(np.intp, copy=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "splits": self.splits.tolist(),
            "categories": [list(c) for c in self.categories],
            "special": [{"label": label, "values": list(values)} for label, values in self.special],
            "n_good": self.n_good.tolist(),
            "n_bad": self.n_bad.tolist(),
            "woe": self.woe.tolist(),
            "points": self.points.tolist(),
            "coefficient": self.coefficient,
            "iv": self.iv,
            **({"deviation": self.deviation.tolist()} if self.deviation is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _FeatureBins:
        where = f"scorecard.features.{data.get('name', '?')}"
        try:
            bins = cls(
                name=str(data["name"]),
                dtype=data["dtype"],
                splits=np.asarray(data["splits"], dtype=np.float64),
                categories=tuple(tuple(str(c) for c in cats) for cats in data["categories"]),
                special=tuple((str(s["label"]), tuple(s["values"])) for s in data["special"]),
                n_good=np.asarray(data["n_good"], dtype=np.int64),
                n_bad=np.asarray(data["n_bad"], dtype=np.int64),
                woe=np.asarray(data["woe"], dtype=np.float64),
                points=np.asarray(data["points"], dtype=np.float64),
                coefficient=float(data["coefficient"]),
                iv=float(data["iv"]),
                deviation=(
                    np.asarray(data["deviation"], dtype=np.float64)
                    if data.get("deviation") is not None
                    else None
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(where, type(exc).__name__, f"malformed feature record: {exc}") from exc
        if bins.dtype not in ("numerical", "categorical"):
            raise ValidationError(f"{where}.dtype", bins.dtype, "must be 'numerical' or 'categorical'")
        n = bins.unknown_index + 1
        if (
            len(bins.n_good) != n - 1
            or len(bins.n_bad) != n - 1
            or len(bins.woe) != n
            or len(bins.points) != n
            or (bins.deviation is not None and len(bins.deviation) != n)
        ):
            raise ValidationError(where, n, "bin arrays must have one entry per bin")
        if bins.dtype == "numerical" and np.any(np.diff(bins.splits) <= 0):
            raise ValidationError(f"{where}.splits", bins.splits.tolist(), "must be strictly increasing")
        return bins


@functools.cache
def _binning_process() -> Any:
    """optbinning's ``BinningProcess`` without its per-feature statistical analysis.

    After binning, ``BinningProcess`` builds every feature's binning table *and* runs its ``analysis``
    (p-values of adjacent bins, Bayesian tests, quality score) to fill its summary. The scorecard only
    selects by IV, so the analysis - about a third of the fit time - is skipped: the tables are built
    (IV, JS, Gini exactly as optbinning computes them) and ``quality_score`` is left NaN. Binning and
    transform are optbinning's own. Built on first use (optbinning is imported lazily)."""
    from optbinning import BinningProcess  # type: ignore[import-untyped]

    class _LeanBinningProcess(BinningProcess):  # type: ignore[misc]
        #: False: no statistics at all (a candidate pass whose bins are only compared by BIC).
        statistics = True

        def update_binned_variable(self, name: str, optb: Any) -> None:
            super().update_binned_variable(name, optb)
            self._stale = {*getattr(self, "_stale", ()), name}  # rebuilt by the next summary()

        def _binning_selection_criteria(self) -> None:
            if not self.statistics:
                self._support = np.ones(len(self.variable_names), dtype=bool)
                return
            stale: set[str] = getattr(self, "_stale", set())
            self._stale = set()
            for name in self.variable_names:  # the statistics stay in variable order (support)
                if name in self._variable_stats and name not in stale:
                    continue
                optb = self._binned_variables[name]
                table = optb.binning_table
                table.build(add_totals=False)
                numerical = optb.dtype == "numerical"
                self._variable_stats[name] = {
                    "dtype": optb.dtype,
                    "status": optb.status,
                    "n_bins": len(optb.splits) + (1 if numerical else 0),
                    "iv": table.iv,
                    "gini": table.gini,
                    "js": table.js,
                    "quality_score": math.nan,
                }
            self._support_selection_criteria()

    _LeanBinningProcess.__module__ = __name__
    _LeanBinningProcess.__qualname__ = "_LeanBinningProcess"
    return _LeanBinningProcess


def __getattr__(name: str) -> Any:
    """``_LeanBinningProcess`` by name (PEP 562), so that a fitted scorecard pickles and unpickles."""
    if name == "_LeanBinningProcess":
        return _binning_process()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _bic(optb: Any) -> float:
    """BIC of a fitted binning as a model of the bad rate: ``-2 log L + k ln n`` with one bad rate per
    non-empty bin (regular, special and missing bins alike)."""
    n_bad = np.asarray(optb._n_event, dtype=np.float64)
    n_good = np.asarray(optb._n_nonevent, dtype=np.float64)
    records = n_bad + n_good
    seen = records > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = n_bad[seen] / records[seen]
        loglik = np.nansum(n_bad[seen] * np.log(rate)) + np.nansum(n_good[seen] * np.log1p(-rate))
    return float(-2.0 * loglik + np.count_nonzero(seen) * math.log(records.sum()))


def _num(value: float) -> str:
    return "inf" if value == math.inf else "-inf" if value == -math.inf else f"{value:.6g}"


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


class Scorecard:
    """An application scorecard (WOE logistic regression with points), scikit-learn style.

    Parameters (all validated in :meth:`_validate_params`, called by ``__init__`` and ``fit``):
        base_score: points at ``base_odds`` (default 600 points).
        base_odds: good:bad odds that score ``base_score`` (default 19, i.e. PD = 5 %).
        pdo: points to double the good:bad odds (default 50 points).
        min_iv: minimum information value for a feature to be kept (default 0.02; IV is unitless).
        max_correlation: of two kept features with ``|rho|`` of their training WOE values above this,
            the lower-IV one is dropped (default 0.8; in (0, 1]).
        monotonic_trend: optbinning's trend for numerical features' bad rate over bins (default
            ``"auto_heuristic"``: ascending, descending, peak or valley, chosen from the data as by
            optbinning's default ``"auto"``, with its faster change-point heuristic; ``"auto_asc_desc"``:
            monotonic only; None = unconstrained).
        relax_trend: also bin each numerical feature without a trend constraint and keep those bins when
            their BIC is lower (default True; see step 1 above). Not applied to ``trend_overrides``,
            nor with ``monotonic_trend=None``.
        trend_overrides: per numerical feature, a trend replacing ``monotonic_trend`` (default None),
            for a documented exception such as a U-shaped debt ratio: ``{"DebtRatio": "valley"}``.
        min_bin_size: minimum share of training records in a bin (default 0.05 = 5 %).
        max_n_prebins: pre-bins before optimisation (default 20).
        max_n_bins: maximum bins per feature (default None: no limit).
        C: inverse L2 regularisation strength of the logistic regression's WOE coefficients (default
            1.0, scikit-learn's).
        deviation_C: None (default: the plain WOE logistic regression) or the inverse L2 strength of
            per-bin deviations. The regression then also gets one 0/1 indicator per bin that held
            training records; its coefficient, the bin's deviation from ``coefficient * WOE``, is
            shrunk towards 0 with this strength, so each bin still has one points value. The points
            then need not follow the bins' bad-rate order any more (see docs/risk-scorecard.md).
        summarise_families: add summary features of repeated numbered columns (default True): for
            every family of at least three numeric columns ``<stem><k>`` (e.g. ``PAY_AMT1 ...
            PAY_AMT6``), their max, mean, count of positive values and first-minus-last
            (:mod:`autofin.risk.derived`); they are binned and selected like any candidate feature,
            and recomputed from the member columns when scoring.
        features: candidate feature columns (default None: every column of ``X``).
        categorical_features: columns binned as categories (default None: String, Categorical and Enum
            columns). Categories are compared as strings (``pl.String`` casts).
        special_codes: per feature, values binned apart from the rest ("special" bins): a list of values,
            or ``{label: [values]}`` for several special bins, e.g. ``{"bureau_score": {"no_hit": [-1]}}``.
        protected: extra columns refused as features (for example a data set's ``protected_columns``);
            autofin's protected attributes are always refused (:func:`assert_no_protected`).
        reason_catalog: reason texts (default None: :meth:`ReasonCatalog.default`).

    Fitted attributes: ``features_`` (selected features, model order), ``coef_`` (WOE coefficients; the
    per-bin deviations are ``deviation`` of each feature's bins), ``intercept_``,
    ``binning_process_`` (optbinning's object; None on a scorecard loaded from JSON), ``n_features_in_``.
    """

    def __init__(
        self,
        *,
        base_score: float = 600.0,
        base_odds: float = 19.0,
        pdo: float = 50.0,
        min_iv: float = 0.02,
        max_correlation: float = 0.8,
        monotonic_trend: str | None = "auto_heuristic",
        relax_trend: bool = True,
        trend_overrides: Mapping[str, str | None] | None = None,
        min_bin_size: float = 0.05,
        max_n_prebins: int = 20,
        max_n_bins: int | None = None,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
        deviation_C: float | None = None,  # noqa: N803
        summarise_families: bool = True,
        features: Sequence[str] | None = None,
        categorical_features: Sequence[str] | None = None,
        special_codes: Mapping[str, Sequence[SpecialValue] | Mapping[str, Sequence[SpecialValue]]]
        | None = None,
        protected: Sequence[str] = (),
        reason_catalog: ReasonCatalog | None = None,
    ) -> None:
        self.base_score = base_score
        self.base_odds = base_odds
        self.pdo = pdo
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.monotonic_trend = monotonic_trend
        self.relax_trend = relax_trend
        self.trend_overrides = trend_overrides
        self.min_bin_size = min_bin_size
        self.max_n_prebins = max_n_prebins
        self.max_n_bins = max_n_bins
        self.C = C
        self.deviation_C = deviation_C
        self.summarise_families = summarise_families
        self.features = features
        self.categorical_features = categorical_features
        self.special_codes = special_codes
        self.protected = protected
        self.reason_catalog = reason_catalog
        self._validate_params()
        self._bins: list[_FeatureBins] | None = None
        self.intercept_: float = math.nan
        self.coef_: np.ndarray[Any, np.dtype[np.float64]] = np.empty(0)
        self.features_: tuple[str, ...] = ()
        self.binning_process_: Any = None
        self.n_features_in_ = 0
        self.families_: tuple[ColumnFamily, ...] = ()
        self._selection: list[dict[str, Any]] = []

    # --- parameters --------------------------------------------------------------------------------------

    _PARAMS: Final = (
        "base_score",
        "base_odds",
        "pdo",
        "min_iv",
        "max_correlation",
        "monotonic_trend",
        "relax_trend",
        "trend_overrides",
        "min_bin_size",
        "max_n_prebins",
        "max_n_bins",
        "C",
        "deviation_C",
        "summarise_families",
        "features",
        "categorical_features",
        "special_codes",
        "protected",
        "reason_catalog",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (scikit-learn protocol); validated at once."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValidationError(
                    name, value, f"is not a Scorecard parameter ({', '.join(self._PARAMS)})"
                )
            setattr(self, name, value)
        self._validate_params()
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(Scorecard.__init__).parameters
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k].default}
        return f"Scorecard({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _validate_params(self) -> None:
        """Every parameter rule, in one place. Raises ValidationError naming the parameter."""
        if not _is_real(self.base_score) or not math.isfinite(self.base_score):
            raise ValidationError("base_score", self.base_score, "must be a finite number of points")
        for name in ("base_odds", "pdo", "C"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value <= 0:
                raise ValidationError(name, value, "must be a finite number > 0")
        if self.deviation_C is not None and (
            not _is_real(self.deviation_C) or not math.isfinite(self.deviation_C) or self.deviation_C <= 0
        ):
            raise ValidationError("deviation_C", self.deviation_C, "must be None or a finite number > 0")
        if not _is_real(self.min_iv) or not math.isfinite(self.min_iv) or self.min_iv < 0:
            raise ValidationError("min_iv", self.min_iv, "must be a finite number >= 0")
        if not _is_real(self.max_correlation) or not 0 < self.max_correlation <= 1:
            raise ValidationError("max_correlation", self.max_correlation, "must be in (0, 1]")
        if self.monotonic_trend is not None and self.monotonic_trend not in MONOTONIC_TRENDS:
            raise ValidationError(
                "monotonic_trend",
                self.monotonic_trend,
                f"must be None or one of {', '.join(MONOTONIC_TRENDS)}",
            )
        if not isinstance(self.summarise_families, bool):
            raise ValidationError("summarise_families", self.summarise_families, "must be True or False")
        if not isinstance(self.relax_trend, bool):
            raise ValidationError("relax_trend", self.relax_trend, "must be True or False")
        if self.trend_overrides is not None:
            if not isinstance(self.trend_overrides, Mapping):
                raise ValidationError(
                    "trend_overrides", self.trend_overrides, "must be a mapping feature -> trend"
                )
            for feature, trend in self.trend_overrides.items():
                if trend is not None and trend not in MONOTONIC_TRENDS:
                    raise ValidationError(
                        f"trend_overrides.{feature}",
                        trend,
                        f"must be None or one of {', '.join(MONOTONIC_TRENDS)}",
                    )
        if not _is_real(self.min_bin_size) or not 0 < self.min_bin_size <= 0.5:
            raise ValidationError("min_bin_size", self.min_bin_size, "must be a share of records in (0, 0.5]")
        if (
            isinstance(self.max_n_prebins, bool)
            or not isinstance(self.max_n_prebins, int)
            or self.max_n_prebins < 2
        ):
            raise ValidationError("max_n_prebins", self.max_n_prebins, "must be an integer >= 2")
        if self.max_n_bins is not None and (
            isinstance(self.max_n_bins, bool) or not isinstance(self.max_n_bins, int) or self.max_n_bins < 1
        ):
            raise ValidationError("max_n_bins", self.max_n_bins, "must be None or an integer >= 1")
        for name in ("features", "categorical_features", "protected"):
            value = getattr(self, name)
            if value is None and name != "protected":
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ValidationError(name, value, "must be a sequence of column names (not a string)")
            if not all(isinstance(v, str) and v for v in value) or len(set(value)) != len(value):
                raise ValidationError(name, value, "must hold distinct, non-empty column names")
        if self.features is not None:
            if not self.features:
                raise ValidationError("features", self.features, "must name at least one column")
            self._refuse_protected(list(self.features))
        if self.special_codes is not None:
            if not isinstance(self.special_codes, Mapping):
                raise ValidationError(
                    "special_codes", self.special_codes, "must be a mapping feature -> codes"
                )
            for feature, codes in self.special_codes.items():
                groups = codes.values() if isinstance(codes, Mapping) else [codes]
                if isinstance(codes, Mapping) and (not codes or not all(isinstance(k, str) for k in codes)):
                    raise ValidationError(
                        f"special_codes.{feature}", codes, "labelled codes need non-empty string labels"
                    )
                for group in groups:
                    if (
                        isinstance(group, str)
                        or not isinstance(group, Sequence)
                        or not group
                        or not all(isinstance(v, str) or _is_real(v) for v in group)
                    ):
                        raise ValidationError(
                            f"special_codes.{feature}",
                            group,
                            "must be a non-empty list of numbers or strings",
                        )
        if self.reason_catalog is not None and not isinstance(self.reason_catalog, ReasonCatalog):
            raise ValidationError(
                "reason_catalog", type(self.reason_catalog).__name__, "must be a ReasonCatalog"
            )

    def _refuse_protected(self, features: list[str]) -> None:
        assert_no_protected(features)
        bad = sorted(set(features) & set(self.protected))
        if bad:
            raise ValidationError("features", bad, "must not include protected attributes")

    # --- fitting -----------------------------------------------------------------------------------------

    def fit(self, X: pl.DataFrame, y: pl.Series | np.ndarray[Any, Any] | Sequence[int]) -> Self:  # noqa: N803
        """Bin, select, fit the logistic regression and compile the scorecard.

        Args:
            X: one row per applicant; the candidate feature columns (others are ignored when
                ``features`` is given).
            y: 1 = bad (the event), 0 = good; one per row of ``X``.
        """
        self._validate_params()
        if not isinstance(X, pl.DataFrame):
            raise ValidationError("X", type(X).__name__, "must be a polars DataFrame")
        target = self._target(y, X.height)
        features = list(self.features) if self.features is not None else list(X.columns)
        missing = [f for f in features if f not in X.columns]
        if missing:
            raise ValidationError("X", missing, "must contain every feature column")
        self._refuse_protected(features)
        categorical = self._categorical(X, features)
        special = self._special_codes(features, categorical)
        n_given = len(features)
        families: tuple[ColumnFamily, ...] = ()
        if self.summarise_families:
            families = find_families(X, [f for f in features if f not in categorical])
            X = derive(X, families)  # noqa: N806
            features += [n for fam in families for n in fam.names()]

        frame = self._to_pandas(X, features, categorical)
        overrides = dict(self.trend_overrides or {})
        wrong = sorted(set(overrides) - (set(features) - categorical))
        if wrong:
            raise ValidationError("trend_overrides", wrong, "must name numerical feature columns")
        prebins = self._prebins(
            frame, target, self._relaxable(frame, features, categorical, overrides), special
        )
        fit_params: dict[str, dict[str, Any]] = {}
        for f in features:
            params: dict[str, Any] = {}
            if f in prebins:
                params["user_splits"] = prebins[f]
            if f not in categorical:  # None must be passed too: optbinning's own default is "auto"
                params["monotonic_trend"] = overrides.get(f, self.monotonic_trend)
            if f in special:
                params["special_codes"] = special[f]
            if params:
                fit_params[f] = params
        process = _binning_process()(
            variable_names=features,
            categorical_variables=sorted(categorical) or None,
            max_n_prebins=self.max_n_prebins,
            min_bin_size=self.min_bin_size,
            max_n_bins=self.max_n_bins,
            selection_criteria={"iv": {"min": self.min_iv}},
            binning_fit_params=fit_params or None,
        )
        with warnings.catch_warnings():
            # optbinning 1.0 trips pandas 3 deprecation warnings inside its own code; nothing to act on here.
            warnings.filterwarnings("ignore", module=r"optbinning(\.|$)")
            warnings.simplefilter("ignore", category=UserWarning)
            process.fit(frame, target)
            summary = process.summary()
        relaxed = self._relax_trends(process, frame, target, prebins, special)
        if relaxed:
            summary = process.summary()  # optbinning re-applies its selection criteria after an update
        iv = dict(zip(summary["name"].tolist(), (float(v) for v in summary["iv"].tolist()), strict=True))
        n_bins = dict(
            zip(summary["name"].tolist(), (int(v) for v in summary["n_bins"].tolist()), strict=True)
        )
        by_iv = [str(f) for f in process.get_support(names=True)]
        if not by_iv:
            raise ValidationError("min_iv", self.min_iv, "no feature reaches this information value")
        woe_frame = process.transform(
            frame, metric="woe", metric_special="empirical", metric_missing="empirical"
        )
        woe = np.asarray(woe_frame[by_iv].to_numpy(), dtype=np.float64)

        kept, notes = self._decorrelate(by_iv, woe, iv)
        columns = [by_iv.index(f) for f in kept]
        compiled = [self._compile(process.get_binned_variable(f), f, f in categorical, iv[f]) for f in kept]
        coef, deviations, intercept = self._fit_logit(compiled, X, woe[:, columns], target)

        self.binning_process_ = process
        self.features_ = tuple(kept)
        self.families_ = tuple(fam for fam in families if set(fam.names()) & set(kept))
        self.n_features_in_ = n_given
        self.intercept_ = intercept
        self.coef_ = coef
        factor, offset = self.scaling()
        share = (offset - factor * self.intercept_) / len(kept)
        self._bins = []
        for b, c, d in zip(compiled, coef, deviations, strict=True):
            points = -factor * float(c) * b.woe + share if d is None else -factor * (c * b.woe + d) + share
            self._bins.append(replace(b, coefficient=float(c), deviation=d, points=points))
        self._selection = [
            {
                "feature": f,
                "dtype": "categorical" if f in categorical else "numerical",
                "iv": iv[f],
                "n_bins": n_bins[f],
                "selected": f in kept,
                "coefficient": float(self.coef_[kept.index(f)]) if f in kept else None,
                "note": notes.get(f, "" if f in by_iv else f"IV below min_iv = {self.min_iv:g}"),
            }
            for f in features
        ]
        return self

    def _fit_logit(
        self,
        bins: list[_FeatureBins],
        X: pl.DataFrame,  # noqa: N803
        woe: np.ndarray[Any, np.dtype[np.float64]],
        target: np.ndarray[Any, Any],
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], list[np.ndarray[Any, Any] | None], float]:
        """The logistic regression: WOE coefficients, per-feature bin deviations (None without
        ``deviation_C``) and intercept.

        With ``deviation_C``, one L2 ``LogisticRegression(C=deviation_C)`` is fitted on the WOE columns,
        scaled by ``sqrt(C / deviation_C)`` so that their coefficients keep the inverse strength ``C``,
        and one 0/1 indicator per bin that held training records (its coefficient is the bin's
        deviation; empty bins and the unknown-category bin get 0)."""
        from sklearn.linear_model import LogisticRegression

        if self.deviation_C is None:
            model = LogisticRegression(C=self.C, max_iter=1000).fit(woe, target)
            coef = np.asarray(model.coef_[0], dtype=np.float64)
            return coef, [None] * len(bins), float(model.intercept_[0])
        # Rows with the same bins and target have the same design row: fit on the distinct ones, weighted
        # by their counts (the same objective, on 16,000 instead of 21,000 Taiwan rows, 47,000 instead of
        # 105,000 for Give Me Some Credit).
        idx = np.column_stack([b.bin_indices(X.get_column(b.name)) for b in bins] + [target])
        rows, weight = np.unique(idx, axis=0, return_counts=True)
        scale = math.sqrt(self.C / self.deviation_C)
        nonempty = [np.flatnonzero(b.counts > 0) for b in bins]
        design = np.zeros((len(rows), len(bins) + sum(len(s) for s in nonempty)))
        start = len(bins)
        at = np.arange(len(rows))
        for j, (b, seen) in enumerate(zip(bins, nonempty, strict=True)):
            design[:, j] = b.woe[rows[:, j]] * scale
            column = np.full(b.unknown_index + 1, -1)
            column[seen] = start + np.arange(len(seen))
            col = column[rows[:, j]]
            hit = col >= 0
            design[at[hit], col[hit]] = 1.0
            start += len(seen)
        # Newton's method: a handful of iterations to the exact optimum (lbfgs needs hundreds here).
        model = LogisticRegression(C=self.deviation_C, solver="newton-cholesky", max_iter=100)
        model.fit(design, rows[:, -1], sample_weight=weight.astype(np.float64))
        beta = np.asarray(model.coef_[0], dtype=np.float64)
        coef = beta[: len(bins)] * scale
        deviations: list[np.ndarray[Any, Any] | None] = []
        start = len(bins)
        for b, seen in zip(bins, nonempty, strict=True):
            d = np.zeros(b.unknown_index + 1)
            d[seen] = beta[start : start + len(seen)]
            start += len(seen)
            deviations.append(d)
        return coef, deviations, float(model.intercept_[0])

    def _relaxable(
        self, frame: Any, features: list[str], categorical: set[str], overrides: Mapping[str, Any]
    ) -> list[str]:
        """The numerical features whose trend :meth:`_relax_trends` may relax: not overridden, and with
        more than two distinct values (at most two bins are monotonic whatever the trend)."""
        if not self.relax_trend or self.monotonic_trend is None:
            return []
        return [
            f
            for f in features
            if f not in categorical and f not in overrides and frame[f].nunique(dropna=True) > 2
        ]

    def _prebins(
        self, frame: Any, target: np.ndarray[Any, Any], names: list[str], special: Mapping[str, Any]
    ) -> dict[str, list[float]]:
        """optbinning's own pre-binning (CART, ``max_n_prebins`` leaves of at least 5 % of the records -
        ``BinningProcess``'s default ``min_prebin_size`` - on the values that are neither missing nor
        special), computed once so that the constrained and the unconstrained binning of a feature start
        from the same pre-bins instead of growing the same tree twice. Passed as ``user_splits``, they go
        through optbinning's usual pre-bin refinement, so the bins equal those of the default path."""
        from optbinning.binning.prebinning import PreBinning  # type: ignore[import-untyped]

        min_size = int(np.ceil(0.05 * len(frame)))
        out: dict[str, list[float]] = {}
        for f in names:
            x = frame[f].to_numpy(dtype=np.float64)
            clean = ~np.isnan(x)
            codes = special.get(f)
            if codes is not None:
                groups = codes.values() if isinstance(codes, Mapping) else [codes]
                values = [v for g in groups for v in (g if isinstance(g, list | tuple) else [g])]
                clean &= ~np.isin(x, np.asarray(values, dtype=np.float64))
            if clean.sum() < 2:
                continue
            prebinning = PreBinning(
                problem_type="classification", method="cart", n_bins=self.max_n_prebins, min_bin_size=min_size
            ).fit(x[clean], target[clean])
            splits = [float(v) for v in prebinning.splits]
            if splits:  # none: optbinning's default path handles a feature without pre-bins
                out[f] = splits
        return out

    def _relax_trends(
        self,
        process: Any,
        frame: Any,
        target: np.ndarray[Any, Any],
        prebins: Mapping[str, list[float]],
        special: Mapping[str, Any],
    ) -> list[str]:
        """Bin each relaxable numerical feature again without a trend constraint, from the same pre-bins,
        and keep the unconstrained bins where the Bayesian information criterion (BIC) prefers them; the
        features relaxed."""
        names = list(prebins)
        if not names:
            return []
        free = _binning_process()(
            variable_names=names,
            max_n_prebins=self.max_n_prebins,
            min_bin_size=self.min_bin_size,
            max_n_bins=self.max_n_bins,
            binning_fit_params={
                f: {
                    "monotonic_trend": None,
                    "user_splits": prebins[f],
                    **({"special_codes": special[f]} if f in special else {}),
                }
                for f in names
            },
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"optbinning(\.|$)")
            warnings.simplefilter("ignore", category=UserWarning)
            free.statistics = False
            free.fit(frame[names], target)
        relaxed = []
        for f in names:
            candidate = free.get_binned_variable(f)
            if _bic(candidate) < _bic(process.get_binned_variable(f)):
                process.update_binned_variable(f, candidate)
                relaxed.append(f)
        return relaxed

    @staticmethod
    def _target(y: Any, n: int) -> np.ndarray[Any, np.dtype[np.int8]]:
        values = y.to_numpy() if isinstance(y, pl.Series) else np.asarray(y)
        if values.ndim != 1 or len(values) != n:
            raise ValidationError(
                "y", getattr(values, "shape", None), f"must be 1-D with one value per row ({n})"
            )
        if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
            raise ValidationError("y", "values", "must be 0 (good) or 1 (bad), no missing values")
        target = values.astype(np.int8)
        if target.min() == target.max():
            raise ValidationError("y", int(target[0]), "must contain both goods (0) and bads (1)")
        return target

    def _categorical(self, X: pl.DataFrame, features: list[str]) -> set[str]:  # noqa: N803
        if self.categorical_features is not None:
            unknown = sorted(set(self.categorical_features) - set(features))
            if unknown:
                raise ValidationError("categorical_features", unknown, "must be feature columns")
            categorical = set(self.categorical_features)
        else:
            categorical = {f for f in features if isinstance(X.schema[f], _CATEGORICAL_DTYPES)}
        for f in features:
            dtype = X.schema[f]
            if f not in categorical and not (dtype.is_numeric() or isinstance(dtype, _NUMERIC_DTYPES)):
                raise ValidationError(f, str(dtype), "numerical features must be numeric or boolean columns")
        return categorical

    def _special_codes(self, features: list[str], categorical: set[str]) -> dict[str, Any]:
        """Special codes in optbinning's form; codes of categorical features as strings (the compare form)."""
        out: dict[str, Any] = {}
        for feature, codes in (self.special_codes or {}).items():
            if feature not in features:
                raise ValidationError("special_codes", feature, "must name feature columns")

            if isinstance(codes, Mapping):
                out[feature] = {
                    k: self._norm_codes(feature, v, feature in categorical) for k, v in codes.items()
                }
            else:
                out[feature] = self._norm_codes(feature, codes, feature in categorical)
        return out

    @staticmethod
    def _norm_codes(feature: str, values: Sequence[SpecialValue], categorical: bool) -> list[SpecialValue]:
        if categorical:
            return [str(pl.Series([v]).cast(pl.String)[0]) for v in values]
        if not all(_is_real(v) for v in values):
            raise ValidationError(f"special_codes.{feature}", values, "must be numbers (numerical feature)")
        return [float(v) for v in values]

    @staticmethod
    def _to_pandas(X: pl.DataFrame, features: list[str], categorical: set[str]) -> Any:  # noqa: N803
        """The library boundary: optbinning wants pandas. Numbers as float64 (nulls -> NaN), categories as
        strings (nulls -> None)."""
        import pandas as pd  # type: ignore[import-untyped]

        data = {
            f: (
                X.get_column(f).cast(pl.String).to_numpy()
                if f in categorical
                else X.get_column(f).cast(pl.Float64).to_numpy()
            )
            for f in features
        }
        return pd.DataFrame(data)

    def _decorrelate(
        self, names: list[str], woe: np.ndarray[Any, Any], iv: Mapping[str, float]
    ) -> tuple[list[str], dict[str, str]]:
        """Greedy by IV: keep a feature unless it correlates above ``max_correlation`` with a kept one."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.corrcoef(woe, rowvar=False) if len(names) > 1 else np.ones((1, 1))
        rho = np.nan_to_num(np.atleast_2d(rho), nan=0.0)
        order = sorted(range(len(names)), key=lambda j: (-iv[names[j]], j))
        kept: list[int] = []
        notes: dict[str, str] = {}
        for j in order:
            clash = [k for k in kept if abs(rho[j, k]) > self.max_correlation]
            if clash:
                k = clash[0]
                notes[names[j]] = f"|rho| = {abs(rho[j, k]):.3f} with {names[k]} (higher IV)"
            else:
                kept.append(j)
        return [names[j] for j in sorted(kept)], notes

    @staticmethod
    def _compile(optb: Any, name: str, categorical: bool, iv: float) -> _FeatureBins:
        """The feature's bins as lookup tables; coefficient and points are filled in by ``fit``."""
        n_bad = np.asarray(optb._n_event, dtype=np.int64)  # per bin, then special bins, then missing
        n_good = np.asarray(optb._n_nonevent, dtype=np.int64)
        codes = optb.special_codes
        if codes is None:
            special: tuple[tuple[str, tuple[SpecialValue, ...]], ...] = (("Special", ()),)
        elif isinstance(codes, Mapping):
            special = tuple(
                (str(k), tuple(v if isinstance(v, list | tuple) else [v])) for k, v in codes.items()
            )
        else:
            special = (("Special", tuple(codes)),)
        if categorical:
            splits = np.empty(0)
            categories = tuple(tuple(str(c) for c in np.asarray(b).tolist()) for b in optb.splits)
        else:
            splits = np.asarray(optb.splits, dtype=np.float64)
            categories = ()
        records = n_bad + n_good
        total_bad, total_good = n_bad.sum(), n_good.sum()
        woe = np.zeros(len(records) + 1)  # + the unknown-category bin
        seen = (n_bad > 0) & (n_good > 0)
        woe[:-1][seen] = _woe_of_rate(n_bad[seen] / records[seen], total_good, total_bad)
        woe[-1] = _woe_of_rate(total_bad / records.sum(), total_good, total_bad)
        bins = _FeatureBins(
            name=name,
            dtype="categorical" if categorical else "numerical",
            splits=splits,
            categories=categories,
            special=special,
            n_good=n_good,
            n_bad=n_bad,
            woe=woe,
            points=np.zeros_like(woe),
            coefficient=0.0,
            iv=iv,
        )
        if len(records) != bins.missing_index + 1:
            raise ValidationError(name, len(records), "optbinning's bin counts do not match its bins")
        return bins

    # --- scoring -----------------------------------------------------------------------------------------

    def scaling(self) -> tuple[float, float]:
        """``(factor, offset)``: score = offset - factor * logit(PD); factor = pdo / ln 2,
        offset = base_score - factor * ln(base_odds). Points per unit of log-odds, and points."""
        factor = self.pdo / math.log(2.0)
        return factor, self.base_score - factor * math.log(self.base_odds)

    def _fitted(self) -> list[_FeatureBins]:
        if self._bins is None:
            raise ValidationError("scorecard", "not fitted", "call fit() or from_json() first")
        return self._bins

    def _prepare(self, X: pl.DataFrame) -> pl.DataFrame:  # noqa: N803
        """Check ``X`` and append the derived family summaries the model uses."""
        bins = self._fitted()
        if not isinstance(X, pl.DataFrame):
            raise ValidationError("X", type(X).__name__, "must be a polars DataFrame")
        X = derive(X, self.families_)  # noqa: N806
        missing = [b.name for b in bins if b.name not in X.columns]
        if missing:
            raise ValidationError("X", missing, "must contain every model feature column")
        return X

    def bin_indices(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.intp]]:  # noqa: N803
        """``(n, k)`` bin index of every row for every model feature (layout in :meth:`table`)."""
        bins = self._fitted()
        X = self._prepare(X)  # noqa: N806
        out = np.empty((X.height, len(bins)), dtype=np.intp)
        for j, b in enumerate(bins):
            out[:, j] = b.bin_indices(X.get_column(b.name))
        return out

    def woe(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:  # noqa: N803
        """``(n, k)`` WOE values of the model features (equal to optbinning's transform with
        ``metric_special="empirical", metric_missing="empirical"``)."""
        idx = self.bin_indices(X)
        return np.column_stack([b.woe[idx[:, j]] for j, b in enumerate(self._fitted())])

    def points(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:  # noqa: N803
        """``(n, k)`` points of every model feature; rows add up to :meth:`score`."""
        idx = self.bin_indices(X)
        return np.column_stack([b.points[idx[:, j]] for j, b in enumerate(self._fitted())])

    def decision_function(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:  # noqa: N803
        """logit(PD) = intercept + WOE @ coefficients (+ the per-bin deviations, if fitted)."""
        bins = self._fitted()
        if all(b.deviation is None for b in bins):
            logit: np.ndarray[Any, np.dtype[np.float64]] = self.woe(X) @ self.coef_ + self.intercept_
            return logit
        idx = self.bin_indices(X)
        total = np.full(X.height, self.intercept_)
        for j, b in enumerate(bins):
            total += b.logit[idx[:, j]]
        return total

    def predict_proba(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:  # noqa: N803
        """``(n, 2)``: column 0 P(good), column 1 PD = P(bad)."""
        pd_ = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - pd_, pd_])

    def score(self, X: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:  # noqa: N803
        """Scorecard points of every row (higher = safer): the sum of the points of its bins,
        ``= offset - factor * logit(PD)``. Vectorised lookups; no optbinning, no pandas."""
        bins = self._fitted()
        X = self._prepare(X)  # noqa: N806
        total = np.zeros(X.height)
        for b in bins:
            total += b.points[b.bin_indices(X.get_column(b.name))]
        return total

    def reasons(
        self,
        X: pl.DataFrame,  # noqa: N803
        max_reasons: int = MAX_REASONS,
        min_impact: float = 0.0,
    ) -> list[list[Reason]]:
        """The principal reasons of each row: the features with the most points lost against their
        maximum points (``impact`` in points), at most ``max_reasons`` (<= 4), largest first."""
        bins = self._fitted()
        lost = np.array([b.max_points for b in bins]) - self.points(X)
        catalog = self._catalog()
        return rank_reasons(lost, self.features_, catalog, max_reasons=max_reasons, min_impact=min_impact)

    def _catalog(self) -> ReasonCatalog:
        """The reason catalog; a derived family summary without an entry of its own takes the entry of
        the family's first member that has one (``PAY_max`` gives the reason of ``PAY_0``)."""
        catalog = self.reason_catalog if self.reason_catalog is not None else ReasonCatalog.default()
        extra = {}
        for fam in self.families_:
            entry = next((catalog[c] for c in fam.columns if c in catalog), None)
            if entry is not None:
                extra.update({n: entry for n in fam.names() if n not in catalog})
        return catalog.merged(extra) if extra else catalog

    # --- reporting ---------------------------------------------------------------------------------------

    def table(self) -> pl.DataFrame:
        """The scorecard, one row per bin: feature, bin index and kind (bin / special / missing /
        unknown), label, training counts (goods, bads, share), bad rate, WOE, bin IV, the feature's
        coefficient and the bin's points. ``max_points`` is the feature's best points over bins that held
        training records (the reference for reason codes); ``deviation`` the bin's fitted deviation
        from ``coefficient * woe`` in log-odds (0 without ``deviation_C``)."""
        rows: dict[str, list[Any]] = {
            k: []
            for k in (
                "feature",
                "bin_index",
                "kind",
                "bin",
                "count",
                "count_share",
                "n_good",
                "n_bad",
                "bad_rate",
                "woe",
                "iv",
                "coefficient",
                "points",
                "max_points",
                "deviation",
            )
        }
        for b in self._fitted():
            counts = b.counts
            n_good = np.append(b.n_good, 0)
            n_bad = np.append(b.n_bad, 0)
            total = counts.sum()
            good_share, bad_share = n_good / b.n_good.sum(), n_bad / b.n_bad.sum()
            for i, (kind, label) in enumerate(zip(b.kinds(), b.labels(), strict=True)):
                if kind == "unknown" and b.dtype == "numerical":
                    continue
                rows["feature"].append(b.name)
                rows["bin_index"].append(i)
                rows["kind"].append(kind)
                rows["bin"].append(label)
                rows["count"].append(int(counts[i]))
                rows["count_share"].append(float(counts[i] / total))
                rows["n_good"].append(int(n_good[i]))
                rows["n_bad"].append(int(n_bad[i]))
                rows["bad_rate"].append(float(n_bad[i] / counts[i]) if counts[i] else None)
                rows["woe"].append(float(b.woe[i]))
                rows["iv"].append(float((good_share[i] - bad_share[i]) * b.woe[i]))
                rows["coefficient"].append(b.coefficient)
                rows["points"].append(float(b.points[i]))
                rows["max_points"].append(b.max_points)
                rows["deviation"].append(float(b.deviation[i]) if b.deviation is not None else 0.0)
        schema = {
            "feature": pl.String,
            "bin_index": pl.Int32,
            "kind": pl.String,
            "bin": pl.String,
            "count": pl.Int64,
            "count_share": pl.Float64,
            "n_good": pl.Int64,
            "n_bad": pl.Int64,
            "bad_rate": pl.Float64,
            "woe": pl.Float64,
            "iv": pl.Float64,
            "coefficient": pl.Float64,
            "points": pl.Float64,
            "max_points": pl.Float64,
            "deviation": pl.Float64,
        }
        return pl.DataFrame(rows, schema=schema)

    def selection(self) -> pl.DataFrame:
        """Every candidate feature: dtype, IV, bins, whether selected, coefficient, why dropped."""
        self._fitted()
        schema = {
            "feature": pl.String,
            "dtype": pl.String,
            "iv": pl.Float64,
            "n_bins": pl.Int32,
            "selected": pl.Boolean,
            "coefficient": pl.Float64,
            "note": pl.String,
        }
        return pl.DataFrame(self._selection, schema=schema, orient="row")

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`table` as CSV."""
        self.table().write_csv(Path(path))

    def to_html(self) -> str:
        """The scorecard table as an HTML fragment (escaped), with its scaling in the caption."""
        table = self.table()
        factor, offset = self.scaling()
        caption = (
            f"Scorecard: {self.base_score:g} points at {self.base_odds:g}:1 good:bad odds, "
            f"{self.pdo:g} points to double the odds (factor {factor:.4f}, offset {offset:.4f}); "
            f"intercept {self.intercept_:.6f}; {len(self.features_)} features"
        )
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        body = []
        for row in table.iter_rows():
            cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
            body.append(f"<tr>{cells}</tr>")
        return (
            '<table class="autofin-scorecard">'
            f"<caption>{html.escape(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    # --- persistence -------------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The fitted scorecard as data: parameters, scaling, intercept, per-feature bins (splits or
        categories, special codes, counts, WOE, points) and coefficients, the selection record, the
        reason texts of its features and the versions that built it. Standard JSON (no NaN/inf)."""
        bins = self._fitted()
        params = {k: v for k, v in self.get_params().items() if k != "reason_catalog"}
        params["features"] = list(params["features"]) if params["features"] is not None else None
        params["categorical_features"] = (
            list(params["categorical_features"]) if params["categorical_features"] is not None else None
        )
        params["protected"] = list(params["protected"])
        params["trend_overrides"] = dict(self.trend_overrides) if self.trend_overrides is not None else None
        params["special_codes"] = (
            {
                f: ({k: list(v) for k, v in c.items()} if isinstance(c, Mapping) else list(c))
                for f, c in self.special_codes.items()
            }
            if self.special_codes is not None
            else None
        )
        catalog = self._catalog()
        factor, offset = self.scaling()
        doc = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": params,
            "scaling": {"factor": factor, "offset": offset},
            "intercept": self.intercept_,
            "features": [b.to_dict() for b in bins],
            "families": [f.to_dict() for f in self.families_],
            "selection": self._selection,
            "reason_catalog": {f: e for f, e in catalog.to_dict().items() if f in self.features_},
            "versions": {name: _version(name) for name in ("autofin", "optbinning", "scikit-learn", "numpy")},
        }
        return json.dumps(doc, allow_nan=False, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_json`; it scores exactly as the original."""
        doc = parse_artefact(text, "scorecard")
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValidationError(
                "scorecard.format",
                doc.get("format") if isinstance(doc, dict) else None,
                f"must be {_FORMAT!r}",
            )
        if doc.get("format_version") not in _FORMAT_VERSIONS:
            raise ValidationError(
                "scorecard.format_version",
                doc.get("format_version"),
                f"must be one of {', '.join(map(str, _FORMAT_VERSIONS))}",
            )
        catalog = ReasonCatalog.from_dict(doc["reason_catalog"]) if doc.get("reason_catalog") else None
        params = dict(doc["params"])
        if doc["format_version"] == 1:  # fitted before these options existed
            params.setdefault("deviation_C", None)
            params.setdefault("summarise_families", False)
        try:
            card = cls(**params, reason_catalog=catalog)
        except TypeError as exc:
            raise ValidationError(
                "scorecard.params", sorted(doc["params"]), f"unknown parameters: {exc}"
            ) from exc
        bins = [_FeatureBins.from_dict(f) for f in doc["features"]]
        if not bins:
            raise ValidationError("scorecard.features", [], "must hold at least one feature")
        card._refuse_protected([b.name for b in bins])
        card._bins = bins
        card.features_ = tuple(b.name for b in bins)
        card.families_ = tuple(ColumnFamily.from_dict(f) for f in doc.get("families", []))
        card.coef_ = np.array([b.coefficient for b in bins], dtype=np.float64)
        card.intercept_ = float(doc["intercept"])
        card._selection = list(doc.get("selection", []))
        card.n_features_in_ = len(card._selection) or len(bins)
        return card


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
