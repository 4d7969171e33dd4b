"""The decision flow on a synthetic world (autofin.decision.engine / .evaluation): properties of EVERY
decision of a few hundred world applications.

Every offer and counter-offer is exact, affordable, within caps, disclosed and within the policy limits;
a counter-offer applied to the application is approved; decisions replay bit for bit; reasons are few and
present when they must be; and the flow declines the riskier applicants (the world's own true PD).

World: 2,000 applicants, seed :data:`SEED`, 12 months; the first :data:`N_DECIDED` are decided by the
demo engine (``check_known_vehicle=False``: the world names brands the catalogue does not list) with the
demo scorecard trained into a temporary registry, contracts starting on the catalogue's effective date
(:func:`~autofin.decision.evaluation.catalogue_start`; the world's applications are dated 2024-2025,
before the demo products). Runtime of this file measured at about 45 s on the 2-core development
machine, most of it training the demo scorecard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from autofin.data.synth import synthesize
from autofin.data.world import load_world
from autofin.decision.application import (
    Application,
)
from autofin.decision.engine import MAX_REASONS, Decision, DecisionEngine, applied_application
from autofin.decision.evaluation import Evaluation, catalogue_start, evaluate
from autofin.decision.menu import CounterOffer, Offer
from autofin.decision.replay import replay_record
from autofin.decision.scoring import demo_scorer
from autofin.decision.synthetic import world_applications, world_outcomes
from autofin.risk.registry import Registry
from decision_support import assert_offer_sound

SEED = 20261128
APPLICANTS = 2_000
#: Applications decided (the first ones, in applicant order).
N_DECIDED = 400
#: Decisions replayed bit for bit.
N_REPLAYED = 50


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("decision-world") / "world"
    synthesize(load_world(), applicants=APPLICANTS, months=12, seed=SEED, out=out)
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DecisionEngine:
    scorer = demo_scorer(Registry(tmp_path_factory.mktemp("models")))
    return DecisionEngine.load(scorer, check_known_vehicle=False)


@pytest.fixture(scope="module")
def start(engine: DecisionEngine) -> date:
    return catalogue_start(engine)


@pytest.fixture(scope="module")
def applications(world: Path) -> list[tuple[str, Application]]:
    return world_applications(world, limit=N_DECIDED)


@pytest.fixture(scope="module")
def decisions(
    engine: DecisionEngine, applications: list[tuple[str, Application]], start: date
) -> list[Decision]:
    return [engine.decide(app, start_date=start) for _, app in applications]


@pytest.fixture(scope="module")
def evaluation(
    engine: DecisionEngine, applications: list[tuple[str, Application]], world: Path, start: date
) -> Evaluation:
    return evaluate(engine, applications, world_outcomes(world), start_date=start)


def _all_offers(d: Decision) -> Iterator[tuple[str, Offer]]:
    for offer in d.offers:
        yield "offer", offer
    for counter in d.counter_offers:
        yield "counter-offer", counter.offer


def _applied(engine: DecisionEngine, app: Application, counter: CounterOffer) -> Application:
    """The application as the customer re-submits it with the counter-offer taken (the engine's own)."""
    kind = engine.catalogue.products[counter.offer.product_id].kind
    return applied_application(app, counter.offer, kind)


def test_the_sample_has_every_outcome(decisions: list[Decision]) -> None:
    outcomes = {d.outcome for d in decisions}
    assert outcomes == {"approve", "counter_offer", "refer", "decline"}


def test_every_offer_and_counter_offer_is_sound(
    engine: DecisionEngine, decisions: list[Decision], start: date
) -> None:
    checked = 0
    for d in decisions:
        for kind, offer in _all_offers(d):
            try:
                assert_offer_sound(engine, d, offer, start)
            except AssertionError as exc:
                raise AssertionError(
                    f"{d.application.application_id} {kind} {offer.structure}: {exc}"
                ) from exc
            checked += 1
    assert checked > 100


def _apply_counter_offers(
    engine: DecisionEngine, decisions: list[Decision], start: date
) -> list[tuple[Decision, CounterOffer, Decision]]:
    """(decision, counter-offer, the decision on the application with the counter-offer applied) for
    every counter-offer of every counter_offer decision."""
    out = []
    for d in decisions:
        if d.outcome != "counter_offer":
            continue
        for counter in d.counter_offers:
            again = engine.decide(_applied(engine, d.application, counter), start_date=start)
            out.append((d, counter, again))
    return out


def _describe(d: Decision, counter: CounterOffer, again: Decision) -> str:
    return (
        f"{d.application.application_id} {counter.offer.structure} {[ch.text for ch in counter.changes]} "
        f"→ {again.outcome} {[r.code for r in again.reasons]} (points {float(d.risk.points):.1f} → "
        f"{float(again.risk.points):.1f}; policy {d.policy.outcome} → {again.policy.outcome})"
    )


def test_counter_offers_pass_when_applied(
    engine: DecisionEngine, decisions: list[Decision], start: date
) -> None:
    """Each counter-offer of a counter_offer decision, applied to the application (its term, down
    payment and ownership as the wishes), is approved as asked. This needs the engine to re-score and
    re-run the policy tables on the applied application (the score reads the *requested* LTV, PTI and
    term, the tables the *requested* amount): before it did, e.g. world-306 here was counter-offered a
    used-car loan with less down payment and a shorter term that, applied, scored 631.5 → 617.9 points
    and was referred (RF_SCORE_BORDERLINE). A balloon counter-offer carries its balloon share into the
    wishes (``wishes.balloon_pct``)."""
    results = _apply_counter_offers(engine, decisions, start)
    assert len(results) > 10
    failures = [_describe(d, c, again) for d, c, again in results if again.outcome != "approve"]
    assert not failures, "\n".join(failures)


def test_counter_offers_say_why_the_request_failed(decisions: list[Decision]) -> None:
    """The engine's contract: a counter-offer's reasons say why the request as asked failed — also when no
    eligible product has the wished ownership (e.g. a used car with ownership ``balloon``: every balloon
    product is new-car only), which is OWNERSHIP_NOT_OFFERED."""
    silent = [
        d.application.application_id for d in decisions if d.outcome == "counter_offer" and not d.reasons
    ]
    assert not silent, silent


def test_decisions_replay_bit_for_bit(engine: DecisionEngine, decisions: list[Decision]) -> None:
    step = max(1, len(decisions) // N_REPLAYED)
    for d in decisions[::step][:N_REPLAYED]:
        record = json.loads(json.dumps(d.to_dict()))
        check = replay_record(engine, record)
        assert check.identical, (d.application.application_id, check.differences)
        assert check.replay_digest == d.digest


def test_reasons_are_few_and_present_when_they_must_be(decisions: list[Decision]) -> None:
    for d in decisions:
        assert len(d.reasons) <= MAX_REASONS
        assert len({r.code for r in d.reasons}) == len(d.reasons)
        if d.outcome == "approve":
            assert d.reasons == ()
        if d.outcome == "decline":
            assert d.reasons


def test_the_flow_declines_the_riskier_applicants(evaluation: Evaluation) -> None:
    """Mean true PD at the first quote, first 400 applicants of the seed-20261128 world, measured:
    approved 1.85 % (se 0.17 %, n 51), declined 17.04 % (se 1.21 %, n 195): the gap (15.2 points) is
    about 11 times the sum of the standard errors (asserted: more than that sum). See
    docs/decisions-evaluation.md for the 5,000-applicant evaluation."""
    approved, declined = evaluation.groups["approved"].true_pd, evaluation.groups["decline"].true_pd
    assert approved.value is not None and declined.value is not None
    assert approved.se is not None and declined.se is not None
    assert declined.value - approved.value > approved.se + declined.se
    assert evaluation.declines_riskier is True
    # the engine's own model agrees in direction
    a_model, d_model = (
        evaluation.groups["approved"].model_pd.value,
        evaluation.groups["decline"].model_pd.value,
    )
    assert a_model is not None and d_model is not None and d_model > a_model


def test_evaluation_counts_and_reports(evaluation: Evaluation, decisions: list[Decision]) -> None:
    assert evaluation.n == len(decisions)
    for outcome in ("approve", "counter_offer", "refer", "decline"):
        assert evaluation.counts[outcome] == sum(d.outcome == outcome for d in decisions)
    assert sum(evaluation.counts.values()) == evaluation.n
    approved = evaluation.counts["approve"] + evaluation.counts["counter_offer"]
    assert evaluation.approval.value == pytest.approx(approved / evaluation.n)
    assert sum(e.n for e in evaluation.approval_by_segment.values()) == evaluation.n
    data = json.loads(json.dumps(evaluation.to_dict(), allow_nan=False))
    assert data["groups"]["approved"]["n"] == approved
    table = evaluation.to_markdown()
    assert "| decline |" in table and "approval rate" in table.lower()


def test_evaluation_refuses_applications_without_outcomes(
    engine: DecisionEngine, applications: list[tuple[str, Application]]
) -> None:
    from autofin.errors import ValidationError

    empty = pl.DataFrame(
        schema={
            "application_id": pl.String,
            "segment": pl.String,
            "booked": pl.Boolean,
            "bad": pl.Boolean,
            "true_pd_first_quote": pl.Float64,
        }
    )
    with pytest.raises(ValidationError, match="no row"):
        evaluate(engine, applications[:1], empty)
    with pytest.raises(ValidationError, match="columns"):
        evaluate(engine, applications[:1], empty.drop("segment"))
