"""The offer-menu solver: the best few exact offers for one application, and counter-offers.

:func:`solve_menu` searches product × term × down payment × balloon for the catalogue products the
applicant and vehicle are eligible for (the catalogue's own :func:`~autofin.catalog.rules.check_eligibility`),
and works in two passes:

1. **Screen** every structure cheaply: the rate from the catalogue's rate lookup
   (:func:`~autofin.catalog.pricing.price_rate`), the payment by the level-annuity formula with a balloon
   (lease: the residual) in floats, the amount financed as price − down payment + financed services and
   fees, then the product's down-payment / LTV rules, the policy limits and
   :func:`~autofin.decision.affordability.assess`. The screen is an *estimate*: it only orders and
   prunes; a structure whose estimated payment is within :data:`SCREEN_SLACK` of the affordable payment
   goes on to the exact pass rather than being dropped.
2. **Exact**: :func:`~autofin.catalog.quote.quote` (schedule, APR / annualised rate, disclosures, caps)
   for the best candidates only, in screen order, until the menu is full or ``max_exact`` quotes are
   spent; each exact quote is re-assessed (affordability, policy limits) and only passing ones become
   offers. Nothing is offered on an estimate.

Offers are ranked by fit to the wishes (budget payment, down payment, term, ownership preference) and,
when :class:`~autofin.pricing.buildup.PricingAssumptions` and a PD are given, lender value (NPV per unit
of amount financed, :func:`~autofin.pricing.buildup.offer_economics`). When the request *as asked* (the
wished term and down payment on the eligible products of the wished ownership) passes nowhere, the menu
carries counter-offers: the nearest passing exact structures, each with what changed. ``tried`` traces
every structure with the stage it stopped at and why.

Units: money is ``Decimal`` in the application's currency (major units); rates and ratios are annual /
plain decimals; terms in months. Pure: no I/O. Guide: docs/decisions-menu.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from autofin.catalog.models import Catalogue, Product
from autofin.catalog.pricing import fee_amount, price_rate, service_lines
from autofin.catalog.quote import quote
from autofin.catalog.quote_types import ApplicantInfo, Market, Quote, StructureRequest, VehicleInfo
from autofin.catalog.rules import check_eligibility
from autofin.decision.affordability import AffordabilityLimits, AffordabilityResult, assess
from autofin.decision.application import Application, to_affordability, to_quote_inputs, to_structure_request
from autofin.decision.policy import PolicyLimits
from autofin.errors import ValidationError
from autofin.finance.terms import PaymentTiming
from autofin.money import Rounding, round_money
from autofin.pricing.buildup import PricingAssumptions, offer_economics

__all__ = [
    "SCREEN_SLACK",
    "Change",
    "CounterOffer",
    "Menu",
    "MenuWeights",
    "Offer",
    "Structure",
    "Tried",
    "has_disclosure",
    "solve_menu",
]

ZERO: Final = Decimal(0)
#: A screened payment up to this fraction above the affordable payment still goes to the exact pass
#: (the float annuity is an estimate: step-up, equal-principal and flat-rate products differ from it).
SCREEN_SLACK: Final = 0.03
#: Grid of down-payment shares tried on every product (within the product's range), besides the
#: product's minimum, the wished down payment and the smallest down payments that meet the limits.
DOWN_SHARES: Final = tuple(Decimal(k) / 10 for k in range(1, 10))
#: Down payments the solver proposes itself are rounded up to this multiple (currency units).
DOWN_STEP: Final = Decimal(100)
_PAYMENT_CODES: Final = frozenset({"PTI_HIGH", "DTI_HIGH", "RESIDUAL_INCOME_LOW"})

Stage = Literal["eligibility", "screen", "asked", "exact"]
ChangeField = Literal["down_payment", "term", "balloon", "ownership"]


@dataclass(frozen=True, slots=True)
class MenuWeights:
    """Penalty weights of the fit score (higher score = better; a perfect fit scores 0 before value).

    ``budget``: per unit of relative excess of the payment over the budget (``payment / budget − 1``);
    ``down_payment``: per unit of |down payment − wished| / price; ``term``: per 12 months away from the
    wished term; ``ownership``: once, when the structure is not the wished ownership; ``value``: per unit
    of NPV / amount financed (only with pricing assumptions and a PD).
    """

    budget: float = 100.0
    down_payment: float = 50.0
    term: float = 5.0
    ownership: float = 10.0
    value: float = 100.0


@dataclass(frozen=True, slots=True)
class Structure:
    """One structure of one product. ``down_payment`` in currency units; ``balloon_pct`` a fraction of
    the price (``None``: the product has no balloon rule); ``term`` in months."""

    product_id: str
    term: int
    down_payment: Decimal
    balloon_pct: Decimal | None

    def request(self, base: StructureRequest) -> StructureRequest:
        """``base`` (services, start date, …) with this term, down payment and balloon."""
        return base.model_copy(
            update={
                "term": self.term,
                "down_payment": self.down_payment,
                "down_payment_pct": None,
                "balloon_pct": self.balloon_pct,
            }
        )


@dataclass(frozen=True, slots=True)
class Tried:
    """One step of the trace: a product refused for eligibility (``structure`` is ``None``), or a
    structure screened / quoted, whether it passed, the reason codes and a message. ``payment`` is the
    screened (estimated) or exact monthly payment when one was computed."""

    stage: Stage
    product_id: str
    structure: Structure | None
    passed: bool
    reasons: tuple[str, ...] = ()
    message: str = ""
    payment: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """An exact, affordable offer. ``payment`` is the highest regular instalment; ``pti``, ``dti`` and
    ``ltv`` are the affordability measures of the exact quote; ``npv`` (currency) when priced."""

    product_id: str
    structure: Structure
    quote: Quote
    payment: Decimal
    pti: Decimal
    dti: Decimal
    ltv: Decimal
    affordability: AffordabilityResult
    score: float
    npv: float | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What a counter-offer changes relative to the request as asked."""

    field: ChangeField
    asked: object
    offered: object
    text: str


@dataclass(frozen=True, slots=True)
class CounterOffer:
    """A passing offer near the request, the changes that make it pass, and its distance (lower is
    nearer, in the units of :class:`MenuWeights`)."""

    offer: Offer
    changes: tuple[Change, ...]
    distance: float


@dataclass(frozen=True, slots=True)
class Menu:
    """The solver's answer: ``offers`` best first, whether the request as asked passed, the
    ``counter_offers`` (only when it did not), the full ``tried`` trace, how many structures were
    screened and how many exact quotes were computed."""

    offers: tuple[Offer, ...]
    request_passed: bool
    counter_offers: tuple[CounterOffer, ...]
    tried: tuple[Tried, ...]
    screened: int
    exact_quotes: int


def has_disclosure(q: Quote) -> bool:
    """Whether a quote carries its disclosure: a loan's disclosure, or a lease's disclosed rate."""
    if q.kind == "loan":
        return q.disclosure is not None
    return q.headline_rate is not None


# -- internals ---------------------------------------------------------------------------------------


def _ownership_ok(preference: str, product: Product, balloon_pct: Decimal | None) -> bool:
    if preference == "any":
        return True
    if preference == "lease":
        return product.kind == "lease"
    has_balloon = balloon_pct is not None and balloon_pct > 0
    if preference == "balloon":
        return product.kind == "loan" and has_balloon
    return product.kind == "loan" and not has_balloon


def _annuity(amount: float, rate: float, term: int, balloon: float, advance: bool) -> float:
    """Level payment (currency) for ``amount`` at annual ``rate`` over ``term`` months with a final
    ``balloon``; an annuity-due (advance) payment when ``advance``."""
    r = rate / 12.0
    if r == 0.0:
        return (amount - balloon) / term
    v = (1.0 + r) ** -term
    pmt = (amount - balloon * v) * r / (1.0 - v)
    return pmt / (1.0 + r) if advance else pmt


def _principal_for(payment: float, rate: float, term: int, balloon: float, advance: bool) -> float:
    """The inverse of :func:`_annuity`: the amount a level ``payment`` repays."""
    r = rate / 12.0
    if r == 0.0:
        return payment * term + balloon
    v = (1.0 + r) ** -term
    pmt = payment * (1.0 + r) if advance else payment
    return pmt * (1.0 - v) / r + balloon * v


@dataclass(slots=True)
class _Context:
    app: Application
    catalogue: Catalogue
    market: Market | None
    limits: AffordabilityLimits
    policy: PolicyLimits | None
    weights: MenuWeights
    applicant: ApplicantInfo
    vehicle: VehicleInfo
    base: StructureRequest
    day: date
    max_payment: Decimal | None
    assumptions: PricingAssumptions | None
    pd: float | Sequence[float] | None
    tried: list[Tried] = field(default_factory=list)
    exact: dict[Structure, Offer | Tried] = field(default_factory=dict)


def _policy_reasons(policy: PolicyLimits | None, amount: Decimal, down: Decimal, price: Decimal) -> list[str]:
    if policy is None:
        return []
    out = []
    if amount > policy.max_amount_financed:
        out.append("POLICY_MAX_AMOUNT_FINANCED")
    if down < policy.min_down_payment_ratio * price:
        out.append("POLICY_MIN_DOWN_PAYMENT")
    return out


def _fit(ctx: _Context, product: Product, s: Structure, payment: float) -> float:
    """The fit penalty (≥ 0) of a structure with a given payment."""
    w, wishes, price = ctx.weights, ctx.app.wishes, float(ctx.app.vehicle.price)
    penalty = 0.0
    if wishes.budget_monthly_payment is not None:
        budget = float(wishes.budget_monthly_payment)
        penalty += w.budget * max(payment / budget - 1.0, 0.0)
    asked_down = ctx.app.down_payment_amount
    if asked_down is not None:
        penalty += w.down_payment * abs(float(s.down_payment - asked_down)) / price
    penalty += w.term * abs(s.term - wishes.term_months) / 12.0
    if not _ownership_ok(wishes.ownership, product, s.balloon_pct):
        penalty += w.ownership
    return penalty


def _distance(ctx: _Context, product: Product, s: Structure) -> float:
    """How far a structure is from the request as asked (the fit penalty without the budget)."""
    w, wishes, price = ctx.weights, ctx.app.wishes, float(ctx.app.vehicle.price)
    asked_down = ctx.app.down_payment_amount or ZERO
    d = w.down_payment * abs(float(s.down_payment - asked_down)) / price
    d += w.term * abs(s.term - wishes.term_months) / 12.0
    if not _ownership_ok(wishes.ownership, product, s.balloon_pct):
        d += w.ownership
    return d


def _balloons(product: Product) -> Sequence[Decimal | None]:
    rule = product.balloon
    if rule is None or product.kind == "lease":
        return [None]
    values = {rule.min_pct_of_price, rule.max_pct_of_price}
    if rule.default_pct_of_price is not None:
        values.add(rule.default_pct_of_price)
    return list(sorted(values))


def _down_floor(product: Product, price: Decimal, ccy: str) -> Decimal:
    share = product.down_payment.min if product.down_payment.min is not None else ZERO
    return round_money(price * share, ccy, Rounding.UP)


def _down_ok(product: Product, down: Decimal, price: Decimal) -> bool:
    return ZERO <= down < price and product.down_payment.contains(down / price)


@dataclass(frozen=True, slots=True)
class _Candidate:
    structure: Structure
    product: Product
    payment: float
    fit: float


def _screen_product_term(ctx: _Context, product: Product, term: int) -> Iterable[_Candidate]:
    """Screen every down payment × balloon of one product and term; record each in the trace."""
    app, cat = ctx.app, ctx.catalogue
    price = app.vehicle.price
    request = ctx.base.model_copy(update={"term": term, "down_payment": None, "down_payment_pct": None})
    try:
        lines = service_lines(
            cat, product, ctx.vehicle, ctx.applicant, request, list(request.services), {}, term, ctx.day
        )
    except ValidationError as exc:
        ctx.tried.append(Tried("screen", product.id, None, False, ("SERVICE_REFUSED",), str(exc)))
        return
    services = sum((s.price for s in lines if s.financed), ZERO)
    advance = product.timing == PaymentTiming.ADVANCE
    for balloon_pct in _balloons(product):
        if product.lease is not None:
            balloon = product.lease.residual_pct_of_msrp.get(term, ZERO) * app.vehicle.msrp
        else:
            balloon = (balloon_pct or ZERO) * price
        downs = _down_grid(ctx, product, term, balloon, services, advance)
        for down in downs:
            s = Structure(product.id, term, down, balloon_pct)
            cand = _screen_one(ctx, product, s, request, services, balloon, advance)
            if cand is not None:
                yield cand


def _down_grid(
    ctx: _Context, product: Product, term: int, balloon: Decimal, services: Decimal, advance: bool
) -> list[Decimal]:
    """Down payments to screen: the product's minimum, the wished one, a grid of shares, and the
    smallest ones meeting the payment headroom, the LTV limits and the policy minimum."""
    app, price, ccy = ctx.app, ctx.app.vehicle.price, ctx.app.currency
    downs = {_down_floor(product, price, ccy)}
    downs.update(round_money(price * s, ccy, Rounding.UP) for s in DOWN_SHARES)
    if app.down_payment_amount is not None:
        downs.add(app.down_payment_amount)
    needs: list[Decimal] = []
    ltv_cap, _ = ctx.limits.ltv_limit(app.vehicle.use, app.vehicle.condition, app.vehicle.powertrain)
    caps = [product.max_ltv] + ([ltv_cap] if ltv_cap is not None else [])
    for cap in caps:
        needs.append(price + services - cap * price)
    if ctx.policy is not None:
        needs.append(ctx.policy.min_down_payment_ratio * price)
        needs.append(price + services - ctx.policy.max_amount_financed)
    if ctx.max_payment is not None and ctx.max_payment > 0:
        # Rate at the product's maximum LTV: an estimate, rounded up below.
        try:
            rate = float(_rate(ctx, product, term, min(product.max_ltv, Decimal(1))))
        except ValidationError:
            rate = None
        if rate is not None:
            principal = _principal_for(float(ctx.max_payment) * (1 - SCREEN_SLACK), rate, term,
                                       float(balloon), advance)  # fmt: skip
            needs.append(price + services - Decimal(str(round(principal, 2))))
    for need in needs:
        if need > 0:
            downs.add(round_money(need, ccy, Rounding.UP, multiple=DOWN_STEP))
    return sorted(d for d in downs if _down_ok(product, d, price))


def _rate(ctx: _Context, product: Product, term: int, ltv: Decimal) -> Decimal:
    request = ctx.base.model_copy(update={"term": term})
    priced = price_rate(ctx.catalogue, product, ctx.vehicle, ctx.applicant, request, ctx.market, ltv, ctx.day)
    return priced.lender_rate


def _screen_one(
    ctx: _Context,
    product: Product,
    s: Structure,
    request: StructureRequest,
    services: Decimal,
    balloon: Decimal,
    advance: bool,
) -> _Candidate | None:
    app, ccy, price = ctx.app, ctx.app.currency, ctx.app.vehicle.price
    cash = price - s.down_payment
    fees = sum(
        (round_money(fee_amount(f, cash), ccy) for f in product.fees if f.financed and not f.per_period), ZERO
    )
    if product.lease is not None and product.lease.type == "closed_end":
        fees += round_money(product.lease.acquisition_fee, ccy)
    amount = cash + services + fees
    ltv = amount / price
    reasons = _policy_reasons(ctx.policy, amount, s.down_payment, price)
    if ltv > product.max_ltv:
        reasons.append("PRODUCT_MAX_LTV")
    if reasons:
        ctx.tried.append(Tried("screen", product.id, s, False, tuple(reasons), "product or policy limit"))
        return None
    try:
        rate = price_rate(
            ctx.catalogue, product, ctx.vehicle, ctx.applicant, request, ctx.market, ltv, ctx.day
        )
    except ValidationError as exc:
        ctx.tried.append(Tried("screen", product.id, s, False, ("RATE_REFUSED",), str(exc)))
        return None
    pmt = _annuity(float(amount), float(rate.lender_rate), s.term, float(balloon), advance)
    payment = round_money(Decimal(str(round(max(pmt, 0.0), 2))), ccy)
    a, c = to_affordability(
        app,
        amount_financed=amount,
        monthly_payment=payment,
        term_months=s.term,
        balloon=balloon if balloon < amount else ZERO,
        down_payment=s.down_payment,
    )
    result = assess(a, c, ctx.limits)
    codes = result.codes
    within_slack = ctx.max_payment is not None and float(payment) <= float(ctx.max_payment) * (
        1 + SCREEN_SLACK
    )
    if codes and not (set(codes) <= _PAYMENT_CODES and within_slack):
        ctx.tried.append(Tried("screen", product.id, s, False, codes, "estimated", payment))
        return None
    ctx.tried.append(Tried("screen", product.id, s, True, (), "estimated", payment))
    return _Candidate(s, product, pmt, _fit(ctx, product, s, pmt))


def _exact(ctx: _Context, product: Product, s: Structure, stage: Stage = "exact") -> Offer | Tried:
    """Quote one structure exactly, re-assess it, and record it (cached by structure)."""
    cached = ctx.exact.get(s)
    if cached is not None:
        return cached
    out: Offer | Tried
    try:
        q = quote(
            ctx.catalogue, product.id, ctx.vehicle, s.request(ctx.base), ctx.applicant, ctx.market, ctx.day
        )
    except ValidationError as exc:
        out = Tried(stage, product.id, s, False, ("QUOTE_REFUSED",), str(exc))
    else:
        out = _check_exact(ctx, product, s, q, stage)
    ctx.exact[s] = out
    ctx.tried.append(
        out if isinstance(out, Tried) else Tried(stage, product.id, s, True, (), "", out.payment)
    )
    return out


def _check_exact(ctx: _Context, product: Product, s: Structure, q: Quote, stage: Stage) -> Offer | Tried:
    app = ctx.app
    reasons = _policy_reasons(ctx.policy, q.amount_financed, q.down_payment, q.price)
    if not has_disclosure(q):
        reasons.append("NO_DISCLOSURE")
    balloon = q.balloon_or_residual if q.balloon_or_residual < q.amount_financed else ZERO
    a, c = to_affordability(
        app,
        amount_financed=q.amount_financed,
        monthly_payment=q.monthly_payment,
        term_months=q.term,
        balloon=balloon,
        down_payment=q.down_payment,
    )
    result = assess(a, c, ctx.limits)
    reasons.extend(result.codes)
    if reasons:
        text = "; ".join(r.en for r in result.reasons) or "policy or disclosure"
        return Tried(stage, product.id, s, False, tuple(reasons), text, q.monthly_payment)
    npv = _npv(ctx, q)
    score = -_fit(ctx, product, s, float(q.monthly_payment))
    if npv is not None:
        score += ctx.weights.value * npv / float(q.amount_financed)
    m = result.measures
    return Offer(product.id, s, q, q.monthly_payment, m["pti"].value, m["dti"].value, m["ltv"].value,
                 result, score, npv)  # fmt: skip


def _npv(ctx: _Context, q: Quote) -> float | None:
    if ctx.assumptions is None or ctx.pd is None or q.kind != "loan":
        return None
    try:
        econ = offer_economics(
            float(q.amount_financed),
            float(q.customer_rate),
            q.term,
            ctx.pd,
            ctx.assumptions,
            balloon=float(q.balloon_or_residual),
            markup=float(q.dealer_markup),
        )
    except ValidationError:
        return None
    return float(econ.npv)


def _changes(ctx: _Context, product: Product, s: Structure) -> tuple[Change, ...]:
    app, ccy = ctx.app, ctx.app.currency
    asked_down = app.down_payment_amount
    out: list[Change] = []
    if asked_down is None or s.down_payment != asked_down:
        if asked_down is None:
            text = f"a down payment of {s.down_payment} {ccy}"
        else:
            more = s.down_payment > asked_down
            text = (
                f"{'more' if more else 'less'} down payment: {s.down_payment} {ccy} instead of {asked_down} "
                f"({'+' if more else '−'}{abs(s.down_payment - asked_down)})"
            )
        out.append(Change("down_payment", asked_down, s.down_payment, text))
    if s.term != app.wishes.term_months:
        longer = s.term > app.wishes.term_months
        out.append(Change("term", app.wishes.term_months, s.term,
                          f"{'longer' if longer else 'shorter'} term: {s.term} months instead of "
                          f"{app.wishes.term_months}"))  # fmt: skip
    if product.kind == "loan" and s.balloon_pct and app.wishes.ownership != "balloon":
        out.append(Change("balloon", None, s.balloon_pct, f"a balloon of {s.balloon_pct:.0%} of the price"))
    if not _ownership_ok(app.wishes.ownership, product, s.balloon_pct):
        offered = "lease" if product.kind == "lease" else "balloon" if s.balloon_pct else "loan"
        out.append(Change("ownership", app.wishes.ownership, offered,
                          f"a {offered} ({product.id}) instead of a {app.wishes.ownership}"))  # fmt: skip
    return tuple(out)


# -- the solver --------------------------------------------------------------------------------------


def solve_menu(
    app: Application,
    catalogue: Catalogue,
    market: Market | None,
    limits: AffordabilityLimits,
    *,
    policy_limits: PolicyLimits | None = None,
    segments: Sequence[str] = (),
    top_n: int = 3,
    max_counter_offers: int = 3,
    max_exact: int = 40,
    weights: MenuWeights | None = None,
    assumptions: PricingAssumptions | None = None,
    pd: float | Sequence[float] | None = None,
    start_date: date | None = None,
) -> Menu:
    """The offer menu for ``app`` (see the module docstring).

    ``market``: benchmark paths for floating products (``None``: floating products are refused and
    traced). ``limits``: :func:`~autofin.decision.affordability.limits_for` of the jurisdiction pack and
    the applicant's segment. ``policy_limits``: :attr:`autofin.decision.policy.PolicyResult.limits`
    (maximum amount financed, minimum down-payment share). ``segments``: catalogue segments the
    applicant is in (product eligibility). ``top_n`` offers and at most ``max_counter_offers``
    counter-offers. The request as asked is quoted exactly once per eligible product of the wished
    ownership; beyond those, at most ``max_exact`` exact quotes are computed (offers first, then
    counter-offers share what is left). ``assumptions`` and ``pd`` (annual PD or
    marginal PDs by year) add lender NPV to the ranking. ``start_date`` defaults to the submission date.
    """
    if top_n < 1:
        raise ValidationError("top_n", top_n, "must be at least 1")
    if max_exact < 1:
        raise ValidationError("max_exact", max_exact, "must be at least 1")
    applicant, vehicle = to_quote_inputs(app, segments=segments)
    base = to_structure_request(app, start_date=start_date)
    probe_a, probe_c = to_affordability(
        app, amount_financed=app.vehicle.price, monthly_payment=ZERO, down_payment=ZERO
    )
    ctx = _Context(
        app=app, catalogue=catalogue, market=market, limits=limits, policy=policy_limits,
        weights=weights or MenuWeights(), applicant=applicant, vehicle=vehicle, base=base,
        day=base.start_date,
        max_payment=assess(probe_a, probe_c, limits).headroom.max_payment,
        assumptions=assumptions, pd=pd,
    )  # fmt: skip

    products: list[Product] = []
    for pid in sorted(catalogue.products):
        product = catalogue.products[pid]
        if product.jurisdiction != app.jurisdiction or product.currency != app.currency:
            continue
        if not product.effective.contains(ctx.day):
            ctx.tried.append(
                Tried("eligibility", pid, None, False, ("NOT_EFFECTIVE",), f"not effective on {ctx.day}")
            )
            continue
        try:
            check_eligibility(product.eligibility, applicant, vehicle, f"product {pid}")
        except ValidationError as exc:
            ctx.tried.append(Tried("eligibility", pid, None, False, ("NOT_ELIGIBLE",), str(exc)))
            continue
        products.append(product)

    # The request as asked, exactly, on every eligible product of the wished ownership.
    asked: list[tuple[Product, Structure]] = []
    for product in products:
        down = app.down_payment_amount
        if down is None:
            down = _down_floor(product, app.vehicle.price, app.currency)
        rule = product.balloon
        balloon = None
        if rule is not None and product.kind == "loan":
            balloon = (
                rule.default_pct_of_price if rule.default_pct_of_price is not None else rule.min_pct_of_price
            )
        s = Structure(product.id, app.wishes.term_months, down, balloon)
        if _ownership_ok(app.wishes.ownership, product, balloon):
            asked.append((product, s))
    request_passed = False
    for product, s in asked:
        if isinstance(_exact(ctx, product, s, "asked"), Offer):
            request_passed = True

    candidates = [c for p in products for t in p.terms for c in _screen_product_term(ctx, p, t)]
    screened = sum(1 for t in ctx.tried if t.stage == "screen" and t.structure is not None)
    candidates.sort(key=lambda c: (c.fit, c.structure.product_id, c.structure.term, c.structure.down_payment,
                                   c.structure.balloon_pct or ZERO))  # fmt: skip

    offers = _fill(ctx, candidates, top_n, max_exact)
    offers.sort(key=lambda o: -o.score)

    counters: list[CounterOffer] = []
    if not request_passed:
        by_distance = sorted(candidates, key=lambda c: (_distance(ctx, c.product, c.structure), c.fit))
        seen: set[frozenset[str]] = set()
        for c in by_distance:
            if len(counters) >= max_counter_offers or len(ctx.exact) >= max_exact + len(asked):
                break
            result = _exact(ctx, c.product, c.structure)
            if not isinstance(result, Offer):
                continue
            changes = _changes(ctx, c.product, c.structure)
            key = frozenset(ch.field for ch in changes)
            if not changes or key in seen:
                continue
            seen.add(key)
            counters.append(CounterOffer(result, changes, _distance(ctx, c.product, c.structure)))
    return Menu(
        tuple(offers[:top_n]), request_passed, tuple(counters), tuple(ctx.tried), screened, len(ctx.exact)
    )


def _fill(ctx: _Context, candidates: list[_Candidate], top_n: int, max_exact: int) -> list[Offer]:
    """Exact-quote candidates in screen order: one offer per product first, then any, until ``top_n``
    offers or ``max_exact`` quotes."""
    offers: list[Offer] = []
    spent_before = len(ctx.exact)
    for distinct in (True, False):
        for c in candidates:
            if len(offers) >= top_n or len(ctx.exact) - spent_before >= max_exact:
                return offers
            if distinct and any(o.product_id == c.structure.product_id for o in offers):
                continue
            if any(o.structure == c.structure for o in offers):
                continue
            result = _exact(ctx, c.product, c.structure)
            if isinstance(result, Offer):
                offers.append(result)
    return offers
