"""Declared schemas of every table autofin.data writes or loads (pandera, polars backend).

Each table is validated on write and on load (:func:`validate`). Amounts are in the world's currency
(major units, floats: this is analytics data, not contract maths); rates are annual decimals; dates
are calendar dates. Protected attributes live in their own table (:class:`Protected`) so that no
model can read them by accident: :data:`PROTECTED_COLUMNS` lists them and
:func:`assert_no_protected` rejects any feature list that contains one.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandera.polars as pa
import polars as pl

from autofin.errors import ValidationError

REGIONS_CN: Final = ("tier1", "tier2", "tier3", "tier4")
AREAS: Final = ("urban", "suburban", "rural")
CHANNELS: Final = ("dealer", "online", "branch")
CUSTOMER_TYPES: Final = ("individual", "small_business", "fleet", "government")
EMPLOYMENT_TYPES: Final = ("salaried", "self_employed", "civil_servant", "business_owner", "retired", "other")
RESIDENCE_TYPES: Final = ("own", "mortgage", "rent", "family")
CONDITIONS: Final = ("new", "used")
VEHICLE_CLASSES: Final = ("economy", "mid", "luxury")
POWERTRAINS: Final = ("ice", "hybrid", "nev")
USES: Final = ("passenger", "commercial")
PRODUCTS: Final = ("loan", "balloon", "lease")
STATUSES: Final = ("current", "dpd30", "dpd60", "dpd90", "default", "prepaid", "matured", "recovered")
#: Kinds of value-added service (the values of ``autofin.catalog.models.ServiceKind``; ``data`` sits
#: above ``catalog`` in the package layering, so the names are repeated here and a test holds them equal).
SERVICE_KINDS: Final = (
    "comprehensive_insurance",
    "gap_insurance",
    "credit_life",
    "maintenance",
    "extended_warranty",
    "roadside",
    "designated_driver",
)
PROTECTED_COLUMNS: Final = frozenset({"gender", "age_band", "ethnicity"})


class Applicants(pa.DataFrameModel):
    """One row per application. ``monthly_income`` is gross monthly income in currency units."""

    applicant_id: int = pa.Field(ge=0, unique=True)
    application_date: dt.date
    region: str
    area: str = pa.Field(isin=AREAS)
    channel: str = pa.Field(isin=CHANNELS)
    customer_type: str = pa.Field(isin=CUSTOMER_TYPES)
    age: int = pa.Field(ge=18, le=90)
    monthly_income: float = pa.Field(gt=0)
    employment_type: str = pa.Field(isin=EMPLOYMENT_TYPES)
    employment_tenure_months: int = pa.Field(ge=0)
    residence_type: str = pa.Field(isin=RESIDENCE_TYPES)
    residence_tenure_months: int = pa.Field(ge=0)
    dependents: int = pa.Field(ge=0, le=10)
    first_time_buyer: bool

    class Config:
        strict = True


class Bureau(pa.DataFrameModel):
    """Credit bureau attributes at application. ``bureau_score`` is null for no-file applicants."""

    applicant_id: int = pa.Field(ge=0, unique=True)
    bureau_score: int | None = pa.Field(ge=300, le=900, nullable=True)
    inquiries_6m: int = pa.Field(ge=0)
    delinquencies_24m: int = pa.Field(ge=0)
    revolving_utilisation: float = pa.Field(ge=0, le=1.5)
    thin_file: bool
    no_file: bool
    monthly_debt_payments: float = pa.Field(ge=0)

    class Config:
        strict = True


class Vehicles(pa.DataFrameModel):
    """The vehicle each applicant wants to finance. Prices in currency units; ``age_years`` and
    ``mileage_km`` are 0 for new cars; ``residual_36m`` is the expected value after 36 months as a
    fraction of ``price`` (from the world's depreciation curve)."""

    applicant_id: int = pa.Field(ge=0, unique=True)
    condition: str = pa.Field(isin=CONDITIONS)
    vehicle_class: str = pa.Field(isin=VEHICLE_CLASSES)
    powertrain: str = pa.Field(isin=POWERTRAINS)
    use: str = pa.Field(isin=USES)
    brand: str
    msrp: float = pa.Field(gt=0)
    invoice: float = pa.Field(gt=0)
    price: float = pa.Field(gt=0)
    age_years: int = pa.Field(ge=0, le=25)
    mileage_km: int = pa.Field(ge=0)
    residual_36m: float = pa.Field(gt=0, lt=1)

    class Config:
        strict = True


class Protected(pa.DataFrameModel):
    """Protected attributes, generated only to test fairness. Never a model input."""

    applicant_id: int = pa.Field(ge=0, unique=True)
    gender: str = pa.Field(isin=("female", "male"))
    age_band: str = pa.Field(isin=("18-24", "25-34", "35-44", "45-54", "55-64", "65+"))
    ethnicity: str | None = pa.Field(nullable=True)

    class Config:
        strict = True


class Quotes(pa.DataFrameModel):
    """Offers shown to applicants and whether each was taken (at most one per applicant)."""

    quote_id: int = pa.Field(ge=0, unique=True)
    applicant_id: int = pa.Field(ge=0)
    product: str = pa.Field(isin=PRODUCTS)
    annual_rate: float = pa.Field(ge=0, lt=1)
    term_months: int = pa.Field(ge=6, le=96)
    down_payment: float = pa.Field(ge=0)
    balloon: float = pa.Field(ge=0)
    amount_financed: float = pa.Field(gt=0)
    monthly_payment: float = pa.Field(gt=0)
    taken: bool

    class Config:
        strict = True


class Loans(pa.DataFrameModel):
    """Booked contracts (loans and leases). ``ltv`` = amount financed / price; ``pti`` = payment /
    monthly income; ``dti`` = (payment + existing debt payments) / monthly income."""

    loan_id: int = pa.Field(ge=0, unique=True)
    applicant_id: int = pa.Field(ge=0, unique=True)
    quote_id: int = pa.Field(ge=0, unique=True)
    product: str = pa.Field(isin=PRODUCTS)
    origination_date: dt.date
    vintage: str = pa.Field(str_matches=r"^\d{4}-\d{2}$")
    amount_financed: float = pa.Field(gt=0)
    annual_rate: float = pa.Field(ge=0, lt=1)
    term_months: int = pa.Field(ge=6, le=96)
    monthly_payment: float = pa.Field(gt=0)
    balloon: float = pa.Field(ge=0)
    ltv: float = pa.Field(gt=0)
    pti: float = pa.Field(gt=0)
    dti: float = pa.Field(gt=0)

    class Config:
        strict = True


class Performance(pa.DataFrameModel):
    """Monthly performance of each booked loan until it closes or the observation ends.

    ``month_on_book`` starts at 1; ``balance`` is the outstanding principal at the month's end;
    ``days_past_due`` at the month's end; ``payment`` received this month (scheduled part),
    ``prepayment`` (partial or full), ``default_amount`` (balance charged off when the loan defaults),
    ``recovery`` (cash recovered, after the repossession lag).
    """

    loan_id: int = pa.Field(ge=0)
    month_on_book: int = pa.Field(ge=1, le=120)
    period: dt.date
    status: str = pa.Field(isin=STATUSES)
    days_past_due: int = pa.Field(ge=0)
    balance: float = pa.Field(ge=0)
    payment: float = pa.Field(ge=0)
    prepayment: float = pa.Field(ge=0)
    default_amount: float = pa.Field(ge=0)
    recovery: float = pa.Field(ge=0)

    class Config:
        strict = True


class Services(pa.DataFrameModel):
    """Value-added services attached to booked loans: one row per loan and attached service.

    ``service`` is a service kind (:data:`SERVICE_KINDS`); ``price`` is what the customer pays for it,
    in currency units (rounded to cents). A loan with no service has no row.
    """

    loan_id: int = pa.Field(ge=0)
    service: str = pa.Field(isin=SERVICE_KINDS)
    price: float = pa.Field(ge=0)

    class Config:
        strict = True
        unique = ["loan_id", "service"]  # noqa: RUF012 - pandera reads a plain list


TABLES: Final[dict[str, type[pa.DataFrameModel]]] = {
    "applicants": Applicants,
    "bureau": Bureau,
    "vehicles": Vehicles,
    "protected": Protected,
    "quotes": Quotes,
    "loans": Loans,
    "performance": Performance,
    "services": Services,
}


def validate(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Check ``frame`` against the declared schema of table ``name``; raise ValidationError naming it."""
    model = TABLES.get(name)
    if model is None:
        raise ValidationError("table", name, f"must be one of {', '.join(TABLES)}")
    try:
        return model.validate(frame)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as exc:
        raise ValidationError(f"{name}", type(exc).__name__, str(exc).splitlines()[0]) from None


def assert_no_protected(features: list[str] | tuple[str, ...]) -> None:
    """Refuse a model feature list that names a protected attribute."""
    bad = sorted(PROTECTED_COLUMNS.intersection(features))
    if bad:
        raise ValidationError("features", bad, "must not include protected attributes")
