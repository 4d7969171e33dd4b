"""Dealer markup: the dealer's addition to the lender's buy rate, capped by term, and its reserve.

A dealer rate sheet is the lender's *buy rate* (its rate sheet's rate for the applicant) plus a
*markup* the dealer chooses, up to a cap that depends on the contract term — e.g. 125 bp up to 60
months and 100 bp beyond, the caps of the 2015 Honda consent order (docs/pricing-caps.md). The lender
pays the dealer ``participation`` × the markup's extra finance charge (the dealer reserve).

:func:`markup_policy` finds the policy that governs a product (the product's own, else the
catalogue's default for its jurisdiction, else none: no markup); :func:`check_markup` refuses a
markup that is negative, above the cap for the term, on a channel or product that allows none, on a
promotional rate or on a floating-rate product. Rates are annual decimals; terms are months.
"""

from __future__ import annotations

from decimal import Decimal

from autofin.catalog.models import Catalogue, DealerMarkupPolicy, Product
from autofin.catalog.rules import fmt_names
from autofin.errors import ValidationError

__all__ = ["FIELD", "check_markup", "markup_policy"]

ZERO = Decimal(0)
FIELD = "structure.dealer_markup"


def _bp(x: Decimal) -> str:
    return f"{(x * 10000).quantize(Decimal('0.1')).normalize():f} bp"


def markup_policy(catalogue: Catalogue, product: Product) -> DealerMarkupPolicy | None:
    """The markup policy of ``product``: its own, else the catalogue default for its jurisdiction."""
    if product.dealer_markup is not None:
        return product.dealer_markup
    return catalogue.dealer_markup.get(product.jurisdiction)


def check_markup(
    catalogue: Catalogue,
    product: Product,
    markup: Decimal,
    term: int,
    channel: str,
    promotional: bool,
) -> Decimal:
    """Check a dealer ``markup`` (annual decimal) on a contract of ``term`` months sold through
    ``channel``; return the dealer's participation share (0 when there is no markup).

    Raises :class:`~autofin.errors.ValidationError` on field ``structure.dealer_markup``.
    """
    if markup < 0:
        raise ValidationError(
            FIELD, markup, "a dealer markup cannot be negative (a rate reduction is a promotion)"
        )
    if markup == 0:
        return ZERO
    who = f"product {product.id}"
    policy = markup_policy(catalogue, product)
    if policy is None or not policy.allowed:
        raise ValidationError(FIELD, markup, f"{who} allows no dealer markup")
    if channel not in policy.channels:
        raise ValidationError(
            FIELD,
            markup,
            f"{who} allows a dealer markup only on channels {fmt_names(policy.channels)} "
            f"(this sale is {channel})",
        )
    if product.floating is not None:
        raise ValidationError(
            FIELD, markup, f"{who} is a floating-rate product: its spread is the lender's, not marked up"
        )
    if promotional:
        raise ValidationError(FIELD, markup, "a promotional rate cannot be marked up")
    cap = policy.cap_for(term)
    if cap is None:
        raise ValidationError(FIELD, markup, f"{who}'s markup policy has no cap for a {term}-month term")
    if markup > cap:
        source = f"; {policy.source}" if policy.source else ""
        raise ValidationError(
            FIELD,
            markup,
            f"the dealer markup {_bp(markup)} exceeds the cap of {_bp(cap)} for a {term}-month term{source}",
        )
    return policy.participation
