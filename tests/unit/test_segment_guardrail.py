"""Segmentation guardrails (autofin.segments.guardrail): protected inputs refused, proxy check.

Known answers: a labelling independent of an attribute by construction (every segment holds the
groups in the same proportions) has χ² = 0 and V = 0; a labelling equal to the attribute has V = 1
exactly under Bergsma's correction; a hand-computed 2×2 table checks the correction term by term.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from autofin.errors import ValidationError
from autofin.segments.guardrail import cramers_v_corrected, proxy_check, refuse_inputs


def _frames(
    seg: list[str], gender: list[str], age: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = list(range(len(seg)))
    protected = pl.DataFrame(
        {
            "applicant_id": ids,
            "gender": gender,
            "age_band": age if age is not None else ["25-34"] * len(ids),
            "ethnicity": pl.Series([None] * len(ids), dtype=pl.String),
        }
    )
    return pl.DataFrame({"applicant_id": ids, "segment": seg}), protected


def test_bergsma_correction_by_hand() -> None:
    # [[30, 10], [10, 30]]: χ² = 20 (n = 80), φ² = 0.25; corrected φ² = 0.25 − 1/79,
    # k̃ = r̃ = 2 − 1/79, so V = √((0.25 − 1/79) / (1 − 1/79)).
    v, chi2, p, dof = cramers_v_corrected(np.array([[30, 10], [10, 30]]))
    assert chi2 == pytest.approx(20.0) and dof == 1
    assert v == pytest.approx(math.sqrt((0.25 - 1 / 79) / (1 - 1 / 79)))
    assert p == pytest.approx(7.744e-6, rel=1e-3)


def test_independent_labelling_is_not_flagged() -> None:
    seg = ["a", "a", "a", "a", "b", "b", "b", "b"] * 50
    gender = ["female", "male", "male", "female"] * 100
    report = proxy_check(*_frames(seg, gender))
    row = report.associations.filter(pl.col("attribute") == "gender").row(0, named=True)
    assert row["cramers_v"] == 0.0 and row["chi2"] == pytest.approx(0.0) and not row["flagged"]
    ratios = report.segments.filter(pl.col("attribute") == "gender")["impact_ratio"].to_list()
    assert ratios == pytest.approx([1.0, 1.0])
    assert report.flagged == ()


def test_labelling_equal_to_the_attribute_is_flagged_with_v_one() -> None:
    gender = ["female", "male"] * 200
    report = proxy_check(*_frames(list(gender), gender), labelling="copy")
    row = report.associations.filter(pl.col("attribute") == "gender").row(0, named=True)
    assert (
        row["cramers_v"] == pytest.approx(1.0) and row["flagged"] and row["threshold"] == pytest.approx(0.3)
    )
    assert report.flagged == ("gender",)
    finding = next(f for f in report.findings if f.attribute == "gender")
    assert "proxy for gender" in finding.text_en and "代理变量" in finding.text_zh
    seg = report.segments.filter(pl.col("attribute") == "gender")
    assert seg["impact_ratio"].to_list() == [0.0, 0.0]


def test_group_shares_and_representation() -> None:
    # Segment a: 3 female, 1 male; segment b: 1 female, 3 male. Population: 1/2 each.
    seg = ["a"] * 4 + ["b"] * 4
    gender = ["female", "female", "female", "male", "female", "male", "male", "male"]
    report = proxy_check(*_frames(seg, gender))
    g = {
        (r["segment"], r["group"]): r
        for r in report.groups.filter(pl.col("attribute") == "gender").to_dicts()
    }
    assert g[("a", "female")]["share_in_segment"] == 0.75
    assert g[("a", "female")]["share_in_population"] == 0.5
    assert g[("a", "female")]["representation"] == 1.5
    # Rate of being placed in a: female 3/4, male 1/4 → impact ratio 1/3.
    s = report.segments.filter(pl.col("attribute") == "gender", pl.col("segment") == "a").row(0, named=True)
    assert s["impact_ratio"] == pytest.approx(1 / 3) and (s["min_group"], s["max_group"]) == (
        "male",
        "female",
    )


def test_age_threshold_depends_on_the_table_size() -> None:
    # Three segments × three age bands: threshold 0.3 / √2.
    seg = ["x", "y", "z"] * 30
    age = ["18-24", "25-34", "35-44"] * 30
    report = proxy_check(*_frames(seg, ["female"] * 90, age), attributes=("age_band",))
    row = report.associations.row(0, named=True)
    assert row["threshold"] == pytest.approx(0.3 / math.sqrt(2)) and row["flagged"]


def test_ethnicity_null_everywhere_is_skipped_with_a_note() -> None:
    report = proxy_check(*_frames(["a", "b"] * 10, ["female", "male"] * 10))
    assert "ethnicity" not in report.associations["attribute"].to_list()
    assert any(n.startswith("ethnicity: null for every applicant") for n in report.notes)
    eth = next(f for f in report.findings if f.attribute == "ethnicity")
    assert eth.cramers_v is None and not eth.flagged
    json.dumps(report.to_dict())


def test_refuse_inputs_names_the_field() -> None:
    refuse_inputs(["age", "monthly_income"], ["vehicle.age_years"])
    with pytest.raises(ValidationError) as err:
        refuse_inputs(["age", "gender"])
    assert err.value.field == "features"
    with pytest.raises(ValidationError) as err:
        refuse_inputs([], ["applicant.age_band"])
    assert err.value.field == "rule_fields"


def test_errors_name_the_field() -> None:
    segs, prot = _frames(["a", "b"], ["female", "male"])
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: proxy_check(segs.drop("segment"), prot), "segments.segment"),
        (lambda: proxy_check(segs, prot.drop("gender")), "protected.gender"),
        (lambda: proxy_check(segs, prot, attributes=("age",)), "attributes"),
        (lambda: proxy_check(segs.clear(), prot), "segments"),
        (lambda: proxy_check(segs.with_columns(gender=pl.lit("x")), prot), "segments"),
        (lambda: proxy_check(segs, prot, min_effect_w=0), "min_effect_w"),
        (lambda: proxy_check(segs, prot, alpha=1), "alpha"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as err:
            call()
        assert err.value.field == field
