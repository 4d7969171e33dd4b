"""Whole decisions under varied applications (autofin.decision.engine): the example applications of
examples/decisions/ with income, debts, down payment, term and ownership drawn by Hypothesis.

For every decision: each offer and counter-offer re-quotes to the same payment, is within the caps,
disclosed, affordable under the engine's limits for the decision's segment and within the policy limits;
a counter-offer applied to the application is approved; at most four reasons, none on approve, at least
one on decline. The real demo scorecard is used (trained once into a temporary registry, about 15 s;
one decision then takes milliseconds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autofin.decision.application import Application
from autofin.decision.engine import MAX_REASONS, DecisionEngine, applied_application
from autofin.decision.menu import CounterOffer
from autofin.decision.scoring import demo_scorer
from autofin.risk.registry import Registry
from decision_support import assert_offer_sound

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DecisionEngine:
    return DecisionEngine.load(demo_scorer(Registry(tmp_path_factory.mktemp("models"))))


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def _applied(engine: DecisionEngine, app: Application, counter: CounterOffer) -> Application:
    """The application as the customer re-submits it with the counter-offer taken (the engine's own)."""
    kind = engine.catalogue.products[counter.offer.product_id].kind
    return applied_application(app, counter.offer, kind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    example=st.sampled_from(["approve", "counter_offer", "decline"]),
    income=st.integers(4_000, 80_000),
    debts=st.integers(0, 8_000),
    down_pct=st.sampled_from(["0.0", "0.10", "0.20", "0.30", "0.50"]),
    term=st.sampled_from([12, 24, 36, 48, 60]),
    ownership=st.sampled_from(["loan", "balloon", "lease", "any"]),
)
def test_every_decision_offers_only_sound_structures(
    engine: DecisionEngine, example: str, income: int, debts: int, down_pct: str, term: int, ownership: str
) -> None:
    data = _raw(example)
    data["applicant"].update(monthly_income=f"{income}.00", monthly_debt_payments=f"{debts}.00")
    data["wishes"].pop("down_payment", None)
    data["wishes"].update(down_payment_pct=down_pct, term_months=term, ownership=ownership)
    d = engine.decide(data)
    event(d.outcome)

    assert len(d.reasons) <= MAX_REASONS
    if d.outcome == "approve":
        assert d.reasons == () and d.offers and d.counter_offers == ()
    if d.outcome == "decline":
        assert d.reasons
    if d.outcome == "counter_offer":
        assert d.counter_offers or d.offers
    for offer in d.offers + tuple(c.offer for c in d.counter_offers):
        assert_offer_sound(engine, d, offer)
    if d.outcome == "counter_offer":
        for counter in d.counter_offers:
            again = engine.decide(_applied(engine, d.application, counter))
            assert again.outcome == "approve", (
                [ch.text for ch in counter.changes],
                again.outcome,
                [r.code for r in again.reasons],
            )


def test_a_counter_offer_with_a_non_default_balloon_share_is_approved_when_applied(
    engine: DecisionEngine,
) -> None:
    """Found by the property test above (minimal example): the approve example with a monthly income
    of 10,399, no debts, no down payment, 12 months, ownership ``loan``. The engine counter-offers
    cn-balloon-flex, 24 months, 105,300 down, a 40 % balloon. Before the wishes carried a balloon share,
    re-submitting it asked for the 30 % default balloon, whose higher instalment failed
    RESIDUAL_INCOME_LOW; with ``wishes.balloon_pct`` the counter-offer is approved as applied."""
    data = _raw("approve")
    data["applicant"].update(monthly_income="10399.00", monthly_debt_payments="0.00")
    data["wishes"].update(down_payment_pct="0.0", term_months=12, ownership="loan")
    d = engine.decide(data)
    assert d.outcome == "counter_offer"
    balloons = [c for c in d.counter_offers if c.offer.structure.balloon_pct]
    assert balloons
    for counter in balloons:
        assert engine.decide(_applied(engine, d.application, counter)).outcome == "approve"
