"""Loan, balloon loan or lease: one car, one down payment, one term, three catalogue products side by side.

Every figure comes from :func:`autofin.catalog.quote.quote` (which computes each contract through the
contract engine); this module only picks the products and reads the quotes' own figures — no finance
maths is done here. For each quote (:func:`figures`), in the product's currency (major units):

- ``upfront``: what is paid at signing — for a loan the down payment, the upfront fees and services paid
  in cash; for a closed-end lease the amount due at signing (Regulation M; it includes the first monthly
  payment, paid in advance); for a finance lease the down payment, the handling fee and cash services;
- ``during_term``: the payments after signing up to the end of the term, without the end-of-term
  amount (loan: total of payments less the balloon; closed-end lease: total cost less the amount due
  at signing; finance lease: the total rent);
- ``end_amount``: what is still due at the end to own the car (:attr:`Quote.amount_to_own`: the balloon,
  the finance lease's purchase option price, the closed-end lease's residual value; 0 for a loan);
- ``to_own``: ``upfront + during_term + end_amount``, the total paid when the customer keeps the car.

Which products: :data:`CANDIDATES` lists, for each kind, the demo catalogue's products in order of
preference; then any other product of the catalogue of that shape (:func:`candidates`). The first that
accepts the request is shown; when none does, the first one's refusal is kept (field and rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from autofin.catalog.models import Catalogue, Product
from autofin.catalog.quote import ApplicantInfo, Market, Quote, StructureRequest, VehicleInfo, quote
from autofin.errors import AutofinError
from autofin.finance import lease as lease_math
from autofin.finance.schedule import Schedule

__all__ = ["CANDIDATES", "KINDS", "Figures", "Option", "candidates", "compare_options", "figures"]

Kind = Literal["loan", "balloon", "lease"]
KINDS: Final[tuple[Kind, ...]] = ("loan", "balloon", "lease")
#: Preferred products of each kind (the demo catalogue's ids), tried first and in this order.
CANDIDATES: Final[Mapping[Kind, tuple[str, ...]]] = {
    "loan": ("cn-standard-equal-instalment",),
    "balloon": ("cn-balloon-flex",),
    "lease": ("cn-nev-residual-value-lease", "cn-finance-lease-purchase-option"),
}


@dataclass(frozen=True)
class Figures:
    """What one quote costs over its life (see the module docstring); currency units."""

    upfront: Decimal
    during_term: Decimal
    end_amount: Decimal
    to_own: Decimal


def figures(q: Quote) -> Figures:
    """The upfront, during-term, end-of-term and to-own amounts of ``q`` (see the module docstring)."""
    contract = q.contract
    if isinstance(contract, Schedule):
        assert q.disclosure is not None
        upfront = q.total_cost - q.disclosure.total_of_payments
        during = q.disclosure.total_of_payments - q.amount_to_own
    elif isinstance(contract, lease_math.ConsumerLeaseDisclosure):
        upfront = contract.amount_due_at_signing
        during = q.total_cost - upfront
    else:
        during = contract.total_rent
        upfront = q.total_cost - contract.total_rent - contract.purchase_option_price
    return Figures(upfront, during, q.amount_to_own, upfront + during + q.amount_to_own)


def _shape(product: Product) -> Kind | None:
    if product.kind == "lease":
        return "lease"
    if product.balloon is not None:
        return "balloon"
    if product.steps is None and product.floating is None and str(product.repayment) == "annuity":
        return "loan"
    return None


def candidates(catalogue: Catalogue, kind: Kind, jurisdiction: str = "CN") -> list[str]:
    """Products of ``kind`` in ``jurisdiction``: :data:`CANDIDATES` first, then the others by id."""
    preferred = [p for p in CANDIDATES[kind] if p in catalogue.products]
    others = sorted(
        pid
        for pid, p in catalogue.products.items()
        if pid not in preferred and p.jurisdiction == jurisdiction and _shape(p) == kind
    )
    return [p for p in preferred if catalogue.products[p].jurisdiction == jurisdiction] + others


@dataclass(frozen=True)
class Option:
    """One column of the comparison: the quote of the product chosen for ``kind`` and its figures, or
    (``quote`` None) the refusal of the preferred product (``error_field``, ``error_rule``)."""

    kind: Kind
    product_id: str | None
    quote: Quote | None
    figures: Figures | None
    error_field: str | None = None
    error_rule: str | None = None


def compare_options(
    catalogue: Catalogue,
    market: Market | None,
    *,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    down_payment: Decimal,
    term: int,
    start: date,
    kinds: Sequence[Kind] = KINDS,
) -> list[Option]:
    """One :class:`Option` per kind for the same car, down payment (currency units) and term (months),
    contracts starting on ``start``."""
    out: list[Option] = []
    for kind in kinds:
        first_error: AutofinError | None = None
        chosen: Option | None = None
        ids = candidates(catalogue, kind)
        for pid in ids:
            try:
                q = quote(
                    catalogue,
                    pid,
                    vehicle,
                    StructureRequest(term=term, down_payment=down_payment, start_date=start),
                    applicant,
                    market,
                )
            except AutofinError as exc:
                first_error = first_error or exc
                continue
            chosen = Option(kind, pid, q, figures(q))
            break
        if chosen is None:
            chosen = Option(
                kind,
                ids[0] if ids else None,
                None,
                None,
                error_field=None if first_error is None else first_error.field,
                error_rule="no product of this kind" if first_error is None else first_error.rule,
            )
        out.append(chosen)
    return out
