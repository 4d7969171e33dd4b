"""The product, service and promotion rules a quote request must meet, and how refusals are worded.

Eligibility of the applicant and the vehicle (:func:`check_eligibility`), whether a product condition
applies to a contract (:func:`condition_applies`), the balloon rule (:func:`resolve_balloon_pct`) and the
promotion rules — validity, eligibility, what each effect can be combined with, and stacking
(:func:`check_promotions`). Every refusal is a :class:`autofin.errors.ValidationError` naming the request
field at fault; the ``fmt_*`` helpers word the allowed values the same way across the quoting modules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from autofin.catalog.models import (
    Catalogue,
    ConditionWhen,
    Eligibility,
    Product,
    Promotion,
    PromotionKind,
    VehicleFilter,
)
from autofin.catalog.quote_types import ApplicantInfo, StructureRequest, VehicleInfo
from autofin.errors import ValidationError
from autofin.finance.terms import PaymentTiming

__all__ = [
    "RATE_PROMOS",
    "check_eligibility",
    "check_promotions",
    "condition_applies",
    "fmt_names",
    "fmt_pct",
    "fmt_range",
    "resolve_balloon_pct",
]

ZERO = Decimal(0)
#: The promotion effects that set the customer rate (at most one per quote).
RATE_PROMOS = (PromotionKind.RATE_BUYDOWN, PromotionKind.ZERO_APR)

# -- wording and eligibility ------------------------------------------------------------------------


def fmt_names(values: Iterable[object]) -> str:
    """Allowed values as a refusal message lists them: ``a, b, c``."""
    return ", ".join(str(v) for v in values)


def fmt_range(r: Any) -> str:
    """A min/max range as a refusal message shows it: ``lo..hi``, ``≥ lo`` or ``≤ hi``."""
    lo = "" if r.min is None else str(r.min)
    hi = "" if r.max is None else str(r.max)
    return f"{lo}..{hi}" if lo and hi else (f"≥ {lo}" if lo else f"≤ {hi}")


def fmt_pct(x: Decimal) -> str:
    """A fraction as a percentage with up to two decimals: ``0.125`` → ``12.5 %``."""
    return f"{(x * 100).quantize(Decimal('0.01')).normalize():f} %"


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
            raise ValidationError(f"vehicle.{name}", value, f"{who} is for {name} {fmt_names(allowed)}")
    if f.price is not None and not f.price.contains(vehicle.price):
        raise ValidationError(
            "vehicle.price", vehicle.price, f"{who} is for vehicle prices {fmt_range(f.price)}"
        )
    if f.max_age_years is not None and vehicle.age_years > f.max_age_years:
        raise ValidationError(
            "vehicle.age_years",
            vehicle.age_years,
            f"{who} is for vehicles at most {f.max_age_years} years old",
        )


def check_eligibility(e: Eligibility, applicant: ApplicantInfo, vehicle: VehicleInfo, who: str) -> None:
    """Raise naming the applicant / vehicle field when ``e`` excludes them; ``who`` names the item."""
    if e.customer_types is not None and applicant.customer_type not in e.customer_types:
        raise ValidationError(
            "applicant.customer_type",
            applicant.customer_type,
            f"{who} is for customer types {fmt_names(e.customer_types)}",
        )
    if e.segments is not None and not set(applicant.segments) & set(e.segments):
        raise ValidationError(
            "applicant.segments", applicant.segments, f"{who} is for segments {fmt_names(e.segments)}"
        )
    if e.channels is not None and applicant.channel not in e.channels:
        raise ValidationError(
            "applicant.channel", applicant.channel, f"{who} is for channels {fmt_names(e.channels)}"
        )
    if e.regions is not None and applicant.region not in e.regions:
        raise ValidationError(
            "applicant.region", applicant.region, f"{who} is for regions {fmt_names(e.regions)}"
        )
    if e.applicant_age is not None and (applicant.age is None or not e.applicant_age.contains(applicant.age)):
        raise ValidationError(
            "applicant.age", applicant.age, f"{who} is for applicants aged {fmt_range(e.applicant_age)}"
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


def condition_applies(
    when: ConditionWhen,
    amount_financed: Decimal,
    ltv: Decimal,
    applicant: ApplicantInfo,
    vehicle: VehicleInfo,
) -> bool:
    """Whether a product condition's ``when`` holds for this contract, applicant and vehicle."""
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


def resolve_balloon_pct(product: Product, structure: StructureRequest, pid: str) -> Decimal:
    """The balloon as a fraction of the price: the requested one checked against the product's rule, else
    the rule's default (or minimum), else 0."""
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
            f"{pid} allows a balloon of {fmt_pct(rule.min_pct_of_price)}..{fmt_pct(rule.max_pct_of_price)} "
            "of the price",
        )
    return structure.balloon_pct


def check_promotions(
    catalogue: Catalogue,
    product: Product,
    vehicle: VehicleInfo,
    applicant: ApplicantInfo,
    structure: StructureRequest,
    day: date,
) -> list[Promotion]:
    """The requested promotions, each checked against its rules and the product, and their stacking."""
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
            raise ValidationError(f, pid, f"{who} is for products {fmt_names(e.products)}")
        if e.inventory_age_days_min is not None and vehicle.inventory_age_days < e.inventory_age_days_min:
            raise ValidationError(
                "vehicle.inventory_age_days",
                vehicle.inventory_age_days,
                f"{who} is for vehicles in stock at least {e.inventory_age_days_min} days",
            )
        check_eligibility(e, applicant, vehicle, who)
        kind = promo.effect.kind
        if kind in RATE_PROMOS and product.floating is not None:
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
        elif a.effect.kind in RATE_PROMOS and b.effect.kind in RATE_PROMOS:
            why = "both set the customer rate"
        if why is not None:
            raise ValidationError(
                f"structure.promotions[{structure.promotions.index(b.id)}]",
                b.id,
                f"promotions {a.id} and {b.id} cannot be combined: {why}",
            )
    return promos


def check_promotion_deals(
    promos: Sequence[Promotion], structure: StructureRequest, down_pct: Decimal, ltv: Decimal, dp_field: str
) -> None:
    """Each promotion's deal conditions: the requested term, the down payment and the LTV."""
    for promo in promos:
        e, who = promo.eligibility, f"promotion {promo.id}"
        if e.terms is not None and not e.terms.contains(structure.term):
            raise ValidationError(
                "structure.term", structure.term, f"{who} is for terms {fmt_range(e.terms)}"
            )
        if e.min_down_payment_pct is not None and down_pct < e.min_down_payment_pct:
            raise ValidationError(
                dp_field,
                fmt_pct(down_pct),
                f"{who} needs a down payment of at least {fmt_pct(e.min_down_payment_pct)}",
            )
        if e.max_ltv is not None and ltv > e.max_ltv:
            raise ValidationError(
                dp_field, fmt_pct(ltv), f"{who} allows an LTV of at most {fmt_pct(e.max_ltv)}"
            )
