"""Generate a synthetic world to partitioned parquet — the I/O edge of autofin.data.

``synthesize`` splits the applicants into chunks; chunk ``k`` gets the ``k``-th child of
``numpy.random.SeedSequence(seed)`` (itself split between the population and the credit generators)
and its own id ranges, so the output depends only on the world file, the seed, the number of
applicants, the months and the chunk size — never on timing or threads — and is byte-identical
run after run. Each table is checked against its declared schema before it is written.

Layout of the output directory::

    world.yaml            the world file used (as validated)
    truth.json            the ground truth: segment shares, planted gaps, every coefficient and
                          elasticity, service attach probabilities
    manifest.json         seed, sizes, row counts and the SHA-256 of every file written
    applicants/ bureau/ vehicles/ protected/ quotes/ loans/ performance/ services/
                                                                           part-NNNNN.parquet
    truth/segments/ truth/defaults/ truth/takeup/                          part-NNNNN.parquet
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from autofin.data import schemas
from autofin.data.credit import generate_credit, ground_truth
from autofin.data.population import generate_population
from autofin.data.world import World, dump_world
from autofin.errors import ValidationError

DATA_TABLES: Final = (
    "applicants",
    "bureau",
    "vehicles",
    "protected",
    "quotes",
    "loans",
    "performance",
    "services",
)
TRUTH_TABLES: Final = {"segments": "segments", "truth_defaults": "defaults", "truth_takeup": "takeup"}
MAX_QUOTES_PER_APPLICANT: Final = 3
FORMAT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What ``synthesize`` wrote: row counts by table and the files with their SHA-256."""

    out: Path
    rows: dict[str, int]
    files: dict[str, str] = field(repr=False)


def _write(frame: pl.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", compression_level=3, statistics=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_request(applicants: int, months: int, seed: int, out: str | Path, chunk_size: int) -> Path:
    """Refuse a bad request before any work starts; return the output directory."""
    if applicants < 1:
        raise ValidationError("applicants", applicants, "must be at least 1")
    if not 1 <= months <= 120:
        raise ValidationError("months", months, "must be between 1 and 120")
    if seed < 0:
        raise ValidationError("seed", seed, "must not be negative")
    if chunk_size < 1:
        raise ValidationError("chunk_size", chunk_size, "must be at least 1")
    root = Path(out)
    if (root / "manifest.json").exists():
        raise ValidationError("out", str(root), "already holds a generated world; choose an empty directory")
    return root


def synthesize(
    world: World,
    applicants: int,
    months: int,
    seed: int,
    out: str | Path,
    chunk_size: int = 100_000,
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Generate ``applicants`` applicants with quotes and ``months`` months of performance into ``out``.

    ``progress(done, total)`` is called after each chunk with applicant counts. Refuses to write into a
    directory that already holds a generated world (pick a new one) so nothing is half-overwritten.
    """
    root = check_request(applicants, months, seed, out, chunk_size)
    root.mkdir(parents=True, exist_ok=True)
    header = world.world
    n_chunks = -(-applicants // chunk_size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    rows: dict[str, int] = {}
    files: dict[str, str] = {}
    done = 0
    for k, child in enumerate(children):
        n = min(chunk_size, applicants - done)
        pop_seed, credit_seed = child.spawn(2)
        tables = generate_population(
            world.population, n, pop_seed, header.start_date, header.application_months, first_id=done
        )
        tables.update(
            generate_credit(
                world.credit,
                tables,
                credit_seed,
                months,
                first_quote_id=done * MAX_QUOTES_PER_APPLICANT,
                first_loan_id=done,
            )
        )
        part = f"part-{k:05d}.parquet"
        for name in DATA_TABLES:
            frame = schemas.validate(name, tables[name])
            rel = f"{name}/{part}"
            files[rel] = _write(frame, root / rel)
            rows[name] = rows.get(name, 0) + frame.height
        for name, folder in TRUTH_TABLES.items():
            rel = f"truth/{folder}/{part}"
            files[rel] = _write(tables[name], root / rel)
            rows[f"truth/{folder}"] = rows.get(f"truth/{folder}", 0) + tables[name].height
        done += n
        if progress is not None:
            progress(done, applicants)
    (root / "world.yaml").write_text(dump_world(world), encoding="utf-8")
    truth = {
        "world": {"name": header.name, "version": header.version},
        "seed": seed,
        "segments": {s.key: s.share for s in world.population.segments},
        "population": {
            "gaps": [g.model_dump(mode="json", by_alias=True) for g in world.population.gaps],
        },
        "credit": ground_truth(world.credit),
    }
    (root / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=str) + "\n")
    manifest = {
        "format": FORMAT_VERSION,
        "world": {"name": header.name, "version": header.version},
        "seed": seed,
        "applicants": applicants,
        "months": months,
        "chunk_size": chunk_size,
        "rows": rows,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return SynthSummary(root, rows, files)


def scan(out: str | Path, table: str) -> pl.LazyFrame:
    """A lazy view of one generated table (all its partitions)."""
    root = Path(out)
    if table in DATA_TABLES or table.startswith("truth/"):
        folder = root / table
    else:  # "segments", "truth_defaults", "defaults", …
        folder = root / "truth" / TRUTH_TABLES.get(table, table)
    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        raise ValidationError("table", table, f"has no parquet partitions under {folder}")
    return pl.scan_parquet(parts)


def load(out: str | Path, table: str) -> pl.DataFrame:
    """Load one generated table into memory, checked against its declared schema.

    ``table`` is a data table name (``"loans"``) or a ground-truth table (``"truth/defaults"``,
    ``"truth/takeup"``, ``"truth/segments"``; also ``"segments"``, ``"defaults"``, ``"takeup"``).
    """
    frame = scan(out, table).collect()
    if table in DATA_TABLES:
        schemas.validate(table, frame)
    return frame


def manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a generated world (seed, sizes, row counts, file hashes)."""
    path = Path(out) / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError:
        raise ValidationError("out", str(out), "holds no generated world (manifest.json missing)") from None
    return data
