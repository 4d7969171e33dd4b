"""Learned segments: encoding, k selection, determinism, stable names, round trip and errors."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from autofin.errors import ValidationError
from autofin.segments.learned import Encoder, SegmentModel

NUM = ("income", "age", "score")
CAT = ("area", "is_new")


def toy(n_per: int = 120, seed: int = 0, missing_every: int = 17) -> tuple[pl.DataFrame, np.ndarray]:
    """Three obvious groups: (poor, young, rural, used), (mid, middle-aged, suburban), (rich, old, urban, new).

    Every ``missing_every``-th score is null (0: none). The groups are so tight that the missing-score
    indicator splits each of them reproducibly: in the encoded space there are then six clusters.
    """
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(3), [n_per * 2, n_per, n_per // 2])
    rng.shuffle(groups)
    income = np.array([4_000.0, 15_000.0, 60_000.0])[groups] * np.exp(rng.normal(0, 0.1, groups.size))
    age = np.array([25.0, 42.0, 60.0])[groups] + rng.normal(0, 2, groups.size)
    score = np.array([600.0, 700.0, 800.0])[groups] + rng.normal(0, 10, groups.size)
    area = np.array(["rural", "suburban", "urban"])[groups]
    frame = pl.DataFrame(
        {
            "income": income,
            "age": age,
            "score": pl.Series(score.round().astype(np.int64)),
            "area": area,
            "is_new": groups == 2,
        }
    ).with_columns(
        pl.when((pl.int_range(pl.len()) % max(missing_every, 1) == 0) & (missing_every > 0))
        .then(None)
        .otherwise(pl.col("score"))
        .alias("score")
    )
    return frame, groups


def model(**kw: object) -> SegmentModel:
    params: dict[str, object] = {
        "features": NUM,
        "categorical": CAT,
        "log_columns": ("income",),
        "n_init": 3,
        "random_state": 3,
        "k_range": (2, 6),
    }
    params.update(kw)
    return SegmentModel(**params)  # type: ignore[arg-type]


def test_encoding_logs_money_standardises_numerics_and_keeps_one_hot_at_fixed_weight() -> None:
    frame, _ = toy()
    enc = Encoder.fit(frame, NUM, CAT, ("income",), categorical_weight=1.5)
    x = enc.transform(frame)
    assert enc.columns == [
        "income", "age", "score", "score_missing", "area=rural", "area=suburban", "area=urban",
        "is_new=false", "is_new=true",
    ]  # fmt: skip
    assert x.shape == (frame.height, len(enc.columns))
    log_income = np.log1p(frame["income"].to_numpy())
    assert np.allclose(x[:, 0], (log_income - log_income.mean()) / log_income.std())
    assert abs(x[:, 1].mean()) < 1e-9 and abs(x[:, 1].std() - 1) < 1e-9
    nulls = frame["score"].is_null().to_numpy()
    assert nulls.any() and np.all(x[nulls, 2] == 0.0)  # nulls sit at the mean …
    assert np.array_equal(x[:, 3], nulls.astype(float))  # … and the indicator says so, at 0/1
    assert set(np.unique(x[:, 4:])) == {0.0, 1.5}
    assert np.all(x[:, 4:7].sum(1) == 1.5)  # exactly one level per row
    unseen = frame.head(1).with_columns(pl.lit("mars").alias("area"))
    assert np.all(enc.transform(unseen)[0, 4:7] == 0.0)


def test_k_is_chosen_from_the_data_and_the_selection_table_is_recorded() -> None:
    frame, groups = toy(missing_every=0)
    m = model().fit(frame)
    assert m.n_clusters_ == 3
    assert [r["k"] for r in m.selection_] == [2, 3, 4, 5, 6]
    assert {"k", "stability", "silhouette", "bic", "inertia"} <= set(m.selection_[0])
    stable = [r["k"] for r in m.selection_ if r["stability"] >= m.stability_threshold]
    assert max(stable) == 3  # the default criterion: the largest reproducible k
    best = max(m.selection_, key=lambda r: r["silhouette"])
    assert best["k"] == 3
    assert model(selection="silhouette").fit(frame).n_clusters_ == 3
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(groups, m.predict(frame)) == pytest.approx(1.0)
    assert model(selection="bic").fit(frame).n_clusters_ >= 3


def test_names_are_ordered_by_size_and_predict_is_vectorised() -> None:
    frame, _ = toy()
    m = model(n_clusters=3).fit(frame)
    assert m.names_ == ["C1", "C2", "C3"]
    sizes = np.bincount(m.predict(frame))
    assert list(sizes) == sorted(sizes, reverse=True)
    labels = m.predict_labels(frame)
    assert labels.name == "segment" and labels.dtype == pl.String
    assert labels.to_list() == [m.names_[i] for i in m.predict(frame)]
    assert np.array_equal(m.labels_, m.predict(frame))


def test_same_seed_same_model() -> None:
    frame, _ = toy()
    a, b = model().fit(frame), model().fit(frame)
    assert a.to_dict() == b.to_dict()


def test_reference_keeps_names_when_retrained_on_other_customers() -> None:
    first, _ = toy(seed=1)
    second, _ = toy(seed=2)
    third, _ = toy(seed=3)
    a = model(n_clusters=3).fit(first)
    # a different seed and data may order clusters differently; the reference maps them back
    b = model(n_clusters=3, random_state=11).fit(second, reference=a)
    assert (a.predict_labels(third) == b.predict_labels(third)).all()
    # a fourth cluster has no counterpart: it gets a fresh name, the others keep theirs
    c = model(n_clusters=4, random_state=5).fit(second, reference=a)
    assert set(c.names_) == {"C1", "C2", "C3", "C4"}


def test_descriptions_name_distinguishing_features_with_numbers_in_both_languages() -> None:
    frame, _ = toy()
    m = model(n_clusters=3).fit(frame)
    en, zh = m.describe(), m.describe("zh-CN")
    assert set(en) == set(zh) == {"C1", "C2", "C3"}
    rich = m.names_[int(np.argmax(m.centroids_[:, 0]))]
    assert "higher income (mean" in en[rich] or "more often" in en[rich] or "mostly" in en[rich]
    assert any(ch.isdigit() for ch in en[rich]) and " vs " in en[rich]
    assert "总体" in zh[rich]
    young = m.names_[int(np.argmin(m.centroids_[:, 1]))]
    assert "younger (mean age 2" in m.describe()[young] or "rural" in m.describe()[young]


def test_round_trip_through_json_predicts_identically() -> None:
    frame, _ = toy()
    m = model().fit(frame)
    data = json.loads(json.dumps(m.to_dict()))
    back = SegmentModel.from_dict(data)
    assert np.array_equal(back.predict(frame), m.predict(frame))
    assert back.describe("zh-CN") == m.describe("zh-CN")
    assert back.selection_ == m.selection_ and back.n_clusters_ == m.n_clusters_
    assert data["descriptions"]["en"] == m.describe()


def test_protected_columns_are_refused() -> None:
    frame, _ = toy()
    with pytest.raises(ValidationError) as err:
        model(categorical=(*CAT, "gender")).fit(frame.with_columns(pl.lit("female").alias("gender")))
    assert err.value.field == "categorical"
    with pytest.raises(ValidationError):
        model(features=(*NUM, "age_band")).fit(frame)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"k_range": (1, 4)}, "k_range"),
        ({"k_range": (5, 3)}, "k_range"),
        ({"selection": "elbow"}, "selection"),
        ({"categorical_weight": -1.0}, "categorical_weight"),
        ({"n_init": 0}, "n_init"),
        ({"n_describe": 0}, "n_describe"),
        ({"categorical": ("area", "age")}, "categorical"),
    ],
)
def test_bad_parameters_name_the_field(params: dict[str, object], field: str) -> None:
    frame, _ = toy()
    with pytest.raises(ValidationError) as err:
        model(**params).fit(frame)
    assert err.value.field == field


def test_bad_input_names_the_column() -> None:
    frame, _ = toy()
    with pytest.raises(ValidationError, match="age"):
        model().fit(frame.drop("age"))
    with pytest.raises(ValidationError, match="at least one row"):
        model().fit(frame.head(0))
    m = model(n_clusters=3).fit(frame)
    with pytest.raises(ValidationError) as err:
        m.predict(frame.drop("area"))
    assert err.value.field == "frame.area"
    with pytest.raises(ValidationError, match="numeric"):
        m.predict(frame.with_columns(pl.lit("x").alias("age")))
    with pytest.raises(ValidationError, match="fitted"):
        SegmentModel().predict(frame)
    with pytest.raises(ValidationError, match="lang"):
        m.describe("fr")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="more rows"):
        model(k_range=(2, 6)).fit(frame.head(5))
