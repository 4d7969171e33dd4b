"""Gradient-boosted challenger model (LightGBM) with monotone constraints, calibrated PD and reasons.

:class:`Challenger` has the small scikit-learn surface of every autofin risk model::

    model = Challenger(num_threads=2).fit(X_train, y_train)          # X: polars frame, y: 1 = bad
    model.predict_proba(X)      # (n, 2) uncalibrated LightGBM probabilities [P(good), P(bad)]
    model.pd(X)                 # calibrated probability of default, shape (n,)
    model.explain(X)            # per-feature contributions to the log-odds (TreeSHAP), shape (n, k)
    model.reasons(X, catalog)   # the features pushing each applicant toward default, as reasons
    text = model.to_json(); Challenger.from_json(text)                # LightGBM model text, no pickles

* **Categorical features** are handled natively by LightGBM: string, categorical and enum columns (and
  any column named in ``categorical_columns``) are mapped at the polars boundary to integer codes of a
  vocabulary fixed at fit time (stored with the model). A value not seen in training, or a null, is a
  missing value for LightGBM. Numeric and boolean columns become float64, nulls NaN.
* **Monotone constraints** encode business logic (a higher bureau score never raises the PD; a higher
  DTI, LTV, PTI or more delinquencies never lower it). :data:`DEFAULT_MONOTONE` holds them for the
  synthetic world's features and applies to whichever of them the frame has; pass ``monotone={...}`` to
  choose others (``{}`` for none).
* **Training**: the training rows are split (stratified, ``validation_fraction``) into a fit part and a
  validation part (or ``eval_set`` is the validation part); boosting stops early on validation
  log-loss. The calibrator is then fitted on out-of-fold log-odds of every training row
  (``cv_folds``-fold cross-fitting with the early-stopped number of rounds) and the final model is
  refitted on all training rows; with ``cv_folds=0`` the calibrator is fitted on the validation part
  and the early-stopped model is kept (one fit, noisier calibration).
* **Protected attributes** are refused as features: :func:`autofin.data.schemas.assert_no_protected`
  plus any columns listed in ``protected_columns`` (a public data set's own flagged columns).
* **Storage** is data: the LightGBM model text, the calibrator's numbers and the metadata in one JSON
  document; predictions of a reloaded model equal the original's exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from autofin.data.schemas import assert_no_protected
from autofin.errors import ValidationError
from autofin.risk.artefacts import parse_artefact
from autofin.risk.calibration import CALIBRATION_METHODS, Calibrator
from autofin.risk.reasons import MAX_REASONS, Reason, ReasonCatalog, rank_reasons

__all__ = ["DEFAULT_MONOTONE", "Challenger", "ChallengerParams"]

FloatArray = NDArray[np.float64]
Calibration = Literal["isotonic", "platt"] | None

#: Monotone direction of the default risk in each synthetic-world feature that business logic fixes:
#: +1 = risk never falls as the feature rises, -1 = risk never rises. Raw bureau names and the default
#: model's derived names (:data:`autofin.data.credit.DEFAULT_FEATURES`) are both listed.
DEFAULT_MONOTONE: Final[Mapping[str, int]] = MappingProxyType(
    {
        "bureau_score": -1,
        "score_z": -1,
        "inquiries_6m": 1,
        "delinquencies_24m": 1,
        "revolving_utilisation": 1,
        "dti": 1,
        "ltv": 1,
        "pti": 1,
    }
)

_FORMAT: Final = "autofin.challenger"
_FORMAT_VERSION: Final = 1
_MONOTONE_METHODS: Final = ("basic", "intermediate", "advanced")
_CATEGORICAL_DTYPES: Final = (pl.String, pl.Categorical, pl.Enum)


@dataclass(frozen=True, slots=True)
class ChallengerParams:
    """Hyper-parameters of :class:`Challenger`, checked in one place (:meth:`check`).

    Attributes:
        num_leaves: maximum leaves per tree (default 15: shallow trees suit credit data).
        learning_rate: shrinkage per boosting round (default 0.05).
        n_estimators: maximum boosting rounds; early stopping usually ends sooner (default 2000).
        early_stopping_rounds: stop after this many rounds without a better validation log-loss (50).
        validation_fraction: share of the training rows held out, stratified, for early stopping and
            calibration when no ``eval_set`` is given (default 0.2).
        cv_folds: folds of out-of-fold log-odds on which the calibrator is fitted (default 5); the final
            model is then refitted on all training rows with the early-stopped number of rounds
            (``cv_folds + 2`` LightGBM fits in all). 0: one fit; the calibrator is fitted on the
            validation part and the early-stopped model is kept (faster, noisier calibration).
        min_child_samples: minimum rows in a leaf (default 40).
        subsample: share of rows drawn (without replacement) for each tree (default 0.8).
        colsample_bytree: share of features drawn for each tree (default 0.8).
        reg_lambda: L2 penalty on leaf values (default 1.0).
        max_bin: histogram bins per numeric feature (default 255).
        cat_smooth: smoothing of category statistics in categorical splits (default 10.0).
        min_data_per_group: minimum rows per category group in a categorical split (default 50).
        monotone_method: LightGBM's monotone-constraint method: "basic", "intermediate" (default) or
            "advanced" (tighter, slower).
        random_state: seed of the validation split and of LightGBM's sampling (default 42).
        num_threads: LightGBM threads for training and prediction (default 1: reproducible, and no
            OpenMP spin-waiting on a shared machine; raise it for large data).
        protected_columns: extra column names to refuse as features, on top of
            :data:`autofin.data.schemas.PROTECTED_COLUMNS` (pass a data set's ``protected_columns``).
        categorical_columns: columns to treat as categorical even if numeric (codes such as 1–4);
            string, categorical and enum columns are always categorical.
    """

    num_leaves: int = 15
    learning_rate: float = 0.05
    n_estimators: int = 2000
    early_stopping_rounds: int = 50
    validation_fraction: float = 0.2
    cv_folds: int = 5
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    max_bin: int = 255
    cat_smooth: float = 10.0
    min_data_per_group: int = 50
    monotone_method: str = "intermediate"
    random_state: int = 42
    num_threads: int = 1
    protected_columns: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()

    def check(self) -> None:
        """Raise :class:`ValidationError` naming the first parameter out of its range."""
        _int("num_leaves", self.num_leaves, 2, 131072)
        _float("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _int("n_estimators", self.n_estimators, 1, 100_000)
        _int("early_stopping_rounds", self.early_stopping_rounds, 1, 100_000)
        _float("validation_fraction", self.validation_fraction, 0.0, 0.5, low_open=True, high_open=True)
        _int("cv_folds", self.cv_folds, 0, 20)
        if self.cv_folds == 1:
            raise ValidationError(
                "cv_folds", self.cv_folds, "must be 0 (no cross-fitting) or between 2 and 20"
            )
        _int("min_child_samples", self.min_child_samples, 1, 10**9)
        _float("subsample", self.subsample, 0.0, 1.0, low_open=True)
        _float("colsample_bytree", self.colsample_bytree, 0.0, 1.0, low_open=True)
        _float("reg_lambda", self.reg_lambda, 0.0, 1e12)
        _int("max_bin", self.max_bin, 2, 65535)
        _float("cat_smooth", self.cat_smooth, 0.0, 1e12)
        _int("min_data_per_group", self.min_data_per_group, 1, 10**9)
        if self.monotone_method not in _MONOTONE_METHODS:
            raise ValidationError(
                "monotone_method", self.monotone_method, f"must be one of {_MONOTONE_METHODS}"
            )
        _int("random_state", self.random_state, 0, 2**31 - 1)
        _int("num_threads", self.num_threads, 1, 1024)
        for name in ("protected_columns", "categorical_columns"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(c, str) for c in value):
                raise ValidationError(name, value, "must be a tuple of column names")

    def lightgbm(self) -> dict[str, Any]:
        """The LightGBM training parameters these stand for (without monotone constraints)."""
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "boosting_type": "gbdt",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "max_bin": self.max_bin,
            "cat_smooth": self.cat_smooth,
            "min_data_per_group": self.min_data_per_group,
            "monotone_constraints_method": self.monotone_method,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }


def _int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ValidationError(name, value, f"must be an integer in [{low}, {high}]")


def _float(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValidationError(name, value, f"must be a number in {interval}")


@dataclass(slots=True)
class _Schema:
    """How each feature is turned into a column of LightGBM's float matrix."""

    features: tuple[str, ...]
    vocabularies: dict[str, list[str]] = field(default_factory=dict)  # categorical feature -> codes 0..m-1

    @property
    def categorical_index(self) -> list[int]:
        return [j for j, f in enumerate(self.features) if f in self.vocabularies]

    def matrix(self, X: pl.DataFrame, where: str = "X") -> FloatArray:  # noqa: N803 - scikit-learn name
        if not isinstance(X, pl.DataFrame):
            raise ValidationError(where, type(X).__name__, "must be a polars DataFrame")
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValidationError(
                f"{where}.columns", missing, "must contain every feature the model was fitted on"
            )
        columns = []
        for f in self.features:
            s = X.get_column(f)
            if f in self.vocabularies:
                codes = {v: k for k, v in enumerate(self.vocabularies[f])}
                coded = s.cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64)
                columns.append(coded.fill_null(np.nan).to_numpy())
            else:
                if not (s.dtype.is_numeric() or s.dtype == pl.Boolean or s.dtype == pl.Null):
                    raise ValidationError(f"{where}.{f}", str(s.dtype), "must be numeric or boolean")
                columns.append(s.cast(pl.Float64).fill_null(np.nan).to_numpy())
        if not columns:
            return np.zeros((X.height, 0))
        return np.ascontiguousarray(np.column_stack(columns), dtype=np.float64)


def _target(y: Any, n: int) -> NDArray[np.float64]:
    if isinstance(y, pl.Series):
        if y.null_count():
            raise ValidationError("y", "nulls", "must have no missing values")
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValidationError(
            "y", f"shape {arr.shape}", f"must be a 1-D array with one value per row of X ({n})"
        )
    values = arr.astype(np.float64)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValidationError("y", "values", "must be 0 (good) or 1 (bad)")
    if values.min() == values.max():
        raise ValidationError("y", f"{int(values.sum())} bad of {n}", "must contain both classes")
    return values


def _auc(y: FloatArray, score: FloatArray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


class Challenger:
    """LightGBM challenger to the scorecard: monotone where business logic says so, calibrated PD.

    Parameters are those of :class:`ChallengerParams` (keyword-only, same names and defaults); an
    out-of-range value raises :class:`ValidationError` naming it.

    Fitted attributes: ``features_`` (tuple of names, model order), ``categorical_`` (name → vocabulary),
    ``monotone_`` (name → ±1 of the constraints applied), ``booster_`` (``lightgbm.Booster``),
    ``calibrator_`` (:class:`Calibrator` or None), ``expected_value_`` (mean log-odds of the
    explanations), ``best_iteration_``, ``metadata_`` (rows, bad rates, validation AUC, fit seconds,
    versions).
    """

    classes_: Final = np.array([0, 1])

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(ChallengerParams.__dataclass_fields__))
        if unknown:
            raise ValidationError(unknown[0], params[unknown[0]], "is not a Challenger parameter")
        for name in ("protected_columns", "categorical_columns"):
            if name in params and not isinstance(params[name], str):
                params[name] = tuple(params[name])
        self.params = ChallengerParams(**params)
        self.params.check()
        self.features_: tuple[str, ...] = ()
        self.categorical_: dict[str, list[str]] = {}
        self.monotone_: dict[str, int] = {}
        self.booster_: lgb.Booster | None = None
        self.calibrator_: Calibrator | None = None
        self.expected_value_: float = 0.0
        self.best_iteration_: int = 0
        self.metadata_: dict[str, Any] = {}
        self._schema = _Schema(())

    def __repr__(self) -> str:
        changed = {
            k: getattr(self.params, k)
            for k, f in ChallengerParams.__dataclass_fields__.items()
            if getattr(self.params, k) != f.default
        }
        return f"Challenger({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # --- fitting -------------------------------------------------------------------------------------

    def _check_features(self, X: pl.DataFrame) -> _Schema:  # noqa: N803
        if not isinstance(X, pl.DataFrame):
            raise ValidationError("X", type(X).__name__, "must be a polars DataFrame")
        if X.width == 0 or X.height == 0:
            raise ValidationError("X", f"{X.height} × {X.width}", "must have at least one row and one column")
        features = tuple(X.columns)
        assert_no_protected(features)
        flagged = sorted(set(self.params.protected_columns).intersection(features))
        if flagged:
            raise ValidationError("features", flagged, "must not include protected attributes")
        unknown = sorted(set(self.params.categorical_columns) - set(features))
        if unknown:
            raise ValidationError("categorical_columns", unknown, "must be columns of X")
        vocabularies: dict[str, list[str]] = {}
        for f in features:
            s = X.get_column(f)
            if isinstance(s.dtype, _CATEGORICAL_DTYPES) or f in self.params.categorical_columns:
                values = s.cast(pl.String).drop_nulls().unique().sort().to_list()
                vocabularies[f] = [str(v) for v in values]
            elif not (s.dtype.is_numeric() or s.dtype == pl.Boolean or s.dtype == pl.Null):
                raise ValidationError(
                    f"X.{f}", str(s.dtype), "must be numeric, boolean, string or categorical"
                )
        return _Schema(features, vocabularies)

    @staticmethod
    def _check_monotone(monotone: Mapping[str, int] | None, schema: _Schema) -> dict[str, int]:
        if monotone is None:
            return {
                f: int(DEFAULT_MONOTONE[f])
                for f in schema.features
                if f in DEFAULT_MONOTONE and f not in schema.vocabularies
            }
        if not isinstance(monotone, Mapping):
            raise ValidationError(
                "monotone", type(monotone).__name__, "must be a mapping feature -> -1, 0 or +1"
            )
        out: dict[str, int] = {}
        for f, direction in monotone.items():
            if f not in schema.features:
                raise ValidationError(f"monotone.{f}", direction, "must name a feature of X")
            if isinstance(direction, bool) or direction not in (-1, 0, 1):
                raise ValidationError(f"monotone.{f}", direction, "must be -1, 0 or +1")
            if f in schema.vocabularies and direction:
                raise ValidationError(f"monotone.{f}", direction, "a categorical feature cannot be monotone")
            if direction:
                out[f] = int(direction)
        return out

    def fit(
        self,
        X: pl.DataFrame,  # noqa: N803 - the scikit-learn name
        y: pl.Series | ArrayLike,
        *,
        monotone: Mapping[str, int] | None = None,
        calibration: Calibration = "isotonic",
        eval_set: tuple[pl.DataFrame, pl.Series | ArrayLike] | None = None,
    ) -> Challenger:
        """Fit on ``X`` (every column is a feature) and ``y`` (1 = bad).

        Args:
            monotone: feature → +1 (risk non-decreasing in it) or -1 (non-increasing); 0 or absent = free.
                None (default) applies :data:`DEFAULT_MONOTONE` to the features present.
            calibration: "isotonic" (default), "platt", or None for uncalibrated ``pd``.
            eval_set: ``(X_valid, y_valid)`` for early stopping and calibration; default: a stratified
                ``validation_fraction`` of ``X``.
        """
        started = time.perf_counter()
        p = self.params
        p.check()
        if calibration is not None and calibration not in CALIBRATION_METHODS:
            raise ValidationError("calibration", calibration, f"must be one of {CALIBRATION_METHODS} or None")
        schema = self._check_features(X)
        target = _target(y, X.height)
        constraints = self._check_monotone(monotone, schema)
        matrix = schema.matrix(X)
        if eval_set is None:
            from sklearn.model_selection import train_test_split

            if min(target.sum(), (1 - target).sum()) < 2:
                raise ValidationError(
                    "y", f"{int(target.sum())} bad", "needs ≥ 2 rows of each class to split"
                )
            idx_fit, idx_val = train_test_split(
                np.arange(X.height),
                test_size=p.validation_fraction,
                stratify=target,
                random_state=p.random_state,
            )
            x_fit, y_fit, x_val, y_val = matrix[idx_fit], target[idx_fit], matrix[idx_val], target[idx_val]
        else:
            if not isinstance(eval_set, tuple) or len(eval_set) != 2:
                raise ValidationError(
                    "eval_set", type(eval_set).__name__, "must be a pair (X_valid, y_valid)"
                )
            x_fit, y_fit = matrix, target
            x_val = schema.matrix(eval_set[0], "eval_set.X")
            y_val = _target(eval_set[1], x_val.shape[0])
        if p.cv_folds and min(target.sum(), (1 - target).sum()) < p.cv_folds:
            raise ValidationError("cv_folds", p.cv_folds, "must not exceed the rows of the rarer class")
        params = p.lightgbm()
        params["monotone_constraints"] = [constraints.get(f, 0) for f in schema.features]
        train = self._dataset(x_fit, y_fit, schema)
        valid = lgb.Dataset(x_val, y_val, reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=p.n_estimators,
            valid_sets=[valid],
            valid_names=["validation"],
            callbacks=[lgb.early_stopping(p.early_stopping_rounds, first_metric_only=True, verbose=False)],
        )
        best = int(booster.best_iteration) or booster.current_iteration()
        val_log_odds = np.asarray(
            booster.predict(x_val, num_iteration=best, raw_score=True), dtype=np.float64
        )
        if p.cv_folds:
            # Out-of-fold log-odds of every training row (each from a model that never saw the row) make
            # the calibration sample; the final model is then refitted on all rows with the same number of
            # rounds (scikit-learn's CalibratedClassifierCV(ensemble=False) does the same).
            cal_scores, cal_target = self._out_of_fold(matrix, target, schema, params, best), target
            booster = lgb.train(params, self._dataset(matrix, target, schema), num_boost_round=best)
        else:
            cal_scores, cal_target = val_log_odds, y_val
        # Keep only the trees that count, and predict with a booster read back from that text, so the
        # fitted model and any copy loaded from JSON are the same object, bit for bit.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.features_ = schema.features
        self.categorical_ = schema.vocabularies
        self.monotone_ = constraints
        self.best_iteration_ = best
        self._schema = schema
        self.calibrator_ = None
        if calibration is not None:
            self.calibrator_ = Calibrator(calibration, input_kind="score").fit(cal_scores, cal_target)
        self.expected_value_ = float(self._contrib(matrix[:1])[0, -1])
        self.metadata_ = {
            "n_train": int(matrix.shape[0]),
            "n_early_stopping_fit": int(x_fit.shape[0]),
            "n_validation": int(x_val.shape[0]),
            "bad_rate_train": float(target.mean()),
            "bad_rate_validation": float(y_val.mean()),
            "validation_auc": _auc(y_val, val_log_odds),
            "best_iteration": best,
            "calibration": calibration,
            "calibration_sample": f"out-of-fold ({p.cv_folds} folds)" if p.cv_folds else "validation",
            "fit_seconds": round(time.perf_counter() - started, 4),
            "lightgbm_version": lgb.__version__,
        }
        return self

    @staticmethod
    def _dataset(matrix: FloatArray, target: FloatArray, schema: _Schema) -> lgb.Dataset:
        return lgb.Dataset(
            matrix,
            target,
            feature_name=[f"f{j}" for j in range(len(schema.features))],
            categorical_feature=schema.categorical_index or "auto",
            free_raw_data=True,
        )

    def _out_of_fold(
        self, matrix: FloatArray, target: FloatArray, schema: _Schema, params: dict[str, Any], rounds: int
    ) -> FloatArray:
        from sklearn.model_selection import StratifiedKFold

        folds = StratifiedKFold(self.params.cv_folds, shuffle=True, random_state=self.params.random_state)
        scores = np.empty(matrix.shape[0], dtype=np.float64)
        for train_idx, test_idx in folds.split(matrix, target):
            fold = lgb.train(params, self._dataset(matrix[train_idx], target[train_idx], schema), rounds)
            scores[test_idx] = fold.predict(matrix[test_idx], raw_score=True)
        return scores

    # --- prediction ----------------------------------------------------------------------------------

    def _fitted(self) -> lgb.Booster:
        if self.booster_ is None:
            raise ValidationError("challenger", "not fitted", "call fit() or from_json() first")
        return self.booster_

    def _raw(self, matrix: FloatArray) -> FloatArray:
        out = self._fitted().predict(matrix, raw_score=True, num_threads=self.params.num_threads)
        return np.asarray(out, dtype=np.float64)

    def _contrib(self, matrix: FloatArray) -> FloatArray:
        out = self._fitted().predict(matrix, pred_contrib=True, num_threads=self.params.num_threads)
        return np.asarray(out, dtype=np.float64)

    def _matrix(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        self._fitted()
        return self._schema.matrix(X)

    def log_odds(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """Raw model output: log-odds of default (uncalibrated), shape (n,)."""
        return self._raw(self._matrix(X))

    def decision_function(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """scikit-learn's name for :meth:`log_odds`."""
        return self.log_odds(X)

    def predict_proba(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """Uncalibrated probabilities, shape (n, 2): columns P(good), P(bad) (scikit-learn layout)."""
        z = self.log_odds(X)
        p_bad = np.exp(-np.logaddexp(0.0, -z))
        return np.column_stack([1.0 - p_bad, p_bad])

    def pd(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """Calibrated probability of default, shape (n,) (uncalibrated if fitted with calibration=None)."""
        z = self.log_odds(X)
        if self.calibrator_ is None:
            out: FloatArray = np.exp(-np.logaddexp(0.0, -z))
            return out
        return self.calibrator_.transform(z)

    def predict(self, X: pl.DataFrame, threshold: float = 0.5) -> NDArray[np.int8]:  # noqa: N803
        """1 (bad) where the calibrated PD is at least ``threshold``, else 0."""
        _float("threshold", threshold, 0.0, 1.0)
        return (self.pd(X) >= threshold).astype(np.int8)

    def explain(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """Each feature's contribution to each row's log-odds (TreeSHAP, LightGBM ``pred_contrib``).

        Shape (n, k), columns in :attr:`features_` order. Row sums plus :attr:`expected_value_` equal
        :meth:`log_odds`. Positive values push toward default.
        """
        return self._contrib(self._matrix(X))[:, :-1]

    def reasons(
        self,
        X: pl.DataFrame,  # noqa: N803
        catalog: ReasonCatalog,
        max_reasons: int = MAX_REASONS,
        min_impact: float = 0.0,
    ) -> list[list[Reason]]:
        """Up to ``max_reasons`` reasons per row: the features whose contributions push the row toward
        default (contribution > ``min_impact`` log-odds), largest first, in ``catalog``'s words.

        US Regulation B §1002.9 asks for the specific principal reasons of an adverse action; more than
        four are "not likely helpful", hence the default of four.
        """
        impacts = self.explain(X)
        features = list(self.features_)
        assert_no_protected(features)
        return rank_reasons(impacts, features, catalog, max_reasons=max_reasons, min_impact=min_impact)

    def feature_importance(self, kind: Literal["gain", "split"] = "gain") -> dict[str, float]:
        """Total gain (or number of splits) per feature, in :attr:`features_` order."""
        if kind not in ("gain", "split"):
            raise ValidationError("kind", kind, "must be 'gain' or 'split'")
        values = self._fitted().feature_importance(importance_type=kind)
        return {f: float(v) for f, v in zip(self.features_, values, strict=True)}

    # --- storage as data -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: parameters, feature schema, constraints, calibrator, LightGBM text."""
        booster = self._fitted()
        params = {k: getattr(self.params, k) for k in ChallengerParams.__dataclass_fields__}
        params["protected_columns"] = list(self.params.protected_columns)
        params["categorical_columns"] = list(self.params.categorical_columns)
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": params,
            "features": list(self.features_),
            "categorical": {f: list(v) for f, v in self.categorical_.items()},
            "monotone": dict(self.monotone_),
            "best_iteration": self.best_iteration_,
            "expected_value": self.expected_value_,
            "metadata": dict(self.metadata_),
            "calibrator": None if self.calibrator_ is None else self.calibrator_.to_dict(),
            "lightgbm_model": booster.model_to_string(),
        }

    def to_json(self) -> str:
        """The fitted model as one JSON document (no pickles)."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Challenger:
        """Rebuild a fitted challenger from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ValidationError("challenger.format", got, f"must be {_FORMAT!r}")
        if data.get("format_version") != _FORMAT_VERSION:
            raise ValidationError(
                "challenger.format_version", data.get("format_version"), f"must be {_FORMAT_VERSION}"
            )
        model = cls(**dict(data.get("params", {})))
        features = tuple(data.get("features", ()))
        assert_no_protected(features)
        categorical = {
            str(f): [str(v) for v in vocab] for f, vocab in dict(data.get("categorical", {})).items()
        }
        if not set(categorical) <= set(features):
            raise ValidationError(
                "challenger.categorical", sorted(set(categorical) - set(features)), "must be features"
            )
        text = data.get("lightgbm_model")
        if not isinstance(text, str) or not text:
            raise ValidationError(
                "challenger.lightgbm_model", type(text).__name__, "must be LightGBM model text"
            )
        booster = lgb.Booster(model_str=text)
        if booster.num_feature() != len(features):
            raise ValidationError(
                "challenger.features",
                len(features),
                f"must match the model's {booster.num_feature()} features",
            )
        model.booster_ = booster
        model.features_ = features
        model.categorical_ = categorical
        model.monotone_ = {str(f): int(d) for f, d in dict(data.get("monotone", {})).items()}
        model.best_iteration_ = int(data.get("best_iteration", booster.current_iteration()))
        model.expected_value_ = float(data.get("expected_value", 0.0))
        model.metadata_ = dict(data.get("metadata", {}))
        cal = data.get("calibrator")
        model.calibrator_ = None if cal is None else Calibrator.from_dict(cal)
        model._schema = _Schema(features, categorical)
        return model

    @classmethod
    def from_json(cls, text: str) -> Challenger:
        """Rebuild a fitted challenger from :meth:`to_json` output."""
        data = parse_artefact(text, "challenger")
        return cls.from_dict(data)
