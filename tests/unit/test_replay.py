"""Replaying decisions bit for bit, and comparing a candidate strategy with the baseline."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autofin.decision.engine import DecisionEngine
from autofin.decision.replay import (
    OUTCOMES,
    compare,
    diff_paths,
    headline_rate,
    record_digest,
    replay_record,
    takeup_from_model,
    top_offer,
)
from autofin.errors import ValidationError
from decision_support import BureauScorer, shifted_cutoffs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "decisions"
DECIDED = ("approve", "counter_offer", "decline")


def _app(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def _on_disk(record: dict[str, Any]) -> dict[str, Any]:
    """A record as it comes back from a JSON file."""
    out: dict[str, Any] = json.loads(json.dumps(record, ensure_ascii=False, indent=2))
    return out


@pytest.fixture(scope="module")
def engine() -> DecisionEngine:
    return DecisionEngine.load(BureauScorer())


@pytest.fixture(scope="module")
def records(engine: DecisionEngine) -> dict[str, dict[str, Any]]:
    return {name: _on_disk(engine.decide(_app(name)).to_dict()) for name in DECIDED}


# -- replay ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DECIDED)
def test_replaying_a_record_from_disk_reproduces_it_bit_for_bit(
    engine: DecisionEngine, records: dict[str, dict[str, Any]], name: str
) -> None:
    record = records[name]
    check = replay_record(engine, record)
    assert check.identical, check.differences
    assert check.differences == () and check.n_differences == 0
    assert check.original_digest == check.replay_digest
    assert check.decision is not None and check.decision.digest == check.original_digest
    assert check.application_id == record["application_id"]


def test_a_record_without_trace_replays_too(engine: DecisionEngine) -> None:
    record = _on_disk(engine.decide(_app("counter_offer")).to_dict(trace=False))
    check = replay_record(engine, record)
    assert check.identical
    assert check.original_digest == record_digest(record)


def test_the_digest_ignores_timings(engine: DecisionEngine) -> None:
    decision = engine.decide(_app("approve"))
    record = _on_disk(decision.to_dict())
    assert "timings_us" in record
    assert record_digest(record) == decision.digest


def test_a_tampered_record_names_the_differing_paths(
    engine: DecisionEngine, records: dict[str, dict[str, Any]]
) -> None:
    record = copy.deepcopy(records["approve"])
    record["offers"][0]["monthly_payment"] = "1.00"
    record["reasons"].append({"code": "X", "source": "menu", "en": "x", "zh-CN": "x"})
    check = replay_record(engine, record)
    assert not check.identical
    assert check.original_digest != check.replay_digest
    assert "$.offers[0].monthly_payment" in check.differences
    assert "$.reasons.length" in check.differences


def test_a_record_of_other_versions_is_refused(records: dict[str, dict[str, Any]]) -> None:
    other = DecisionEngine.load(BureauScorer("pd-fake:2"))
    with pytest.raises(ValidationError) as err:
        replay_record(other, records["approve"])
    assert err.value.field == "versions"


def test_a_malformed_record_is_refused(engine: DecisionEngine) -> None:
    with pytest.raises(ValidationError) as err:
        replay_record(engine, {"application": _app("approve")})
    assert err.value.field == "record.version_digest"


def test_diff_paths_walks_objects_and_lists() -> None:
    a = {"a": [1, {"b": "x"}], "c": True, "d": 1}
    b = {"a": [1, {"b": "y"}, 3], "c": 1, "e": 1}
    assert diff_paths(a, b) == ["$.a.length", "$.a[1].b", "$.c", "$.d", "$.e"]
    assert diff_paths(a, b, limit=2) == ["$.a.length", "$.a[1].b"]
    assert diff_paths({"x": 1}, {"x": 1.0}) == []


# -- compare -----------------------------------------------------------------------------------------


def test_raising_the_score_cutoffs_lowers_approvals_and_the_matrix_reconciles(
    engine: DecisionEngine, tmp_path: Path
) -> None:
    candidate = DecisionEngine.load(BureauScorer(), policy_dir=shifted_cutoffs(tmp_path, 100))
    assert candidate.stamp.digest != engine.stamp.digest
    apps = [_app(n) for n in (*DECIDED, "bad_currency")]
    diff = compare(apps, engine, candidate)

    expected: Counter[tuple[str, str]] = Counter()
    for app in apps:
        outcomes = []
        for e in (engine, candidate):
            try:
                outcomes.append(e.decide(app).outcome)
            except ValidationError:
                outcomes.append("invalid")
        expected[(outcomes[0], outcomes[1])] += 1
    got = {(b, c): n for b, row in diff.transitions.items() for c, n in row.items() if n}
    assert got == dict(expected)

    assert diff.applications == len(apps)
    assert sum(n for row in diff.transitions.values() for n in row.values()) == len(apps)
    for side in (diff.baseline, diff.candidate):
        assert sum(side.counts.values()) == len(apps)
        assert set(side.counts) == set(OUTCOMES)
    assert diff.candidate.approval_rate < diff.baseline.approval_rate
    assert diff.candidate.counts["invalid"] == diff.baseline.counts["invalid"] == 1
    assert diff.n_changed == sum(n for (b, c), n in expected.items() if b != c) > 0
    assert {c.application_id for c in diff.changed} >= {"demo-approve-0001"}
    assert all(c.after != c.before for c in diff.changed)
    assert diff.refused and diff.refused[0]["application_id"] == "demo-bad-currency-0001"
    json.dumps(diff.to_dict())  # JSON-ready
    table = diff.to_table()
    assert "approval rate" in table and "demo-approve-0001" in table


def test_same_engines_change_nothing_and_records_stand_in_for_the_baseline(
    engine: DecisionEngine, records: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    candidate = DecisionEngine.load(BureauScorer(), policy_dir=shifted_cutoffs(tmp_path, 0))
    diff = compare(list(records.values()), engine, candidate)
    assert diff.baseline_reused == len(records)
    assert diff.n_changed == 0
    assert diff.mean_rate_change == 0.0
    assert diff.both_offered == diff.baseline.offered == diff.candidate.offered == 2
    assert diff.baseline.expected_loss == diff.candidate.expected_loss
    # An identical copy of the tables has the same version digest, so the records stand in for both
    # sides and nothing is decided afresh; decided afresh, every menu's inputs are the same.
    assert diff.menus_reusable == 0
    fresh = compare([_app(n) for n in DECIDED], engine, candidate)
    assert fresh.menus_reusable == 2  # approve and counter_offer have menus; decline has none
    # A stored record and a fresh decision summarise to the same numbers.
    assert fresh.baseline == diff.baseline and fresh.candidate == diff.candidate


def test_expected_loss_is_pd_times_lgd_times_amount_financed(
    engine: DecisionEngine, records: dict[str, dict[str, Any]]
) -> None:
    diff = compare([records["approve"]], engine, engine)
    offer = top_offer(records["approve"])
    assert offer is not None
    assert engine.assumptions is not None
    want = (
        records["approve"]["score"]["pd"] * engine.assumptions.lgd * float(offer["quote"]["amount_financed"])
    )
    assert float(diff.baseline.expected_loss["CNY"]) == pytest.approx(want, abs=0.006)
    rate = headline_rate(offer)
    assert rate is not None and diff.baseline.mean_rate == pytest.approx(rate)
    assert diff.baseline.bookings_basis == "approvals" and diff.baseline.expected_bookings == 1.0
    assert diff.notes


def test_lgd_must_come_from_somewhere(records: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    bare = DecisionEngine.load(BureauScorer(), assumptions_path=tmp_path / "none.yaml")
    assert bare.assumptions is None
    with pytest.raises(ValidationError) as err:
        compare([_app("approve")], bare, bare)
    assert err.value.field == "lgd"
    diff = compare([_app("approve")], bare, bare, lgd=0.5)
    assert diff.baseline.lgd == 0.5
    with pytest.raises(ValidationError) as err:
        compare([_app("approve")], bare, bare, lgd=1.5)
    assert err.value.field == "lgd"


def test_takeup_gives_expected_bookings(engine: DecisionEngine, records: dict[str, dict[str, Any]]) -> None:
    diff = compare(list(records.values()), engine, engine, takeup=lambda r: 0.25)
    assert diff.baseline.bookings_basis == "takeup"
    assert diff.baseline.expected_bookings == pytest.approx(0.25 * diff.baseline.offered)
    with pytest.raises(ValidationError) as err:
        compare(list(records.values()), engine, engine, takeup=lambda r: 2.0)
    assert err.value.field == "takeup"


def test_takeup_from_model_scores_the_top_offer(records: dict[str, dict[str, Any]]) -> None:
    import math

    from autofin.pricing.takeup import POOLED, LogitTakeup

    beta = {"intercept": 1.0, "rate_pct": -0.3, "pti_pct": -0.05, "term_years": -0.1,
            "down_share": 0.5, "balloon": 0.2, "lease": -0.4}  # fmt: skip
    p_take = takeup_from_model(LogitTakeup({POOLED: beta}))
    record = records["approve"]
    offer = top_offer(record)
    assert offer is not None
    q = offer["quote"]
    income = float(record["application"]["applicant"]["monthly_income"])
    eta = (
        1.0
        - 0.3 * 100 * q["customer_rate"]
        - 0.05 * 100 * float(offer["monthly_payment"]) / income
        - 0.1 * q["term"] / 12
        + 0.5 * float(q["down_payment"]) / float(q["price"])
    )
    assert p_take(record) == pytest.approx(1 / (1 + math.exp(-eta)))
    assert p_take(records["decline"]) == 0.0


def test_compare_refuses_what_is_not_an_application(engine: DecisionEngine) -> None:
    with pytest.raises(ValidationError) as err:
        compare([[1, 2]], engine, engine)  # type: ignore[list-item]
    assert err.value.field == "input[0]"


@pytest.mark.slow
def test_with_the_real_application_scorer(tmp_path: Path) -> None:
    """The real scorecard (trained on a seeded synthetic world, ~15 s) replays bit for bit too."""
    scoring = pytest.importorskip("autofin.decision.scoring")
    if not hasattr(scoring, "demo_scorer"):
        pytest.skip("autofin.decision.scoring has no demo_scorer yet")
    from autofin.risk.registry import Registry

    engine = DecisionEngine.load(scoring.demo_scorer(Registry(tmp_path / "models")))
    for name in DECIDED:
        record = _on_disk(engine.decide(_app(name)).to_dict())
        check = replay_record(engine, record)
        assert check.identical, (name, check.differences)
