"""Sample quote inputs for documentation, tests and benchmarks.

:data:`SAMPLE_MARKET` is a published 5-year LPR path for quoting floating CN products, and
:func:`sample_inputs` builds a vehicle, structure and applicant that a product's own rules accept —
deterministically, or drawn at random within those rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from autofin.catalog.models import Product, VehicleFilter
from autofin.catalog.quote_types import ApplicantInfo, Market, StructureRequest, VehicleInfo
from autofin.finance.terms import RatePoint

__all__ = [
    "SAMPLE_MARKET",
    "sample_inputs",
]

ZERO = Decimal(0)
ONE = Decimal(1)

# -- sample inputs (docs, tests, benchmarks) ---------------------------------------------------------

#: A sample 5-year LPR path (3.60 % from 20 Oct 2024, 3.50 % from 20 May 2025, as published by the
#: National Interbank Funding Center) for quoting floating CN products in examples and benchmarks.
SAMPLE_MARKET = Market(
    benchmarks={
        "LPR_5Y": [
            RatePoint(date=date(2024, 10, 21), rate=Decimal("0.036")),
            RatePoint(date=date(2025, 5, 20), rate=Decimal("0.035")),
        ]
    }
)

_SAMPLE = {
    "CNY": ("BYD", "Seal", Decimal(200_000)),
    "USD": ("Toyota", "RAV4", Decimal(35_000)),
}


def sample_inputs(
    product: Product, start_date: date, rng: Any | None = None
) -> tuple[VehicleInfo, StructureRequest, ApplicantInfo]:
    """A vehicle, structure and applicant that ``product``'s own rules accept.

    Deterministic without ``rng``: the first allowed value of every filter, the shortest term, the
    product's minimum down payment (raised to meet its LTV cap) and default balloon. With ``rng`` (a
    :class:`random.Random`) the term, down payment, balloon, score and price are drawn within the rules.
    ``start_date`` is moved into the product's effective window. Rate-table coverage, services and
    promotions are not considered (``quote`` still checks everything).
    """

    def pick(options: Sequence[Any] | None, default: Any) -> Any:
        if not options:
            return default
        return options[0] if rng is None else rng.choice(list(options))

    e = product.eligibility
    f = e.vehicle or VehicleFilter()
    brand, model, price = _SAMPLE.get(product.currency, ("Generic", "Car", Decimal(100_000)))
    brand = pick(f.brands, brand)
    model = pick(f.models, model)
    if rng is not None:
        price = (price * Decimal(rng.randint(60, 160)) / 100).quantize(Decimal(100))
    if f.price is not None:
        lo = f.price.min if f.price.min is not None else price
        hi = f.price.max if f.price.max is not None else max(price, lo)
        price = min(max(price, lo), hi)
    condition = pick(f.condition, "new")
    vehicle = VehicleInfo(
        brand=brand,
        model=model,
        condition=condition,
        vehicle_class=pick(f.vehicle_class, "mid"),
        powertrain=pick(f.powertrain, "nev" if product.currency == "CNY" else "ice"),
        use=pick(f.use, "passenger"),
        msrp=(price * Decimal("1.05")).quantize(Decimal(1)),
        price=price,
        age_years=0 if condition == "new" else min(3, f.max_age_years if f.max_age_years is not None else 3),
    )
    age = 35
    if e.applicant_age is not None:
        lo_age = int(e.applicant_age.min) if e.applicant_age.min is not None else 18
        hi_age = int(e.applicant_age.max) if e.applicant_age.max is not None else 70
        age = min(max(age, lo_age), hi_age)
    score = 720 if rng is None else rng.randint(600, 850)
    if e.min_bureau_score is not None:
        score = max(score, e.min_bureau_score)
    applicant = ApplicantInfo(
        customer_type=pick(e.customer_types, "individual"),
        segments=[pick(e.segments, "")] if e.segments else [],
        channel=pick(e.channels, "dealer"),
        region=pick(e.regions, None),
        bureau_score=score,
        age=age,
    )
    terms = list(product.terms)
    if product.lease is not None and product.lease.type == "closed_end":
        terms = [t for t in terms if t in product.lease.residual_pct_of_msrp] or terms
    term = min(terms) if rng is None else rng.choice(terms)
    dp_min = product.down_payment.min if product.down_payment.min is not None else ZERO
    dp_max = product.down_payment.max if product.down_payment.max is not None else Decimal("0.9")
    # Leave room for financed fees under the LTV cap.
    dp_min = min(max(dp_min, ONE - product.max_ltv + Decimal("0.02")), dp_max)
    dp = dp_min
    if rng is not None:
        dp = (dp_min + (min(dp_max, dp_min + Decimal("0.3")) - dp_min) * Decimal(rng.random())).quantize(
            Decimal("0.01")
        )
        dp = min(max(dp, dp_min), dp_max)
    balloon = None
    if product.balloon is not None and rng is not None:
        b = product.balloon
        balloon = (
            b.min_pct_of_price + (b.max_pct_of_price - b.min_pct_of_price) * Decimal(rng.random())
        ).quantize(Decimal("0.01"))
        balloon = min(max(balloon, b.min_pct_of_price), b.max_pct_of_price)
    start = max(start_date, product.effective.start)
    structure = StructureRequest(term=term, down_payment_pct=dp, balloon_pct=balloon, start_date=start)
    return vehicle, structure, applicant
