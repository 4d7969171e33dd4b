"""The quoting vocabulary: what a quote request is made of and what a quote returns.

The request side is a set of frozen pydantic models — the vehicle (:class:`VehicleInfo`), the applicant
(:class:`ApplicantInfo`), the requested structure (:class:`StructureRequest`, with an optional
:class:`GraceRequest`) and the market data passed in at quote time (:class:`Market`). The result side is
plain frozen dataclasses — the :class:`Quote` itself with its :class:`ServiceLine` and
:class:`AppliedPromotion` lines and the end-of-contract :class:`Ownership` — plus the immutable promotion
:class:`BudgetLedger`. No rules and no maths live here: see :mod:`autofin.catalog.quote`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autofin.catalog.models import (
    Channel,
    Condition_,
    CustomerType,
    Powertrain,
    ProductCondition,
    Promotion,
    PromotionKind,
    Use,
    VehicleClass,
)
from autofin.errors import ValidationError
from autofin.finance import lease as lease_math
from autofin.finance.disclosure import LoanDisclosure
from autofin.finance.schedule import Schedule
from autofin.finance.terms import GraceKind, RatePoint

__all__ = [
    "ApplicantInfo",
    "AppliedPromotion",
    "BudgetLedger",
    "GraceRequest",
    "Market",
    "Ownership",
    "PricingBasis",
    "Quote",
    "ServiceLine",
    "StructureRequest",
    "VehicleInfo",
]

ZERO = Decimal(0)

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
    allow it, else paid in cash at signing. ``dealer_markup`` is the dealer's markup over the lender's
    buy rate (annual decimal, ``0.01`` = 100 bp; default 0), capped by the markup policy
    (docs/pricing-caps.md).
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
    dealer_markup: Annotated[Decimal, Field(gt=-1, lt=1)] = ZERO

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
class PricingBasis:
    """What a quote was priced on, kept so it can be re-checked at contract time.

    ``quoted_on`` is the quote date; ``rate_lock_until`` the last day its buy rate is honoured if the
    rate sheet changes. ``region`` and ``channel`` are the applicant's (state caps, markup channels);
    ``bureau_score``, ``condition``, ``requested_term`` (months, before any extended-term promotion)
    and ``ltv`` are the rate-sheet lookup keys; ``vehicle_age_years`` selects a state cap's vehicle
    class; ``promotional`` is true when a promotion set the customer rate.
    """

    quoted_on: date
    rate_lock_until: date
    jurisdiction: str
    region: str | None
    channel: str
    bureau_score: int | None
    condition: str
    vehicle_age_years: int
    requested_term: int
    ltv: Decimal
    promotional: bool


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

    Rate sheet and dealer: :attr:`buy_rate` is the lender's rate from its rate sheet (``lender_rate``),
    ``dealer_markup`` what the dealer added on top (annual decimal), :attr:`contract_rate` the rate
    the customer signs (``customer_rate``: buy rate + markup, or a promotional rate);
    ``dealer_participation`` is the share of the markup's extra finance charge paid to the dealer and
    ``dealer_reserve`` that amount (currency units). ``basis`` records what the quote was priced on,
    for :func:`autofin.catalog.contracts.verify_at_contract`.
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
    dealer_markup: Decimal = ZERO
    dealer_participation: Decimal = ZERO
    dealer_reserve: Decimal = ZERO
    basis: PricingBasis | None = None

    @property
    def headline_rate(self) -> Decimal | None:
        return self.rates.get(self.rate_label)

    @property
    def buy_rate(self) -> Decimal:
        """The lender's rate-sheet rate (annual decimal), before any dealer markup or promotion."""
        return self.lender_rate

    @property
    def contract_rate(self) -> Decimal:
        """The annual rate on the contract: buy rate + dealer markup, or the promotional rate."""
        return self.customer_rate


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
