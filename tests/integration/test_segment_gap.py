"""The fit matrix finds the world's planted product gap, and the proxy check reads the true segments.

A 20,000-applicant synthetic world (seed 11), its true segments (``truth/segments``) and the demo
catalogue: the segments below the fit matrix's coverage threshold must be exactly the planted gaps
recorded in ``truth.json`` (``population.gaps``), and every other segment covered. At 1,000 sampled
members a segment the coverage has a standard error of at most 0.016, so the margins seen (the planted
gap far below 0.6, the others at 0.74 and above) are many standard errors wide.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from autofin.catalog.loader import default_catalogue_dir, load_catalogue
from autofin.data.synth import load, synthesize
from autofin.data.world import load_world
from autofin.segments.features import load_applicant_frame
from autofin.segments.fit import fit_matrix, segment_labels
from autofin.segments.guardrail import proxy_check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gap") / "world"
    synthesize(load_world(), applicants=20_000, months=12, seed=11, out=out)
    return out


def _planted(world: Path) -> set[str]:
    truth = json.loads((world / "truth.json").read_text())
    return {g["segment"] for g in truth.get("population", {}).get("gaps", [])}


def test_fit_matrix_gaps_are_the_planted_ones(world: Path) -> None:
    planted = _planted(world)
    assert planted, "truth.json records no planted gap"
    fm = fit_matrix(
        load_applicant_frame(world),
        load(world, "truth/segments"),
        load_catalogue(default_catalogue_dir()),
        date(2026, 9, 1),
        sample_per_segment=1000,
        seed=0,
        labels=segment_labels(load_world()),
    )
    assert {g.segment for g in fm.gaps} == planted
    covered = fm.coverage.filter(~pl.col("segment").is_in(list(planted)))
    assert (covered["coverage"] >= fm.gap_threshold).all()
    for gap in fm.gaps:  # the words say why: a vehicle rule of the used-car loan
        assert "cn-used-car-loan" in gap.text_en and "cn-used-car-loan" in gap.text_zh


def test_proxy_check_on_true_segments(world: Path) -> None:
    report = proxy_check(load(world, "truth/segments"), load(world, "protected"), labelling="true segments")
    v = dict(report.associations.select("attribute", "cramers_v").iter_rows())
    # young_urban is defined by age (22-30) and family_mainstream by 30-50: a strong proxy for age band.
    assert "age_band" in report.flagged and v["age_band"] > 0.3
    # Female shares 0.20-0.46 across segments: a mild association, reported, below the proxy line.
    assert "gender" not in report.flagged and 0.05 < v["gender"] < 0.3
    assert "ethnicity" not in v and report.notes
