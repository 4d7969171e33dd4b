"""JSON boundary of the pricing package: pricing assumptions and offers as plain data.

The same shapes are read by ``autofin pricing`` and by anything that stores assumptions as files
(``examples/pricing/assumptions.json``). Rates are annual decimals, money in currency units, terms and
tenors in months. Validation errors name the field (``assumptions.funding.own.rates.2``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from autofin.errors import from_pydantic
from autofin.pricing.buildup import OfferEconomics, PricingAssumptions
from autofin.pricing.funding import Funding, FundingCurve

__all__ = ["AssumptionsSpec", "OfferSpec", "economics_json", "parse_assumptions", "parse_offer"]

Rate = Annotated[float, Field(ge=-0.05, lt=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CurveSpec(_Spec):
    """A funding curve: annual decimal rates at tenors in months (ascending)."""

    tenors_months: list[Annotated[int, Field(ge=1, le=600)]] = Field(min_length=1)
    rates: list[Rate] = Field(min_length=1)

    @model_validator(mode="after")
    def _matched(self) -> CurveSpec:
        if len(self.tenors_months) != len(self.rates):
            raise ValueError("tenors_months and rates must have the same length")
        if any(b <= a for a, b in zip(self.tenors_months, self.tenors_months[1:], strict=False)):
            raise ValueError("tenors_months must be strictly ascending")
        return self

    def build(self) -> FundingCurve:
        return FundingCurve(tuple(self.tenors_months), tuple(self.rates))


class FundingSpec(_Spec):
    """The lender's own curve, and optionally a partner bank funding a share of each loan."""

    own: CurveSpec
    partner: CurveSpec | None = None
    partner_share: Annotated[float, Field(ge=0, le=1)] = 0.0

    def build(self) -> Funding:
        return Funding(self.own.build(), self.partner.build() if self.partner else None, self.partner_share)


class AssumptionsSpec(_Spec):
    """:class:`~autofin.pricing.buildup.PricingAssumptions` as data (same names and units)."""

    funding: FundingSpec
    lgd: Annotated[float, Field(ge=0, le=1)]
    opex_origination: Annotated[float, Field(ge=0)]
    opex_annual: Annotated[float, Field(ge=0, le=1)]
    capital_ratio: Annotated[float, Field(gt=0, le=1)]
    hurdle_rate: Annotated[float, Field(gt=-1, lt=1)]
    tax_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    dealer_flat: Annotated[float, Field(ge=0)] = 0.0
    dealer_participation: Annotated[float, Field(ge=0, le=1)] = 0.0
    fi_margin: float = 0.0
    subvention: float = 0.0
    funding_basis: Literal["matched", "wal"] = "matched"
    discount_rate: Rate | None = None

    def build(self) -> PricingAssumptions:
        data = self.model_dump(exclude={"funding"})
        return PricingAssumptions(funding=self.funding.build(), **data)


class OfferSpec(_Spec):
    """One offer to price: amount financed, customer rate (buy rate + markup), term, PD and costs."""

    amount: Annotated[float, Field(gt=0)]
    rate: Rate | None = None
    term_months: Annotated[int, Field(ge=1, le=120)]
    pd: Annotated[float, Field(ge=0, lt=1)] | list[Annotated[float, Field(ge=0, lt=1)]]
    balloon: Annotated[float, Field(ge=0)] = 0.0
    markup: Annotated[float, Field(ge=0, lt=1)] = 0.0
    fee: Annotated[float, Field(ge=0)] = 0.0
    target_raroc: Annotated[float, Field(gt=-1, lt=10)] | None = None
    assumptions: AssumptionsSpec

    @model_validator(mode="after")
    def _something_to_do(self) -> OfferSpec:
        if self.rate is None and self.target_raroc is None:
            raise ValueError("give rate (to price it) or target_raroc (to find the minimum rate), or both")
        if self.balloon >= self.amount:
            raise ValueError("balloon must be below amount")
        return self


def parse_assumptions(data: Any) -> PricingAssumptions:
    """Validate ``data`` (a JSON object) into :class:`PricingAssumptions`; errors name the field."""
    try:
        return AssumptionsSpec.model_validate(data).build()
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


def parse_offer(data: Any) -> OfferSpec:
    """Validate one offer request (see :class:`OfferSpec`); errors name the field."""
    try:
        return OfferSpec.model_validate(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None


def economics_json(e: OfferEconomics) -> dict[str, Any]:
    """JSON-ready economics: NPV and RAROC, flags, and the waterfall (PV in currency, bp p.a.)."""
    return {
        "npv": round(e.npv, 2),
        "raroc": round(e.raroc, 6),
        "negative_return": e.negative_return,
        "loss_making": e.loss_making,
        "funding_rate": round(e.funding_rate, 6),
        "wal_months": round(e.wal_months, 3),
        "capital": round(e.capital, 2),
        "hurdle_rate": e.hurdle_rate,
        "waterfall": [{"line": ln.name, "pv": round(ln.pv, 2), "bp": round(ln.bp, 2)} for ln in e.waterfall],
    }
