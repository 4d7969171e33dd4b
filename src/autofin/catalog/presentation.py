"""Presenting quotes: side-by-side comparison rows (:func:`compare`) and the whole quote as JSON-ready
data (:func:`quote_json`) — money as strings, rates as numbers with the method that computed them, dates as
ISO strings. A lease's rate is always labelled as a lease rate or annualised lease cost, never as an APR.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from autofin.catalog.quote_types import Quote
from autofin.finance.apr import AprMethod
from autofin.finance.contract import jsonable, loan_contract
from autofin.finance.disclosure import LoanDisclosure
from autofin.finance.schedule import Schedule

__all__ = [
    "compare",
    "quote_json",
]


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


def _own_disclosure(q: Quote, schedule: Schedule) -> LoanDisclosure | None:
    """The loan quote's disclosure when it is the one its ``rates`` were read from (the quote engine's
    ``disclose_loan`` of the same schedule with the same methods, in order): what :func:`loan_contract`
    would compute again, so it is reused. ``None`` (compute it) for anything else."""
    d = q.disclosure
    if d is None or len(d.rates) != len(q.rates) or d.amount_financed != schedule.amount_financed:
        return None
    for (method, result), (label, rate) in zip(d.rates.items(), q.rates.items(), strict=True):
        if method.value != label or result.apr is not rate:
            return None
    return d


def quote_json(q: Quote) -> dict[str, Any]:
    """The whole quote as JSON-ready data (money as strings, rates as numbers, dates as ISO strings)."""
    if isinstance(q.contract, Schedule):
        contract = loan_contract(q.contract, [AprMethod(m) for m in q.rates], _own_disclosure(q, q.contract))
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
        "buy_rate": _rate_number(q.buy_rate),
        "dealer_markup": _rate_number(q.dealer_markup),
        "contract_rate": _rate_number(q.contract_rate),
        "dealer_participation": _rate_number(q.dealer_participation),
        "dealer_reserve": str(q.dealer_reserve),
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
