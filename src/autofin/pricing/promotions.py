"""What promotions cost their funder, valued at the lender's cost of funds, and campaign budgets.

Every value here is a net present value at the **funding curve** (the lender's marginal cost of funds by
tenor, :class:`autofin.pricing.funding.FundingCurve` or a blended :class:`~autofin.pricing.funding.Funding`):
a cash flow ``k`` months after the start is discounted by ``DF(k) = (1 + f(k) / 12) ** -k`` where
``f(k)`` is the curve's annual rate at tenor ``k`` months (monthly compounding, the convention of
:func:`autofin.finance.promotions.present_value`, so a flat curve at the buy rate reproduces
:func:`autofin.finance.promotions.subvention` exactly).

* :func:`rate_buydown_value` — low-APR subvention: PV of the payment (= interest) difference between
  the standard and the promotional rate; :func:`zero_apr_value` is the 0 % case. The contractual
  subvention at the lender's buy rate (:func:`autofin.finance.promotions.subvention`) is reported
  alongside.
* :func:`cash_rebate_value` — the rebate, discounted from when it is paid.
* :func:`extended_term_value` — the build-up difference between the standard and the extended term at
  the same rate (more funding cost, more expected loss, capital held longer), from
  :func:`autofin.pricing.buildup.offer_economics`.
* :func:`free_service_value` — the service's cost to the funder (paid up front or spread monthly).
* :func:`deferred_first_payment_value` — the first payment ``m`` months later: instalments shifted
  (no interest during the deferral) or interest capitalised and re-amortised.
* :class:`Campaign` — a promotion budget consumed when an offer is **booked** (never when it is only
  quoted), refusing to overdraw, with an audit list; it exports the catalogue's
  :class:`~autofin.catalog.quote_types.BudgetLedger` so quoting sees the same consumption.

Money is ``Decimal`` in currency units, rounded half-up to the currency's minor unit; rates are annual
decimals; terms and deferrals are months.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from autofin.catalog.models import Promotion, PromotionKind
from autofin.catalog.quote_types import BudgetLedger, Quote
from autofin.dates import add_months
from autofin.errors import ValidationError
from autofin.finance.promotions import subvention
from autofin.finance.schedule import Schedule, build_schedule
from autofin.finance.terms import LoanTerms, PaymentTiming
from autofin.money import CONTEXT, currency, round_money
from autofin.pricing.buildup import offer_economics

__all__ = [
    "Campaign",
    "Consumption",
    "PromotionValue",
    "cash_rebate_value",
    "deferred_first_payment_value",
    "discount_factor",
    "extended_term_value",
    "free_service_value",
    "pv_at_funding",
    "rate_buydown_value",
    "zero_apr_value",
]

ZERO = Decimal(0)
ONE = Decimal(1)


class Curve(Protocol):
    """Anything with an annual decimal rate by tenor in months (a FundingCurve or a Funding)."""

    def rate(self, months: float) -> float: ...


@dataclass(frozen=True, slots=True)
class PromotionValue:
    """What one promotion on one deal costs its funder.

    ``cost`` is the NPV at the lender's cost of funds (currency units, rounded to the minor unit; a
    positive number is a cost). ``detail`` holds the inputs and intermediate values that explain it
    (PVs, contractual subvention, build-up deltas), money as ``Decimal``, rates as floats.
    """

    kind: PromotionKind
    cost: Decimal
    currency: str
    detail: Mapping[str, Any] = field(default_factory=dict)


def discount_factor(curve: Curve, months: int) -> Decimal:
    """``(1 + f(months)/12) ** -months``: the value today of 1 paid ``months`` from now (monthly
    compounding at the funding rate ``f`` of that tenor)."""
    if months < 0:
        raise ValidationError("months", months, "must be 0 or more")
    if months == 0:
        return ONE
    f = Decimal(repr(float(curve.rate(months))))
    return CONTEXT.divide(ONE, (ONE + f / 12) ** months)


def pv_at_funding(schedule: Schedule, curve: Curve, *, delay_months: int = 0) -> Decimal:
    """PV at the funding curve of every instalment and balloon of a monthly ``schedule`` (unrounded).

    Row ``k`` of an in-arrears schedule is ``k`` months after the start (``k − 1`` in advance), plus
    ``delay_months`` (a schedule that starts later). Same convention as
    :func:`autofin.finance.promotions.present_value`.
    """
    if schedule.terms.frequency.periods_per_year != 12:
        raise ValidationError("schedule.terms.frequency", schedule.terms.frequency, "must be monthly")
    offset = 1 if schedule.terms.timing is PaymentTiming.ADVANCE else 0
    pv = ZERO
    for r in schedule.rows:
        pv += (r.instalment + r.balloon) * discount_factor(curve, r.number - offset + delay_months)
    return pv


def rate_buydown_value(
    base: LoanTerms, standard_rate: Decimal, promo_rate: Decimal, curve: Curve
) -> PromotionValue:
    """A rate buy-down (low-APR subvention): the PV at the cost of funds of the payments given up.

    ``base`` gives the amount, term and conventions (its own rate is ignored); the customer pays
    ``promo_rate`` instead of ``standard_rate`` (annual decimals). ``cost`` = PV(payments at the
    standard rate) − PV(payments at the promotional rate), both at the funding curve — the interest
    difference, as the principal is the same. ``detail["subvention"]`` is the contractual amount a
    manufacturer pays the lender to earn ``standard_rate`` as its buy rate
    (:func:`autofin.finance.promotions.subvention`); it equals ``cost`` when the curve is flat at the
    standard rate, up to the cent rounding of the standard schedule's instalments (PV of the rounded
    standard payments vs the amount lent).
    """
    if promo_rate > standard_rate:
        raise ValidationError("promo_rate", promo_rate, f"must not exceed the standard rate {standard_rate}")
    std = build_schedule(base.model_copy(update={"annual_rate": standard_rate}))
    promo = build_schedule(base.model_copy(update={"annual_rate": promo_rate}))
    pv_std = pv_at_funding(std, curve)
    pv_promo = pv_at_funding(promo, curve)
    ccy = std.currency
    kind = PromotionKind.ZERO_APR if promo_rate == 0 else PromotionKind.RATE_BUYDOWN
    return PromotionValue(
        kind,
        round_money(pv_std - pv_promo, ccy),
        ccy.code,
        {
            "standard_rate": float(standard_rate),
            "promo_rate": float(promo_rate),
            "standard_instalment": std.regular_instalment,
            "promo_instalment": promo.regular_instalment,
            "interest_given_up": std.total_interest - promo.total_interest,
            "pv_standard": round_money(pv_std, ccy),
            "pv_promo": round_money(pv_promo, ccy),
            "subvention": subvention(promo, standard_rate),
        },
    )


def zero_apr_value(base: LoanTerms, standard_rate: Decimal, curve: Curve) -> PromotionValue:
    """A 0 % APR offer: :func:`rate_buydown_value` with a promotional rate of zero."""
    return rate_buydown_value(base, standard_rate, ZERO, curve)


def cash_rebate_value(
    amount: Decimal, curve: Curve, currency_code: str, *, paid_after_months: int = 0
) -> PromotionValue:
    """A cash rebate of ``amount`` (currency units) paid ``paid_after_months`` after the start."""
    if amount <= 0:
        raise ValidationError("amount", amount, "must be positive")
    ccy = currency(currency_code)
    df = discount_factor(curve, paid_after_months)
    return PromotionValue(
        PromotionKind.CASH_REBATE,
        round_money(amount * df, ccy),
        ccy.code,
        {"amount": amount, "paid_after_months": paid_after_months, "discount_factor": float(df)},
    )


def free_service_value(
    service_cost: Decimal, curve: Curve, currency_code: str, *, paid_over_months: int = 0
) -> PromotionValue:
    """A free service: its cost to the funder (currency units, not the customer's list price if the
    funder buys it cheaper). ``paid_over_months`` = 0: paid at the start; n > 0: paid in n equal
    monthly parts at months 1..n (a maintenance plan the funder pays as it is used)."""
    if service_cost <= 0:
        raise ValidationError("service_cost", service_cost, "must be positive")
    if paid_over_months < 0:
        raise ValidationError("paid_over_months", paid_over_months, "must be 0 or more")
    ccy = currency(currency_code)
    if paid_over_months == 0:
        pv = service_cost
    else:
        part = service_cost / paid_over_months
        pv = sum((part * discount_factor(curve, k) for k in range(1, paid_over_months + 1)), ZERO)
    return PromotionValue(
        PromotionKind.FREE_SERVICE,
        round_money(pv, ccy),
        ccy.code,
        {"service_cost": service_cost, "paid_over_months": paid_over_months},
    )


def deferred_first_payment_value(
    base: LoanTerms, months: int, curve: Curve, *, interest_accrues: bool = False
) -> PromotionValue:
    """The first payment ``months`` later than usual, at ``base``'s own rate.

    ``interest_accrues=False`` (the funder bears the deferral): the same instalments, each paid
    ``months`` later; cost = PV(standard) − PV(shifted). ``interest_accrues=True``: interest at the
    contract rate is capitalised over the deferral and the larger balance re-amortised over the same
    number of instalments; the cost is then only the gap between the contract rate and the cost of
    funds over the deferral (often small or negative: a gain).
    """
    if not 1 <= months <= 12:
        raise ValidationError("months", months, "must be 1 to 12")
    std = build_schedule(base)
    ccy = std.currency
    pv_std = pv_at_funding(std, curve)
    if interest_accrues:
        monthly = base.annual_rate / 12
        capitalised = round_money(std.opening_balance * (ONE + monthly) ** months, ccy)
        later = base.model_copy(
            update={
                "loan_amount": capitalised,
                "price": None,
                "down_payment": ZERO,
                "fees": [],
                "start_date": add_months(base.start_date, months),
                "first_payment_date": None,
            }
        )
        deferred = build_schedule(later)
        pv_def = pv_at_funding(deferred, curve, delay_months=months)
        extra: dict[str, Any] = {
            "capitalised_balance": capitalised,
            "deferred_instalment": deferred.regular_instalment,
        }
    else:
        pv_def = pv_at_funding(std, curve, delay_months=months)
        extra = {"deferred_instalment": std.regular_instalment}
    return PromotionValue(
        PromotionKind.DEFERRED_FIRST_PAYMENT,
        round_money(pv_std - pv_def, ccy),
        ccy.code,
        {
            "months": months,
            "interest_accrues": interest_accrues,
            "standard_instalment": std.regular_instalment,
            "pv_standard": round_money(pv_std, ccy),
            "pv_deferred": round_money(pv_def, ccy),
            **extra,
        },
    )


def extended_term_value(
    amount: float,
    rate: float,
    term_months: int,
    extra_months: int,
    pd: float,
    assumptions: Any,
    currency_code: str,
    *,
    balloon: float = 0.0,
) -> PromotionValue:
    """An extended term at the same rate: NPV(standard term) − NPV(extended term) from the build-up.

    ``amount`` in currency units, ``rate`` annual decimal, terms in months, ``pd`` as
    :func:`autofin.pricing.buildup.offer_economics` takes it. The extension lends longer at the same
    rate: more funding cost (a longer tenor on the curve, more balance outstanding), more expected loss
    and capital held longer. A positive cost means the longer term is worth less to the lender;
    ``detail`` has both NPVs and RAROCs and the change in each build-up component both carry.
    """
    if extra_months < 1:
        raise ValidationError("extra_months", extra_months, "must be at least 1")
    ccy = currency(currency_code)
    std = offer_economics(amount, rate, term_months, pd, assumptions, balloon=balloon)
    ext = offer_economics(amount, rate, term_months + extra_months, pd, assumptions, balloon=balloon)
    detail: dict[str, Any] = {
        "term_months": term_months,
        "extended_months": term_months + extra_months,
        "npv_standard": round_money(Decimal(repr(float(std.npv))), ccy),
        "npv_extended": round_money(Decimal(repr(float(ext.npv))), ccy),
        "raroc_standard": float(std.raroc),
        "raroc_extended": float(ext.raroc),
    }
    # Change in each waterfall line (PV, currency; costs are negative, so a more negative delta is a
    # larger cost) and in the capital-years the longer loan ties up.
    for name, pv in ext.pv.items():
        detail[f"delta_{name}"] = pv - std.pv[name]
    detail["delta_capital_years"] = ext.capital_years - std.capital_years
    cost = Decimal(repr(float(std.npv))) - Decimal(repr(float(ext.npv)))
    return PromotionValue(PromotionKind.EXTENDED_TERM, round_money(cost, ccy), ccy.code, detail)


# -- campaign budgets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Consumption:
    """One booking against a campaign budget: which offer, when, how much, and what was left."""

    offer_id: str
    booked_on: date
    amount: Decimal
    remaining_after: Decimal


@dataclass(frozen=True, slots=True)
class Campaign:
    """A promotion's budget (currency units), consumed as offers are **booked**.

    Quoting does not consume: :meth:`can_fund` answers "would this fit?" without changing anything.
    :meth:`book` returns a new campaign with the cost consumed and an audit :class:`Consumption`
    appended; it refuses to overdraw, to book the same offer twice, outside the validity window or
    in another currency. Immutable, like :class:`~autofin.catalog.quote_types.BudgetLedger`, which
    :attr:`ledger` exports so the quote engine sees the same consumption.
    """

    promotion_id: str
    budget: Decimal
    currency: str
    valid_from: date | None = None
    valid_to: date | None = None
    audit: tuple[Consumption, ...] = ()

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ValidationError("budget", self.budget, "must not be negative")
        currency(self.currency)
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError("valid_to", self.valid_to, "must not be before valid_from")

    @classmethod
    def from_promotion(cls, promotion: Promotion) -> Campaign:
        """The campaign of a catalogue promotion (its budget, currency and validity window)."""
        if promotion.budget is None:
            raise ValidationError("promotion.budget", None, f"promotion {promotion.id} has no budget")
        return cls(
            promotion.id, promotion.budget, promotion.currency, promotion.valid.start, promotion.valid.end
        )

    @property
    def consumed(self) -> Decimal:
        return sum((c.amount for c in self.audit), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.consumed

    @property
    def ledger(self) -> BudgetLedger:
        """The consumption as the catalogue's :class:`BudgetLedger` (promotion id → consumed)."""
        return BudgetLedger({self.promotion_id: self.consumed})

    def can_fund(self, cost: Decimal) -> bool:
        """Whether an offer costing ``cost`` fits in what remains (nothing is consumed: a quote)."""
        return ZERO <= cost <= self.remaining

    def book(self, offer_id: str, cost: Decimal, on: date) -> Campaign:
        """The campaign after booking ``offer_id`` at ``cost`` (currency units) on ``on``."""
        if cost < 0:
            raise ValidationError("cost", cost, "must not be negative")
        if any(c.offer_id == offer_id for c in self.audit):
            raise ValidationError("offer_id", offer_id, f"is already booked against {self.promotion_id}")
        if (self.valid_from and on < self.valid_from) or (self.valid_to and on > self.valid_to):
            raise ValidationError(
                "booked_on", on, f"campaign {self.promotion_id} runs {self.valid_from}..{self.valid_to or ''}"
            )
        cost = round_money(cost, currency(self.currency))
        if cost > self.remaining:
            raise ValidationError(
                "budget",
                cost,
                f"campaign {self.promotion_id} has {self.remaining} of {self.budget} left; "
                f"booking {offer_id} would overdraw it",
            )
        entry = Consumption(offer_id, on, cost, self.remaining - cost)
        return Campaign(
            self.promotion_id,
            self.budget,
            self.currency,
            self.valid_from,
            self.valid_to,
            (*self.audit, entry),
        )

    def book_quote(self, offer_id: str, quote: Quote, on: date) -> Campaign:
        """Book a priced quote: consumes the cost of this campaign's promotion on it."""
        if quote.currency != self.currency:
            raise ValidationError("quote.currency", quote.currency, f"campaign is in {self.currency}")
        costs = [p.cost for p in quote.promotions if p.id == self.promotion_id]
        if not costs:
            raise ValidationError(
                "quote.promotions", offer_id, f"does not carry promotion {self.promotion_id}"
            )
        return self.book(offer_id, sum(costs, ZERO), on)
