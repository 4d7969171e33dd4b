"""What a catalogue *is*: products, rate tables, value-added services and promotions, as typed data.

Product managers write these as YAML files (see docs/catalogue.md); :mod:`autofin.catalog.loader`
validates them into the models below, and :mod:`autofin.catalog.quote` turns a product, a vehicle and a
requested structure into an exact contract through :mod:`autofin.finance`.

Conventions: amounts are ``Decimal`` in the product's currency (major units); rates and percentages are
decimals (``0.0399``, ``0.20``); terms are numbers of monthly instalments; dates are ISO dates. Every
model is frozen and rejects unknown keys, so a misspelt field is an error, not a silent default.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autofin.dates import DayCount
from autofin.finance.terms import (
    Fee,
    GraceKind,
    InterestMethod,
    PaymentTiming,
    PrepaymentPenalty,
    Repayment,
    Steps,
)

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", min_length=2, max_length=80)]
Pct = Annotated[Decimal, Field(ge=0, le=1)]
Money = Annotated[Decimal, Field(ge=0)]
Rate = Annotated[Decimal, Field(ge=0, lt=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Localized(_Model):
    """Text in English and Simplified Chinese (both required: the platform serves both)."""

    en: Annotated[str, Field(min_length=1)]
    zh_cn: Annotated[str, Field(min_length=1, alias="zh-CN")]


class DateRange(_Model):
    """An effective or validity window, inclusive; ``to`` may be open."""

    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Range(_Model):
    """A closed interval; either bound may be open (``None``)."""

    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("max must not be below min")
        return self

    def contains(self, value: Decimal | int | float) -> bool:
        # A Decimal or an int compares with the bounds exactly as ``Decimal(str(value))`` does (the
        # same value), so only other types (floats: by their ``str``) go through the conversion.
        t = type(value)
        v = value if t is Decimal or t is int else Decimal(str(value))
        return (self.min is None or v >= self.min) and (self.max is None or v <= self.max)


Condition_ = Literal["new", "used"]
VehicleClass = Literal["economy", "mid", "luxury"]
Powertrain = Literal["ice", "hybrid", "nev"]
Use = Literal["passenger", "commercial"]
CustomerType = Literal["individual", "small_business", "fleet", "government"]
Channel = Literal["dealer", "online", "branch"]
ProductKind = Literal["loan", "lease"]


class VehicleFilter(_Model):
    """Which vehicles qualify. An omitted field means "any"."""

    condition: list[Condition_] | None = None
    vehicle_class: list[VehicleClass] | None = None
    powertrain: list[Powertrain] | None = None
    use: list[Use] | None = None
    brands: list[str] | None = None
    models: list[str] | None = None
    price: Range | None = None
    max_age_years: Annotated[int, Field(ge=0)] | None = None


class Eligibility(_Model):
    """Who and what may take a product, service or promotion. An omitted field means "any"."""

    customer_types: list[CustomerType] | None = None
    segments: list[str] | None = None
    channels: list[Channel] | None = None
    regions: list[str] | None = None
    applicant_age: Range | None = None
    min_bureau_score: Annotated[int, Field(ge=300, le=900)] | None = None
    vehicle: VehicleFilter | None = None


class RateSource(_Model):
    """Where a product's rate comes from: a tier table (by score, term, condition, LTV) or a fixed rate."""

    table: Id | None = None
    fixed: Rate | None = None
    margin: Annotated[Decimal, Field(ge=-1, le=1)] = Decimal(0)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.table is None) == (self.fixed is None):
            raise ValueError("give exactly one of table, fixed")
        return self


class BalloonRule(_Model):
    """The balloon / final payment a customer may choose, as a fraction of the vehicle price."""

    min_pct_of_price: Pct = Decimal(0)
    max_pct_of_price: Pct
    default_pct_of_price: Pct | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_pct_of_price < self.min_pct_of_price:
            raise ValueError("max_pct_of_price must not be below min_pct_of_price")
        d = self.default_pct_of_price
        if d is not None and not self.min_pct_of_price <= d <= self.max_pct_of_price:
            raise ValueError("default_pct_of_price must lie within min and max")
        return self


class GraceOption(_Model):
    """A grace period the customer may ask for: its kind and at most how many periods."""

    kind: GraceKind
    max_periods: Annotated[int, Field(ge=1, le=24)]


class EarlySettlement(_Model):
    """Early settlement terms: the first instalment after which it is allowed, and any penalty."""

    allowed_after_instalments: Annotated[int, Field(ge=0)] = 0
    penalty: PrepaymentPenalty | None = None


class ConditionKind(StrEnum):
    GUARANTOR = "guarantor"
    GPS_DEVICE = "gps_device"
    PROOF_OF_INCOME = "proof_of_income"
    BUSINESS_LICENCE = "business_licence"
    COMPREHENSIVE_INSURANCE = "comprehensive_insurance"


class ConditionWhen(_Model):
    """When a condition applies (all given clauses must hold; none given = always)."""

    amount_financed_above: Money | None = None
    ltv_above: Annotated[Decimal, Field(gt=0, le=Decimal("1.5"))] | None = None
    vehicle: VehicleFilter | None = None
    customer_types: list[CustomerType] | None = None


class ProductCondition(_Model):
    """A condition attached to an offer (a guarantor above an amount, a GPS device for used trucks…)."""

    kind: ConditionKind
    when: ConditionWhen = ConditionWhen()
    note: Localized | None = None


class ServicePolicy(_Model):
    """Which value-added services a product may carry, and whether they may be financed."""

    allowed: list[Id] | None = None  # None: every service whose own eligibility matches
    financeable: bool = True
    max_financed_pct_of_price: Pct = Decimal("0.10")


class LeaseSpec(_Model):
    """How a lease product is computed.

    ``closed_end``: a US consumer lease (Regulation M), residual as a fraction of MSRP by term, the
    rate converted to a money factor. ``finance``: a finance lease (融资租赁) with rents in advance and
    a purchase-option price at the end.
    """

    type: Literal["closed_end", "finance"]
    residual_pct_of_msrp: dict[int, Pct] = Field(default_factory=dict)
    purchase_option_price: Money = Decimal(0)
    acquisition_fee: Money = Decimal(0)
    disposition_fee: Money = Decimal(0)
    tax_rate: Pct = Decimal(0)


class FloatingSpec(_Model):
    """A floating-rate product: the customer rate is ``benchmark`` + the priced spread, reset every
    ``reset_every_months``, with caps, floors and a lock; the benchmark path is a market input passed at
    quote time (never looked up from inside)."""

    benchmark: Annotated[str, Field(min_length=1)]
    reset_every_months: Annotated[int, Field(ge=1, le=60)] = 12
    periodic_cap: Pct | None = None
    periodic_floor: Pct | None = None
    lifetime_cap: Rate | None = None
    lifetime_floor: Rate | None = None
    lock_months: Annotated[int, Field(ge=0, le=120)] = 0


def _dealer_channel() -> list[Channel]:
    return ["dealer"]


def _all_kinds() -> list[ProductKind]:
    return ["loan", "lease"]


def _loan_only() -> list[ProductKind]:
    return ["loan"]


class MarkupCap(_Model):
    """The largest dealer markup (annual decimal, ``0.0125`` = 125 bp) for contract terms up to and
    including ``max_term`` months; ``max_term: null`` covers every longer term."""

    max_term: Annotated[int, Field(ge=1, le=120)] | None = None
    max_markup: Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))]


class DealerMarkupPolicy(_Model):
    """Whether a dealer may add a markup to the lender's buy rate, how much by term, and its share.

    ``caps`` are ordered by ``max_term`` (ascending, an open ``max_term`` last): the first that covers
    the contract term gives the cap. ``participation`` is the share (0..1) of the markup's extra
    finance charge the lender pays the dealer (the "dealer reserve"). ``channels``: the sales channels
    where a markup may be added (a direct / online sale has no dealer to mark up). ``source`` says
    where the caps come from (e.g. the 2015 Honda consent order).
    """

    allowed: bool = True
    caps: list[MarkupCap] = Field(default_factory=list)
    participation: Pct = Decimal(0)
    channels: list[Channel] = Field(default_factory=_dealer_channel)
    source: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.allowed and not self.caps:
            raise ValueError("a policy that allows a markup needs caps")
        last = 0
        for i, cap in enumerate(self.caps):
            if cap.max_term is None:
                if i != len(self.caps) - 1:
                    raise ValueError("only the last cap may have an open max_term")
            elif cap.max_term <= last:
                raise ValueError("caps must be ordered by increasing max_term")
            else:
                last = cap.max_term
        return self

    def cap_for(self, term: int) -> Decimal | None:
        """The markup cap for a contract of ``term`` months (``None``: no cap covers that term)."""
        for cap in self.caps:
            if cap.max_term is None or term <= cap.max_term:
                return cap.max_markup
        return None


class Product(_Model):
    """A finance product: one contract structure with its limits, eligibility, price and conditions.

    ``dealer_markup`` overrides the catalogue's default markup policy for the product's jurisdiction
    (``{allowed: false}`` forbids a markup on it).
    """

    id: Id
    version: Annotated[int, Field(ge=1)]
    name: Localized
    description: Localized
    jurisdiction: Literal["CN", "US"]
    currency: str
    effective: DateRange
    kind: Literal["loan", "lease"] = "loan"
    segments_served: list[str] = Field(default_factory=list)
    repayment: Repayment = Repayment.ANNUITY
    timing: PaymentTiming = PaymentTiming.ARREARS
    interest_method: InterestMethod = InterestMethod.PERIODIC
    day_count: DayCount = DayCount.ACT_365F
    terms: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1)]
    down_payment: Range = Range(min=Decimal(0), max=Decimal(1))
    max_ltv: Annotated[Decimal, Field(gt=0, le=Decimal("1.5"))]
    balloon: BalloonRule | None = None
    steps: Steps | None = None
    grace: list[GraceOption] = Field(default_factory=list)
    rate: RateSource
    fees: list[Fee] = Field(default_factory=list)
    early_settlement: EarlySettlement = EarlySettlement()
    eligibility: Eligibility = Eligibility()
    conditions: list[ProductCondition] = Field(default_factory=list)
    services: ServicePolicy = ServicePolicy()
    lease: LeaseSpec | None = None
    floating: FloatingSpec | None = None
    dealer_markup: DealerMarkupPolicy | None = None

    @model_validator(mode="after")
    def _kind(self) -> Self:
        if (self.kind == "lease") != (self.lease is not None):
            raise ValueError("a lease product needs a lease section, and only a lease product has one")
        return self


class RateRow(_Model):
    """One cell of a tier table: the rate for a score band × term band (× condition × LTV band)."""

    score: Range
    term: Range
    condition: list[Condition_] | None = None
    ltv: Range | None = None
    rate: Rate


class RateTable(_Model):
    """A rate sheet: the first matching row gives the annual rate."""

    id: Id
    version: Annotated[int, Field(ge=1)]
    currency: str
    effective: DateRange
    description: Localized | None = None
    no_score: Annotated[int, Field(ge=300, le=900)] | None = None  # score used for thin/no-file applicants
    rows: Annotated[list[RateRow], Field(min_length=1)]


class ServiceKind(StrEnum):
    COMPREHENSIVE_INSURANCE = "comprehensive_insurance"
    GAP_INSURANCE = "gap_insurance"
    CREDIT_LIFE = "credit_life"
    MAINTENANCE = "maintenance"
    EXTENDED_WARRANTY = "extended_warranty"
    ROADSIDE = "roadside"
    DESIGNATED_DRIVER = "designated_driver"


class ServicePrice(_Model):
    """A service's price: flat, a fraction of the vehicle price, or by term (months → amount)."""

    flat: Money | None = None
    pct_of_price: Pct | None = None
    by_term: dict[int, Money] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if sum(x is not None for x in (self.flat, self.pct_of_price, self.by_term)) != 1:
            raise ValueError("give exactly one of flat, pct_of_price, by_term")
        return self


class Service(_Model):
    """A value-added service sold with the contract (insurance, maintenance, warranty, roadside…)."""

    id: Id
    version: Annotated[int, Field(ge=1)]
    kind: ServiceKind
    name: Localized
    description: Localized
    currency: str
    effective: DateRange
    price: ServicePrice
    financeable: bool = True
    finance_charge: bool = False  # voluntary services are not part of the cost of credit
    commission_pct: Pct = Decimal(0)
    eligibility: Eligibility = Eligibility()


class PromotionKind(StrEnum):
    RATE_BUYDOWN = "rate_buydown"
    ZERO_APR = "zero_apr"
    CASH_REBATE = "cash_rebate"
    EXTENDED_TERM = "extended_term"
    FREE_SERVICE = "free_service"
    DEFERRED_FIRST_PAYMENT = "deferred_first_payment"


class PromotionEffect(_Model):
    """What a promotion does. ``rate`` for a buy-down; ``amount`` for a rebate; ``extra_months`` for an
    extended term; ``service`` for a free service; ``months`` for a deferred first payment."""

    kind: PromotionKind
    rate: Rate | None = None
    amount: Money | None = None
    extra_months: Annotated[int, Field(ge=1, le=36)] | None = None
    service: Id | None = None
    months: Annotated[int, Field(ge=1, le=6)] | None = None
    funded_by: Literal["manufacturer", "dealer", "lender"] = "manufacturer"

    @model_validator(mode="after")
    def _fields(self) -> Self:
        needs = {
            PromotionKind.RATE_BUYDOWN: "rate",
            PromotionKind.CASH_REBATE: "amount",
            PromotionKind.EXTENDED_TERM: "extra_months",
            PromotionKind.FREE_SERVICE: "service",
            PromotionKind.DEFERRED_FIRST_PAYMENT: "months",
        }
        need = needs.get(self.kind)
        if need is not None and getattr(self, need) is None:
            raise ValueError(f"a {self.kind.value} promotion needs {need}")
        return self


class PromotionEligibility(Eligibility):
    """Eligibility of a promotion: the product filters plus the products, models and inventory age,
    and the deal itself — its term (months, as requested), its down payment (fraction of the price)
    and its LTV (amount financed / price) — e.g. "0 % for up to 36 months with at least 30 % down"."""

    products: list[Id] | None = None
    inventory_age_days_min: Annotated[int, Field(ge=0)] | None = None
    terms: Range | None = None
    min_down_payment_pct: Pct | None = None
    max_ltv: Annotated[Decimal, Field(gt=0, le=Decimal("1.5"))] | None = None


class Stacking(_Model):
    """Stacking rules: promotions in the same ``group`` exclude each other (e.g. low APR *or* rebate);
    ``exclusive_with`` names other groups this one cannot be combined with."""

    group: str | None = None
    exclusive_with: list[str] = Field(default_factory=list)


class Promotion(_Model):
    """A promotion: a validity window, a budget, eligibility, an effect and stacking rules."""

    id: Id
    version: Annotated[int, Field(ge=1)]
    name: Localized
    description: Localized
    currency: str
    valid: DateRange
    budget: Money | None = None  # None: unlimited; otherwise the cost it may consume (subvention, rebates)
    eligibility: PromotionEligibility = PromotionEligibility()
    effect: PromotionEffect
    stacking: Stacking = Stacking()


# -- jurisdiction packs (catalog/jurisdictions/<CODE>.yaml; see docs/pricing-caps.md) ----------------


class DisclosureRule(_Model):
    """How the all-in rate is disclosed: ``cn_irr`` (annualised IRR incl. directly related fees, PBoC
    Announcement [2021] No. 3), ``us_regz`` (Regulation Z APR, 12 CFR 1026 App. J) or ``eu_aprc``."""

    method: Literal["cn_irr", "us_regz", "eu_aprc"]
    source: Annotated[str, Field(min_length=1)]


class RateCap(_Model):
    """A legal ceiling on the disclosed all-in annual rate.

    Either a fixed ``rate`` (annual decimal, ``0.24``) or ``multiple`` × the benchmark named
    ``benchmark`` (``4`` × ``LPR_1Y``), the benchmark's value on the quote date being taken from the
    quote's :class:`~autofin.catalog.quote_types.Market`. ``applies_to_licensed_lenders: false`` keeps
    a cap on file that does not bind a licensed lender (the pack's ``licensed_lender`` says which the
    lender is). ``kinds``: the product kinds it covers.
    """

    id: Id
    name: Annotated[str, Field(min_length=1)]
    rate: Rate | None = None
    benchmark: Annotated[str, Field(min_length=1)] | None = None
    multiple: Annotated[Decimal, Field(gt=0, le=20)] | None = None
    applies_to_licensed_lenders: bool = True
    kinds: list[ProductKind] = Field(default_factory=_all_kinds)
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _one(self) -> Self:
        fixed = self.rate is not None
        linked = self.benchmark is not None or self.multiple is not None
        if fixed == linked:
            raise ValueError("give either rate, or benchmark and multiple")
        if linked and (self.benchmark is None or self.multiple is None):
            raise ValueError("a benchmark-linked cap needs both benchmark and multiple")
        return self


class StateCapClass(_Model):
    """One vehicle class of a state's motor-vehicle retail instalment ceiling: the vehicles it covers
    (``condition``, ``max_age_years`` — model-year age at sale) and either a simple annual rate
    ``apr`` or an add-on ceiling ``add_on_per_100`` (currency units of finance charge per 100 of
    amount financed per year, prorated by term)."""

    condition: list[Condition_] | None = None
    max_age_years: Annotated[int, Field(ge=0)] | None = None
    apr: Rate | None = None
    add_on_per_100: Annotated[Decimal, Field(gt=0, le=100)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.apr is None) == (self.add_on_per_100 is None):
            raise ValueError("give exactly one of apr, add_on_per_100")
        return self


class StateCap(_Model):
    """A state's ceiling: its name, its source (statute) and its vehicle classes (first match wins)."""

    name: Annotated[str, Field(min_length=1)]
    source: Annotated[str, Field(min_length=1)]
    illustrative: bool = False
    classes: Annotated[list[StateCapClass], Field(min_length=1)]


class StateCaps(_Model):
    """Sub-national caps by the applicant's state (``applicant.region``: ``TX`` or ``US-TX``);
    ``default`` covers a state not listed or not given. ``kinds``: the product kinds they cover."""

    kinds: list[ProductKind] = Field(default_factory=_loan_only)
    default: StateCap | None = None
    states: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], StateCap] = Field(default_factory=dict)


class LtvCap(_Model):
    """A regulatory LTV cap (amount financed / price) on loans for the vehicles it names. ``binding:
    false`` keeps a cap on file that the lender now sets itself (CN self-use caps since April 2024)."""

    use: Use
    condition: list[Condition_] | None = None
    powertrain: list[Powertrain] | None = None
    max_ltv: Annotated[Decimal, Field(gt=0, le=1)]
    binding: bool = True


class LtvCaps(_Model):
    """The jurisdiction's loan LTV caps (first match wins) and their source."""

    source: Annotated[str, Field(min_length=1)]
    caps: list[LtvCap] = Field(default_factory=list)


Ratio = Annotated[Decimal, Field(gt=0, le=5, decimal_places=6)]


class LivingCost(_Model):
    """A monthly living-cost allowance per household member, by the applicant's region key (CN: city
    tier ``tier1`` … ``tier4``; US: a state code), in the pack's currency; ``default`` for any region
    not listed or not given. ``illustrative: true`` marks figures that are house assumptions."""

    per_member: dict[Annotated[str, Field(min_length=1)], Money] = Field(default_factory=dict)
    default: Money
    source: Annotated[str, Field(min_length=1)]
    illustrative: bool = False


class AffordabilityOverride(_Model):
    """A segment's own affordability limits; a key given here replaces the pack's default."""

    max_pti: Ratio | None = None
    max_dti: Ratio | None = None
    max_ltv: Ratio | None = None
    max_age_at_maturity: Annotated[int, Field(ge=18, le=120)] | None = None
    source: Annotated[str, Field(min_length=1)] | None = None


class AffordabilityPolicy(_Model):
    """The affordability limits of a jurisdiction (``affordability:`` in a pack; docs/decisions-
    affordability.md).

    Ratios are decimals: ``max_pti`` (new payment / gross monthly income), ``max_dti`` ((new payment +
    existing debt payments) / income), ``max_ltv`` (a house ceiling on amount financed incl. financed
    add-ons / vehicle price, on top of the pack's ``ltv_caps``: ``binding`` applies the binding caps,
    ``all`` the lender-set ones too, ``none`` neither). ``max_age_at_maturity`` in years (``null``: no
    age limit). ``living_cost`` feeds the residual-income test. ``segments`` override by segment
    (``no_file``, ``thin_file``, …). A missing key means no such limit.
    """

    source: Annotated[str, Field(min_length=1)]
    illustrative: bool = False
    max_pti: Ratio | None = None
    max_dti: Ratio | None = None
    max_ltv: Ratio | None = None
    ltv_caps: Literal["binding", "all", "none"] = "binding"
    max_age_at_maturity: Annotated[int, Field(ge=18, le=120)] | None = None
    living_cost: LivingCost | None = None
    segments: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")], AffordabilityOverride] = Field(
        default_factory=dict
    )


class JurisdictionPack(_Model):
    """What a jurisdiction's law says about pricing and disclosure, as data.

    ``id`` is the jurisdiction code (``CN``, ``US``: the file name). ``licensed_lender`` says whether
    the lender using this catalogue is a licensed financial institution there (caps with
    ``applies_to_licensed_lenders: false`` then do not bind it). ``rate_caps`` all apply (the lowest
    binds); ``state_caps`` add the applicant's state's ceiling. ``affordability`` (optional) holds
    the PTI / DTI / LTV / age / residual-income limits used by :mod:`autofin.decision.affordability`.
    """

    id: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    version: Annotated[int, Field(ge=1)]
    name: Localized
    currency: str
    disclosure: DisclosureRule
    licensed_lender: bool = True
    rate_caps: list[RateCap] = Field(default_factory=list)
    state_caps: StateCaps | None = None
    ltv_caps: LtvCaps | None = None
    affordability: AffordabilityPolicy | None = None


class Catalogue(_Model):
    """A validated catalogue: every product, rate table, service and promotion by id.

    ``rate_caps`` holds the catalogue-wide ceiling on the disclosed all-in rate by jurisdiction
    (``catalogue.yaml``); ``jurisdictions`` the jurisdiction packs, whose legal caps apply on top (a
    quote above any of them is refused). ``dealer_markup`` is the default dealer-markup policy by
    jurisdiction (a product may override it; no policy: no markup). ``rate_lock_days``: how many days
    after the quote date its buy rate is honoured at contract time even if the rate sheet changed.

    ``sources`` maps ``"<kind>:<id>"`` to ``"<file>:<line>"`` so that checks and errors can point at
    the YAML that defines each item.
    """

    version: str
    products: dict[str, Product]
    rate_tables: dict[str, RateTable]
    services: dict[str, Service]
    promotions: dict[str, Promotion]
    rate_caps: dict[str, Rate] = Field(default_factory=dict)  # jurisdiction → legal maximum annual rate
    jurisdictions: dict[str, JurisdictionPack] = Field(default_factory=dict)
    dealer_markup: dict[str, DealerMarkupPolicy] = Field(default_factory=dict)
    rate_lock_days: Annotated[int, Field(ge=0, le=365)] = 30
    sources: dict[str, str] = Field(default_factory=dict)
