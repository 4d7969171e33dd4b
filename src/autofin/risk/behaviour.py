"""Behaviour score: the probability that a loan on the book goes 90+ days past due (or defaults) in the
next ``horizon`` months, from how it has paid so far.

An application scorecard ranks applicants once, at the desk; a behaviour score re-ranks the *book*
every month from repayment behaviour, for collections priority, limit and refinancing offers, early
warning and IFRS 9 staging. Two pieces:

* :func:`behaviour_dataset` turns the ``performance`` and ``loans`` tables into one row per loan open at
  an **observation month** (a "snapshot"): features from the rows up to and including that month, and
  the target from the ``horizon`` months after it. Several observation months can be stacked.
* :class:`BehaviourModel` fits a :class:`~autofin.risk.scorecard.Scorecard` (default; optimal WOE
  binning, points, reasons) or a plain standardised logistic regression (``engine="logistic"``) on
  those features, and stores itself as JSON.

Features (:data:`BEHAVIOUR_FEATURES`; "last k months" = the k monthly rows ending at the observation
month, fewer for younger loans):

============================  ==========================================================================
``months_on_book``            month on book at the observation month
``current_dpd``               days past due at the end of the observation month
``max_dpd_6m``                the highest days past due over the last 6 months
``n_dpd30_12m``               months with 30+ days past due over the last 12 months
``balance_ratio``             outstanding balance / amount financed
``prepaid_ratio``             partial prepayments so far / amount financed
``paid_ratio_6m``             payments received over the last 6 months / instalments due in them
``months_since_delinquency``  months since the last month with any days past due; a loan never
                              delinquent counts its whole life (= ``months_on_book``)
============================  ==========================================================================

**Target** (``bad = 1``): any month in the ``horizon`` months after the observation month with 90+ days
past due or status ``default``. A loan is **eligible** at the observation month when its row that
month has status ``current``, ``dpd30`` or ``dpd60`` (loans already 90+ are bad, not scored; closed
loans are gone). A loan whose performance ends before the horizon without closing is **censored** and
dropped (the target is unknown), so the bad rate is not understated by short observation windows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from autofin.errors import ValidationError
from autofin.risk.artefacts import parse_artefact

__all__ = [
    "BEHAVIOUR_FEATURES",
    "BehaviourModel",
    "behaviour_dataset",
]

FloatArray = NDArray[np.float64]

#: The behaviour score's features, in model order (definitions in the module docstring).
BEHAVIOUR_FEATURES: Final[tuple[str, ...]] = (
    "months_on_book",
    "current_dpd",
    "max_dpd_6m",
    "n_dpd30_12m",
    "balance_ratio",
    "prepaid_ratio",
    "paid_ratio_6m",
    "months_since_delinquency",
)
#: Statuses of a loan that can be scored at an observation month.
ELIGIBLE_STATUSES: Final = ("current", "dpd30", "dpd60")
#: Statuses that end a loan's performance (its target is then known for any horizon).
CLOSED_STATUSES: Final = ("default", "prepaid", "matured", "recovered")
_FORMAT: Final = "autofin.risk.BehaviourModel"
_FORMAT_VERSION: Final = 1
Engine = Literal["scorecard", "logistic"]


def _month_index(value: str | dt.date) -> int:
    if isinstance(value, dt.date):
        return value.year * 12 + value.month - 1
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-":
        raise ValidationError("observation", value, "must be a month 'YYYY-MM' or a date")
    try:
        year, month = int(value[:4]), int(value[5:])
    except ValueError:
        raise ValidationError("observation", value, "must be a month 'YYYY-MM' or a date") from None
    if not 1 <= month <= 12:
        raise ValidationError("observation", value, "month must be 01–12")
    return year * 12 + month - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def behaviour_dataset(
    performance: pl.DataFrame | pl.LazyFrame,
    loans: pl.DataFrame,
    observations: str | dt.date | Sequence[str | dt.date],
    horizon: int = 12,
) -> pl.DataFrame:
    """One row per loan eligible at each observation month: ``loan_id``, ``observation`` ('YYYY-MM'),
    the :data:`BEHAVIOUR_FEATURES` (Float64) and ``bad`` (Int8, 1 = 90+ DPD or default within
    ``horizon`` months after the observation month).

    Args:
        performance: the ``performance`` table (``loan_id``, ``period``, ``status``, ``days_past_due``,
            ``balance``, ``payment``, ``prepayment``); a lazy frame is fine.
        loans: the ``loans`` table (``loan_id``, ``amount_financed``, ``monthly_payment``).
        observations: observation month(s), 'YYYY-MM' or dates (the day is ignored).
        horizon: outcome window in months (default 12).
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 60:
        raise ValidationError("horizon", horizon, "must be a whole number of months in 1–60")
    obs_list = [observations] if isinstance(observations, str | dt.date) else list(observations)
    if not obs_list:
        raise ValidationError("observations", obs_list, "must name at least one month")
    need_perf = ("loan_id", "period", "status", "days_past_due", "balance", "payment", "prepayment")
    lazy = performance.lazy() if isinstance(performance, pl.DataFrame) else performance
    missing = [c for c in need_perf if c not in lazy.collect_schema().names()]
    if missing:
        raise ValidationError("performance", missing, "misses required column(s)")
    missing = [c for c in ("loan_id", "amount_financed", "monthly_payment") if c not in loans.columns]
    if missing:
        raise ValidationError("loans", missing, "misses required column(s)")
    perf = (
        lazy.select(need_perf)
        .with_columns((pl.col("period").dt.year() * 12 + pl.col("period").dt.month() - 1).alias("_m"))
        .collect()
    )
    terms = loans.select("loan_id", "amount_financed", "monthly_payment")
    frames = [_snapshot(perf, terms, _month_index(o), horizon) for o in obs_list]
    return pl.concat(frames, how="vertical")


def _snapshot(perf: pl.DataFrame, terms: pl.DataFrame, obs: int, horizon: int) -> pl.DataFrame:
    at = perf.filter((pl.col("_m") == obs) & pl.col("status").is_in(ELIGIBLE_STATUSES))
    ids = at.select("loan_id")
    history = perf.join(ids, on="loan_id", how="semi").filter(pl.col("_m") <= obs)
    future = perf.join(ids, on="loan_id", how="semi").filter(
        (pl.col("_m") > obs) & (pl.col("_m") <= obs + horizon)
    )
    dpd = pl.col("days_past_due")
    since = obs - pl.col("_m")
    hist = history.group_by("loan_id").agg(
        pl.len().alias("_rows"),
        dpd.filter(since < 6).max().alias("max_dpd_6m"),
        (dpd.filter(since < 12) >= 30).sum().alias("n_dpd30_12m"),
        pl.col("prepayment").sum().alias("_prepaid"),
        pl.col("payment").filter(since < 6).sum().alias("_paid_6m"),
        (since < 6).sum().alias("_months_6m"),
        pl.col("_m").filter(dpd > 0).max().alias("_last_delinquent"),
    )
    fut = future.group_by("loan_id").agg(
        ((dpd >= 90) | (pl.col("status") == "default")).any().alias("_bad"),
        pl.col("_m").max().alias("_last"),
        pl.col("status").is_in(CLOSED_STATUSES).any().alias("_closed"),
    )
    out = (
        at.select("loan_id", "days_past_due", "balance", "_m")
        .join(hist, on="loan_id", how="left")
        .join(fut, on="loan_id", how="left")
        .join(terms, on="loan_id", how="left")
    )
    if out.select(pl.col("amount_financed").is_null().any()).item():
        raise ValidationError("loans", "loan_id", "must cover every loan of the performance table")
    # Known outcome: went bad, closed within the horizon, or observed to its end.
    known = (
        pl.col("_bad").fill_null(False)
        | pl.col("_closed").fill_null(False)
        | (pl.col("_last").fill_null(obs) >= obs + horizon)
    )
    out = out.filter(known)
    months_on_book = pl.col("_rows").cast(pl.Float64)
    return out.select(
        "loan_id",
        pl.lit(_month_text(obs)).alias("observation"),
        months_on_book.alias("months_on_book"),
        pl.col("days_past_due").cast(pl.Float64).alias("current_dpd"),
        pl.col("max_dpd_6m").cast(pl.Float64),
        pl.col("n_dpd30_12m").cast(pl.Float64),
        (pl.col("balance") / pl.col("amount_financed")).alias("balance_ratio"),
        (pl.col("_prepaid") / pl.col("amount_financed")).alias("prepaid_ratio"),
        (pl.col("_paid_6m") / (pl.col("monthly_payment") * pl.col("_months_6m"))).alias("paid_ratio_6m"),
        pl.when(pl.col("_last_delinquent").is_null())
        .then(months_on_book)
        .otherwise((obs - pl.col("_last_delinquent")).cast(pl.Float64))
        .alias("months_since_delinquency"),
        pl.col("_bad").fill_null(False).cast(pl.Int8).alias("bad"),
    )


class BehaviourModel:
    """Behaviour PD model: ``fit(X, y)`` on :func:`behaviour_dataset` rows, ``pd(X)``, ``to_json()``.

    Parameters:
        horizon_months: the outcome window the model predicts (stored with it; default 12).
        engine: ``"scorecard"`` (default: :class:`~autofin.risk.scorecard.Scorecard`, WOE bins and
            points, reasons) or ``"logistic"`` (standardised features, scikit-learn logistic regression,
            no binning — a transparent baseline).
        features: the feature columns (default :data:`BEHAVIOUR_FEATURES`).
        scorecard_params: keyword arguments for the Scorecard (e.g. ``min_iv``, ``pdo``).
        C: inverse L2 strength of the logistic engine (default 1.0).
    """

    def __init__(
        self,
        *,
        horizon_months: int = 12,
        engine: Engine = "scorecard",
        features: Sequence[str] = BEHAVIOUR_FEATURES,
        scorecard_params: Mapping[str, Any] | None = None,
        C: float = 1.0,  # noqa: N803 - scikit-learn's name
    ) -> None:
        if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) or horizon_months < 1:
            raise ValidationError("horizon_months", horizon_months, "must be a whole number of months >= 1")
        if engine not in ("scorecard", "logistic"):
            raise ValidationError("engine", engine, "must be 'scorecard' or 'logistic'")
        if isinstance(features, str) or not features or len(set(features)) != len(features):
            raise ValidationError("features", features, "must be distinct column names")
        if not (isinstance(C, int | float) and math.isfinite(C) and C > 0):
            raise ValidationError("C", C, "must be a finite number > 0")
        self.horizon_months = horizon_months
        self.engine: Engine = engine
        self.features = tuple(features)
        self.scorecard_params = dict(scorecard_params or {})
        self.C = float(C)
        self.scorecard_: Any = None
        self.mean_: FloatArray = np.empty(0)
        self.scale_: FloatArray = np.empty(0)
        self.coef_: FloatArray = np.empty(0)
        self.intercept_: float = math.nan
        self.metadata_: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"BehaviourModel(horizon_months={self.horizon_months}, engine={self.engine!r})"

    @property
    def target(self) -> str:
        """The target definition in words."""
        return f"90+ days past due or default within {self.horizon_months} months after the observation month"

    def _matrix(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        if not isinstance(X, pl.DataFrame):
            raise ValidationError("X", type(X).__name__, "must be a polars DataFrame")
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValidationError("X", missing, "must contain every behaviour feature")
        m = X.select(pl.col(f).cast(pl.Float64) for f in self.features).to_numpy()
        if not np.isfinite(m).all():
            raise ValidationError("X", "NaN/inf/null", "the logistic engine needs finite features")
        return np.asarray(m, dtype=np.float64)

    def fit(self, X: pl.DataFrame, y: pl.Series | NDArray[Any] | Sequence[int]) -> Self:  # noqa: N803
        """Fit on ``X`` (the feature columns; others ignored) and ``y`` (1 = bad)."""
        target = np.asarray(y.to_numpy() if isinstance(y, pl.Series) else y)
        if target.shape != (X.height,) or not np.isin(target, (0, 1)).all():
            raise ValidationError("y", target.shape, f"must be {X.height} values of 0 or 1")
        if target.min() == target.max():
            raise ValidationError("y", int(target[0]), "needs both goods and bads")
        if self.engine == "scorecard":
            from autofin.risk.scorecard import Scorecard

            params = {"features": list(self.features), **self.scorecard_params}
            self.scorecard_ = Scorecard(**params).fit(X, target.astype(np.int8))
        else:
            from sklearn.linear_model import LogisticRegression

            m = self._matrix(X)
            self.mean_ = m.mean(axis=0)
            scale = m.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
            lr = LogisticRegression(C=self.C, max_iter=1000).fit((m - self.mean_) / self.scale_, target)
            self.coef_ = np.asarray(lr.coef_[0], dtype=np.float64)
            self.intercept_ = float(lr.intercept_[0])
        self.metadata_ = {"n": int(X.height), "bad_rate": float(target.mean())}
        return self

    def _fitted(self) -> None:
        if self.scorecard_ is None and not math.isfinite(self.intercept_):
            raise ValidationError("behaviour model", "not fitted", "call fit() or from_json() first")

    def decision_function(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """logit(PD) of every row."""
        self._fitted()
        if self.scorecard_ is not None:
            return np.asarray(self.scorecard_.decision_function(X), dtype=np.float64)
        return np.asarray(((self._matrix(X) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_)

    def predict_proba(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """``(n, 2)``: P(good), P(bad within the horizon)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def pd(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """P(90+ DPD or default within ``horizon_months``), shape (n,)."""
        return self.predict_proba(X)[:, 1]

    def score(self, X: pl.DataFrame) -> FloatArray:  # noqa: N803
        """Points (higher = safer): the scorecard's points, or the same scaling (600 at 19:1, 50 PDO)
        applied to the logistic engine's log-odds."""
        if self.scorecard_ is not None:
            return np.asarray(self.scorecard_.score(X), dtype=np.float64)
        factor = 50.0 / math.log(2.0)
        return np.asarray(600.0 - factor * math.log(19.0) - factor * self.decision_function(X))

    def effects(self) -> dict[str, float]:
        """Per feature, the direction of its effect on the PD: the logistic coefficient (per standard
        deviation) or, for the scorecard, minus the slope of its points against the bin order."""
        self._fitted()
        if self.scorecard_ is None:
            return dict(zip(self.features, (float(c) for c in self.coef_), strict=True))
        table = self.scorecard_.table().filter(pl.col("kind") == "bin")
        out: dict[str, float] = {}
        for f in self.scorecard_.features_:
            pts = table.filter(pl.col("feature") == f)["points"].to_numpy()
            out[f] = float(-(pts[-1] - pts[0])) if pts.size > 1 else 0.0
        return out

    def to_json(self) -> str:
        """The fitted model as one JSON document (the scorecard's own JSON nested; no pickles)."""
        self._fitted()
        inner: dict[str, Any]
        if self.scorecard_ is not None:
            inner = json.loads(self.scorecard_.to_json())
        else:
            inner = {
                "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(),
                "intercept": self.intercept_,
            }
        return json.dumps(
            {
                "format": _FORMAT,
                "format_version": _FORMAT_VERSION,
                "horizon_months": self.horizon_months,
                "engine": self.engine,
                "features": list(self.features),
                "target": self.target,
                "C": self.C,
                "scorecard_params": self.scorecard_params,
                "metadata": self.metadata_,
                "model": inner,
            },
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text: str) -> BehaviourModel:
        """Rebuild a fitted model from :meth:`to_json` output (validated)."""
        data = parse_artefact(text, "behaviour model")
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValidationError("behaviour.format", got, f"must be {_FORMAT!r}")
        if data.get("format_version") != _FORMAT_VERSION:
            raise ValidationError(
                "behaviour.format_version", data.get("format_version"), f"must be {_FORMAT_VERSION}"
            )
        model = cls(
            horizon_months=data.get("horizon_months", 12),
            engine=data.get("engine", "scorecard"),
            features=tuple(data.get("features", BEHAVIOUR_FEATURES)),
            scorecard_params=data.get("scorecard_params") or {},
            C=data.get("C", 1.0),
        )
        inner = data.get("model")
        if not isinstance(inner, dict):
            raise ValidationError("behaviour.model", type(inner).__name__, "must be a JSON object")
        if model.engine == "scorecard":
            from autofin.risk.scorecard import Scorecard

            model.scorecard_ = Scorecard.from_json(json.dumps(inner))
        else:
            k = len(model.features)
            try:
                arrays = [np.asarray(inner[key], dtype=np.float64) for key in ("mean", "scale", "coef")]
                intercept = float(inner["intercept"])
            except (KeyError, TypeError, ValueError):
                raise ValidationError(
                    "behaviour.model", "logistic", "needs mean, scale, coef, intercept"
                ) from None
            if any(a.shape != (k,) for a in arrays) or not math.isfinite(intercept):
                raise ValidationError("behaviour.model", "logistic", f"arrays must have {k} finite values")
            model.mean_, model.scale_, model.coef_ = arrays
            model.intercept_ = intercept
        model.metadata_ = dict(data.get("metadata") or {})
        return model
