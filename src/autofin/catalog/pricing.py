"""Pricing a quote request: its services, its rate, its fees and what its promotions cost.

:func:`service_lines` checks and prices the requested (and promotion-given) value-added services;
:func:`price_rate` finds the lender's rate — the product's fixed rate or its rate-table tier, plus margin
— and, for a floating product, the benchmark-plus-spread :class:`~autofin.finance.terms.FloatingRate`;
:func:`fee_amount` sizes a product fee; :func:`promo_costs` values each applied promotion for its funder.
Contract maths stays in the engine (:mod:`autofin.finance`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autofin.catalog.models import Catalogue, Product, Promotion, PromotionKind, RateTable, Service
from autofin.catalog.quote_types import (
    ApplicantInfo,
    AppliedPromotion,
    Market,
    ServiceLine,
    StructureRequest,
    VehicleInfo,
)
from autofin.catalog.rules import RATE_PROMOS, check_eligibility, fmt_names, fmt_pct
from autofin.dates import add_months
from autofin.errors import ValidationError
from autofin.finance.terms import Fee, FloatingRate
from autofin.money import currency, round_money

__all__ = [
    "Priced",
    "fee_amount",
    "price_rate",
    "promo_costs",
    "service_lines",
    "sheet_rate",
]

ZERO = Decimal(0)


@dataclass(slots=True)
class Priced:
    """The lender's rate on the start date and, for a floating product, its floating-rate terms."""

    lender_rate: Decimal
    floating: FloatingRate | None


def fee_amount(fee: Fee, cash: Decimal) -> Decimal:
    """A fee's amount: its flat amount, or its percentage of ``cash`` (the price less rebate and down)."""
    if fee.amount is not None:
        return fee.amount
    assert fee.pct_of_principal is not None
    return cash * fee.pct_of_principal


def service_lines(
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
    """The checked, priced service lines (requested ones first, then those promotions give)."""
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
            raise ValidationError(
                f, sid, f"product {product.id} allows services {fmt_names(allowed) or 'none'}"
            )
        if not svc.effective.contains(day):
            raise ValidationError(
                f, sid, f"{who} is effective {svc.effective.start}..{svc.effective.end or ''}"
            )
        if svc.currency != product.currency:
            raise ValidationError(
                f, sid, f"{who} is in {svc.currency}, product {product.id} in {product.currency}"
            )
        check_eligibility(svc.eligibility, applicant, vehicle, who)
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
        raise ValidationError(
            f, svc.id, f"service {svc.id} is priced for terms {fmt_names(sorted(p.by_term))}"
        )
    return p.by_term[term]


def price_rate(
    catalogue: Catalogue,
    product: Product,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    structure: StructureRequest,
    market: Market | None,
    ltv: Decimal,
    day: date,
) -> Priced:
    """The lender's rate (fixed or rate-table tier, plus margin) and any floating-rate terms."""
    rate = sheet_rate(catalogue, product, applicant.bureau_score, vehicle.condition, structure.term, ltv, day)
    fl = product.floating
    if fl is None:
        return Priced(rate, None)
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
    return Priced(initial_rate(product, rate), floating)


def initial_rate(product: Product, rate: Decimal) -> Decimal:
    """The lender's rate on the start date: ``rate``, within a floating product's lifetime bounds."""
    fl = product.floating
    if fl is None:
        return rate
    if fl.lifetime_cap is not None:
        rate = min(rate, fl.lifetime_cap)
    if fl.lifetime_floor is not None:
        rate = max(rate, fl.lifetime_floor)
    return max(rate, ZERO)


def sheet_rate(
    catalogue: Catalogue,
    product: Product,
    bureau_score: int | None,
    condition: str,
    term: int,
    ltv: Decimal,
    day: date,
) -> Decimal:
    """The rate sheet's rate for a product on ``day`` (annual decimal): its fixed rate or its tier-table
    cell for the score, vehicle condition, requested term (months) and LTV, plus the product margin."""
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
        base = _table_rate(table, bureau_score, condition, term, ltv, day)
    rate = base + src.margin
    if rate < 0:
        raise ValidationError(
            "product.rate.margin", src.margin, f"product {product.id}'s rate would be negative"
        )
    return rate


def _table_rate(
    table: RateTable, bureau_score: int | None, condition: str, term: int, ltv: Decimal, day: date
) -> Decimal:
    who = f"rate table {table.id}"
    if not table.effective.contains(day):
        raise ValidationError(
            "product.rate.table",
            table.id,
            f"{who} is effective {table.effective.start}..{table.effective.end or ''}",
        )
    score = bureau_score if bureau_score is not None else table.no_score
    if score is None:
        raise ValidationError(
            "applicant.bureau_score", None, f"{who} needs a bureau score (it has no no_score)"
        )
    for row in table.rows:
        if not row.score.contains(score) or not row.term.contains(term):
            continue
        if row.condition is not None and condition not in row.condition:
            continue
        if row.ltv is not None and not row.ltv.contains(ltv):
            continue
        return row.rate
    raise ValidationError(
        "structure",
        {"score": score, "term": term, "condition": condition, "ltv": str(round(ltv, 4))},
        f"{who} has no rate for score {score}, term {term}, {condition}, LTV {fmt_pct(ltv)}",
    )


def promo_costs(
    promos: Sequence[Promotion], lines: Sequence[ServiceLine], subv: Decimal, rebate_ccy: str
) -> tuple[AppliedPromotion, ...]:
    """What each applied promotion costs its funder, given the quote's services and subvention."""
    ccy = currency(rebate_ccy)
    by_service = {s.id: s for s in lines}
    out: list[AppliedPromotion] = []
    for p in promos:
        kind = p.effect.kind
        if kind in RATE_PROMOS:
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
