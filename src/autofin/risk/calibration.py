"""Calibration of scores to probabilities of default (PD), and the checks of a calibration.

* :class:`Calibrator` maps a model's output (a PD, or a raw score such as log-odds) to a calibrated PD,
  by isotonic regression or by Platt scaling. It is stored as data (:meth:`Calibrator.to_json`): the
  isotonic curve as its two threshold arrays, Platt scaling as two coefficients — never a pickle.
* :func:`calibration_table`: expected vs observed bad rate per band of PD.
* :func:`hosmer_lemeshow`: the Hosmer–Lemeshow goodness-of-fit statistic and its p-value.

PDs are probabilities in [0, 1] (not percents); ``y`` is 1 for bad (the event), 0 for good.
Everything is vectorised over numpy arrays.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final, Literal, cast

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy import stats  # type: ignore[import-untyped]

from autofin.errors import ValidationError
from autofin.risk.artefacts import parse_artefact

__all__ = [
    "CALIBRATION_METHODS",
    "Calibrator",
    "calibration_table",
    "hosmer_lemeshow",
]

FloatArray = NDArray[np.float64]
CalibrationMethod = Literal["isotonic", "platt"]
InputKind = Literal["probability", "score"]

CALIBRATION_METHODS: Final = ("isotonic", "platt")
_INPUT_KINDS: Final = ("probability", "score")
_FORMAT: Final = "autofin.calibrator"
_FORMAT_VERSION: Final = 1
# Probabilities fed to Platt scaling are clipped this far from 0 and 1 before taking the logit.
_LOGIT_EPS: Final = 1e-12


def _as_float_vector(name: str, values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 2:
        # a scikit-learn predict_proba matrix: keep P(bad)
        arr = arr[:, 1]
    if arr.ndim != 1:
        raise ValidationError(name, f"shape {arr.shape}", "must be a 1-D array (one value per row)")
    if not np.isfinite(arr).all():
        raise ValidationError(name, "non-finite values", "must be finite (no NaN or inf)")
    return arr


def _as_target(name: str, y: ArrayLike, n: int) -> FloatArray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValidationError(name, f"shape {arr.shape}", f"must be a 1-D array of length {n}")
    values = arr.astype(np.float64)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValidationError(name, "values", "must be 0 (good) or 1 (bad)")
    return values


def _check_probability(name: str, p: FloatArray) -> None:
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValidationError(name, f"[{p.min():.6g}, {p.max():.6g}]", "must be probabilities in [0, 1]")


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
    return np.log(q) - np.log1p(-q)


def _expit(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


def _fit_platt(x: FloatArray, y: FloatArray, max_iter: int = 100) -> tuple[float, float]:
    """Maximum-likelihood logistic regression of ``y`` on ``a·x + b`` (Newton–Raphson, no penalty)."""
    a, b = 1.0, 0.0
    design = np.column_stack([x, np.ones_like(x)])
    for _ in range(max_iter):
        p = _expit(a * x + b)
        w = p * (1.0 - p)
        grad = design.T @ (y - p)
        hess = (design * w[:, None]).T @ design + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a + float(step[0]), b + float(step[1])
        if float(np.abs(step).max()) < 1e-12:
            break
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValidationError("y", "separable sample", "Platt scaling did not converge (classes separable)")
    return a, b


class Calibrator:
    """Map model outputs to calibrated probabilities of default.

    Parameters:
        method: ``"isotonic"`` (default): a non-decreasing, piecewise-linear map fitted by isotonic
            regression (pool-adjacent-violators), linear between its thresholds and flat beyond the
            fitted range; ``"platt"``: ``PD = 1 / (1 + exp(-(a·x + b)))``.
        input_kind: what :meth:`fit` and :meth:`transform` receive. ``"probability"`` (default): a PD in
            [0, 1] (Platt then works on its logit, so ``a = 1, b = 0`` is the identity); ``"score"``:
            any real score that increases with risk, for example LightGBM's raw log-odds.
        pd_floor: calibrated PDs are clipped to ``[pd_floor, 1 - pd_floor]`` so that no applicant gets a
            PD of exactly 0 or 1 (pricing divides by and takes logs of PDs). Default 1e-4 (0.01 %).

    After :meth:`fit`: ``thresholds_x_``, ``thresholds_y_`` (isotonic) or ``coef_``, ``intercept_``
    (Platt), and ``n_fit_`` (rows seen).
    """

    def __init__(
        self,
        method: CalibrationMethod = "isotonic",
        *,
        input_kind: InputKind = "probability",
        pd_floor: float = 1e-4,
    ) -> None:
        self.method = method
        self.input_kind = input_kind
        self.pd_floor = pd_floor
        self._check_params()
        self.thresholds_x_: FloatArray | None = None
        self.thresholds_y_: FloatArray | None = None
        self.coef_: float | None = None
        self.intercept_: float | None = None
        self.n_fit_: int = 0

    def _check_params(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise ValidationError("method", self.method, f"must be one of {', '.join(CALIBRATION_METHODS)}")
        if self.input_kind not in _INPUT_KINDS:
            raise ValidationError("input_kind", self.input_kind, f"must be one of {', '.join(_INPUT_KINDS)}")
        floor = self.pd_floor
        if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0.0 <= floor < 0.5:
            raise ValidationError("pd_floor", floor, "must be a number in [0, 0.5)")

    def __repr__(self) -> str:
        return (
            f"Calibrator(method={self.method!r}, input_kind={self.input_kind!r}, pd_floor={self.pd_floor!r})"
        )

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :meth:`from_json`) has set the map."""
        return self.thresholds_x_ is not None or self.coef_ is not None

    def _inputs(self, name: str, values: ArrayLike) -> FloatArray:
        x = _as_float_vector(name, values)
        if self.input_kind == "probability":
            _check_probability(name, x)
        return x

    def fit(self, scores_or_pd: ArrayLike, y: ArrayLike) -> Calibrator:
        """Fit the map from ``scores_or_pd`` (see ``input_kind``) to the observed outcome ``y`` (1 = bad)."""
        self._check_params()
        x = self._inputs("scores_or_pd", scores_or_pd)
        target = _as_target("y", y, x.shape[0])
        if x.shape[0] < 2 or target.min() == target.max():
            raise ValidationError(
                "y", f"{int(target.sum())} bad of {x.shape[0]}", "must contain both classes"
            )
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
                x, target
            )
            self.thresholds_x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.thresholds_y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
            self.coef_ = self.intercept_ = None
        else:
            z = _logit(x) if self.input_kind == "probability" else x
            self.coef_, self.intercept_ = _fit_platt(z, target)
            self.thresholds_x_ = self.thresholds_y_ = None
        self.n_fit_ = int(x.shape[0])
        return self

    def transform(self, p: ArrayLike) -> FloatArray:
        """Calibrated PD for each value of ``p`` (same kind as fitted: PD or score)."""
        if not self.is_fitted:
            raise ValidationError("calibrator", "not fitted", "call fit() or from_json() first")
        x = self._inputs("p", p)
        if self.thresholds_x_ is not None and self.thresholds_y_ is not None:
            # np.interp is what IsotonicRegression.predict does (linear between thresholds, clipped ends)
            out = np.interp(x, self.thresholds_x_, self.thresholds_y_)
        else:
            z = _logit(x) if self.input_kind == "probability" else x
            out = _expit(cast(float, self.coef_) * z + cast(float, self.intercept_))
        result: FloatArray = np.clip(out, self.pd_floor, 1.0 - self.pd_floor)
        return result

    def fit_transform(self, scores_or_pd: ArrayLike, y: ArrayLike) -> FloatArray:
        """:meth:`fit`, then :meth:`transform` the same values."""
        return self.fit(scores_or_pd, y).transform(scores_or_pd)

    # --- storage as data -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: the method and its fitted numbers (floats kept exactly)."""
        if not self.is_fitted:
            raise ValidationError("calibrator", "not fitted", "call fit() before saving")
        data: dict[str, Any] = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "method": self.method,
            "input_kind": self.input_kind,
            "pd_floor": float(self.pd_floor),
            "n_fit": self.n_fit_,
        }
        if self.method == "isotonic":
            data["thresholds_x"] = cast(FloatArray, self.thresholds_x_).tolist()
            data["thresholds_y"] = cast(FloatArray, self.thresholds_y_).tolist()
        else:
            data["coef"] = self.coef_
            data["intercept"] = self.intercept_
        return data

    def to_json(self) -> str:
        """The calibrator as a JSON document (Python's float repr round-trips every double exactly)."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Rebuild a calibrator from :meth:`to_dict` output."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValidationError("calibrator.format", _get(data, "format"), f"must be {_FORMAT!r}")
        if data.get("format_version") != _FORMAT_VERSION:
            raise ValidationError(
                "calibrator.format_version", data.get("format_version"), f"must be {_FORMAT_VERSION}"
            )
        cal = cls(
            data.get("method", ""), input_kind=data.get("input_kind", ""), pd_floor=data.get("pd_floor", -1)
        )
        cal.n_fit_ = int(data.get("n_fit", 0))
        if cal.method == "isotonic":
            tx = np.asarray(data.get("thresholds_x", []), dtype=np.float64)
            ty = np.asarray(data.get("thresholds_y", []), dtype=np.float64)
            if tx.ndim != 1 or tx.shape != ty.shape or tx.size == 0:
                raise ValidationError(
                    "calibrator.thresholds", f"{tx.shape} vs {ty.shape}", "must be equal, non-empty"
                )
            if np.any(np.diff(tx) < 0) or np.any(np.diff(ty) < 0):
                raise ValidationError("calibrator.thresholds", "order", "must be non-decreasing")
            cal.thresholds_x_, cal.thresholds_y_ = tx, ty
        else:
            coef, intercept = data.get("coef"), data.get("intercept")
            if not all(isinstance(v, int | float) and math.isfinite(v) for v in (coef, intercept)):
                raise ValidationError("calibrator.coef", (coef, intercept), "must be two finite numbers")
            cal.coef_, cal.intercept_ = float(cast(float, coef)), float(cast(float, intercept))
        return cal

    @classmethod
    def from_json(cls, text: str) -> Calibrator:
        """Rebuild a calibrator from :meth:`to_json` output."""
        data = parse_artefact(text, "calibrator")
        return cls.from_dict(data)


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else type(data).__name__


def _groups(pd: FloatArray, groups: int) -> list[NDArray[np.intp]]:
    """Row indices of ``groups`` bands of (nearly) equal size, in order of increasing PD."""
    order = np.argsort(pd, kind="stable")
    return [g for g in np.array_split(order, groups) if g.size]


def _check_bands(name: str, value: int, n: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValidationError(name, value, "must be an integer ≥ 2")
    if value > n:
        raise ValidationError(name, value, f"must not exceed the number of rows ({n})")


def calibration_table(pd: ArrayLike, y: ArrayLike, bands: int = 10) -> pl.DataFrame:
    """Expected vs observed bad rate in ``bands`` equal-count bands of PD (lowest PD first).

    Columns: ``band`` (1 = lowest PD), ``n``, ``pd_min``, ``pd_max``, ``expected`` (mean PD),
    ``observed`` (bad rate), ``expected_bads``, ``observed_bads``, ``difference`` (observed − expected,
    probability points). Rows with equal PD may fall in neighbouring bands (bands are cut by rank).
    """
    p = _as_float_vector("pd", pd)
    _check_probability("pd", p)
    target = _as_target("y", y, p.shape[0])
    _check_bands("bands", bands, p.shape[0])
    rows: dict[str, list[Any]] = {
        k: []
        for k in ("band", "n", "pd_min", "pd_max", "expected", "observed", "expected_bads", "observed_bads")
    }
    for k, idx in enumerate(_groups(p, bands), start=1):
        pk, yk = p[idx], target[idx]
        rows["band"].append(k)
        rows["n"].append(int(idx.size))
        rows["pd_min"].append(float(pk.min()))
        rows["pd_max"].append(float(pk.max()))
        rows["expected"].append(float(pk.mean()))
        rows["observed"].append(float(yk.mean()))
        rows["expected_bads"].append(float(pk.sum()))
        rows["observed_bads"].append(int(yk.sum()))
    table = pl.DataFrame(rows, schema_overrides={"band": pl.Int64, "n": pl.Int64, "observed_bads": pl.Int64})
    return table.with_columns((pl.col("observed") - pl.col("expected")).alias("difference"))


def hosmer_lemeshow(pd: ArrayLike, y: ArrayLike, groups: int = 10) -> tuple[float, float]:
    """Hosmer–Lemeshow statistic and p-value for PDs ``pd`` against outcomes ``y`` (1 = bad).

    Rows are sorted by PD and cut into ``groups`` equal-count groups;
    ``H = Σ (O_g − E_g)² / (E_g · (1 − E_g / n_g))`` with ``O_g`` observed and ``E_g`` expected bads,
    compared with a χ² distribution on ``groups − 2`` degrees of freedom (Hosmer & Lemeshow, *Applied
    Logistic Regression*, 2nd ed., 2000, §5.2.2). A small p-value means the PDs do not fit the outcomes.
    For PDs from a model tested on data it was *not* fitted to, ``groups`` degrees of freedom are
    arguably more apt; the ``groups − 2`` convention is kept because it is what reviewers expect.
    """
    p = _as_float_vector("pd", pd)
    _check_probability("pd", p)
    target = _as_target("y", y, p.shape[0])
    _check_bands("groups", groups, p.shape[0])
    if groups < 3:
        raise ValidationError("groups", groups, "must be ≥ 3 (the test has groups − 2 degrees of freedom)")
    statistic = 0.0
    for idx in _groups(p, groups):
        n_g = float(idx.size)
        expected = float(p[idx].sum())
        observed = float(target[idx].sum())
        variance = expected * (1.0 - expected / n_g)
        if variance > 0.0:
            statistic += (observed - expected) ** 2 / variance
        elif observed != expected:
            return math.inf, 0.0
    p_value = float(stats.chi2.sf(statistic, groups - 2))
    return float(statistic), p_value
