"""The synthetic population: applicants, their bureau files, the cars they want, and the true segments.

Every applicant belongs to one latent *true segment* (``young_urban``, ``family_mainstream``,
``prime_professional``, ``small_business``, ``value_used``). The segment is drawn first, with the
world's shares; every other attribute is then drawn from the segment's own distributions (see
docs/data-population.md for each one, its parameters and their sources). The segment itself is written
beside the data as ground truth (table ``segments``) and is never a model input.

All parameters live in the world file (YAML, key ``population:``), validated here into frozen pydantic
models. Generation is vectorised numpy: the per-segment parameters are gathered into per-row arrays
and every attribute is drawn for all rows at once. Units: amounts in the world's currency (major
units), ages in years, tenures in months, mileage in km, rates and fractions as decimals.

Randomness: each group of attributes has its own stream, a child of the caller's ``SeedSequence``
(spawn key ``(*seed.spawn_key, POPULATION_STREAM_KEY, i)``), derived without mutating the caller's
sequence, so the same seed always gives identical frames and adding an attribute to one group never
shifts the draws of another.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from autofin.data.schemas import (
    AREAS,
    CHANNELS,
    CONDITIONS,
    CUSTOMER_TYPES,
    EMPLOYMENT_TYPES,
    POWERTRAINS,
    REGIONS_CN,
    RESIDENCE_TYPES,
    USES,
    VEHICLE_CLASSES,
)
from autofin.errors import ValidationError, from_pydantic

__all__ = [
    "AGE_BANDS",
    "SEGMENT_KEYS",
    "Gap",
    "PopulationWorld",
    "Segment",
    "generate_population",
    "load_population_world",
    "parse_population_world",
]

SEGMENT_KEYS: Final = (
    "young_urban",
    "family_mainstream",
    "prime_professional",
    "small_business",
    "value_used",
)
SegmentKey = Literal["young_urban", "family_mainstream", "prime_professional", "small_business", "value_used"]

REGIONS_US: Final = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip
JURISDICTION_REGIONS: Final[dict[str, tuple[str, ...]]] = {"CN": REGIONS_CN, "US": REGIONS_US}
JURISDICTION_CURRENCY: Final[dict[str, str]] = {"CN": "CNY", "US": "USD"}

AGE_BANDS: Final = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_BAND_EDGES: Final = np.array([25, 35, 45, 55, 65])
GENDERS: Final = ("male", "female")

#: Namespace of the population's random streams under the caller's seed (ASCII "pop").
POPULATION_STREAM_KEY: Final = 0x706F70
_STREAMS: Final = ("segment", "applicant", "bureau", "vehicle", "protected")
_PROB_TOLERANCE: Final = 1e-9
_MAX_RESAMPLE_ROUNDS: Final = 64


# --------------------------------------------------------------------------------------------------
# The world file: population part
# --------------------------------------------------------------------------------------------------


def _probabilities(allowed: tuple[str, ...] | None) -> AfterValidator:
    """A mapping category → probability: known categories, each in [0, 1], summing to 1 ± 1e-9."""

    def check(value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("must give the probability of at least one category")
        if allowed is not None:
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise ValueError(f"unknown categories {unknown}; allowed: {', '.join(allowed)}")
        for key, p in value.items():
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise ValueError(f"probability of {key!r} must be between 0 and 1 (got {p!r})")
        total = math.fsum(value.values())
        if abs(total - 1.0) > _PROB_TOLERANCE:
            raise ValueError(f"probabilities must sum to 1 ± 1e-9 (they sum to {total!r})")
        return value

    return AfterValidator(check)


Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)]
Loading = Annotated[float, Field(ge=-3.0, le=3.0, allow_inf_nan=False)]

RegionProbs = Annotated[dict[str, float], _probabilities(None)]  # keys checked against the jurisdiction
AreaProbs = Annotated[dict[str, float], _probabilities(AREAS)]
ChannelProbs = Annotated[dict[str, float], _probabilities(CHANNELS)]
CustomerTypeProbs = Annotated[dict[str, float], _probabilities(CUSTOMER_TYPES)]
EmploymentProbs = Annotated[dict[str, float], _probabilities(EMPLOYMENT_TYPES)]
ResidenceProbs = Annotated[dict[str, float], _probabilities(RESIDENCE_TYPES)]
ConditionProbs = Annotated[dict[str, float], _probabilities(CONDITIONS)]
ClassProbs = Annotated[dict[str, float], _probabilities(VEHICLE_CLASSES)]
PowertrainProbs = Annotated[dict[str, float], _probabilities(POWERTRAINS)]
UseProbs = Annotated[dict[str, float], _probabilities(USES)]
BrandProbs = Annotated[dict[str, float], _probabilities(None)]
EthnicityProbs = Annotated[dict[str, float], _probabilities(None)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _fail(loc: tuple[str | int, ...], value: Any, rule: str) -> PydanticValidationError:
    """A pydantic error at ``loc`` (relative to the model being validated), for cross-field checks.

    Raised from a model validator it keeps its location, and pydantic prefixes the location of the
    enclosing model, so ``autofin.errors.from_pydantic`` names the exact field.
    """
    return PydanticValidationError.from_exception_data(
        "PopulationWorld",
        [
            InitErrorDetails(
                type=PydanticCustomError("population", "{rule}", {"rule": rule}), loc=loc, input=value
            )
        ],
    )


class Label(_Model):
    """Display names of a segment."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    en: Annotated[str, Field(min_length=1)]
    zh_cn: Annotated[str, Field(min_length=1, alias="zh-CN")]


class TruncatedNormal(_Model):
    """Normal(mean, sd) truncated to [min, max] (by redrawing, not by clipping)."""

    mean: Finite
    sd: Positive
    min: Finite
    max: Finite

    @model_validator(mode="after")
    def _bounds(self) -> TruncatedNormal:
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be less than max ({self.max})")
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"mean ({self.mean}) must lie between min and max")
        return self


class LogNormal(_Model):
    """Log-normal with the given median (currency units, km, …) and log-scale standard deviation."""

    median: Positive
    sigma: NonNegative


class Income(_Model):
    """Gross monthly income: log-normal, median by region (currency units per month)."""

    median_by_region: dict[str, Positive]
    sigma: NonNegative


class Tenure(_Model):
    """A duration in months: gamma with the given mean and shape (shape 1 = exponential)."""

    mean_months: Positive
    shape: Positive


class Dependents(_Model):
    """Number of dependents: Poisson with the given mean, capped at 10."""

    mean: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]


class Count(_Model):
    """A count (inquiries, delinquencies): gamma-Poisson (negative binomial) with the given mean and
    dispersion (gamma shape; smaller = more over-dispersed). ``score_loading`` shifts the log-mean by
    ``loading × z`` where ``z`` is the applicant's standardised score within the segment."""

    mean: NonNegative
    dispersion: Positive
    score_loading: Loading


class Ratio(_Model):
    """A fraction in (0, 1): beta with the given mean and concentration (a + b). ``score_loading``
    shifts the logit of the mean by ``loading × z`` (z = standardised score within the segment)."""

    mean: OpenFraction
    concentration: Positive
    score_loading: Loading


class Score(_Model):
    """Bureau score: normal(mean, sd) clipped to 300–900. ``income_loading`` is the correlation of the
    score's latent normal with log income within the segment; ``thin_file_shift`` is added for thin
    files (points)."""

    mean: Annotated[float, Field(ge=300.0, le=900.0, allow_inf_nan=False)]
    sd: Positive
    income_loading: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
    thin_file_shift: Finite


class ApplicantSpec(_Model):
    """Distributions of the applicant's own attributes within a segment."""

    age: TruncatedNormal
    region: RegionProbs
    area: AreaProbs
    channel: ChannelProbs
    customer_type: CustomerTypeProbs
    employment_type: EmploymentProbs
    employment_tenure_months: Tenure
    residence_type: ResidenceProbs
    residence_tenure_months: Tenure
    dependents: Dependents
    first_time_buyer: Probability
    monthly_income: Income

    @model_validator(mode="after")
    def _checks(self) -> ApplicantSpec:
        if self.age.min < 18 or self.age.max > 90:
            raise _fail(("age",), [self.age.min, self.age.max], "ages must lie between 18 and 90")
        if self.employment_type.get("retired", 0.0) >= 1.0:
            raise _fail(
                ("employment_type", "retired"), 1.0, "must be below 1 (applicants under the retirement age)"
            )
        return self


class BureauSpec(_Model):
    """Distributions of the bureau attributes within a segment.

    ``no_file``: probability of no bureau record at all; ``thin_file``: probability, among those with a
    record, that it is thin. Existing debt payments = income × ``other_debt_to_income`` plus, for
    mortgage holders, income × ``mortgage_payment_to_income``.
    """

    no_file: Probability
    thin_file: Probability
    score: Score
    inquiries_6m: Count
    delinquencies_24m: Count
    revolving_utilisation: Ratio
    other_debt_to_income: Ratio
    mortgage_payment_to_income: Ratio


class PowertrainByCondition(_Model):
    """Powertrain mix for new and for used cars."""

    new: PowertrainProbs
    used: PowertrainProbs


class VehicleSpec(_Model):
    """Distributions of the wanted vehicle within a segment."""

    condition: ConditionProbs
    vehicle_class: ClassProbs
    powertrain: PowertrainByCondition
    use: UseProbs
    price_multiplier: Positive
    used_age_years: TruncatedNormal
    used_annual_km: LogNormal

    @model_validator(mode="after")
    def _checks(self) -> VehicleSpec:
        if self.used_age_years.min < 1 or self.used_age_years.max > 25:
            raise _fail(
                ("used_age_years",),
                [self.used_age_years.min, self.used_age_years.max],
                "used-car ages must lie between 1 and 25 years",
            )
        return self


class ProtectedSpec(_Model):
    """Protected attributes within a segment (for fairness tests only; see docs)."""

    female_share: Probability
    ethnicity: EthnicityProbs | None


class Segment(_Model):
    """One true latent segment: its share of applicants and every distribution conditional on it."""

    key: SegmentKey
    share: Probability
    label: Label
    applicant: ApplicantSpec
    bureau: BureauSpec
    vehicle: VehicleSpec
    protected: ProtectedSpec


class ByPowertrain(_Model):
    ice: Finite
    hybrid: Finite
    nev: Finite


class ByClassFactor(_Model):
    economy: Positive
    mid: Positive
    luxury: Positive


class ByClassLogNormal(_Model):
    economy: LogNormal
    mid: LogNormal
    luxury: LogNormal


class ByClassFraction(_Model):
    economy: TruncatedNormal
    mid: TruncatedNormal
    luxury: TruncatedNormal


class Depreciation(_Model):
    """Value as a fraction of MSRP after ``t`` whole years:
    ``V(0) = 1``, ``V(t) = (1 − L1)·(1 − La)^(t − 1)``, where the first-year loss ``L1`` and the later
    annual loss ``La`` are the powertrain's, times the class factor and (commercial use) the
    commercial factor. A used car's price is also adjusted by ``loss_per_10k_excess_km`` for each
    10,000 km above ``reference_annual_km × age`` (bounded to ±40 %)."""

    first_year_loss: ByPowertrain
    annual_loss: ByPowertrain
    class_factor: ByClassFactor
    commercial_factor: Positive
    reference_annual_km: Positive
    loss_per_10k_excess_km: Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
    used_price_noise_sigma: NonNegative

    @model_validator(mode="after")
    def _checks(self) -> Depreciation:
        for name in ("first_year_loss", "annual_loss"):
            losses: ByPowertrain = getattr(self, name)
            for pt in POWERTRAINS:
                worst = (
                    getattr(losses, pt)
                    * max(self.class_factor.economy, self.class_factor.mid, self.class_factor.luxury)
                    * max(1.0, self.commercial_factor)
                )
                if getattr(losses, pt) <= 0.0 or worst >= 0.95:
                    raise _fail(
                        (name, pt),
                        getattr(losses, pt),
                        "must be positive and stay below 0.95 after class and commercial factors",
                    )
        return self


class BrandCell(_Model):
    """Brand mix for vehicles matching ``use``/``vehicle_class``/``powertrain`` (null = any)."""

    use: Literal["passenger", "commercial"] | None
    vehicle_class: Literal["economy", "mid", "luxury"] | None
    powertrain: Literal["ice", "hybrid", "nev"] | None
    weights: BrandProbs


class VehicleMarket(_Model):
    """Market-wide vehicle parameters (the segment decides which cars; the market decides their prices).

    ``msrp_by_class``: new-car MSRP (currency units), times ``powertrain_price_factor`` and, for
    commercial use, ``commercial_price_factor``. New cars: ``price = MSRP × transaction_fraction_new``,
    ``invoice = MSRP × invoice_fraction_new[class]``. Used cars: ``price = MSRP × V(age) × mileage
    adjustment × noise``, ``invoice = price × dealer_cost_fraction_used`` (the dealer's acquisition cost).
    ``brands`` are matched first-to-last; every use × class × powertrain must match a cell.
    """

    msrp_by_class: ByClassLogNormal
    powertrain_price_factor: ByPowertrain
    commercial_price_factor: Positive
    transaction_fraction_new: TruncatedNormal
    invoice_fraction_new: ByClassFraction
    dealer_cost_fraction_used: TruncatedNormal
    depreciation: Depreciation
    brands: Annotated[list[BrandCell], Field(min_length=1)]

    @model_validator(mode="after")
    def _checks(self) -> VehicleMarket:
        for pt in POWERTRAINS:
            if getattr(self.powertrain_price_factor, pt) <= 0:
                raise _fail(("powertrain_price_factor", pt), getattr(self.powertrain_price_factor, pt),
                            "must be positive")  # fmt: skip
        for name in ("transaction_fraction_new", "dealer_cost_fraction_used"):
            frac: TruncatedNormal = getattr(self, name)
            if frac.min <= 0:
                raise _fail((name, "min"), frac.min, "must be positive (a fraction of a price)")
        for cls in VEHICLE_CLASSES:
            frac = getattr(self.invoice_fraction_new, cls)
            if frac.min <= 0:
                raise _fail(("invoice_fraction_new", cls, "min"), frac.min, "must be positive")
        for use in USES:
            for cls in VEHICLE_CLASSES:
                for pt in POWERTRAINS:
                    if _brand_cell_index(self.brands, use, cls, pt) is None:
                        raise _fail(("brands",), f"{use}/{cls}/{pt}", "no brand cell matches this vehicle")
        return self


class Gap(_Model):
    """A planted gap: a true segment whose need no product of the demo catalogue meets (ground truth
    for the segmentation tests; it changes nothing in the generator by itself)."""

    segment: SegmentKey
    need: Label
    evidence: Annotated[str, Field(min_length=1)]


class PopulationWorld(_Model):
    """The population part of a world file (top-level key ``population:``)."""

    currency: Literal["CNY", "USD"]
    jurisdiction: Literal["CN", "US"]
    retirement_min_age: Annotated[int, Field(ge=40, le=90)]
    vehicle_market: VehicleMarket
    segments: Annotated[list[Segment], Field(min_length=1)]
    gaps: list[Gap] = Field(default_factory=list)

    @property
    def regions(self) -> tuple[str, ...]:
        """Region codes of the jurisdiction (CN: city tiers; US: state codes)."""
        return JURISDICTION_REGIONS[self.jurisdiction]

    def segment(self, key: str) -> Segment:
        """The segment named ``key``."""
        for seg in self.segments:
            if seg.key == key:
                return seg
        raise ValidationError("segment", key, f"must be one of {', '.join(s.key for s in self.segments)}")

    @model_validator(mode="after")
    def _checks(self) -> PopulationWorld:
        expected = JURISDICTION_CURRENCY[self.jurisdiction]
        if self.currency != expected:
            raise _fail(
                ("currency",), self.currency, f"must be {expected} for jurisdiction {self.jurisdiction}"
            )
        seen: set[str] = set()
        for i, seg in enumerate(self.segments):
            if seg.key in seen:
                raise _fail(("segments", i, "key"), seg.key, "must be unique")
            seen.add(seg.key)
        total = math.fsum(s.share for s in self.segments)
        if abs(total - 1.0) > _PROB_TOLERANCE:
            raise _fail(("segments", "share"), total, "segment shares must sum to 1 ± 1e-9")
        regions = set(self.regions)
        for i, seg in enumerate(self.segments):
            app = seg.applicant
            unknown = sorted(set(app.region) - regions)
            if unknown:
                raise _fail(("segments", i, "applicant", "region"), unknown,
                            f"unknown regions for jurisdiction {self.jurisdiction}")  # fmt: skip
            medians = app.monthly_income.median_by_region
            unknown = sorted(set(medians) - regions)
            if unknown:
                raise _fail(("segments", i, "applicant", "monthly_income", "median_by_region"), unknown,
                            f"unknown regions for jurisdiction {self.jurisdiction}")  # fmt: skip
            missing = sorted(r for r, p in app.region.items() if p > 0 and r not in medians)
            if missing:
                raise _fail(("segments", i, "applicant", "monthly_income", "median_by_region"), missing,
                            "must give a median for every region the segment can be in")  # fmt: skip
            if (seg.protected.ethnicity is not None) != (self.jurisdiction == "US"):
                rule = "must be null for CN (not collected)" if self.jurisdiction == "CN" else "is required"
                raise _fail(("segments", i, "protected", "ethnicity"), seg.protected.ethnicity, rule)
        gap_segments: set[str] = set()
        for i, gap in enumerate(self.gaps):
            if gap.segment not in seen:
                raise _fail(
                    ("gaps", i, "segment"),
                    gap.segment,
                    f"must be one of the segments: {', '.join(s.key for s in self.segments)}",
                )
            if gap.segment in gap_segments:
                raise _fail(("gaps", i, "segment"), gap.segment, "must be listed once")
            gap_segments.add(gap.segment)
        return self


def parse_population_world(data: Any) -> PopulationWorld:
    """Validate the mapping under ``population:``; raise ValidationError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise ValidationError("population", type(data).__name__, "must be a mapping")
    try:
        return PopulationWorld.model_validate(dict(data))
    except PydanticValidationError as exc:
        err = from_pydantic(exc)
        raise ValidationError(f"population.{err.field}".rstrip("."), err.value, err.rule) from None


def load_population_world(path: str | Path) -> PopulationWorld:
    """Read a YAML file with a top-level ``population:`` key into a :class:`PopulationWorld`.

    Raises :class:`autofin.errors.ValidationError` naming the first bad field (dotted path, e.g.
    ``population.segments.2.bureau.score.sd``).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("population", str(file), f"cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError("population", str(file), f"is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "population" not in data:
        raise ValidationError("population", str(file), "the file must have a top-level 'population:' key")
    return parse_population_world(data["population"])


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def _prob_matrix(rows: Sequence[Mapping[str, float]], categories: Sequence[str]) -> FloatArray:
    """Stack probability mappings into a (groups × categories) matrix (missing categories = 0)."""
    return np.array([[float(row.get(c, 0.0)) for c in categories] for row in rows], dtype=np.float64)


class _Categorical:
    """Draws category codes for many rows, each row with the probabilities of its group.

    One ``searchsorted`` over the groups' cumulative probabilities, each offset by its group number,
    so all rows are drawn at once whatever their groups.
    """

    def __init__(self, probs: FloatArray) -> None:
        n_groups, k = probs.shape
        totals = probs.sum(axis=1, keepdims=True)
        cum = np.cumsum(probs / np.where(totals > 0, totals, 1.0), axis=1)
        last = np.array([int(np.flatnonzero(row > 0)[-1]) if row.any() else 0 for row in probs])
        for g in range(n_groups):
            cum[g, last[g] :] = 1.0
        self._flat = (cum + np.arange(n_groups)[:, None]).ravel()
        self._k = k
        self._last: IntArray = last.astype(np.intp)

    def draw(self, rng: np.random.Generator, group: IntArray) -> IntArray:
        x = rng.random(group.shape[0]) + group
        code = np.searchsorted(self._flat, x, side="right") - group * self._k
        result: IntArray = np.minimum(code, self._last[group]).astype(np.intp)
        return result


def _categorical(rng: np.random.Generator, probs: FloatArray, group: IntArray) -> IntArray:
    return _Categorical(probs).draw(rng, group)


def _truncated_normal(
    rng: np.random.Generator, mean: FloatArray, sd: FloatArray, lo: FloatArray, hi: FloatArray
) -> FloatArray:
    """Normal draws restricted to [lo, hi] per row, by redrawing the rows that fall outside."""
    x = mean + sd * rng.standard_normal(mean.shape[0])
    bad = np.flatnonzero((x < lo) | (x > hi))
    for _ in range(_MAX_RESAMPLE_ROUNDS):
        if bad.size == 0:
            break
        x[bad] = mean[bad] + sd[bad] * rng.standard_normal(bad.size)
        bad = bad[(x[bad] < lo[bad]) | (x[bad] > hi[bad])]
    return np.clip(x, lo, hi)


def _gamma_poisson(
    rng: np.random.Generator, mean: FloatArray, dispersion: FloatArray
) -> npt.NDArray[np.int64]:
    lam = rng.gamma(dispersion, mean / dispersion)
    return rng.poisson(lam).astype(np.int64)


def _beta_mean(
    rng: np.random.Generator, mean: FloatArray, concentration: FloatArray, shift: FloatArray
) -> FloatArray:
    """Beta draws with logit(mean) shifted per row."""
    logit = np.log(mean / (1.0 - mean)) + shift
    m = 1.0 / (1.0 + np.exp(-logit))
    m = np.clip(m, 1e-4, 1.0 - 1e-4)
    return rng.beta(m * concentration, (1.0 - m) * concentration)


def _gather(values: Sequence[float]) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _strings(name: str, categories: Sequence[str], codes: IntArray) -> pl.Series:
    return pl.Series(name, list(categories), dtype=pl.String).gather(codes)


def _streams(seed: np.random.SeedSequence | int) -> dict[str, np.random.Generator]:
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    elif isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        root = np.random.SeedSequence(int(seed))
    else:
        raise ValidationError("seed", seed, "must be a non-negative int or a numpy SeedSequence")
    return {
        name: np.random.default_rng(
            np.random.SeedSequence(
                entropy=root.entropy,
                spawn_key=(*root.spawn_key, POPULATION_STREAM_KEY, i),
                pool_size=root.pool_size,
            )
        )
        for i, name in enumerate(_STREAMS)
    }


def _add_months(start: dt.date, months: int) -> dt.date:
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    # Clamp the day to the end of the target month (31 Jan + 1 month = 28/29 Feb).
    days_in_month = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(start.day, days_in_month))


def _brand_cell_index(cells: Sequence[BrandCell], use: str, cls: str, pt: str) -> int | None:
    for i, cell in enumerate(cells):
        if (
            (cell.use is None or cell.use == use)
            and (cell.vehicle_class is None or cell.vehicle_class == cls)
            and (cell.powertrain is None or cell.powertrain == pt)
        ):
            return i
    return None


def generate_population(
    world: PopulationWorld,
    n: int,
    seed: np.random.SeedSequence | int,
    start_date: dt.date,
    months: int,
    first_id: int = 0,
) -> dict[str, pl.DataFrame]:
    """Draw ``n`` applicants with their bureau files, wanted vehicles, protected attributes and true
    segments.

    Returns the tables ``applicants``, ``bureau``, ``vehicles``, ``protected`` (schemas in
    :mod:`autofin.data.schemas`) and ``segments`` (``applicant_id: Int64``, ``segment: String``, the
    ground truth — never a model input). Applicant ids run ``first_id … first_id + n − 1``;
    ``application_date`` is uniform over the ``months`` calendar months starting at ``start_date``.
    The same ``world``, ``n``, ``seed``, dates and ``first_id`` give identical frames.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValidationError("n", n, "must be a non-negative int")
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 1200:
        raise ValidationError("months", months, "must be an int between 1 and 1200")
    if isinstance(first_id, bool) or not isinstance(first_id, int) or first_id < 0:
        raise ValidationError("first_id", first_id, "must be a non-negative int")
    if not isinstance(start_date, dt.date) or isinstance(start_date, dt.datetime):
        raise ValidationError("start_date", start_date, "must be a datetime.date")
    rngs = _streams(seed)
    segs = world.segments
    keys = [s.key for s in segs]
    ids = np.arange(first_id, first_id + n, dtype=np.int64)

    seg = _categorical(rngs["segment"], _prob_matrix([{k: s.share for k, s in zip(keys, segs, strict=True)}],
                                                     keys), np.zeros(n, dtype=np.intp))  # fmt: skip

    applicants, z_income, residence, age = _applicants(world, seg, ids, rngs["applicant"], start_date, months)
    bureau = _bureau(world, seg, ids, rngs["bureau"], applicants["monthly_income"].to_numpy(), z_income,
                     residence)  # fmt: skip
    vehicles = _vehicles(world, seg, ids, rngs["vehicle"])
    protected = _protected(world, seg, ids, rngs["protected"], age)
    segments = pl.DataFrame([pl.Series("applicant_id", ids, dtype=pl.Int64), _strings("segment", keys, seg)])
    return {
        "applicants": applicants,
        "bureau": bureau,
        "vehicles": vehicles,
        "protected": protected,
        "segments": segments,
    }


def _applicants(
    world: PopulationWorld,
    seg: IntArray,
    ids: npt.NDArray[np.int64],
    rng: np.random.Generator,
    start_date: dt.date,
    months: int,
) -> tuple[pl.DataFrame, FloatArray, IntArray, npt.NDArray[np.int64]]:
    n = int(seg.shape[0])
    specs = [s.applicant for s in world.segments]
    regions = world.regions

    end = _add_months(start_date, months)
    span = (end - start_date).days
    offsets = rng.integers(0, span, size=n)
    dates = np.datetime64(start_date, "D") + offsets.astype("timedelta64[D]")

    age_f = _truncated_normal(
        rng,
        _gather([a.age.mean for a in specs])[seg],
        _gather([a.age.sd for a in specs])[seg],
        _gather([a.age.min for a in specs])[seg],
        _gather([a.age.max for a in specs])[seg],
    )
    lo = np.ceil(_gather([a.age.min for a in specs]))[seg]
    hi = np.floor(_gather([a.age.max for a in specs]))[seg]
    age = np.clip(np.rint(age_f), lo, hi).astype(np.int64)

    region = _categorical(rng, _prob_matrix([a.region for a in specs], regions), seg)
    area = _categorical(rng, _prob_matrix([a.area for a in specs], AREAS), seg)
    channel = _categorical(rng, _prob_matrix([a.channel for a in specs], CHANNELS), seg)
    customer = _categorical(rng, _prob_matrix([a.customer_type for a in specs], CUSTOMER_TYPES), seg)
    residence = _categorical(rng, _prob_matrix([a.residence_type for a in specs], RESIDENCE_TYPES), seg)

    # Employment: "retired" only from the world's minimum retirement age; below it, the segment's
    # other employment types in their own proportions.
    emp_all = _prob_matrix([a.employment_type for a in specs], EMPLOYMENT_TYPES)
    emp_young = emp_all.copy()
    emp_young[:, EMPLOYMENT_TYPES.index("retired")] = 0.0
    emp_group = seg * 2 + (age >= world.retirement_min_age)
    employment = _categorical(rng, np.stack([emp_young, emp_all], axis=1).reshape(-1, len(EMPLOYMENT_TYPES)),
                              emp_group)  # fmt: skip
    retired = employment == EMPLOYMENT_TYPES.index("retired")

    medians = np.array(
        [[a.monthly_income.median_by_region.get(r, 1.0) for r in regions] for a in specs], dtype=np.float64
    )
    z_income = rng.standard_normal(n)
    income = medians[seg, region] * np.exp(_gather([a.monthly_income.sigma for a in specs])[seg] * z_income)
    income = np.maximum(np.round(income, 2), 1.0)

    def tenure(pick: str, cap: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        shape = _gather([getattr(a, pick).shape for a in specs])[seg]
        mean = _gather([getattr(a, pick).mean_months for a in specs])[seg]
        months_ = np.floor(rng.gamma(shape, mean / shape)).astype(np.int64)
        return np.minimum(months_, np.maximum(cap, 0))

    emp_tenure = tenure("employment_tenure_months", (age - 16) * 12)
    emp_tenure[retired] = 0
    res_tenure = tenure("residence_tenure_months", age * 12)
    dependents = np.minimum(rng.poisson(_gather([a.dependents.mean for a in specs])[seg]), 10).astype(
        np.int64
    )
    first_time = rng.random(n) < _gather([a.first_time_buyer for a in specs])[seg]

    frame = pl.DataFrame(
        [
            pl.Series("applicant_id", ids, dtype=pl.Int64),
            pl.Series("application_date", dates, dtype=pl.Date),
            _strings("region", regions, region),
            _strings("area", AREAS, area),
            _strings("channel", CHANNELS, channel),
            _strings("customer_type", CUSTOMER_TYPES, customer),
            pl.Series("age", age, dtype=pl.Int64),
            pl.Series("monthly_income", income, dtype=pl.Float64),
            _strings("employment_type", EMPLOYMENT_TYPES, employment),
            pl.Series("employment_tenure_months", emp_tenure, dtype=pl.Int64),
            _strings("residence_type", RESIDENCE_TYPES, residence),
            pl.Series("residence_tenure_months", res_tenure, dtype=pl.Int64),
            pl.Series("dependents", dependents, dtype=pl.Int64),
            pl.Series("first_time_buyer", first_time, dtype=pl.Boolean),
        ]
    )
    return frame, z_income, residence, age


def _bureau(
    world: PopulationWorld,
    seg: IntArray,
    ids: npt.NDArray[np.int64],
    rng: np.random.Generator,
    income: FloatArray,
    z_income: FloatArray,
    residence: IntArray,
) -> pl.DataFrame:
    n = int(seg.shape[0])
    specs = [s.bureau for s in world.segments]
    mortgage = residence == RESIDENCE_TYPES.index("mortgage")

    # A mortgage is reported to the bureau, so mortgage holders always have a file; the others'
    # no-file probability is raised so that the segment's overall no-file share stays as configured.
    p_mortgage = _prob_matrix([s.applicant.residence_type for s in world.segments], RESIDENCE_TYPES)[
        :, RESIDENCE_TYPES.index("mortgage")
    ]
    p_no_file = np.minimum(_gather([b.no_file for b in specs]) / np.maximum(1.0 - p_mortgage, 1e-12), 1.0)
    no_file = ~mortgage & (rng.random(n) < p_no_file[seg])
    thin = ~no_file & (rng.random(n) < _gather([b.thin_file for b in specs])[seg])

    rho = _gather([b.score.income_loading for b in specs])[seg]
    z = rho * z_income + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
    score_f = (
        _gather([b.score.mean for b in specs])[seg]
        + _gather([b.score.sd for b in specs])[seg] * z
        + thin * _gather([b.score.thin_file_shift for b in specs])[seg]
    )
    score = np.clip(np.rint(score_f), 300, 900).astype(np.int64)

    def count(pick: str) -> npt.NDArray[np.int64]:
        mean = _gather([getattr(b, pick).mean for b in specs])[seg]
        loading = _gather([getattr(b, pick).score_loading for b in specs])[seg]
        disp = _gather([getattr(b, pick).dispersion for b in specs])[seg]
        return _gamma_poisson(rng, mean * np.exp(loading * z), disp)

    def ratio(pick: str) -> FloatArray:
        return _beta_mean(
            rng,
            _gather([getattr(b, pick).mean for b in specs])[seg],
            _gather([getattr(b, pick).concentration for b in specs])[seg],
            _gather([getattr(b, pick).score_loading for b in specs])[seg] * z,
        )

    inquiries = count("inquiries_6m")
    delinquencies = count("delinquencies_24m")
    utilisation = np.round(ratio("revolving_utilisation"), 4)
    debt = income * ratio("other_debt_to_income") + mortgage * income * ratio("mortgage_payment_to_income")
    debt = np.round(debt, 2)
    # Nothing is reported for an applicant the bureau does not know.
    inquiries[no_file] = 0
    delinquencies[no_file] = 0
    utilisation[no_file] = 0.0
    debt[no_file] = 0.0

    score_series = pl.Series("bureau_score", score, dtype=pl.Int64)
    score_series = score_series.scatter(np.flatnonzero(no_file), None) if no_file.any() else score_series
    return pl.DataFrame(
        [
            pl.Series("applicant_id", ids, dtype=pl.Int64),
            score_series,
            pl.Series("inquiries_6m", inquiries, dtype=pl.Int64),
            pl.Series("delinquencies_24m", delinquencies, dtype=pl.Int64),
            pl.Series("revolving_utilisation", utilisation, dtype=pl.Float64),
            pl.Series("thin_file", thin, dtype=pl.Boolean),
            pl.Series("no_file", no_file, dtype=pl.Boolean),
            pl.Series("monthly_debt_payments", debt, dtype=pl.Float64),
        ]
    )


def _vehicles(
    world: PopulationWorld, seg: IntArray, ids: npt.NDArray[np.int64], rng: np.random.Generator
) -> pl.DataFrame:
    n = int(seg.shape[0])
    specs = [s.vehicle for s in world.segments]
    market = world.vehicle_market
    dep = market.depreciation

    condition = _categorical(rng, _prob_matrix([v.condition for v in specs], CONDITIONS), seg)
    used = condition == CONDITIONS.index("used")
    vclass = _categorical(rng, _prob_matrix([v.vehicle_class for v in specs], VEHICLE_CLASSES), seg)
    pt_rows = [row for v in specs for row in (v.powertrain.new, v.powertrain.used)]
    powertrain = _categorical(rng, _prob_matrix(pt_rows, POWERTRAINS), seg * 2 + condition)
    use = _categorical(rng, _prob_matrix([v.use for v in specs], USES), seg)
    commercial = use == USES.index("commercial")

    # Brand: the first cell matching use × class × powertrain.
    brands: list[str] = []
    for cell in market.brands:
        brands.extend(b for b in cell.weights if b not in brands)
    cell_of = np.zeros((len(USES), len(VEHICLE_CLASSES), len(POWERTRAINS)), dtype=np.intp)
    for iu, u in enumerate(USES):
        for ic, c in enumerate(VEHICLE_CLASSES):
            for ip, p in enumerate(POWERTRAINS):
                cell_of[iu, ic, ip] = _brand_cell_index(market.brands, u, c, p) or 0
    brand = _categorical(
        rng, _prob_matrix([c.weights for c in market.brands], brands), cell_of[use, vclass, powertrain]
    )

    msrp_median = _gather([getattr(market.msrp_by_class, c).median for c in VEHICLE_CLASSES])
    msrp_sigma = _gather([getattr(market.msrp_by_class, c).sigma for c in VEHICLE_CLASSES])
    pt_factor = _gather([getattr(market.powertrain_price_factor, p) for p in POWERTRAINS])
    msrp = (
        msrp_median[vclass]
        * pt_factor[powertrain]
        * np.where(commercial, market.commercial_price_factor, 1.0)
        * _gather([v.price_multiplier for v in specs])[seg]
        * np.exp(msrp_sigma[vclass] * rng.standard_normal(n))
    )
    msrp = np.maximum(np.round(msrp, -2), 100.0)

    age_years = np.zeros(n, dtype=np.int64)
    mileage = np.zeros(n, dtype=np.int64)
    k = np.flatnonzero(used)
    su = seg[k]
    age_u = _truncated_normal(
        rng,
        _gather([v.used_age_years.mean for v in specs])[su],
        _gather([v.used_age_years.sd for v in specs])[su],
        _gather([v.used_age_years.min for v in specs])[su],
        _gather([v.used_age_years.max for v in specs])[su],
    )
    age_lo = np.ceil(_gather([v.used_age_years.min for v in specs]))[su]
    age_hi = np.floor(_gather([v.used_age_years.max for v in specs]))[su]
    age_u = np.clip(np.rint(age_u), age_lo, age_hi).astype(np.int64)
    km_year = _gather([v.used_annual_km.median for v in specs])[su] * np.exp(
        _gather([v.used_annual_km.sigma for v in specs])[su] * rng.standard_normal(k.size)
    )
    km_u = (np.round(age_u * km_year, -2)).astype(np.int64)
    age_years[k] = age_u
    mileage[k] = km_u

    # Depreciation: V(t) = (1 − L1)(1 − La)^(t − 1), V(0) = 1.
    scale = _gather([getattr(dep.class_factor, c) for c in VEHICLE_CLASSES])[vclass] * np.where(
        commercial, dep.commercial_factor, 1.0
    )
    l1 = _gather([getattr(dep.first_year_loss, p) for p in POWERTRAINS])[powertrain] * scale
    la = _gather([getattr(dep.annual_loss, p) for p in POWERTRAINS])[powertrain] * scale

    def value(t: npt.NDArray[np.int64]) -> FloatArray:
        return np.where(t == 0, 1.0, (1.0 - l1) * (1.0 - la) ** np.maximum(t - 1, 0))

    # New cars.
    tf = market.transaction_fraction_new
    price_frac = _truncated_normal(rng, *(np.full(n, x) for x in (tf.mean, tf.sd, tf.min, tf.max)))
    inv = market.invoice_fraction_new
    inv_params = [_gather([getattr(getattr(inv, c), f) for c in VEHICLE_CLASSES])[vclass]
                  for f in ("mean", "sd", "min", "max")]  # fmt: skip
    invoice_frac = _truncated_normal(rng, *inv_params)
    # Used cars: value by age, adjusted for mileage above or below the reference, with noise.
    excess_10k = (mileage - dep.reference_annual_km * age_years) / 10_000.0
    mileage_adj = np.where(used, np.clip(1.0 - dep.loss_per_10k_excess_km * excess_10k, 0.6, 1.4), 1.0)
    noise = np.exp(dep.used_price_noise_sigma * rng.standard_normal(n))
    dc = market.dealer_cost_fraction_used
    dealer_frac = _truncated_normal(rng, *(np.full(n, x) for x in (dc.mean, dc.sd, dc.min, dc.max)))

    price = np.where(used, msrp * value(age_years) * mileage_adj * noise, msrp * price_frac)
    price = np.maximum(np.round(price, 0), 1.0)
    invoice = np.where(used, price * dealer_frac, msrp * invoice_frac)
    invoice = np.maximum(np.round(invoice, 0), 1.0)
    # Expected value in 36 months (same mileage adjustment) over today's price.
    residual = np.round(np.clip(msrp * value(age_years + 3) * mileage_adj / price, 0.02, 0.98), 4)

    return pl.DataFrame(
        [
            pl.Series("applicant_id", ids, dtype=pl.Int64),
            _strings("condition", CONDITIONS, condition),
            _strings("vehicle_class", VEHICLE_CLASSES, vclass),
            _strings("powertrain", POWERTRAINS, powertrain),
            _strings("use", USES, use),
            _strings("brand", brands, brand),
            pl.Series("msrp", msrp, dtype=pl.Float64),
            pl.Series("invoice", invoice, dtype=pl.Float64),
            pl.Series("price", price, dtype=pl.Float64),
            pl.Series("age_years", age_years, dtype=pl.Int64),
            pl.Series("mileage_km", mileage, dtype=pl.Int64),
            pl.Series("residual_36m", residual, dtype=pl.Float64),
        ]
    )


def _protected(
    world: PopulationWorld,
    seg: IntArray,
    ids: npt.NDArray[np.int64],
    rng: np.random.Generator,
    age: npt.NDArray[np.int64],
) -> pl.DataFrame:
    n = int(seg.shape[0])
    specs = [s.protected for s in world.segments]
    female = rng.random(n) < _gather([p.female_share for p in specs])[seg]
    band = np.searchsorted(_AGE_BAND_EDGES, age, side="right").astype(np.intp)
    if world.jurisdiction == "CN":
        ethnicity = pl.Series("ethnicity", [None] * n, dtype=pl.String)
    else:
        groups: list[str] = []
        for p in specs:
            groups.extend(g for g in (p.ethnicity or {}) if g not in groups)
        probs = _prob_matrix([p.ethnicity or {} for p in specs], groups)
        ethnicity = _strings("ethnicity", groups, _categorical(rng, probs, seg))
    return pl.DataFrame(
        [
            pl.Series("applicant_id", ids, dtype=pl.Int64),
            _strings("gender", GENDERS, female.astype(np.intp)),
            _strings("age_band", AGE_BANDS, band),
            ethnicity,
        ]
    )
