"""(g) Rule segments: the demo scheme (catalog/segments/default.yaml) on 1,000,000 applicants.

The applicants come from the population generator of the shipped world
(:func:`autofin.data.population.generate_population`, seed 20261106) joined into the applicant frame
(:func:`autofin.segments.features.applicant_frame`), so values, nulls (no-file bureau scores) and
category mixes are realistic. Timed: :meth:`SegmentScheme.assign_frame` (polars expressions, all nine
dimensions, tag columns included) and :meth:`SegmentScheme.assign` (Python closures, one applicant as a
dict) — the median µs per call over 20,000 different applicants — and, for scale, ``explain``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

from benchmarks.run import Row, Timing, measure

SEED = 20261106


def bench_segments(quick: bool) -> list[Row]:
    from autofin.data.population import generate_population
    from autofin.data.world import load_world
    from autofin.segments.features import applicant_frame
    from autofin.segments.rules import load_scheme

    n = 100_000 if quick else 1_000_000
    world = load_world()
    tables = generate_population(world.population, n, SEED, dt.date(2024, 1, 1), 12)
    frame = applicant_frame(tables)
    scheme = load_scheme()
    load = measure(load_scheme, repeat=3)

    whole = measure(lambda: scheme.assign_frame(frame), repeat=3 if quick else 5, min_time=0.0)
    lean = measure(lambda: scheme.assign_frame(frame, tag_columns=False), repeat=3, min_time=0.0)

    k = 2_000 if quick else 20_000
    rows = frame.head(k).to_dicts()
    for r in rows[:100]:
        scheme.assign(r)  # warm up
    samples: list[float] = []
    clock = time.perf_counter
    for r in rows:
        t0 = clock()
        scheme.assign(r)
        samples.append(clock() - t0)
    median = statistics.median(samples)
    loop_t0 = clock()
    for r in rows:
        scheme.assign(r)
    loop = (clock() - loop_t0) / k
    explain = measure(lambda: scheme.explain(rows[0]), repeat=3)
    agree = all(
        scheme.assign(r) == {d.key: seg[f"seg_{d.key}"] for d in scheme.dimensions}
        for r, seg in zip(
            rows[:2_000], scheme.assign_frame(frame.head(2_000)).iter_rows(named=True), strict=True
        )
    )
    per_row = whole.median / n
    dims = len(scheme.dimensions)
    segs = sum(len(d.segments) for d in scheme.dimensions)
    return [
        Row("g", f"load and compile the demo scheme ({dims} dimensions, {segs} segments)", "load", load),
        Row(
            "g",
            f"assign_frame, {n:,} applicants (polars; Enum + tag lists + tag Booleans)",
            "run",
            whole,
            f"target ≥ 1,000,000 rows/s: {'met' if 1 / per_row >= 1e6 else 'NOT met'}",
            f"{1 / per_row:,.0f} rows/s",
        ),
        Row(
            "g",
            f"assign_frame, {n:,} applicants, no tag Booleans",
            "run",
            lean,
            ratio=f"{n / lean.median:,.0f} rows/s",
        ),
        Row(
            "g",
            f"assign, one applicant (Python closures; median of {k:,} different applicants)",
            "applicant",
            Timing(median, min(samples)),
            f"mean in a loop {loop * 1e6:.1f} µs; same answers as assign_frame: {agree}",
            f"{1 / median:,.0f} applicants/s; {median / per_row:.0f}× a frame row",
        ),
        Row("g", "explain, one applicant (audit text)", "applicant", explain),
    ]
