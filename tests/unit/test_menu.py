"""The offer-menu solver (autofin.decision.menu): offers are exact, affordable, within caps and disclosed;
counter-offers really pass when applied; the trace names why each structure was refused."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autofin.catalog.jurisdictions import check_quote_caps
from autofin.catalog.loader import default_catalogue_dir, load_catalogue
from autofin.catalog.models import Catalogue
from autofin.catalog.quote import SAMPLE_MARKET, quote
from autofin.decision.affordability import AffordabilityLimits, assess, limits_for
from autofin.decision.application import (
    Application,
    parse_application,
    to_affordability,
    to_quote_inputs,
    to_structure_request,
)
from autofin.decision.menu import Menu, Offer, has_disclosure, solve_menu
from autofin.decision.policy import PolicyLimits
from autofin.errors import ValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@cache
def _catalogue() -> Catalogue:
    return load_catalogue(default_catalogue_dir())


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def _app(data: dict[str, Any]) -> Application:
    return parse_application(data, catalogue=_catalogue())


def _limits(app: Application) -> AffordabilityLimits:
    return limits_for(_catalogue().jurisdictions[app.jurisdiction], None)


def _assert_offer_sound(app: Application, offer: Offer, policy: PolicyLimits | None = None) -> None:
    """Re-check an offer independently: re-quote it, re-assess it, check caps and disclosure."""
    cat = _catalogue()
    q = offer.quote
    applicant, vehicle = to_quote_inputs(app)
    again = quote(cat, offer.product_id, vehicle, offer.structure.request(to_structure_request(app)), applicant,
                  SAMPLE_MARKET)  # fmt: skip
    assert again.monthly_payment == q.monthly_payment == offer.payment
    assert again.amount_financed == q.amount_financed
    assert q.basis is not None
    check_quote_caps(cat, q, SAMPLE_MARKET, q.basis.quoted_on)  # raises if a cap is broken
    assert has_disclosure(q)
    balloon = q.balloon_or_residual if q.balloon_or_residual < q.amount_financed else Decimal(0)
    a, c = to_affordability(app, amount_financed=q.amount_financed, monthly_payment=q.monthly_payment,
                            term_months=q.term, balloon=balloon, down_payment=q.down_payment)  # fmt: skip
    result = assess(a, c, _limits(app))
    assert result.passed, result.codes
    assert offer.pti == result.measures["pti"].value
    if policy is not None:
        assert q.amount_financed <= policy.max_amount_financed
        assert q.down_payment >= policy.min_down_payment_ratio * q.price


def _menu(app: Application, **kw: Any) -> Menu:
    return solve_menu(app, _catalogue(), SAMPLE_MARKET, _limits(app), **kw)


def test_approve_example_offers_the_request_as_asked() -> None:
    app = _app(_raw("approve"))
    menu = _menu(app)
    assert menu.request_passed
    assert menu.counter_offers == ()
    assert 1 <= len(menu.offers) <= 3
    assert len({o.product_id for o in menu.offers}) == len(menu.offers)  # one per product first
    scores = [o.score for o in menu.offers]
    assert scores == sorted(scores, reverse=True)
    for offer in menu.offers:
        _assert_offer_sound(app, offer)
        assert offer.structure.term == 36
        assert offer.structure.down_payment == app.down_payment_amount
        assert offer.payment <= app.wishes.budget_monthly_payment  # type: ignore[operator]
    assert 0 < menu.exact_quotes < menu.screened


def test_trace_names_eligibility_refusals_and_screen_reasons() -> None:
    menu = _menu(_app(_raw("approve")))
    refused = {t.product_id: t for t in menu.tried if t.stage == "eligibility"}
    assert "cn-used-car-loan" in refused and "condition" in refused["cn-used-car-loan"].message
    assert "cn-prime-preferential" in refused and refused["cn-prime-preferential"].reasons == (
        "NOT_ELIGIBLE",
    )
    assert all(t.product_id not in refused for t in menu.tried if t.stage == "screen")
    screen = [t for t in menu.tried if t.stage == "screen" and t.structure is not None]
    assert len(screen) == menu.screened
    assert all(t.passed or t.reasons for t in menu.tried)  # every refusal says why
    assert any(not t.passed for t in screen)


def test_counter_offer_example_fails_as_asked_and_counters_really_pass() -> None:
    app = _app(_raw("counter_offer"))
    menu = _menu(app)
    assert not menu.request_passed
    asked = [t for t in menu.tried if t.stage == "asked"]
    assert asked and not any(t.passed for t in asked)
    assert any("PTI_HIGH" in t.reasons for t in asked)
    assert menu.counter_offers
    distances = [c.distance for c in menu.counter_offers]
    assert distances == sorted(distances)
    for counter in menu.counter_offers:
        _assert_offer_sound(app, counter.offer)
        assert counter.changes
        fields = {ch.field for ch in counter.changes}
        s = counter.offer.structure
        assert ("down_payment" in fields) == (s.down_payment != app.down_payment_amount)
        assert ("term" in fields) == (s.term != app.wishes.term_months)
    # The ICE LTV cap (80 %) needs at least 35,000 down on a 175,000 car: every counter-offer has it.
    assert all(c.offer.structure.down_payment >= Decimal(35000) for c in menu.counter_offers)
    for offer in menu.offers:
        _assert_offer_sound(app, offer)


def test_policy_limits_bind_offers() -> None:
    app = _app(_raw("approve"))
    policy = PolicyLimits("B", max_amount_financed=Decimal("100000"), min_down_payment_ratio=Decimal("0.45"))
    menu = _menu(app, policy_limits=policy)
    assert not menu.request_passed  # 30 % down on 179,800 leaves more than 100,000 to finance
    assert any("POLICY_MAX_AMOUNT_FINANCED" in t.reasons for t in menu.tried)
    assert menu.offers and menu.counter_offers
    for offer in menu.offers + tuple(c.offer for c in menu.counter_offers):
        _assert_offer_sound(app, offer, policy)


def test_exact_budget_and_arguments() -> None:
    app = _app(_raw("counter_offer"))
    menu = _menu(app, max_exact=2, top_n=5)
    asked = sum(1 for t in menu.tried if t.stage == "asked")
    assert menu.exact_quotes <= asked + 2
    with pytest.raises(ValidationError, match="top_n"):
        _menu(app, top_n=0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    income=st.integers(6_000, 60_000),
    debts=st.integers(0, 5_000),
    down_pct=st.sampled_from(["0.05", "0.15", "0.25", "0.40"]),
    term=st.sampled_from([12, 24, 36, 48, 60]),
    ownership=st.sampled_from(["loan", "balloon", "lease", "any"]),
)
def test_property_every_offer_and_counter_offer_passes(
    income: int, debts: int, down_pct: str, term: int, ownership: str
) -> None:
    data = _raw("approve")
    data["applicant"].update(monthly_income=f"{income}.00", monthly_debt_payments=f"{debts}.00")
    data["wishes"].update(down_payment_pct=down_pct, term_months=term, ownership=ownership)
    app = _app(data)
    menu = _menu(app)
    for offer in menu.offers + tuple(c.offer for c in menu.counter_offers):
        _assert_offer_sound(app, offer)
    if menu.request_passed:
        assert menu.counter_offers == ()
