"""Take-up models: the probability that a customer accepts a quote, by segment.

A take-up model answers "if we quote this rate, for this payment, term, down payment and product,
how likely is the customer to take it?". It is the demand side of price optimisation
(:mod:`autofin.pricing.optimise`). The model is the synthetic world's own form (docs/data-credit.md
§2), one logistic regression per customer segment:

    logit P(take | reached, segment s) = a_s + b_rate·(100·rate) + b_pti·(100·payment/income)
                                         + b_term·(term_months/12) + b_down·(down/price)
                                         + b_balloon·1[balloon] + b_lease·1[lease]

Two classes share one surface (scikit-learn style: ``predict_proba``, ``decision_function``,
``to_dict``/``from_dict``):

* :class:`TakeupModel` is *fitted* on a quote history **including lost quotes**: the frame of
  :func:`autofin.data.credit.takeup_features` (every quote's features, its segment, ``reached`` and
  ``taken``). Only reached quotes are used — a quote shown after the customer had already accepted an
  earlier one was never really in play (docs/data-credit.md §2). The fitter is
  :func:`autofin.segments.profiles.fit_takeup` (unpenalised logistic MLE with Fisher-information
  standard errors), reused, not re-implemented.
* :class:`TrueTakeup` is built from a synthetic world's ``truth.json``
  (``credit.takeup_model.coefficients``) so that prices can be optimised with the true parameters and
  a fitted model's decisions can be judged against them.

Units: rates are annual decimals (0.06 = 6 %) in every argument; the model's features are those of
:data:`autofin.data.credit.TAKEUP_FEATURES` (rate and PTI in percent points, term in years, down
payment as a share of the price, product flags 0/1 — shares between 0 and 1 are allowed for a
representative quote that mixes products).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from autofin.data.credit import (
    TAKEUP_FEATURES,
    TakeupCoefficients,
    TakeupReference,
    takeup_elasticities,
)
from autofin.errors import ValidationError
from autofin.segments.profiles import REFERENCE_QUOTE, fit_takeup

__all__ = [
    "POOLED",
    "TAKEUP_PARAMETERS",
    "LogitTakeup",
    "TakeupModel",
    "TrueTakeup",
    "monthly_payment_factor",
]

FloatArray = NDArray[np.float64]

#: Parameters of one segment's logit, intercept first (units of :data:`TAKEUP_FEATURES`).
TAKEUP_PARAMETERS: Final[tuple[str, ...]] = ("intercept", *TAKEUP_FEATURES)
#: Key of the pooled model used for segments with too few reached quotes to fit on their own.
POOLED: Final = "__pooled__"
_FORMAT: Final = "autofin.pricing.takeup/1"


def monthly_payment_factor(
    annual_rate: FloatArray | float, term_months: FloatArray | float, balloon_share: FloatArray | float = 0.0
) -> FloatArray:
    """Monthly instalment per unit of amount financed (CNY per CNY), level annuity with a final balloon.

    P/A = (1 − b·v^n)·i/(1 − v^n), i = rate/12, v = 1/(1 + i); (1 − b)/n when the rate is 0.
    ``annual_rate`` annual decimal, ``term_months`` months, ``balloon_share`` = balloon / amount financed.
    This is the world's payment rule (docs/data-credit.md §1) without rounding to the cent.
    """
    r = np.asarray(annual_rate, dtype=np.float64)
    n = np.asarray(term_months, dtype=np.float64)
    b = np.asarray(balloon_share, dtype=np.float64)
    i = r / 12.0
    small = np.abs(i) < 1e-12
    i_safe = np.where(small, 1.0, i)
    v_n = (1.0 + i_safe) ** (-n)
    annuity = (1.0 - b * v_n) * i_safe / (1.0 - v_n)
    out: FloatArray = np.where(small, (1.0 - b) / n, annuity)
    return out


def _logistic(eta: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * eta))
    return out


class LogitTakeup:
    """Per-segment logistic take-up model with known coefficients (the shared surface).

    Attributes:
        coefficients_: segment → parameter (:data:`TAKEUP_PARAMETERS`) → coefficient. A parameter not
            estimated for a segment (a feature that never varied there) counts as 0.
        segment_column: name of the segment column in the frames passed to :meth:`predict_proba`.
    """

    coefficients_: dict[str, dict[str, float]]
    segment_column: str

    def __init__(
        self,
        coefficients: Mapping[str, Mapping[str, float]] | None = None,
        *,
        segment_column: str = "segment",
    ) -> None:
        self.segment_column = segment_column
        self.coefficients_ = {}
        if coefficients is not None:
            self.coefficients_ = _check_coefficients(coefficients, "coefficients")

    # -- the model -------------------------------------------------------------------------------

    @property
    def segments(self) -> tuple[str, ...]:
        """The segments the model prices (sorted; the pooled fallback excluded)."""
        return tuple(sorted(s for s in self.coefficients_ if s != POOLED))

    def _require_fitted(self) -> None:
        if not self.coefficients_:
            raise ValidationError("takeup_model", type(self).__name__, "is not fitted (call fit first)")

    def coefficient_vector(self, segment: str) -> FloatArray:
        """The logit coefficients of ``segment`` in :data:`TAKEUP_PARAMETERS` order.

        A segment the model does not know takes the pooled model when there is one; otherwise a
        :class:`ValidationError` names the segment.
        """
        self._require_fitted()
        coefs = self.coefficients_.get(segment)
        if coefs is None:
            coefs = self.coefficients_.get(POOLED)
        if coefs is None:
            raise ValidationError(
                self.segment_column, segment, f"has no take-up model (known: {', '.join(self.segments)})"
            )
        return np.array([coefs.get(p, 0.0) for p in TAKEUP_PARAMETERS], dtype=np.float64)

    def decision_function(self, features: pl.DataFrame) -> FloatArray:
        """The logit of P(take) for every row of ``features``.

        ``features`` holds the segment column and the :data:`TAKEUP_FEATURES` (as
        :func:`autofin.data.credit.takeup_features` returns them).
        """
        self._require_fitted()
        need = [self.segment_column, *TAKEUP_FEATURES]
        missing = [c for c in need if c not in features.columns]
        if missing:
            raise ValidationError("features", missing, "misses required column(s)")
        x = features.select(TAKEUP_FEATURES).to_numpy().astype(np.float64)
        if not np.isfinite(x).all():
            row = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise ValidationError("features", row, "must be finite (NaN or null in row)")
        segs = features[self.segment_column].cast(pl.String).to_numpy()
        beta = np.zeros((features.height, len(TAKEUP_PARAMETERS)))
        for seg in np.unique(segs):
            beta[segs == seg] = self.coefficient_vector(str(seg))
        eta: FloatArray = beta[:, 0] + np.einsum("ij,ij->i", beta[:, 1:], x)
        return eta

    def predict_proba(self, features: pl.DataFrame) -> FloatArray:
        """``(n, 2)``: column 0 P(not taken), column 1 P(taken), for every row of ``features``."""
        p = _logistic(self.decision_function(features))
        return np.column_stack([1.0 - p, p])

    def p_take(
        self,
        segment: str,
        annual_rate: FloatArray | float,
        *,
        term_months: FloatArray | float,
        amount_to_income: FloatArray | float,
        down_share: FloatArray | float,
        balloon_share: FloatArray | float = 0.0,
        share_balloon: FloatArray | float = 0.0,
        share_lease: FloatArray | float = 0.0,
    ) -> FloatArray:
        """P(take) of a quote at ``annual_rate`` (annual decimal; vectorised), the payment following it.

        The PTI is ``amount_to_income`` (amount financed / monthly income, months of income) × the
        monthly payment factor of the rate, term and ``balloon_share`` (balloon / amount financed).
        ``share_balloon`` and ``share_lease`` are the product flags (0/1, or shares for a
        representative quote).
        """
        beta = self.coefficient_vector(segment)
        r = np.asarray(annual_rate, dtype=np.float64)
        pti = np.asarray(amount_to_income, dtype=np.float64) * monthly_payment_factor(
            r, term_months, balloon_share
        )
        eta = (
            beta[0]
            + beta[1] * 100.0 * r
            + beta[2] * 100.0 * pti
            + beta[3] * np.asarray(term_months, dtype=np.float64) / 12.0
            + beta[4] * np.asarray(down_share, dtype=np.float64)
            + beta[5] * np.asarray(share_balloon, dtype=np.float64)
            + beta[6] * np.asarray(share_lease, dtype=np.float64)
        )
        return _logistic(np.asarray(eta, dtype=np.float64))

    def elasticities(self, reference: TakeupReference = REFERENCE_QUOTE) -> dict[str, dict[str, float]]:
        """Take-up elasticities at the ``reference`` quote per segment — the definition of truth.json
        ``takeup_model.elasticities_at_reference`` (:func:`autofin.data.credit.takeup_elasticities`)."""
        self._require_fitted()
        coefs = {
            s: TakeupCoefficients(**{p: float(c.get(p, 0.0)) for p in TAKEUP_PARAMETERS})
            for s, c in self.coefficients_.items()
            if s != POOLED
        }
        return takeup_elasticities(coefs, reference)

    # -- serialisation ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (round-trips through :meth:`from_dict`)."""
        self._require_fitted()
        return {
            "format": _FORMAT,
            "kind": type(self).__name__,
            "segment_column": self.segment_column,
            "parameters": list(TAKEUP_PARAMETERS),
            "coefficients": {s: dict(c) for s, c in self.coefficients_.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a model written by :meth:`to_dict`; a malformed field is named in the error."""
        if data.get("format") != _FORMAT:
            raise ValidationError("takeup_model.format", data.get("format"), f"must be {_FORMAT!r}")
        coefficients = data.get("coefficients")
        if not isinstance(coefficients, Mapping):
            raise ValidationError("takeup_model.coefficients", coefficients, "must be a mapping")
        model = cls(segment_column=str(data.get("segment_column", "segment")))
        model.coefficients_ = _check_coefficients(coefficients, "takeup_model.coefficients")
        model._restore_extra(data)
        return model

    def _restore_extra(self, data: Mapping[str, Any]) -> None:
        """Hook for subclasses that store more than the coefficients."""


class TakeupModel(LogitTakeup):
    """Take-up fitted on a quote history (taken and lost quotes), one logit per segment.

    Args:
        min_reached: a segment with fewer reached quotes (or only one outcome) is not fitted on its
            own; it uses the pooled model fitted on every segment's reached quotes (``status_`` says so).
        segment_column: name of the segment column (default ``"segment"``).

    Attributes (after :meth:`fit`):
        coefficients_: segment → parameter → coefficient (features constant within a segment, e.g.
            no leases for commercial buyers, are left out and count as 0); ``POOLED`` holds the
            pooled fallback.
        standard_errors_: the same layout, standard errors from the inverse Fisher information.
        n_reached_, n_taken_: reached and taken quotes per segment.
        status_: per segment, ``"fitted"`` or why the pooled model is used.
    """

    standard_errors_: dict[str, dict[str, float]]
    n_reached_: dict[str, int]
    n_taken_: dict[str, int]
    status_: dict[str, str]

    def __init__(self, *, min_reached: int = 200, segment_column: str = "segment") -> None:
        super().__init__(segment_column=segment_column)
        if not (isinstance(min_reached, int) and min_reached >= 1):
            raise ValidationError("min_reached", min_reached, "must be a positive whole number of quotes")
        self.min_reached = min_reached
        self.standard_errors_ = {}
        self.n_reached_ = {}
        self.n_taken_ = {}
        self.status_ = {}

    def fit(
        self, features: pl.DataFrame, y: pl.Series | NDArray[np.bool_] | Sequence[bool] | None = None
    ) -> Self:
        """Fit one unpenalised logistic regression per segment on the **reached** quotes.

        Args:
            features: :func:`autofin.data.credit.takeup_features` output: the segment column, the
                :data:`TAKEUP_FEATURES`, ``reached`` (optional: all rows count as reached when absent)
                and ``taken`` (unless ``y`` is given).
            y: whether each quote was taken; defaults to ``features["taken"]``.
        """
        need = [self.segment_column, *TAKEUP_FEATURES]
        missing = [c for c in need if c not in features.columns]
        if missing:
            raise ValidationError("features", missing, "misses required column(s)")
        if y is None:
            if "taken" not in features.columns:
                raise ValidationError("y", None, "is required when features has no 'taken' column")
            taken = features["taken"].to_numpy().astype(bool)
        else:
            taken = np.asarray(y, dtype=bool)
            if taken.shape != (features.height,):
                raise ValidationError("y", taken.shape, f"must have one value per row ({features.height})")
        reached = (
            features["reached"].to_numpy().astype(bool)
            if "reached" in features.columns
            else np.ones(features.height, dtype=bool)
        )
        x_all = features.select(TAKEUP_FEATURES).to_numpy().astype(np.float64)[reached]
        y_all = taken[reached]
        segs_all = features[self.segment_column].cast(pl.String).to_numpy()[reached]
        if x_all.shape[0] < self.min_reached:
            raise ValidationError(
                "features",
                int(x_all.shape[0]),
                f"need at least min_reached = {self.min_reached} reached quotes",
            )
        if not np.isfinite(x_all).all():
            raise ValidationError("features", "NaN", "must be finite on every reached quote")
        coefficients: dict[str, dict[str, float]] = {}
        errors: dict[str, dict[str, float]] = {}
        pooled_b, pooled_se = _fit_one(x_all, y_all)
        coefficients[POOLED], errors[POOLED] = pooled_b, pooled_se
        self.n_reached_, self.n_taken_, self.status_ = {}, {}, {}
        for seg in sorted({str(s) for s in segs_all}):
            mask = segs_all == seg
            self.n_reached_[seg] = int(mask.sum())
            self.n_taken_[seg] = int(y_all[mask].sum())
            if mask.sum() < self.min_reached:
                self.status_[seg] = (
                    f"pooled: {int(mask.sum())} reached quotes < min_reached {self.min_reached}"
                )
                continue
            try:
                b, se = _fit_one(x_all[mask], y_all[mask])
            except ValidationError as exc:
                self.status_[seg] = f"pooled: {exc.rule}"
                continue
            coefficients[seg], errors[seg] = b, se
            self.status_[seg] = "fitted"
        self.coefficients_ = coefficients
        self.standard_errors_ = errors
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: coefficients, standard errors, counts and status per segment."""
        return super().to_dict() | {
            "min_reached": self.min_reached,
            "standard_errors": {s: dict(v) for s, v in self.standard_errors_.items()},
            "n_reached": dict(self.n_reached_),
            "n_taken": dict(self.n_taken_),
            "status": dict(self.status_),
        }

    def _restore_extra(self, data: Mapping[str, Any]) -> None:
        self.min_reached = int(data.get("min_reached", self.min_reached))
        self.standard_errors_ = {
            str(s): {str(k): float(v) for k, v in c.items()}
            for s, c in data.get("standard_errors", {}).items()
        }
        self.n_reached_ = {str(k): int(v) for k, v in data.get("n_reached", {}).items()}
        self.n_taken_ = {str(k): int(v) for k, v in data.get("n_taken", {}).items()}
        self.status_ = {str(k): str(v) for k, v in data.get("status", {}).items()}


class TrueTakeup(LogitTakeup):
    """The synthetic world's true take-up model, with the same surface as :class:`TakeupModel`.

    Build it with :meth:`from_truth` from ``truth.json`` (a path, a world directory or the loaded dict;
    the coefficients are read from ``credit.takeup_model.coefficients``).
    """

    @classmethod
    def from_truth(cls, truth: Mapping[str, Any] | str | Path, *, segment_column: str = "segment") -> Self:
        """The true per-segment coefficients of a synthetic world.

        ``truth`` is the parsed ``truth.json``, its path, or the world directory holding it.
        """
        data: Mapping[str, Any]
        if isinstance(truth, str | Path):
            path = Path(truth)
            if path.is_dir():
                path = path / "truth.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except OSError:
                raise ValidationError(
                    "truth", str(truth), "must be a readable truth.json or world directory"
                ) from None
        else:
            data = truth
        try:
            coefs = data["credit"]["takeup_model"]["coefficients"]
        except (KeyError, TypeError):
            raise ValidationError(
                "truth.credit.takeup_model.coefficients", None, "is required (a synthetic world's truth.json)"
            ) from None
        return cls(coefs, segment_column=segment_column)


def _fit_one(x: FloatArray, y: NDArray[np.bool_]) -> tuple[dict[str, float], dict[str, float]]:
    """Fit on the features that vary; constant ones are left out (coefficient 0, no SE)."""
    varying = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
    names = ["intercept", *(TAKEUP_FEATURES[j] for j in varying)]
    beta, cov = fit_takeup(x[:, varying], y)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return (
        {n: float(b) for n, b in zip(names, beta, strict=True)},
        {n: float(s) for n, s in zip(names, se, strict=True)},
    )


def _check_coefficients(coefficients: Mapping[str, Any], where: str) -> dict[str, dict[str, float]]:
    if not coefficients:
        raise ValidationError(where, {}, "must give at least one segment")
    out: dict[str, dict[str, float]] = {}
    for seg, coefs in coefficients.items():
        if not isinstance(coefs, Mapping):
            raise ValidationError(f"{where}.{seg}", coefs, "must map parameter names to numbers")
        unknown = sorted(set(coefs) - set(TAKEUP_PARAMETERS))
        if unknown:
            raise ValidationError(
                f"{where}.{seg}", unknown, f"names unknown parameter(s); known: {TAKEUP_PARAMETERS}"
            )
        if "intercept" not in coefs:
            raise ValidationError(f"{where}.{seg}.intercept", None, "is required")
        row: dict[str, float] = {}
        for name, value in coefs.items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ValidationError(f"{where}.{seg}.{name}", value, "must be a number") from None
            if not math.isfinite(v):
                raise ValidationError(f"{where}.{seg}.{name}", value, "must be finite")
            row[str(name)] = v
        out[str(seg)] = row
    return out
