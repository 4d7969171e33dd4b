"""(d) Synthetic world generation: wall time and peak memory for 1,000,000 applicants.

Runs ``autofin data synth`` logic in a child process so that its peak resident memory can be read
from ``getrusage(RUSAGE_CHILDREN)`` without counting this harness.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import Row, Timing

_CHILD = """
import sys
from autofin.data.synth import synthesize
from autofin.data.world import load_world
synthesize(load_world(), int(sys.argv[1]), 36, 7, sys.argv[2])
"""


def bench_data(quick: bool) -> list[Row]:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "world"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", _CHILD, str(n), str(out)], check=True)
        seconds = time.perf_counter() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    peak_gb = max(peak_kb, before) / 1024 / 1024
    timing = Timing(seconds, seconds)
    return [
        Row(
            "d",
            f"autofin data synth: {n:,} applicants, quotes, 36 months of performance",
            "run",
            timing,
            note=f"targets < 60 s: {'met' if seconds < 60 else 'NOT met'}; < 4 GB: "
            f"{'met' if peak_gb < 4 else 'NOT met'}; parquet written {size / 1e6:,.0f} MB",
            ratio=f"peak memory {peak_gb:.2f} GB",
        )
    ]
