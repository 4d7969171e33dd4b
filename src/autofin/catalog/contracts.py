"""Building the contract of a checked, priced quote request through the contract engine.

:func:`quote_loan` turns a :class:`QuoteContext` into a loan :class:`~autofin.catalog.quote_types.Quote`
via :func:`~autofin.finance.schedule.build_schedule` and :func:`~autofin.finance.disclosure.disclose_loan`;
:func:`quote_lease` does the same for a lease via :func:`~autofin.finance.lease.closed_end_lease` or
:func:`~autofin.finance.lease.finance_lease`. Both compute the lender's subvention when a promotion buys
the customer's rate below the lender's. Nothing is checked there: :func:`autofin.catalog.quote.quote` has
checked and priced the request before it builds the context.

:func:`verify_at_contract` is the second enforcement point: it re-checks an accepted quote against the
catalogue in force on the contract date — the dealer-markup cap, the legal rate caps (on the all-in
rate recomputed from the contract's cash flows) and the rate sheet (the buy rate must still be the
sheet's rate, unless the quote is within its rate-lock window). See docs/pricing-caps.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from autofin.catalog.jurisdictions import AppliedCap, check_quote_caps, pct2
from autofin.catalog.markup import check_markup
from autofin.catalog.models import Catalogue, Product, ProductCondition, Promotion
from autofin.catalog.pricing import fee_amount, initial_rate, promo_costs, sheet_rate
from autofin.catalog.quote_types import (
    Market,
    Ownership,
    PricingBasis,
    Quote,
    ServiceLine,
    StructureRequest,
    VehicleInfo,
)
from autofin.catalog.rules import fmt_names
from autofin.errors import ValidationError
from autofin.finance import lease as lease_math
from autofin.finance.apr import AprMethod
from autofin.finance.disclosure import disclose_loan
from autofin.finance.promotions import subvention
from autofin.finance.schedule import RowKind, Schedule, build_schedule
from autofin.finance.terms import Balloon, BrokenPeriod, Fee, FloatingRate, Grace, GraceKind, LoanTerms
from autofin.money import CONTEXT, currency, round_money

__all__ = [
    "ContractCheck",
    "QuoteContext",
    "quote_lease",
    "quote_loan",
    "verify_at_contract",
]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class QuoteContext:
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
    dealer_markup: Decimal = ZERO
    participation: Decimal = ZERO
    basis: PricingBasis | None = None

    def reserve(self, extra_paid: Decimal) -> Decimal:
        """The dealer reserve: ``participation`` × the extra the customer pays because of the markup."""
        if not self.dealer_markup or not self.participation:
            return ZERO
        return round_money(self.participation * extra_paid, currency(self.product.currency))

    def quote(self, **contract: Any) -> Quote:
        """The :class:`Quote` of this request: its own fields plus those of the computed contract."""
        return Quote(
            product_id=self.product.id,
            product_version=self.product.version,
            catalogue_version=self.catalogue.version,
            currency=self.product.currency,
            price=self.vehicle.price,
            down_payment=self.down,
            ltv=self.ltv,
            term=self.term,
            services=self.lines,
            customer_rate=self.customer_rate,
            lender_rate=self.lender_rate,
            conditions=self.conditions,
            dealer_markup=self.dealer_markup,
            dealer_participation=self.participation if self.dealer_markup else ZERO,
            basis=self.basis,
            **contract,
        )


def _methods(product: Product) -> list[AprMethod]:
    methods = [AprMethod.US_REGZ if product.jurisdiction == "US" else AprMethod.CN_IRR]
    if product.currency == "EUR":
        methods.append(AprMethod.EU_APRC)
    return methods


def quote_loan(
    c: QuoteContext, balloon_pct: Decimal, grace: list[Grace], deferral: int, floating: FloatingRate | None
) -> Quote:
    """The loan quote: schedule, disclosure and subvention through the loan engine."""
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
    reserve = ZERO
    if c.dealer_markup and c.participation:
        at_buy = build_schedule(terms.model_copy(update={"annual_rate": lender_rate}))
        reserve = c.reserve(schedule.total_of_payments - at_buy.total_of_payments)
    disclosure = disclose_loan(schedule, _methods(product))
    subv = ZERO
    if customer_rate < lender_rate:
        subv = subvention(schedule, lender_rate)
    applied = promo_costs(c.promos, lines, subv, product.currency)
    balloon = schedule.balloon
    monthly = schedule.regular_instalment
    if broken is BrokenPeriod.FIRST_INSTALMENT and first_payment is not None:
        # Only an odd first period needs the amortising rows (the first carries the odd days' interest).
        amortising = [r for r in schedule.rows if r.kind is RowKind.AMORTISING]
        if len(amortising) > 2:
            monthly = amortising[1].instalment
    # ``disclosure.total_of_payments`` is ``schedule.total_of_payments`` (summed once, in disclose_loan).
    total_cost = down + schedule.upfront_fees + cash_services + disclosure.total_of_payments
    return c.quote(
        kind="loan",
        lease_type=None,
        amount_financed=schedule.opening_balance,
        promotions=applied,
        subvention=subv,
        contract=schedule,
        disclosure=disclosure,
        rates={m.value: r.apr for m, r in disclosure.rates.items()},
        rate_label=_methods(product)[0].value,
        monthly_payment=monthly,
        balloon_or_residual=balloon,
        total_cost=total_cost,
        ownership_at_end=Ownership.OWNS_AFTER_BALLOON if balloon > 0 else Ownership.OWNS,
        amount_to_own=balloon,
        dealer_reserve=reserve,
    )


def quote_lease(c: QuoteContext) -> Quote:
    """The lease quote: a closed-end lease disclosure or a finance-lease schedule, and subvention."""
    product, vehicle, structure, lines, term = c.product, c.vehicle, c.structure, c.lines, c.term
    down, rebate, customer_rate, lender_rate = c.down, c.rebate, c.customer_rate, c.lender_rate
    spec = product.lease
    assert spec is not None
    ccy = currency(product.currency)
    cash = vehicle.price - rebate - down
    cash_services = sum((s.price for s in lines if not s.financed), ZERO)
    financed_services = sum((s.price for s in lines if s.financed), ZERO)
    financed_fees = sum(
        (round_money(fee_amount(f, cash), ccy) for f in product.fees if f.financed and not f.per_period),
        ZERO,
    )
    upfront_fees = sum(
        (round_money(fee_amount(f, cash), ccy) for f in product.fees if not f.financed and not f.per_period),
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
                f"product {product.id} has residuals for terms "
                f"{fmt_names(sorted(spec.residual_pct_of_msrp))}",
            )
        charges = [lease_math.LeaseCharge("Acquisition fee", spec.acquisition_fee, capitalized=True)]
        charges += [
            lease_math.LeaseCharge(f"service:{s.id}", s.price, capitalized=True)
            for s in lines
            if s.financed and s.price
        ]
        charges += [
            lease_math.LeaseCharge(f.name, round_money(fee_amount(f, cash), ccy), capitalized=f.financed)
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
        reserve = ZERO
        if c.dealer_markup and c.participation:
            gap_paid = lease.base_periodic_payment - closed(lender_rate).base_periodic_payment
            reserve = c.reserve(gap_paid * term)
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
        reserve = ZERO
        if c.dealer_markup and c.participation:
            reserve = c.reserve(fl.total_rent - fin(lender_rate).total_rent)
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
    applied = promo_costs(c.promos, lines, subv, product.currency)
    return c.quote(
        kind="lease",
        lease_type=lease_type,
        amount_financed=amount_financed,
        promotions=applied,
        subvention=subv,
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
        dealer_reserve=reserve,
    )


# -- contract time ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractCheck:
    """What :func:`verify_at_contract` checked and found acceptable.

    ``rate_locked`` is true when the quote was within its rate-lock window on ``day`` (its buy rate
    is honoured whatever the sheet says); ``sheet_rate`` is the rate sheet's rate for the quote on
    ``day`` (annual decimal, ``None`` if not looked up because locked); ``caps`` are the legal caps
    that applied and ``rates`` the all-in rates recomputed from the contract.
    """

    day: date
    catalogue_version: str
    rate_locked: bool
    sheet_rate: Decimal | None
    caps: tuple[AppliedCap, ...]
    rates: dict[str, Decimal | None]


def _recomputed_rates(q: Quote) -> dict[str, Decimal | None]:
    """The all-in rates from the contract's own cash flows (loans); a lease's disclosed rates."""
    if q.kind == "loan" and isinstance(q.contract, Schedule):
        disclosure = disclose_loan(q.contract, [AprMethod(m) for m in q.rates])
        return {m.value: r.apr for m, r in disclosure.rates.items()}
    return dict(q.rates)


def verify_at_contract(q: Quote, catalogue: Catalogue, market: Market | None, day: date) -> ContractCheck:
    """Re-check accepted quote ``q`` against ``catalogue`` — the catalogue in force on the contract
    date ``day`` — and ``market`` (benchmarks for benchmark-linked caps, valued on ``day``).

    Refuses with :class:`~autofin.errors.ValidationError` when the product is gone (or, past the rate
    lock, no longer effective); the dealer markup exceeds the cap now in force for the contract term
    or is no longer allowed (``structure.dealer_markup``); the all-in rate, recomputed from the
    contract, exceeds a legal cap now in force (``structure``); or, past the quote's rate-lock window
    (``catalogue.rate_lock_days`` after the quote date), the buy rate is no longer the rate sheet's
    (``buy_rate``). Returns what was checked.
    """
    basis = q.basis
    if basis is None:
        raise ValidationError("quote.basis", None, "the quote records no pricing basis: quote it again")
    if day < basis.quoted_on:
        raise ValidationError("day", day, f"the contract date is before the quote date {basis.quoted_on}")
    product = catalogue.products.get(q.product_id)
    if product is None:
        raise ValidationError(
            "product", q.product_id, f"catalogue {catalogue.version} in force on {day} has no such product"
        )
    locked = day <= basis.rate_lock_until
    if not locked and not product.effective.contains(day):
        raise ValidationError(
            "product",
            q.product_id,
            f"product {product.id} is effective {product.effective.start}..{product.effective.end or ''} "
            f"and the quote's rate lock ended on {basis.rate_lock_until}",
        )
    check_markup(catalogue, product, q.dealer_markup, q.term, basis.channel, basis.promotional)
    current: Decimal | None = None
    if not locked:
        current = initial_rate(
            product,
            sheet_rate(
                catalogue, product, basis.bureau_score, basis.condition, basis.requested_term, basis.ltv,
                day,
            ),
        )  # fmt: skip
        if current != q.buy_rate:
            raise ValidationError(
                "buy_rate",
                q.buy_rate,
                f"the rate sheet of catalogue {catalogue.version} gives product {product.id} "
                f"{pct2(current)} on {day}, not the quoted buy rate {pct2(q.buy_rate)}; the quote's "
                f"rate lock ended on {basis.rate_lock_until}: quote again",
            )
    rates = _recomputed_rates(q)
    caps = check_quote_caps(catalogue, q, market, day, rates)
    return ContractCheck(day, catalogue.version, locked, current, tuple(caps), rates)
