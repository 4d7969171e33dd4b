"""Request and response bodies of the REST service (pydantic v2).

Conventions: money as strings in the currency's major units (``"5000.00"``); rates and ratios as
annual decimals / fractions (``0.0599``, ``0.3`` of the price) — strings where they come from the
catalogue (exact), numbers where computed (``quote`` and decision records, rounded to 1e-10); dates as
ISO strings; texts in English (``en``) and Simplified Chinese (``zh-CN``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autofin.catalog.models import Eligibility, Localized, Product, Range
from autofin.catalog.quote import ApplicantInfo, Market, StructureRequest, VehicleInfo
from autofin.store.crypto import PersonalData

Lang = Literal["en", "zh-CN"]


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Health(_Out):
    """Liveness: ``ok`` once the decision engine is loaded."""

    status: Literal["ok"]
    catalogue: str


class PolicyTableVersion(_Out):
    version: str
    sha256: str


class CodeVersionOut(_Out):
    package: str
    commit: str | None


class Versions(_Out):
    """What decides: catalogue, policy tables, models (``name:version``), pricing assumptions, segment
    scheme, strategy and code, with the SHA-256 ``digest`` every decision record carries."""

    catalogue: str
    policy_tables: dict[str, PolicyTableVersion]
    models: list[str]
    pricing: str
    segments: str
    strategy: str
    code: CodeVersionOut
    digest: str


class Texts(_Out):
    en: str
    zh_cn: str = Field(alias="zh-CN")


class RangeOut(_Out):
    """A closed range; ``null`` for an open end."""

    min: str | None = None
    max: str | None = None


class VehicleEligibility(_Out):
    condition: list[str] | None = None
    vehicle_class: list[str] | None = None
    powertrain: list[str] | None = None
    use: list[str] | None = None
    brands: list[str] | None = None
    models: list[str] | None = None
    price: RangeOut | None = None
    max_age_years: int | None = None


class EligibilitySummary(_Out):
    """Who and what a product serves; ``null`` means no restriction."""

    customer_types: list[str] | None = None
    segments: list[str] | None = None
    channels: list[str] | None = None
    regions: list[str] | None = None
    applicant_age: RangeOut | None = None
    min_bureau_score: int | None = None
    vehicle: VehicleEligibility | None = None


class ProductSummary(_Out):
    """A catalogue product. ``terms`` in months; ``down_payment`` as fractions of the price;
    ``max_ltv`` amount financed over price."""

    id: str
    version: int
    kind: Literal["loan", "lease"]
    lease_type: str | None = None
    jurisdiction: str
    currency: str
    name: Texts
    terms: list[int]
    down_payment: RangeOut
    max_ltv: str
    effective_from: date
    effective_to: date | None = None
    eligibility: EligibilitySummary


class BalloonOut(_Out):
    min_pct_of_price: str
    max_pct_of_price: str
    default_pct_of_price: str | None = None


class GraceOut(_Out):
    kind: str
    max_periods: int


class ProductDetail(ProductSummary):
    """A product with its description and structure rules (repayment shape, payment timing, balloon,
    grace, services, segments served)."""

    description: Texts
    repayment: str
    timing: str
    segments_served: list[str]
    balloon: BalloonOut | None = None
    grace: list[GraceOut]
    services_allowed: list[str] | None = None
    floating_benchmark: str | None = None


class ProductList(_Out):
    catalogue: str
    products: list[ProductSummary]


class QuoteRequest(BaseModel):
    """One structure of one product: the product id, the vehicle, the structure asked for, and
    optionally the applicant (for eligibility and rate tiers), market rates and the quote date."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(min_length=1, examples=["cn-standard-equal-instalment"])
    vehicle: VehicleInfo
    structure: StructureRequest
    applicant: ApplicantInfo | None = None
    market: Market | None = None
    on: date | None = None


class QuoteProduct(_Out):
    id: str
    version: int


class QuoteOut(_Out):
    """The quote (:func:`autofin.catalog.presentation.quote_json`): money as strings, rates as numbers,
    the exact ``contract`` (schedule, or lease) with its disclosure."""

    product: QuoteProduct
    catalogue_version: str
    kind: Literal["loan", "lease"]
    lease_type: str | None
    currency: str
    price: str
    down_payment: str
    amount_financed: str
    ltv: float | None
    term: int
    services: list[dict[str, Any]]
    promotions: list[dict[str, Any]]
    customer_rate: float | None
    lender_rate: float | None
    buy_rate: float | None
    dealer_markup: float | None
    contract_rate: float | None
    dealer_participation: float | None
    dealer_reserve: str
    subvention: str
    conditions: list[dict[str, Any]]
    rates: dict[str, float | None]
    rate_method: str
    monthly_payment: str
    balloon_or_residual: str
    total_cost: str
    ownership_at_end: str
    amount_to_own: str
    notices: list[str]
    contract: dict[str, Any]


class ReasonOut(_Out):
    code: str
    source: str
    en: str
    zh_cn: str = Field(alias="zh-CN")


class DecisionRecord(_Out):
    """The decision record (:meth:`autofin.decision.engine.Decision.to_dict`) plus ``lang``, the
    language the caller asked for (``Accept-Language``): both texts stay in the record."""

    schema_version: int = Field(alias="schema")
    lang: Lang
    application_id: str | None
    application: dict[str, Any]
    start_date: str | None
    outcome: Literal["approve", "counter_offer", "refer", "decline"]
    reasons: list[ReasonOut]
    segment: str
    catalogue_segments: list[str]
    score: dict[str, Any]
    policy: dict[str, Any]
    offers: list[dict[str, Any]]
    counter_offers: list[dict[str, Any]]
    request_passed: bool | None
    versions: dict[str, Any]
    version_digest: str
    trace: dict[str, Any] | None = None
    timings_us: dict[str, float] | None = None


def _range(r: Range | None) -> RangeOut | None:
    if r is None:
        return None
    return RangeOut(
        min=None if r.min is None else str(r.min),
        max=None if r.max is None else str(r.max),
    )


def _texts(t: Localized) -> Texts:
    return Texts.model_validate({"en": t.en, "zh-CN": t.zh_cn})


def _eligibility(e: Eligibility) -> EligibilitySummary:
    v = e.vehicle
    return EligibilitySummary(
        customer_types=None if e.customer_types is None else list(e.customer_types),
        segments=e.segments,
        channels=None if e.channels is None else list(e.channels),
        regions=e.regions,
        applicant_age=_range(e.applicant_age),
        min_bureau_score=e.min_bureau_score,
        vehicle=None
        if v is None
        else VehicleEligibility(
            condition=None if v.condition is None else list(v.condition),
            vehicle_class=None if v.vehicle_class is None else list(v.vehicle_class),
            powertrain=None if v.powertrain is None else list(v.powertrain),
            use=None if v.use is None else list(v.use),
            brands=v.brands,
            models=v.models,
            price=_range(v.price),
            max_age_years=v.max_age_years,
        ),
    )


def _summary_fields(p: Product) -> dict[str, Any]:
    down = _range(p.down_payment)
    return {
        "id": p.id,
        "version": p.version,
        "kind": p.kind,
        "lease_type": None if p.lease is None else p.lease.type,
        "jurisdiction": p.jurisdiction,
        "currency": p.currency,
        "name": _texts(p.name),
        "terms": list(p.terms),
        "down_payment": down if down is not None else RangeOut(),
        "max_ltv": str(p.max_ltv),
        "effective_from": p.effective.start,
        "effective_to": p.effective.end,
        "eligibility": _eligibility(p.eligibility),
    }


def product_summary(p: Product) -> ProductSummary:
    """The list view of a catalogue product."""
    return ProductSummary(**_summary_fields(p))


def product_detail(p: Product) -> ProductDetail:
    """The full view of a catalogue product."""
    return ProductDetail(
        **_summary_fields(p),
        description=_texts(p.description),
        repayment=str(p.repayment.value),
        timing=str(p.timing.value),
        segments_served=list(p.segments_served),
        balloon=None
        if p.balloon is None
        else BalloonOut(
            min_pct_of_price=str(p.balloon.min_pct_of_price),
            max_pct_of_price=str(p.balloon.max_pct_of_price),
            default_pct_of_price=None
            if p.balloon.default_pct_of_price is None
            else str(p.balloon.default_pct_of_price),
        ),
        grace=[GraceOut(kind=str(g.kind.value), max_periods=g.max_periods) for g in p.grace],
        services_allowed=p.services.allowed,
        floating_benchmark=None if p.floating is None else p.floating.benchmark,
    )


class IncomeDocumentOut(_Out):
    """One income document; ``issuer`` and ``reference`` are empty when the personal data is masked."""

    kind: str
    issuer: str
    reference: str
    monthly_amount: str | None


class PersonalOut(_Out):
    """The applicant's personal data: in full for underwriters and admins, otherwise ``masked`` (national
    ID and phone with :func:`~autofin.store.crypto.mask_national_id` / ``mask_phone``, the name down to
    its first character, income documents without issuer and reference)."""

    masked: bool
    national_id: str
    name: str
    phone: str
    income_documents: list[IncomeDocumentOut]


class StoredDecision(_Out):
    """A stored decision: its id, outcome, the version digest, the SHA-256 of the record
    (``record_digest``, equal to ``Decision.digest``), when it was made and the record itself
    (``Decision.to_dict(timings=False)``)."""

    id: str
    outcome: Literal["approve", "counter_offer", "refer", "decline"]
    version_digest: str
    record_digest: str
    decided_at: datetime
    record: dict[str, Any]


class ApplicationSummary(_Out):
    """A stored application in a list: ``id`` (the store's, random), ``application_id`` (the client's
    id inside the application), the dealer, channel, status (``submitted`` or the latest decision's
    outcome) and times (UTC)."""

    id: str
    application_id: str | None
    dealer_id: str
    channel: str
    status: str
    submitted_at: datetime
    received_at: datetime


class ApplicationOut(ApplicationSummary):
    """A stored application with the application as submitted, the personal data (masked for most
    roles) and its latest decision (``null`` before the first)."""

    application: dict[str, Any]
    personal: PersonalOut
    decision: StoredDecision | None


class ApplicationList(_Out):
    """Applications, newest submission first."""

    applications: list[ApplicationSummary]


class ApplicationSubmission(BaseModel):
    """``POST /v1/applications``: the application (as for ``POST /v1/decisions``; see Application) and
    the applicant's personal data, which is stored only encrypted."""

    model_config = ConfigDict(extra="forbid")

    application: dict[str, Any] = Field(description="one application (see Application)")
    personal: PersonalData


class AcceptanceRequest(BaseModel):
    """``POST /v1/applications/{id}/acceptance``: the rank (1-based) of the offer accepted, in the latest
    decision's ``menu`` — ``offers`` or ``counter_offers``; by default a counter-offer decision's
    counter-offers (when it has any), otherwise its offers."""

    model_config = ConfigDict(extra="forbid")

    offer: int = Field(ge=1, le=1000, description="the offer's rank in the decision record, from 1")
    menu: Literal["offers", "counter_offers"] | None = None


class ContractOut(_Out):
    """A booked contract: the accepted offer exactly as the decision stored it (``offer``: structure,
    payment and the full ``quote``; money as strings), with its payment ``schedule`` (a loan's
    instalments or a lease's rents) and its ``disclosure`` (``null`` when the contract kind has none)
    lifted out for convenience. Times in UTC."""

    id: str
    application_id: str
    client_application_id: str | None
    dealer_id: str
    decision_id: str
    menu: Literal["offers", "counter_offers"]
    offer_rank: int
    product_id: str
    currency: str
    amount_financed: str
    accepted_by: str
    created_at: datetime
    offer: dict[str, Any]
    schedule: list[dict[str, Any]]
    disclosure: dict[str, Any] | None


class ReviewRequest(BaseModel):
    """``POST /v1/applications/{id}/review``: ``approve`` or ``decline`` a referred application.
    ``reason_codes``: codes of the engine's reason texts (policy, affordability or menu codes); a decline
    needs at least one, at most four. ``note``: free text for the file (at most 2,000 characters)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "decline"]
    reason_codes: list[str] = Field(default_factory=list, max_length=4)
    note: str = Field(default="", max_length=2000)


class ReviewOut(_Out):
    """A review: who did what, and the decision it made (``decision``, with its record)."""

    id: str
    application_id: str
    action: Literal["approve", "decline"]
    reason_codes: list[str]
    note: str
    by: str
    at: datetime
    referred_decision_id: str
    decision: StoredDecision


class QueueItem(ApplicationSummary):
    """A referred application in the underwriters' queue: its summary, the referral (decision id and
    time, reasons with texts), the score points and the amount requested (price less the wished down
    payment, in the application's currency)."""

    decision_id: str
    referred_at: datetime
    reasons: list[ReasonOut]
    score_points: float | None
    currency: str | None
    amount_requested: str | None
    offers: int


class ReviewQueue(_Out):
    """Referred applications, oldest submission first."""

    applications: list[QueueItem]
