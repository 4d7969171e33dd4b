"""Quoting: a catalogue product, a vehicle and a requested structure → the exact contract.

:func:`quote` checks the request against every rule of the product (effective date, eligibility, term,
down payment, LTV, balloon, grace, services, promotions and their stacking and budgets), prices it
(fixed or tier-table rate plus margin, or benchmark plus spread for a floating product), applies the
promotions, and computes the contract *through the contract engine* — :func:`build_schedule` and
:func:`disclose_loan` for loans, :func:`closed_end_lease` / :func:`finance_lease` for leases. No
contract maths is re-implemented here: this module only composes.

Every refusal is a :class:`autofin.errors.ValidationError` whose ``field`` is the request field at
fault (``structure.term``, ``applicant.bureau_score``, ``structure.promotions[1]``…) and whose ``rule``
names the product / service / promotion rule broken (``product cn-green-nev allows terms 12, 24, 36``).

Conventions: money is ``Decimal`` in the product's currency (major units), rounded half-up to the minor
unit; rates are annual decimals; terms count monthly instalments. Pure: no I/O, no globals.
See docs/catalogue-quoting.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autofin.catalog.models import (
    Catalogue,
    Channel,
    Condition_,
    ConditionWhen,
    CustomerType,
    Eligibility,
    Powertrain,
    Product,
    ProductCondition,
    Promotion,
    PromotionKind,
    RateTable,
    Service,
    Use,
    VehicleClass,
    VehicleFilter,
)
from autofin.dates import add_months
from autofin.errors import ValidationError
from autofin.finance import lease as lease_math
from autofin.finance.apr import AprMethod
from autofin.finance.contract import jsonable, loan_contract
from autofin.finance.disclosure import LoanDisclosure, disclose_loan
from autofin.finance.promotions import subvention
from autofin.finance.schedule import RowKind, Schedule, build_schedule
from autofin.finance.terms import (
    Balloon,
    BrokenPeriod,
    Fee,
    FloatingRate,
    Grace,
    GraceKind,
    LoanTerms,
    PaymentTiming,
    RatePoint,
)
from autofin.money import CONTEXT, currency, round_money

__all__ = [
    "ApplicantInfo",
    "AppliedPromotion",
    "BudgetLedger",
    "GraceRequest",
    "Market",
    "Ownership",
    "Quote",
    "ServiceLine",
    "StructureRequest",
    "VehicleInfo",
    "compare",
    "quote",
    "quote_json",
]

ZERO = Decimal(0)
ONE = Decimal(1)
_RATE_PROMOS = (PromotionKind.RATE_BUYDOWN, PromotionKind.ZERO_APR)


# -- inputs ------------------------------------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VehicleInfo(_Input):
    """The vehicle being financed. ``msrp`` and ``price`` (the agreed selling price) in currency units."""

    brand: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]
    condition: Condition_
    vehicle_class: VehicleClass
    powertrain: Powertrain
    use: Use
    msrp: Annotated[Decimal, Field(gt=0)]
    price: Annotated[Decimal, Field(gt=0)]
    age_years: Annotated[int, Field(ge=0)] = 0
    inventory_age_days: Annotated[int, Field(ge=0)] = 0


class ApplicantInfo(_Input):
    """What quoting needs to know of the applicant (eligibility and the tier-table score)."""

    customer_type: CustomerType = "individual"
    segments: list[str] = Field(default_factory=list)
    channel: Channel = "dealer"
    region: str | None = None
    bureau_score: Annotated[int, Field(ge=300, le=900)] | None = None
    age: Annotated[int, Field(ge=16, le=120)] | None = None


class GraceRequest(_Input):
    """A requested grace period at the start of the term: its kind and number of periods."""

    kind: GraceKind
    periods: Annotated[int, Field(ge=1)]


class StructureRequest(_Input):
    """The structure the customer asks for.

    ``term`` is one of the product's terms (an extended-term promotion adds its months on top).
    Give ``down_payment`` (currency units) or ``down_payment_pct`` (fraction of the price), not both;
    neither means the product's minimum. ``balloon_pct`` is a fraction of the price (default: the
    product's default balloon, if it has a balloon rule). ``services`` and ``promotions`` are
    catalogue ids; services are financed when ``finance_services`` and both the product and the service
    allow it, else paid in cash at signing.
    """

    term: Annotated[int, Field(ge=1, le=120)]
    down_payment: Annotated[Decimal, Field(ge=0)] | None = None
    down_payment_pct: Annotated[Decimal, Field(ge=0, lt=1)] | None = None
    balloon_pct: Annotated[Decimal, Field(ge=0, lt=1)] | None = None
    grace: GraceRequest | None = None
    services: list[str] = Field(default_factory=list)
    finance_services: bool = True
    promotions: list[str] = Field(default_factory=list)
    start_date: date
    first_payment_date: date | None = None

    @model_validator(mode="after")
    def _one_down_payment(self) -> Self:
        if self.down_payment is not None and self.down_payment_pct is not None:
            raise ValueError("give down_payment or down_payment_pct, not both")
        return self


class Market(_Input):
    """Market inputs passed in at quote time: benchmark rate paths by name (``"LPR_5Y"`` → points)."""

    benchmarks: dict[str, Annotated[list[RatePoint], Field(min_length=1)]] = Field(default_factory=dict)


# -- outputs -----------------------------------------------------------------------------------------


class Ownership(StrEnum):
    """What the customer owns at the end of the contract."""

    OWNS = "owns"
    OWNS_AFTER_BALLOON = "owns_after_balloon"
    RETURNS_OR_BUYS_AT_RESIDUAL = "returns_or_buys_at_residual"
    OWNS_AFTER_PURCHASE_OPTION = "owns_after_purchase_option"


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """A value-added service on the quote. ``price`` is what the customer pays (0 when free);
    ``list_price`` what it costs; ``commission`` is ``commission_pct × list_price``."""

    id: str
    version: int
    price: Decimal
    list_price: Decimal
    financed: bool
    free: bool
    finance_charge: bool
    commission: Decimal


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    """A promotion applied to the quote and what it costs its funder (subvention, rebate, service)."""

    id: str
    version: int
    kind: PromotionKind
    funded_by: str
    cost: Decimal
    budget: Decimal | None


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced, checked contract for one product, vehicle and structure.

    Amounts in ``currency`` units; rates annual decimals. ``contract`` is the engine's result: a
    :class:`~autofin.finance.schedule.Schedule` (loans), a
    :class:`~autofin.finance.lease.ConsumerLeaseDisclosure` (closed-end leases) or a
    :class:`~autofin.finance.lease.FinanceLeaseSchedule` (finance leases). ``rates`` maps a method
    label (``us_regz``, ``cn_irr``, ``eu_aprc`` for loans; ``lease_rate`` or ``cn_irr_lease`` for
    leases) to the disclosed annual rate; ``rate_label`` names the headline one. ``amount_financed`` is
    the amount lent (incl. financed services and fees) or the lease's adjusted capitalised cost /
    financed amount. ``total_cost`` is everything the customer pays. ``amount_to_own`` is what the
    customer must still pay at the end to own the car (balloon, residual, purchase option; 0 if owned).
    """

    product_id: str
    product_version: int
    catalogue_version: str
    kind: Literal["loan", "lease"]
    lease_type: Literal["closed_end", "finance"] | None
    currency: str
    price: Decimal
    down_payment: Decimal
    amount_financed: Decimal
    ltv: Decimal
    term: int
    services: tuple[ServiceLine, ...]
    promotions: tuple[AppliedPromotion, ...]
    customer_rate: Decimal
    lender_rate: Decimal
    subvention: Decimal
    conditions: tuple[ProductCondition, ...]
    contract: Schedule | lease_math.ConsumerLeaseDisclosure | lease_math.FinanceLeaseSchedule
    disclosure: LoanDisclosure | None
    rates: Mapping[str, Decimal | None]
    rate_label: str
    monthly_payment: Decimal
    balloon_or_residual: Decimal
    total_cost: Decimal
    ownership_at_end: Ownership
    amount_to_own: Decimal
    notices: tuple[str, ...] = field(default=())

    @property
    def headline_rate(self) -> Decimal | None:
        return self.rates.get(self.rate_label)


# -- promotion budgets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetLedger:
    """How much of each promotion's budget has been consumed (promotion id → amount). Immutable:
    :meth:`consume` returns a new ledger."""

    consumed: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "consumed", MappingProxyType(dict(self.consumed)))

    def remaining(self, promotion: Promotion) -> Decimal | None:
        """The budget still available (``None``: the promotion has no budget limit)."""
        if promotion.budget is None:
            return None
        return promotion.budget - self.consumed.get(promotion.id, ZERO)

    def consume(self, quote: Quote) -> BudgetLedger:
        """The ledger after the quote's promotions are booked; refuses to overdraw any budget."""
        new = dict(self.consumed)
        for p in quote.promotions:
            used = new.get(p.id, ZERO) + p.cost
            if p.budget is not None and used > p.budget:
                raise ValidationError(
                    "budget",
                    used,
                    f"promotion {p.id} would exceed its budget of {p.budget} "
                    f"({new.get(p.id, ZERO)} consumed, this quote costs {p.cost})",
                )
            new[p.id] = used
        return BudgetLedger(new)


# -- eligibility -------------------------------------------------------------------------------------


def _names(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


def _check_vehicle(f: VehicleFilter, vehicle: VehicleInfo, who: str) -> None:
    checks: list[tuple[str, object, Sequence[object] | None]] = [
        ("condition", vehicle.condition, f.condition),
        ("vehicle_class", vehicle.vehicle_class, f.vehicle_class),
        ("powertrain", vehicle.powertrain, f.powertrain),
        ("use", vehicle.use, f.use),
        ("brand", vehicle.brand, f.brands),
        ("model", vehicle.model, f.models),
    ]
    for name, value, allowed in checks:
        if allowed is not None and value not in allowed:
            raise ValidationError(f"vehicle.{name}", value, f"{who} is for {name} {_names(allowed)}")
    if f.price is not None and not f.price.contains(vehicle.price):
        raise ValidationError(
            "vehicle.price", vehicle.price, f"{who} is for vehicle prices {_range(f.price)}"
        )
    if f.max_age_years is not None and vehicle.age_years > f.max_age_years:
        raise ValidationError(
            "vehicle.age_years",
            vehicle.age_years,
            f"{who} is for vehicles at most {f.max_age_years} years old",
        )


def _range(r: Any) -> str:
    lo = "" if r.min is None else str(r.min)
    hi = "" if r.max is None else str(r.max)
    return f"{lo}..{hi}" if lo and hi else (f"≥ {lo}" if lo else f"≤ {hi}")


def _check_eligibility(e: Eligibility, applicant: ApplicantInfo, vehicle: VehicleInfo, who: str) -> None:
    """Raise naming the applicant / vehicle field when ``e`` excludes them; ``who`` names the item."""
    if e.customer_types is not None and applicant.customer_type not in e.customer_types:
        raise ValidationError(
            "applicant.customer_type",
            applicant.customer_type,
            f"{who} is for customer types {_names(e.customer_types)}",
        )
    if e.segments is not None and not set(applicant.segments) & set(e.segments):
        raise ValidationError(
            "applicant.segments", applicant.segments, f"{who} is for segments {_names(e.segments)}"
        )
    if e.channels is not None and applicant.channel not in e.channels:
        raise ValidationError(
            "applicant.channel", applicant.channel, f"{who} is for channels {_names(e.channels)}"
        )
    if e.regions is not None and applicant.region not in e.regions:
        raise ValidationError(
            "applicant.region", applicant.region, f"{who} is for regions {_names(e.regions)}"
        )
    if e.applicant_age is not None and (applicant.age is None or not e.applicant_age.contains(applicant.age)):
        raise ValidationError(
            "applicant.age", applicant.age, f"{who} is for applicants aged {_range(e.applicant_age)}"
        )
    if e.min_bureau_score is not None and (
        applicant.bureau_score is None or applicant.bureau_score < e.min_bureau_score
    ):
        raise ValidationError(
            "applicant.bureau_score",
            applicant.bureau_score,
            f"{who} needs a bureau score of at least {e.min_bureau_score}",
        )
    if e.vehicle is not None:
        _check_vehicle(e.vehicle, vehicle, who)


def _condition_applies(
    when: ConditionWhen,
    amount_financed: Decimal,
    ltv: Decimal,
    applicant: ApplicantInfo,
    vehicle: VehicleInfo,
) -> bool:
    if when.amount_financed_above is not None and not amount_financed > when.amount_financed_above:
        return False
    if when.ltv_above is not None and not ltv > when.ltv_above:
        return False
    if when.customer_types is not None and applicant.customer_type not in when.customer_types:
        return False
    if when.vehicle is not None:
        try:
            _check_vehicle(when.vehicle, vehicle, "condition")
        except ValidationError:
            return False
    return True


# -- the quote ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Priced:
    lender_rate: Decimal
    floating: FloatingRate | None


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What both the loan and the lease paths need, checked and priced."""

    product: Product
    catalogue: Catalogue
    vehicle: VehicleInfo
    structure: StructureRequest
    down: Decimal
    rebate: Decimal
    lines: tuple[ServiceLine, ...]
    term: int
    customer_rate: Decimal
    lender_rate: Decimal
    ltv: Decimal
    conditions: tuple[ProductCondition, ...]
    promos: list[Promotion]


def quote(
    catalogue: Catalogue,
    product_id: str,
    vehicle: VehicleInfo,
    structure: StructureRequest,
    applicant: ApplicantInfo | None = None,
    market: Market | None = None,
    on: date | None = None,
    ledger: BudgetLedger | None = None,
) -> Quote:
    """Check, price and compute one structure of one product (see the module docstring).

    ``on`` is the quote date for effective / validity windows (default: ``structure.start_date``);
    ``ledger`` is the promotion budget consumed so far (default: nothing consumed).
    """
    applicant = applicant if applicant is not None else ApplicantInfo()
    ledger = ledger if ledger is not None else BudgetLedger()
    product = catalogue.products.get(product_id)
    if product is None:
        raise ValidationError("product", product_id, f"catalogue {catalogue.version} has no such product")
    pid = f"product {product.id}"
    day = on if on is not None else structure.start_date
    if not product.effective.contains(day):
        raise ValidationError(
            "on" if on is not None else "structure.start_date",
            day,
            f"{pid} is effective {product.effective.start}..{product.effective.end or ''}",
        )
    ccy = currency(product.currency)
    _check_eligibility(product.eligibility, applicant, vehicle, pid)

    if structure.term not in product.terms:
        raise ValidationError("structure.term", structure.term, f"{pid} allows terms {_names(product.terms)}")

    # Down payment.
    price = vehicle.price
    if structure.down_payment is not None:
        down = round_money(structure.down_payment, ccy)
        dp_field = "structure.down_payment"
    else:
        pct = structure.down_payment_pct
        if pct is None:
            pct = product.down_payment.min if product.down_payment.min is not None else ZERO
        down = round_money(price * pct, ccy)
        dp_field = "structure.down_payment_pct"
    down_pct = down / price
    if not product.down_payment.contains(down_pct):
        raise ValidationError(
            dp_field,
            structure.down_payment if structure.down_payment is not None else structure.down_payment_pct,
            f"{pid} allows a down payment of {_range(product.down_payment)} of the price "
            f"(got {_pct(down_pct)})",
        )

    # Balloon.
    balloon_pct = _balloon_pct(product, structure, pid)

    # Grace.
    grace: list[Grace] = []
    if structure.grace is not None:
        options = {g.kind: g for g in product.grace}
        opt = options.get(structure.grace.kind)
        if opt is None:
            allowed = _names(k.value for k in options) or "none"
            raise ValidationError(
                "structure.grace.kind", structure.grace.kind.value, f"{pid} allows grace kinds: {allowed}"
            )
        if structure.grace.periods > opt.max_periods:
            raise ValidationError(
                "structure.grace.periods",
                structure.grace.periods,
                f"{pid} allows at most {opt.max_periods} periods of {opt.kind.value} grace",
            )
        grace.append(Grace(kind=structure.grace.kind, periods=structure.grace.periods))

    # Promotions (checked before services: a free-service promotion adds its service).
    promos = _check_promotions(catalogue, product, vehicle, applicant, structure, day)
    service_ids = list(structure.services)
    for p in promos:
        sid = p.effect.service
        if p.effect.kind is PromotionKind.FREE_SERVICE and sid is not None and sid not in service_ids:
            service_ids.append(sid)
    free_services = {p.effect.service: p for p in promos if p.effect.kind is PromotionKind.FREE_SERVICE}
    extra_months = sum(
        (p.effect.extra_months or 0) for p in promos if p.effect.kind is PromotionKind.EXTENDED_TERM
    )
    deferral = sum(
        (p.effect.months or 0) for p in promos if p.effect.kind is PromotionKind.DEFERRED_FIRST_PAYMENT
    )
    rebate = sum(
        (p.effect.amount or ZERO for p in promos if p.effect.kind is PromotionKind.CASH_REBATE), ZERO
    )
    rebate = round_money(rebate, ccy)
    term = structure.term + extra_months

    # Services.
    lines = _service_lines(
        catalogue, product, vehicle, applicant, structure, service_ids, free_services, term, day
    )
    financed_services = sum((s.price for s in lines if s.financed), ZERO)
    if financed_services > product.services.max_financed_pct_of_price * price:
        raise ValidationError(
            "structure.services",
            financed_services,
            f"{pid} finances services up to {_pct(product.services.max_financed_pct_of_price)} of the price "
            f"({round_money(product.services.max_financed_pct_of_price * price, ccy)})",
        )

    if rebate and rebate >= price - down:
        raise ValidationError(
            "structure.promotions", rebate, "the cash rebate must be less than the amount to finance"
        )

    # Amount financed and LTV (before the rate: tier tables are by LTV).
    cash = price - rebate - down
    fees = list(product.fees)
    financed_fees = sum(
        (round_money(_fee_amount(f, cash), ccy) for f in fees if f.financed and not f.per_period), ZERO
    )
    if product.lease is not None and product.lease.type == "closed_end":
        financed_fees += round_money(product.lease.acquisition_fee, ccy)
    amount_financed = cash + financed_services + financed_fees
    ltv = amount_financed / price
    if ltv > product.max_ltv:
        raise ValidationError(
            dp_field,
            structure.down_payment if structure.down_payment is not None else structure.down_payment_pct,
            f"{pid} allows an LTV of at most {_pct(product.max_ltv)} (amount financed incl. financed "
            f"services and fees {amount_financed} / price {price} = {_pct(ltv)})",
        )

    # Rate.
    priced = _price(catalogue, product, vehicle, applicant, structure, market, ltv, day)
    customer_rate = priced.lender_rate
    rate_promos = [p for p in promos if p.effect.kind in _RATE_PROMOS]
    for p in rate_promos:
        target = ZERO if p.effect.kind is PromotionKind.ZERO_APR else (p.effect.rate or ZERO)
        customer_rate = min(customer_rate, target)

    conditions = tuple(
        c for c in product.conditions if _condition_applies(c.when, amount_financed, ltv, applicant, vehicle)
    )
    ctx = _Ctx(
        product, catalogue, vehicle, structure, down, rebate, lines, term,
        customer_rate, priced.lender_rate, ltv, conditions, promos,
    )  # fmt: skip
    if product.kind == "lease":
        result = _quote_lease(ctx)
    else:
        result = _quote_loan(ctx, balloon_pct, grace, deferral, priced.floating)
    for idx, applied in enumerate(result.promotions):  # in the order of structure.promotions
        remaining = ledger.remaining(catalogue.promotions[applied.id])
        if remaining is not None and remaining < applied.cost:
            raise ValidationError(
                f"structure.promotions[{idx}]",
                applied.id,
                f"promotion {applied.id} has {remaining} of its budget left, below this quote's cost "
                f"{applied.cost}",
            )
    return result


def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(Decimal('0.01')).normalize():f} %"


def _fee_amount(fee: Fee, cash: Decimal) -> Decimal:
    if fee.amount is not None:
        return fee.amount
    assert fee.pct_of_principal is not None
    return cash * fee.pct_of_principal


def _balloon_pct(product: Product, structure: StructureRequest, pid: str) -> Decimal:
    rule = product.balloon
    if structure.balloon_pct is None:
        if rule is None:
            return ZERO
        return rule.default_pct_of_price if rule.default_pct_of_price is not None else rule.min_pct_of_price
    if rule is None:
        raise ValidationError("structure.balloon_pct", structure.balloon_pct, f"{pid} has no balloon")
    if not rule.min_pct_of_price <= structure.balloon_pct <= rule.max_pct_of_price:
        raise ValidationError(
            "structure.balloon_pct",
            structure.balloon_pct,
            f"{pid} allows a balloon of {_pct(rule.min_pct_of_price)}..{_pct(rule.max_pct_of_price)} "
            "of the price",
        )
    return structure.balloon_pct


def _check_promotions(
    catalogue: Catalogue,
    product: Product,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    structure: StructureRequest,
    day: date,
) -> list[Promotion]:
    promos: list[Promotion] = []
    for i, pid in enumerate(structure.promotions):
        f = f"structure.promotions[{i}]"
        promo = catalogue.promotions.get(pid)
        if promo is None:
            raise ValidationError(f, pid, f"catalogue {catalogue.version} has no such promotion")
        who = f"promotion {promo.id}"
        if pid in structure.promotions[:i]:
            raise ValidationError(f, pid, f"{who} is given twice")
        if not promo.valid.contains(day):
            raise ValidationError(f, pid, f"{who} is valid {promo.valid.start}..{promo.valid.end or ''}")
        if promo.currency != product.currency:
            raise ValidationError(
                f, pid, f"{who} is in {promo.currency}, product {product.id} in {product.currency}"
            )
        e = promo.eligibility
        if e.products is not None and product.id not in e.products:
            raise ValidationError(f, pid, f"{who} is for products {_names(e.products)}")
        if e.inventory_age_days_min is not None and vehicle.inventory_age_days < e.inventory_age_days_min:
            raise ValidationError(
                "vehicle.inventory_age_days",
                vehicle.inventory_age_days,
                f"{who} is for vehicles in stock at least {e.inventory_age_days_min} days",
            )
        _check_eligibility(e, applicant, vehicle, who)
        kind = promo.effect.kind
        if kind in _RATE_PROMOS and product.floating is not None:
            raise ValidationError(
                f, pid, f"{who} buys a rate down; floating product {product.id} cannot take it"
            )
        if kind is PromotionKind.DEFERRED_FIRST_PAYMENT:
            if product.kind == "lease":
                raise ValidationError(
                    f, pid, f"{who} defers a loan's first payment; product {product.id} is a lease"
                )
            if product.timing is PaymentTiming.ADVANCE:
                raise ValidationError(
                    f, pid, f"{who} defers a payment in arrears; product {product.id} is paid in advance"
                )
            if structure.first_payment_date is not None:
                raise ValidationError(
                    "structure.first_payment_date",
                    structure.first_payment_date,
                    f"{who} sets the first payment date; do not give one",
                )
        if kind is PromotionKind.EXTENDED_TERM and product.kind == "lease":
            raise ValidationError(f, pid, f"{who} extends a loan term; product {product.id} is a lease")
        promos.append(promo)
    # Stacking: the same group, or a group another excludes, cannot be combined; nor two of one effect.
    for a, b in itertools.combinations(promos, 2):
        ga, gb = a.stacking.group, b.stacking.group
        why = None
        if ga is not None and ga == gb:
            why = f"both are in stacking group {ga!r}"
        elif (gb is not None and gb in a.stacking.exclusive_with) or (
            ga is not None and ga in b.stacking.exclusive_with
        ):
            why = f"groups {ga!r} and {gb!r} are exclusive"
        elif a.effect.kind == b.effect.kind and a.effect.kind is not PromotionKind.FREE_SERVICE:
            why = f"both are {a.effect.kind.value} promotions"
        elif a.effect.kind in _RATE_PROMOS and b.effect.kind in _RATE_PROMOS:
            why = "both set the customer rate"
        if why is not None:
            raise ValidationError(
                f"structure.promotions[{structure.promotions.index(b.id)}]",
                b.id,
                f"promotions {a.id} and {b.id} cannot be combined: {why}",
            )
    return promos


def _service_lines(
    catalogue: Catalogue,
    product: Product,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    structure: StructureRequest,
    service_ids: Sequence[str],
    free: Mapping[str | None, Promotion],
    term: int,
    day: date,
) -> tuple[ServiceLine, ...]:
    ccy = currency(product.currency)
    lines: list[ServiceLine] = []
    for i, sid in enumerate(service_ids):
        f = f"structure.services[{i}]" if i < len(structure.services) else "structure.promotions"
        svc = catalogue.services.get(sid)
        if svc is None:
            raise ValidationError(f, sid, f"catalogue {catalogue.version} has no such service")
        who = f"service {svc.id}"
        if sid in service_ids[:i]:
            raise ValidationError(f, sid, f"{who} is given twice")
        allowed = product.services.allowed
        if allowed is not None and sid not in allowed:
            raise ValidationError(f, sid, f"product {product.id} allows services {_names(allowed) or 'none'}")
        if not svc.effective.contains(day):
            raise ValidationError(
                f, sid, f"{who} is effective {svc.effective.start}..{svc.effective.end or ''}"
            )
        if svc.currency != product.currency:
            raise ValidationError(
                f, sid, f"{who} is in {svc.currency}, product {product.id} in {product.currency}"
            )
        _check_eligibility(svc.eligibility, applicant, vehicle, who)
        list_price = _service_price(svc, vehicle, term, f)
        list_price = round_money(list_price, ccy)
        is_free = sid in free
        paid = ZERO.quantize(ccy.quantum) if is_free else list_price
        financed = (
            not is_free and structure.finance_services and product.services.financeable and svc.financeable
        )
        lines.append(
            ServiceLine(
                svc.id, svc.version, paid, list_price, financed, is_free, svc.finance_charge,
                round_money(list_price * svc.commission_pct, ccy),
            )
        )  # fmt: skip
    return tuple(lines)


def _service_price(svc: Service, vehicle: VehicleInfo, term: int, f: str) -> Decimal:
    p = svc.price
    if p.flat is not None:
        return p.flat
    if p.pct_of_price is not None:
        return vehicle.price * p.pct_of_price
    assert p.by_term is not None
    if term not in p.by_term:
        raise ValidationError(f, svc.id, f"service {svc.id} is priced for terms {_names(sorted(p.by_term))}")
    return p.by_term[term]


def _price(
    catalogue: Catalogue,
    product: Product,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    structure: StructureRequest,
    market: Market | None,
    ltv: Decimal,
    day: date,
) -> _Priced:
    src = product.rate
    if src.fixed is not None:
        base = src.fixed
    else:
        assert src.table is not None
        table = catalogue.rate_tables.get(src.table)
        if table is None:
            raise ValidationError(
                "product.rate.table", src.table, f"catalogue {catalogue.version} has no such rate table"
            )
        base = _table_rate(table, applicant, vehicle, structure.term, ltv, day)
    rate = base + src.margin
    if rate < 0:
        raise ValidationError(
            "product.rate.margin", src.margin, f"product {product.id}'s rate would be negative"
        )
    fl = product.floating
    if fl is None:
        return _Priced(rate, None)
    path = None if market is None else market.benchmarks.get(fl.benchmark)
    if path is None:
        raise ValidationError(
            f"market.benchmarks.{fl.benchmark}",
            None,
            f"product {product.id} floats on {fl.benchmark}: give its path",
        )
    # The priced rate is the customer's rate on the start date; its spread over the benchmark that
    # day is fixed for the life of the loan, and the rate resets to benchmark + spread (within the
    # product's caps and floors) after the lock (see docs/catalogue-quoting.md).
    bench = next((p.rate for p in reversed(path) if p.date <= structure.start_date), None)
    if bench is None:
        raise ValidationError(
            f"market.benchmarks.{fl.benchmark}",
            structure.start_date,
            f"{fl.benchmark} has no value on the start date",
        )
    floating = FloatingRate(
        benchmark=fl.benchmark,
        path=path,
        spread=rate - bench,
        reset_every_months=fl.reset_every_months,
        periodic_cap=fl.periodic_cap,
        periodic_floor=fl.periodic_floor,
        lifetime_cap=fl.lifetime_cap,
        lifetime_floor=fl.lifetime_floor,
        lock_until=add_months(structure.start_date, fl.lock_months) if fl.lock_months else None,
    )
    initial = rate
    if fl.lifetime_cap is not None:
        initial = min(initial, fl.lifetime_cap)
    if fl.lifetime_floor is not None:
        initial = max(initial, fl.lifetime_floor)
    return _Priced(max(initial, ZERO), floating)


def _table_rate(
    table: RateTable, applicant: ApplicantInfo, vehicle: VehicleInfo, term: int, ltv: Decimal, day: date
) -> Decimal:
    who = f"rate table {table.id}"
    if not table.effective.contains(day):
        raise ValidationError(
            "product.rate.table",
            table.id,
            f"{who} is effective {table.effective.start}..{table.effective.end or ''}",
        )
    score = applicant.bureau_score if applicant.bureau_score is not None else table.no_score
    if score is None:
        raise ValidationError(
            "applicant.bureau_score", None, f"{who} needs a bureau score (it has no no_score)"
        )
    for row in table.rows:
        if not row.score.contains(score) or not row.term.contains(term):
            continue
        if row.condition is not None and vehicle.condition not in row.condition:
            continue
        if row.ltv is not None and not row.ltv.contains(ltv):
            continue
        return row.rate
    raise ValidationError(
        "structure",
        {"score": score, "term": term, "condition": vehicle.condition, "ltv": str(round(ltv, 4))},
        f"{who} has no rate for score {score}, term {term}, {vehicle.condition}, LTV {_pct(ltv)}",
    )


def _promo_costs(
    promos: Sequence[Promotion], lines: Sequence[ServiceLine], subv: Decimal, rebate_ccy: str
) -> tuple[AppliedPromotion, ...]:
    ccy = currency(rebate_ccy)
    by_service = {s.id: s for s in lines}
    out: list[AppliedPromotion] = []
    for p in promos:
        kind = p.effect.kind
        if kind in _RATE_PROMOS:
            cost = max(subv, ZERO)
        elif kind is PromotionKind.CASH_REBATE:
            cost = round_money(p.effect.amount or ZERO, ccy)
        elif kind is PromotionKind.FREE_SERVICE:
            line = by_service.get(p.effect.service or "")
            cost = line.list_price if line is not None else ZERO
        else:
            cost = ZERO  # extended term, deferred payment: no direct cost (the lender prices it)
        out.append(AppliedPromotion(p.id, p.version, kind, p.effect.funded_by, cost, p.budget))
    return tuple(out)


def _methods(product: Product) -> list[AprMethod]:
    methods = [AprMethod.US_REGZ if product.jurisdiction == "US" else AprMethod.CN_IRR]
    if product.currency == "EUR":
        methods.append(AprMethod.EU_APRC)
    return methods


def _quote_loan(
    c: _Ctx, balloon_pct: Decimal, grace: list[Grace], deferral: int, floating: FloatingRate | None
) -> Quote:
    product, vehicle, structure, lines, term = c.product, c.vehicle, c.structure, c.lines, c.term
    down, rebate, customer_rate, lender_rate = c.down, c.rebate, c.customer_rate, c.lender_rate
    ccy = currency(product.currency)
    fees = list(product.fees)
    cash_services = ZERO
    for s in lines:
        if s.price == 0:
            continue
        if s.financed:
            fees.append(
                Fee(name=f"service:{s.id}", amount=s.price, financed=True, finance_charge=s.finance_charge)
            )
        elif s.finance_charge:  # a required charge paid in cash is still a prepaid finance charge
            fees.append(Fee(name=f"service:{s.id}", amount=s.price, financed=False, finance_charge=True))
        else:
            cash_services += s.price
    first_payment = structure.first_payment_date
    broken = BrokenPeriod.FIRST_INSTALMENT
    if deferral:
        # The engine's odd first period must be shorter than two regular periods, so a deferral of
        # whole months is ``deferral`` holiday periods (no payment, interest accrues and is
        # capitalised) before the first instalment; the customer still makes ``term`` payments.
        grace = [Grace(kind=GraceKind.HOLIDAY, periods=deferral)] + [
            g.model_copy(update={"start": g.start + deferral}) for g in grace
        ]
        term += deferral
    balloon_amount = round_money(vehicle.price * balloon_pct, ccy)
    terms = LoanTerms(
        currency=product.currency,
        price=vehicle.price - rebate,
        down_payment=down,
        annual_rate=customer_rate,
        term=term,
        start_date=structure.start_date,
        first_payment_date=first_payment,
        repayment=product.repayment,
        interest_method=product.interest_method,
        day_count=product.day_count,
        timing=product.timing,
        broken_period=broken,
        balloon=Balloon(amount=balloon_amount) if balloon_amount > 0 else None,
        steps=product.steps,
        grace=grace,
        fees=fees,
        floating=floating,
        prepayment_penalty=product.early_settlement.penalty,
    )
    schedule = build_schedule(terms)
    disclosure = disclose_loan(schedule, _methods(product))
    subv = ZERO
    if customer_rate < lender_rate:
        subv = subvention(schedule, lender_rate)
    applied = _promo_costs(c.promos, lines, subv, product.currency)
    balloon = schedule.balloon
    monthly = schedule.regular_instalment
    amortising = [r for r in schedule.rows if r.kind is RowKind.AMORTISING]
    if broken is BrokenPeriod.FIRST_INSTALMENT and first_payment is not None and len(amortising) > 2:
        monthly = amortising[1].instalment  # the first carries the odd days' interest
    total_cost = down + schedule.upfront_fees + cash_services + schedule.total_of_payments
    return Quote(
        product_id=product.id,
        product_version=product.version,
        catalogue_version=c.catalogue.version,
        kind="loan",
        lease_type=None,
        currency=product.currency,
        price=vehicle.price,
        down_payment=down,
        amount_financed=schedule.opening_balance,
        ltv=c.ltv,
        term=term,
        services=lines,
        promotions=applied,
        customer_rate=customer_rate,
        lender_rate=lender_rate,
        subvention=subv,
        conditions=c.conditions,
        contract=schedule,
        disclosure=disclosure,
        rates={m.value: r.apr for m, r in disclosure.rates.items()},
        rate_label=_methods(product)[0].value,
        monthly_payment=monthly,
        balloon_or_residual=balloon,
        total_cost=total_cost,
        ownership_at_end=Ownership.OWNS_AFTER_BALLOON if balloon > 0 else Ownership.OWNS,
        amount_to_own=balloon,
    )


def _quote_lease(c: _Ctx) -> Quote:
    product, vehicle, structure, lines, term = c.product, c.vehicle, c.structure, c.lines, c.term
    down, rebate, customer_rate, lender_rate = c.down, c.rebate, c.customer_rate, c.lender_rate
    spec = product.lease
    assert spec is not None
    ccy = currency(product.currency)
    cash = vehicle.price - rebate - down
    cash_services = sum((s.price for s in lines if not s.financed), ZERO)
    financed_services = sum((s.price for s in lines if s.financed), ZERO)
    financed_fees = sum(
        (round_money(_fee_amount(f, cash), ccy) for f in product.fees if f.financed and not f.per_period),
        ZERO,
    )
    upfront_fees = sum(
        (round_money(_fee_amount(f, cash), ccy) for f in product.fees if not f.financed and not f.per_period),
        ZERO,
    )
    notices: tuple[str, ...] = ()
    contract: lease_math.ConsumerLeaseDisclosure | lease_math.FinanceLeaseSchedule
    if spec.type == "closed_end":
        residual_pct = spec.residual_pct_of_msrp.get(term)
        if residual_pct is None:
            raise ValidationError(
                "structure.term",
                term,
                f"product {product.id} has residuals for terms {_names(sorted(spec.residual_pct_of_msrp))}",
            )
        charges = [lease_math.LeaseCharge("Acquisition fee", spec.acquisition_fee, capitalized=True)]
        charges += [
            lease_math.LeaseCharge(f"service:{s.id}", s.price, capitalized=True)
            for s in lines
            if s.financed and s.price
        ]
        charges += [
            lease_math.LeaseCharge(f.name, round_money(_fee_amount(f, cash), ccy), capitalized=f.financed)
            for f in product.fees
            if not f.per_period
        ]

        def closed(rate: Decimal) -> lease_math.ConsumerLeaseDisclosure:
            return lease_math.closed_end_lease(
                lease_math.ConsumerLeaseTerms(
                    agreed_upon_value=vehicle.price,
                    term_months=term,
                    residual_percent=residual_pct,
                    msrp=vehicle.msrp,
                    money_factor=lease_math.money_factor_from_lease_rate(rate),
                    charges=tuple(c for c in charges if c.amount > 0),
                    cash_down=down,
                    rebates=rebate,
                    tax_rate=spec.tax_rate,
                    disposition_fee=spec.disposition_fee,
                    currency=product.currency,
                )
            )

        lease = closed(customer_rate)
        contract = lease
        subv = ZERO
        if customer_rate < lender_rate:
            # What the lessor gives up: the base payments it would have earned at its own rate, less
            # those it gets, valued at its rate (payments monthly in advance).
            gap = closed(lender_rate).base_periodic_payment - lease.base_periodic_payment
            i = lender_rate / 12
            factor = (
                Decimal(term)
                if i == 0
                else CONTEXT.divide(ONE - CONTEXT.power(ONE + i, -term), i) * (ONE + i)
            )
            subv = round_money(gap * factor, ccy)
        monthly = lease.total_periodic_payment
        residual = lease.residual_value
        # Reg M's total of payments counts the rebate inside the amount due at signing; the
        # customer does not pay it.
        total_cost = lease.total_of_payments - lease.capitalized_cost_reduction + down + cash_services
        amount_financed = lease.adjusted_capitalized_cost
        rates: dict[str, Decimal | None] = {"lease_rate": lease.lease_rate}
        label = "lease_rate"
        ownership = Ownership.RETURNS_OR_BUYS_AT_RESIDUAL
        notices = (lease_math.RATE_NOTICE,)
        lease_type: Literal["closed_end", "finance"] = "closed_end"
    else:

        def fin(rate: Decimal) -> lease_math.FinanceLeaseSchedule:
            return lease_math.finance_lease(
                lease_math.FinanceLeaseTerms(
                    asset_price=vehicle.price - rebate + financed_services + financed_fees,
                    lease_rate=rate,
                    term_months=term,
                    down_payment=down,
                    timing=product.timing,
                    purchase_option_price=spec.purchase_option_price,
                    handling_fee=upfront_fees,
                    start_date=structure.start_date,
                    currency=product.currency,
                )
            )

        fl = fin(customer_rate)
        contract = fl
        subv = ZERO
        if customer_rate < lender_rate:
            # The loan engine's subvention on the rent schedule: rents as instalments, the purchase
            # option as the balloon (the engine rolls finance leases the same way).
            as_loan = build_schedule(
                LoanTerms(
                    currency=product.currency,
                    loan_amount=fl.financed_amount,
                    annual_rate=customer_rate,
                    term=term,
                    start_date=structure.start_date,
                    timing=product.timing,
                    balloon=Balloon(amount=fl.purchase_option_price) if fl.purchase_option_price else None,
                )
            )
            subv = subvention(as_loan, lender_rate)
        monthly = fl.level_rent
        residual = fl.purchase_option_price
        total_cost = down + upfront_fees + cash_services + fl.total_rent + fl.purchase_option_price
        amount_financed = fl.financed_amount
        rates = {"cn_irr": fl.annualised_rate}
        label = "cn_irr"
        ownership = Ownership.OWNS_AFTER_PURCHASE_OPTION
        lease_type = "finance"
    applied = _promo_costs(c.promos, lines, subv, product.currency)
    return Quote(
        product_id=product.id,
        product_version=product.version,
        catalogue_version=c.catalogue.version,
        kind="lease",
        lease_type=lease_type,
        currency=product.currency,
        price=vehicle.price,
        down_payment=down,
        amount_financed=amount_financed,
        ltv=c.ltv,
        term=term,
        services=lines,
        promotions=applied,
        customer_rate=customer_rate,
        lender_rate=lender_rate,
        subvention=subv,
        conditions=c.conditions,
        contract=contract,
        disclosure=None,
        rates=rates,
        rate_label=label,
        monthly_payment=monthly,
        balloon_or_residual=residual,
        total_cost=total_cost,
        ownership_at_end=ownership,
        amount_to_own=residual,
        notices=notices,
    )


# -- comparison and JSON -----------------------------------------------------------------------------

_RATE_LABELS = {
    "us_regz": "APR (Regulation Z)",
    "cn_irr": "annualised rate (IRR, PBoC [2021] No. 3)",
    "eu_aprc": "APRC (Directive 2008/48/EC)",
    "lease_rate": "lease rate (not an APR)",
}


def _rate_number(rate: Decimal | None) -> float | None:
    return None if rate is None else float(rate.quantize(Decimal("1e-10")))


def compare(quotes: Sequence[Quote]) -> list[dict[str, Any]]:
    """Side-by-side rows, JSON-ready (money as strings, rates as numbers with their method label).

    A lease's rate is labelled as a lease rate / annualised lease cost, never as an APR.
    """
    rows: list[dict[str, Any]] = []
    for q in quotes:
        label = q.rate_label
        method = _RATE_LABELS.get(label, label)
        if q.kind == "lease" and label == "cn_irr":
            method = "annualised lease cost (IRR; not an APR)"
        rows.append(
            {
                "product": q.product_id,
                "product_version": q.product_version,
                "kind": q.kind if q.lease_type is None else f"{q.lease_type}_lease",
                "currency": q.currency,
                "monthly_payment": str(q.monthly_payment),
                "term": q.term,
                "down_payment": str(q.down_payment),
                "balloon_or_residual": str(q.balloon_or_residual),
                "total_cost": str(q.total_cost),
                "rate": _rate_number(q.headline_rate),
                "rate_method": label,
                "rate_label": method,
                "ownership_at_end": q.ownership_at_end.value,
                "amount_to_own": str(q.amount_to_own),
            }
        )
    return rows


def quote_json(q: Quote) -> dict[str, Any]:
    """The whole quote as JSON-ready data (money as strings, rates as numbers, dates as ISO strings)."""
    if isinstance(q.contract, Schedule):
        contract = loan_contract(q.contract, [AprMethod(m) for m in q.rates])
    else:
        contract = {"kind": "lease", "type": q.lease_type, **jsonable(q.contract)}
    return {
        "product": {"id": q.product_id, "version": q.product_version},
        "catalogue_version": q.catalogue_version,
        "kind": q.kind,
        "lease_type": q.lease_type,
        "currency": q.currency,
        "price": str(q.price),
        "down_payment": str(q.down_payment),
        "amount_financed": str(q.amount_financed),
        "ltv": _rate_number(q.ltv),
        "term": q.term,
        "services": [jsonable(s) for s in q.services],
        "promotions": [jsonable(p) for p in q.promotions],
        "customer_rate": _rate_number(q.customer_rate),
        "lender_rate": _rate_number(q.lender_rate),
        "subvention": str(q.subvention),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in q.conditions],
        "rates": {k: _rate_number(v) for k, v in q.rates.items()},
        "rate_method": q.rate_label,
        "monthly_payment": str(q.monthly_payment),
        "balloon_or_residual": str(q.balloon_or_residual),
        "total_cost": str(q.total_cost),
        "ownership_at_end": q.ownership_at_end.value,
        "amount_to_own": str(q.amount_to_own),
        "notices": list(q.notices),
        "contract": contract,
    }


# -- sample inputs (docs, tests, benchmarks) ---------------------------------------------------------

#: A sample 5-year LPR path (3.60 % from 20 Oct 2024, 3.50 % from 20 May 2025, as published by the
#: National Interbank Funding Center) for quoting floating CN products in examples and benchmarks.
SAMPLE_MARKET = Market(
    benchmarks={
        "LPR_5Y": [
            RatePoint(date=date(2024, 10, 21), rate=Decimal("0.036")),
            RatePoint(date=date(2025, 5, 20), rate=Decimal("0.035")),
        ]
    }
)

_SAMPLE = {
    "CNY": ("BYD", "Seal", Decimal(200_000)),
    "USD": ("Toyota", "RAV4", Decimal(35_000)),
}


def sample_inputs(
    product: Product, start_date: date, rng: Any | None = None
) -> tuple[VehicleInfo, StructureRequest, ApplicantInfo]:
    """A vehicle, structure and applicant that ``product``'s own rules accept.

    Deterministic without ``rng``: the first allowed value of every filter, the shortest term, the
    product's minimum down payment (raised to meet its LTV cap) and default balloon. With ``rng`` (a
    :class:`random.Random`) the term, down payment, balloon, score and price are drawn within the rules.
    ``start_date`` is moved into the product's effective window. Rate-table coverage, services and
    promotions are not considered (``quote`` still checks everything).
    """

    def pick(options: Sequence[Any] | None, default: Any) -> Any:
        if not options:
            return default
        return options[0] if rng is None else rng.choice(list(options))

    e = product.eligibility
    f = e.vehicle or VehicleFilter()
    brand, model, price = _SAMPLE.get(product.currency, ("Generic", "Car", Decimal(100_000)))
    brand = pick(f.brands, brand)
    model = pick(f.models, model)
    if rng is not None:
        price = (price * Decimal(rng.randint(60, 160)) / 100).quantize(Decimal(100))
    if f.price is not None:
        lo = f.price.min if f.price.min is not None else price
        hi = f.price.max if f.price.max is not None else max(price, lo)
        price = min(max(price, lo), hi)
    condition = pick(f.condition, "new")
    vehicle = VehicleInfo(
        brand=brand,
        model=model,
        condition=condition,
        vehicle_class=pick(f.vehicle_class, "mid"),
        powertrain=pick(f.powertrain, "nev" if product.currency == "CNY" else "ice"),
        use=pick(f.use, "passenger"),
        msrp=(price * Decimal("1.05")).quantize(Decimal(1)),
        price=price,
        age_years=0 if condition == "new" else min(3, f.max_age_years if f.max_age_years is not None else 3),
    )
    age = 35
    if e.applicant_age is not None:
        lo_age = int(e.applicant_age.min) if e.applicant_age.min is not None else 18
        hi_age = int(e.applicant_age.max) if e.applicant_age.max is not None else 70
        age = min(max(age, lo_age), hi_age)
    score = 720 if rng is None else rng.randint(600, 850)
    if e.min_bureau_score is not None:
        score = max(score, e.min_bureau_score)
    applicant = ApplicantInfo(
        customer_type=pick(e.customer_types, "individual"),
        segments=[pick(e.segments, "")] if e.segments else [],
        channel=pick(e.channels, "dealer"),
        region=pick(e.regions, None),
        bureau_score=score,
        age=age,
    )
    terms = list(product.terms)
    if product.lease is not None and product.lease.type == "closed_end":
        terms = [t for t in terms if t in product.lease.residual_pct_of_msrp] or terms
    term = min(terms) if rng is None else rng.choice(terms)
    dp_min = product.down_payment.min if product.down_payment.min is not None else ZERO
    dp_max = product.down_payment.max if product.down_payment.max is not None else Decimal("0.9")
    # Leave room for financed fees under the LTV cap.
    dp_min = min(max(dp_min, ONE - product.max_ltv + Decimal("0.02")), dp_max)
    dp = dp_min
    if rng is not None:
        dp = (dp_min + (min(dp_max, dp_min + Decimal("0.3")) - dp_min) * Decimal(rng.random())).quantize(
            Decimal("0.01")
        )
        dp = min(max(dp, dp_min), dp_max)
    balloon = None
    if product.balloon is not None and rng is not None:
        b = product.balloon
        balloon = (
            b.min_pct_of_price + (b.max_pct_of_price - b.min_pct_of_price) * Decimal(rng.random())
        ).quantize(Decimal("0.01"))
        balloon = min(max(balloon, b.min_pct_of_price), b.max_pct_of_price)
    start = max(start_date, product.effective.start)
    structure = StructureRequest(term=term, down_payment_pct=dp, balloon_pct=balloon, start_date=start)
    return vehicle, structure, applicant
