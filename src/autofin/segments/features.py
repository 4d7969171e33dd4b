"""The applicant frame every segmentation step reads: one row per applicant, never a protected column.

Rule segments, learned clusters and profiles all start from the same join of the world's
``applicants``, ``bureau`` and ``vehicles`` tables (see docs/data-population.md for each column and
its unit). Protected attributes live in their own table and are never joined here;
:func:`refuse_protected` is the one check every segmentation input goes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import polars as pl

from autofin.data.schemas import PROTECTED_COLUMNS
from autofin.errors import ValidationError

__all__ = ["APPLICANT_TABLES", "applicant_frame", "load_applicant_frame", "refuse_protected"]

#: Tables joined (left, on ``applicant_id``, in this order) into the applicant frame.
APPLICANT_TABLES: Final = ("applicants", "bureau", "vehicles")


def refuse_protected(columns: Iterable[str], field: str = "features") -> None:
    """Raise :class:`ValidationError` naming ``field`` when ``columns`` include a protected attribute."""
    bad = sorted(PROTECTED_COLUMNS.intersection(columns))
    if bad:
        raise ValidationError(field, bad, "must not use protected attributes (gender, age_band, ethnicity)")


def applicant_frame(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Join ``applicants`` with ``bureau`` and ``vehicles``: one row per applicant, applicants' order.

    ``tables`` must hold the three tables of :data:`APPLICANT_TABLES` (columns as in
    :mod:`autofin.data.schemas`). A protected column found in any of them is refused.
    """
    missing = [t for t in APPLICANT_TABLES if t not in tables]
    if missing:
        raise ValidationError("tables", missing, "must include applicants, bureau and vehicles")
    frame = tables["applicants"]
    for name in APPLICANT_TABLES[1:]:
        frame = frame.join(tables[name], on="applicant_id", how="left", maintain_order="left")
    refuse_protected(frame.columns, "tables")
    return frame


def load_applicant_frame(world_dir: str | Path) -> pl.DataFrame:
    """:func:`applicant_frame` of a generated (or lender-supplied) world directory."""
    from autofin.data.synth import load

    root = Path(world_dir)
    if not root.is_dir():
        raise ValidationError("world_dir", str(root), "must be a directory written by `autofin data synth`")
    return applicant_frame({t: load(root, t) for t in APPLICANT_TABLES})
