"""Tests for autofin.risk.fairness and autofin.risk.report.

Four-fifths rule: US Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D) — a group
selection rate below 4/5 of the highest group's rate is evidence of adverse impact. HMDA: Boston HMDA
data (Munnell et al. 1996; R package AER), the denial rates by race also quoted in Stock & Watson,
Introduction to Econometrics, ch. 11 (28 % of black applicants denied versus 9 % of white applicants).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import polars as pl
import pytest
from fairlearn.metrics import demographic_parity_ratio  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression

from autofin.data.public import DataUnavailableError, load_german_credit, load_hmda
from autofin.data.schemas import PROTECTED_COLUMNS, assert_no_protected
from autofin.errors import ValidationError
from autofin.risk.fairness import FOUR_FIFTHS, age_bands, align_protected, fairness_report
from autofin.risk.report import ModelScores, Report, validation_report

# --- hand examples ------------------------------------------------------------------------------------------


def test_fairness_by_hand() -> None:
    # Group a: 10 cases, 5 approved (0.5); group b: 10 cases, 7 approved (0.7). AIR = 0.5/0.7 < 0.8.
    decision = [*[1] * 5, *[0] * 5, *[1] * 7, *[0] * 3]
    group = ["a"] * 10 + ["b"] * 10
    score = [0.1] * 10 + [0.3] * 10
    # Goods: a has 4 goods, 3 of them approved; b has 5 goods, all approved.
    y = [0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    report = fairness_report(decision, score, y, pl.DataFrame({"gender": group}))
    gender = report.attribute("gender")
    assert gender.table["count"].to_list() == [10, 10]
    assert gender.table["approved"].to_list() == [5, 7]
    assert gender.table["approval_rate"].to_list() == pytest.approx([0.5, 0.7])
    assert gender.table["adverse_impact_ratio"].to_list() == pytest.approx([0.5 / 0.7, 1.0])
    assert gender.table["below_four_fifths"].to_list() == [True, False]
    assert gender.adverse_impact_ratio == pytest.approx(0.5 / 0.7)
    assert gender.adverse_impact_ratio == pytest.approx(
        demographic_parity_ratio(np.array(y), np.array(decision), sensitive_features=np.array(group))
    )
    assert gender.four_fifths_flag
    assert gender.reference_group == "b"
    assert gender.approval_rate_gap == pytest.approx(0.2)
    assert gender.mean_score_gap == pytest.approx(0.2)
    assert gender.table["goods"].to_list() == [4, 5]
    assert gender.table["goods_approved"].to_list() == [3, 5]
    assert gender.equal_opportunity_difference == pytest.approx(1.0 - 0.75)
    assert report.flagged == ("gender",)
    assert report.n == 20 and report.approved == 12
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_four_fifths_boundary_and_unknown_outcomes() -> None:
    # 0.6 / 0.75 = 0.8 exactly: not below four-fifths. Outcomes of declined cases are unknown (None).
    decision = [1, 1, 1, 0, 0, 1, 1, 1, 0]  # x: 3 of 5 (0.6); y: 3 of 4 (0.75)
    y = [0, 0, 1, None, None, 0, 0, 1, None]
    report = fairness_report(decision, None, y, pl.DataFrame({"g": ["x"] * 5 + ["y"] * 4}))
    g = report.attribute("g")
    assert g.adverse_impact_ratio == pytest.approx(FOUR_FIFTHS)
    assert not g.four_fifths_flag
    assert g.mean_score_gap is None
    assert g.table["goods"].to_list() == [2, 2]
    assert g.equal_opportunity_difference == 0.0


def test_missing_groups_and_min_count() -> None:
    protected = pl.DataFrame({"ethnicity": ["a", "a", "b", "b", None]})
    report = fairness_report([1, 1, 1, 0, 0], None, None, protected, min_count=2)
    eth = report.attribute("ethnicity")
    assert eth.table["group"].to_list() == ["(not recorded)", "a", "b"]
    # The one-case "(not recorded)" group (rate 0) is shown but not judged: AIR = 0.5 / 1.0.
    assert eth.adverse_impact_ratio == pytest.approx(0.5)
    assert eth.equal_opportunity_difference is None


def test_inputs_are_checked() -> None:
    with pytest.raises(ValidationError, match="one row per decision"):
        fairness_report([1, 0], None, None, pl.DataFrame({"g": ["a"]}))
    with pytest.raises(ValidationError, match="approved"):
        fairness_report([1, 2], None, None, pl.DataFrame({"g": ["a", "b"]}))
    with pytest.raises(ValidationError, match="band it first"):
        fairness_report([1] * 30, None, None, pl.DataFrame({"age": list(range(30))}))


def test_align_protected_joins_by_applicant_id() -> None:
    protected = pl.DataFrame({"applicant_id": [10, 11, 12], "gender": ["f", "m", "f"]})
    aligned = align_protected([12, 10, 12], protected)
    assert aligned["applicant_id"].to_list() == [12, 10, 12]
    assert aligned["gender"].to_list() == ["f", "f", "f"]
    with pytest.raises(ValidationError, match="every decided applicant"):
        align_protected([10, 99], protected)
    with pytest.raises(ValidationError, match="unique"):
        align_protected([10], pl.concat([protected, protected]))


def test_age_bands() -> None:
    assert age_bands([18, 25, 34, 35, 64, 65, 90]).to_list() == [
        "<25",
        "25-34",
        "25-34",
        "35-44",
        "55-64",
        "65+",
        "65+",
    ]


# --- German credit (bundled, offline) -----------------------------------------------------------------------


def test_german_credit_fairness_matches_a_direct_computation() -> None:
    ds = load_german_credit()
    features = [c for c in ds.model_columns]
    assert not set(features) & set(ds.protected_columns)
    x = (
        ds.frame.select(features)
        .to_dummies([c for c in ds.categorical_columns if c in features])
        .cast(pl.Float64)
    )
    z = ((x - x.mean()) / x.std()).fill_nan(0.0).fill_null(0.0).to_numpy()
    pd_ = LogisticRegression(max_iter=1000).fit(z, ds.y()).predict_proba(z)[:, 1]
    approved = (pd_ <= np.quantile(pd_, 0.7)).astype(int)
    protected = ds.frame.select(ds.protected_columns).with_columns(age_bands(ds.frame["age_in_years"]))
    report = fairness_report(approved, pd_, ds.y(), protected)
    assert {a.attribute for a in report.attributes} == set(ds.protected_columns)
    direct = (
        pl.DataFrame({"g": protected["foreign_worker"], "a": approved})
        .group_by("g")
        .agg(pl.col("a").mean())
        .get_column("a")
    )
    assert report.attribute("foreign_worker").adverse_impact_ratio == pytest.approx(
        direct.min() / direct.max()
    )


# --- HMDA (fetched on first use) ----------------------------------------------------------------------------


@pytest.mark.network
def test_hmda_denial_air_by_race_matches_a_direct_computation() -> None:
    try:
        ds = load_hmda()
    except DataUnavailableError as exc:
        pytest.skip(str(exc))
    frame = ds.frame
    approved = 1 - frame["target"].to_numpy()  # target = 1 when denied
    report = fairness_report(approved, None, None, frame.select("afam"))
    afam = report.attribute("afam")
    counts = (
        frame.group_by("afam").agg(pl.len().alias("n"), pl.col("target").sum().alias("denied")).sort("afam")
    )
    denial = dict(zip(counts["afam"], (counts["denied"] / counts["n"]).to_list(), strict=True))
    # Stock & Watson ch. 11: 28 % of black applicants denied versus 9 % of white applicants.
    assert denial["yes"] == pytest.approx(0.28, abs=0.005)
    assert denial["no"] == pytest.approx(0.09, abs=0.005)
    approval = {g: 1 - r for g, r in denial.items()}
    assert afam.table["group"].to_list() == ["no", "yes"]
    assert afam.table["count"].to_list() == counts["n"].to_list()
    assert afam.table["approval_rate"].to_list() == pytest.approx([approval["no"], approval["yes"]])
    assert afam.adverse_impact_ratio == pytest.approx(approval["yes"] / approval["no"])
    assert afam.reference_group == "no"
    # (1 − 0.283) / (1 − 0.093) ≈ 0.790: just below four-fifths on the observed decisions.
    assert afam.adverse_impact_ratio == pytest.approx(0.790, abs=0.001)
    assert afam.four_fifths_flag
    # A simple model on non-protected columns, approving as many as were approved.
    features = list(ds.model_columns)
    assert "afam" not in features and "single" not in features
    x = (
        frame.select(features)
        .to_dummies([c for c in ds.categorical_columns if c in features])
        .cast(pl.Float64)
    )
    z = ((x - x.mean()) / x.std()).fill_nan(0.0).fill_null(0.0).to_numpy()
    pd_ = LogisticRegression(max_iter=1000).fit(z, ds.y()).predict_proba(z)[:, 1]
    model_approved = (pd_ <= np.quantile(pd_, approved.mean())).astype(int)
    model_report = fairness_report(model_approved, pd_, ds.y(), frame.select("afam"))
    rates = (
        pl.DataFrame({"g": frame["afam"], "a": model_approved})
        .group_by("g")
        .agg(pl.col("a").mean())
        .sort("g")
    )
    assert model_report.attribute("afam").adverse_impact_ratio == pytest.approx(
        rates["a"].min() / rates["a"].max()
    )


# --- synthetic world: the whole report ----------------------------------------------------------------------

FEATURES = [
    "bureau_score",
    "inquiries_6m",
    "delinquencies_24m",
    "revolving_utilisation",
    "ltv",
    "pti",
    "dti",
    "log_income",
]


@pytest.fixture(scope="module")
def world_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, pl.DataFrame, pl.DataFrame]:
    from autofin.data.synth import load, synthesize
    from autofin.data.world import load_world

    out = tmp_path_factory.mktemp("world")
    synthesize(load_world(), applicants=3000, months=24, seed=7, out=out)
    loans = load(out, "loans")
    performance = load(out, "performance")
    protected = load(out, "protected")
    bad = performance.group_by("loan_id").agg((pl.col("status") == "default").any().alias("bad"))
    cases = (
        loans.join(bad, on="loan_id")
        .join(load(out, "applicants"), on="applicant_id")
        .join(load(out, "bureau"), on="applicant_id")
        .sort("loan_id")
        .with_columns(
            pl.col("bureau_score").fill_null(600), pl.col("monthly_income").log().alias("log_income")
        )
    )
    assert_no_protected(FEATURES)
    assert not set(FEATURES) & set(cases.columns) & PROTECTED_COLUMNS
    assert not set(cases.columns) & PROTECTED_COLUMNS  # the modelling table never holds them
    x = cases.select(FEATURES).to_numpy()
    y = cases["bad"].cast(pl.Int8).to_numpy()
    dev = (cases["vintage"] <= "2024-06").to_numpy()
    z = (x - x[dev].mean(axis=0)) / x[dev].std(axis=0)
    champion = LogisticRegression(max_iter=500).fit(z[dev], y[dev]).predict_proba(z)[:, 1]
    challenger = LogisticRegression(max_iter=500).fit(z[dev][:, :3], y[dev]).predict_proba(z[:, :3])[:, 1]
    points = 600 - 50 * np.log(champion / (1 - champion))
    scored = cases.select(FEATURES).with_columns(
        pl.Series("champion", champion), pl.Series("challenger", challenger)
    )
    decision = (champion <= np.quantile(champion, 0.8)).astype(int)
    report = validation_report(
        y,
        {
            "champion": champion,
            "challenger": challenger,
            "points": ModelScores(points, kind="score", higher_is_bad=False),
        },
        dev=scored.filter(pl.Series(dev)),
        later=scored.filter(pl.Series(~dev)),
        vintages=cases["vintage"],
        protected=protected,
        applicant_ids=cases["applicant_id"],
        decision=decision,
    )
    return report, cases, protected


def test_world_report_numbers(world_report: tuple[Report, pl.DataFrame, pl.DataFrame]) -> None:
    report, cases, protected = world_report
    assert report.n == cases.height
    assert [m.name for m in report.models] == ["champion", "challenger", "points"]
    champion, _, points = report.models
    assert points.auc == pytest.approx(champion.auc)  # a monotone transform of the champion
    assert champion.calibration is not None and points.calibration is None
    assert champion.psi is not None and points.psi is None
    assert champion.out_of_time is not None and champion.out_of_time["count"].sum() == cases.height
    assert report.csi is not None and set(report.csi["feature"]) == set(FEATURES)
    assert len(report.comparison.comparisons) == 2
    # Fairness joined the protected table by applicant_id: recompute the gender AIR directly.
    assert report.fairness is not None
    assert {a.attribute for a in report.fairness.attributes} == {"gender", "age_band", "ethnicity"}
    joined = cases.select("applicant_id").join(protected, on="applicant_id", how="left")
    assert joined["gender"].null_count() == 0
    gender = report.fairness.attribute("gender")
    assert gender.table["count"].sum() == cases.height
    by_gender = joined.group_by("gender").agg(pl.len()).sort("gender")
    assert gender.table["count"].to_list() == by_gender["len"].to_list()
    assert json.dumps(report.to_json(), allow_nan=False)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.tags: dict[str, int] = {}
        self.img_labels: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
        if a.get("role") == "img":
            self.img_labels.append(a.get("aria-label") or "")


def test_world_report_html_is_self_contained_and_accessible(
    world_report: tuple[Report, pl.DataFrame, pl.DataFrame],
) -> None:
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    report = world_report[0]
    html = report.to_html()
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert all("src" not in s for s in parser.scripts)
    assert "<script src" not in html.lower()
    assert 'src="http' not in html and "src='http" not in html
    # plotly.js from the installed package, embedded exactly once.
    assert html.count(get_plotlyjs()[:2000]) == 1
    assert parser.tags["h1"] == 1 and parser.tags["h2"] >= 8
    assert parser.tags["table"] == parser.tags["caption"]
    assert parser.img_labels and all(label.strip() for label in parser.img_labels)
    assert parser.tags["figure"] == len(parser.img_labels)
    assert 'lang="en"' in html
    for heading in (
        "ROC curve and KS",
        "Calibration",
        "Stability (PSI and CSI)",
        "Lift and gains",
        "Champion versus challenger",
        "Out of time, by vintage",
        "Fairness by protected group",
    ):
        assert heading in html
