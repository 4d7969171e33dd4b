"""Rate sheets compiled from the cost build-up: tier tables by score band × term × new/used × LTV band.

For every cell the compiler prices a *representative deal* — the cell's amount, the band's PD, the LGD of
its condition and LTV band, the cell's representative term — at the lowest rate that earns the target
RAROC (:func:`autofin.pricing.buildup.minimum_rate`), rounded **up** to the sheet's rate step (1 bp,
5 bp…). It then makes the sheet monotone by a *cumulative maximum* along each risk direction:

* score band: a riskier band (lower scores, listed later) is never cheaper than a safer one;
* LTV band: a higher-LTV band is never cheaper than a lower one (same band, term, condition);
* condition: ``used`` is never cheaper than ``new`` (same band, term, LTV band);
* term: not forced by default (an inverted funding curve can make short money dearer); pass
  ``term_monotone=True`` to make longer terms never cheaper too.

Why a maximum and not isotonic averaging (pool-adjacent-violators)? Averaging two violating cells
*lowers* one of them below its own minimum rate, i.e. below the RAROC floor; the cumulative maximum only
ever *raises* cells, so every published rate still earns at least the target. (Sequential cumulative
maxima along several axes give the least monotone sheet that dominates the floors: each cell becomes the
largest floor among the cells it dominates.)

Cells whose compiled rate exceeds the legal cap or a market (competitor) ceiling are **flagged, not
capped**: they cannot be priced profitably and the business must decide (decline, a different product,
a subsidy). A cell whose target cannot be met at any annual rate below 100 % is flagged
``unreachable`` and has no rate; by monotonicity every riskier cell is unreachable too.

Units: rates, PDs, LGDs and RAROC are annual decimals or fractions (``0.0599``); amounts are in currency
units; terms are months; LTV is amount financed / vehicle price.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import yaml

from autofin.catalog.models import RateTable
from autofin.errors import AutofinError, ValidationError
from autofin.errors import from_pydantic as _from_pydantic
from autofin.pricing.buildup import minimum_rate, offer_economics

__all__ = [
    "FLAG_LEGAL_CAP",
    "FLAG_MARKET_CEILING",
    "FLAG_UNREACHABLE",
    "LtvBand",
    "MonotoneViolation",
    "RateSheet",
    "ScoreBand",
    "TermBand",
    "ceil_to_step",
    "compile_rate_sheet",
    "enforce_monotone",
    "is_monotone",
    "with_lgd",
]

Condition = Literal["new", "used"]
CONDITIONS: tuple[Condition, ...] = ("new", "used")

FLAG_LEGAL_CAP = "legal_cap"
FLAG_MARKET_CEILING = "market_ceiling"
FLAG_UNREACHABLE = "unreachable"

#: Rounding tolerance: a minimum rate within 1e-9 of a step is taken to be on it (float noise).
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class ScoreBand:
    """A score band of the sheet. Bands are listed from the *safest* (highest scores) to the riskiest.

    ``min_score`` / ``max_score`` are inclusive bounds on the lender's score scale (``None``: open).
    """

    name: str
    min_score: int | None = None
    max_score: int | None = None


@dataclass(frozen=True, slots=True)
class TermBand:
    """A term band ``min_months..max_months`` (inclusive), priced at ``months`` (default: the longest
    term of the band — the conservative choice when longer money costs more)."""

    min_months: int
    max_months: int
    months: int | None = None

    @property
    def representative(self) -> int:
        return self.max_months if self.months is None else self.months


@dataclass(frozen=True, slots=True)
class LtvBand:
    """An LTV band (inclusive bounds, fractions; ``None``: open) with its LGD by condition.

    ``lgd`` maps ``"new"`` / ``"used"`` to the loss given default (a fraction of the exposure).
    LTV bands are listed from the lowest LTV to the highest.
    """

    lgd: Mapping[str, float]
    min_ltv: float | None = None
    max_ltv: float | None = None


@dataclass(frozen=True, slots=True)
class MonotoneViolation:
    """A pair of neighbouring cells where the riskier one is priced below the safer one.

    ``axis`` is ``"band"``, ``"ltv"``, ``"condition"`` or ``"term"``; ``safer`` / ``riskier`` name
    the cells (band, term, condition, LTV band index); rates are annual decimals (``None``: no rate,
    i.e. unreachable, which counts as +∞).
    """

    axis: str
    safer: tuple[str, int, str, int]
    riskier: tuple[str, int, str, int]
    safer_rate: float | None
    riskier_rate: float | None


@dataclass(frozen=True)
class RateSheet:
    """A compiled rate sheet: one row per cell of ``frame`` plus what it was compiled for.

    Columns of ``frame`` (one row per band × term band × condition × LTV band, in risk order):
    ``band``, ``band_index`` (0 = safest), ``score_min``, ``score_max``, ``term_min``, ``term_max``,
    ``term`` (representative months), ``condition``, ``ltv_index`` (0 = lowest LTV), ``ltv_min``,
    ``ltv_max``, ``amount`` (currency units), ``pd``, ``lgd``, ``min_rate`` (the unrounded minimum
    rate for the target), ``rounded_rate`` (rounded up to the step), ``rate`` (published, after the
    monotone maximum; null when unreachable), ``raroc`` (of the representative deal at ``rate``),
    ``legal_cap``, ``ceiling`` (market ceiling for the cell, if any) and ``flags`` (list of
    ``legal_cap`` / ``market_ceiling`` / ``unreachable``).
    """

    frame: pl.DataFrame
    target_raroc: float
    rate_step: float
    legal_cap: float | None = None
    has_ltv: bool = True
    term_monotone: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def flagged(self) -> pl.DataFrame:
        """The cells carrying at least one flag (cannot be priced profitably within caps/ceilings)."""
        return self.frame.filter(pl.col("flags").list.len() > 0)

    def rate_for(self, band: str, term_months: int, condition: str, ltv: float | None = None) -> float | None:
        """The published rate of the cell holding ``band``, ``term_months``, ``condition`` and ``ltv``."""
        cell = self._cell(band, term_months, condition, ltv)
        rate = cell["rate"]
        return None if rate is None else float(rate)

    def _cell(self, band: str, term_months: int, condition: str, ltv: float | None) -> dict[str, Any]:
        f = self.frame.filter(
            (pl.col("band") == band)
            & (pl.col("term_min") <= term_months)
            & (pl.col("term_max") >= term_months)
            & (pl.col("condition") == condition)
        )
        if self.has_ltv:
            if ltv is None:
                raise ValidationError("ltv", ltv, "this sheet has LTV bands: give the deal's LTV")
            f = f.filter(
                (pl.col("ltv_min").is_null() | (pl.col("ltv_min") <= ltv))
                & (pl.col("ltv_max").is_null() | (pl.col("ltv_max") >= ltv))
            )
        if f.height == 0:
            raise ValidationError(
                "cell", (band, term_months, condition, ltv), "no cell of the sheet holds this deal"
            )
        return f.row(0, named=True)

    def to_rate_table(
        self,
        id: str,
        version: int,
        currency: str,
        effective: date | tuple[date, date | None],
        *,
        description: Mapping[str, str] | None = None,
        no_score: int | None = None,
        flagged: Literal["refuse", "omit"] = "refuse",
    ) -> dict[str, Any]:
        """YAML-ready data for ``catalog/rate_tables/<id>.yaml`` (validated as a catalogue ``RateTable``).

        ``effective``: the first day, or ``(from, to)``. ``description``: ``{"en": …, "zh-CN": …}``.
        Flagged cells cannot be published silently: ``flagged="refuse"`` (default) raises naming them;
        ``"omit"`` leaves them out, so a deal in such a cell finds no rate and is not quoted.
        Rates are rounded to 6 decimals (0.01 bp) as plain floats.
        """
        bad = self.flagged
        if bad.height and flagged == "refuse":
            cells = [
                f"{r['band']}/{r['term_min']}-{r['term_max']}m/{r['condition']}/ltv{r['ltv_index']}:"
                f"{','.join(r['flags'])}"
                for r in bad.iter_rows(named=True)
            ]
            raise ValidationError(
                "flags",
                cells[:5] + (["…"] if len(cells) > 5 else []),
                f"{bad.height} cell(s) exceed a cap or ceiling or miss the target: "
                "decide on them, or publish with flagged='omit'",
            )
        start, end = effective if isinstance(effective, tuple) else (effective, None)
        eff: dict[str, Any] = {"from": start}
        if end is not None:
            eff["to"] = end
        rows: list[dict[str, Any]] = []
        for r in self.frame.iter_rows(named=True):
            if r["flags"] or r["rate"] is None:
                continue
            row: dict[str, Any] = {
                "score": _range(r["score_min"], r["score_max"]),
                "term": {"min": r["term_min"], "max": r["term_max"]},
                "condition": [r["condition"]],
            }
            if self.has_ltv:
                row["ltv"] = _range(r["ltv_min"], r["ltv_max"])
            row["rate"] = round(float(r["rate"]), 6)
            rows.append(row)
        data: dict[str, Any] = {"id": id, "version": version, "currency": currency, "effective": eff}
        if description is not None:
            data["description"] = dict(description)
        if no_score is not None:
            data["no_score"] = no_score
        data["rows"] = rows
        try:
            RateTable.model_validate(data)
        except Exception as exc:  # pydantic's ValidationError: re-raise as ours, naming the field
            from pydantic import ValidationError as PydanticError

            if isinstance(exc, PydanticError):
                raise _from_pydantic(exc) from None
            raise
        return data

    def to_yaml(self, *args: Any, **kwargs: Any) -> str:
        """:meth:`to_rate_table` as YAML text (same arguments), one row per line."""
        data = self.to_rate_table(*args, **kwargs)
        rows = data.pop("rows")
        head = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        body = "".join(
            "  - " + yaml.safe_dump(r, default_flow_style=True, sort_keys=False, width=1000).strip() + "\n"
            for r in rows
        )
        return head + "rows:\n" + body


def _range(lo: Any, hi: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if lo is not None:
        out["min"] = lo
    if hi is not None:
        out["max"] = hi
    return out


def ceil_to_step(rate: float, step: float) -> float:
    """``rate`` rounded *up* to a multiple of ``step`` (both annual decimals; e.g. step 0.0005 = 5 bp).

    A rate within 1e-9 of a multiple counts as on it, so float noise does not add a step.
    """
    if not step > 0:
        raise ValidationError("rate_step", step, "must be positive")
    n = math.ceil(rate / step - _EPS)
    digits = max(0, -Decimal(repr(step)).as_tuple().exponent) + 2  # type: ignore[operator]
    return round(n * step, digits)


def with_lgd(assumptions: Any, lgd: float) -> Any:
    """A copy of the build-up assumptions with ``lgd`` replaced (dataclass or pydantic model)."""
    if dataclasses.is_dataclass(assumptions) and not isinstance(assumptions, type):
        return dataclasses.replace(assumptions, lgd=lgd)
    copy = getattr(assumptions, "model_copy", None)
    if copy is not None:
        return copy(update={"lgd": lgd})
    raise ValidationError("assumptions", type(assumptions).__name__, "must be a dataclass or pydantic model")


def enforce_monotone(
    rates: npt.NDArray[np.float64], *, term_monotone: bool = False, condition_axis_ordered: bool = True
) -> npt.NDArray[np.float64]:
    """Cumulative maximum of a ``[band, term, condition, ltv]`` array along its risk axes.

    Bands and LTV bands must be in increasing risk order, conditions ``new`` then ``used``. ``inf``
    (unreachable) propagates to every riskier cell. Returns a new array; no cell is lowered.
    """
    out = np.maximum.accumulate(rates, axis=0)
    out = np.maximum.accumulate(out, axis=3)
    if condition_axis_ordered:
        out = np.maximum.accumulate(out, axis=2)
    if term_monotone:
        out = np.maximum.accumulate(out, axis=1)
    return out


def compile_rate_sheet(
    assumptions: Any,
    target_raroc: float,
    *,
    bands: Sequence[ScoreBand],
    pd_by_band: Mapping[str, float | Mapping[str, float]],
    terms: Sequence[TermBand],
    ltv_bands: Sequence[LtvBand] | None = None,
    lgd: Mapping[str, float] | None = None,
    amount: float | Mapping[str, float] = 100_000.0,
    conditions: Sequence[Condition] = CONDITIONS,
    rate_step: float = 0.0001,
    legal_cap: float | None = None,
    market_ceiling: float | Mapping[tuple[str, str], float] | None = None,
    term_monotone: bool = False,
) -> RateSheet:
    """Compile a rate sheet from the cost build-up and a target RAROC.

    Args:
        assumptions: :class:`autofin.pricing.buildup.PricingAssumptions`; its ``lgd`` is replaced per
            cell by the LGD of the cell's condition and LTV band.
        target_raroc: annual RAROC each cell must earn (decimal, e.g. ``0.15``).
        bands: score bands, safest (highest scores) first.
        pd_by_band: band name → PD (a fraction, as :func:`~autofin.pricing.buildup.minimum_rate`
            takes it), or band name → ``{"new": pd, "used": pd}``. E.g. a calibrated scorecard's band
            PDs, or the synthetic world's default rates by band.
        terms: term bands (months), shortest first.
        ltv_bands: LTV bands, lowest first, each with its LGD by condition. Omit for a sheet without an
            LTV dimension and give ``lgd`` (condition → LGD) instead.
        amount: the representative amount financed (currency units), or condition → amount.
        conditions: ``new`` and/or ``used``.
        rate_step: the rate grid (annual decimal: ``0.0001`` = 1 bp, ``0.0005`` = 5 bp); rates round up.
        legal_cap: the legal maximum annual rate; cells above it are flagged ``legal_cap``.
        market_ceiling: a competitor / market ceiling (annual rate), one for all cells or by
            ``(band, condition)``; cells above it are flagged ``market_ceiling``.
        term_monotone: also make longer term bands never cheaper.
    """
    _check_inputs(target_raroc, bands, pd_by_band, terms, conditions, rate_step, legal_cap)
    has_ltv = ltv_bands is not None
    if ltv_bands is None:
        if lgd is None:
            raise ValidationError("lgd", None, "give lgd by condition, or ltv_bands with their LGDs")
        ltv_bands = (LtvBand(lgd=lgd),)
    elif lgd is not None:
        raise ValidationError("lgd", lgd, "give lgd or ltv_bands (which carry their LGDs), not both")
    _check_ltv_bands(ltv_bands, conditions, "ltv_bands" if has_ltv else "lgd")
    conds = tuple(c for c in CONDITIONS if c in conditions)

    shape = (len(bands), len(terms), len(conds), len(ltv_bands))
    floor = np.empty(shape)  # unrounded minimum rate (inf: unreachable)
    rounded = np.empty(shape)
    for (i, band), (j, tb), (k, cond), (m, lb) in _cells(bands, terms, conds, ltv_bands):
        a = _amount(amount, cond)
        pd_ = _pd(pd_by_band, band.name, cond)
        cell_assumptions = with_lgd(assumptions, float(lb.lgd[cond]))
        try:
            r = float(minimum_rate(a, tb.representative, pd_, cell_assumptions, target_raroc))
        except AutofinError:
            r = math.inf
        if not math.isfinite(r) or r >= 1:
            r = math.inf
        floor[i, j, k, m] = r
        rounded[i, j, k, m] = ceil_to_step(r, rate_step) if math.isfinite(r) else math.inf
    final = enforce_monotone(rounded, term_monotone=term_monotone)

    records: list[dict[str, Any]] = []
    for (i, band), (j, tb), (k, cond), (m, lb) in _cells(bands, terms, conds, ltv_bands):
        a = _amount(amount, cond)
        pd_ = _pd(pd_by_band, band.name, cond)
        lgd_ = float(lb.lgd[cond])
        rate = final[i, j, k, m]
        flags: list[str] = []
        raroc: float | None = None
        ceiling = _ceiling(market_ceiling, band.name, cond)
        if not math.isfinite(rate):
            flags.append(FLAG_UNREACHABLE)
        else:
            econ = offer_economics(a, float(rate), tb.representative, pd_, with_lgd(assumptions, lgd_))
            raroc = float(econ.raroc)
            if legal_cap is not None and rate > legal_cap + 1e-12:
                flags.append(FLAG_LEGAL_CAP)
            if ceiling is not None and rate > ceiling + 1e-12:
                flags.append(FLAG_MARKET_CEILING)
        records.append(
            {
                "band": band.name,
                "band_index": i,
                "score_min": band.min_score,
                "score_max": band.max_score,
                "term_min": tb.min_months,
                "term_max": tb.max_months,
                "term": tb.representative,
                "condition": cond,
                "ltv_index": m,
                "ltv_min": lb.min_ltv,
                "ltv_max": lb.max_ltv,
                "amount": float(a),
                "pd": float(pd_),
                "lgd": lgd_,
                "min_rate": _finite(floor[i, j, k, m]),
                "rounded_rate": _finite(rounded[i, j, k, m]),
                "rate": _finite(rate),
                "raroc": raroc,
                "legal_cap": legal_cap,
                "ceiling": ceiling,
                "flags": flags,
            }
        )
    frame = pl.DataFrame(records, schema=_SCHEMA)
    return RateSheet(
        frame=frame,
        target_raroc=float(target_raroc),
        rate_step=float(rate_step),
        legal_cap=legal_cap,
        has_ltv=has_ltv,
        term_monotone=term_monotone,
    )


_SCHEMA: dict[str, Any] = {
    "band": pl.Utf8,
    "band_index": pl.Int32,
    "score_min": pl.Int32,
    "score_max": pl.Int32,
    "term_min": pl.Int32,
    "term_max": pl.Int32,
    "term": pl.Int32,
    "condition": pl.Utf8,
    "ltv_index": pl.Int32,
    "ltv_min": pl.Float64,
    "ltv_max": pl.Float64,
    "amount": pl.Float64,
    "pd": pl.Float64,
    "lgd": pl.Float64,
    "min_rate": pl.Float64,
    "rounded_rate": pl.Float64,
    "rate": pl.Float64,
    "raroc": pl.Float64,
    "legal_cap": pl.Float64,
    "ceiling": pl.Float64,
    "flags": pl.List(pl.Utf8),
}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _cells(
    bands: Sequence[ScoreBand],
    terms: Sequence[TermBand],
    conds: Sequence[Condition],
    ltv_bands: Sequence[LtvBand],
) -> list[tuple[tuple[int, ScoreBand], tuple[int, TermBand], tuple[int, Condition], tuple[int, LtvBand]]]:
    return [
        (b, t, c, lb)
        for b in enumerate(bands)
        for t in enumerate(terms)
        for c in enumerate(conds)
        for lb in enumerate(ltv_bands)
    ]


def _amount(amount: float | Mapping[str, float], cond: str) -> float:
    if isinstance(amount, Mapping):
        if cond not in amount:
            raise ValidationError(f"amount.{cond}", None, "give the representative amount for each condition")
        a = float(amount[cond])
    else:
        a = float(amount)
    if not a > 0:
        raise ValidationError("amount", a, "must be positive")
    return a


def _pd(pd_by_band: Mapping[str, float | Mapping[str, float]], band: str, cond: str) -> float:
    v = pd_by_band[band]
    if isinstance(v, Mapping):
        if cond not in v:
            raise ValidationError(f"pd_by_band.{band}.{cond}", None, "give a PD for each condition")
        v = v[cond]
    return float(v)


def _ceiling(ceiling: float | Mapping[tuple[str, str], float] | None, band: str, cond: str) -> float | None:
    if ceiling is None:
        return None
    if isinstance(ceiling, Mapping):
        v = ceiling.get((band, cond))
        return None if v is None else float(v)
    return float(ceiling)


def _check_inputs(
    target_raroc: float,
    bands: Sequence[ScoreBand],
    pd_by_band: Mapping[str, float | Mapping[str, float]],
    terms: Sequence[TermBand],
    conditions: Sequence[str],
    rate_step: float,
    legal_cap: float | None,
) -> None:
    if not -1 < target_raroc < 10:
        raise ValidationError("target_raroc", target_raroc, "must be an annual decimal (e.g. 0.15)")
    if not bands:
        raise ValidationError("bands", bands, "give at least one score band")
    names = [b.name for b in bands]
    if len(set(names)) != len(names):
        raise ValidationError("bands", names, "band names must be unique")
    for i, b in enumerate(bands):
        if b.min_score is not None and b.max_score is not None and b.max_score < b.min_score:
            raise ValidationError(f"bands[{i}].max_score", b.max_score, "must not be below min_score")
        prev_min = bands[i - 1].min_score if i else None
        if prev_min is not None and b.max_score is not None and b.max_score >= prev_min:
            raise ValidationError(
                f"bands[{i}].max_score",
                b.max_score,
                f"bands go from the highest scores down: must be below {bands[i - 1].name}'s "
                f"min_score {prev_min}",
            )
        if b.name not in pd_by_band:
            raise ValidationError(f"pd_by_band.{b.name}", None, "give a PD for every band")
        v = pd_by_band[b.name]
        for p in v.values() if isinstance(v, Mapping) else (v,):
            if not 0 <= float(p) < 1:
                raise ValidationError(f"pd_by_band.{b.name}", p, "must be a fraction in [0, 1)")
    if not terms:
        raise ValidationError("terms", terms, "give at least one term band")
    for i, t in enumerate(terms):
        if not 1 <= t.min_months <= t.max_months:
            raise ValidationError(f"terms[{i}]", (t.min_months, t.max_months), "need 1 ≤ min ≤ max months")
        if not t.min_months <= t.representative <= t.max_months:
            raise ValidationError(f"terms[{i}].months", t.months, "must lie within the band")
        if i and t.min_months <= terms[i - 1].max_months:
            raise ValidationError(f"terms[{i}].min_months", t.min_months, "term bands must not overlap")
    if not conditions or any(c not in CONDITIONS for c in conditions):
        raise ValidationError("conditions", list(conditions), "must be 'new' and/or 'used'")
    if len(set(conditions)) != len(conditions):
        raise ValidationError("conditions", list(conditions), "must not repeat")
    if not 0 < rate_step <= 0.01:
        raise ValidationError(
            "rate_step", rate_step, "must be in (0, 0.01] (an annual decimal: 0.0001 = 1 bp)"
        )
    if legal_cap is not None and not 0 < legal_cap < 1:
        raise ValidationError("legal_cap", legal_cap, "must be an annual decimal in (0, 1)")


def _check_ltv_bands(ltv_bands: Sequence[LtvBand], conditions: Sequence[str], name: str) -> None:
    if not ltv_bands:
        raise ValidationError("ltv_bands", ltv_bands, "give at least one LTV band (or omit it)")
    for i, lb in enumerate(ltv_bands):
        if lb.min_ltv is not None and lb.max_ltv is not None and lb.max_ltv < lb.min_ltv:
            raise ValidationError(f"ltv_bands[{i}].max_ltv", lb.max_ltv, "must not be below min_ltv")
        if i:
            prev = ltv_bands[i - 1]
            if prev.max_ltv is None or lb.min_ltv is None or lb.min_ltv <= prev.max_ltv:
                raise ValidationError(
                    f"ltv_bands[{i}].min_ltv", lb.min_ltv, "LTV bands go up and must not overlap"
                )
        where = f"ltv_bands[{i}].lgd" if name == "ltv_bands" else "lgd"
        for c in conditions:
            if c not in lb.lgd:
                raise ValidationError(f"{where}.{c}", None, "give an LGD for each condition")
            if not 0 <= float(lb.lgd[c]) <= 1:
                raise ValidationError(f"{where}.{c}", lb.lgd[c], "must be a fraction in [0, 1]")


def is_monotone(sheet: RateSheet) -> list[MonotoneViolation]:
    """Every neighbouring pair where a riskier cell is cheaper than a safer one (empty: monotone).

    Checked along band (next riskier band), LTV band (next higher), condition (used vs new) and, if the
    sheet was compiled with ``term_monotone``, term. A missing rate (unreachable) counts as +∞.
    """
    rows = {
        (r["band_index"], r["term_min"], r["condition"], r["ltv_index"]): r
        for r in sheet.frame.iter_rows(named=True)
    }
    bands = sorted({k[0] for k in rows})
    terms = sorted({k[1] for k in rows})
    ltvs = sorted({k[3] for k in rows})
    out: list[MonotoneViolation] = []

    def check(axis: str, a: tuple[int, int, str, int], b: tuple[int, int, str, int]) -> None:
        ra, rb = rows.get(a), rows.get(b)
        if ra is None or rb is None:
            return
        va = math.inf if ra["rate"] is None else ra["rate"]
        vb = math.inf if rb["rate"] is None else rb["rate"]
        if vb < va - 1e-12:
            out.append(
                MonotoneViolation(
                    axis,
                    (ra["band"], ra["term_min"], ra["condition"], ra["ltv_index"]),
                    (rb["band"], rb["term_min"], rb["condition"], rb["ltv_index"]),
                    ra["rate"],
                    rb["rate"],
                )
            )

    for key in sorted(rows):
        i, t, c, m = key
        if i + 1 in bands:
            check("band", key, (i + 1, t, c, m))
        if m + 1 in ltvs:
            check("ltv", key, (i, t, c, m + 1))
        if c == "new":
            check("condition", key, (i, t, "used", m))
        if sheet.term_monotone:
            nxt = [x for x in terms if x > t]
            if nxt:
                check("term", key, (i, nxt[0], c, m))
    return out
