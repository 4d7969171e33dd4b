"""Summary features of repeated monthly columns (a generic pre-step of the application scorecard).

Credit-bureau and card data often hold one value per month for the same quantity: Taiwan's
``PAY_0, PAY_2 … PAY_6`` (repayment status), ``BILL_AMT1 … BILL_AMT6``, ``PAY_AMT1 … PAY_AMT6``. A
scorecard bins each month on its own; standard "payment history" practice also summarises the history:
the worst status, the average, how many months were positive (e.g. delinquent), and the trend (most
recent minus oldest). This module finds such *column families* by name and derives those summaries,
which then compete with the raw columns in the scorecard's usual IV and correlation selection.

A family is every numeric column named ``<stem><integer>`` with the same stem, at least
:data:`MIN_MEMBERS` of them, each with more than two distinct values (0/1 indicator columns such as
one-hot dummies are not monthly quantities), ordered by the integer. For a family with stem ``PAY_``
the summaries are ``PAY_max``, ``PAY_mean``, ``PAY_n_pos`` (count of values > 0) and
``PAY_first_minus_last`` (the lowest-numbered column minus the highest-numbered one; the sign of a
trend does not matter to a binned feature). Nulls are skipped by ``max``, ``mean`` and ``n_pos`` and
make ``first_minus_last`` null. Nothing is fitted: the summaries are fixed functions of a row, so they
are computed the same way when scoring.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from autofin.errors import ValidationError

__all__ = ["MIN_MEMBERS", "SUMMARIES", "ColumnFamily", "derive", "find_families"]

#: Fewest columns that make a family.
MIN_MEMBERS: Final = 3
#: The summaries derived per family, in column order.
SUMMARIES: Final = ("max", "mean", "n_pos", "first_minus_last")
_NAME: Final = re.compile(r"(.*\D)(\d+)")


@dataclass(frozen=True)
class ColumnFamily:
    """Columns ``<stem><k>`` ordered by ``k``; :meth:`names` are the derived summary columns."""

    stem: str
    columns: tuple[str, ...]

    def names(self) -> tuple[str, ...]:
        base = self.stem.rstrip("_") or self.stem
        return tuple(f"{base}_{s}" for s in SUMMARIES)

    def expressions(self) -> list[pl.Expr]:
        cols = [pl.col(c).cast(pl.Float64) for c in self.columns]
        values = (
            pl.max_horizontal(cols),
            pl.mean_horizontal(cols),
            pl.sum_horizontal([(c > 0).fill_null(False).cast(pl.Int32) for c in cols]).cast(pl.Float64),
            cols[0] - cols[-1],
        )
        return [v.alias(n) for v, n in zip(values, self.names(), strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {"stem": self.stem, "columns": list(self.columns)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnFamily:
        try:
            family = cls(stem=str(data["stem"]), columns=tuple(str(c) for c in data["columns"]))
        except (KeyError, TypeError) as exc:
            raise ValidationError("scorecard.families", data, f"malformed family: {exc}") from exc
        if len(family.columns) < MIN_MEMBERS:
            raise ValidationError("scorecard.families", data, f"needs at least {MIN_MEMBERS} columns")
        return family


def find_families(X: pl.DataFrame, columns: Sequence[str]) -> tuple[ColumnFamily, ...]:  # noqa: N803
    """The column families among ``columns`` of ``X`` (numeric, > 2 distinct values, same stem, at least
    :data:`MIN_MEMBERS`), in order of their first column. Raises if a derived name is already a column."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for c in columns:
        match = _NAME.fullmatch(c)
        if match and X.schema[c].is_numeric() and X.get_column(c).n_unique() > 2:
            groups[match.group(1)].append((int(match.group(2)), c))
    families = [
        ColumnFamily(stem, tuple(c for _, c in sorted(members)))
        for stem, members in groups.items()
        if len(members) >= MIN_MEMBERS
    ]
    for family in families:
        clash = sorted(set(family.names()) & set(X.columns))
        if clash:
            raise ValidationError("X", clash, "columns named like derived family summaries")
    return tuple(families)


def derive(X: pl.DataFrame, families: Sequence[ColumnFamily]) -> pl.DataFrame:  # noqa: N803
    """``X`` with the summary columns of ``families`` appended (the members must be columns of ``X``)."""
    if not families:
        return X
    missing = sorted({c for f in families for c in f.columns} - set(X.columns))
    if missing:
        raise ValidationError("X", missing, "must contain the columns the derived summaries are built from")
    return X.with_columns([e for f in families for e in f.expressions()])
