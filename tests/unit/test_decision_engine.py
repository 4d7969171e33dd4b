"""The decision flow (autofin.decision.engine): outcomes, at most four specific reasons, Regulation B key
factors instead of "score below cut-off", refusal of bad applications before any decision, version pins,
deterministic digests, and reason texts for every code a policy table can emit.

The risk model here is a fixed-points scorer so that each outcome is reached on purpose; the real
application scorecard is exercised in tests/integration/test_decision_world.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from autofin.catalog.loader import default_catalogue_dir
from autofin.decision.affordability import CODES
from autofin.decision.application import Application
from autofin.decision.engine import (
    MAX_REASONS,
    STAGES,
    DecisionEngine,
    Router,
    applied_application,
    load_reason_texts,
)
from autofin.decision.strategy import Strategy, StrategySet
from autofin.errors import ValidationError
from decision_support import FACTORS, FakeRisk, FixedScorer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@cache
def _engine(points: float = 700.0) -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(points))


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def test_examples_reach_their_outcomes() -> None:
    eng = _engine()
    approve = eng.decide(_raw("approve"))
    assert approve.outcome == "approve" and approve.reasons == ()
    assert approve.offers and approve.menu is not None and approve.menu.request_passed
    counter = eng.decide(_raw("counter_offer"))
    assert counter.outcome == "counter_offer"
    assert counter.counter_offers and 1 <= len(counter.reasons) <= MAX_REASONS
    # Why the request as asked failed, the specific reasons first.
    assert counter.reasons[0].code not in {"QUOTE_REFUSED", "NOT_ELIGIBLE"}
    decline = eng.decide(_raw("decline"))
    assert decline.outcome == "decline" and decline.menu is None
    assert [r.code for r in decline.reasons] == ["KO_BANKRUPTCY"]
    assert decline.reasons[0].zh_cn and decline.reasons[0].zh_cn != decline.reasons[0].en


def test_score_decline_gives_key_factors_not_the_cutoff() -> None:
    d = _engine(450.0).decide(_raw("approve"))
    assert d.outcome == "decline"
    codes = [r.code for r in d.reasons]
    assert "DC_SCORE_BELOW_CUTOFF" not in codes
    assert codes == [f.code for f in FACTORS[:MAX_REASONS]]
    assert all(r.source == "score" for r in d.reasons)
    assert "DC_SCORE_BELOW_CUTOFF" in d.policy.reason_codes  # the policy's own verdict is in the record


def test_borderline_score_is_referred_with_the_menu_attached() -> None:
    eng = _engine(585.0)  # prime_professional refers from 570 to below 600
    d = eng.decide(_raw("approve"))
    assert d.segment == "prime_professional"
    assert d.outcome == "refer"
    assert [r.code for r in d.reasons] == ["RF_SCORE_BORDERLINE"]
    assert d.menu is not None  # the underwriter sees what would be offered


def test_bad_application_raises_before_any_decision() -> None:
    calls: list[Application] = []

    class Spy(FixedScorer):
        def assess(self, app: Application) -> FakeRisk:
            calls.append(app)
            return super().assess(app)

    eng = DecisionEngine.load(Spy(700.0))
    with pytest.raises(ValidationError) as err:
        eng.decide(_raw("bad_currency"))
    assert err.value.field == "currency"
    bad = _raw("approve")
    del bad["applicant"]["monthly_income"]
    with pytest.raises(ValidationError) as err:
        eng.decide(bad)
    assert err.value.field == "applicant.monthly_income"
    bad = _raw("approve")
    bad["vehicle"]["model"] = "Nonexistent 9"
    with pytest.raises(ValidationError) as err:
        eng.decide(bad)
    assert err.value.field.startswith("vehicle")
    assert calls == []


def test_decision_is_deterministic_and_its_digest_ignores_timings() -> None:
    eng = _engine()
    a, b = eng.decide(_raw("counter_offer")), eng.decide(_raw("counter_offer"))
    assert a.digest == b.digest
    assert a.to_dict(timings=False) == b.to_dict(timings=False)
    assert set(STAGES) <= set(a.timings_us) and all(v >= 0 for v in a.timings_us.values())
    other = _raw("counter_offer") | {"application_id": "another-id"}
    assert eng.decide(other).digest != a.digest
    record = json.loads(json.dumps(a.to_dict()))
    assert record["version_digest"] == eng.stamp.digest
    assert record["outcome"] == "counter_offer"
    assert all("quote" in o and o["quote"]["contract"] for o in record["offers"])


def test_offers_are_ranked_and_disclosed_in_the_record() -> None:
    record = _engine().decide(_raw("approve")).to_dict()
    assert [o["rank"] for o in record["offers"]] == list(range(1, len(record["offers"]) + 1))
    for o in record["offers"]:
        assert o["headline_rate"] is not None and o["rate_method"]
        assert Decimal(o["monthly_payment"]) > 0
    assert record["trace"]["tried"] and record["trace"]["rules_fired"]


def test_every_policy_and_affordability_code_has_texts_in_both_languages() -> None:
    texts = load_reason_texts()
    codes: set[str] = set()
    for file in (default_catalogue_dir() / "policy").glob("*.json"):
        for node in json.loads(file.read_text())["nodes"]:
            if node["type"] != "decisionTableNode":
                continue
            for rule in node["content"]["rules"]:
                for key, value in rule.items():
                    if key.endswith("reason_code") and value.strip("'\""):
                        codes.add(value.strip("'\""))
    # Fail with the missing code named, not only a count.
    assert codes - texts.codes("policy") == set()
    assert set(CODES.values()) - texts.codes("affordability") == set()


def test_reason_texts_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "reasons.yaml"
    bad.write_text("policy:\n  KO_X:\n    en: text only\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_reason_texts(bad)
    assert err.value.field == "reasons.policy.KO_X"


def test_a_strategy_pin_that_does_not_match_what_was_loaded_is_refused() -> None:
    eng = _engine()
    assert eng.strategy is not None
    wrong = replace(eng.strategy, name="pinned", risk_model="pd-other:7")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as err:
        DecisionEngine.load(FixedScorer(700.0), strategy=Strategy.from_dict(wrong.to_dict()))
    assert err.value.field == "strategy.risk_model"


def test_router_sends_each_key_to_the_same_strategy() -> None:
    base = _engine()
    assert base.strategy is not None
    champion = Strategy.from_dict(base.strategy.to_dict() | {"name": "champion", "share": "0.5"})
    challenger = Strategy.from_dict(
        base.strategy.to_dict() | {"name": "challenger", "share": "0.5", "risk_model": "pd-test:2"}
    )
    router = Router(
        StrategySet(champion, (challenger,), salt="t"),
        {
            "champion": DecisionEngine.load(FixedScorer(700.0), strategy=champion),
            "challenger": DecisionEngine.load(FixedScorer(700.0, model="pd-test:2"), strategy=challenger),
        },
    )
    seen = {}
    for i in range(40):
        d = router.decide(_raw("approve") | {"application_id": f"APP-{i}"})
        seen[i] = d.stamp.strategy
        assert router.decide(_raw("approve") | {"application_id": f"APP-{i}"}).stamp.strategy == seen[i]
    assert set(seen.values()) == {"champion", "challenger"}


def test_wished_balloon_share_is_validated_and_asked() -> None:
    eng = _engine()
    bad = _raw("approve")
    bad["wishes"] |= {"balloon_pct": "0.4"}  # ownership loan
    with pytest.raises(ValidationError) as err:
        eng.decide(bad)
    assert err.value.field == "wishes.balloon_pct"
    data = _raw("approve")
    data["wishes"] |= {"ownership": "balloon", "balloon_pct": "0.4"}
    d = eng.decide(data)
    assert d.menu is not None
    asked = [t for t in d.menu.tried if t.stage == "asked" and t.structure is not None]
    assert asked and all(t.structure is not None and t.structure.balloon_pct == Decimal("0.4") for t in asked)


def test_no_product_of_the_wished_ownership_is_a_reason() -> None:
    data = _raw("decline")  # a used car: every balloon product is new-car only
    data["applicant"]["bankruptcy_flag"] = False
    data["wishes"] |= {"ownership": "balloon"}
    d = _engine().decide(data)
    assert d.outcome in ("counter_offer", "decline")
    assert d.reasons and d.reasons[0].code == "OWNERSHIP_NOT_OFFERED"


def test_applied_counter_offer_carries_term_down_payment_balloon_and_ownership() -> None:
    d = _engine().decide(_raw("counter_offer"))
    assert d.counter_offers
    for c in d.counter_offers:
        kind = _engine().catalogue.products[c.offer.product_id].kind
        app = applied_application(d.application, c.offer, kind)
        s = c.offer.structure
        assert (app.wishes.term_months, app.wishes.down_payment) == (s.term, s.down_payment)
        assert app.wishes.down_payment_pct is None
        assert app.wishes.balloon_pct == (s.balloon_pct or None)
        expected = "lease" if kind == "lease" else "balloon" if s.balloon_pct else "loan"
        assert app.wishes.ownership == expected
        assert app.applicant == d.application.applicant and app.vehicle == d.application.vehicle


class _ByLtv(FixedScorer):
    """Points fall with the requested LTV, as the real scorecard's do: more down payment scores better."""

    def assess(self, app: Application) -> FakeRisk:
        ltv = float((app.vehicle.price - (app.down_payment_amount or Decimal(0))) / app.vehicle.price)
        return FakeRisk(700.0 - 400.0 * max(ltv - 0.5, 0.0), self.pd, FACTORS[:MAX_REASONS], self.model)


class _ByTerm(FixedScorer):
    """Points fall 40 per year of requested term beyond two: a longer term can fall below the cut-off."""

    def assess(self, app: Application) -> FakeRisk:
        return FakeRisk(
            650.0 - 40.0 * max(app.wishes.term_months / 12 - 2, 0.0), self.pd, FACTORS[:1], self.model
        )


def test_counter_offers_that_would_not_pass_once_applied_are_dropped() -> None:
    plain = _engine(650.0).decide(_raw("counter_offer"))
    assert any(c.offer.structure.term > 24 for c in plain.counter_offers)
    d = DecisionEngine.load(_ByTerm(650.0)).decide(_raw("counter_offer"))
    assert d.outcome == "counter_offer"
    # young_urban approves from 630 points: 24 months score 650, 30 months 630, 36 months 610 (refer).
    assert all(c.offer.structure.term <= 30 for c in d.counter_offers)
    assert d.dropped_counter_offers
    for c, why in d.dropped_counter_offers:
        assert c.offer.structure.term > 30 and "policy says" in why
    record = d.to_dict()
    assert len(record["trace"]["counter_offers_dropped"]) == len(d.dropped_counter_offers)
    eng = DecisionEngine.load(_ByLtv(700.0))
    for c in eng.decide(_raw("counter_offer")).counter_offers:  # kept ones really pass once applied
        kind = eng.catalogue.products[c.offer.product_id].kind
        again = eng.decide(applied_application(eng.decide(_raw("counter_offer")).application, c.offer, kind))
        assert again.outcome == "approve", [r.code for r in again.reasons]


def test_reuse_takes_the_menu_only_when_its_inputs_are_unchanged() -> None:
    eng = _engine()
    first = eng.decide(_raw("approve"))
    again = eng.decide(_raw("approve"), reuse=first)
    assert again.menu is first.menu and again.digest == first.digest
    # Another PD changes the ranking input: the menu is solved again, not reused.
    other = DecisionEngine.load(FixedScorer(700.0, pd=0.08))
    assert other.decide(_raw("approve"), reuse=first).menu is not first.menu
    # Another application: not reused.
    changed = _raw("approve")
    changed["applicant"]["monthly_income"] = "31000.00"
    assert eng.decide(changed, reuse=first).menu is not first.menu
    # Another start date: not reused.
    from datetime import date

    assert eng.decide(_raw("approve"), reuse=first, start_date=date(2026, 12, 1)).menu is not first.menu


def test_a_reused_menu_gives_the_decision_a_fresh_solve_gives(tmp_path: Path) -> None:
    """Reuse takes the menu as solved, before the counter-offers were re-checked, so a candidate policy
    that accepts counter-offers the baseline dropped decides exactly as if it had solved the menu."""
    import shutil

    policy = tmp_path / "policy"
    shutil.copytree(default_catalogue_dir() / "policy", policy)
    table = next(policy.glob("score_cutoffs@*.json"))
    text = table.read_text(encoding="utf-8")
    for old, new in (('"in_score": ">= 630"', '"in_score": ">= 600"'), ('"[595..630)"', '"[595..600)"')):
        assert old in text
        text = text.replace(old, new)
    table.write_text(text, encoding="utf-8")
    baseline = DecisionEngine.load(_ByTerm(650.0))
    candidate = DecisionEngine.load(_ByTerm(650.0), policy_dir=policy)
    before = baseline.decide(_raw("counter_offer"))
    assert before.dropped_counter_offers  # 36 months scores 610: referred under the baseline
    fresh = candidate.decide(_raw("counter_offer"))
    reused = candidate.decide(_raw("counter_offer"), reuse=before)
    assert reused.solved_menu is before.solved_menu
    assert reused.to_dict(timings=False) == fresh.to_dict(timings=False)
    # The candidate re-checked the counter-offers itself: other verdicts than the baseline's.
    assert [w for _, w in fresh.dropped_counter_offers] != [w for _, w in before.dropped_counter_offers]
