"""Credit side of the synthetic world: quotes, take-up, approval, the latent default model, monthly
performance (delinquency, prepayment, default, recovery) — and the ground truth behind them.

Given the population tables of one chunk of applicants (``applicants``, ``bureau``, ``vehicles`` and
the true latent ``segments``), :func:`generate_credit` draws

* ``quotes``: 1–3 offers per applicant (loan / balloon / lease), priced by a documented rule, each
  with a level payment from the annuity formula, and whether the applicant took it;
* ``loans``: the taken quotes that pass the approval policy;
* ``performance``: one row per loan and month on book until the loan closes or the observation ends;
* ``services``: the value-added services attached to each booked loan (one row per loan and service),
  each an independent draw with the applicant's true segment's attach probability;
* ``truth_defaults`` and ``truth_takeup``: the latent probabilities and draws (ground truth, never a
  model input).

Every parameter lives in the ``credit:`` section of a world file (:class:`CreditWorld`);
:func:`ground_truth` returns all of them as JSON-ready data with the feature definitions, so that a
model fitted on the generated data can be checked against the truth. The equations are in
``docs/data-credit.md``. Money is in the world's currency (float major units, rounded to cents); rates
are annual decimals; months are months on book. Everything is vectorised: no per-loan Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
import polars as pl
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from autofin.data.schemas import PRODUCTS, SERVICE_KINDS, STATUSES
from autofin.errors import ValidationError, from_pydantic

__all__ = [
    "DEFAULT_FEATURES",
    "TAKEUP_FEATURES",
    "CreditWorld",
    "ServicePrice",
    "Services",
    "default_features",
    "generate_credit",
    "ground_truth",
    "load_credit_world",
    "takeup_elasticities",
    "takeup_features",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

Product = Literal["loan", "balloon", "lease"]
Condition = Literal["new", "used"]
VehicleClass = Literal["economy", "mid", "luxury"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
AnnualRate = Annotated[float, Field(ge=0.0, lt=1.0)]
Weight = Annotated[float, Field(ge=0.0)]

#: Features of the latent default model, in the order of :func:`default_features` columns.
DEFAULT_FEATURES: Final[tuple[str, ...]] = (
    "score_z",
    "thin_file",
    "no_file",
    "inquiries_6m",
    "delinquencies_24m",
    "revolving_utilisation",
    "dti",
    "ltv",
    "pti",
    "term_years",
    "log_income",
    "age_decades",
    "tenure_years",
    "used",
    "nev",
    "commercial",
    "balloon",
    "lease",
)
#: Features of the per-segment take-up model, in the order of :func:`takeup_features` columns.
TAKEUP_FEATURES: Final[tuple[str, ...]] = (
    "rate_pct",
    "pti_pct",
    "term_years",
    "down_share",
    "balloon",
    "lease",
)
_FEATURE_DEFINITIONS: Final[dict[str, str]] = {
    "score_z": "(bureau_score − score_centre) / score_scale; 0 when the applicant has no file",
    "thin_file": "1 if bureau.thin_file",
    "no_file": "1 if bureau.no_file (or bureau_score is null)",
    "inquiries_6m": "min(bureau.inquiries_6m, inquiries_cap)",
    "delinquencies_24m": "min(bureau.delinquencies_24m, delinquencies_cap)",
    "revolving_utilisation": "bureau.revolving_utilisation (0–1.5)",
    "dti": "loans.dti = (monthly_payment + bureau.monthly_debt_payments) / monthly_income",
    "ltv": "loans.ltv = amount_financed / vehicle price",
    "pti": "loans.pti = monthly_payment / monthly_income",
    "term_years": "term_months / 12",
    "log_income": "ln(monthly_income / income_reference)",
    "age_decades": "(age − age_centre) / age_scale",
    "tenure_years": "min(employment_tenure_months / 12, tenure_cap_years)",
    "used": "1 if vehicles.condition == 'used'",
    "nev": "1 if vehicles.powertrain == 'nev'",
    "commercial": "1 if vehicles.use == 'commercial'",
    "balloon": "1 if product == 'balloon'",
    "lease": "1 if product == 'lease'",
    "macro": "macro factor of the loan's vintage month (coefficient 1, an offset)",
    "rate_pct": "100 × quotes.annual_rate (percentage points)",
    "pti_pct": "100 × quotes.monthly_payment / applicants.monthly_income",
    "down_share": "quotes.down_payment / vehicles.price",
}
_STATUS_CODE: Final[dict[str, int]] = {s: k for k, s in enumerate(STATUSES)}
_CURRENT, _DPD30, _DPD60, _DPD90, _DEFAULT, _PREPAID, _MATURED, _RECOVERED = (
    _STATUS_CODE[s]
    for s in ("current", "dpd30", "dpd60", "dpd90", "default", "prepaid", "matured", "recovered")
)
_PRODUCT_CODE: Final[dict[str, int]] = {p: k for k, p in enumerate(PRODUCTS)}
_LOAN, _BALLOON, _LEASE = (_PRODUCT_CODE[p] for p in ("loan", "balloon", "lease"))
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


# --------------------------------------------------------------------------------------------------
# the credit world (YAML section ``credit:``)
# --------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_weights(name: str, weights: dict[Any, float]) -> None:
    if not weights or sum(weights.values()) <= 0:
        raise ValueError(f"{name} must have at least one positive weight")


class Range(_Model):
    """A closed interval [low, high] of a realism target."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class ScoreBand(_Model):
    """A bureau-score band: every score ≥ ``min_score`` (and below the next band up) belongs to it."""

    name: Annotated[str, Field(min_length=1)]
    min_score: Annotated[int, Field(ge=300, le=900)]


class LtvCaps(_Model):
    """Maximum loan-to-value by vehicle kind (CN 2018 caps); hybrids count as ICE, used cars as used."""

    passenger_ice: Annotated[float, Field(gt=0, le=1)]
    passenger_nev: Annotated[float, Field(gt=0, le=1)]
    commercial_ice: Annotated[float, Field(gt=0, le=1)]
    commercial_nev: Annotated[float, Field(gt=0, le=1)]
    used: Annotated[float, Field(gt=0, le=1)]


class Offers(_Model):
    """How the 1–3 quotes shown to an applicant are structured."""

    quotes_per_applicant: Annotated[list[Weight], Field(min_length=3, max_length=3)]
    product_mix: dict[Product, Weight]
    terms: dict[Product, dict[Annotated[int, Field(ge=6, le=96)], Weight]]
    down_payment_shares: dict[Annotated[float, Field(ge=0, lt=1)], Weight]
    ltv_caps: LtvCaps
    balloon_fraction_of_residual: Range
    max_residual_share_of_financed: Annotated[float, Field(gt=0, lt=1)]
    origination_lag_days: Annotated[
        list[Annotated[int, Field(ge=0, le=90)]], Field(min_length=2, max_length=2)
    ]

    @model_validator(mode="after")
    def _weights(self) -> Offers:
        _check_weights("quotes_per_applicant", dict(enumerate(self.quotes_per_applicant)))
        _check_weights("product_mix", dict(self.product_mix))
        if self.product_mix.get("loan", 0.0) <= 0:
            raise ValueError("product_mix.loan must be positive (commercial vehicles cannot lease)")
        for product, weight in self.product_mix.items():
            if weight > 0:
                if product not in self.terms:
                    raise ValueError(f"terms must list the terms of product {product}")
                _check_weights(f"terms.{product}", dict(self.terms[product]))
        _check_weights("down_payment_shares", dict(self.down_payment_shares))
        if self.origination_lag_days[0] > self.origination_lag_days[1]:
            raise ValueError("origination_lag_days must be [low, high] with low ≤ high")
        if not 0 < self.balloon_fraction_of_residual.low <= self.balloon_fraction_of_residual.high <= 1:
            raise ValueError("balloon_fraction_of_residual must lie in (0, 1]")
        return self


class Pricing(_Model):
    """rate = base[band] + used + term + LTV + product adders + dealer + quote noise, clipped, rounded."""

    base_rate: dict[str, AnnualRate]
    used_adder: float
    term_adder_per_year: float
    ltv_pivot: Annotated[float, Field(ge=0, le=1)]
    ltv_adder: float
    product_adder: dict[Product, float]
    dealer_sd: Annotated[float, Field(ge=0, le=0.1)]
    quote_sd: Annotated[float, Field(ge=0, le=0.1)]
    floor: AnnualRate
    cap: AnnualRate
    rate_decimals: Annotated[int, Field(ge=2, le=8)]

    @model_validator(mode="after")
    def _floor_cap(self) -> Pricing:
        if self.floor > self.cap:
            raise ValueError("floor must not exceed cap")
        if set(self.product_adder) != set(PRODUCTS):
            raise ValueError(f"product_adder must give every product: {', '.join(PRODUCTS)}")
        return self


class TakeupCoefficients(_Model):
    """Logit coefficients of one segment's take-up model (units in :data:`TAKEUP_FEATURES`)."""

    intercept: float
    rate_pct: float
    pti_pct: float
    term_years: float
    down_share: float
    balloon: float
    lease: float


class TakeupReference(_Model):
    """The reference quote at which elasticities are reported."""

    annual_rate: AnnualRate
    pti: Annotated[float, Field(gt=0, lt=2)]
    term_months: Annotated[int, Field(ge=6, le=96)]
    down_share: Annotated[float, Field(ge=0, lt=1)]


class Takeup(_Model):
    """P(take quote q | reached) = logistic(coefficients[segment] · x_q), quotes considered in order."""

    coefficients: dict[str, TakeupCoefficients]
    reference: TakeupReference

    @model_validator(mode="after")
    def _segments(self) -> Takeup:
        if not self.coefficients:
            raise ValueError("coefficients must give at least one segment")
        return self


class Approval(_Model):
    """Decline a taken quote when any cut-off is broken (applied before booking)."""

    min_score: Annotated[int, Field(ge=300, le=900)]
    max_pti: Annotated[float, Field(gt=0)]
    max_dti: Annotated[float, Field(gt=0)]
    no_file_max_pti: Annotated[float, Field(gt=0)]


class DefaultCoefficients(_Model):
    """Logit coefficients of the latent default model (feature units in docs/data-credit.md)."""

    score_z: float
    thin_file: float
    no_file: float
    inquiries_6m: float
    delinquencies_24m: float
    revolving_utilisation: float
    dti: float
    ltv: float
    pti: float
    term_years: float
    log_income: float
    age_decades: float
    tenure_years: float
    used: float
    nev: float
    commercial: float
    balloon: float
    lease: float


class FeatureScaling(_Model):
    """Centres, scales and caps of the default-model features."""

    score_centre: float
    score_scale: Annotated[float, Field(gt=0)]
    income_reference: Annotated[float, Field(gt=0)]
    age_centre: float
    age_scale: Annotated[float, Field(gt=0)]
    inquiries_cap: Annotated[int, Field(ge=1)]
    delinquencies_cap: Annotated[int, Field(ge=1)]
    tenure_cap_years: Annotated[float, Field(gt=0)]


class Macro(_Model):
    """Additive logit shift by vintage month, from ``start`` on; vintages outside the list take the
    nearest end value."""

    start: Annotated[str, Field(pattern=_MONTH)]
    values: Annotated[list[float], Field(min_length=1)]


class DefaultTiming(_Model):
    """Month of the first missed payment: discretised Weibull(shape, scale), truncated to the window."""

    weibull_shape: Annotated[float, Field(gt=0)]
    weibull_scale_months: Annotated[float, Field(gt=0)]


class DefaultModel(_Model):
    """P(default within min(term, window_months) months on book) = logistic(intercept + β·x + macro)."""

    window_months: Annotated[int, Field(ge=4, le=120)]
    intercept: float
    coefficients: DefaultCoefficients
    scaling: FeatureScaling
    macro: Macro
    timing: DefaultTiming


class Delinquency(_Model):
    """Transient delinquency of loans that do not default: current → 30 DPD → cure or 60 DPD → cure."""

    p_enter_dpd30: Probability
    cure_from_dpd30: Probability


class Prepayment(_Model):
    """Full prepayment hazard by product, as an auto-ABS "% ABS" speed (fraction: 0.015 = 1.5 % ABS)."""

    abs_speed: dict[Product, Annotated[float, Field(ge=0, le=0.1)]]

    @model_validator(mode="after")
    def _products(self) -> Prepayment:
        if set(self.abs_speed) != set(PRODUCTS):
            raise ValueError(f"abs_speed must give every product: {', '.join(PRODUCTS)}")
        return self


class Recovery(_Model):
    """Repossession and sale ``lag_months`` after default; recovery rate ~ Beta(mean 1 − severity)."""

    lag_months: Annotated[int, Field(ge=1, le=24)]
    severity: dict[Condition, dict[VehicleClass, Annotated[float, Field(gt=0, lt=1)]]]
    concentration: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _complete(self) -> Recovery:
        for cond in ("new", "used"):
            if set(self.severity.get(cond, {})) != {"economy", "mid", "luxury"}:
                raise ValueError(f"severity.{cond} must give economy, mid and luxury")
        return self


class Targets(_Model):
    """Realism targets checked by the tests (see docs/data-credit.md for their sources)."""

    cumulative_default_rate: Range
    abs_speed: Range
    term_share_over_36: Range
    mean_down_share: Range
    quote_takeup_rate: Range
    look_to_book: Range
    mean_booked_rate: Range


class ServicePrice(_Model):
    """The price of one service kind: exactly one of a flat amount (currency units), a fraction of the
    vehicle price, or an amount per year of the loan's term."""

    flat: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    pct_of_price: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    per_term_year: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ServicePrice:
        given = [f for f in ("flat", "pct_of_price", "per_term_year") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of flat, pct_of_price, per_term_year")
        return self


class Services(_Model):
    """Value-added services attached to booked loans: for every booked loan and every kind, an
    independent Bernoulli draw with probability ``attach_probability[true segment][kind]``; an attached
    service costs ``price[kind]``."""

    price: dict[str, ServicePrice]
    attach_probability: dict[str, dict[str, Probability]]

    @model_validator(mode="after")
    def _kinds(self) -> Services:
        if not self.price:
            raise ValueError("price must give at least one service kind")
        unknown = sorted(set(self.price) - set(SERVICE_KINDS))
        if unknown:
            raise ValueError(f"unknown service kinds {unknown}; allowed: {', '.join(SERVICE_KINDS)}")
        if not self.attach_probability:
            raise ValueError("attach_probability must give at least one segment")
        for seg, probs in self.attach_probability.items():
            if set(probs) != set(self.price):
                raise ValueError(
                    f"attach_probability.{seg} must give exactly the priced kinds: {', '.join(self.price)}"
                )
        return self


class CreditWorld(_Model):
    """The ``credit:`` section of a world file: every parameter of the credit generator."""

    score_bands: Annotated[list[ScoreBand], Field(min_length=1)]
    offers: Offers
    pricing: Pricing
    takeup: Takeup
    approval: Approval
    default: DefaultModel
    delinquency: Delinquency
    prepayment: Prepayment
    recovery: Recovery
    targets: Targets
    services: Services | None = None

    @model_validator(mode="after")
    def _bands(self) -> CreditWorld:
        mins = [b.min_score for b in self.score_bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("score_bands must be listed from the highest min_score down, no ties")
        if mins[-1] != 300:
            raise ValueError("the last score band must start at 300 so every score has a band")
        names = [b.name for b in self.score_bands]
        if len(set(names)) != len(names) or "no_file" in names:
            raise ValueError("score band names must be unique and not 'no_file'")
        missing = [n for n in [*names, "no_file"] if n not in self.pricing.base_rate]
        if missing:
            raise ValueError(f"pricing.base_rate misses band(s) {', '.join(missing)}")
        if self.services is not None:
            extra = sorted(set(self.services.attach_probability) - set(self.takeup.coefficients))
            if extra:
                raise ValueError(
                    f"services.attach_probability names segment(s) without take-up model: {extra}"
                )
        return self


def load_credit_world(path: str | Path) -> CreditWorld:
    """Read a YAML file whose top-level key ``credit:`` holds a :class:`CreditWorld`.

    Raises :class:`autofin.errors.ValidationError` naming the offending field (``credit.pricing.cap``).
    """
    file = Path(path)
    try:
        data: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("credit", str(file), f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValidationError("credit", str(file), f"is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "credit" not in data:
        raise ValidationError("credit", str(file), "must be a mapping with a top-level key 'credit'")
    try:
        return CreditWorld.model_validate(data["credit"])
    except PydanticValidationError as exc:
        err = from_pydantic(exc)
        field = f"credit.{err.field}" if err.field else "credit"
        raise ValidationError(field, err.value, err.rule) from None


# --------------------------------------------------------------------------------------------------
# small numeric helpers
# --------------------------------------------------------------------------------------------------


def _expit(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _level_payment(
    principal: FloatArray, rate: FloatArray, term: IntArray, balloon: FloatArray
) -> FloatArray:
    """Annuity payment that amortises ``principal`` to ``balloon`` (paid with the last instalment)."""
    i = rate / 12.0
    n = term.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_n = np.exp(-n * np.log1p(i))
        annuity = np.where(i > 0, -np.expm1(-n * np.log1p(i)) / i, n)
        out: FloatArray = (principal - balloon * v_n) / annuity
    return out


def _scheduled_balance(
    principal: FloatArray, rate: FloatArray, payment: FloatArray, paid: FloatArray
) -> FloatArray:
    """Balance after ``paid`` level instalments: B_k = B0·(1+i)^k − P·((1+i)^k − 1)/i."""
    i = rate / 12.0
    with np.errstate(divide="ignore", invalid="ignore"):
        growth_m1 = np.expm1(paid * np.log1p(i))
        annuity_fv = np.where(i > 0, growth_m1 / i, paid)
    out: FloatArray = np.maximum(principal * (1.0 + growth_m1) - payment * annuity_fv, 0.0)
    return out


def _choice(rng: np.random.Generator, values: FloatArray | IntArray, weights: list[float], n: int) -> Any:
    w = np.asarray(weights, dtype=np.float64)
    idx = np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right")
    return np.asarray(values)[np.minimum(idx, len(w) - 1)]


def _month_index(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def _fresh(seed: np.random.SeedSequence | int) -> np.random.SeedSequence:
    # spawn() mutates a SeedSequence: copy it so that the same seed always gives the same children
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError("seed", seed, "must be a non-negative integer or a numpy SeedSequence")
    return np.random.SeedSequence(int(seed))


# --------------------------------------------------------------------------------------------------
# features (shared by the generator and by anyone checking the truth)
# --------------------------------------------------------------------------------------------------


def _applicant_frame(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    need = {
        "applicants": (
            "applicant_id",
            "application_date",
            "age",
            "monthly_income",
            "employment_tenure_months",
        ),
        "bureau": (
            "applicant_id",
            "bureau_score",
            "inquiries_6m",
            "delinquencies_24m",
            "revolving_utilisation",
            "thin_file",
            "no_file",
            "monthly_debt_payments",
        ),
        "vehicles": (
            "applicant_id",
            "condition",
            "vehicle_class",
            "powertrain",
            "use",
            "price",
            "residual_36m",
        ),
        "segments": ("applicant_id", "segment"),
    }
    parts: list[pl.DataFrame] = []
    for name, cols in need.items():
        frame = tables.get(name)
        if frame is None:
            raise ValidationError("tables", name, "is required (population table missing)")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValidationError(f"{name}", missing, "misses required column(s)")
        parts.append(frame.select(cols))
    base = parts[0]
    for name, part in zip(("bureau", "vehicles", "segments"), parts[1:], strict=True):
        if part.height != base.height:
            raise ValidationError(name, part.height, f"must have one row per applicant ({base.height})")
        base = base.join(part, on="applicant_id", how="left", maintain_order="left")
    if base.select(pl.any_horizontal(pl.col("price", "segment", "inquiries_6m").is_null()).any()).item():
        raise ValidationError(
            "tables", "applicant_id", "bureau, vehicles and segments must cover every applicant"
        )
    return base


def _default_matrix(world: CreditWorld, frame: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Design matrix of the default model (columns :data:`DEFAULT_FEATURES`) and the macro offset.

    ``frame`` holds one row per loan with the loan, applicant, bureau and vehicle columns joined.
    """
    sc = world.default.scaling
    score = frame["bureau_score"].cast(pl.Float64).to_numpy()
    no_file = frame["no_file"].to_numpy() | np.isnan(score)
    cols: dict[str, FloatArray] = {
        "score_z": np.where(no_file, 0.0, (np.nan_to_num(score) - sc.score_centre) / sc.score_scale),
        "thin_file": frame["thin_file"].to_numpy().astype(np.float64),
        "no_file": no_file.astype(np.float64),
        "inquiries_6m": np.minimum(frame["inquiries_6m"].to_numpy(), sc.inquiries_cap).astype(np.float64),
        "delinquencies_24m": np.minimum(frame["delinquencies_24m"].to_numpy(), sc.delinquencies_cap).astype(
            np.float64
        ),
        "revolving_utilisation": frame["revolving_utilisation"].to_numpy().astype(np.float64),
        "dti": frame["dti"].to_numpy(),
        "ltv": frame["ltv"].to_numpy(),
        "pti": frame["pti"].to_numpy(),
        "term_years": frame["term_months"].to_numpy() / 12.0,
        "log_income": np.log(frame["monthly_income"].to_numpy() / sc.income_reference),
        "age_decades": (frame["age"].to_numpy() - sc.age_centre) / sc.age_scale,
        "tenure_years": np.minimum(frame["employment_tenure_months"].to_numpy() / 12.0, sc.tenure_cap_years),
        "used": (frame["condition"] == "used").to_numpy().astype(np.float64),
        "nev": (frame["powertrain"] == "nev").to_numpy().astype(np.float64),
        "commercial": (frame["use"] == "commercial").to_numpy().astype(np.float64),
        "balloon": (frame["product"] == "balloon").to_numpy().astype(np.float64),
        "lease": (frame["product"] == "lease").to_numpy().astype(np.float64),
    }
    x = np.column_stack([cols[f] for f in DEFAULT_FEATURES]) if frame.height else np.zeros((0, 18))
    macro = world.default.macro
    start = _month_index(macro.start)
    vint = frame["vintage"].to_numpy().astype(str) if frame.height else np.zeros(0, dtype=str)
    idx = np.array([_month_index(v) for v in np.unique(vint)], dtype=np.int64)
    values = np.asarray(macro.values)
    per_unique = values[np.clip(idx - start, 0, len(values) - 1)]
    _, inverse = np.unique(vint, return_inverse=True)
    offset: FloatArray = per_unique[inverse] if frame.height else np.zeros(0)
    return x.astype(np.float64), offset


def default_features(world: CreditWorld, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The default model's features of every loan: ``loan_id``, the :data:`DEFAULT_FEATURES` and
    ``macro`` (the vintage's macro factor, an offset with coefficient 1).

    ``tables`` must hold ``loans``, ``applicants``, ``bureau`` and ``vehicles``.
    """
    loans = tables["loans"]
    joined = (
        loans.select("loan_id", "applicant_id", "product", "vintage", "term_months", "ltv", "pti", "dti")
        .join(tables["applicants"], on="applicant_id", how="left", maintain_order="left")
        .join(tables["bureau"], on="applicant_id", how="left", maintain_order="left")
        .join(tables["vehicles"], on="applicant_id", how="left", maintain_order="left")
    )
    x, macro = _default_matrix(world, joined)
    data = {"loan_id": joined["loan_id"]} | {f: x[:, j] for j, f in enumerate(DEFAULT_FEATURES)}
    return pl.DataFrame(data).with_columns(pl.Series("macro", macro))


def takeup_features(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The take-up model's features of every quote: ``quote_id``, ``applicant_id``, ``segment``,
    ``reached`` (no earlier quote of the applicant was taken — the quotes on which the per-quote logistic
    model holds), the :data:`TAKEUP_FEATURES` and ``taken``.

    ``tables`` must hold ``quotes``, ``applicants``, ``vehicles`` and ``segments``.
    """
    q = (
        tables["quotes"]
        .join(tables["applicants"].select("applicant_id", "monthly_income"), on="applicant_id", how="left")
        .join(tables["vehicles"].select("applicant_id", "price"), on="applicant_id", how="left")
        .join(tables["segments"].select("applicant_id", "segment"), on="applicant_id", how="left")
        .sort("quote_id")
    )
    taken_before = pl.col("taken").cast(pl.Int32).cum_sum().over(
        "applicant_id", order_by="quote_id"
    ) - pl.col("taken").cast(pl.Int32)
    return q.select(
        "quote_id",
        "applicant_id",
        "segment",
        (taken_before == 0).alias("reached"),
        (pl.col("annual_rate") * 100.0).alias("rate_pct"),
        (pl.col("monthly_payment") / pl.col("monthly_income") * 100.0).alias("pti_pct"),
        (pl.col("term_months") / 12.0).alias("term_years"),
        (pl.col("down_payment") / pl.col("price")).alias("down_share"),
        (pl.col("product") == "balloon").cast(pl.Float64).alias("balloon"),
        (pl.col("product") == "lease").cast(pl.Float64).alias("lease"),
        "taken",
    )


# --------------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------------


def _offers(world: CreditWorld, base: pl.DataFrame, rng: np.random.Generator) -> dict[str, Any]:
    """Quote structure: applicant index, product, term, down payment, balloon, amount financed."""
    off = world.offers
    n = base.height
    n_quotes = _choice(rng, np.array([1, 2, 3]), off.quotes_per_applicant, n)
    app = np.repeat(np.arange(n), n_quotes)
    nq = app.shape[0]
    products = list(off.product_mix)
    prod = _choice(rng, np.array([_PRODUCT_CODE[p] for p in products]), list(off.product_mix.values()), nq)
    commercial = (base["use"] == "commercial").to_numpy()
    prod = np.where((prod == _LEASE) & commercial[app], _LOAN, prod)  # lease only for passenger cars
    term = np.zeros(nq, dtype=np.int64)
    for p in PRODUCTS:
        code = _PRODUCT_CODE[p]
        sel = np.flatnonzero(prod == code)
        if sel.shape[0]:
            grid = off.terms[p]
            term[sel] = _choice(rng, np.array(list(grid), dtype=np.int64), list(grid.values()), sel.shape[0])
    shares = _choice(
        rng,
        np.array(list(off.down_payment_shares), dtype=np.float64),
        list(off.down_payment_shares.values()),
        nq,
    )
    caps = off.ltv_caps
    nev = (base["powertrain"] == "nev").to_numpy()
    used = (base["condition"] == "used").to_numpy()
    cap = np.where(
        used,
        caps.used,
        np.where(
            commercial,
            np.where(nev, caps.commercial_nev, caps.commercial_ice),
            np.where(nev, caps.passenger_nev, caps.passenger_ice),
        ),
    )
    price = base["price"].to_numpy()
    down_share = np.maximum(shares, 1.0 - cap[app])
    down = np.round(down_share * price[app], 2)
    financed = np.round(price[app] - down, 2)
    residual = price[app] * base["residual_36m"].to_numpy()[app] ** (term / 36.0)
    frac = rng.uniform(off.balloon_fraction_of_residual.low, off.balloon_fraction_of_residual.high, nq)
    balloon = np.where(prod == _BALLOON, frac * residual, np.where(prod == _LEASE, residual, 0.0))
    balloon = np.round(np.minimum(balloon, off.max_residual_share_of_financed * financed), 2)
    return {"app": app, "product": prod, "term": term, "down": down, "financed": financed, "balloon": balloon}


def _score_band(world: CreditWorld, base: pl.DataFrame) -> tuple[IntArray, BoolArray]:
    """Band index per applicant (0 = best); ``len(score_bands)`` means no file."""
    score = base["bureau_score"].cast(pl.Float64).to_numpy()
    no_file = base["no_file"].to_numpy() | np.isnan(score)
    mins = np.array([b.min_score for b in world.score_bands], dtype=np.float64)
    # bands listed high → low: band k holds scores in [mins[k], mins[k-1])
    idx = np.searchsorted(-mins, -np.nan_to_num(score, nan=300.0), side="left")
    band: IntArray = np.where(no_file, len(mins), np.minimum(idx, len(mins) - 1)).astype(np.int64)
    return band, no_file


def _price(
    world: CreditWorld, base: pl.DataFrame, q: dict[str, Any], band: IntArray, rng: np.random.Generator
) -> FloatArray:
    pr = world.pricing
    app = q["app"]
    names = [b.name for b in world.score_bands] + ["no_file"]
    base_rate = np.array([pr.base_rate[nm] for nm in names])[band[app]]
    used = (base["condition"] == "used").to_numpy()[app]
    price = base["price"].to_numpy()[app]
    ltv = q["financed"] / price
    adder = np.array([pr.product_adder[p] for p in PRODUCTS])[q["product"]]
    dealer = rng.normal(0.0, pr.dealer_sd, base.height)[app] if pr.dealer_sd > 0 else 0.0
    noise = rng.normal(0.0, pr.quote_sd, app.shape[0]) if pr.quote_sd > 0 else 0.0
    rate = (
        base_rate
        + pr.used_adder * used
        + pr.term_adder_per_year * (q["term"] - 36) / 12.0
        + pr.ltv_adder * np.maximum(ltv - pr.ltv_pivot, 0.0)
        + adder
        + dealer
        + noise
    )
    out: FloatArray = np.round(np.clip(rate, pr.floor, pr.cap), pr.rate_decimals)
    return out


def _takeup_probability(world: CreditWorld, seg_idx: IntArray, segs: list[str], x: FloatArray) -> FloatArray:
    coefs = np.array(
        [[getattr(world.takeup.coefficients[s], f) for f in ("intercept", *TAKEUP_FEATURES)] for s in segs]
    )
    beta = coefs[seg_idx]
    eta = beta[:, 0] + np.einsum("ij,ij->i", beta[:, 1:], x)
    return _expit(eta)


def _first_missed_month(timing: DefaultTiming, latest: IntArray, rng: np.random.Generator) -> IntArray:
    """Discretised Weibull month f ≥ 1 truncated to f ≤ latest: F(f) = 1 − exp(−(f/λ)^k)."""
    k, lam = timing.weibull_shape, timing.weibull_scale_months
    f_max = 1.0 - np.exp(-((latest / lam) ** k))
    u = rng.random(latest.shape[0]) * f_max
    x = lam * (-np.log1p(-u)) ** (1.0 / k)
    out: IntArray = np.clip(np.ceil(x), 1, latest).astype(np.int64)
    return out


def generate_credit(
    world: CreditWorld,
    tables: dict[str, pl.DataFrame],
    seed: np.random.SeedSequence | int,
    months: int,
    first_quote_id: int = 0,
    first_loan_id: int = 0,
) -> dict[str, pl.DataFrame]:
    """Quotes, loans, monthly performance and the ground truth for one chunk of applicants.

    Args:
        world: the credit world (the ``credit:`` section of a world file).
        tables: the population tables ``applicants``, ``bureau``, ``vehicles`` (schemas.py) and
            ``segments`` (``applicant_id``, ``segment``), one row per applicant.
        seed: a non-negative int or a ``numpy.random.SeedSequence``; the same seed and tables give
            identical output (the SeedSequence passed in is not consumed).
        months: months of performance to observe (1–120).
        first_quote_id, first_loan_id: first ids of this chunk (ids are consecutive from them).

    Returns:
        ``quotes``, ``loans``, ``performance``, ``services`` (as declared in schemas.py; ``services`` is
        empty when the world has no ``services`` section), ``truth_defaults`` (``loan_id``,
        ``p_default``, ``will_default``, ``default_month``) and ``truth_takeup`` (``quote_id``,
        ``p_take``).
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise ValidationError("months", months, "must be an integer between 1 and 120")
    if first_quote_id < 0:
        raise ValidationError("first_quote_id", first_quote_id, "must not be negative")
    if first_loan_id < 0:
        raise ValidationError("first_loan_id", first_loan_id, "must not be negative")
    # Child k of a SeedSequence depends only on k, so the services stream (the 8th child) leaves the
    # seven original streams, and every table drawn from them, exactly as they were before it existed.
    s_offer, s_price, s_take, s_book, s_default, s_perf, s_recover, s_services = _fresh(seed).spawn(8)
    base = _applicant_frame(tables)
    segs = sorted(base["segment"].unique().to_list())
    unknown = [s for s in segs if s not in world.takeup.coefficients]
    if unknown:
        raise ValidationError("segments.segment", unknown, "has no take-up coefficients in the credit world")
    if world.services is not None:
        unknown = [s for s in segs if s not in world.services.attach_probability]
        if unknown:
            raise ValidationError(
                "segments.segment", unknown, "has no service attach probabilities in the credit world"
            )
    seg_idx = np.searchsorted(np.array(segs), base["segment"].to_numpy())

    # ---- quotes: structure, price, payment ----
    q = _offers(world, base, np.random.default_rng(s_offer))
    app = q["app"]
    nq = app.shape[0]
    band, _ = _score_band(world, base)
    rate = _price(world, base, q, band, np.random.default_rng(s_price))
    payment = np.round(_level_payment(q["financed"], rate, q["term"], q["balloon"]), 2)
    income = base["monthly_income"].to_numpy()
    price = base["price"].to_numpy()

    # ---- take-up: quotes considered in order, the first one taken wins ----
    x_take = np.column_stack(
        [
            rate * 100.0,
            payment / income[app] * 100.0,
            q["term"] / 12.0,
            q["down"] / price[app],
            (q["product"] == _BALLOON).astype(np.float64),
            (q["product"] == _LEASE).astype(np.float64),
        ]
    )
    p_take = _takeup_probability(world, seg_idx[app], segs, x_take)
    draw = np.random.default_rng(s_take).random(nq) < p_take
    starts = np.r_[0, np.cumsum(np.bincount(app, minlength=base.height))[:-1]]
    cum = np.cumsum(draw)
    before = cum - draw - np.r_[0, cum][starts][app]
    taken = draw & (before == 0)

    quote_ids = first_quote_id + np.arange(nq, dtype=np.int64)
    app_ids = base["applicant_id"].to_numpy()
    quotes = pl.DataFrame(
        {
            "quote_id": quote_ids,
            "applicant_id": app_ids[app].astype(np.int64),
            "product": pl.Series(q["product"].astype(np.uint8)).replace_strict(
                list(range(3)), list(PRODUCTS), return_dtype=pl.String
            ),
            "annual_rate": rate,
            "term_months": q["term"],
            "down_payment": q["down"],
            "balloon": q["balloon"],
            "amount_financed": q["financed"],
            "monthly_payment": payment,
            "taken": taken,
        }
    )
    truth_takeup = pl.DataFrame({"quote_id": quote_ids, "p_take": p_take})

    # ---- approval of the taken quotes, then booking ----
    ap = world.approval
    score = base["bureau_score"].cast(pl.Float64).to_numpy()
    no_file = base["no_file"].to_numpy() | np.isnan(score)
    pti_q = payment / income[app]
    dti_q = (payment + base["monthly_debt_payments"].to_numpy()[app]) / income[app]
    approved = (
        (no_file[app] | (np.nan_to_num(score)[app] >= ap.min_score))
        & (pti_q <= np.where(no_file[app], ap.no_file_max_pti, ap.max_pti))
        & (dti_q <= ap.max_dti)
    )
    booked = np.flatnonzero(taken & approved)
    nl = booked.shape[0]
    la = app[booked]
    rng_book = np.random.default_rng(s_book)
    lo, hi = world.offers.origination_lag_days
    app_date = base["application_date"].to_numpy().astype("datetime64[D]")
    orig = app_date[la] + rng_book.integers(lo, hi + 1, nl).astype("timedelta64[D]")
    orig_month = orig.astype("datetime64[M]")
    loan_ids = first_loan_id + np.arange(nl, dtype=np.int64)
    l_financed = q["financed"][booked]
    l_rate = rate[booked]
    l_term = q["term"][booked]
    l_payment = payment[booked]
    l_balloon = q["balloon"][booked]
    l_prod = q["product"][booked]
    loans = pl.DataFrame(
        {
            "loan_id": loan_ids,
            "applicant_id": app_ids[la].astype(np.int64),
            "quote_id": quote_ids[booked],
            "product": quotes["product"].gather(booked),
            "origination_date": pl.Series(orig, dtype=pl.Date),
            "vintage": pl.Series(orig_month.astype(str)),
            "amount_financed": l_financed,
            "annual_rate": l_rate,
            "term_months": l_term,
            "monthly_payment": l_payment,
            "balloon": l_balloon,
            "ltv": l_financed / price[la],
            "pti": pti_q[booked],
            "dti": dti_q[booked],
        }
    )

    # ---- latent default model ----
    joined = loans.select("product", "vintage", "term_months", "ltv", "pti", "dti").hstack(
        base.select(
            "bureau_score",
            "thin_file",
            "no_file",
            "inquiries_6m",
            "delinquencies_24m",
            "revolving_utilisation",
            "monthly_income",
            "age",
            "employment_tenure_months",
            "condition",
            "powertrain",
            "use",
        )[la]
    )
    x_def, macro = _default_matrix(world, joined)
    beta = np.array([getattr(world.default.coefficients, f) for f in DEFAULT_FEATURES])
    p_default = _expit(world.default.intercept + x_def @ beta + macro)
    rng_def = np.random.default_rng(s_default)
    will_default = rng_def.random(nl) < p_default
    window = np.minimum(l_term, world.default.window_months)
    tau = np.zeros(nl, dtype=np.int64)
    d_idx = np.flatnonzero(will_default)
    tau[d_idx] = _first_missed_month(world.default.timing, window[d_idx] - 3, rng_def) + 3
    truth_defaults = pl.DataFrame(
        {
            "loan_id": loan_ids,
            "p_default": p_default,
            "will_default": will_default,
            "default_month": pl.Series(np.where(will_default, tau, 0)).cast(pl.Int64),
        }
    ).with_columns(pl.when(pl.col("will_default")).then(pl.col("default_month")).alias("default_month"))

    # ---- performance ----
    performance = _performance(
        world,
        months,
        loan_ids,
        orig_month,
        l_financed,
        l_rate,
        l_term,
        l_payment,
        l_balloon,
        l_prod,
        will_default,
        tau,
        base["condition"].to_numpy()[la],
        base["vehicle_class"].to_numpy()[la],
        np.random.default_rng(s_perf),
        np.random.default_rng(s_recover),
    )
    services = _services(
        world.services,
        loan_ids,
        seg_idx[la],
        segs,
        price[la],
        l_term,
        np.random.default_rng(s_services),
    )
    return {
        "quotes": quotes,
        "loans": loans,
        "performance": performance,
        "services": services,
        "truth_defaults": truth_defaults,
        "truth_takeup": truth_takeup,
    }


_SERVICES_SCHEMA: Final = {"loan_id": pl.Int64, "service": pl.String, "price": pl.Float64}


def _services(
    spec: Services | None,
    loan_ids: IntArray,
    seg_idx: IntArray,
    segs: list[str],
    vehicle_price: FloatArray,
    term: IntArray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One row per booked loan and attached service kind, ordered by loan then kind (world-file order).

    A (loans × kinds) matrix of uniforms is drawn at once, so the draws of one loan do not depend on
    which services other loans took.
    """
    if spec is None or loan_ids.shape[0] == 0:
        return pl.DataFrame(schema=_SERVICES_SCHEMA)
    kinds = list(spec.price)
    p = np.array([[spec.attach_probability[s][k] for k in kinds] for s in segs], dtype=np.float64)
    attached = rng.random((loan_ids.shape[0], len(kinds))) < p[seg_idx]
    prices = np.empty((loan_ids.shape[0], len(kinds)), dtype=np.float64)
    for j, kind in enumerate(kinds):
        rule = spec.price[kind]
        if rule.flat is not None:
            prices[:, j] = rule.flat
        elif rule.pct_of_price is not None:
            prices[:, j] = rule.pct_of_price * vehicle_price
        else:
            prices[:, j] = (rule.per_term_year or 0.0) * term / 12.0
    row, col = np.nonzero(attached)  # row-major: by loan, then kind
    return pl.DataFrame(
        {
            "loan_id": pl.Series(loan_ids[row], dtype=pl.Int64),
            "service": pl.Series(kinds, dtype=pl.String).gather(col),
            "price": pl.Series(np.round(prices[row, col], 2), dtype=pl.Float64),
        }
    )


def _performance(
    world: CreditWorld,
    months: int,
    loan_ids: IntArray,
    orig_month: NDArray[np.datetime64],
    financed: FloatArray,
    rate: FloatArray,
    term: IntArray,
    payment: FloatArray,
    balloon: FloatArray,
    product: IntArray,
    will_default: BoolArray,
    tau: IntArray,
    condition: NDArray[Any],
    vclass: NDArray[Any],
    rng: np.random.Generator,
    rng_recover: np.random.Generator,
) -> pl.DataFrame:
    """Monthly rows: status and instalments paid by month in (loans × months) int arrays, then one
    vectorised pass computing the amounts of the rows inside each loan's observed life."""
    nl = loan_ids.shape[0]
    m_obs = months
    lag = world.recovery.lag_months
    status = np.zeros((nl, m_obs), dtype=np.int8)
    paid = np.zeros((nl, m_obs), dtype=np.int16)
    last = np.full(nl, m_obs, dtype=np.int64)
    mm = np.arange(1, m_obs + 1, dtype=np.int64)[None, :]

    # defaulters: current until τ−4, then 30/60/90 DPD, default at τ, recovered at τ + lag
    d = np.flatnonzero(will_default)
    if d.shape[0]:
        t = tau[d][:, None]
        rel = mm - t
        status[d] = np.select(
            [rel <= -4, rel == -3, rel == -2, rel == -1, rel == 0, rel < lag],
            [_CURRENT, _DPD30, _DPD60, _DPD90, _DEFAULT, _DEFAULT],
            _RECOVERED,
        ).astype(np.int8)
        paid[d] = np.minimum(mm, t - 4).astype(np.int16)
        last[d] = np.minimum(tau[d] + lag, m_obs)

    # non-defaulters: transient delinquency (never past 60 DPD), prepayment at % ABS, maturity
    nd = np.flatnonzero(~will_default)
    dq = world.delinquency
    abs_speed = np.array([world.prepayment.abs_speed[p] for p in PRODUCTS])[product[nd]]
    n_term = term[nd]
    state = np.zeros(nd.shape[0], dtype=np.int8)  # 0 current, 1 = 30 DPD, 2 = 60 DPD
    k = np.zeros(nd.shape[0], dtype=np.int16)
    alive = np.ones(nd.shape[0], dtype=bool)
    closed_at = np.full(nd.shape[0], m_obs, dtype=np.int64)
    st = np.zeros((nd.shape[0], m_obs), dtype=np.int8)
    pk = np.zeros((nd.shape[0], m_obs), dtype=np.int16)
    for m in range(1, m_obs + 1):
        u = rng.random((2, nd.shape[0]))
        maturing = alive & (n_term == m)
        enter = (state == 0) & (u[0] < dq.p_enter_dpd30) & (m < n_term - 2)
        cure = ((state == 1) & (u[0] < dq.cure_from_dpd30)) | (state == 2) | maturing
        worsen = (state == 1) & ~cure
        new_state = np.where(cure, 0, np.where(worsen, 2, np.where(enter, 1, state))).astype(np.int8)
        k = np.where(alive & (new_state == 0), m, k).astype(np.int16)
        den = 1.0 - abs_speed * (m - 1)
        smm = np.where(den > abs_speed, abs_speed / np.where(den > 0, den, 1.0), 1.0)
        prepay = alive & ~maturing & (new_state == 0) & (u[1] < smm)
        code = np.where(maturing, _MATURED, np.where(prepay, _PREPAID, new_state)).astype(np.int8)
        st[:, m - 1] = np.where(alive, code, 0)
        pk[:, m - 1] = k
        closing = alive & (maturing | prepay)
        closed_at[closing] = m
        alive &= ~closing
        state = np.where(alive, new_state, 0).astype(np.int8)
    status[nd] = st
    paid[nd] = pk
    last[nd] = closed_at
    del st, pk

    # ---- flatten the observed rows (loan-major, consecutive months) ----
    mask = mm <= last[:, None]
    li, mi = np.nonzero(mask)
    code = status[li, mi]
    k_row = paid[li, mi].astype(np.float64)
    k_prev = np.where(mi > 0, paid[li, np.maximum(mi - 1, 0)], 0).astype(np.float64)
    month = mi + 1
    bal_sched = _scheduled_balance(financed[li], rate[li], payment[li], k_row)
    open_status = code <= _DPD90
    is_default_month = (code == _DEFAULT) & (month == tau[li])
    balance = np.where(open_status, bal_sched, 0.0)
    # instalments paid this month (2–3 when a delinquency cures), plus the balloon at maturity
    pay = (k_row - k_prev) * payment[li] + np.where(code == _MATURED, balloon[li], 0.0)
    prepayment = np.where(code == _PREPAID, bal_sched, 0.0)
    default_amount = np.where(is_default_month, bal_sched, 0.0)

    # recoveries: Beta(mean 1 − severity, concentration c) share of the charged-off balance
    sev_table = world.recovery.severity
    sev = np.zeros(nl)
    for cond in ("new", "used"):
        for vc in ("economy", "mid", "luxury"):
            sev[(condition == cond) & (vclass == vc)] = sev_table[cond][vc]
    conc = world.recovery.concentration
    rr = np.zeros(nl)
    d_sev = sev[d]
    rr[d] = rng_recover.beta((1.0 - d_sev) * conc, d_sev * conc) if d.shape[0] else 0.0
    charged = np.zeros(nl)
    charged[d] = _scheduled_balance(financed[d], rate[d], payment[d], (tau[d] - 4).astype(np.float64))
    recovery = np.where(code == _RECOVERED, rr[li] * charged[li], 0.0)

    rel = month - tau[li]
    dpd = np.select(
        [code == _DPD30, code == _DPD60, code == _DPD90, (code == _DEFAULT) | (code == _RECOVERED)],
        [30, 60, 90, 120 + 30 * rel],
        0,
    ).astype(np.int64)
    period = (orig_month[li] + month.astype("timedelta64[M]")).astype("datetime64[D]")
    return pl.DataFrame(
        {
            "loan_id": loan_ids[li],
            "month_on_book": month.astype(np.int64),
            "period": pl.Series(period, dtype=pl.Date),
            "status": pl.Series(code.astype(np.uint8)).replace_strict(
                list(range(len(STATUSES))), list(STATUSES), return_dtype=pl.String
            ),
            "days_past_due": dpd,
            "balance": np.round(balance, 2),
            "payment": np.round(pay, 2),
            "prepayment": np.round(prepayment, 2),
            "default_amount": np.round(default_amount, 2),
            "recovery": np.round(recovery, 2),
        }
    )


# --------------------------------------------------------------------------------------------------
# ground truth
# --------------------------------------------------------------------------------------------------


def takeup_elasticities(
    coefficients: Mapping[str, TakeupCoefficients], reference: TakeupReference
) -> dict[str, dict[str, float]]:
    """Point elasticities ∂ln p/∂ln x = β·x·(1 − p) of take-up at the ``reference`` loan quote, per segment.

    ``rate_total`` and ``term_total`` also count the effect through the payment (PTI): a higher rate
    raises the instalment, a longer term lowers it. The same function gives the world's true
    elasticities (``ground_truth``) and those of fitted take-up models (``autofin.segments.profiles``).
    """
    r = reference.annual_rate
    n = reference.term_months
    out: dict[str, dict[str, float]] = {}
    i = r / 12.0
    # d ln(payment) / d ln(n) for a level annuity: −n·ln(1+i)·v^n / (1 − v^n)
    v_n = (1.0 + i) ** (-n)
    dlnp_dlnn = -n * math.log1p(i) * v_n / (1.0 - v_n) if i > 0 else -1.0
    # d ln(payment) / d ln(r): r·d/dr of ln(i / (1 − v^n))
    dlnp_dlnr = 1.0 - n * i / (1.0 + i) * v_n / (1.0 - v_n) if i > 0 else 0.0
    for seg, c in coefficients.items():
        x = {
            "rate_pct": 100 * r,
            "pti_pct": 100 * reference.pti,
            "term_years": n / 12.0,
            "down_share": reference.down_share,
        }
        eta = c.intercept + sum(getattr(c, f) * v for f, v in x.items())
        p = 1.0 / (1.0 + math.exp(-eta))
        e = {f: getattr(c, f) * v * (1.0 - p) for f, v in x.items()}
        out[seg] = {
            "p_take_at_reference": p,
            "rate": e["rate_pct"],
            "rate_total": e["rate_pct"] + e["pti_pct"] * dlnp_dlnr,
            "term": e["term_years"],
            "term_total": e["term_years"] + e["pti_pct"] * dlnp_dlnn,
            "pti": e["pti_pct"],
            "down_share": e["down_share"],
        }
    return out


def ground_truth(world: CreditWorld) -> dict[str, Any]:
    """Everything a fitted model can be checked against, JSON-ready: the default model (intercept,
    coefficients, feature definitions and scaling, macro factor by vintage month, timing), the take-up
    coefficients and elasticities by segment, the pricing, approval, delinquency, prepayment and
    recovery parameters, and ``services`` (``attach_probability[segment][kind]``, ``price[kind]``; None
    when the world has no services section)."""
    macro = world.default.macro
    start = _month_index(macro.start)
    by_month = {f"{(start + j) // 12:04d}-{(start + j) % 12 + 1:02d}": v for j, v in enumerate(macro.values)}
    dump = world.model_dump(mode="json")
    return {
        "default_model": {
            "definition": (
                "P(default within min(term, window_months) months on book) = "
                "logistic(intercept + sum(coefficients[f] * x[f]) + macro[vintage])"
            ),
            "window_months": world.default.window_months,
            "intercept": world.default.intercept,
            "coefficients": {f: getattr(world.default.coefficients, f) for f in DEFAULT_FEATURES},
            "features": {f: _FEATURE_DEFINITIONS[f] for f in (*DEFAULT_FEATURES, "macro")},
            "scaling": dump["default"]["scaling"],
            "macro_by_vintage": by_month,
            "macro_outside_range": "nearest end value",
            "timing": dump["default"]["timing"]
            | {
                "definition": (
                    "first missed payment month f ~ ceil(Weibull(shape, scale)) truncated to "
                    "[1, min(term, window) − 3]; 30/60/90 DPD in months f, f+1, f+2; default (charge-off) "
                    "at tau = f + 3"
                )
            },
        },
        "takeup_model": {
            "definition": (
                "quotes are considered in quote_id order; a quote is reached if no earlier quote of the "
                "applicant was taken; P(taken | reached) = logistic(intercept + sum(coef[f] * x[f])) with "
                "the applicant's true segment's coefficients; approval is applied after take-up"
            ),
            "coefficients": dump["takeup"]["coefficients"],
            "features": {f: _FEATURE_DEFINITIONS[f] for f in TAKEUP_FEATURES},
            "reference_quote": dump["takeup"]["reference"],
            "elasticities_at_reference": takeup_elasticities(
                world.takeup.coefficients, world.takeup.reference
            ),
        },
        "score_bands": dump["score_bands"],
        "offers": dump["offers"],
        "pricing": dump["pricing"],
        "approval": dump["approval"],
        "delinquency": dump["delinquency"],
        "prepayment": dump["prepayment"],
        "recovery": dump["recovery"],
        "targets": dump["targets"],
        "services": _services_truth(world.services),
    }


def _services_truth(spec: Services | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    return {
        "definition": (
            "for every booked loan and every service kind, an independent Bernoulli draw with "
            "attach_probability[the applicant's true segment][kind]; an attached service costs "
            "price[kind]: flat (currency units), pct_of_price × vehicle price, or per_term_year × "
            "term_months / 12; rounded to cents"
        ),
        "kinds": list(spec.price),
        "attach_probability": {s: dict(p) for s, p in spec.attach_probability.items()},
        "price": {k: v.model_dump(exclude_none=True) for k, v in spec.price.items()},
    }
