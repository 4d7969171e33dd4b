"""The synthetic population: schemas, reproducibility, segment shares, separation, world-file errors."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from autofin.data import schemas
from autofin.data.population import (
    SEGMENT_KEYS,
    PopulationWorld,
    generate_population,
    load_population_world,
    parse_population_world,
)
from autofin.errors import ValidationError

WORLD_FILE = Path(str(resources.files("autofin.data") / "worlds" / "default.yaml"))
START = dt.date(2024, 1, 31)
MONTHS = 12
TABLES = ("applicants", "bureau", "vehicles", "protected", "segments")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORLD_FILE.read_text(encoding="utf-8"))["population"]
    return data


@pytest.fixture(scope="module")
def world() -> PopulationWorld:
    return load_population_world(WORLD_FILE)


@pytest.fixture(scope="module")
def tables(world: PopulationWorld) -> dict[str, pl.DataFrame]:
    return generate_population(world, 20_000, 123, START, MONTHS, first_id=1_000)


def test_packaged_world_has_the_five_segments(world: PopulationWorld) -> None:
    assert [s.key for s in world.segments] == list(SEGMENT_KEYS)
    assert world.currency == "CNY" and world.jurisdiction == "CN"
    assert world.segment("value_used").label.zh_cn


@pytest.mark.parametrize("name", ["applicants", "bureau", "vehicles", "protected"])
def test_tables_validate_against_declared_schemas(tables: dict[str, pl.DataFrame], name: str) -> None:
    schemas.validate(name, tables[name])
    assert tables[name].height == 20_000


def test_segments_table_is_the_ground_truth(tables: dict[str, pl.DataFrame]) -> None:
    seg = tables["segments"]
    assert seg.schema == pl.Schema({"applicant_id": pl.Int64, "segment": pl.String})
    assert set(seg["segment"].unique()) == set(SEGMENT_KEYS)


def test_ids_and_application_dates(tables: dict[str, pl.DataFrame]) -> None:
    for name in TABLES:
        assert tables[name]["applicant_id"].to_list() == list(range(1_000, 21_000))
    dates = tables["applicants"]["application_date"]
    assert dates.min() == START  # 20k draws over 366 days: the first day is hit
    # 12 calendar months from 31 Jan 2024 end on 31 Jan 2025 (exclusive).
    assert dates.max() == dt.date(2025, 1, 30)
    by_month = dates.dt.month().value_counts()
    assert by_month["count"].min() > 20_000 / 12 * 0.8


def test_ethnicity_is_null_in_cn(tables: dict[str, pl.DataFrame]) -> None:
    prot = tables["protected"]
    assert prot["ethnicity"].null_count() == prot.height
    assert prot["ethnicity"].dtype == pl.String


def test_internal_consistency(tables: dict[str, pl.DataFrame], world: PopulationWorld) -> None:
    a, b, v, p = (tables[k] for k in ("applicants", "bureau", "vehicles", "protected"))
    assert b.filter(pl.col("no_file"))["bureau_score"].null_count() == b["no_file"].sum()
    assert b.filter(~pl.col("no_file"))["bureau_score"].null_count() == 0
    assert not (b["no_file"] & b["thin_file"]).any()
    # A mortgage is always reported to the bureau.
    assert not (b["no_file"] & (a["residence_type"] == "mortgage")).any()
    new = v.filter(pl.col("condition") == "new")
    assert (new["age_years"] == 0).all() and (new["mileage_km"] == 0).all()
    assert (v.filter(pl.col("condition") == "used")["age_years"] >= 1).all()
    assert (a.filter(pl.col("employment_type") == "retired")["age"] >= world.retirement_min_age).all()
    assert (a["employment_tenure_months"] <= (a["age"] - 16) * 12).all()
    bands = {"18-24": (18, 24), "25-34": (25, 34), "35-44": (35, 44), "45-54": (45, 54), "55-64": (55, 64)}
    for band, (lo, hi) in bands.items():
        ages = a.filter(p["age_band"] == band)["age"]
        assert ages.is_empty() or (ages.min() >= lo and ages.max() <= hi)  # type: ignore[operator]


def test_same_seed_gives_identical_frames(world: PopulationWorld) -> None:
    seq = np.random.SeedSequence(2024).spawn(3)[1]
    first = generate_population(world, 5_000, seq, START, MONTHS, first_id=7)
    again = generate_population(world, 5_000, seq, START, MONTHS, first_id=7)  # same object: not consumed
    fresh = generate_population(world, 5_000, np.random.SeedSequence(2024).spawn(3)[1], START, MONTHS, 7)
    for name in TABLES:
        assert first[name].equals(again[name]), name
        assert first[name].equals(fresh[name]), name
    assert generate_population(world, 100, 5, START, MONTHS)["bureau"].equals(
        generate_population(world, 100, 5, START, MONTHS)["bureau"]
    )


def test_different_seed_gives_different_frames(world: PopulationWorld) -> None:
    one = generate_population(world, 2_000, 1, START, MONTHS)
    two = generate_population(world, 2_000, 2, START, MONTHS)
    for name in TABLES:
        assert not one[name].equals(two[name]), name


def test_protected_attributes_drive_no_other_draw(raw: dict[str, Any]) -> None:
    changed = copy.deepcopy(raw)
    for seg in changed["segments"]:
        seg["protected"]["female_share"] = 0.9
    base = generate_population(parse_population_world(raw), 3_000, 11, START, MONTHS)
    other = generate_population(parse_population_world(changed), 3_000, 11, START, MONTHS)
    for name in ("applicants", "bureau", "vehicles", "segments"):
        assert base[name].equals(other[name]), name
    assert not base["protected"].equals(other["protected"])


def test_segment_shares_within_sampling_error(
    tables: dict[str, pl.DataFrame], world: PopulationWorld
) -> None:
    n = tables["segments"].height
    counts = dict(tables["segments"]["segment"].value_counts().iter_rows())
    for seg in world.segments:
        sd = (seg.share * (1 - seg.share) / n) ** 0.5
        assert abs(counts[seg.key] / n - seg.share) < 4 * sd, seg.key


def test_segments_are_recoverable_by_clustering_observable_features(world: PopulationWorld) -> None:
    """Guard for the segment-recovery issue: k-means (k=5) on standardised numeric features and
    one-hot categoricals recovers the true segments with adjusted Rand index ≥ 0.85 (measured ≈ 0.90)."""
    t = generate_population(world, 50_000, 99, START, MONTHS)
    df = t["applicants"].join(t["bureau"], on="applicant_id").join(t["vehicles"], on="applicant_id")
    numeric = df.select(
        pl.col("age").cast(pl.Float64),
        pl.col("monthly_income").log(),
        pl.col("bureau_score").fill_null(pl.col("bureau_score").median()).cast(pl.Float64),
        pl.col("price").log(),
    ).to_numpy()
    numeric = (numeric - numeric.mean(axis=0)) / numeric.std(axis=0)
    categorical = ["region", "area", "channel", "customer_type", "employment_type", "residence_type",
                   "condition", "vehicle_class", "powertrain", "use"]  # fmt: skip
    onehot = df.select(categorical).to_dummies().to_numpy().astype(np.float64)
    flags = df.select(pl.col("first_time_buyer", "thin_file", "no_file").cast(pl.Float64)).to_numpy()
    labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(np.hstack([numeric, onehot, flags]))
    ari = adjusted_rand_score(t["segments"]["segment"].to_numpy(), labels)
    assert ari >= 0.85, ari


def test_segments_differ_as_described(tables: dict[str, pl.DataFrame]) -> None:
    df = pl.concat([tables["applicants"], tables["bureau"].drop("applicant_id"),
                    tables["vehicles"].drop("applicant_id"), tables["segments"].drop("applicant_id")],
                   how="horizontal")  # fmt: skip
    s = df.group_by("segment").agg(
        pl.col("age").mean(),
        pl.col("monthly_income").median(),
        pl.col("bureau_score").mean(),
        (pl.col("condition") == "used").mean().alias("used"),
        (pl.col("use") == "commercial").mean().alias("commercial"),
        (pl.col("channel") == "online").mean().alias("online"),
    )
    row = {r["segment"]: r for r in s.iter_rows(named=True)}
    assert row["young_urban"]["age"] < 30 and row["young_urban"]["online"] > 0.6
    assert row["prime_professional"]["monthly_income"] == max(r["monthly_income"] for r in row.values())
    assert row["prime_professional"]["bureau_score"] == max(r["bureau_score"] for r in row.values())
    assert row["value_used"]["used"] > 0.8 and row["value_used"]["bureau_score"] < 620
    assert row["small_business"]["commercial"] > 0.8


def test_zero_rows(world: PopulationWorld) -> None:
    out = generate_population(world, 0, 1, START, MONTHS)
    for name in ("applicants", "bureau", "vehicles", "protected"):
        schemas.validate(name, out[name])
        assert out[name].height == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n": -1}, "n"),
        ({"months": 0}, "months"),
        ({"first_id": -5}, "first_id"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments_name_the_field(world: PopulationWorld, kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"n": 10, "seed": 1, "start_date": START, "months": MONTHS, "first_id": 0}
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        generate_population(world, **args)
    assert info.value.field == field


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return apply


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_set("segments.0.share", 0.25), "population.segments.share"),
        (_set("segments.1.applicant.age.sd", -2.0), "population.segments.1.applicant.age.sd"),
        (_set("segments.2.bureau.score.sd", 0.0), "population.segments.2.bureau.score.sd"),
        (_set("segments.3.key", "students"), "population.segments.3.key"),
        (_set("segments.4.key", "young_urban"), "population.segments.4.key"),
        (
            _set("segments.0.applicant.region", {"tier1": 0.5, "tier5": 0.5}),
            "population.segments.0.applicant.region",
        ),
        (
            _set("segments.0.applicant.channel", {"online": 0.7, "dealer": 0.2}),
            "population.segments.0.applicant.channel",
        ),
        (
            _set("segments.0.applicant.area", {"urban": 0.9, "downtown": 0.1}),
            "population.segments.0.applicant.area",
        ),
        (
            _set("segments.1.vehicle.powertrain.new", {"ice": 1.2, "nev": -0.2}),
            "population.segments.1.vehicle.powertrain.new",
        ),
        (
            _set("segments.2.applicant.monthly_income.median_by_region", {"tier1": 45000}),
            "population.segments.2.applicant.monthly_income.median_by_region",
        ),
        (_set("segments.0.protected.ethnicity", {"han": 1.0}), "population.segments.0.protected.ethnicity"),
        (_set("segments.0.applicant.age.min", 16), "population.segments.0.applicant.age"),
        (_set("segments.0.bureau.no_file", 1.5), "population.segments.0.bureau.no_file"),
        (_set("segments.0.colour", "red"), "population.segments.0.colour"),
        (_set("currency", "USD"), "population.currency"),
        (
            _set("vehicle_market.depreciation.annual_loss.nev", -0.1),
            "population.vehicle_market.depreciation.annual_loss.nev",
        ),
        (
            _set(
                "vehicle_market.brands",
                [{"use": "passenger", "vehicle_class": None, "powertrain": None, "weights": {"BYD": 1.0}}],
            ),
            "population.vehicle_market.brands",
        ),
    ],
)
def test_bad_world_values_name_the_field(
    raw: dict[str, Any], mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ValidationError) as info:
        parse_population_world(data)
    assert info.value.field == field, info.value.message


def test_load_population_world_errors(tmp_path: Path, raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["segments"][0]["share"] = 0.3
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump({"population": bad}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="sum to 1"):
        load_population_world(path)
    (tmp_path / "other.yaml").write_text("credit: {}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="population"):
        load_population_world(tmp_path / "other.yaml")
    with pytest.raises(ValidationError, match="cannot be read"):
        load_population_world(tmp_path / "missing.yaml")


def test_models_are_frozen(world: PopulationWorld) -> None:
    with pytest.raises(Exception, match="frozen"):
        world.segments[0].share = 0.5  # type: ignore[misc]
