"""Value-added services in the synthetic world (``services`` table) and the planted catalogue gap.

The services draw comes from its own random stream, so adding it (or changing its probabilities)
leaves every other table exactly as it was; each booked loan attaches each kind with its true
segment's probability (docs/data-credit.md §7). The planted gap (``population.gaps``) names a segment
whose used cars are older than any demo-catalogue product finances (docs/data-population.md).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from autofin.catalog.models import ServiceKind
from autofin.data import schemas
from autofin.data.credit import generate_credit, ground_truth
from autofin.data.population import generate_population, parse_population_world
from autofin.data.world import World, load_world, parse_world
from autofin.errors import ValidationError

ROOT = Path(__file__).parents[2]
N = 40_000


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


@pytest.fixture(scope="module")
def tables(world: World) -> dict[str, pl.DataFrame]:
    pop = generate_population(world.population, N, 21, world.world.start_date, world.world.application_months)
    return pop | generate_credit(world.credit, pop, 22, 12)


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "src/autofin/data/worlds/default.yaml").read_text())
    return data


# ---------------------------------------------------------------- services


def test_service_kinds_are_the_catalogue_kinds() -> None:
    assert set(schemas.SERVICE_KINDS) == {k.value for k in ServiceKind}


def test_services_table_fits_its_schema_and_the_price_rules(
    world: World, tables: dict[str, pl.DataFrame]
) -> None:
    services = schemas.validate("services", tables["services"])
    assert services.schema == {"loan_id": pl.Int64, "service": pl.String, "price": pl.Float64}
    assert services.height > 0
    loans = tables["loans"]
    assert set(services["loan_id"].unique().to_list()) <= set(loans["loan_id"].to_list())
    assert services.select("loan_id", "service").is_unique().all()
    assert services["loan_id"].is_sorted()
    spec = world.credit.services
    assert spec is not None
    assert set(services["service"].unique().to_list()) == set(spec.price)
    joined = services.join(loans.select("loan_id", "applicant_id", "term_months"), on="loan_id").join(
        tables["vehicles"].select("applicant_id", "price"), on="applicant_id", suffix="_vehicle"
    )
    for kind, rule in spec.price.items():
        rows = joined.filter(pl.col("service") == kind)
        if rule.flat is not None:
            expected = pl.lit(rule.flat)
        elif rule.pct_of_price is not None:
            expected = pl.col("price_vehicle") * rule.pct_of_price
        else:
            expected = pl.col("term_months") * (rule.per_term_year or 0.0) / 12.0
        gap = rows.select((pl.col("price") - expected.round(2)).abs().max()).item()
        assert gap < 1e-6, kind


def test_services_schema_rejects_unknown_kinds_and_duplicates() -> None:
    good = pl.DataFrame({"loan_id": [1, 1], "service": ["roadside", "maintenance"], "price": [399.0, 4800.0]})
    schemas.validate("services", good)
    with pytest.raises(ValidationError, match="services"):
        schemas.validate("services", good.with_columns(pl.lit("spa_day").alias("service")))
    with pytest.raises(ValidationError, match="services"):
        schemas.validate("services", pl.concat([good, good.head(1)]))


def test_attach_rate_per_segment_and_kind_matches_the_truth(
    world: World, tables: dict[str, pl.DataFrame]
) -> None:
    """Observed attach rate within 4 binomial standard errors of the true probability in every cell."""
    truth = ground_truth(world.credit)["services"]["attach_probability"]
    loans = tables["loans"].join(tables["segments"], on="applicant_id")
    n_by_seg = dict(loans.group_by("segment").len().iter_rows())
    counts = {
        (seg, kind): n
        for seg, kind, n in tables["services"]
        .join(loans.select("loan_id", "segment"), on="loan_id")
        .group_by("segment", "service")
        .len()
        .iter_rows()
    }
    for seg, probs in truth.items():
        n = n_by_seg[seg]
        assert n > 1_000, seg
        for kind, p in probs.items():
            se = math.sqrt(p * (1 - p) / n)
            rate = counts.get((seg, kind), 0) / n
            assert abs(rate - p) <= 4 * se, (seg, kind, rate, p)


def test_segments_differ_in_their_attach_probabilities(world: World) -> None:
    spec = world.credit.services
    assert spec is not None
    rows = [tuple(p.values()) for p in spec.attach_probability.values()]
    assert len(set(rows)) == len(rows)
    assert set(spec.attach_probability) == {s.key for s in world.population.segments}


def test_same_seed_same_services_and_other_tables_do_not_depend_on_them(
    world: World, tables: dict[str, pl.DataFrame]
) -> None:
    pop = {k: tables[k] for k in ("applicants", "bureau", "vehicles", "segments")}
    again = generate_credit(world.credit, pop, 22, 12)
    assert again["services"].equals(tables["services"])
    other_seed = generate_credit(world.credit, pop, 23, 12)
    assert not other_seed["services"].equals(tables["services"])
    # The services stream is a new child of the seed: dropping or changing the services section leaves
    # every other table unchanged, bit for bit.
    spec = world.credit.services
    assert spec is not None
    doubled = spec.model_copy(
        update={
            "attach_probability": {
                s: {k: p / 2 for k, p in ps.items()} for s, ps in spec.attach_probability.items()
            }
        }
    )
    for variant in (
        world.credit.model_copy(update={"services": None}),
        world.credit.model_copy(update={"services": doubled}),
    ):
        out = generate_credit(variant, pop, 22, 12)
        for name in ("quotes", "loans", "performance", "truth_defaults", "truth_takeup"):
            assert out[name].equals(tables[name]), name
    no_services = generate_credit(world.credit.model_copy(update={"services": None}), pop, 22, 12)["services"]
    assert no_services.height == 0
    schemas.validate("services", no_services)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (lambda s: s["price"].update({"spa_day": {"flat": 1.0}}), "credit.services"),
        (lambda s: s["price"].update({"roadside": {"flat": 399, "pct_of_price": 0.01}}), "credit.services"),
        (lambda s: s["attach_probability"]["value_used"].pop("roadside"), "credit.services"),
        (lambda s: s["attach_probability"]["value_used"].update({"roadside": 1.5}), "credit.services"),
        (
            lambda s: s["attach_probability"].update({"martians": s["attach_probability"]["value_used"]}),
            "credit",
        ),
    ],
)
def test_bad_services_section_is_refused(patch: Any, field: str) -> None:
    raw = _raw()
    patch(raw["credit"]["services"])
    with pytest.raises(ValidationError) as exc:
        parse_world(raw)
    assert exc.value.field.startswith(field)


def test_a_world_without_services_still_loads() -> None:
    raw = _raw()
    del raw["credit"]["services"]
    world = parse_world(raw)
    assert world.credit.services is None
    assert ground_truth(world.credit)["services"] is None


# ---------------------------------------------------------------- the planted gap


def _max_used_age_financed() -> int:
    """The oldest used car any CN demo product finances (eligibility.vehicle.max_age_years)."""
    oldest = 0
    for path in sorted((ROOT / "catalog" / "products").glob("cn-*.yaml")):
        vehicle = (yaml.safe_load(path.read_text()).get("eligibility") or {}).get("vehicle") or {}
        if "used" in vehicle.get("condition", ["new", "used"]):
            assert "max_age_years" in vehicle, path.name  # a used product without an age limit closes the gap
            oldest = max(oldest, int(vehicle["max_age_years"]))
    return oldest


def test_the_planted_gap_is_recorded_and_real(world: World, tables: dict[str, pl.DataFrame]) -> None:
    gaps = world.population.gaps
    assert [g.segment for g in gaps] == ["value_used"]
    assert gaps[0].need.en and gaps[0].need.zh_cn and gaps[0].evidence
    oldest = _max_used_age_financed()
    assert oldest == 8
    used = (
        tables["vehicles"]
        .join(tables["segments"], on="applicant_id")
        .filter(pl.col("condition") == "used")
        .group_by("segment")
        .agg(
            (pl.col("age_years") > oldest).mean().alias("too_old"), pl.col("age_years").max().alias("max_age")
        )
    )
    too_old = dict(used.select("segment", "too_old").iter_rows())
    assert too_old["value_used"] > 0.75  # most of the segment's used cars: about 84 % by design
    for seg, share in too_old.items():
        if seg != "value_used":
            assert share < 0.05, seg
    assert used["max_age"].to_numpy().max() <= 25  # the vehicles schema's bound
    # the planted segment is a large one: about 0.23 × 0.88 ≈ 20 % of applicants want such a car
    n_gap = (
        tables["vehicles"]
        .join(tables["segments"], on="applicant_id")
        .filter((pl.col("segment") == "value_used") & (pl.col("age_years") > oldest))
        .height
    )
    assert n_gap / N > 0.12
    residual = tables["vehicles"]["residual_36m"]
    # the residual clip (0.02) is not reached even by the oldest cars
    assert residual.to_numpy().min() > 0.02
    assert np.isfinite(tables["vehicles"]["price"].to_numpy()).all()


@pytest.mark.parametrize(
    ("gaps", "rule"),
    [
        ([{"segment": "martians", "need": {"en": "x", "zh-CN": "x"}, "evidence": "x"}], "gaps.0.segment"),
        (
            [{"segment": "value_used", "need": {"en": "x", "zh-CN": "x"}, "evidence": "x"}] * 2,
            "gaps.1.segment",
        ),
        ([{"segment": "value_used", "need": {"en": "x"}, "evidence": "x"}], "gaps.0.need"),
    ],
)
def test_bad_gaps_are_refused(gaps: list[dict[str, Any]], rule: str) -> None:
    raw = _raw()["population"]
    raw["gaps"] = gaps
    with pytest.raises(ValidationError) as exc:
        parse_population_world(raw)
    assert exc.value.field.startswith(f"population.{rule}")


def test_a_gap_must_name_a_segment_of_the_world() -> None:
    """A gap naming a valid segment key that this world does not have is refused too."""
    raw = _raw()["population"]
    dropped = next(s for s in raw["segments"] if s["key"] == "small_business")
    raw["segments"] = [s for s in raw["segments"] if s["key"] != "small_business"]
    raw["segments"][0]["share"] += dropped["share"]
    raw["gaps"] = [{"segment": "small_business", "need": {"en": "x", "zh-CN": "x"}, "evidence": "x"}]
    with pytest.raises(ValidationError) as exc:
        parse_population_world(raw)
    assert exc.value.field == "population.gaps.0.segment"
