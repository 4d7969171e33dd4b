"""Behaviour score: features and target from the performance table (autofin.risk.behaviour)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from autofin.errors import ValidationError
from autofin.risk.behaviour import BEHAVIOUR_FEATURES, BehaviourModel, behaviour_dataset


def _rows(
    loan_id: int, start: dt.date, statuses: list[str], dpd: list[int], payments: list[float]
) -> list[dict]:
    rows = []
    for m, (s, d, p) in enumerate(zip(statuses, dpd, payments, strict=True), start=1):
        month = start.month - 1 + m
        period = dt.date(start.year + month // 12, month % 12 + 1, 1)
        rows.append(
            {
                "loan_id": loan_id,
                "month_on_book": m,
                "period": period,
                "status": s,
                "days_past_due": d,
                "balance": 1000.0 - 50.0 * m,
                "payment": p,
                "prepayment": 0.0,
                "default_amount": 0.0,
                "recovery": 0.0,
            }
        )
    return rows


@pytest.fixture
def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    start = dt.date(2024, 1, 1)  # month 1 on book = 2024-02
    c, d30 = "current", "dpd30"
    # loan 1: clean for 8 months, then goes bad (30, 60, 90, default) — bad within 12 months of 2024-09
    bad = [c] * 8 + [d30, "dpd60", "dpd90", "default"]
    loan1 = _rows(1, start, bad, [0] * 8 + [30, 60, 90, 120], [100.0] * 8 + [0, 0, 0, 0])
    # loan 2: 30 DPD in month 3 (cured in 4), then clean, observed 24 months
    loan2 = _rows(2, start, [c, c, d30] + [c] * 21, [0, 0, 30] + [0] * 21, [100, 100, 0, 200] + [100.0] * 20)
    # loan 3: prepaid in month 10 — closed, target known (good)
    loan3 = _rows(3, start, [c] * 9 + ["prepaid"], [0] * 10, [100.0] * 10)
    # loan 4: observation ends after 12 months without closing — censored for a 12-month horizon at 2024-09
    loan4 = _rows(4, start, [c] * 12, [0] * 12, [100.0] * 12)
    perf = pl.DataFrame(loan1 + loan2 + loan3 + loan4)
    loans = pl.DataFrame(
        {"loan_id": [1, 2, 3, 4], "amount_financed": [1000.0] * 4, "monthly_payment": [100.0] * 4}
    )
    return perf, loans


def test_features_and_target_by_definition(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    perf, loans = tables
    ds = behaviour_dataset(perf, loans, "2024-09", horizon=12)  # month 8 on book
    assert ds.columns == ["loan_id", "observation", *BEHAVIOUR_FEATURES, "bad"]
    rows = {r["loan_id"]: r for r in ds.iter_rows(named=True)}
    assert set(rows) == {1, 2, 3}  # loan 4 censored
    assert rows[1]["bad"] == 1 and rows[2]["bad"] == 0 and rows[3]["bad"] == 0
    r2 = rows[2]
    assert r2["months_on_book"] == 8 and r2["current_dpd"] == 0
    assert r2["max_dpd_6m"] == 30  # month 3 is within the last 6 (months 3..8)
    assert r2["n_dpd30_12m"] == 1
    assert r2["months_since_delinquency"] == 5  # last delinquent in month 3
    assert r2["balance_ratio"] == pytest.approx(0.6)
    assert r2["paid_ratio_6m"] == pytest.approx((0 + 200 + 4 * 100) / 600)
    assert rows[1]["months_since_delinquency"] == 8  # never delinquent: its whole life
    assert ds["observation"].unique().to_list() == ["2024-09"]


def test_eligibility_and_several_observations(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    perf, loans = tables
    # at 2024-12 (month 11) loan 1 is 90 DPD (already bad: not scored) and loan 3 has closed
    ds = behaviour_dataset(perf, loans, [dt.date(2024, 12, 15), "2024-06"], horizon=6)
    by_obs = {o: sorted(g["loan_id"].to_list()) for (o,), g in ds.group_by("observation")}
    # loan 2 is current and observed past the horizon; loan 4's observation ends first (censored)
    assert by_obs["2024-12"] == [2]
    assert sorted(by_obs["2024-06"]) == [1, 2, 3, 4]


def test_bad_input_is_refused(tables: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    perf, loans = tables
    with pytest.raises(ValidationError, match="observation"):
        behaviour_dataset(perf, loans, "2024-13")
    with pytest.raises(ValidationError, match="horizon"):
        behaviour_dataset(perf, loans, "2024-09", horizon=0)
    with pytest.raises(ValidationError, match="performance"):
        behaviour_dataset(perf.drop("balance"), loans, "2024-09")


def _synthetic_xy(n: int = 2000, seed: int = 1) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = {f: rng.random(n) for f in BEHAVIOUR_FEATURES}
    x["current_dpd"] = rng.choice([0.0, 30.0, 60.0], size=n, p=[0.9, 0.07, 0.03])
    z = -3.5 + 0.05 * x["current_dpd"] - 1.0 * x["paid_ratio_6m"]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int8)
    return pl.DataFrame(x), y


def test_logistic_engine_learns_direction_and_round_trips() -> None:
    X, y = _synthetic_xy()  # noqa: N806
    model = BehaviourModel(engine="logistic").fit(X, y)
    effects = model.effects()
    assert effects["current_dpd"] > 0 and effects["paid_ratio_6m"] < 0
    again = BehaviourModel.from_json(model.to_json())
    np.testing.assert_array_equal(again.pd(X), model.pd(X))
    assert json.loads(model.to_json())["target"].startswith("90+ days past due")
    score = model.score(X)
    assert np.corrcoef(score, model.pd(X))[0, 1] < 0  # points fall as PD rises


def test_scorecard_engine_round_trips() -> None:
    pytest.importorskip("autofin.risk.scorecard")
    X, y = _synthetic_xy(4000)  # noqa: N806
    model = BehaviourModel(scorecard_params={"min_iv": 0.01}).fit(X, y)
    assert "current_dpd" in model.scorecard_.features_
    assert model.effects()["current_dpd"] > 0
    again = BehaviourModel.from_json(model.to_json())
    np.testing.assert_array_equal(again.pd(X), model.pd(X))


def test_model_validation() -> None:
    with pytest.raises(ValidationError, match="engine"):
        BehaviourModel(engine="forest")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not fitted"):
        BehaviourModel().pd(pl.DataFrame({f: [0.0] for f in BEHAVIOUR_FEATURES}))
    with pytest.raises(ValidationError, match="format"):
        BehaviourModel.from_json(json.dumps({"format": "x"}))
    X, _y = _synthetic_xy(200)  # noqa: N806
    with pytest.raises(ValidationError, match="y"):
        BehaviourModel(engine="logistic").fit(X, np.zeros(200))
