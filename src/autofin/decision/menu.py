"""The offer-menu solver: the best few exact offers for one application, and counter-offers.

:func:`solve_menu` searches product × term × down payment × balloon for the catalogue products the
applicant and vehicle are eligible for (the catalogue's own :func:`~autofin.catalog.rules.check_eligibility`),
and works in two passes:

1. **Screen** every structure cheaply: the rate from the catalogue's rate lookup
   (:func:`~autofin.catalog.pricing.price_rate`), the payment by the level-annuity formula with a balloon
   (lease: the residual) in floats, the amount financed as price − down payment + financed services and
   fees, then the product's down-payment / LTV rules, the policy limits and the limits of
   :func:`~autofin.decision.affordability.assess`. The screen is an *estimate*: it only orders and
   prunes; a structure whose estimated payment is within :data:`SCREEN_SLACK` of the affordable payment
   goes on to the exact pass rather than being dropped. It is fast because it does each piece of work
   once: amounts in whole minor units (every limit compares exactly), the payment limits as
   :func:`~autofin.decision.affordability.payment_caps` once per application, the rate once per
   product and rate-sheet row (what the lookup depends on within one menu; read off the row where
   ``price_rate`` would only add the margin, once per rate source), the services once per product
   unless priced by term (once for products alike in currency and service policy), what a down
   payment implies (amount financed, product and policy limits) once per product (once for products
   alike in fees, down-payment range and maximum LTV), trace rows without formatting (a structure
   that passes is its own row); it decides every structure as calling ``price_rate`` and ``assess``
   on it would.
2. **Exact**: :func:`~autofin.catalog.quote.quote` (schedule, APR / annualised rate, disclosures, caps)
   for the best candidates only, in screen order: first the request as asked, until it passes on one
   product (the screen settles it without a quote only where it fails an exact limit: LTV, policy,
   age at maturity); then the menu until it is full or ``max_exact`` quotes are spent; then
   counter-offers (a kind of change already offered is not quoted again). Each exact quote is
   re-assessed in full (affordability, policy limits), computed at most once per structure, and only
   passing ones become offers. Nothing is offered on an estimate.

Offers are ranked by fit to the wishes (budget payment, down payment, term, ownership preference) and,
when :class:`~autofin.pricing.buildup.PricingAssumptions` and a PD are given, lender value (NPV per unit
of amount financed, :func:`~autofin.pricing.buildup.offer_economics`). When the request *as asked* (the
wished term and down payment on the eligible products of the wished ownership) passes nowhere, the menu
carries counter-offers: the nearest passing exact structures, each with what changed. ``tried`` traces
every structure with the stage it stopped at and why.

Units: money is ``Decimal`` in the application's currency (major units); rates and ratios are annual /
plain decimals; terms in months. Pure: no I/O. Guide: docs/decisions-menu.md.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from operator import itemgetter
from typing import Final, Literal, NamedTuple, overload

from autofin.catalog.models import Catalogue, Product, Range, RateTable
from autofin.catalog.pricing import price_rate, service_lines
from autofin.catalog.quote import quote
from autofin.catalog.quote_types import ApplicantInfo, Market, Quote, StructureRequest, VehicleInfo
from autofin.catalog.rules import check_eligibility
from autofin.decision.affordability import (
    AffordabilityLimits,
    AffordabilityResult,
    Assessor,
    PaymentCaps,
    payment_caps,
)
from autofin.decision.application import (
    Application,
    quote_affordability,
    to_affordability,
    to_quote_inputs,
    to_structure_request,
)
from autofin.decision.policy import PolicyLimits
from autofin.errors import ValidationError
from autofin.finance.terms import PaymentTiming
from autofin.money import CONTEXT, Rounding, currency, round_money
from autofin.pricing.buildup import PricingAssumptions, offer_economics

__all__ = [
    "SCREEN_SLACK",
    "Change",
    "CounterOffer",
    "Menu",
    "MenuWeights",
    "Offer",
    "Structure",
    "Tried",
    "has_disclosure",
    "solve_menu",
]

ZERO: Final = Decimal(0)
#: A screened payment up to this fraction above the affordable payment still goes to the exact pass
#: (the float annuity is an estimate: step-up, equal-principal and flat-rate products differ from it).
SCREEN_SLACK: Final = 0.03
#: Grid of down-payment shares tried on every product (within the product's range), besides the
#: product's minimum, the wished down payment and the smallest down payments that meet the limits.
DOWN_SHARES: Final = tuple(Decimal(k) / 10 for k in range(1, 10))
#: Down payments the solver proposes itself are rounded up to this multiple (currency units).
DOWN_STEP: Final = Decimal(100)
_PAYMENT_CODES: Final = frozenset({"PTI_HIGH", "DTI_HIGH", "RESIDUAL_INCOME_LOW"})
CENT: Final = Decimal("0.01")
#: Screen reason codes that the exact pass would give too: the screen's amount financed, down payment
#: and term are the quote's, so these limits are not estimates.
_EXACT_CODES: Final = frozenset(
    {
        "PRODUCT_MAX_LTV",
        "POLICY_MAX_AMOUNT_FINANCED",
        "POLICY_MIN_DOWN_PAYMENT",
        "LTV_HIGH",
        "AGE_AT_MATURITY_HIGH",
    }
)
ONE: Final = Decimal(1)

Stage = Literal["eligibility", "screen", "asked", "exact"]
ChangeField = Literal["down_payment", "term", "balloon", "ownership"]


@dataclass(frozen=True, slots=True)
class MenuWeights:
    """Penalty weights of the fit score (higher score = better; a perfect fit scores 0 before value).

    ``budget``: per unit of relative excess of the payment over the budget (``payment / budget − 1``);
    ``down_payment``: per unit of |down payment − wished| / price; ``term``: per 12 months away from the
    wished term; ``ownership``: once, when the structure is not the wished ownership; ``value``: per unit
    of NPV / amount financed (only with pricing assumptions and a PD).
    """

    budget: float = 100.0
    down_payment: float = 50.0
    term: float = 5.0
    ownership: float = 10.0
    value: float = 100.0


@dataclass(frozen=True, slots=True)
class Structure:
    """One structure of one product. ``down_payment`` in currency units; ``balloon_pct`` a fraction of
    the price (``None``: the product has no balloon rule); ``term`` in months."""

    product_id: str
    term: int
    down_payment: Decimal
    balloon_pct: Decimal | None

    def request(self, base: StructureRequest) -> StructureRequest:
        """``base`` (services, start date, …) with this term, down payment and balloon."""
        return base.model_copy(
            update={
                "term": self.term,
                "down_payment": self.down_payment,
                "down_payment_pct": None,
                "balloon_pct": self.balloon_pct,
            }
        )


@dataclass(frozen=True, slots=True)
class Tried:
    """One step of the trace: a product refused for eligibility (``structure`` is ``None``), or a
    structure screened / quoted, whether it passed, the reason codes and a message. ``payment`` is the
    screened (estimated) or exact monthly payment when one was computed."""

    stage: Stage
    product_id: str
    structure: Structure | None
    passed: bool
    reasons: tuple[str, ...] = ()
    message: str = ""
    payment: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """An exact, affordable offer. ``payment`` is the highest regular instalment; ``pti``, ``dti`` and
    ``ltv`` are the affordability measures of the exact quote; ``npv`` (currency) when priced."""

    product_id: str
    structure: Structure
    quote: Quote
    payment: Decimal
    pti: Decimal
    dti: Decimal
    ltv: Decimal
    affordability: AffordabilityResult
    score: float
    npv: float | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What a counter-offer changes relative to the request as asked."""

    field: ChangeField
    asked: object
    offered: object
    text: str


@dataclass(frozen=True, slots=True)
class CounterOffer:
    """A passing offer near the request, the changes that make it pass, and its distance (lower is
    nearer, in the units of :class:`MenuWeights`)."""

    offer: Offer
    changes: tuple[Change, ...]
    distance: float


@dataclass(frozen=True, slots=True)
class Menu:
    """The solver's answer: ``offers`` best first, whether the request as asked passed, the
    ``counter_offers`` (only when it did not), the full ``tried`` trace (a :class:`Trace` from
    :func:`solve_menu`), how many structures were screened and how many exact quotes were computed."""

    offers: tuple[Offer, ...]
    request_passed: bool
    counter_offers: tuple[CounterOffer, ...]
    tried: Sequence[Tried]
    screened: int
    exact_quotes: int


def has_disclosure(q: Quote) -> bool:
    """Whether a quote carries its disclosure: a loan's disclosure, or a lease's disclosed rate."""
    if q.kind == "loan":
        return q.disclosure is not None
    return q.headline_rate is not None


# -- internals ---------------------------------------------------------------------------------------


def _ownership_ok(preference: str, product: Product, balloon_pct: Decimal | None) -> bool:
    if preference == "any":
        return True
    if preference == "lease":
        return product.kind == "lease"
    has_balloon = balloon_pct is not None and balloon_pct > 0
    if preference == "balloon":
        return product.kind == "loan" and has_balloon
    return product.kind == "loan" and not has_balloon


def _principal_for(payment: float, rate: float, term: int, balloon: float, advance: bool) -> float:
    """The amount (currency) a level ``payment`` at annual ``rate`` over ``term`` months with a final
    ``balloon`` repays; an annuity-due (advance) payment when ``advance``. The inverse of the screen's
    payment (:func:`_screen_downs`)."""
    r = rate / 12.0
    if r == 0.0:
        return payment * term + balloon
    v = (1.0 + r) ** -term
    pmt = payment * (1.0 + r) if advance else payment
    return pmt * (1.0 - v) / r + balloon * v


def _new_tried(
    stage: Stage,
    product_id: str,
    structure: Structure | None,
    passed: bool,
    reasons: tuple[str, ...],
    message: str,
    payment: Decimal | None,
) -> Tried:
    """``Tried(...)`` without the frozen dataclass's per-field ``object.__setattr__`` (a third of its
    cost): the screen makes one per structure. Equal to, and hashing like, the ordinary instance."""
    t = _object_new(Tried)
    _set_stage(t, stage)
    _set_product(t, product_id)
    _set_structure(t, structure)
    _set_passed(t, passed)
    _set_reasons(t, reasons)
    _set_message(t, message)
    _set_payment(t, payment)
    return t


def _new_structure(
    product_id: str, term: int, down_payment: Decimal, balloon_pct: Decimal | None
) -> Structure:
    """``Structure(...)`` the fast way (see :func:`_new_tried`)."""
    s = _object_new(Structure)
    _set_s_product(s, product_id)
    _set_s_term(s, term)
    _set_s_down(s, down_payment)
    _set_s_balloon(s, balloon_pct)
    return s


#: One screen row of the trace as the screen records a refused structure: product, term, down
#: payment, balloon share, passed, reason codes, message and the estimated payment (whole cents as an
#: ``int``, or the amount). A structure that passes is recorded as its :class:`_Candidate`.
_ScreenRow = tuple[str, int, Decimal, Decimal | None, bool, tuple[str, ...], str, int | Decimal | None]


#: A screened structure as :meth:`Trace.screened` gives it (stage ``"screen"``): product, term, down
#: payment, balloon share, passed, reason codes, message and the estimated payment.
ScreenedRow = tuple[str, int, Decimal, Decimal | None, bool, tuple[str, ...], str, Decimal | None]


def _payment(paid: int | Decimal | None) -> Decimal | None:
    """The payment of a screen row: whole cents (``int``) as an amount with two decimals."""
    return Decimal(paid).scaleb(-2) if isinstance(paid, int) else paid


def _tried_of(row: Tried | _ScreenRow | _Candidate) -> Tried:
    kind = type(row)
    if kind is tuple:
        r: _ScreenRow = row  # type: ignore[assignment]
        pid, term, down, balloon_pct, passed, reasons, message, paid = r
        structure = _new_structure(pid, term, down, balloon_pct)
        return _new_tried("screen", pid, structure, passed, reasons, message, _payment(paid))
    if kind is _Candidate:  # the row (pid, term, down, balloon_pct, True, (), "estimated", paid)
        c: _Candidate = row  # type: ignore[assignment]
        return _new_tried("screen", c.product_id, c.structure, True, (), "estimated", _payment(c.paid))
    return row  # type: ignore[return-value]


class Trace(Sequence[Tried]):
    """A menu's trace: every product refused and structure screened or quoted, in order
    (:class:`Tried`), built on first read. The screen records a few hundred rows per menu as plain
    tuples (and the structures that pass as their candidates), and most decisions never read them
    before they are stored; :meth:`verdicts` reads what the decision's reasons need without building
    them."""

    __slots__ = ("_built", "_raw")

    def __init__(self, rows: Sequence[Tried | _ScreenRow | _Candidate] = ()) -> None:
        self._raw: Sequence[Tried | _ScreenRow | _Candidate] = rows
        self._built: tuple[Tried, ...] | None = None

    def _items(self) -> tuple[Tried, ...]:
        built = self._built
        if built is None:
            # The rows are kept: a reader in another thread may be counting or reading them now.
            built = self._built = tuple(map(_tried_of, self._raw))
        return built

    @overload
    def __getitem__(self, index: int) -> Tried: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Tried, ...]: ...
    def __getitem__(self, index: int | slice) -> Tried | tuple[Tried, ...]:
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._raw) if self._built is None else len(self._built)

    def __iter__(self) -> Iterator[Tried]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return self._items() == other._items()
        if isinstance(other, tuple):
            return self._items() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items())

    def __repr__(self) -> str:
        return f"Trace({len(self)} rows)"

    def screened(self) -> Iterator[Tried | ScreenedRow]:
        """Every row in order without building it: a screened structure (refused or passed) as a
        :data:`ScreenedRow` with the fields its :class:`Tried` and :class:`Structure` would have,
        anything else as its :class:`Tried`."""
        for row in self._raw:
            kind = type(row)
            if kind is tuple:
                r: _ScreenRow = row  # type: ignore[assignment]
                pid, term, down, balloon_pct, passed, reasons, message, paid = r
                yield pid, term, down, balloon_pct, passed, reasons, message, _payment(paid)
            elif kind is _Candidate:
                c: _Candidate = row  # type: ignore[assignment]
                yield (
                    c.product_id,
                    c.term,
                    c.down_payment,
                    c.balloon_pct,
                    True,
                    (),
                    "estimated",
                    _payment(c.paid),
                )
            else:
                yield row  # type: ignore[misc]

    def verdicts(self) -> Iterator[tuple[Stage, bool, tuple[str, ...]]]:
        """(stage, passed, reason codes) of every row, in order."""
        if self._built is not None:
            for t in self._built:
                yield t.stage, t.passed, t.reasons
            return
        for row in self._raw:
            kind = type(row)
            if kind is tuple:
                r: _ScreenRow = row  # type: ignore[assignment]
                yield "screen", r[4], r[5]
            elif kind is _Candidate:
                yield "screen", True, ()
            else:
                yield row.stage, row.passed, row.reasons  # type: ignore[union-attr]


_object_new: Final = object.__new__
_tuple_new: Final = tuple.__new__
_set_stage, _set_product, _set_structure, _set_passed, _set_reasons, _set_message, _set_payment = (
    Tried.__dict__[f.name].__set__ for f in fields(Tried)
)
_set_s_product, _set_s_term, _set_s_down, _set_s_balloon = (
    Structure.__dict__[f.name].__set__ for f in fields(Structure)
)


#: What the screen needs about one down payment of a product with given financed services, whatever
#: the term and balloon: the amount, its working units, its term of the fit penalty, the amount
#: financed in working units and as a float, the reason codes of the product and policy limits it
#: fails (``None``: none), and whether it is above the vehicle's affordability LTV limit.
_Down = tuple[Decimal, int, float, int, float, tuple[str, ...] | None, bool]
#: What :func:`_down_grid` works out once per product and financed services (:func:`_fixed_grid`):
#: the down payments every term and balloon screens, those the product allows as :data:`_Down` in
#: increasing order, the cache of :func:`_down_info`, the services in working units, and price +
#: services.
_Grid = tuple[frozenset[Decimal], list[_Down], dict[Decimal, _Down | None], int, Decimal]


@dataclass(slots=True)
class _Plan:
    """What the screen needs about one product, worked out once per menu. Amounts in working units
    (see :class:`_Screen`)."""

    product: Product
    advance: bool
    #: financed fees that do not depend on the cash price (rounded), and the shares (as integer
    #: ratios ``p / q``) of those that do
    flat_fees: int
    pct_fees: tuple[tuple[int, int], ...]
    max_ltv: tuple[int, int]
    #: the product's smallest down payment (:func:`_down_floor`)
    floor: Decimal
    #: all that :func:`_fixed_grid` and :func:`_down_info` read about the product: its down-payment
    #: range, ``flat_fees``, ``pct_fees`` and maximum LTV (the smallest down payment is the range's
    #: minimum rounded; every amount derived from the maximum LTV is rounded to the currency's unit)
    grid_key: tuple[Decimal | None, Decimal | None, int, tuple[tuple[int, int], ...], Decimal]
    #: down payments every term and balloon screens (the product minimum, the grid, the wished one)
    base_downs: frozenset[Decimal]
    #: whether the requested services' prices depend on the term (a service priced by term)
    services_by_term: bool = True
    #: the rate sheet's LTV bands that can match, by term, and the index in the rate table of the
    #: row of each (see :func:`_bands`)
    bands: dict[int, tuple[tuple[Range | None, ...], tuple[int, ...]] | None] = field(default_factory=dict)
    #: by financed services: the down payments screened whatever the term and balloon
    #: (``base_downs`` and the smallest ones that meet the product, vehicle and policy LTV limits),
    #: the allowed ones sorted, and each down payment the product allows (:data:`_Down`; ``None`` for
    #: one it does not allow): see :data:`_Grid`
    base_grid: dict[Decimal, _Grid] = field(default_factory=dict)
    #: the financed services (or the refusal) by term (by 0 when they do not depend on the term)
    services: dict[int, Decimal | ValidationError] = field(default_factory=dict)
    #: all that :func:`~autofin.catalog.pricing.service_lines` reads about the product but for its id
    #: (which only its refusals name): its currency and service policy
    services_key: tuple[str, frozenset[str] | None, bool] = ("", None, True)
    #: the balloons screened (:func:`_balloons`; ``None``: not worked out yet)
    balloons: Sequence[Decimal | None] | None = None


@dataclass(frozen=True, slots=True)
class _Screen:
    """What the screen needs about the application and its limits, worked out once per menu.

    Amounts are whole working units (``int``; the currency's minor unit, or the cent where that is
    finer, as application money has two decimals), so that every limit compares exactly: a limit on
    an amount ``a`` becomes ``a <= floor(limit)`` or ``a >= ceil(limit)``; the payment limits of
    :func:`~autofin.decision.affordability.assess` are its
    :class:`~autofin.decision.affordability.PaymentCaps`.
    """

    scale: int  # working units per major unit: the minor unit, or the cent when that is finer
    per_quantum: int  # working units per minor unit of the currency
    price: Decimal
    price_minor: int
    price_f: float
    quantum: Decimal
    cents: bool
    max_amount: int | None  # policy: the largest amount financed
    min_down: int | None  # policy: the smallest down payment
    pti: int | None
    dti: int | None
    residual: int | None
    ltv_cap: Decimal | None  # the affordability LTV limit of the vehicle
    max_financed: int | None  # ltv_cap × price
    max_term: int | None  # the longest term within the age limit
    slack_payment: float | None  # the affordable payment plus SCREEN_SLACK
    budget: float | None
    asked_down: Decimal | None
    share_downs: tuple[Decimal, ...]  # the DOWN_SHARES of the price, rounded up
    lowest_cap: int | None  # the lowest of pti, dti and residual (no payment fails below it)
    #: the payment the down payments of the payment headroom aim at (the affordable payment less
    #: SCREEN_SLACK; ``None``: no positive affordable payment)
    target_payment: float | None
    #: the policy's smallest down payment rounded up to DOWN_STEP (``None``: no such limit above 0)
    policy_down: Decimal | None


@dataclass(slots=True)
class _Context:
    app: Application
    catalogue: Catalogue
    market: Market | None
    limits: AffordabilityLimits
    policy: PolicyLimits | None
    weights: MenuWeights
    applicant: ApplicantInfo
    vehicle: VehicleInfo
    base: StructureRequest
    day: date
    max_payment: Decimal | None
    screen: _Screen
    assumptions: PricingAssumptions | None
    pd: float | Sequence[float] | None
    #: :func:`~autofin.decision.affordability.assess` of the application's applicant under the limits
    assessor: Assessor
    tried: list[Tried | _ScreenRow | _Candidate] = field(default_factory=list)
    screened: int = 0
    exact: dict[Structure, Offer | Tried] = field(default_factory=dict)
    #: lender rates (or the refusal) by product, term and rate-sheet row: see :func:`_rate`
    rates: dict[tuple[str, int, int], Decimal | ValidationError] = field(default_factory=dict)
    requests: dict[int, StructureRequest] = field(default_factory=dict)
    #: what does not depend on the product about a down payment: its working units, its share of the
    #: price (``None`` unless 0 ≤ down < price) and its term of the fit penalty (see :func:`_down_info`)
    down_shares: dict[Decimal, tuple[int, Decimal | None, float]] = field(default_factory=dict)
    #: the request as asked, by product, and the screen's verdict on each (see :func:`solve_menu`)
    asked: dict[str, Structure] = field(default_factory=dict)
    asked_screen: dict[Structure, Tried | _Candidate] = field(default_factory=dict)
    #: whether the requested services' prices depend on the term (see :attr:`_Plan.services_by_term`;
    #: ``None``: not worked out yet)
    services_by_term: bool | None = None
    #: :func:`_fixed_grid` by :attr:`_Plan.grid_key` and financed services
    grids: dict[tuple[object, Decimal], _Grid] = field(default_factory=dict)
    #: the financed services by :attr:`_Plan.services_key` and term (see :attr:`_Plan.services`)
    services: dict[tuple[tuple[str, frozenset[str] | None, bool], int], Decimal] = field(default_factory=dict)
    #: :func:`_rate_for_group` rates of products that do not float, by rate source and term
    group_rates: dict[tuple[Decimal | None, str | None, Decimal, int], Decimal] = field(default_factory=dict)
    #: :func:`_sheet_rate` by the rate source (fixed rate, table, margin) and row
    sheet: dict[tuple[Decimal | None, str | None, Decimal, int], Decimal | None] = field(default_factory=dict)


def _minor(x: Decimal, scale: int) -> int:
    """An amount in whole working units (``scale`` per major unit; it must be a whole number of them)."""
    n = x * scale
    assert n == n.to_integral_value(), x
    return int(n)


def _screen_constants(app: Application, limits: AffordabilityLimits, policy: PolicyLimits | None,
                      caps: PaymentCaps, max_payment: Decimal | None) -> _Screen:  # fmt: skip
    price, v = app.vehicle.price, app.vehicle
    cur = currency(app.currency)
    # Application money has two decimals (cents) even in a currency without them: work in the finer.
    scale = 10 ** max(cur.minor_units, 2)
    ltv_cap, _ = limits.ltv_limit(v.use, v.condition, v.powertrain)
    age = limits.max_age_at_maturity
    budget = app.wishes.budget_monthly_payment

    def floor(x: Decimal | None) -> int | None:
        return None if x is None else math.floor(x * scale)

    pti, dti, residual = floor(caps.pti), floor(caps.dti), floor(caps.residual_income)
    caps_c = [cap for cap in (pti, dti, residual) if cap is not None]
    return _Screen(
        scale=scale, per_quantum=scale // 10**cur.minor_units, price=price, price_minor=_minor(price, scale),
        price_f=float(price),
        quantum=cur.quantum, cents=cur.minor_units == 2,
        max_amount=None if policy is None else floor(policy.max_amount_financed),
        min_down=None if policy is None else math.ceil(policy.min_down_payment_ratio * price * scale),
        pti=pti, dti=dti, residual=residual,
        ltv_cap=ltv_cap, max_financed=None if ltv_cap is None else floor(ltv_cap * price),
        max_term=None if age is None else age * 12 - app.applicant.age * 12,
        slack_payment=None if max_payment is None else float(max_payment) * (1 + SCREEN_SLACK),
        budget=None if budget is None else float(budget), asked_down=app.down_payment_amount,
        share_downs=tuple(round_money(price * s, cur, Rounding.UP) for s in DOWN_SHARES),
        lowest_cap=min(caps_c) if caps_c else None,
        target_payment=(
            float(max_payment) * (1 - SCREEN_SLACK) if max_payment is not None and max_payment > 0 else None
        ),
        policy_down=(
            _round_up(policy.min_down_payment_ratio * price, cur.quantum)
            if policy is not None and policy.min_down_payment_ratio * price > 0
            else None
        ),
    )  # fmt: skip


def _policy_reasons(policy: PolicyLimits | None, amount: Decimal, down: Decimal, price: Decimal) -> list[str]:
    if policy is None:
        return []
    out = []
    if amount > policy.max_amount_financed:
        out.append("POLICY_MAX_AMOUNT_FINANCED")
    if down < policy.min_down_payment_ratio * price:
        out.append("POLICY_MIN_DOWN_PAYMENT")
    return out


def _fit(ctx: _Context, product: Product, s: Structure, payment: float) -> float:
    """The fit penalty (≥ 0) of a structure with a given payment."""
    w, wishes, sc = ctx.weights, ctx.app.wishes, ctx.screen
    price = sc.price_f  # float(app.vehicle.price)
    penalty = 0.0
    if sc.budget is not None:  # float(wishes.budget_monthly_payment)
        penalty += w.budget * max(payment / sc.budget - 1.0, 0.0)
    asked_down = sc.asked_down  # app.down_payment_amount
    if asked_down is not None:
        penalty += w.down_payment * abs(float(s.down_payment - asked_down)) / price
    penalty += w.term * abs(s.term - wishes.term_months) / 12.0
    if not _ownership_ok(wishes.ownership, product, s.balloon_pct):
        penalty += w.ownership
    return penalty


def _distance(ctx: _Context, product: Product, s: Structure) -> float:
    """How far a structure is from the request as asked (the fit penalty without the budget)."""
    w, wishes, price = ctx.weights, ctx.app.wishes, float(ctx.app.vehicle.price)
    asked_down = ctx.app.down_payment_amount or ZERO
    d = w.down_payment * abs(float(s.down_payment - asked_down)) / price
    d += w.term * abs(s.term - wishes.term_months) / 12.0
    if not _ownership_ok(wishes.ownership, product, s.balloon_pct):
        d += w.ownership
    return d


def _balloons(product: Product, wished: Decimal | None = None) -> Sequence[Decimal | None]:
    """Balloons screened on a product: the rule's minimum, default and maximum, and the wished one when
    the rule allows it."""
    rule = product.balloon
    if rule is None or product.kind == "lease":
        return [None]
    values = {rule.min_pct_of_price, rule.max_pct_of_price}
    if rule.default_pct_of_price is not None:
        values.add(rule.default_pct_of_price)
    if wished is not None and rule.min_pct_of_price <= wished <= rule.max_pct_of_price:
        values.add(wished)
    return list(sorted(values))


def _down_floor(product: Product, price: Decimal, ccy: str) -> Decimal:
    share = product.down_payment.min if product.down_payment.min is not None else ZERO
    return round_money(price * share, ccy, Rounding.UP)


def _within(r: Range, value: Decimal) -> bool:
    """``r.contains(value)`` for a ``Decimal`` (without its round trip through ``str``)."""
    return (r.min is None or value >= r.min) and (r.max is None or value <= r.max)


def _plan(ctx: _Context, product: Product) -> _Plan:
    app, ccy, scale = ctx.app, ctx.app.currency, ctx.screen.scale
    price = app.vehicle.price
    flat, pct = ZERO, []
    for f in product.fees:
        if not f.financed or f.per_period:
            continue
        if f.amount is not None:
            flat += round_money(f.amount, ccy)
        else:
            assert f.pct_of_principal is not None
            pct.append(f.pct_of_principal.as_integer_ratio())
    if product.lease is not None and product.lease.type == "closed_end":
        flat += round_money(product.lease.acquisition_fee, ccy)
    sc = ctx.screen
    floor = _down_floor(product, price, ccy)
    downs = {floor, *sc.share_downs}
    if sc.asked_down is not None:
        downs.add(sc.asked_down)
    if sc.policy_down is not None:
        downs.add(sc.policy_down)
    by_term = ctx.services_by_term
    if by_term is None:  # the same for every product: the requested services and the catalogue's
        services = ctx.catalogue.services
        by_term = ctx.services_by_term = any(
            (svc := services.get(sid)) is not None and svc.price.by_term is not None
            for sid in ctx.base.services
        )
    flat_c, pct_fees = _minor(flat, scale), tuple(pct)
    dp, sp = product.down_payment, product.services
    return _Plan(product, product.timing == PaymentTiming.ADVANCE, flat_c, pct_fees,
                 product.max_ltv.as_integer_ratio(), floor,
                 (dp.min, dp.max, flat_c, pct_fees, product.max_ltv), frozenset(downs),
                 services_by_term=by_term,
                 services_key=(product.currency, None if sp.allowed is None else frozenset(sp.allowed),
                               sp.financeable))  # fmt: skip


def _round_up(need: Decimal, quantum: Decimal) -> Decimal:
    """``round_money(need, ccy, Rounding.UP, multiple=DOWN_STEP)``."""
    units = (need / DOWN_STEP).quantize(ONE, rounding=ROUND_UP, context=CONTEXT)
    return (units * DOWN_STEP).quantize(quantum, context=CONTEXT)


class _Candidate(NamedTuple):
    """A structure that passed the screen (its fields as in :class:`Structure`), its product, the
    estimated payment, the fit penalty, and the payment as the trace records it (see
    :data:`_ScreenRow`: the candidate is its own trace row)."""

    product_id: str
    term: int
    down_payment: Decimal
    balloon_pct: Decimal | None
    product: Product
    payment: float
    fit: float
    paid: int | Decimal

    @property
    def structure(self) -> Structure:
        """The structure (built on each read: the screen makes a few hundred candidates per menu, and
        the exact pass reads a few)."""
        return _new_structure(self.product_id, self.term, self.down_payment, self.balloon_pct)


# -- the rate lookup, cached ------------------------------------------------------------------------


def _bands(ctx: _Context, plan: _Plan, term: int) -> tuple[tuple[Range | None, ...], tuple[int, ...]] | None:
    """The LTV bands of the rate-sheet rows that can give this product's rate at ``term``, in the
    sheet's order up to the first row without a band, and the index in the table of each row
    (``None``: a fixed rate, whatever the term and LTV; no bands: no row can match, the lookup fails).

    Within one menu everything else :func:`~autofin.catalog.pricing.price_rate` reads is fixed (the
    score, the vehicle's condition, the day, the market), so its result depends only on the product
    and *which* row of the table is the first of these to contain the LTV (for a fixed rate, on the
    product alone): that is the cache key.
    """
    if term in plan.bands:
        return plan.bands[term]
    src = plan.product.rate
    out = None
    if src.fixed is None:
        table = ctx.catalogue.rate_tables.get(src.table or "")
        out = (
            ((), ())
            if table is None
            else _table_bands(table, ctx.applicant.bureau_score, ctx.vehicle.condition, term)
        )
    plan.bands[term] = out
    return out


_TableBands = tuple[tuple[Range | None, ...], tuple[int, ...]]
#: :func:`_table_bands` by the table's identity, score, condition and term; each entry holds its table
#: (so that the identity is not reused while it is cached). Cleared when it grows past
#: :data:`_TABLE_CACHE_SIZE` entries.
_TABLE_CACHE: Final[dict[tuple[int, int | None, str, int], tuple[RateTable, _TableBands]]] = {}
_TABLE_CACHE_SIZE: Final = 4096


def _table_bands(table: RateTable, bureau_score: int | None, condition: str, term: int) -> _TableBands:
    """The (LTV band, row index) of the rows of a rate table that match the score (or the table's
    ``no_score``), the vehicle's condition and the term, in the table's order up to the first row
    without an LTV band (none when the lookup cannot succeed). Cached across menus: a rate table is
    immutable."""
    key = (id(table), bureau_score, condition, term)
    hit = _TABLE_CACHE.get(key)
    if hit is not None and hit[0] is table:
        return hit[1]
    score = bureau_score if bureau_score is not None else table.no_score
    bands: list[Range | None] = []
    ids: list[int] = []
    if score is not None:
        at, at_term = Decimal(score), Decimal(term)
        for idx, row in enumerate(table.rows):
            if (
                _within(row.score, at)
                and (row.condition is None or condition in row.condition)
                and _within(row.term, at_term)
            ):
                bands.append(row.ltv)
                ids.append(idx)
                if row.ltv is None:
                    break
    out = (tuple(bands), tuple(ids))
    if len(_TABLE_CACHE) >= _TABLE_CACHE_SIZE:
        _TABLE_CACHE.clear()
    _TABLE_CACHE[key] = (table, out)
    return out


def _rate(ctx: _Context, plan: _Plan, term: int, ltv: Decimal) -> Decimal:
    """The lender's rate for this product, term and LTV (``price_rate``), cached by the rate-sheet row
    that gives it. A refusal is cached with it (it cannot depend on the LTV once a row matched), but
    not when no row matches (the message names the LTV). Raises ``ValidationError``."""
    bands = _bands(ctx, plan, term)
    band = -1  # a fixed rate: the same for every term
    if bands is not None:
        band = -2
        for r, idx in zip(*bands, strict=True):
            if r is None or _within(r, ltv):
                band = idx
                break
    return _band_rate(ctx, plan, term, band, ltv)


def _band_rate(ctx: _Context, plan: _Plan, term: int, band: int, ltv: Decimal) -> Decimal:
    """:func:`_rate` once the row is known: ``band`` the index of the rate-table row that gives it,
    −1 for a fixed rate, −2 when no row matches (then the lookup is asked at ``ltv``)."""
    key = (plan.product.id, term if band == -2 else 0, band)
    hit = ctx.rates.get(key)
    if hit is None and band != -2:
        hit = _sheet_rate(ctx, plan.product, band)
        if hit is not None:
            ctx.rates[key] = hit
    if hit is None:
        request = ctx.requests.get(term)
        if request is None:
            request = ctx.requests[term] = ctx.base.model_copy(update={"term": term})
        try:
            hit = price_rate(
                ctx.catalogue, plan.product, ctx.vehicle, ctx.applicant, request, ctx.market, ltv, ctx.day
            ).lender_rate
        except ValidationError as exc:
            hit = exc
        if band != -2:
            ctx.rates[key] = hit
    if isinstance(hit, ValidationError):
        raise hit
    return hit


def _sheet_rate(ctx: _Context, product: Product, row: int) -> Decimal | None:
    """What :func:`~autofin.catalog.pricing.price_rate` gives a fixed-rate product (``row`` −1) or the
    rate-table row ``row`` it settles on, when that is a rate: a product that does not float, a table
    in effect, a rate that is not negative (``None`` otherwise: ask ``price_rate``)."""
    src = product.rate
    if product.floating is not None:
        return None
    # Shared by products of the same rate source (the screen only reads the rate as a float).
    key = (src.fixed, src.table, src.margin, row)
    if key in ctx.sheet:
        return ctx.sheet[key]
    out: Decimal | None = None
    if row == -1:
        assert src.fixed is not None
        out = src.fixed + src.margin
    else:
        table = ctx.catalogue.rate_tables.get(src.table or "")
        if table is not None and table.effective.contains(ctx.day):
            out = table.rows[row].rate + src.margin
    if out is not None and out < 0:
        out = None
    ctx.sheet[key] = out
    return out


def _rate_for_group(ctx: _Context, plan: _Plan, term: int) -> Decimal | ValidationError | None:
    """The rate (or refusal) of every structure of this product and term when it cannot depend on
    the LTV (``None``: it can, look it up per structure).

    A rate of a product that does not float is the rate sheet's (:func:`_sheet_rate`): the same for
    every product of the same rate source at this term, so it is shared (a refusal is not: its
    message may name the product)."""
    src = plan.product.rate
    shared = (src.fixed, src.table, src.margin, term) if plan.product.floating is None else None
    if shared is not None and (hit := ctx.group_rates.get(shared)) is not None:
        return hit
    out = _group_rate(ctx, plan, term)
    if shared is not None and isinstance(out, Decimal):
        ctx.group_rates[shared] = out
    return out


def _group_rate(ctx: _Context, plan: _Plan, term: int) -> Decimal | ValidationError | None:
    """:func:`_rate_for_group`, worked out."""
    bands = _bands(ctx, plan, term)
    if bands is None:
        band = -1
    elif not bands[0]:
        band = -2
    elif bands[0][0] is None:
        band = bands[1][0]
    else:
        return None
    try:
        return _band_rate(ctx, plan, term, band, ONE)  # the LTV is not read
    except ValidationError as exc:
        return exc


# -- the screen -------------------------------------------------------------------------------------


def _screen_product_term(ctx: _Context, plan: _Plan, term: int, out: list[_Candidate]) -> None:
    """Screen every down payment × balloon of one product and term; record each in the trace."""
    app, product = ctx.app, plan.product
    price = app.vehicle.price
    key = term if plan.services_by_term else 0  # service_lines reads the term only to price by term
    services = plan.services.get(key)
    if services is None:
        # Products alike in what service_lines reads of them share the amount (not a refusal: its
        # message names the product).
        services = ctx.services.get((plan.services_key, key))
        if services is None:
            try:
                lines = service_lines(
                    ctx.catalogue, product, ctx.vehicle, ctx.applicant, ctx.base, list(ctx.base.services),
                    {}, term, ctx.day,
                )  # fmt: skip
            except ValidationError as exc:
                services = exc
            else:
                services = ctx.services[plan.services_key, key] = sum(
                    (s.price for s in lines if s.financed), ZERO
                )
        plan.services[key] = services
    if isinstance(services, ValidationError):
        ctx.tried.append(Tried("screen", product.id, None, False, ("SERVICE_REFUSED",), str(services)))
        return
    group_rate = _rate_for_group(ctx, plan, term)
    balloons = plan.balloons
    if balloons is None:
        balloons = plan.balloons = _balloons(product, ctx.app.wishes.balloon_pct)
    for balloon_pct in balloons:
        if product.lease is not None:
            balloon = product.lease.residual_pct_of_msrp.get(term, ZERO) * app.vehicle.msrp
        else:
            balloon = (balloon_pct or ZERO) * price
        downs = _down_grid(ctx, plan, term, balloon, services, group_rate)
        asked = ctx.asked.get(product.id)
        if asked is not None and (asked.term != term or asked.balloon_pct != balloon_pct):
            asked = None
        _screen_downs(ctx, plan, term, balloon_pct, balloon, services, downs, group_rate, asked, out)


def _annuity_terms(rate: float, term: int, advance: bool) -> tuple[float, float, float]:
    """The level payment for amount A with a final balloon B is (A − B·v)·r / (1 − v) / due, with
    v = (1 + r)^−term and due = 1 + r when paid in advance (else 1): (r, v, due) of an annual ``rate``,
    what depends on the rate (see :func:`_screen_downs`)."""
    r = rate / 12.0
    if r == 0.0:
        return r, 0.0, 1.0
    v = (1.0 + r) ** -term
    return r, v, (1.0 + r) if advance else 1.0


def _screen_downs(
    ctx: _Context,
    plan: _Plan,
    term: int,
    balloon_pct: Decimal | None,
    balloon: Decimal,
    services: Decimal,
    downs: Sequence[_Down],
    group_rate: Decimal | ValidationError | None,
    asked: Structure | None,
    out: list[_Candidate],
) -> None:
    """The screen proper, for the down payments of one product, term and balloon.

    It gives each structure the verdict and reason codes the per-structure screen gave (product and
    policy limits on the amount financed; the rate lookup; the level-annuity payment in floats rounded
    to the cent; :func:`~autofin.decision.affordability.assess` of that payment), without building
    ``Decimal`` amounts or an affordability result per structure: amounts are whole minor units, so
    every limit compares exactly, and the payment limits are the caps worked out once
    (:class:`_Screen`). ``tests/unit/test_menu.py`` holds it to the per-structure screen.
    """
    product, pid, sc = plan.product, plan.product.id, ctx.screen
    price, scale, quantum = sc.price, sc.scale, sc.quantum
    pti, dti, residual, slack, lowest_cap = sc.pti, sc.dti, sc.residual, sc.slack_payment, sc.lowest_cap
    too_old = sc.max_term is not None and term > sc.max_term
    cents = sc.cents
    w, wishes, budget = ctx.weights, ctx.app.wishes, sc.budget
    term_fit = w.term * abs(term - wishes.term_months) / 12.0
    wrong_ownership = not _ownership_ok(wishes.ownership, product, balloon_pct)
    with_down = sc.asked_down is not None
    asked_at = None if asked is None else asked.down_payment
    refusal = str(group_rate) if isinstance(group_rate, ValidationError) else None
    balloon_f = float(balloon)
    advance = plan.advance
    if isinstance(group_rate, Decimal):
        r, v, due = _annuity_terms(float(group_rate), term, advance)
    else:
        r, v, due = 0.0, 0.0, 1.0
    trace = ctx.tried.append
    ctx.screened += len(downs)  # one trace row each
    w_budget, w_ownership = w.budget, w.ownership
    for down, _down_c, down_fit, amount_c, amount_f, limit_reasons, ltv_high in downs:
        refused: tuple[tuple[str, ...], str, int | Decimal | None] | None = None
        if limit_reasons is not None:
            refused = (limit_reasons, "product or policy limit", None)
        elif group_rate is None:
            try:
                rate = _rate(ctx, plan, term, Decimal(amount_c) / scale / price)
            except ValidationError as exc:
                refused = (("RATE_REFUSED",), str(exc), None)
            else:
                r, v, due = _annuity_terms(float(rate), term, advance)
        elif refusal is not None:
            refused = (("RATE_REFUSED",), refusal, None)
        if refused is None:
            if r == 0.0:
                pmt = (amount_f - balloon_f) / term
            else:
                pmt = (amount_f - balloon_f * v) * r / (1.0 - v) / due
            # The payment rounded to the cent: round(pmt, 2), the slow way only near a half cent. The
            # trace keeps it as whole cents (an int) on the fast way: see _tried_of.
            y = pmt * 100.0 if pmt > 0.0 else 0.0
            pay_c = round(y)
            paid: int | Decimal
            if cents and abs(y - pay_c) <= 0.4999:
                paid = pay_c
            else:
                paid = Decimal(str(round(max(pmt, 0.0), 2))).quantize(quantum, rounding=ROUND_HALF_UP)
                pay_c = _minor(paid, scale)
            # assess(), measure by measure in its order (none fails below the lowest payment cap)
            codes: tuple[str, ...] = ()
            if (lowest_cap is not None and pay_c > lowest_cap) or ltv_high or too_old:
                if pti is not None and pay_c > pti:
                    codes += ("PTI_HIGH",)
                if dti is not None and pay_c > dti:
                    codes += ("DTI_HIGH",)
                if ltv_high:
                    codes += ("LTV_HIGH",)
                if too_old:
                    codes += ("AGE_AT_MATURITY_HIGH",)
                if residual is not None and pay_c > residual:
                    codes += ("RESIDUAL_INCOME_LOW",)
            if codes and not (
                slack is not None and pay_c / scale <= slack and _PAYMENT_CODES.issuperset(codes)
            ):
                refused = (codes, "estimated", paid)
            else:
                # _fit(), term by term in the same order (the same float)
                fit = 0.0
                if budget is not None:
                    over = pmt / budget - 1.0
                    if over < 0.0:  # max(over, 0.0) (NaN stays)
                        over = 0.0
                    fit += w_budget * over
                if with_down:
                    fit += down_fit
                fit += term_fit
                if wrong_ownership:
                    fit += w_ownership
                # _Candidate(pid, term, down, balloon_pct, product, pmt, fit, paid), its own trace row
                cand = _tuple_new(_Candidate, (pid, term, down, balloon_pct, product, pmt, fit, paid))
                trace(cand)
                out.append(cand)
                if asked_at is not None and down == asked_at:
                    ctx.asked_screen[_new_structure(pid, term, down, balloon_pct)] = cand
                continue
        if asked_at is not None and down == asked_at:
            # The request as asked: _decide_asked reads its verdict, so it is a Tried from the start.
            st = _new_structure(pid, term, down, balloon_pct)
            t = _new_tried("screen", pid, st, False, refused[0], refused[1], _payment(refused[2]))
            trace(t)
            ctx.asked_screen[st] = t
        else:
            trace((pid, term, down, balloon_pct, False, *refused))


def _down_grid(
    ctx: _Context,
    plan: _Plan,
    term: int,
    balloon: Decimal,
    services: Decimal,
    group_rate: Decimal | ValidationError | None,
) -> list[_Down]:
    """Down payments to screen: the product's minimum, the wished one, a grid of shares, and the
    smallest ones meeting the payment headroom, the LTV limits and the policy limits (rounded up to
    :data:`DOWN_STEP`); each as :data:`_Down`, in increasing order. All but the payment headroom's are
    the same for every term and balloon: worked out once per product and financed services
    (:func:`_fixed_grid`). ``group_rate``: :func:`_rate_for_group` of this product and term (when it
    is a rate or a refusal, it is the rate lookup's answer at every LTV, the maximum one included)."""
    sc = ctx.screen
    fixed = plan.base_grid.get(services)
    if fixed is None:
        # Products alike in what the grid reads share it (see _Plan.grid_key).
        key = (plan.grid_key, services)
        fixed = ctx.grids.get(key)
        if fixed is None:
            fixed = ctx.grids[key] = _fixed_grid(ctx, plan, services)
        plan.base_grid[services] = fixed
    fixed_downs, grid, infos, services_c, financed = fixed
    target = sc.target_payment
    if target is None:  # no positive affordable payment
        return grid
    # Rate at the product's maximum LTV: an estimate, rounded up below.
    if group_rate is None:
        try:
            rate = float(_rate(ctx, plan, term, min(plan.product.max_ltv, ONE)))
        except ValidationError:
            return grid
    elif isinstance(group_rate, Decimal):
        rate = float(group_rate)
    else:
        return grid
    principal = _principal_for(target, rate, term, float(balloon), plan.advance)
    need = financed - Decimal(str(round(principal, 2)))
    if need <= 0:
        return grid
    d = _round_up(need, sc.quantum)
    if d in fixed_downs or (i := _down_info(ctx, plan, infos, services_c, d)) is None:
        return grid
    grid = grid.copy()
    insort(grid, i, key=_minor_units)
    return grid


def _fixed_grid(ctx: _Context, plan: _Plan, services: Decimal) -> _Grid:
    """The down payments of :func:`_down_grid` that do not depend on the term and balloon:
    ``base_downs`` and the smallest ones that meet the product, vehicle and policy LTV limits."""
    sc, product = ctx.screen, plan.product
    price = sc.price
    financed = price + services
    ltv_needs = [financed - product.max_ltv * price]
    if sc.ltv_cap is not None:
        ltv_needs.append(financed - sc.ltv_cap * price)
    if ctx.policy is not None:
        ltv_needs.append(financed - ctx.policy.max_amount_financed)
    fixed_downs = plan.base_downs.union(_round_up(need, sc.quantum) for need in ltv_needs if need > 0)
    infos: dict[Decimal, _Down | None] = {}
    services_c = _minor(services, sc.scale)
    # The down payments are distinct amounts: ordered as their minor units are.
    grid = sorted(
        (i for d in fixed_downs if (i := _down_info(ctx, plan, infos, services_c, d)) is not None),
        key=_minor_units,
    )
    return fixed_downs, grid, infos, services_c, financed


def _minor_units(info: _Down) -> int:
    return info[1]


def _down_info(
    ctx: _Context, plan: _Plan, infos: dict[Decimal, _Down | None], services_c: int, down: Decimal
) -> _Down | None:
    """What the screen needs about a down payment (:data:`_Down`), if the product allows it; cached in
    ``infos`` (those of the product with these financed services, ``services_c`` working units)."""
    if down in infos:
        return infos[down]
    sc = ctx.screen
    common = ctx.down_shares.get(down)
    if common is None:
        down_dist = abs(float(down - (sc.asked_down or ZERO)))
        common = ctx.down_shares[down] = (
            _minor(down, sc.scale),
            down / sc.price if ZERO <= down < sc.price else None,
            ctx.weights.down_payment * down_dist / sc.price_f,
        )
    down_c, share, down_fit = common
    info: _Down | None = None
    if share is not None and _within(plan.product.down_payment, share):  # the product allows it
        scale, per_quantum, price_c = sc.scale, sc.per_quantum, sc.price_minor
        cash_c = price_c - down_c
        amount_c = cash_c + plan.flat_fees + services_c
        for p, q in plan.pct_fees:  # round_money(cash × p / q), half-up to the minor unit
            amount_c += (2 * cash_c * p + q * per_quantum) // (2 * q * per_quantum) * per_quantum
        lp, lq = plan.max_ltv
        over_ltv = amount_c * lq > lp * price_c
        reasons: tuple[str, ...] | None = None
        if (
            over_ltv
            or (sc.max_amount is not None and amount_c > sc.max_amount)
            or (sc.min_down is not None and down_c < sc.min_down)
        ):
            found = _policy_reasons(ctx.policy, Decimal(amount_c) / scale, down, sc.price)
            if over_ltv:
                found.append("PRODUCT_MAX_LTV")
            reasons = tuple(found)
        info = (down, down_c, down_fit, amount_c, amount_c / scale,
                reasons, sc.max_financed is not None and amount_c > sc.max_financed)  # fmt: skip
    infos[down] = info
    return info


def _exact(ctx: _Context, product: Product, s: Structure, stage: Stage = "exact") -> Offer | Tried:
    """Quote one structure exactly, re-assess it, and record it (cached by structure)."""
    cached = ctx.exact.get(s)
    if cached is not None:
        return cached
    out: Offer | Tried
    try:
        q = quote(
            ctx.catalogue, product.id, ctx.vehicle, s.request(ctx.base), ctx.applicant, ctx.market, ctx.day
        )
    except ValidationError as exc:
        out = Tried(stage, product.id, s, False, ("QUOTE_REFUSED",), str(exc))
    else:
        out = _check_exact(ctx, product, s, q, stage)
    ctx.exact[s] = out
    ctx.tried.append(
        out if isinstance(out, Tried) else Tried(stage, product.id, s, True, (), "", out.payment)
    )
    return out


def _check_exact(ctx: _Context, product: Product, s: Structure, q: Quote, stage: Stage) -> Offer | Tried:
    app = ctx.app
    reasons = _policy_reasons(ctx.policy, q.amount_financed, q.down_payment, q.price)
    if not has_disclosure(q):
        reasons.append("NO_DISCLOSURE")
    # assess(*quote_affordability(app, q), ctx.limits): the applicant is the application's, as ever
    result = ctx.assessor(quote_affordability(app, q)[1])
    reasons.extend(result.codes)
    if reasons:
        text = "; ".join(r.en for r in result.reasons) or "policy or disclosure"
        return Tried(stage, product.id, s, False, tuple(reasons), text, q.monthly_payment)
    npv = _npv(ctx, q)
    score = -_fit(ctx, product, s, float(q.monthly_payment))
    if npv is not None:
        score += ctx.weights.value * npv / float(q.amount_financed)
    m = result.measures
    return Offer(product.id, s, q, q.monthly_payment, m["pti"].value, m["dti"].value, m["ltv"].value,
                 result, score, npv)  # fmt: skip


def _npv(ctx: _Context, q: Quote) -> float | None:
    if ctx.assumptions is None or ctx.pd is None or q.kind != "loan":
        return None
    try:
        econ = offer_economics(
            float(q.amount_financed),
            float(q.customer_rate),
            q.term,
            ctx.pd,
            ctx.assumptions,
            balloon=float(q.balloon_or_residual),
            markup=float(q.dealer_markup),
        )
    except ValidationError:
        return None
    return float(econ.npv)


def _changes(ctx: _Context, product: Product, s: Structure) -> tuple[Change, ...]:
    app, ccy = ctx.app, ctx.app.currency
    asked_down = app.down_payment_amount
    out: list[Change] = []
    if asked_down is None or s.down_payment != asked_down:
        if asked_down is None:
            text = f"a down payment of {s.down_payment} {ccy}"
        else:
            more = s.down_payment > asked_down
            text = (
                f"{'more' if more else 'less'} down payment: {s.down_payment} {ccy} instead of {asked_down} "
                f"({'+' if more else '−'}{abs(s.down_payment - asked_down)})"
            )
        out.append(Change("down_payment", asked_down, s.down_payment, text))
    if s.term != app.wishes.term_months:
        longer = s.term > app.wishes.term_months
        out.append(Change("term", app.wishes.term_months, s.term,
                          f"{'longer' if longer else 'shorter'} term: {s.term} months instead of "
                          f"{app.wishes.term_months}"))  # fmt: skip
    if product.kind == "loan" and s.balloon_pct and app.wishes.ownership != "balloon":
        out.append(Change("balloon", None, s.balloon_pct, f"a balloon of {s.balloon_pct:.0%} of the price"))
    if not _ownership_ok(app.wishes.ownership, product, s.balloon_pct):
        offered = "lease" if product.kind == "lease" else "balloon" if s.balloon_pct else "loan"
        out.append(Change("ownership", app.wishes.ownership, offered,
                          f"a {offered} ({product.id}) instead of a {app.wishes.ownership}"))  # fmt: skip
    return tuple(out)


# -- the solver --------------------------------------------------------------------------------------


def solve_menu(
    app: Application,
    catalogue: Catalogue,
    market: Market | None,
    limits: AffordabilityLimits,
    *,
    policy_limits: PolicyLimits | None = None,
    segments: Sequence[str] = (),
    top_n: int = 3,
    max_counter_offers: int = 3,
    max_exact: int = 40,
    weights: MenuWeights | None = None,
    assumptions: PricingAssumptions | None = None,
    pd: float | Sequence[float] | None = None,
    start_date: date | None = None,
) -> Menu:
    """The offer menu for ``app`` (see the module docstring).

    ``market``: benchmark paths for floating products (``None``: floating products are refused and
    traced). ``limits``: :func:`~autofin.decision.affordability.limits_for` of the jurisdiction pack and
    the applicant's segment. ``policy_limits``: :attr:`autofin.decision.policy.PolicyResult.limits`
    (maximum amount financed, minimum down-payment share). ``segments``: catalogue segments the
    applicant is in (product eligibility). ``top_n`` offers and at most ``max_counter_offers``
    counter-offers. The request as asked is quoted exactly on the eligible products of the wished
    ownership, in screen order, until it passes on one (a product where the screen refuses it on an
    exact limit is not quoted); beyond those, at most ``max_exact`` exact quotes are computed (offers
    first, then counter-offers share what is left). ``assumptions`` and ``pd`` (annual PD or marginal
    PDs by year) add lender NPV to the ranking. ``start_date`` defaults to the submission date.
    """
    if top_n < 1:
        raise ValidationError("top_n", top_n, "must be at least 1")
    if max_exact < 1:
        raise ValidationError("max_exact", max_exact, "must be at least 1")
    applicant, vehicle = to_quote_inputs(app, segments=segments)
    base = to_structure_request(app, start_date=start_date)
    probe_a, probe_c = to_affordability(
        app, amount_financed=app.vehicle.price, monthly_payment=ZERO, down_payment=ZERO
    )
    assessor = Assessor(probe_a, limits)  # assess(probe_a, ·, limits); every exact quote's applicant
    max_payment = assessor(probe_c).headroom.max_payment
    ctx = _Context(
        app=app, catalogue=catalogue, market=market, limits=limits, policy=policy_limits,
        weights=weights or MenuWeights(), applicant=applicant, vehicle=vehicle, base=base,
        day=base.start_date,
        max_payment=max_payment,
        screen=_screen_constants(app, limits, policy_limits, payment_caps(probe_a, limits), max_payment),
        assumptions=assumptions, pd=pd, assessor=assessor,
    )  # fmt: skip

    products: list[Product] = []
    for pid in sorted(catalogue.products):
        product = catalogue.products[pid]
        if product.jurisdiction != app.jurisdiction or product.currency != app.currency:
            continue
        if not product.effective.contains(ctx.day):
            ctx.tried.append(
                Tried("eligibility", pid, None, False, ("NOT_EFFECTIVE",), f"not effective on {ctx.day}")
            )
            continue
        try:
            check_eligibility(product.eligibility, applicant, vehicle, f"product {pid}")
        except ValidationError as exc:
            ctx.tried.append(Tried("eligibility", pid, None, False, ("NOT_ELIGIBLE",), str(exc)))
            continue
        products.append(product)

    # The request as asked on every eligible product of the wished ownership (decided below).
    plans = [_plan(ctx, product) for product in products]
    asked: list[tuple[Product, Structure]] = []
    for plan in plans:
        product = plan.product
        down = ctx.screen.asked_down  # app.down_payment_amount
        if down is None:
            down = plan.floor
        rule = product.balloon
        balloon = None
        if rule is not None and product.kind == "loan":
            balloon = (
                rule.default_pct_of_price if rule.default_pct_of_price is not None else rule.min_pct_of_price
            )
            wished = app.wishes.balloon_pct
            if wished is not None and rule.min_pct_of_price <= wished <= rule.max_pct_of_price:
                balloon = wished
        s = Structure(product.id, app.wishes.term_months, down, balloon)
        if _ownership_ok(app.wishes.ownership, product, balloon):
            asked.append((product, s))
            ctx.asked[product.id] = s

    candidates: list[_Candidate] = []
    for plan in plans:
        for term in plan.product.terms:
            _screen_product_term(ctx, plan, term, candidates)
    screened = ctx.screened
    candidates.sort(key=_screen_order)

    request_passed, asked_exact = _decide_asked(ctx, asked)

    offers = _fill(ctx, candidates, top_n, max_exact)
    offers.sort(key=lambda o: -o.score)

    counters: list[CounterOffer] = []
    if not request_passed:
        by_distance = _by_distance(ctx, candidates)
        seen: set[frozenset[ChangeField]] = set()
        change_fields = _ChangeFields(ctx)
        for distance, c in by_distance:
            if len(counters) >= max_counter_offers or len(ctx.exact) >= max_exact + asked_exact:
                break
            # The kind of change is known before quoting: skip kinds already offered unquoted.
            key = change_fields(c.product, c)
            if not key or key in seen:
                continue
            s = c.structure
            result = _exact(ctx, c.product, s)
            if not isinstance(result, Offer):
                continue
            seen.add(key)
            counters.append(CounterOffer(result, _changes(ctx, c.product, s), distance))
    return Menu(
        tuple(offers[:top_n]), request_passed, tuple(counters), Trace(ctx.tried), screened, len(ctx.exact)
    )


def _distance_order(pair: tuple[float, _Candidate]) -> tuple[float, float]:
    return pair[0], pair[1].fit


_fit_of: Final = itemgetter(6)  # _Candidate.fit
_first: Final = itemgetter(0)


def _by_distance(ctx: _Context, candidates: list[_Candidate]) -> list[tuple[float, _Candidate]]:
    """The candidates nearest first, each with its distance: ``sorted(candidates, key=lambda c:
    (_distance(ctx, c.product, c.structure), c.fit))``, the cheaper way: a stable sort on the fit,
    then a stable sort on the distance (float keys both; tuples compare on their first unequal item,
    so the order is the same, ties included). A NaN (that breaks the float order) takes the plain
    sort on the pairs."""
    by_fit = sorted(candidates, key=_fit_of)
    distances = _distances(ctx, by_fit)
    total = sum(distances) + sum(map(_fit_of, by_fit))
    if total != total:  # a NaN among them (or infinities of both signs)
        return sorted(zip(_distances(ctx, candidates), candidates, strict=True), key=_distance_order)
    return sorted(zip(distances, by_fit, strict=True), key=_first)


def _distances(ctx: _Context, candidates: Sequence[_Candidate]) -> list[float]:
    """``_distance(ctx, c.product, c.structure)`` of every candidate: the same float operations in the
    same order, each term worked out once per down payment, term, and product and balloon."""
    w, wishes = ctx.weights, ctx.app.wishes
    price, wished_term, ownership = float(ctx.app.vehicle.price), wishes.term_months, wishes.ownership
    asked_down = ctx.app.down_payment_amount or ZERO
    by_down: dict[Decimal, float] = {}
    by_term: dict[int, float] = {}
    wrong: dict[tuple[str, Decimal | None], bool] = {}
    out: list[float] = []
    for c in candidates:
        d = by_down.get(c.down_payment)
        if d is None:
            d = by_down[c.down_payment] = w.down_payment * abs(float(c.down_payment - asked_down)) / price
        t = by_term.get(c.term)
        if t is None:
            t = by_term[c.term] = w.term * abs(c.term - wished_term) / 12.0
        d += t  # as _distance adds them: the down-payment part, the term part, the ownership part
        key = (c.product_id, c.balloon_pct)
        off = wrong.get(key)
        if off is None:
            off = wrong[key] = not _ownership_ok(ownership, c.product, c.balloon_pct)
        if off:
            d += w.ownership
        out.append(d)
    return out


class _ChangeFields:
    """The fields :func:`_changes` would name for a structure (``frozenset(ch.field for ch in
    _changes(...))``) without writing the changes."""

    __slots__ = ("_asked_down", "_ownership", "_term")

    def __init__(self, ctx: _Context) -> None:
        self._asked_down = ctx.app.down_payment_amount
        self._term = ctx.app.wishes.term_months
        self._ownership = ctx.app.wishes.ownership

    def __call__(self, product: Product, s: Structure | _Candidate) -> frozenset[ChangeField]:
        out: list[ChangeField] = []
        if self._asked_down is None or s.down_payment != self._asked_down:
            out.append("down_payment")
        if s.term != self._term:
            out.append("term")
        if product.kind == "loan" and s.balloon_pct and self._ownership != "balloon":
            out.append("balloon")
        if not _ownership_ok(self._ownership, product, s.balloon_pct):
            out.append("ownership")
        return frozenset(out)


def _screen_order(c: _Candidate) -> tuple[float, str, int, Decimal, Decimal]:
    return (c.fit, c.product_id, c.term, c.down_payment, c.balloon_pct or ZERO)


def _decide_asked(ctx: _Context, asked: list[tuple[Product, Structure]]) -> tuple[bool, int]:
    """Whether the request as asked passes, and how many exact quotes that took.

    The products where the screen passes it are quoted exactly in screen order (best fit first), then
    the others the screen could not settle, until one passes. The screen settles a refusal only on a
    limit it computes exactly (:data:`_EXACT_CODES`: the amount financed, down payment and term are
    those of the quote); a refusal on the estimated payment alone is quoted, since the level annuity is
    not the exact payment of every product (a step-up loan's first instalment is below it), and so is
    a structure the screen did not reach (a term the product does not offer, a down payment outside its
    range: the trace then carries the catalogue's own refusal).
    """
    passed_screen: list[_Candidate] = []
    unsettled: list[tuple[Product, Structure]] = []
    for product, s in asked:
        verdict = ctx.asked_screen.get(s)
        if isinstance(verdict, _Candidate):
            passed_screen.append(verdict)
        elif verdict is not None and _EXACT_CODES.intersection(verdict.reasons):
            ctx.tried.append(
                Tried("asked", product.id, s, False, verdict.reasons, f"screen: {verdict.message}",
                      verdict.payment)
            )  # fmt: skip
        else:
            unsettled.append((product, s))
    passed_screen.sort(key=_screen_order)
    spent = len(ctx.exact)
    for product, s in [(c.product, c.structure) for c in passed_screen] + unsettled:
        if isinstance(_exact(ctx, product, s, "asked"), Offer):
            return True, len(ctx.exact) - spent
    return False, len(ctx.exact) - spent


def _fill(ctx: _Context, candidates: list[_Candidate], top_n: int, max_exact: int) -> list[Offer]:
    """Exact-quote candidates in screen order: one offer per product first, then any, until ``top_n``
    offers or ``max_exact`` quotes."""
    offers: list[Offer] = []
    spent_before = len(ctx.exact)
    for distinct in (True, False):
        for c in candidates:
            if len(offers) >= top_n or len(ctx.exact) - spent_before >= max_exact:
                return offers
            if distinct and any(o.product_id == c.product_id for o in offers):
                continue
            s = c.structure
            if any(o.structure == s for o in offers):
                continue
            result = _exact(ctx, c.product, s)
            if isinstance(result, Offer):
                offers.append(result)
    return offers
