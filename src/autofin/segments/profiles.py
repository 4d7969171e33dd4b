"""Need profiles (需求画像): what each customer segment looks like, wants, can afford and is worth.

Given the world's tables and *any* segment labelling (the true segments, rule segments or learned
clusters: a frame ``applicant_id, segment``), :func:`profile_segments` measures per segment

* **who**: size and share, monthly income (CNY), age, vehicle mix, bureau score and file depth;
* **what they take**: take-up and approval, look-to-book, preferred term and down payment, product mix,
  value-added service attach rates;
* **affordability**: payment-to-income (PTI) of booked loans and of every quote, with histograms;
* **risk**: mean model PD (when one is given) and the observed default rate of loans whose default
  window has been fully observed, with a Wilson 95 % interval;
* **sensitivity**: an unpenalised logistic take-up model fitted on the segment's *reached* quotes, and
  the rate, payment (PTI), term and down-payment elasticities of take-up at a reference quote with
  delta-method standard errors;
* **value**: interest earned less funding cost, operating cost and net credit loss, per loan, per CNY
  financed and as an annualised return on the average balance.

Everything here is a pure function of polars frames; :func:`profile_world` is the thin loader for a
world directory written by ``autofin data synth`` (or a lender's own data in the same layout).
Money is in CNY major units (the world's currency), rates are annual decimals, PTI a fraction of gross
monthly income, terms in months unless a name says ``years``. The field-by-field reading guide is
docs/segments-profiles.md.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from autofin.data.credit import (
    TAKEUP_FEATURES,
    TakeupCoefficients,
    TakeupReference,
    takeup_elasticities,
    takeup_features,
)
from autofin.errors import ValidationError
from autofin.jsonsafe import finite

__all__ = [
    "DEFAULT_PTI_EDGES",
    "ELASTICITIES",
    "REFERENCE_QUOTE",
    "SUMMARY_COLUMNS",
    "Profiles",
    "fit_takeup",
    "loan_outcomes",
    "loan_profitability",
    "profile_segments",
    "profile_world",
    "takeup_sensitivity",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]

#: The reference quote of the default world (6 %, PTI 20 %, 36 months, 30 % down, a plain loan).
REFERENCE_QUOTE: Final = TakeupReference(annual_rate=0.06, pti=0.20, term_months=36, down_share=0.30)
#: Elasticities reported at the reference quote, named as in truth.json ``elasticities_at_reference``.
ELASTICITIES: Final[tuple[str, ...]] = (
    "p_take_at_reference",
    "rate",
    "rate_total",
    "term",
    "term_total",
    "pti",
    "down_share",
)
#: PTI histogram edges (fractions of monthly income); a last open bin collects everything above 0.60.
DEFAULT_PTI_EDGES: Final[tuple[float, ...]] = tuple(round(0.05 * k, 2) for k in range(13))
#: Take-up model parameters, intercept first, in the order of the fitted coefficient columns.
TAKEUP_PARAMETERS: Final[tuple[str, ...]] = ("intercept", *TAKEUP_FEATURES)

#: Columns of :attr:`Profiles.summary`, in order (then one ``attach_<kind>`` per service kind).
SUMMARY_COLUMNS: Final[tuple[str, ...]] = (
    "segment",
    "n_applicants",
    "share",
    "income_median",
    "income_p25",
    "income_p75",
    "age_mean",
    "share_new",
    "share_used",
    "share_economy",
    "share_mid",
    "share_luxury",
    "share_nev",
    "share_commercial",
    "price_mean",
    "bureau_score_median",
    "share_no_file",
    "share_thin_file",
    "n_quotes",
    "n_taken",
    "n_booked",
    "takeup_per_quote",
    "takeup_per_applicant",
    "approval_rate",
    "look_to_book",
    "pti_quoted_median",
    "pti_quoted_p90",
    "pti_booked_median",
    "pti_booked_p90",
    "term_mode_months",
    "term_mean_months",
    "down_share_mean",
    "product_share_loan",
    "product_share_balloon",
    "product_share_lease",
    "n_pd",
    "pd_mean",
    "n_full_window",
    "n_defaulted",
    "default_rate",
    "default_rate_low",
    "default_rate_high",
    "interest_per_loan",
    "funding_cost_per_loan",
    "opex_per_loan",
    "net_credit_loss_per_loan",
    "profit_per_loan",
    "profit_per_cny_financed",
    "return_on_balance_annual",
    "service_revenue_per_loan",
)

_Z95: Final = 1.959963984540054
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "applicants": ("applicant_id", "age", "monthly_income"),
    "bureau": ("applicant_id", "bureau_score", "thin_file", "no_file"),
    "vehicles": ("applicant_id", "condition", "vehicle_class", "powertrain", "use", "price"),
    "quotes": (
        "quote_id",
        "applicant_id",
        "product",
        "annual_rate",
        "term_months",
        "down_payment",
        "monthly_payment",
        "taken",
    ),
    "loans": ("loan_id", "applicant_id", "product", "amount_financed", "term_months", "pti"),
    "performance": (
        "loan_id",
        "month_on_book",
        "status",
        "balance",
        "payment",
        "prepayment",
        "default_amount",
        "recovery",
    ),
}
_SERVICE_COLUMNS: Final = ("loan_id", "service", "price")
_CLOSED: Final = ("prepaid", "matured", "recovered")
_PRODUCTS: Final = ("loan", "balloon", "lease")
_CLASSES: Final = ("economy", "mid", "luxury")


@dataclass(frozen=True, slots=True)
class Profiles:
    """The need profiles of one segment labelling.

    Attributes:
        summary: one row per segment (columns documented in docs/segments-profiles.md).
        pti_distribution: ``segment, population ("booked" | "quoted"), bin, bin_low, bin_high, count,
            share`` — PTI histograms (fractions of monthly income; the last bin's ``bin_high`` is null).
        takeup: one row per segment: reached and taken quote counts, fitted take-up coefficients
            (``coef_<parameter>``, ``se_<parameter>``), elasticities at the reference quote
            (``elasticity_<name>``, ``elasticity_<name>_se``) and ``status`` ("fitted" or why not).
        services: ``segment, service, n_loans, attached, attach_rate, attach_low, attach_high,
            revenue_per_loan`` (Wilson 95 % bounds; CNY per booked loan); empty when no services table.
        notes: what could not be measured and why (e.g. no services table).
        parameters: the inputs that shape the numbers (reference quote, window, cost rates, PTI edges).
    """

    summary: pl.DataFrame
    pti_distribution: pl.DataFrame
    takeup: pl.DataFrame
    services: pl.DataFrame
    notes: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each frame as a list of row dicts (NaN and ±inf become ``None``)."""
        return {
            "summary": _rows(self.summary),
            "pti_distribution": _rows(self.pti_distribution),
            "takeup": _rows(self.takeup),
            "services": _rows(self.services),
            "notes": list(self.notes),
            "parameters": finite(self.parameters),
        }


# --------------------------------------------------------------------------------------------------
# small statistics
# --------------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a binomial proportion (95 % by default); ``(None, None)`` if n = 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValidationError("successes", successes, f"must lie between 0 and n = {n}")
    if n == 0:
        return None, None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [finite(row) for row in frame.to_dicts()]


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------


def _check_tables(tables: Mapping[str, pl.DataFrame]) -> None:
    for name, cols in _REQUIRED.items():
        frame = tables.get(name)
        if frame is None:
            raise ValidationError("tables", name, f"must include the {name} table")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValidationError(f"tables.{name}", missing, "misses required column(s)")
    services = tables.get("services")
    if services is not None:
        missing = [c for c in _SERVICE_COLUMNS if c not in services.columns]
        if missing:
            raise ValidationError("tables.services", missing, "misses required column(s)")


def _check_segments(segments: pl.DataFrame, segment_column: str, applicant_ids: pl.Series) -> pl.DataFrame:
    """``applicant_id, segment`` (String), validated against the applicants table."""
    if "applicant_id" not in segments.columns:
        raise ValidationError("segments.applicant_id", segments.columns, "is required")
    if segment_column not in segments.columns:
        raise ValidationError(f"segments.{segment_column}", segments.columns, "is not a column of segments")
    if segments.height == 0:
        raise ValidationError("segments", 0, "must label at least one applicant")
    col = segments[segment_column]
    declared: list[str] = []
    if isinstance(col.dtype, pl.Enum):
        declared = list(col.dtype.categories.to_list())
    out = segments.select(
        pl.col("applicant_id").cast(pl.Int64), pl.col(segment_column).cast(pl.String).alias("segment")
    )
    if out["segment"].null_count():
        raise ValidationError(f"segments.{segment_column}", None, "must label every row (null found)")
    if (out["segment"].str.strip_chars() == "").any():
        raise ValidationError(f"segments.{segment_column}", "", "must not be an empty label")
    if out["applicant_id"].is_duplicated().any():
        dup = out.filter(pl.col("applicant_id").is_duplicated())["applicant_id"][0]
        raise ValidationError("segments.applicant_id", dup, "must label each applicant once")
    unknown = out.filter(~pl.col("applicant_id").is_in(applicant_ids.implode()))
    if unknown.height:
        raise ValidationError(
            "segments.applicant_id", unknown["applicant_id"].head(5).to_list(), "are not in tables.applicants"
        )
    present = set(out["segment"].unique().to_list())
    empty = [s for s in declared if s not in present]
    if empty:
        raise ValidationError(f"segments.{segment_column}", empty, "declares segment(s) with no applicants")
    return out


def _check_pd(pd_frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("applicant_id", "pd") if c not in pd_frame.columns]
    if missing:
        raise ValidationError("pd", missing, "misses required column(s) (applicant_id, pd)")
    out = pd_frame.select(pl.col("applicant_id").cast(pl.Int64), pl.col("pd").cast(pl.Float64))
    bad = out.filter(pl.col("pd").is_null() | pl.col("pd").is_nan() | (pl.col("pd") < 0) | (pl.col("pd") > 1))
    if bad.height:
        raise ValidationError("pd.pd", bad["pd"][0], "must be a probability between 0 and 1")
    if out["applicant_id"].is_duplicated().any():
        raise ValidationError("pd.applicant_id", "duplicate", "must give one PD per applicant")
    return out


# --------------------------------------------------------------------------------------------------
# loan-level measures
# --------------------------------------------------------------------------------------------------


def loan_outcomes(loans: pl.DataFrame, performance: pl.DataFrame, *, window_months: int = 36) -> pl.DataFrame:
    """Per loan: ``loan_id, observed_months, full_window, defaulted``.

    The default window of a loan is L = min(term, ``window_months``) months on book (the definition
    of the world's default model). Its outcome is known (``full_window``) when it defaulted within L,
    closed (prepaid, matured, recovered) or was observed for at least L months; ``defaulted`` is true
    when ``status == "default"`` appears at a month on book ≤ L. Loans without performance rows have
    ``observed_months`` 0 and ``full_window`` false.
    """
    if window_months < 1:
        raise ValidationError("window_months", window_months, "must be at least 1 month")
    per = (
        performance.sort("loan_id", "month_on_book")
        .group_by("loan_id")
        .agg(
            pl.col("month_on_book").max().alias("observed_months"),
            pl.col("status").last().alias("_last"),
            pl.col("month_on_book").filter(pl.col("status") == "default").min().alias("_default_month"),
        )
    )
    joined = loans.select("loan_id", "term_months").join(per, on="loan_id", how="left", maintain_order="left")
    horizon = pl.min_horizontal(pl.col("term_months"), pl.lit(window_months))
    defaulted = pl.col("_default_month").is_not_null() & (pl.col("_default_month") <= horizon)
    return joined.select(
        "loan_id",
        pl.col("observed_months").fill_null(0).cast(pl.Int64),
        (
            defaulted
            | pl.col("_last").is_in(_CLOSED).fill_null(False)
            | (pl.col("observed_months").fill_null(0) >= horizon)
        ).alias("full_window"),
        defaulted.alias("defaulted"),
    )


def loan_profitability(
    loans: pl.DataFrame, performance: pl.DataFrame, *, funding_rate: float = 0.025, opex_rate: float = 0.010
) -> pl.DataFrame:
    """Per loan, over its observed months (CNY unless stated):

    * ``interest`` = cash received (payments + prepayments) − principal repaid, where principal repaid
      = amount financed − balance at the last observed month − balance charged off;
    * ``funding_cost`` = ``funding_rate``/12 × Σ opening balance of each month (the balance at the end
      of the previous month; the amount financed in month 1) — funding stops at charge-off;
    * ``opex`` = ``opex_rate``/12 × the same balance-months (servicing cost as a share of balance);
    * ``net_credit_loss`` = balance charged off − recoveries received (recoveries that fall after the
      observation end are not counted: conservative);
    * ``profit`` = interest − funding_cost − opex − net_credit_loss;
    * ``balance_years`` = Σ opening balance / 12 (CNY-years), the denominator of an annualised return.

    ``funding_rate`` and ``opex_rate`` are annual decimals.
    """
    for name, rate in (("funding_rate", funding_rate), ("opex_rate", opex_rate)):
        if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
            raise ValidationError(name, rate, "must be an annual decimal in [0, 1)")
    perf = (
        performance.join(loans.select("loan_id", "amount_financed"), on="loan_id", how="inner")
        .sort("loan_id", "month_on_book")
        .with_columns(
            pl.col("balance").shift(1).over("loan_id").fill_null(pl.col("amount_financed")).alias("_opening")
        )
    )
    per = perf.group_by("loan_id").agg(
        (pl.col("payment").sum() + pl.col("prepayment").sum()).alias("_cash"),
        pl.col("balance").last().alias("_closing"),
        pl.col("default_amount").sum().alias("_charged_off"),
        pl.col("recovery").sum().alias("_recovered"),
        pl.col("_opening").sum().alias("_balance_months"),
    )
    out = loans.select("loan_id", "amount_financed").join(
        per, on="loan_id", how="left", maintain_order="left"
    )
    out = out.with_columns(pl.col("^_.*$").fill_null(0.0))
    principal_repaid = pl.col("amount_financed") - pl.col("_closing") - pl.col("_charged_off")
    return out.select(
        "loan_id",
        "amount_financed",
        (pl.col("_cash") - principal_repaid).alias("interest"),
        (pl.col("_balance_months") * funding_rate / 12.0).alias("funding_cost"),
        (pl.col("_balance_months") * opex_rate / 12.0).alias("opex"),
        (pl.col("_charged_off") - pl.col("_recovered")).alias("net_credit_loss"),
        (pl.col("_balance_months") / 12.0).alias("balance_years"),
    ).with_columns(
        (pl.col("interest") - pl.col("funding_cost") - pl.col("opex") - pl.col("net_credit_loss")).alias(
            "profit"
        )
    )


# --------------------------------------------------------------------------------------------------
# take-up sensitivity
# --------------------------------------------------------------------------------------------------


def fit_takeup(x: FloatArray, y: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """Unpenalised logistic MLE of ``y`` on ``x`` (intercept prepended) and its covariance.

    The covariance is the inverse Fisher information (Xᵀ diag(p̂(1 − p̂)) X)⁻¹. Columns are
    standardised for the solver and mapped back, so coefficients are in the units of ``x``.
    Raises :class:`ValidationError` when ``y`` has one class only or the information is singular.
    """
    if x.shape[0] != y.shape[0]:
        raise ValidationError("y", y.shape[0], f"must have one value per row of x ({x.shape[0]})")
    if y.all() or not y.any():
        raise ValidationError("taken", int(y.sum()), "needs both taken and untaken quotes to fit")
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd == 0, 1.0, sd)
    # no penalty: scikit-learn ≥ 1.8 deprecates penalty=None in favour of the equivalent C=inf
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=5000, tol=1e-10)
    model.fit((x - mu) / sd, y)
    slope = model.coef_[0] / sd
    beta: FloatArray = np.r_[model.intercept_[0] - slope @ mu, slope]
    x1 = np.column_stack([np.ones(x.shape[0]), x])
    p = 1.0 / (1.0 + np.exp(-(x1 @ beta)))
    info = x1.T @ (x1 * (p * (1.0 - p))[:, None])
    try:
        cov: FloatArray = np.asarray(np.linalg.inv(info), dtype=np.float64)
    except np.linalg.LinAlgError:
        raise ValidationError("takeup_features", x.shape, "give a singular information matrix") from None
    return beta, cov


def _elasticities(beta: Mapping[str, float], reference: TakeupReference) -> dict[str, float]:
    """The data package's elasticity definition (:func:`autofin.data.credit.takeup_elasticities`),
    applied to ``beta``: reused, not re-derived, so fitted and true elasticities are the same function
    of their coefficients."""
    coefs = TakeupCoefficients(**{p: float(beta.get(p, 0.0)) for p in TAKEUP_PARAMETERS})
    return takeup_elasticities({"s": coefs}, reference)["s"]


def _delta_se(
    beta: FloatArray, cov: FloatArray, names: Sequence[str], reference: TakeupReference
) -> dict[str, float]:
    """Delta-method standard errors √(g Σ gᵀ) of every elasticity; g by central differences."""
    base = dict(zip(names, beta.tolist(), strict=True))
    grads = np.zeros((len(ELASTICITIES), len(names)))
    for j, name in enumerate(names):
        h = 1e-6 * max(1.0, abs(base[name]))
        up = _elasticities(base | {name: base[name] + h}, reference)
        down = _elasticities(base | {name: base[name] - h}, reference)
        grads[:, j] = [(up[e] - down[e]) / (2 * h) for e in ELASTICITIES]
    var = np.einsum("ij,jk,ik->i", grads, cov, grads)
    return {e: float(math.sqrt(max(v, 0.0))) for e, v in zip(ELASTICITIES, var, strict=True)}


def takeup_sensitivity(
    features: pl.DataFrame, *, reference: TakeupReference = REFERENCE_QUOTE, min_reached: int = 200
) -> pl.DataFrame:
    """Per segment, the fitted take-up model and its elasticities at ``reference``.

    ``features`` is :func:`autofin.data.credit.takeup_features` output (``segment``, ``reached``, the
    :data:`~autofin.data.credit.TAKEUP_FEATURES`, ``taken``). On the segment's reached quotes (no
    earlier quote of the applicant taken), ``taken`` is regressed on the features without penalty.
    A feature constant within the segment (e.g. no lease quotes) is left out (its ``coef_`` is null
    and it counts as 0 at the reference quote, a plain loan). Elasticities ∂ln p/∂ln x follow the
    definition of truth.json ``takeup_model.elasticities_at_reference`` (``rate_total`` and
    ``term_total`` include the effect through the payment); their standard errors are delta-method.
    A segment with fewer than ``min_reached`` reached quotes, or only one outcome, is not fitted
    (``status`` says why; numbers null).
    """
    need = ["segment", "reached", *TAKEUP_FEATURES, "taken"]
    missing = [c for c in need if c not in features.columns]
    if missing:
        raise ValidationError("takeup_features", missing, "misses required column(s)")
    reached = features.filter(pl.col("reached"))
    rows: list[dict[str, Any]] = []
    for segment in sorted(features["segment"].unique().to_list()):
        part = reached.filter(pl.col("segment") == segment)
        y = part["taken"].to_numpy().astype(bool)
        row: dict[str, Any] = {"segment": segment, "n_reached": part.height, "n_taken": int(y.sum())}
        row |= {f"coef_{p}": None for p in TAKEUP_PARAMETERS} | {f"se_{p}": None for p in TAKEUP_PARAMETERS}
        row |= {f"elasticity_{e}": None for e in ELASTICITIES}
        row |= {f"elasticity_{e}_se": None for e in ELASTICITIES}
        if part.height < min_reached:
            row["status"] = f"not fitted: {part.height} reached quotes < min_reached {min_reached}"
            rows.append(row)
            continue
        x = part.select(TAKEUP_FEATURES).to_numpy().astype(np.float64)
        varying = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
        names = ["intercept", *(TAKEUP_FEATURES[j] for j in varying)]
        try:
            beta, cov = fit_takeup(x[:, varying], y)
        except ValidationError as exc:
            row["status"] = f"not fitted: {exc.rule}"
            rows.append(row)
            continue
        se = np.sqrt(np.diag(cov))
        for name, b, s in zip(names, beta, se, strict=True):
            row[f"coef_{name}"] = float(b)
            row[f"se_{name}"] = float(s)
        point = _elasticities(dict(zip(names, beta.tolist(), strict=True)), reference)
        spread = _delta_se(beta, cov, names, reference)
        for e in ELASTICITIES:
            row[f"elasticity_{e}"] = point[e]
            row[f"elasticity_{e}_se"] = spread[e]
        row["status"] = "fitted"
        rows.append(row)
    schema = {"segment": pl.String, "n_reached": pl.Int64, "n_taken": pl.Int64}
    schema |= {f"{k}_{p}": pl.Float64 for p in TAKEUP_PARAMETERS for k in ("coef", "se")}
    schema |= {f"elasticity_{e}{s}": pl.Float64 for e in ELASTICITIES for s in ("", "_se")}
    schema |= {"status": pl.String}
    return pl.DataFrame(rows, schema=schema)


# --------------------------------------------------------------------------------------------------
# the profile
# --------------------------------------------------------------------------------------------------


def _quantile(col: str, q: float) -> pl.Expr:
    return pl.col(col).quantile(q, interpolation="linear")


def _share(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).mean()


def _pti_histogram(frame: pl.DataFrame, population: str, edges: Sequence[float]) -> pl.DataFrame:
    """Counts of ``pti`` per segment in [edges[k], edges[k+1]) and a last open bin [edges[-1], ∞)."""
    lows = list(edges)
    highs: list[float | None] = [*edges[1:], None]
    idx = np.searchsorted(np.asarray(edges), frame["pti"].to_numpy(), side="right") - 1
    binned = frame.select("segment").with_columns(pl.Series("bin", np.clip(idx, 0, len(edges) - 1)))
    counts = binned.group_by("segment", "bin").len("count")
    segs = frame.select("segment").unique()
    grid = segs.join(pl.DataFrame({"bin": list(range(len(edges)))}), how="cross")
    return (
        grid.join(counts, on=["segment", "bin"], how="left")
        .with_columns(pl.col("count").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("count") / pl.col("count").sum().over("segment")).alias("share"))
        .with_columns(
            pl.lit(population).alias("population"),
            pl.col("bin")
            .replace_strict(list(range(len(edges))), lows, return_dtype=pl.Float64)
            .alias("bin_low"),
            pl.col("bin")
            .replace_strict(list(range(len(edges))), highs, return_dtype=pl.Float64)
            .alias("bin_high"),
        )
        .select(
            "segment", "population", pl.col("bin").cast(pl.Int64), "bin_low", "bin_high", "count", "share"
        )
        .sort("segment", "bin")
    )


def profile_segments(
    tables: Mapping[str, pl.DataFrame],
    segments: pl.DataFrame,
    *,
    segment_column: str = "segment",
    pd: pl.DataFrame | None = None,
    funding_rate: float = 0.025,
    opex_rate: float = 0.010,
    reference: TakeupReference = REFERENCE_QUOTE,
    window_months: int = 36,
    pti_edges: Sequence[float] = DEFAULT_PTI_EDGES,
    service_kinds: Sequence[str] | None = None,
    min_reached: int = 200,
) -> Profiles:
    """Need profiles of every segment of ``segments`` (``applicant_id`` and ``segment_column``).

    Args:
        tables: ``applicants``, ``bureau``, ``vehicles``, ``quotes``, ``loans``, ``performance`` (as in
            :mod:`autofin.data.schemas`) and optionally ``services`` (``loan_id, service, price``).
        segments: one row per labelled applicant; unlabelled applicants are left out (noted).
        pd: optional model PD per applicant (``applicant_id, pd``, probabilities); ``pd_mean`` is
            its mean over the segment's applicants that have one, else null.
        funding_rate, opex_rate: annual decimals charged on the average balance (profitability).
        reference: the quote at which take-up elasticities are evaluated.
        window_months: the default window; a loan's outcome counts once min(term, window) months
            are observed (or it closed).
        pti_edges: increasing histogram edges of PTI (fractions), the last bin is open.
        service_kinds: kinds whose attach rates to report (default: those found in ``services``).
        min_reached: fewest reached quotes for which a segment's take-up model is fitted.

    Raises:
        ValidationError naming the table, column or parameter at fault.
    """
    _check_tables(tables)
    edges = [float(e) for e in pti_edges]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValidationError("pti_edges", edges, "must be at least two strictly increasing values")
    applicants = tables["applicants"]
    labels = _check_segments(segments, segment_column, applicants["applicant_id"])
    notes: list[str] = []
    unlabelled = applicants.height - labels.height
    if unlabelled:
        notes.append(f"{unlabelled} applicant(s) without a segment label are left out")

    people = (
        labels.join(applicants.select("applicant_id", "age", "monthly_income"), on="applicant_id", how="left")
        .join(tables["bureau"].select(_REQUIRED["bureau"]), on="applicant_id", how="left")
        .join(tables["vehicles"].select(_REQUIRED["vehicles"]), on="applicant_id", how="left")
    )
    seg_of = labels.select("applicant_id", "segment")
    total = labels.height
    who = people.group_by("segment").agg(
        pl.len().alias("n_applicants"),
        (pl.len() / total).alias("share"),
        _quantile("monthly_income", 0.5).alias("income_median"),
        _quantile("monthly_income", 0.25).alias("income_p25"),
        _quantile("monthly_income", 0.75).alias("income_p75"),
        pl.col("age").cast(pl.Float64).mean().alias("age_mean"),
        _share(pl.col("condition") == "new").alias("share_new"),
        _share(pl.col("condition") == "used").alias("share_used"),
        *(_share(pl.col("vehicle_class") == c).alias(f"share_{c}") for c in _CLASSES),
        _share(pl.col("powertrain") == "nev").alias("share_nev"),
        _share(pl.col("use") == "commercial").alias("share_commercial"),
        pl.col("price").mean().alias("price_mean"),
        _quantile("bureau_score", 0.5).alias("bureau_score_median"),
        _share(pl.col("no_file") | pl.col("bureau_score").is_null()).alias("share_no_file"),
        _share(pl.col("thin_file")).alias("share_thin_file"),
    )

    quotes = (
        tables["quotes"]
        .select(_REQUIRED["quotes"])
        .join(seg_of, on="applicant_id", how="inner")
        .join(applicants.select("applicant_id", "monthly_income"), on="applicant_id", how="left")
        .join(tables["vehicles"].select("applicant_id", "price"), on="applicant_id", how="left")
        .with_columns(
            (pl.col("monthly_payment") / pl.col("monthly_income")).alias("pti"),
            (pl.col("down_payment") / pl.col("price")).alias("down_share"),
        )
    )
    taken = quotes.filter(pl.col("taken"))
    loans = tables["loans"].select(_REQUIRED["loans"]).join(seg_of, on="applicant_id", how="inner")

    quoted = quotes.group_by("segment").agg(
        pl.len().alias("n_quotes"),
        pl.col("taken").sum().cast(pl.Int64).alias("n_taken"),
        _quantile("pti", 0.5).alias("pti_quoted_median"),
        _quantile("pti", 0.9).alias("pti_quoted_p90"),
    )
    chosen = taken.group_by("segment").agg(
        pl.col("term_months").mode().min().alias("term_mode_months"),
        pl.col("term_months").cast(pl.Float64).mean().alias("term_mean_months"),
        pl.col("down_share").mean().alias("down_share_mean"),
        *(_share(pl.col("product") == p).alias(f"product_share_{p}") for p in _PRODUCTS),
    )
    outcomes = loan_outcomes(tables["loans"], tables["performance"], window_months=window_months)
    profit = loan_profitability(
        tables["loans"], tables["performance"], funding_rate=funding_rate, opex_rate=opex_rate
    )
    booked_loans = loans.join(outcomes, on="loan_id", how="left").join(
        profit.drop("amount_financed"), on="loan_id", how="left"
    )
    booked = booked_loans.group_by("segment").agg(
        pl.len().alias("n_booked"),
        _quantile("pti", 0.5).alias("pti_booked_median"),
        _quantile("pti", 0.9).alias("pti_booked_p90"),
        pl.col("full_window").sum().cast(pl.Int64).alias("n_full_window"),
        pl.col("defaulted").filter(pl.col("full_window")).sum().cast(pl.Int64).alias("n_defaulted"),
        pl.col("amount_financed").sum().alias("_financed"),
        pl.col("profit").sum().alias("_profit"),
        pl.col("balance_years").sum().alias("_balance_years"),
        pl.col("interest").mean().alias("interest_per_loan"),
        pl.col("funding_cost").mean().alias("funding_cost_per_loan"),
        pl.col("opex").mean().alias("opex_per_loan"),
        pl.col("net_credit_loss").mean().alias("net_credit_loss_per_loan"),
        pl.col("profit").mean().alias("profit_per_loan"),
    )

    summary = (
        who.join(quoted, on="segment", how="left")
        .join(chosen, on="segment", how="left")
        .join(booked, on="segment", how="left")
        .with_columns(pl.col("n_quotes", "n_taken", "n_booked", "n_full_window", "n_defaulted").fill_null(0))
        .with_columns(
            (pl.col("n_taken") / pl.col("n_applicants")).alias("takeup_per_applicant"),
            (pl.col("n_taken") / pl.col("n_quotes")).alias("takeup_per_quote"),
            pl.when(pl.col("n_taken") > 0)
            .then(pl.col("n_booked") / pl.col("n_taken"))
            .alias("approval_rate"),
            (pl.col("n_booked") / pl.col("n_applicants")).alias("look_to_book"),
            pl.when(pl.col("n_full_window") > 0)
            .then(pl.col("n_defaulted") / pl.col("n_full_window"))
            .alias("default_rate"),
            pl.when(pl.col("_financed") > 0)
            .then(pl.col("_profit") / pl.col("_financed"))
            .alias("profit_per_cny_financed"),
            pl.when(pl.col("_balance_years") > 0)
            .then(pl.col("_profit") / pl.col("_balance_years"))
            .alias("return_on_balance_annual"),
        )
        .sort("segment")
    )
    bounds = [
        wilson_interval(int(d), int(n)) for d, n in summary.select("n_defaulted", "n_full_window").rows()
    ]
    summary = summary.with_columns(
        pl.Series("default_rate_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("default_rate_high", [b[1] for b in bounds], dtype=pl.Float64),
    )

    if pd is not None:
        pds = _check_pd(pd).join(seg_of, on="applicant_id", how="inner")
        pd_agg = pds.group_by("segment").agg(pl.len().alias("n_pd"), pl.col("pd").mean().alias("pd_mean"))
        summary = summary.join(pd_agg, on="segment", how="left").with_columns(pl.col("n_pd").fill_null(0))
    else:
        summary = summary.with_columns(
            pl.lit(0, pl.Int64).alias("n_pd"), pl.lit(None, pl.Float64).alias("pd_mean")
        )
        notes.append("no model PD given: pd_mean is null (the observed default rate is always reported)")

    services, service_cols = _services(tables.get("services"), booked_loans, service_kinds, notes)
    summary = summary.join(service_cols, on="segment", how="left").sort("segment")
    attach = [c for c in summary.columns if c.startswith("attach_")]
    summary = summary.select(*SUMMARY_COLUMNS, *attach).with_columns(pl.col("n_pd").cast(pl.Int64))

    tf = takeup_features(
        {
            "quotes": tables["quotes"].join(seg_of, on="applicant_id", how="semi"),
            "applicants": applicants,
            "vehicles": tables["vehicles"],
            "segments": seg_of,
        }
    )
    takeup = takeup_sensitivity(tf, reference=reference, min_reached=min_reached)
    not_fitted = takeup.filter(pl.col("status") != "fitted")["segment"].to_list()
    if not_fitted:
        notes.append(f"take-up model not fitted for {', '.join(not_fitted)} (see takeup.status)")

    pti_distribution = pl.concat(
        [
            _pti_histogram(loans.select("segment", "pti"), "booked", edges),
            _pti_histogram(quotes.select("segment", "pti"), "quoted", edges),
        ]
    )
    parameters = {
        "reference_quote": reference.model_dump(),
        "window_months": window_months,
        "funding_rate": funding_rate,
        "opex_rate": opex_rate,
        "pti_edges": edges,
        "min_reached": min_reached,
        "segment_column": segment_column,
    }
    return Profiles(summary, pti_distribution, takeup, services, tuple(notes), parameters)


def _services(
    services: pl.DataFrame | None,
    booked_loans: pl.DataFrame,
    kinds: Sequence[str] | None,
    notes: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Long attach-rate table and the wide ``attach_<kind>`` / ``service_revenue_per_loan`` columns."""
    long_schema = {
        "segment": pl.String,
        "service": pl.String,
        "n_loans": pl.Int64,
        "attached": pl.Int64,
        "attach_rate": pl.Float64,
        "attach_low": pl.Float64,
        "attach_high": pl.Float64,
        "revenue_per_loan": pl.Float64,
    }
    segs = booked_loans.group_by("segment").agg(pl.len().cast(pl.Int64).alias("n_loans"))
    if services is None:
        notes.append("no services table: service attach rates are null")
        wide = segs.select("segment", pl.lit(None, pl.Float64).alias("service_revenue_per_loan"))
        return pl.DataFrame(schema=long_schema), wide
    found = sorted(services["service"].unique().to_list())
    kinds = list(kinds) if kinds is not None else found
    attached = services.join(booked_loans.select("loan_id", "segment"), on="loan_id", how="inner")
    counts = attached.group_by("segment", "service").agg(
        pl.col("loan_id").n_unique().alias("attached"), pl.col("price").sum().alias("_revenue")
    )
    grid = segs.join(pl.DataFrame({"service": kinds}, schema={"service": pl.String}), how="cross")
    long = (
        grid.join(counts, on=["segment", "service"], how="left")
        .with_columns(pl.col("attached").fill_null(0).cast(pl.Int64), pl.col("_revenue").fill_null(0.0))
        .with_columns(
            (pl.col("attached") / pl.col("n_loans")).alias("attach_rate"),
            (pl.col("_revenue") / pl.col("n_loans")).alias("revenue_per_loan"),
        )
        .sort("segment", "service")
    )
    bounds = [wilson_interval(int(a), int(n)) for a, n in long.select("attached", "n_loans").rows()]
    long = long.with_columns(
        pl.Series("attach_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("attach_high", [b[1] for b in bounds], dtype=pl.Float64),
    ).select(list(long_schema))
    revenue = (
        attached.group_by("segment")
        .agg(pl.col("price").sum().alias("_total"))
        .join(segs, on="segment", how="right")
        .select(
            "segment", (pl.col("_total").fill_null(0.0) / pl.col("n_loans")).alias("service_revenue_per_loan")
        )
    )
    wide = revenue
    for kind in kinds:
        wide = wide.join(
            long.filter(pl.col("service") == kind).select(
                "segment", pl.col("attach_rate").alias(f"attach_{kind}")
            ),
            on="segment",
            how="left",
        )
    return long, wide


# --------------------------------------------------------------------------------------------------
# I/O edge
# --------------------------------------------------------------------------------------------------

_WORLD_TABLES: Final = ("applicants", "bureau", "vehicles", "quotes", "loans", "performance")


def profile_world(
    world_dir: str | Path,
    segments: pl.DataFrame | Literal["truth"],
    *,
    pd: pl.DataFrame | None = None,
    **options: Any,
) -> Profiles:
    """:func:`profile_segments` of a world directory (``autofin data synth`` output or a lender's own).

    ``segments="truth"`` uses the world's true segments (``truth/segments``). When the directory has a
    ``truth.json``, the reference quote, the default window and the service kinds default to its
    ``credit`` section; ``options`` override them and pass through to :func:`profile_segments`.
    """
    from autofin.data.synth import load

    root = Path(world_dir)
    if not root.is_dir():
        raise ValidationError("world_dir", str(root), "must be a directory written by `autofin data synth`")
    tables = {t: load(root, t) for t in _WORLD_TABLES}
    if (root / "services").is_dir():
        tables["services"] = load(root, "services")
    if isinstance(segments, str) and segments != "truth":
        raise ValidationError("segments", segments, "must be a frame or the string 'truth'")
    labels = load(root, "truth/segments") if isinstance(segments, str) else segments
    truth_file = root / "truth.json"
    if truth_file.is_file():
        credit = json.loads(truth_file.read_text(encoding="utf-8")).get("credit", {})
        takeup = credit.get("takeup_model", {})
        if "reference_quote" in takeup:
            options.setdefault("reference", TakeupReference.model_validate(takeup["reference_quote"]))
        window = credit.get("default_model", {}).get("window_months")
        if window is not None:
            options.setdefault("window_months", int(window))
        services = credit.get("services")
        if services and "services" in tables:
            options.setdefault("service_kinds", list(services.get("kinds", [])) or None)
    return profile_segments(tables, labels, pd=pd, **options)
