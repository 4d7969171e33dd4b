"""One pricing run on a world's data: band PDs from history, a compiled rate sheet, one offer's build-up
and an optimisation against the current rates — what ``autofin pricing report`` shows.

Everything here composes the pure pieces of :mod:`autofin.pricing` on a world directory written by
``autofin data synth`` (or a lender's data in the same layout, docs/data.md):

* **PD by score band and condition** = the observed default rate of the booked loans whose default
  window min(term, 36 months) is complete (:func:`autofin.segments.profiles.loan_outcomes`), turned into
  an annual PD with ``1 − (1 − p)^(12 / window)``; applicants without a bureau file form ``no_file``.
  No ground truth is read: this is what a lender can measure on its own book.
* **the rate sheet**: :func:`~autofin.pricing.ratesheet.compile_rate_sheet` over those bands, terms of
  12–60 months and new/used, at the median amount financed of each condition;
* **one offer**: the build-up of the sheet's cell for the most common band, 36 months, new vehicle,
  at its published rate;
* **the optimisation**: cells = segment × band × term of the quote history (the segment labelling is
  given; the world's true one by default), the take-up model fitted on the quotes, NPV from the
  build-up; constraints: today's expected volume and risky-tier share, monotone tiers, the cap, and a
  fair-lending limit on the female − male rate gap; baseline = today's mean quoted rate of each cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from autofin.errors import ValidationError
from autofin.pricing.buildup import OfferEconomics, PricingAssumptions, offer_economics
from autofin.pricing.optimise import (
    FairLending,
    OptimisationResult,
    PricingConstraints,
    buildup_npv,
    cells_from_world,
    evaluate_sheet,
    optimise_rates,
)
from autofin.pricing.ratesheet import RateSheet, ScoreBand, TermBand, compile_rate_sheet
from autofin.pricing.takeup import TakeupModel

__all__ = ["PricingRun", "band_pds", "world_pricing_run"]

#: Term bands of the compiled sheet (months), priced at their longest term.
TERMS: Final = (TermBand(1, 12), TermBand(13, 24), TermBand(25, 36), TermBand(37, 48), TermBand(49, 60))
#: LGD by condition for the sheet: the synthetic world's mean recovery severities (docs/data-credit.md).
LGD: Final = {"new": 0.45, "used": 0.55}
#: Tiers whose share of volume the optimiser may not raise.
RISKY_TIERS: Final = ("subprime", "deep_subprime", "no_file")
_TABLES: Final = ("applicants", "bureau", "vehicles", "protected", "quotes", "loans", "performance")


@dataclass(frozen=True)
class PricingRun:
    """The pieces of one run: band PDs, the compiled sheet, one offer and the optimisation."""

    band_pd: pl.DataFrame
    sheet: RateSheet
    offer: OfferEconomics
    offer_label: str
    optimisation: OptimisationResult
    notes: tuple[str, ...]


def _band_expr(score_bands: Sequence[Mapping[str, Any]]) -> pl.Expr:
    """The score band of each applicant (``no_file`` without a score); bands are highest first."""
    expr: Any = pl.when(pl.col("bureau_score").is_null()).then(pl.lit("no_file"))
    for b in score_bands:
        expr = expr.when(pl.col("bureau_score") >= int(b["min_score"])).then(pl.lit(str(b["name"])))
    band: pl.Expr = expr.otherwise(pl.lit(str(score_bands[-1]["name"])))
    return band


def band_pds(
    tables: Mapping[str, pl.DataFrame], score_bands: Sequence[Mapping[str, Any]], window_months: int = 36
) -> pl.DataFrame:
    """``band, condition, loans, defaults, window_pd, annual_pd`` from the booked loans' history."""
    from autofin.segments.profiles import loan_outcomes

    outcomes = loan_outcomes(tables["loans"], tables["performance"], window_months=window_months)
    frame = (
        tables["loans"]
        .select("loan_id", "applicant_id", "term_months")
        .join(outcomes.select("loan_id", "full_window", "defaulted"), on="loan_id")
        .join(tables["bureau"].select("applicant_id", "bureau_score"), on="applicant_id")
        .join(tables["vehicles"].select("applicant_id", "condition"), on="applicant_id")
        .filter(pl.col("full_window"))
        .with_columns(
            _band_expr(score_bands).alias("band"),
            pl.min_horizontal(pl.col("term_months"), pl.lit(window_months)).alias("window"),
        )
    )
    if frame.is_empty():
        raise ValidationError(
            "loans", 0, "no booked loan has a complete default window: generate more months"
        )
    return (
        frame.group_by("band", "condition")
        .agg(
            pl.len().alias("loans"),
            pl.col("defaulted").sum().alias("defaults"),
            pl.col("defaulted").mean().alias("window_pd"),
            pl.col("window").mean().alias("window_months"),
        )
        .with_columns((1 - (1 - pl.col("window_pd")) ** (12 / pl.col("window_months"))).alias("annual_pd"))
        .sort("band", "condition")
    )


def world_pricing_run(
    world_dir: str | Path,
    assumptions: PricingAssumptions,
    *,
    target_raroc: float | None = None,
    segments: pl.DataFrame | None = None,
    cap: float = 0.24,
    fair_lending_gap: float = 0.0010,
) -> PricingRun:
    """Band PDs, a rate sheet at ``target_raroc`` (default: the hurdle), one offer and an optimisation.

    ``segments`` (``applicant_id, segment``) labels the cells; default the world's true segments.
    ``cap`` is the legal cap (annual decimal, CN 24 % by default); ``fair_lending_gap`` the largest
    allowed |female − male| volume-weighted mean rate gap (annual decimal, 10 bp by default).
    """
    import json

    from autofin.data.credit import takeup_features
    from autofin.data.synth import load

    root = Path(world_dir)
    if not (root / "manifest.json").is_file():
        raise ValidationError("DATA", str(root), "holds no generated world (manifest.json missing)")
    truth = json.loads((root / "truth.json").read_text(encoding="utf-8"))
    score_bands = truth["credit"]["score_bands"]
    tables = {t: load(root, t) for t in _TABLES}
    tables["segments"] = segments if segments is not None else load(root, "truth/segments")
    target = assumptions.hurdle_rate if target_raroc is None else target_raroc
    notes: list[str] = []

    pds = band_pds(tables, score_bands)
    pd_map: dict[str, dict[str, float]] = {}
    for band, condition, annual in pds.select("band", "condition", "annual_pd").iter_rows():
        pd_map.setdefault(str(band), {})[str(condition)] = float(annual)
    bands = [ScoreBand(str(b["name"]), min_score=int(b["min_score"])) for b in score_bands]
    bounded = [
        ScoreBand(b.name, b.min_score, None if i == 0 else (bands[i - 1].min_score or 0) - 1)
        for i, b in enumerate(bands)
    ]
    present = [b for b in bounded if {"new", "used"} <= set(pd_map.get(b.name, {}))]
    if len(present) < len(bounded):
        notes.append(
            "bands without history for both new and used cars are left off the sheet: "
            + ", ".join(b.name for b in bounded if b not in present)
        )
    amounts = (
        tables["loans"]
        .join(tables["vehicles"].select("applicant_id", "condition"), on="applicant_id")
        .group_by("condition")
        .agg(pl.col("amount_financed").median())
    )
    amount = {str(c): float(a) for c, a in amounts.iter_rows()}
    sheet = compile_rate_sheet(
        assumptions,
        target,
        bands=present,
        pd_by_band={b.name: pd_map[b.name] for b in present},
        terms=list(TERMS),
        lgd=LGD,
        amount=amount,
        rate_step=0.0005,
        legal_cap=cap,
    )

    common = (
        tables["bureau"]
        .select(_band_expr(score_bands).alias("band"))
        .filter(pl.col("band").is_in([b.name for b in present]))["band"]
        .mode()
        .sort()[0]
    )
    rate = sheet.rate_for(str(common), 36, "new")
    if rate is None:
        raise ValidationError("sheet", common, "has no publishable rate for 36 months, new vehicles")
    pd_new = pd_map[str(common)]["new"]
    offer = offer_economics(amount["new"], rate, 36, pd_new, _with_lgd(assumptions, LGD["new"]))
    label = (
        f"Band {common}, new vehicle, {amount['new']:,.0f} over 36 months at the sheet rate "
        f"{100 * rate:.2f} % (annual PD {100 * pd_new:.2f} %):"
    )

    annual_pd = (
        tables["bureau"]
        .select("applicant_id", _band_expr(score_bands).alias("band"))
        .join(tables["vehicles"].select("applicant_id", "condition"), on="applicant_id")
        .join(pds.select("band", "condition", "annual_pd"), on=["band", "condition"], how="left")
        .drop_nulls("annual_pd")
        .select("applicant_id", "annual_pd")
    )
    funding = {t.representative: float(assumptions.funding.rate(t.representative)) for t in TERMS}
    terms_seen = sorted(tables["quotes"]["term_months"].unique().to_list())
    funding_by_term = {int(m): float(assumptions.funding.rate(m)) for m in terms_seen} | funding
    cells = cells_from_world(
        tables, score_bands=score_bands, funding_rate=funding_by_term, annual_pd=annual_pd
    )
    takeup = TakeupModel().fit(takeup_features(tables))
    npv = buildup_npv(assumptions)
    current = np.array([min(c.current_rate or c.funding_rate, cap) for c in cells])
    probe = PricingConstraints(cap=cap, risky_tiers=RISKY_TIERS, max_risky_share=1.0)
    today = evaluate_sheet(cells, current, takeup, npv, probe, name="current")
    constraints = PricingConstraints(
        min_volume=today.volume,
        risky_tiers=RISKY_TIERS,
        max_risky_share=today.risky_share,
        tier_order=tuple(b.name for b in bands),
        cap=cap,
        fair_lending=FairLending("female", "male", fair_lending_gap),
    )
    result = optimise_rates(cells, takeup, npv, constraints, baseline=current)
    if not result.success:
        notes.append(f"the optimiser did not meet every constraint: {result.message}")
    return PricingRun(pds, sheet, offer, label, result, tuple(notes))


def _with_lgd(a: PricingAssumptions, lgd: float) -> PricingAssumptions:
    return replace(a, lgd=lgd)
