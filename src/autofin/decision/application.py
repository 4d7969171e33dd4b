"""The application a dealer or customer submits, validated at the boundary.

An :class:`Application` is the applicant, the vehicle and the customer's wishes (budget, down payment,
term, ownership, services), the optional bureau block the platform pulls (:class:`Bureau`), with the
currency, the jurisdiction, an optional idempotency key and the submission time. Every model is a
frozen pydantic model that forbids unknown keys, so a bad request is refused *before* anything is
scored, priced or stored: :func:`parse_application` raises one
:class:`autofin.errors.ValidationError` naming the dotted field (``applicant.monthly_income``), the
value and the rule broken, and no decision record is ever written for it.

Field names are the ones the rest of autofin reads: the applicant frame's columns
(:mod:`autofin.data.schemas`; the rule segment scheme reads them), the quoting vocabulary
(:class:`~autofin.catalog.quote_types.ApplicantInfo`, :class:`~autofin.catalog.quote_types.VehicleInfo`,
:class:`~autofin.catalog.quote_types.StructureRequest`), affordability
(:class:`~autofin.decision.affordability.AffordabilityApplicant`) and the policy tables
(:data:`~autofin.decision.policy.CONTEXT_FIELDS`). The converters :func:`to_quote_inputs`,
:func:`to_structure_request`, :func:`to_policy_context`, :func:`to_segment_row` and
:func:`to_affordability` hand those modules exactly what they take. The guide is
docs/decisions-application.md.

Units: money in the application's ``currency`` (major units, ``Decimal``, at most two decimals);
monthly amounts per calendar month; ages and vehicle ages in completed years; tenures and terms in
months; mileage in kilometres; shares as fractions (``0.2`` = 20 %).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from autofin.catalog.loader import CatalogueExtras
from autofin.catalog.models import Catalogue, Channel, Condition_, CustomerType, Powertrain, Use, VehicleClass
from autofin.catalog.quote_types import ApplicantInfo, Quote, StructureRequest, VehicleInfo
from autofin.data.schemas import REGIONS_CN
from autofin.decision.affordability import AffordabilityApplicant, AffordabilityContract
from autofin.errors import ValidationError, from_pydantic
from autofin.money import CURRENCIES

__all__ = [
    "JURISDICTION_CURRENCY",
    "NEW_MAX_MILEAGE_KM",
    "PRICE_TO_MSRP_MAX",
    "Applicant",
    "Application",
    "Bureau",
    "Vehicle",
    "Wishes",
    "check_currency",
    "check_known_vehicle",
    "check_services",
    "parse_application",
    "to_affordability",
    "to_policy_context",
    "to_quote_inputs",
    "to_segment_row",
    "to_structure_request",
]

Area = Literal["urban", "suburban", "rural"]
EmploymentType = Literal["salaried", "self_employed", "civil_servant", "business_owner", "retired", "other"]
ResidenceType = Literal["own", "mortgage", "rent", "family"]
Jurisdiction = Literal["CN", "US"]
OwnershipPreference = Literal["loan", "balloon", "lease", "any"]

#: The currency of each jurisdiction (the jurisdiction packs' ``currency``); used when no catalogue
#: is given. With a catalogue, :func:`check_currency` reads the pack itself.
JURISDICTION_CURRENCY: Final[Mapping[str, str]] = {"CN": "CNY", "US": "USD"}
#: A "new" car may have delivery and test-drive kilometres, but fewer than this (km).
NEW_MAX_MILEAGE_KM: Final = 1_000
#: Sanity factor: the agreed price may be at most this multiple of the MSRP (dealer add-ons and
#: market premiums stay well below; a price of 10× MSRP is a typo).
PRICE_TO_MSRP_MAX: Final = Decimal("1.5")

_US_REGION: Final = re.compile(r"^(?:US-)?([A-Z]{2})$")

#: Money: non-negative Decimal with at most two decimals (CNY and USD have two minor units), finite.
Money = Annotated[Decimal, Field(ge=0, decimal_places=2, allow_inf_nan=False)]
PositiveMoney = Annotated[Decimal, Field(gt=0, decimal_places=2, allow_inf_nan=False)]


class _FieldError(ValueError):
    """A cross-field rule broken inside a model validator, naming the field relative to that model."""

    def __init__(self, field: str, value: Any, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Applicant(_Model):
    """The applicant, in the applicant frame's column names.

    ``age`` in completed years (18–100); ``region`` the CN city tier (``tier1`` … ``tier4``) or the
    US state code (``TX``; ``US-TX`` is accepted and stored as ``TX``); ``city`` free text for the
    record. ``monthly_income`` is gross income per month (> 0) and ``monthly_debt_payments`` existing
    debt payments per month (≥ 0), both in the application's currency. Tenures in months.
    ``household_size`` is the number of people the income supports (default ``dependents + 1``).
    ``bureau_score`` 300–900, null when there is no bureau score: ``no_file`` (no bureau file) then
    requires a null score, and a null score requires ``no_file`` or ``thin_file``. ``resident``: a
    resident of the lending jurisdiction. ``income_verified``, ``fraud_flag``, ``bankruptcy_flag`` and
    ``watchlist_hit`` are set by the platform's checks (identity, bureau, sanctions), not by the
    dealer; they default to false.
    """

    customer_type: CustomerType = "individual"
    age: Annotated[int, Field(ge=18, le=100)]
    region: Annotated[str, Field(min_length=2, max_length=10)]
    city: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    area: Area
    channel: Channel = "dealer"
    monthly_income: PositiveMoney
    monthly_debt_payments: Money = Decimal(0)
    employment_type: EmploymentType
    employment_tenure_months: Annotated[int, Field(ge=0, le=1200)]
    residence_type: ResidenceType
    residence_tenure_months: Annotated[int, Field(ge=0, le=1200)] = 0
    dependents: Annotated[int, Field(ge=0, le=10)] = 0
    household_size: Annotated[int, Field(ge=1, le=30)] | None = None
    first_time_buyer: bool = False
    bureau_score: Annotated[int, Field(ge=300, le=900)] | None = None
    no_file: bool = False
    thin_file: bool = False
    resident: bool
    income_verified: bool = False
    fraud_flag: bool = False
    bankruptcy_flag: bool = False
    watchlist_hit: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.no_file and self.bureau_score is not None:
            raise _FieldError("bureau_score", self.bureau_score, "must be null when no_file is true")
        if self.no_file and self.thin_file:
            raise _FieldError("thin_file", True, "an applicant with no file cannot have a thin file")
        if self.bureau_score is None and not (self.no_file or self.thin_file):
            raise _FieldError(
                "bureau_score", None, "is required unless no_file or thin_file is true (no bureau score)"
            )
        months_of_life = self.age * 12
        for name in ("employment_tenure_months", "residence_tenure_months"):
            if getattr(self, name) > months_of_life:
                raise _FieldError(
                    name, getattr(self, name), f"cannot exceed the applicant's age ({self.age} years)"
                )
        if self.household_size is not None and self.household_size < self.dependents + 1:
            raise _FieldError(
                "household_size",
                self.household_size,
                f"must be at least dependents + 1 ({self.dependents + 1})",
            )
        return self

    @property
    def household(self) -> int:
        """People the income supports: ``household_size``, or ``dependents + 1`` when not given."""
        return self.household_size if self.household_size is not None else self.dependents + 1


class Vehicle(_Model):
    """The vehicle to finance.

    ``price`` is the agreed selling price and ``msrp`` the list price, both > 0 in the application's
    currency; ``price`` may be at most :data:`PRICE_TO_MSRP_MAX` × ``msrp``. ``age_years`` in
    completed years (0–25), ``mileage_km`` in km. A new car has age 0 and fewer than
    :data:`NEW_MAX_MILEAGE_KM` km. ``inventory_age_days``: days on the dealer's lot (promotions).
    """

    condition: Condition_
    vehicle_class: VehicleClass
    powertrain: Powertrain
    use: Use = "passenger"
    brand: Annotated[str, Field(min_length=1, max_length=60)]
    model: Annotated[str, Field(min_length=1, max_length=60)]
    price: PositiveMoney
    msrp: PositiveMoney
    age_years: Annotated[int, Field(ge=0, le=25)] = 0
    mileage_km: Annotated[int, Field(ge=0, le=2_000_000)] = 0
    inventory_age_days: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.condition == "new":
            if self.age_years != 0:
                raise _FieldError("age_years", self.age_years, "must be 0 for a new car")
            if self.mileage_km >= NEW_MAX_MILEAGE_KM:
                raise _FieldError(
                    "mileage_km", self.mileage_km, f"must be below {NEW_MAX_MILEAGE_KM:,} km for a new car"
                )
        if self.price > self.msrp * PRICE_TO_MSRP_MAX:
            raise _FieldError(
                "price", str(self.price), f"must be at most {PRICE_TO_MSRP_MAX} × msrp ({self.msrp})"
            )
        return self


class Wishes(_Model):
    """What the customer asks for.

    ``budget_monthly_payment``: the most the customer wants to pay per month (> 0; optional).
    ``down_payment`` (currency units, ≥ 0) or ``down_payment_pct`` (fraction of the price, 0 ≤ x < 1),
    not both; neither means the product's minimum. ``term_months``: 1–120. ``ownership``: ``loan``
    (own outright), ``balloon`` (loan with a final balloon), ``lease`` or ``any``. ``balloon_pct``:
    the balloon wished, as a fraction of the price (0 < x < 1; only with ownership ``balloon`` or
    ``any``; none means the product's default balloon). ``services``: catalogue service ids wanted
    (checked against the catalogue when one is given).
    """

    budget_monthly_payment: PositiveMoney | None = None
    down_payment: Money | None = None
    down_payment_pct: Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    term_months: Annotated[int, Field(ge=1, le=120)]
    ownership: OwnershipPreference = "any"
    balloon_pct: Annotated[Decimal, Field(gt=0, lt=1, allow_inf_nan=False)] | None = None
    services: tuple[Annotated[str, Field(min_length=1)], ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.down_payment is not None and self.down_payment_pct is not None:
            raise _FieldError(
                "down_payment_pct",
                str(self.down_payment_pct),
                "give down_payment or down_payment_pct, not both",
            )
        if len(set(self.services)) != len(self.services):
            raise _FieldError("services", list(self.services), "must not repeat a service")
        if self.balloon_pct is not None and self.ownership not in ("balloon", "any"):
            raise _FieldError(
                "balloon_pct",
                str(self.balloon_pct),
                f"a balloon needs ownership balloon or any (got {self.ownership})",
            )
        return self


class Bureau(_Model):
    """Credit-bureau attributes from the platform's bureau pull (not entered by the dealer).

    ``inquiries_6m``: hard inquiries in the last 6 months (count, ≥ 0); ``delinquencies_24m``:
    delinquent payments in the last 24 months (count, ≥ 0); ``revolving_utilisation``: revolving
    balances / revolving limits as a fraction (0–5; above 1 = over the limit). Each is optional
    (null = the bureau did not report it). The bureau score and the thin/no-file flags stay on
    :class:`Applicant` (``bureau_score``, ``thin_file``, ``no_file``), where the segment scheme and
    the policy tables read them. Names and units are those of the ``bureau`` table
    (:mod:`autofin.data.schemas`).
    """

    inquiries_6m: Annotated[int, Field(ge=0)] | None = None
    delinquencies_24m: Annotated[int, Field(ge=0)] | None = None
    revolving_utilisation: Annotated[Decimal, Field(ge=0, le=5, allow_inf_nan=False)] | None = None


class Application(_Model):
    """One application: applicant, vehicle and wishes, in one ``currency`` of one ``jurisdiction``.

    ``currency`` is the ISO 4217 code and must be the jurisdiction's (CN → CNY, US → USD; with a
    catalogue, :func:`check_currency` checks the pack's). ``application_id`` is an optional
    idempotency key (letters, digits, ``._:-``, up to 64): the same key twice is the same application.
    ``submitted_at`` is a timezone-aware timestamp. ``bureau`` is the platform's bureau pull
    (:class:`Bureau`; null when none was made — the risk score then treats those attributes as missing).
    """

    applicant: Applicant
    vehicle: Vehicle
    wishes: Wishes
    bureau: Bureau | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    jurisdiction: Jurisdiction
    application_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] | None = None
    submitted_at: AwareDatetime

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"unknown currency; must be one of {', '.join(sorted(CURRENCIES))}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        expected = JURISDICTION_CURRENCY[self.jurisdiction]
        if self.currency != expected:
            raise _FieldError(
                "currency",
                self.currency,
                f"must be {expected}, the currency of jurisdiction {self.jurisdiction}",
            )
        region = self.applicant.region
        if self.jurisdiction == "CN" and region not in REGIONS_CN:
            raise _FieldError("applicant.region", region, f"must be a CN city tier: {', '.join(REGIONS_CN)}")
        if self.jurisdiction == "US":
            m = _US_REGION.match(region)
            if m is None:
                raise _FieldError("applicant.region", region, "must be a US state code such as TX (or US-TX)")
            if m.group(1) != region:
                applicant = self.applicant.model_copy(update={"region": m.group(1)})
                object.__setattr__(self, "applicant", applicant)
        w, v = self.wishes, self.vehicle
        if w.down_payment is not None and w.down_payment >= v.price:
            raise _FieldError(
                "wishes.down_payment", str(w.down_payment), f"must be below the vehicle price ({v.price})"
            )
        return self

    @property
    def down_payment_amount(self) -> Decimal | None:
        """The requested down payment in currency units (from the share if given that way; rounded
        half-up to the cent), or ``None`` when the customer left it to the product."""
        w = self.wishes
        if w.down_payment is not None:
            return w.down_payment
        if w.down_payment_pct is not None:
            from autofin.money import round_money

            return round_money(self.vehicle.price * w.down_payment_pct, self.currency)
        return None


# -- parsing -----------------------------------------------------------------------------------------


def _from_pydantic(exc: PydanticValidationError) -> ValidationError:
    """autofin's error for pydantic's first error, with the true dotted path for cross-field rules."""
    err = exc.errors(include_url=False)[0]
    base = from_pydantic(exc)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):
        prefix = ".".join(str(p) for p in err["loc"])
        field = f"{prefix}.{cause.field}" if prefix else cause.field
        return ValidationError(field, cause.value, cause.rule)
    if err["type"] == "missing":
        return ValidationError(base.field, None, "is required")
    if err["type"] == "extra_forbidden":
        return ValidationError(base.field, base.value, "is not a field of the application (unknown key)")
    return base


def parse_application(
    data: Any,
    *,
    catalogue: Catalogue | None = None,
    extras: CatalogueExtras | None = None,
) -> Application:
    """Validate ``data`` (a mapping, a JSON string or bytes, or an :class:`Application`) into an
    :class:`Application`.

    With ``catalogue``: the currency must be the jurisdiction pack's (:func:`check_currency`) and the
    wanted services must exist and belong to the jurisdiction (:func:`check_services`). With
    ``extras``: the brand and model must be in ``known_models`` (:func:`check_known_vehicle`).
    Raises :class:`autofin.errors.ValidationError` naming the first bad field (dotted path).
    """
    try:
        if isinstance(data, Application):
            app = data
        elif isinstance(data, str | bytes | bytearray):
            app = Application.model_validate_json(data)
        else:
            app = Application.model_validate(data)
    except PydanticValidationError as exc:
        raise _from_pydantic(exc) from None
    if catalogue is not None:
        check_currency(app, catalogue)
        check_services(app, catalogue)
    if extras is not None:
        check_known_vehicle(app, extras.known_models)
    return app


def check_currency(application: Application, catalogue: Catalogue) -> None:
    """Refuse an application whose currency is not the currency of its jurisdiction's pack in
    ``catalogue`` (field ``currency``), or whose jurisdiction the catalogue has no pack for
    (field ``jurisdiction``)."""
    pack = catalogue.jurisdictions.get(application.jurisdiction)
    if pack is None:
        known = ", ".join(sorted(catalogue.jurisdictions)) or "none"
        raise ValidationError(
            "jurisdiction", application.jurisdiction, f"the catalogue has no pack for it (known: {known})"
        )
    if application.currency != pack.currency:
        raise ValidationError(
            "currency",
            application.currency,
            f"must be {pack.currency}, the currency of jurisdiction {pack.id} "
            f"in catalogue {catalogue.version}",
        )


def check_services(application: Application, catalogue: Catalogue) -> None:
    """Refuse a wanted service the catalogue does not have, or one in another currency
    (field ``wishes.services.<i>``, the known ids listed)."""
    for i, sid in enumerate(application.wishes.services):
        service = catalogue.services.get(sid)
        usable = sorted(s.id for s in catalogue.services.values() if s.currency == application.currency)
        if service is None or service.currency != application.currency:
            raise ValidationError(
                f"wishes.services.{i}",
                sid,
                f"unknown service for {application.jurisdiction}; known: {', '.join(usable) or 'none'}",
            )


def check_known_vehicle(application: Application, known_models: Mapping[str, Sequence[str]]) -> None:
    """Refuse a vehicle whose brand or model the catalogue does not know.

    ``known_models`` maps brand → model names (``catalogue.yaml``; :class:`CatalogueExtras`).
    Brands and models match case-insensitively. An unknown brand is reported on ``vehicle.brand``
    with the known brands listed; a known brand with an unknown model on ``vehicle.model`` with that
    brand's models listed. An empty ``known_models`` checks nothing (the class and powertrain are
    already checked against their categories).
    """
    if not known_models:
        return
    v = application.vehicle
    brands = {b.casefold(): b for b in known_models}
    brand = brands.get(v.brand.strip().casefold())
    if brand is None:
        raise ValidationError(
            "vehicle.brand", v.brand, f"unknown brand; known brands: {', '.join(sorted(known_models))}"
        )
    models = list(known_models[brand])
    if v.model.strip().casefold() not in {m.casefold() for m in models}:
        raise ValidationError(
            "vehicle.model", v.model, f"unknown model of {brand}; known models: {', '.join(models)}"
        )


# -- converters --------------------------------------------------------------------------------------


def to_quote_inputs(app: Application, *, segments: Sequence[str] = ()) -> tuple[ApplicantInfo, VehicleInfo]:
    """The quoting inputs: :class:`ApplicantInfo` (with the catalogue ``segments`` the applicant is
    in, e.g. the rule scheme's strategy segment) and :class:`VehicleInfo`. Amounts in currency units."""
    a, v = app.applicant, app.vehicle
    applicant = ApplicantInfo(
        customer_type=a.customer_type,
        segments=list(segments),
        channel=a.channel,
        region=a.region,
        bureau_score=a.bureau_score,
        age=a.age,
    )
    vehicle = VehicleInfo(
        brand=v.brand,
        model=v.model,
        condition=v.condition,
        vehicle_class=v.vehicle_class,
        powertrain=v.powertrain,
        use=v.use,
        msrp=v.msrp,
        price=v.price,
        age_years=v.age_years,
        inventory_age_days=v.inventory_age_days,
    )
    return applicant, vehicle


def to_structure_request(
    app: Application, *, start_date: date | None = None, finance_services: bool = True
) -> StructureRequest:
    """The requested structure for quoting: term, down payment (amount or share) and services.
    ``start_date`` defaults to the submission date."""
    w = app.wishes
    return StructureRequest(
        term=w.term_months,
        down_payment=w.down_payment,
        down_payment_pct=w.down_payment_pct,
        services=list(w.services),
        finance_services=finance_services,
        start_date=start_date if start_date is not None else app.submitted_at.date(),
    )


def to_policy_context(
    app: Application,
    *,
    score: int | float | Decimal,
    segment: str,
    amount_financed: Decimal,
    income_verified: bool | None = None,
) -> dict[str, Any]:
    """The context the policy tables read: exactly the keys of
    :data:`autofin.decision.policy.CONTEXT_FIELDS`.

    ``score`` is the application credit score in scorecard points (from the risk model); ``segment``
    the catalogue segment key (the rule scheme's ``strategy`` dimension); ``amount_financed`` the amount
    requested in the application's currency. ``thin_file`` is true for a thin *or* absent bureau file.
    ``income_verified`` overrides the applicant's flag (e.g. after an electronic check).
    """
    a = app.applicant
    return {
        "age_at_application": a.age,
        "is_resident": a.resident,
        "fraud_flag": a.fraud_flag,
        "bankruptcy_flag": a.bankruptcy_flag,
        "watchlist_hit": a.watchlist_hit,
        "thin_file": a.thin_file or a.no_file,
        "income_verified": a.income_verified if income_verified is None else income_verified,
        "amount_financed": amount_financed,
        "segment": segment,
        "score": score,
        "customer_type": a.customer_type,
    }


def to_segment_row(app: Application) -> dict[str, Any]:
    """One row of the applicant frame (columns of :mod:`autofin.data.schemas` ``applicants``,
    ``bureau`` and ``vehicles`` that an application carries), for
    :meth:`autofin.segments.rules.SegmentScheme.assign`. Money as float currency units (the frame is
    analytics data); ``bureau_score`` None for no score."""
    a, v = app.applicant, app.vehicle
    return {
        "region": a.region,
        "area": a.area,
        "channel": a.channel,
        "customer_type": a.customer_type,
        "age": a.age,
        "monthly_income": float(a.monthly_income),
        "employment_type": a.employment_type,
        "employment_tenure_months": a.employment_tenure_months,
        "residence_type": a.residence_type,
        "residence_tenure_months": a.residence_tenure_months,
        "dependents": a.dependents,
        "first_time_buyer": a.first_time_buyer,
        "bureau_score": a.bureau_score,
        "thin_file": a.thin_file,
        "no_file": a.no_file,
        "monthly_debt_payments": float(a.monthly_debt_payments),
        "condition": v.condition,
        "vehicle_class": v.vehicle_class,
        "powertrain": v.powertrain,
        "use": v.use,
        "brand": v.brand,
        "msrp": float(v.msrp),
        "price": float(v.price),
        "age_years": v.age_years,
        "mileage_km": v.mileage_km,
    }


def to_affordability(
    app: Application,
    *,
    amount_financed: Decimal,
    monthly_payment: Decimal,
    term_months: int | None = None,
    balloon: Decimal = Decimal(0),
    down_payment: Decimal | None = None,
) -> tuple[AffordabilityApplicant, AffordabilityContract]:
    """The affordability inputs for a priced contract on this application.

    ``amount_financed`` (incl. financed add-ons), ``monthly_payment`` (highest regular instalment),
    ``balloon`` and ``down_payment`` in the application's currency; ``term_months`` defaults to the
    wished term and ``down_payment`` to the wished one (0 when left to the product).
    """
    a, v = app.applicant, app.vehicle
    if down_payment is None:
        down_payment = app.down_payment_amount or Decimal(0)
    applicant = AffordabilityApplicant(
        monthly_income=a.monthly_income,
        age=a.age,
        monthly_debt_payments=a.monthly_debt_payments,
        household_size=a.household,
        region=a.region,
        no_file=a.no_file,
        thin_file=a.thin_file,
    )
    contract = AffordabilityContract(
        amount_financed=amount_financed,
        vehicle_price=v.price,
        term_months=term_months if term_months is not None else app.wishes.term_months,
        monthly_payment=monthly_payment,
        use=v.use,
        condition=v.condition,
        powertrain=v.powertrain,
        balloon=balloon,
        down_payment=down_payment,
    )
    return applicant, contract


def quote_affordability(app: Application, q: Quote) -> tuple[AffordabilityApplicant, AffordabilityContract]:
    """The affordability inputs of an exact quote on this application: its amount financed, highest
    regular instalment, term and down payment, and its balloon or residual when that is a final payment
    below the amount financed (a lease residual above it is not owed by the lessee)."""
    balloon = q.balloon_or_residual if q.balloon_or_residual < q.amount_financed else Decimal(0)
    return to_affordability(
        app,
        amount_financed=q.amount_financed,
        monthly_payment=q.monthly_payment,
        term_months=q.term,
        balloon=balloon,
        down_payment=q.down_payment,
    )
