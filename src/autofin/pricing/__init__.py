"""Pricing: the cost build-up of an offer, its RAROC and NPV, for one offer or a million.

Market inputs (funding curves) are passed in — :mod:`autofin.pricing.funding` — never looked up.
"""

from autofin.pricing.buildup import (
    LINES,
    OfferEconomics,
    PricingAssumptions,
    WaterfallLine,
    duration_capital,
    minimum_rate,
    offer_economics,
    ul_capital,
)
from autofin.pricing.funding import Funding, FundingCurve

__all__ = [
    "LINES",
    "Funding",
    "FundingCurve",
    "OfferEconomics",
    "PricingAssumptions",
    "WaterfallLine",
    "duration_capital",
    "minimum_rate",
    "offer_economics",
    "ul_capital",
]
