"""The application risk score (autofin.decision.scoring) and the world → application bridge
(autofin.decision.synthetic), on a small synthetic world and a scorecard fitted on it.

The single-application path (:meth:`ApplicationScorer.assess`, pure Python lookups) must agree with the
vectorised path (:meth:`ApplicationScorer.assess_frame`) and with the scorecard itself
(:meth:`Scorecard.score` / :meth:`Scorecard.predict_proba` / :meth:`Scorecard.reasons`) on every row.
"""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from autofin.data.synth import synthesize
from autofin.data.world import load_world
from autofin.decision.application import Application, parse_application
from autofin.decision.scoring import (
    APPLICATION_FEATURES,
    APPLICATION_REASONS,
    FEATURE_SCHEMA,
    ApplicationScorer,
    RiskAssessment,
    application_feature_frame,
    application_features,
    train_application_scorecard,
)
from autofin.decision.synthetic import (
    MODEL_PLACEHOLDER,
    world_applications,
    world_feature_frame,
    world_outcomes,
)
from autofin.errors import ValidationError
from autofin.risk.reasons import MAX_REASONS, ReasonCatalog, validate_reason_text
from autofin.risk.registry import ModelMeta, Registry
from autofin.risk.scorecard import Scorecard

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scoring") / "world"
    synthesize(load_world(), applicants=4_000, months=36, seed=11, out=out)
    return out


@pytest.fixture(scope="module")
def apps(world: Path) -> list[tuple[str, Application]]:
    return world_applications(world)


@pytest.fixture(scope="module")
def trained(world: Path) -> tuple[Scorecard, dict[str, Any], ModelMeta]:
    return train_application_scorecard(world)


@pytest.fixture(scope="module")
def scorer(trained: tuple[Scorecard, dict[str, Any], ModelMeta]) -> ApplicationScorer:
    return ApplicationScorer(trained[0], "pd-application-test:1")


def example(name: str) -> Application:
    return parse_application((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def with_bureau(app: Application, **bureau: Any) -> Application:
    data = app.model_dump(mode="json")
    data["bureau"] = bureau
    return parse_application(data)


# -- features ----------------------------------------------------------------------------------------


def test_feature_frame_equals_features_row_by_row(apps: list[tuple[str, Application]]) -> None:
    sample = [a for _, a in apps[:300]] + [example("approve"), example("counter_offer")]
    sample.append(with_bureau(example("approve"), inquiries_6m=3, revolving_utilisation="1.2"))
    frame = application_feature_frame(sample)
    assert frame.columns == list(APPLICATION_FEATURES)
    assert dict(frame.schema) == dict(FEATURE_SCHEMA)
    for row, app in zip(frame.iter_rows(named=True), sample, strict=True):
        assert row == application_features(app)


def test_features_by_hand() -> None:
    app = with_bureau(example("approve"), inquiries_6m=2, delinquencies_24m=1, revolving_utilisation="0.35")
    f = application_features(app)
    price, down = 179_800.0, 53_940.0  # 30 % down
    assert f["bureau_score"] == 742.0 and f["thin_file"] == 0.0 and f["no_file"] == 0.0
    assert (f["inquiries_6m"], f["delinquencies_24m"], f["revolving_utilisation"]) == (2.0, 1.0, 0.35)
    assert f["debt_to_income"] == 2_500.0 / 32_000.0
    assert f["requested_ltv"] == (price - down) / price
    assert f["requested_pti"] == (price - down) / 36 / 32_000.0
    assert f["term_months"] == 36.0 and f["monthly_income"] == 32_000.0
    assert (f["condition"], f["powertrain"], f["use"], f["customer_type"]) == (
        "new",
        "nev",
        "passenger",
        "individual",
    )
    assert "age" not in f and "region" not in f  # protected attribute and geography are never features


def test_missing_bureau_block_and_down_payment_are_null() -> None:
    data = example("approve").model_dump(mode="json")
    del data["wishes"]["down_payment_pct"]
    f = application_features(parse_application(data))
    assert f["inquiries_6m"] is None and f["delinquencies_24m"] is None
    assert f["revolving_utilisation"] is None
    assert f["requested_ltv"] is None and f["requested_pti"] is None


def test_world_feature_frame_equals_application_features(
    world: Path, apps: list[tuple[str, Application]]
) -> None:
    vectorised = world_feature_frame(world)
    one_by_one = application_feature_frame(a for _, a in apps)
    assert vectorised["applicant_id"].to_list() == [int(k.removeprefix("world-")) for k, _ in apps]
    assert_frame_equal(vectorised.drop("applicant_id"), one_by_one)


# -- the world as applications -----------------------------------------------------------------------


def test_world_applications_mapping(world: Path, apps: list[tuple[str, Application]]) -> None:
    from autofin.data.synth import load

    assert len(apps) == 4_000
    assert [k for k, _ in world_applications(world, limit=5)] == [k for k, _ in apps[:5]]
    key, app = apps[0]
    assert key == app.application_id == "world-0"
    assert app.jurisdiction == "CN" and app.currency == "CNY"
    assert app.vehicle.model == MODEL_PLACEHOLDER and app.bureau is not None
    assert app.submitted_at.utcoffset() is not None
    applicants = load(world, "applicants").sort("applicant_id")
    assert app.submitted_at.date() == applicants["application_date"][0]
    quotes = load(world, "quotes").filter(pl.col("applicant_id") == 0).sort("quote_id")
    assert app.wishes.term_months == quotes["term_months"][0]
    assert app.wishes.down_payment == Decimal(repr(quotes["down_payment"][0])).quantize(Decimal("0.01"))
    assert app.wishes.ownership == quotes["product"][0]
    with pytest.raises(ValidationError) as info:
        world_applications(world, limit=-1)
    assert info.value.field == "limit"
    with pytest.raises(ValidationError) as info:
        world_applications(world.parent / "nothing-here")
    assert info.value.field == "world_dir"


def test_world_outcomes(world: Path) -> None:
    out = world_outcomes(world)
    assert out.height == 4_000 and out["applicant_id"].is_sorted()
    assert out.filter(pl.col("booked") != pl.col("loan_id").is_not_null()).height == 0
    assert out.filter(pl.col("booked") != pl.col("bad").is_not_null()).height == 0
    assert out.filter(pl.col("booked") != pl.col("true_pd").is_not_null()).height == 0
    assert out.filter(pl.col("declined") != (pl.col("taken") & ~pl.col("booked"))).height == 0
    assert out["true_pd_first_quote"].null_count() == 0
    assert out["true_pd_first_quote"].is_between(0.0, 1.0).all()
    assert out["application_id"][3] == "world-3"
    # the true PD is known where the world booked the loan; the realised bad rate is near it
    booked = out.filter("booked")
    realised = float(booked["bad"].cast(pl.Float64).mean())  # type: ignore[arg-type]
    assert abs(realised - float(booked["true_pd"].mean())) < 0.03  # type: ignore[arg-type]


# -- one application vs the vectorised path ----------------------------------------------------------


def _assert_same(scorer: ApplicationScorer, sample: list[Application]) -> None:
    frame = application_feature_frame(sample)
    card = scorer.scorecard
    points = card.score(frame)
    pd_ = card.predict_proba(frame)[:, 1]
    reasons = card.reasons(frame)
    vectorised = scorer.assess_frame(frame)
    for i, app in enumerate(sample):
        r = scorer.assess(app)
        assert r.points == pytest.approx(points[i], abs=1e-9)
        assert r.pd == pytest.approx(pd_[i], abs=1e-12, rel=1e-9)
        assert r.points == pytest.approx(vectorised["points"][i], abs=1e-9)
        assert [(x.code, x.feature) for x in r.reasons] == [(x.code, x.feature) for x in reasons[i]]
        assert [x.impact for x in r.reasons] == pytest.approx([x.impact for x in reasons[i]], abs=1e-9)
        codes = [vectorised[f"reason_{k + 1}"][i] for k in range(MAX_REASONS)]
        assert codes == [*r.reason_codes, *[None] * (MAX_REASONS - len(r.reasons))]


def test_assess_equals_scorecard_and_frame(
    scorer: ApplicationScorer, apps: list[tuple[str, Application]]
) -> None:
    sample = [a for _, a in apps[::4]]
    approve = example("approve")
    data = approve.model_dump(mode="json")
    del data["wishes"]["down_payment_pct"]
    sample += [approve, example("counter_offer"), parse_application(data)]
    sample.append(with_bureau(approve, inquiries_6m=9, delinquencies_24m=4, revolving_utilisation="4.5"))
    no_file = copy.deepcopy(data)
    no_file["applicant"].update(bureau_score=None, no_file=True)
    sample.append(parse_application(no_file))
    _assert_same(scorer, sample)


def test_grouped_reason_codes_match(
    trained: tuple[Scorecard, dict[str, Any], ModelMeta], apps: list[tuple[str, Application]]
) -> None:
    """Features sharing a code give one reason (summed positive impacts), in both paths."""
    doc = json.loads(trained[0].to_json())
    shared = APPLICATION_REASONS["requested_ltv"].__dict__
    for f in ("requested_ltv", "requested_pti", "term_months", "debt_to_income"):
        if f in doc["reason_catalog"]:
            doc["reason_catalog"][f] = dict(shared)
    card = Scorecard.from_json(json.dumps(doc))
    scorer = ApplicationScorer(card, "grouped:1")
    assert not scorer._one_per_code
    _assert_same(scorer, [a for _, a in apps[::10]])


def test_assessment_shape(scorer: ApplicationScorer, apps: list[tuple[str, Application]]) -> None:
    checked: set[tuple[str, str, str]] = set()
    for _, app in apps[:200]:
        r = scorer.assess(app)
        assert isinstance(r, RiskAssessment) and r.model == "pd-application-test:1"
        assert math.isfinite(r.points) and 0.0 < r.pd < 1.0
        assert len(r.reasons) <= MAX_REASONS
        impacts = [x.impact for x in r.reasons]
        assert impacts == sorted(impacts, reverse=True) and all(i > 0 for i in impacts)
        assert len(set(r.reason_codes)) == len(r.reasons)
        for x in r.reasons:
            checked.add((x.code, x.en, x.zh_cn))
    known = ReasonCatalog.default().codes()
    for code, en, zh_cn in checked:
        validate_reason_text(en, zh_cn)
        assert (known[code].en, known[code].zh_cn) == (en, zh_cn)
    factor, offset = scorer.scorecard.scaling()
    r = scorer.assess(apps[0][1])
    assert r.points == pytest.approx(offset - factor * math.log(r.pd / (1 - r.pd)), abs=1e-6)


def test_scorer_refuses_foreign_scorecards_and_rows(scorer: ApplicationScorer) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    frame = pl.DataFrame({"ltv": x, "other": rng.normal(size=600)})
    y = (rng.random(600) < 1 / (1 + np.exp(-x))).astype(int)
    foreign = Scorecard().fit(frame, y)
    with pytest.raises(ValidationError) as info:
        ApplicationScorer(foreign, "foreign:1")
    assert info.value.field == "scorecard.features"
    with pytest.raises(ValidationError):
        ApplicationScorer(scorer.scorecard, "")
    with pytest.raises(ValidationError) as info:
        scorer.assess_features({})
    assert info.value.field == "features"
    row = application_features(example("approve"))
    with pytest.raises(ValidationError) as info:
        scorer.assess_features({**row, "bureau_score": "high"})
    assert info.value.field == "bureau_score"
    assert application_feature_frame([]).columns == list(APPLICATION_FEATURES)


# -- training and the registry ------------------------------------------------------------------------


def test_training_meta_and_signs(trained: tuple[Scorecard, dict[str, Any], ModelMeta]) -> None:
    card, metrics, meta = trained
    assert meta.kind == "scorecard" and meta.features == card.features_
    assert set(card.features_) <= set(APPLICATION_FEATURES)
    assert len(meta.training_data_sha256) == 64
    assert meta.data["source"] == "synthetic-application" and "first_oot" in meta.data
    assert metrics["auc_test"] is not None and float(metrics["auc_test"]) > 0.6
    assert (card.coef_ < 0).all()  # every driver's points follow its own bad rates


def test_registry_round_trip(
    tmp_path: Path, trained: tuple[Scorecard, dict[str, Any], ModelMeta], apps: list[tuple[str, Application]]
) -> None:
    card, _, meta = trained
    reg = Registry(tmp_path)
    v = reg.register("pd-application", card, meta)
    reg.promote("pd-application", v)
    loaded = ApplicationScorer.from_registry(reg, "pd-application")
    sha = reg.meta("pd-application", v).model_sha256
    assert sha is not None and loaded.model == f"pd-application:{v}@{sha[:16]}"
    direct = ApplicationScorer(card, "x:1")
    for _, app in apps[:50]:
        a, b = loaded.assess(app), direct.assess(app)
        assert (a.points, a.pd, a.reasons) == (b.points, b.pd, b.reasons)


def test_a_scorecard_with_per_bin_deviations_is_refused_not_misscored() -> None:
    """The single-row path adds coefficient x WOE per bin; a scorecard fitted with ``deviation_C`` adds a
    per-bin deviation too, so the scorer must refuse it rather than give another PD than the scorecard."""
    import numpy as np
    import polars as pl

    from autofin.decision.scoring import ApplicationScorer
    from autofin.errors import ValidationError
    from autofin.risk.scorecard import Scorecard

    rng = np.random.default_rng(0)
    x = rng.normal(size=3_000)
    y = (rng.random(3_000) < 1 / (1 + np.exp(2 + x))).astype(int)
    frame = pl.DataFrame(
        {"bureau_score": 650 + 50 * x, "monthly_income": 10_000 + 1_000 * rng.normal(size=3_000)}
    )
    card = Scorecard(deviation_C=0.03).fit(frame, y)
    with pytest.raises(ValidationError) as err:
        ApplicationScorer(card, "pd-test:1")
    assert err.value.field == "scorecard"
