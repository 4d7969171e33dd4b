"""Fairness of credit decisions by protected group (fairlearn's ``MetricFrame`` underneath).

Protected attributes (gender, age band, ethnicity, race, marital status, national origin) are read
**only here**, from the protected table, joined to decisions by ``applicant_id``
(:func:`align_protected`); they are never model inputs (``autofin.data.schemas.assert_no_protected``).

Per group of each attribute (:func:`fairness_report`):

* ``approval_rate`` = approved / count (the *selection rate*);
* ``adverse_impact_ratio`` of a group = its approval rate / the highest group approval rate. The
  attribute's AIR is ``min rate / max rate``; below 0.8 it is flagged: the *four-fifths rule* of the US
  Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D) ("a selection rate for any
  race, sex, or ethnic group which is less than four-fifths (4/5) (or eighty percent) of the rate for
  the group with the highest rate will generally be regarded ... as evidence of adverse impact"),
  used in fair-lending analysis as a screening threshold, not as a legal test;
* ``approval_rate_gap`` = max − min group approval rate (demographic-parity difference);
* ``mean_score_gap`` = max − min group mean model score (in the score's units);
* ``equal_opportunity_difference`` = max − min over groups of the approval rate *among the truly
  good* (``y = 0``), i.e. the true-positive-rate difference with "good" as the positive class and
  "approved" as the positive decision (Hardt, Price & Srebro 2016).

Rates are fractions. Groups with fewer than ``min_count`` cases are shown but left out of the
attribute-level ratios and gaps (their rates are too noisy to judge).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
from fairlearn.metrics import MetricFrame, count, selection_rate  # type: ignore[import-untyped]

from autofin.errors import ValidationError
from autofin.risk.validation import as_series

__all__ = [
    "FOUR_FIFTHS",
    "MISSING_GROUP",
    "AttributeFairness",
    "FairnessReport",
    "age_bands",
    "align_protected",
    "fairness_report",
]

#: The four-fifths threshold of 29 CFR 1607.4(D).
FOUR_FIFTHS: Final = 0.8
#: Group label given to a null protected value (not recorded / declined to state).
MISSING_GROUP: Final = "(not recorded)"
#: Rounding allowance when comparing a ratio with the threshold (0.6 / 0.75 is 0.7999… in floating point).
_TOLERANCE: Final = 1e-9
#: A numeric attribute with more distinct values than this must be banded first (see :func:`age_bands`).
MAX_GROUPS: Final = 20


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True, slots=True)
class AttributeFairness:
    """Fairness of decisions across the groups of one protected attribute.

    ``table``: one row per group: ``group``, ``count``, ``approved``, ``approval_rate``,
    ``adverse_impact_ratio`` (group rate / highest rate), ``below_four_fifths`` (that ratio < 0.8),
    ``mean_score``, ``goods`` (cases with ``y = 0``), ``goods_approved``, ``good_approval_rate`` (TPR
    among the truly good; null when the group has no known goods). ``reference_group`` has the highest
    approval rate. Attribute-level values (``None`` where undefined) are described in the module doc.
    """

    attribute: str
    table: pl.DataFrame
    reference_group: str | None
    adverse_impact_ratio: float | None
    four_fifths_flag: bool
    approval_rate_gap: float | None
    mean_score_gap: float | None
    equal_opportunity_difference: float | None
    min_count: int

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {k: (_nan_to_none(v) if isinstance(v, float) else v) for k, v in row.items()}
            for row in self.table.to_dicts()
        ]
        return {
            "attribute": self.attribute,
            "reference_group": self.reference_group,
            "adverse_impact_ratio": _nan_to_none(self.adverse_impact_ratio),
            "four_fifths_flag": self.four_fifths_flag,
            "approval_rate_gap": _nan_to_none(self.approval_rate_gap),
            "mean_score_gap": _nan_to_none(self.mean_score_gap),
            "equal_opportunity_difference": _nan_to_none(self.equal_opportunity_difference),
            "min_count": self.min_count,
            "groups": rows,
        }


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Fairness of one set of decisions, one :class:`AttributeFairness` per protected attribute."""

    n: int
    approved: int
    threshold: float
    attributes: tuple[AttributeFairness, ...]

    @property
    def flagged(self) -> tuple[str, ...]:
        """Attributes whose adverse impact ratio is below the four-fifths threshold."""
        return tuple(a.attribute for a in self.attributes if a.four_fifths_flag)

    def attribute(self, name: str) -> AttributeFairness:
        """The result for one attribute."""
        for a in self.attributes:
            if a.attribute == name:
                return a
        raise ValidationError("attribute", name, f"must be one of {[a.attribute for a in self.attributes]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "approved": self.approved,
            "approval_rate": self.approved / self.n if self.n else None,
            "four_fifths_threshold": self.threshold,
            "flagged": list(self.flagged),
            "attributes": [a.to_dict() for a in self.attributes],
        }


def align_protected(
    applicant_ids: npt.ArrayLike | pl.Series, protected: pl.DataFrame, key: str = "applicant_id"
) -> pl.DataFrame:
    """Rows of the protected table in the order of ``applicant_ids`` (a left join on ``key``).

    Raises ``ValidationError`` if ``protected`` has no ``key`` column, repeats a key, or lacks any of
    the ids (a decision without its protected row cannot be audited).
    """
    if key not in protected.columns:
        raise ValidationError("protected", protected.columns, f"must have a '{key}' column")
    if protected.get_column(key).is_duplicated().any():
        raise ValidationError(f"protected.{key}", "duplicates", "must be unique")
    ids = as_series(key, applicant_ids)
    left = pl.DataFrame({key: ids.cast(protected.schema[key])}).with_row_index("_row")
    joined = left.join(protected, on=key, how="left", coalesce=True)
    found = left.join(protected.select(key), on=key, how="semi")
    if found.height != left.height:
        missing = left.join(protected.select(key), on=key, how="anti").get_column(key).head(5).to_list()
        raise ValidationError(f"protected.{key}", missing, "must contain every decided applicant")
    return joined.sort("_row").drop("_row")


def age_bands(ages: npt.ArrayLike | pl.Series, edges: Sequence[int] = (25, 35, 45, 55, 65)) -> pl.Series:
    """Ages in years as band labels (``"<25"``, ``"25-34"``, …, ``"65+"``) for fairness by age."""
    series = as_series("age", ages)
    labels = [f"<{edges[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in pairwise(edges)]
    labels.append(f"{edges[-1]}+")
    values = series.cast(pl.Float64).to_numpy()
    band = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    out = [None if np.isnan(a) else labels[b] for a, b in zip(values, band, strict=True)]
    return pl.Series(series.name, out, dtype=pl.String)


def _binary(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int8]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValidationError(name, f"shape {array.shape}", "must be one-dimensional")
    as_float = array.astype(np.float64)
    if not np.isin(as_float, (0.0, 1.0)).all():
        raise ValidationError(name, "values", "must be 1 (approved) or 0 (declined), or booleans")
    return as_float.astype(np.int8)


def _groups(column: pl.Series, name: str) -> npt.NDArray[np.str_]:
    if column.dtype.is_numeric() and column.n_unique() > MAX_GROUPS:
        raise ValidationError(
            f"protected.{name}",
            f"{column.n_unique()} distinct values",
            f"must have at most {MAX_GROUPS} groups; band it first (e.g. autofin.risk.fairness.age_bands)",
        )
    labels = column.cast(pl.String).fill_null(MISSING_GROUP)
    return np.asarray(labels.to_list(), dtype=np.str_)


def _approved(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> int:
    return int(np.sum(y_pred))


def _goods(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> int:
    return int(np.sum(y_true))


def _goods_approved(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> int:
    return int(np.sum((y_true == 1) & (y_pred == 1)))


def _mean_prediction(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    return float(np.mean(y_pred))


def _by_group(frame: Any, columns: Sequence[str]) -> pl.DataFrame:
    """A fairlearn ``by_group`` (pandas, at this boundary only) as a polars frame keyed by ``group``."""
    data: dict[str, Any] = {"group": [str(g) for g in frame.index]}
    for column in columns:
        data[column] = frame[column].to_numpy()
    return pl.DataFrame(data)


def _attribute(
    name: str,
    groups: npt.NDArray[np.str_],
    decision: npt.NDArray[np.int8],
    score: npt.NDArray[np.float64] | None,
    y: npt.NDArray[np.float64] | None,
    min_count: int,
    threshold: float,
) -> AttributeFairness:
    # Selection rate = approval rate: the decision is the "prediction"; y_true is unused by these metrics.
    metrics: dict[str, Any] = {"count": count, "approved": _approved, "approval_rate": selection_rate}
    table = _by_group(
        MetricFrame(
            metrics=metrics, y_true=decision, y_pred=decision, sensitive_features={name: groups}
        ).by_group,
        list(metrics),
    ).with_columns(pl.col("count").cast(pl.Int64), pl.col("approved").cast(pl.Int64))
    if score is not None:
        means = MetricFrame(
            metrics={"mean_score": _mean_prediction},
            y_true=score,
            y_pred=score,
            sensitive_features={name: groups},
        ).by_group
        table = table.join(_by_group(means, ["mean_score"]), on="group", how="left")
    else:
        table = table.with_columns(pl.lit(None, pl.Float64).alias("mean_score"))
    known = ~np.isnan(y) if y is not None else np.zeros(decision.size, dtype=bool)
    if y is not None and known.any():
        # Equal opportunity: "good" (y = 0) is the positive class, "approved" the positive decision.
        good = (y[known] == 0).astype(np.int8)
        eo = MetricFrame(
            metrics={"goods": _goods, "goods_approved": _goods_approved},
            y_true=good,
            y_pred=decision[known],
            sensitive_features={name: groups[known]},
        ).by_group
        table = table.join(_by_group(eo, ["goods", "goods_approved"]), on="group", how="left")
    else:
        table = table.with_columns(
            pl.lit(None, pl.Int64).alias("goods"), pl.lit(None, pl.Int64).alias("goods_approved")
        )
    table = table.with_columns(
        pl.col("goods").fill_null(0).cast(pl.Int64), pl.col("goods_approved").fill_null(0).cast(pl.Int64)
    ).with_columns(
        pl.when(pl.col("goods") > 0)
        .then(pl.col("goods_approved") / pl.col("goods"))
        .otherwise(None)
        .alias("good_approval_rate")
    )
    eligible = table.filter(pl.col("count") >= min_count)
    rates = eligible.get_column("approval_rate").to_numpy() if eligible.height else np.array([])
    max_rate = float(rates.max()) if rates.size else 0.0
    table = (
        table.with_columns(
            (pl.col("approval_rate") / max_rate if max_rate > 0 else pl.lit(None, pl.Float64)).alias(
                "adverse_impact_ratio"
            )
        )
        .with_columns(
            (pl.col("adverse_impact_ratio") < threshold - _TOLERANCE)
            .fill_null(False)
            .alias("below_four_fifths")
        )
        .select(
            "group",
            "count",
            "approved",
            "approval_rate",
            "adverse_impact_ratio",
            "below_four_fifths",
            "mean_score",
            "goods",
            "goods_approved",
            "good_approval_rate",
        )
        .sort("group")
    )
    eligible = table.filter(pl.col("count") >= min_count)

    def spread(column: str) -> float | None:
        values = eligible.get_column(column).drop_nulls().cast(pl.Float64).to_numpy()
        return float(values.max() - values.min()) if values.size else None

    air = float(rates.min()) / max_rate if max_rate > 0 else None
    reference = (
        str(eligible.sort(["approval_rate", "count"], descending=True)["group"][0])
        if eligible.height
        else None
    )
    return AttributeFairness(
        attribute=name,
        table=table,
        reference_group=reference,
        adverse_impact_ratio=air,
        four_fifths_flag=air is not None and air < threshold - _TOLERANCE,
        approval_rate_gap=spread("approval_rate"),
        mean_score_gap=spread("mean_score") if score is not None else None,
        equal_opportunity_difference=spread("good_approval_rate"),
        min_count=min_count,
    )


def fairness_report(
    decision: npt.ArrayLike,
    score: npt.ArrayLike | None,
    y: npt.ArrayLike | None,
    protected: pl.DataFrame,
    attributes: Sequence[str] | None = None,
    key: str = "applicant_id",
    min_count: int = 1,
    threshold: float = FOUR_FIFTHS,
) -> FairnessReport:
    """Approval rates, adverse impact ratios and gaps by group of each protected attribute.

    Args:
        decision: per case, 1 (or True) = approved, 0 = declined.
        score: per case, the model score or PD the decision used (for the mean-score gap), or ``None``.
        y: per case, the outcome, 1 = bad, 0 = good, NaN/None = not observed (declined applicants);
            or ``None``. Only known goods enter the equal-opportunity difference.
        protected: protected attributes **row-aligned with ``decision``** (use :func:`align_protected`
            to join the protected table by ``applicant_id``). The ``key`` column, if present, is ignored.
        attributes: which columns to analyse (default: every column except ``key``).
        min_count: groups with fewer cases are reported but left out of the attribute-level values.
        threshold: the adverse-impact threshold (four-fifths, 0.8).
    """
    d = _binary(decision, "decision")
    n = d.size
    if protected.height != n:
        raise ValidationError("protected", protected.height, f"must have one row per decision ({n})")
    s = None
    if score is not None:
        s = np.asarray(score, dtype=np.float64)
        if s.shape != (n,) or not np.isfinite(s).all():
            raise ValidationError("score", s.shape, f"must be {n} finite numbers")
    yy = None
    if y is not None:
        yy = np.asarray(
            as_series("y", y).cast(pl.Float64, strict=False).fill_nan(None).to_numpy(), dtype=np.float64
        )
        if yy.shape != (n,):
            raise ValidationError("y", yy.shape, f"must have {n} values")
        known = yy[~np.isnan(yy)]
        if not np.isin(known, (0.0, 1.0)).all():
            raise ValidationError("y", "values", "must be 1 (bad), 0 (good) or null (not observed)")
    names = list(attributes) if attributes is not None else [c for c in protected.columns if c != key]
    missing = [c for c in names if c not in protected.columns]
    if missing or not names:
        raise ValidationError("attributes", missing or names, "must name columns of the protected frame")
    if min_count < 1:
        raise ValidationError("min_count", min_count, "must be at least 1")
    results = tuple(
        _attribute(nm, _groups(protected.get_column(nm), nm), d, s, yy, min_count, threshold) for nm in names
    )
    return FairnessReport(n=n, approved=int(d.sum()), threshold=threshold, attributes=results)
