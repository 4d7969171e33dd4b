"""Rule segments as data (autofin.segments.rules): loading, every error path with file and line,
priorities and overlaps, null handling, the demo scheme on a small synthetic world, and the two
evaluators (Python closures, polars expressions) agreeing on every row."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autofin.catalog.loader import default_catalogue_dir, load_catalogue_with_extras
from autofin.errors import ValidationError
from autofin.segments.rules import (
    SchemeError,
    SegmentScheme,
    applicant_fields,
    check_catalogue_segments,
    condition_text,
    default_scheme_path,
    load_scheme,
    parse_scheme,
)

SEG = {"label": {"en": "x", "zh-CN": "x"}, "description": {"en": "x", "zh-CN": "x"}}


def scheme_yaml(body: str) -> str:
    return 'version: "t1"\ndimensions:\n' + textwrap.indent(textwrap.dedent(body), "  ")


def write_scheme(tmp_path: Path, body: str) -> Path:
    file = tmp_path / "scheme.yaml"
    file.write_text(scheme_yaml(body), encoding="utf-8")
    return file


def load_error(tmp_path: Path, body: str) -> SchemeError:
    file = write_scheme(tmp_path, body)
    with pytest.raises(SchemeError) as info:
        load_scheme(file)
    return info.value


def line_of(path: Path, needle: str) -> int:
    for i, row in enumerate(path.read_text().splitlines(), start=1):
        if needle in row:
            return i
    raise AssertionError(needle)


def one_dimension(segments: str, mode: str = "exclusive") -> str:
    return f"""\
- key: d
  label: {{en: D, zh-CN: D}}
  mode: {mode}
  segments:
{textwrap.indent(textwrap.dedent(segments), "    ")}"""


def seg(key: str, *, priority: int | None = None, when: str | None = None, default: bool = False) -> str:
    lines = [f"- key: {key}", "  label: {en: L, zh-CN: L}", "  description: {en: D, zh-CN: D}"]
    if priority is not None:
        lines.append(f"  priority: {priority}")
    if default:
        lines.append("  default: true")
    if when is not None:
        lines.append(f"  when: {when}")
    return "\n".join(lines) + "\n"


# -- the demo scheme -----------------------------------------------------------------------------


def test_demo_scheme_loads_with_its_dimensions() -> None:
    scheme = load_scheme()
    assert scheme.source == "segments/default.yaml"
    assert default_scheme_path() == default_catalogue_dir() / "segments" / "default.yaml"
    assert [d.key for d in scheme.dimensions] == [
        "customer_type",
        "vehicle_type",
        "purpose",
        "credit_tier",
        "income_band",
        "city_tier",
        "area",
        "special_needs",
        "strategy",
    ]
    assert scheme.dimension("special_needs").mode == "tags"
    assert [s.key for s in scheme.dimension("credit_tier").ordered] == [
        "thin_file",
        "prime",
        "near_prime",
        "subprime",
    ]
    assert "gender" not in scheme.fields_read
    with pytest.raises(ValidationError, match="must be one of"):
        scheme.dimension("nope")


def test_demo_strategy_keys_are_catalogue_segments() -> None:
    scheme = load_scheme(catalogue_dir=default_catalogue_dir())
    _, extras = load_catalogue_with_extras()
    assert extras.segments is not None
    assert set(scheme.dimension("strategy").keys) <= set(extras.segments)


def test_catalogue_cross_check_names_the_key(tmp_path: Path) -> None:
    catalogue = tmp_path / "cat"
    catalogue.mkdir()
    (catalogue / "catalogue.yaml").write_text('version: "1"\nsegments: [small_business, value_used]\n')
    with pytest.raises(SchemeError) as info:
        load_scheme(catalogue_dir=catalogue)
    err = info.value
    assert err.field.startswith("dimensions.8.segments.") and err.field.endswith(".key")
    assert err.value in ("prime_professional", "young_urban", "family_mainstream")
    assert err.line == line_of(default_scheme_path(), f"key: {err.value}")
    # no segments list in the catalogue: nothing to check
    (catalogue / "catalogue.yaml").write_text('version: "1"\n')
    check_catalogue_segments(load_scheme(), catalogue)


def demo_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_type": "individual",
        "use": "passenger",
        "condition": "new",
        "thin_file": False,
        "no_file": False,
        "bureau_score": 700,
        "monthly_income": 12_000.0,
        "monthly_debt_payments": 1_000.0,
        "region": "tier2",
        "area": "suburban",
        "powertrain": "ice",
        "vehicle_class": "mid",
        "age": 40,
        "first_time_buyer": False,
    }
    row.update(changes)
    return row


@pytest.mark.parametrize(
    ("changes", "dimension", "expected"),
    [
        ({"bureau_score": None, "no_file": True}, "credit_tier", "thin_file"),
        ({"bureau_score": None}, "credit_tier", "thin_file"),  # null score without the flag
        ({"bureau_score": 800, "thin_file": True}, "credit_tier", "thin_file"),  # thin wins over a score
        ({"bureau_score": 660}, "credit_tier", "prime"),
        ({"bureau_score": 659}, "credit_tier", "near_prime"),
        ({"bureau_score": 620}, "credit_tier", "near_prime"),
        ({"bureau_score": 619}, "credit_tier", "subprime"),
        ({"monthly_income": 4_999.99}, "income_band", "low"),
        ({"monthly_income": 5_000.0}, "income_band", "middle"),
        ({"monthly_income": 15_000.0}, "income_band", "high"),
        ({"monthly_income": 40_000.0}, "income_band", "very_high"),
        ({"customer_type": "fleet"}, "customer_type", "business"),
        ({"customer_type": "government"}, "customer_type", "government"),
        ({"region": "CA"}, "city_tier", "other"),
        ({"use": "commercial"}, "vehicle_type", "commercial"),
        ({"condition": "used"}, "purpose", "used"),
        ({"area": "rural"}, "area", "rural"),
        ({"customer_type": "small_business", "monthly_income": 90_000.0}, "strategy", "small_business"),
        ({"monthly_income": 20_000.0, "vehicle_class": "luxury"}, "strategy", "prime_professional"),
        ({"monthly_income": 30_000.0, "bureau_score": 720}, "strategy", "prime_professional"),
        ({"monthly_income": 30_000.0, "bureau_score": None}, "strategy", "family_mainstream"),
        ({"age": 29}, "strategy", "young_urban"),
        ({"age": 30}, "strategy", "family_mainstream"),
        ({"age": 29, "condition": "used", "area": "urban"}, "strategy", "young_urban"),
        ({"condition": "used", "vehicle_class": "economy"}, "strategy", "value_used"),
        ({"monthly_income": 4_000.0}, "strategy", "value_used"),
    ],
)
def test_demo_cut_offs(changes: dict[str, Any], dimension: str, expected: str) -> None:
    scheme = load_scheme()
    row = demo_row(**changes)
    assert scheme.assign(row)[dimension] == expected
    frame = pl.DataFrame([row], schema=frame_schema(row))
    assert scheme.assign_frame(frame, id_column=None)[f"seg_{dimension}"].to_list() == [expected]


def test_demo_tags_overlap() -> None:
    scheme = load_scheme()
    row = demo_row(powertrain="nev", vehicle_class="luxury", age=24, first_time_buyer=True)
    assert scheme.assign(row)["special_needs"] == ["nev_buyer", "luxury", "young_driver", "first_time_buyer"]
    assert scheme.assign(demo_row(age=25))["special_needs"] == []


def test_explain_names_the_condition_and_the_values() -> None:
    scheme = load_scheme()
    row = demo_row(bureau_score=None, no_file=True, monthly_income=4_000.0, age=22, powertrain="nev")
    found = {(e.dimension, e.segment): e.condition for e in scheme.explain(row)}
    assert found[("credit_tier", "thin_file")] == "no_file == true [true] or bureau_score is null [null]"
    assert found[("income_band", "low")] == "default: no other segment matched"
    assert found[("special_needs", "nev_buyer")] == "powertrain == 'nev' ['nev']"
    assert found[("special_needs", "young_driver")] == "age < 25 [22]"
    assert ("special_needs", "luxury") not in found
    assert found[("strategy", "young_urban")].startswith("age < 30 [22] and ")
    assignment = scheme.assign(row)
    for e in scheme.explain(row):
        chosen = assignment[e.dimension]
        assert e.segment == chosen or e.segment in chosen


# -- the demo scheme on a small synthetic world ----------------------------------------------------


@pytest.fixture(scope="module")
def world_frame(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    from autofin.data.synth import load, synthesize
    from autofin.data.world import load_world
    from autofin.segments.features import load_applicant_frame

    out = tmp_path_factory.mktemp("world")
    synthesize(load_world(), applicants=5000, months=12, seed=1, out=out)
    return load_applicant_frame(out), load(out, "segments")


def test_demo_scheme_on_a_synthetic_world(world_frame: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame, truth = world_frame
    scheme = load_scheme()
    out = scheme.assign_frame(frame)
    assert out.height == frame.height
    assert out["applicant_id"].to_list() == frame["applicant_id"].to_list()
    assert out.columns[:2] == ["applicant_id", "seg_customer_type"]
    assert "seg_special_needs__nev_buyer" in out.columns
    # every row: the single-applicant path gives the same answer as the frame path
    for row, seg in zip(frame.iter_rows(named=True), out.iter_rows(named=True), strict=True):
        assert {f"seg_{k}": v for k, v in scheme.assign(row).items()} == {
            k: v for k, v in seg.items() if k.startswith("seg_") and "__" not in k
        }
    # every strategy segment is used, and the rules approximate the true segments well
    assert set(out["seg_strategy"].cast(pl.String)) == set(scheme.dimension("strategy").keys)
    joined = out.join(truth, on="applicant_id")
    agreement = (joined["seg_strategy"].cast(pl.String) == joined["segment"]).mean()
    assert isinstance(agreement, float) and agreement >= 0.85
    # no-file applicants (null score) are all in the thin-file tier
    no_file = out.filter(frame["bureau_score"].is_null())
    assert no_file.height > 0 and set(no_file["seg_credit_tier"].cast(pl.String)) == {"thin_file"}


def test_lazy_frames_stay_lazy(world_frame: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame, _ = world_frame
    scheme = load_scheme()
    lazy = scheme.assign_frame(frame.lazy(), tag_columns=False)
    assert isinstance(lazy, pl.LazyFrame)
    eager = scheme.assign_frame(frame, tag_columns=False)
    assert lazy.collect().equals(eager)
    assert not any("__" in c for c in eager.columns)


# -- error paths: file, line, dotted path, rule ---------------------------------------------------


def test_unknown_field_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    err = load_error(
        tmp_path, one_dimension(seg("a", priority=1, when="{bureau_scor: {gte: 1}}") + seg("b", default=True))
    )
    assert err.field == "dimensions.0.segments.0.when.bureau_scor"
    assert "unknown field" in err.rule and "bureau_score" in err.rule
    assert err.file.endswith("scheme.yaml") and err.line == line_of(tmp_path / "scheme.yaml", "bureau_scor")
    assert "scheme.yaml:" in str(err)


@pytest.mark.parametrize("field", ["gender", "age_band", "ethnicity"])
def test_protected_attributes_are_refused(tmp_path: Path, field: str) -> None:
    when = f"{{any: [{{age: {{lt: 30}}}}, {{{field}: {{eq: x}}}}]}}"
    err = load_error(tmp_path, one_dimension(seg("a", priority=1, when=when) + seg("b", default=True)))
    assert err.field == f"dimensions.0.segments.0.when.any.1.{field}"
    assert "protected" in err.rule


@pytest.mark.parametrize(
    ("when", "path", "rule"),
    [
        ("{age: {greater: 3}}", "age.greater", "unknown operator"),
        ("{age: 30}", "age", "expected {op: value}"),
        ("{area: {eq: 3}}", "area.eq", "type mismatch"),
        ("{area: {eq: downtown}}", "area.eq", "is one of urban, suburban, rural"),
        ("{area: {gt: urban}}", "area.gt", "needs a numeric field"),
        ("{monthly_income: {gte: lots}}", "monthly_income.gte", "type mismatch"),
        ("{monthly_income: {gte: true}}", "monthly_income.gte", "type mismatch"),
        ("{first_time_buyer: {eq: 1}}", "first_time_buyer.eq", "true/false"),
        ("{age: {eq: 24.5}}", "age.eq", "whole number"),
        ("{age: {between: [30, 20]}}", "age.between", "lo < hi"),
        ("{age: {between: [20]}}", "age.between", "[lo, hi]"),
        ("{age: {in: []}}", "age.in", "non-empty list"),
        ("{region: {in: [tier1, 2]}}", "region.in.1", "type mismatch"),
        ("{bureau_score: {is_null: maybe}}", "bureau_score.is_null", "true or false"),
        ("{all: []}", "all", "non-empty list"),
        ("{not: 3}", "not", "non-empty mapping"),
        ("{}", "", "non-empty mapping"),
    ],
)
def test_bad_conditions(tmp_path: Path, when: str, path: str, rule: str) -> None:
    err = load_error(tmp_path, one_dimension(seg("a", priority=1, when=when) + seg("b", default=True)))
    assert err.field == "dimensions.0.segments.0.when" + (f".{path}" if path else "")
    assert rule in err.rule
    assert err.line == line_of(tmp_path / "scheme.yaml", "when:")


def test_duplicate_priority(tmp_path: Path) -> None:
    body = one_dimension(
        seg("a", priority=5, when="{age: {lt: 30}}")
        + seg("b", priority=5, when="{age: {gt: 60}}")
        + seg("c", default=True)
    )
    err = load_error(tmp_path, body)
    assert err.field == "dimensions.0.segments.1.priority"
    assert "duplicate priority" in err.rule and "segments.0" in err.rule
    rows = (tmp_path / "scheme.yaml").read_text().splitlines()
    assert err.line == [i for i, r in enumerate(rows, start=1) if "priority: 5" in r][1]


def test_two_defaults_and_no_default(tmp_path: Path) -> None:
    err = load_error(tmp_path, one_dimension(seg("a", default=True) + seg("b", default=True)))
    assert err.field == "dimensions.0.segments.1.default"
    assert "exactly one default" in err.rule
    err = load_error(tmp_path, one_dimension(seg("a", priority=1, when="{age: {lt: 30}}")))
    assert err.field == "dimensions.0.segments"
    assert "default: true" in err.rule


@pytest.mark.parametrize(
    ("segments", "mode", "field", "rule"),
    [
        (seg("a", priority=1) + seg("b", default=True), "exclusive", "segments.0.when", "needs a condition"),
        (
            seg("a", when="{age: {lt: 3}}") + seg("b", default=True),
            "exclusive",
            "segments.0.priority",
            "needs a priority",
        ),
        (seg("a", priority=1, default=True), "exclusive", "segments.0.priority", "takes no priority"),
        (seg("a", default=True, when="{age: {lt: 3}}"), "exclusive", "segments.0.when", "takes no condition"),
        (
            seg("a", when="{age: {lt: 3}}") + seg("a", when="{age: {gt: 3}}"),
            "tags",
            "segments.1.key",
            "duplicate segment key",
        ),
        (
            seg("a", priority=1, when="{age: {lt: 3}}"),
            "tags",
            "segments.0.priority",
            "do not take a priority",
        ),
        (seg("a", default=True), "tags", "segments.0.default", "no default"),
        (seg("a"), "tags", "segments.0.when", "needs a condition"),
    ],
)
def test_dimension_rules(tmp_path: Path, segments: str, mode: str, field: str, rule: str) -> None:
    err = load_error(tmp_path, one_dimension(segments, mode))
    assert err.field == f"dimensions.0.{field}"
    assert rule in err.rule


def test_structure_errors(tmp_path: Path) -> None:
    body = one_dimension(seg("a", default=True))
    err = load_error(tmp_path, body + body)
    assert err.field == "dimensions.1.key" and "duplicate dimension key" in err.rule
    err = load_error(tmp_path, one_dimension(seg("a", default=True), mode="multi"))
    assert err.field == "dimensions.0.mode"
    err = load_error(tmp_path, one_dimension(seg("A-b", default=True)))
    assert err.field == "dimensions.0.segments.0.key"
    err = load_error(tmp_path, one_dimension(seg("a", default=True) + "  colour: red\n"))
    assert err.field == "dimensions.0.segments.0.colour" and "Extra inputs" in err.rule
    file = tmp_path / "broken.yaml"
    file.write_text('version: "1"\ndimensions: [\n  - key: a\n')
    with pytest.raises(SchemeError) as info:
        load_scheme(file)
    assert info.value.file.endswith("broken.yaml") and info.value.line >= 2
    with pytest.raises(SchemeError, match="is not a segmentation scheme file"):
        load_scheme(tmp_path / "missing.yaml")
    with pytest.raises(SchemeError, match="dimensions"):
        parse_scheme({"version": "1", "dimensions": []})


# -- evaluation semantics --------------------------------------------------------------------------

PRIORITY_SCHEME = one_dimension(
    seg("low", priority=1, when="{age: {gte: 18}}")
    + seg("high", priority=9, when="{age: {gte: 60}}")
    + seg("mid", priority=5, when="{age: {gte: 40}}")
    + seg("rest", default=True)
)


def test_highest_priority_wins_whatever_the_order_written(tmp_path: Path) -> None:
    scheme = load_scheme(write_scheme(tmp_path, PRIORITY_SCHEME))
    assert [s.key for s in scheme.dimension("d").ordered] == ["high", "mid", "low", "rest"]
    assert [scheme.assign({"age": a})["d"] for a in (17, 18, 40, 59, 60, None)] == [
        "rest",
        "low",
        "mid",
        "mid",
        "high",
        "rest",
    ]


def test_null_handling() -> None:
    def one(when: dict[str, Any]) -> SegmentScheme:
        return parse_scheme(
            {"version": "1", "dimensions": [{"key": "d", "label": SEG["label"], "mode": "tags",
                                             "segments": [{"key": "hit", **SEG, "when": when}]}]}
        )  # fmt: skip

    for when, expected in [
        ({"bureau_score": {"gte": 600}}, False),
        ({"bureau_score": {"lt": 600}}, False),
        ({"bureau_score": {"ne": 600}}, False),
        ({"bureau_score": {"not_in": [600]}}, False),
        ({"bureau_score": {"between": [0, 900]}}, False),
        ({"not": {"bureau_score": {"gte": 600}}}, True),
        ({"bureau_score": {"is_null": True}}, True),
        ({"bureau_score": {"is_null": False}}, False),
    ]:
        scheme = one(when)
        got = scheme.assign({"bureau_score": None})["d"] == ["hit"]
        frame = pl.DataFrame({"bureau_score": [None]}, schema={"bureau_score": pl.Int64})
        assert got is expected, when
        assert scheme.assign_frame(frame, id_column=None)["seg_d__hit"].to_list() == [expected], when
    # NaN in a number field is null, too
    nan_is_null = one({"monthly_income": {"is_null": True}})
    assert nan_is_null.assign({"monthly_income": math.nan})["d"] == ["hit"]
    assert one({"monthly_income": {"ne": 1.0}}).assign({"monthly_income": math.nan})["d"] == []
    # derived fields: null when an input is null or the income is not positive
    dti = one({"debt_to_income": {"is_null": True}})
    for row in (
        {"monthly_debt_payments": 1.0, "monthly_income": None},
        {"monthly_debt_payments": 1.0, "monthly_income": 0.0},
    ):
        assert dti.assign(row)["d"] == ["hit"]
    assert dti.assign({"monthly_debt_payments": 1.0, "monthly_income": 4.0})["d"] == []


def test_missing_fields_and_wrong_types_are_refused() -> None:
    scheme = load_scheme()
    row = demo_row()
    del row["bureau_score"]
    with pytest.raises(ValidationError, match="bureau_score"):
        scheme.assign(row)
    with pytest.raises(ValidationError, match="wrong type"):
        scheme.assign(demo_row(age="forty"))
    full = demo_row()
    frame = pl.DataFrame([full], schema=frame_schema(full))
    with pytest.raises(ValidationError, match="applicant_id"):
        scheme.assign_frame(frame)
    with pytest.raises(ValidationError) as info:
        scheme.assign_frame(frame.drop("region"), id_column=None)
    assert info.value.value == ["region"]
    with pytest.raises(ValidationError, match="must be a column of integer values"):
        scheme.assign_frame(frame.with_columns(pl.col("age").cast(pl.String)), id_column=None)


def test_condition_text() -> None:
    scheme = parse_scheme(
        {"version": "1", "dimensions": [{"key": "d", "label": SEG["label"], "mode": "tags", "segments": [
            {"key": "a", **SEG, "when": {"age": {"between": [18, 25]}, "region": {"not_in": ["tier1", "tier2"]},
                                          "not": {"any": [{"bureau_score": {"is_null": True}},
                                                          {"debt_to_income": {"gt": 0.4}}]}}}]}]}
    )  # fmt: skip
    when = scheme.dimension("d").segments[0].when
    assert when is not None
    assert condition_text(when) == (
        "18 <= age < 25 and region not in ['tier1', 'tier2'] and "
        "not (bureau_score is null or debt_to_income > 0.4)"
    )


# -- the two evaluators agree (property test) -----------------------------------------------------

PROPERTY_SCHEME = {
    "version": "p1",
    "dimensions": [
        {"key": "tier", "label": SEG["label"], "mode": "exclusive", "segments": [
            {"key": "thin", **SEG, "priority": 9,
             "when": {"any": [{"thin_file": {"eq": True}}, {"bureau_score": {"is_null": True}}]}},
            {"key": "prime", **SEG, "priority": 8, "when": {"bureau_score": {"gte": 660}}},
            {"key": "near", **SEG, "priority": 7, "when": {"bureau_score": {"between": [620, 660]}}},
            {"key": "sub", **SEG, "default": True}]},
        {"key": "afford", "label": SEG["label"], "mode": "exclusive", "segments": [
            {"key": "stretched", **SEG, "priority": 3,
             "when": {"any": [{"debt_to_income": {"gt": 0.4}}, {"price_to_income": {"gte": 1.5}}]}},
            {"key": "unknown", **SEG, "priority": 2, "when": {"debt_to_income": {"is_null": True}}},
            {"key": "ok", **SEG, "default": True}]},
        {"key": "place", "label": SEG["label"], "mode": "exclusive", "segments": [
            {"key": "big", **SEG, "priority": 2, "when": {"region": {"in": ["tier1", "tier2"]}}},
            {"key": "small", **SEG, "priority": 1, "when": {"region": {"eq": "tier3"}}},
            {"key": "other", **SEG, "default": True}]},
        {"key": "flags", "label": SEG["label"], "mode": "tags", "segments": [
            {"key": "young", **SEG, "when": {"age": {"lt": 25}}},
            {"key": "not_young", **SEG, "when": {"not": {"age": {"lt": 25}}}},
            {"key": "mid_age", **SEG, "when": {"age": {"gte": 30, "lte": 50}}},
            {"key": "income_ne", **SEG, "when": {"monthly_income": {"ne": 5000}}},
            {"key": "income_in", **SEG, "when": {"monthly_income": {"in": [5000, 15000.5]}}},
            {"key": "income_out", **SEG, "when": {"monthly_income": {"not_in": [5000]}}},
            {"key": "income_null", **SEG, "when": {"monthly_income": {"is_null": True}}},
            {"key": "has_income", **SEG, "when": {"monthly_income": {"is_null": False}}},
            {"key": "age_in", **SEG, "when": {"age": {"in": [24, 25]}, "region": {"ne": "tier1"}}},
            {"key": "age_out", **SEG, "when": {"age": {"not_in": [24]}}},
            {"key": "ftb", **SEG, "when": {"first_time_buyer": {"ne": False}}},
            {"key": "ftb_eq", **SEG, "when": {"first_time_buyer": {"eq": True}}},
            {"key": "area_not", **SEG, "when": {"area": {"not_in": ["urban"]}}},
            {"key": "three", **SEG, "when": {"all": [{"age": {"gt": 20}}, {"age": {"lte": 60}},
                                                      {"bureau_score": {"lt": 700}}]}},
            {"key": "either", **SEG, "when": {"any": [{"age": {"gt": 70}}, {"area": {"eq": "rural"}},
                                                       {"thin_file": {"eq": False}}]}}]},
    ],
}  # fmt: skip

COLUMNS: dict[str, tuple[pl.DataType, st.SearchStrategy[Any]]] = {
    "age": (pl.Int64(), st.one_of(st.none(), st.sampled_from([18, 24, 25, 29, 30, 50, 51, 60, 61, 71]), st.integers(18, 90))),
    "bureau_score": (pl.Int64(), st.one_of(st.none(), st.sampled_from([619, 620, 659, 660, 699, 700, 720]), st.integers(300, 900))),
    "thin_file": (pl.Boolean(), st.one_of(st.none(), st.booleans())),
    "no_file": (pl.Boolean(), st.booleans()),
    "first_time_buyer": (pl.Boolean(), st.one_of(st.none(), st.booleans())),
    "monthly_income": (pl.Float64(), st.one_of(st.none(), st.just(math.nan), st.sampled_from([0.0, 4999.99, 5000.0, 15000.0, 15000.5, 40000.0, 20000.0, 30000.0]), st.floats(-10.0, 1e6, allow_nan=False))),
    "monthly_debt_payments": (pl.Float64(), st.one_of(st.none(), st.just(math.nan), st.sampled_from([0.0, 2000.0, 6000.0]), st.floats(0.0, 1e5, allow_nan=False))),
    "price": (pl.Float64(), st.one_of(st.none(), st.sampled_from([30000.0, 90000.0, 360000.0]), st.floats(1.0, 2e6, allow_nan=False))),
    "region": (pl.String(), st.one_of(st.none(), st.sampled_from(["tier1", "tier2", "tier3", "tier4", "CA"]))),
    "area": (pl.String(), st.one_of(st.none(), st.sampled_from(["urban", "suburban", "rural"]))),
    "customer_type": (pl.String(), st.sampled_from(["individual", "small_business", "fleet", "government"])),
    "use": (pl.String(), st.sampled_from(["passenger", "commercial"])),
    "condition": (pl.String(), st.one_of(st.none(), st.sampled_from(["new", "used"]))),
    "vehicle_class": (pl.String(), st.sampled_from(["economy", "mid", "luxury"])),
    "powertrain": (pl.String(), st.sampled_from(["ice", "hybrid", "nev"])),
}  # fmt: skip


def frame_schema(row: dict[str, Any]) -> dict[str, pl.DataType]:
    return {k: COLUMNS[k][0] for k in row}


def assert_agree(scheme: SegmentScheme, rows: list[dict[str, Any]]) -> None:
    frame = pl.DataFrame(rows, schema={k: v[0] for k, v in COLUMNS.items()}).with_row_index("applicant_id")
    out = scheme.assign_frame(frame)
    for row, got in zip(rows, out.iter_rows(named=True), strict=True):
        expected = scheme.assign(row)
        for dim in scheme.dimensions:
            assert got[f"seg_{dim.key}"] == expected[dim.key], (dim.key, row)
            if dim.mode == "tags":
                tags = expected[dim.key]
                assert [k for k in dim.keys if got[f"seg_{dim.key}__{k}"]] == tags


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({k: v[1] for k, v in COLUMNS.items()}), min_size=1, max_size=40))
def test_python_and_polars_agree(rows: list[dict[str, Any]]) -> None:
    assert_agree(parse_scheme(PROPERTY_SCHEME), rows)
    assert_agree(load_scheme(), rows)


def test_field_table_comes_from_the_schemas() -> None:
    fields = applicant_fields()
    assert fields["area"].values == ("urban", "suburban", "rural")
    assert fields["bureau_score"].kind == "integer" and fields["bureau_score"].nullable
    assert fields["debt_to_income"].inputs == ("monthly_debt_payments", "monthly_income")
    assert not {"gender", "age_band", "ethnicity", "applicant_id", "application_date"} & set(fields)
