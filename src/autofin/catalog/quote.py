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

This module holds the orchestration; the pieces live beside it: :mod:`~autofin.catalog.quote_types`
(request and result types), :mod:`~autofin.catalog.rules` (rule checks), :mod:`~autofin.catalog.pricing`
(services, rate, fees, promotion costs), :mod:`~autofin.catalog.jurisdictions` (legal rate and LTV
caps), :mod:`~autofin.catalog.markup` (dealer markup), :mod:`~autofin.catalog.contracts` (the engine
calls, and :func:`~autofin.catalog.contracts.verify_at_contract`),
:mod:`~autofin.catalog.presentation` (:func:`compare`, :func:`quote_json`) and
:mod:`~autofin.catalog.sampling` (:func:`sample_inputs`). Every public name is re-exported here.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from autofin.catalog.contracts import QuoteContext, quote_lease, quote_loan
from autofin.catalog.jurisdictions import check_ltv_caps, check_quote_caps
from autofin.catalog.markup import check_markup
from autofin.catalog.models import Catalogue, PromotionKind
from autofin.catalog.presentation import compare, quote_json
from autofin.catalog.pricing import fee_amount, price_rate, service_lines
from autofin.catalog.quote_types import (
    ApplicantInfo,
    AppliedPromotion,
    BudgetLedger,
    GraceRequest,
    Market,
    Ownership,
    PricingBasis,
    Quote,
    ServiceLine,
    StructureRequest,
    VehicleInfo,
)
from autofin.catalog.rules import (
    RATE_PROMOS,
    check_eligibility,
    check_promotion_deals,
    check_promotions,
    condition_applies,
    fmt_names,
    fmt_pct,
    fmt_range,
    resolve_balloon_pct,
)
from autofin.catalog.sampling import SAMPLE_MARKET, sample_inputs
from autofin.errors import ValidationError
from autofin.finance.terms import Grace
from autofin.money import currency, round_money

__all__ = [
    "SAMPLE_MARKET",
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
    "compare",
    "quote",
    "quote_json",
    "sample_inputs",
]

ZERO = Decimal(0)

# -- the quote ---------------------------------------------------------------------------------------


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
    check_eligibility(product.eligibility, applicant, vehicle, pid)

    if structure.term not in product.terms:
        raise ValidationError(
            "structure.term", structure.term, f"{pid} allows terms {fmt_names(product.terms)}"
        )

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
            f"{pid} allows a down payment of {fmt_range(product.down_payment)} of the price "
            f"(got {fmt_pct(down_pct)})",
        )

    # Balloon.
    balloon_pct = resolve_balloon_pct(product, structure, pid)

    # Grace.
    grace: list[Grace] = []
    if structure.grace is not None:
        options = {g.kind: g for g in product.grace}
        opt = options.get(structure.grace.kind)
        if opt is None:
            allowed = fmt_names(k.value for k in options) or "none"
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
    promos = check_promotions(catalogue, product, vehicle, applicant, structure, day)
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
    lines = service_lines(
        catalogue, product, vehicle, applicant, structure, service_ids, free_services, term, day
    )
    financed_services = sum((s.price for s in lines if s.financed), ZERO)
    if financed_services > product.services.max_financed_pct_of_price * price:
        raise ValidationError(
            "structure.services",
            financed_services,
            f"{pid} finances services up to {fmt_pct(product.services.max_financed_pct_of_price)} "
            "of the price "
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
        (round_money(fee_amount(f, cash), ccy) for f in fees if f.financed and not f.per_period), ZERO
    )
    if product.lease is not None and product.lease.type == "closed_end":
        financed_fees += round_money(product.lease.acquisition_fee, ccy)
    amount_financed = cash + financed_services + financed_fees
    ltv = amount_financed / price
    if ltv > product.max_ltv:
        raise ValidationError(
            dp_field,
            structure.down_payment if structure.down_payment is not None else structure.down_payment_pct,
            f"{pid} allows an LTV of at most {fmt_pct(product.max_ltv)} (amount financed incl. financed "
            f"services and fees {amount_financed} / price {price} = {fmt_pct(ltv)})",
        )
    check_ltv_caps(
        catalogue, product.jurisdiction, product.kind, vehicle.use, vehicle.condition, vehicle.powertrain,
        ltv, dp_field,
        structure.down_payment if structure.down_payment is not None else structure.down_payment_pct,
    )  # fmt: skip
    check_promotion_deals(promos, structure, down / price, ltv, dp_field)

    # Rate: the lender's buy rate, the dealer's markup on top, or a promotional rate below.
    rate_promos = [p for p in promos if p.effect.kind in RATE_PROMOS]
    markup = structure.dealer_markup
    participation = check_markup(catalogue, product, markup, term, applicant.channel, bool(rate_promos))
    priced = price_rate(catalogue, product, vehicle, applicant, structure, market, ltv, day)
    customer_rate = priced.lender_rate + markup
    for p in rate_promos:
        target = ZERO if p.effect.kind is PromotionKind.ZERO_APR else (p.effect.rate or ZERO)
        customer_rate = min(customer_rate, target)

    conditions = tuple(
        c for c in product.conditions if condition_applies(c.when, amount_financed, ltv, applicant, vehicle)
    )
    basis = PricingBasis(
        quoted_on=day,
        rate_lock_until=day + timedelta(days=catalogue.rate_lock_days),
        jurisdiction=product.jurisdiction,
        region=applicant.region,
        channel=applicant.channel,
        bureau_score=applicant.bureau_score,
        condition=vehicle.condition,
        vehicle_age_years=vehicle.age_years,
        requested_term=structure.term,
        ltv=ltv,
        promotional=bool(rate_promos),
    )
    ctx = QuoteContext(
        product, catalogue, vehicle, structure, down, rebate, lines, term,
        customer_rate, priced.lender_rate, ltv, conditions, promos, markup, participation, basis,
    )  # fmt: skip
    if product.kind == "lease":
        result = quote_lease(ctx)
    else:
        result = quote_loan(ctx, balloon_pct, grace, deferral, priced.floating)
    check_quote_caps(catalogue, result, market, day)
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
