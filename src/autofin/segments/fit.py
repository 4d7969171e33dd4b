"""Segment × product fit: which catalogue products each segment can be served with, and where it cannot.

For every member of a segment (a seeded sample of at most ``sample_per_segment`` members) and every
product of the catalogue on sale in the world's jurisdiction and currency on ``as_of``, the
:func:`fit_matrix` asks three questions, reusing the catalogue's own rules and prices (nothing is
re-implemented here):

1. **Eligible?** :func:`autofin.catalog.rules.check_eligibility` with the applicant and the vehicle
   wanted; a refusal's field and rule become the *reason* (``vehicle.age_years``: "product
   cn-used-car-loan is for vehicles at most 8 years old").
2. **Quotable?** The product's *most affordable standard structure*: its longest term, its minimum down
   payment raised to respect ``max_ltv``, no balloon unless the product requires one (then its minimum
   balloon), no services, no promotions — priced with the product's rate for this applicant
   (:func:`autofin.catalog.pricing.price_rate`: fixed, or rate-table tier + margin).
3. **Affordable?** The highest regular monthly instalment of that structure (currency units a month;
   the balloon excluded) over the applicant's gross monthly income (PTI) and, with the existing monthly
   debt payments, the DTI, against :class:`AffordabilityLimits` (the synthetic world's approval
   policy by default).

*Servable* = eligible and affordable. The instalment comes from the exact contract engine: through
:func:`autofin.finance.batch.batch_schedule` (exact to the cent, vectorised) for periodic-interest
loans, and through :func:`autofin.catalog.quote.quote` for everything else (leases, flat-rate,
daily-interest products) — or for everything with ``engine="quote"`` (about 4 ms a quote; a test holds
the two paths together to the cent). See docs/segments-fit.md.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any, Final, Literal

import numpy as np
import polars as pl

from autofin.catalog.jurisdictions import AppliedCap, applicable_caps, check_ltv_caps
from autofin.catalog.models import Catalogue, Product
from autofin.catalog.pricing import fee_amount, price_rate
from autofin.catalog.quote import quote
from autofin.catalog.quote_types import ApplicantInfo, Market, StructureRequest, VehicleInfo
from autofin.catalog.rules import check_eligibility
from autofin.catalog.sampling import SAMPLE_MARKET
from autofin.errors import ValidationError
from autofin.finance.batch import batch_schedule
from autofin.finance.schedule import RowKind, Schedule
from autofin.finance.terms import InterestMethod, PaymentTiming, Repayment
from autofin.money import currency, round_money
from autofin.segments.features import refuse_protected

__all__ = [
    "APPLICANT_COLUMNS",
    "AffordabilityLimits",
    "FitMatrix",
    "Gap",
    "fit_matrix",
    "segment_labels",
]

#: Columns of the applicant frame the fit matrix reads (see autofin.data.schemas for units).
APPLICANT_COLUMNS: Final = (
    "applicant_id",
    "customer_type",
    "channel",
    "region",
    "age",
    "monthly_income",
    "monthly_debt_payments",
    "bureau_score",
    "no_file",
    "condition",
    "vehicle_class",
    "powertrain",
    "use",
    "brand",
    "msrp",
    "price",
    "age_years",
)

#: The vehicles table does not record the model; a product filtering by model refuses this value.
UNKNOWN_MODEL: Final = "(unknown)"

#: How far an applicant got with a product, by the field that stopped it (check_eligibility's order):
#: the product with the deepest failure is the applicant's *nearest miss*.
_DEPTH: Final = {
    "applicant.customer_type": 0,
    "applicant.segments": 1,
    "applicant.channel": 2,
    "applicant.region": 3,
    "applicant.age": 4,
    "applicant.bureau_score": 5,
    "vehicle.condition": 6,
    "vehicle.vehicle_class": 7,
    "vehicle.powertrain": 8,
    "vehicle.use": 9,
    "vehicle.brand": 10,
    "vehicle.model": 11,
    "vehicle.price": 12,
    "vehicle.age_years": 13,
}
_ALL_IN_RATE: Final = re.compile(r"the all-in rate [\d.]+ %")
_DEPTH_STRUCTURE: Final = 14
_DEPTH_UNAFFORDABLE: Final = 15
_DEPTH_SERVABLE: Final = 16

#: Chinese wording of each refusal field (the English reason is the catalogue rule itself).
_ZH: Final = {
    "applicant.customer_type": "客户类型不符",
    "applicant.segments": "不属于产品的目标客群",
    "applicant.channel": "申请渠道不符",
    "applicant.region": "所在地区不在产品范围内",
    "applicant.age": "申请人年龄超出产品范围",
    "applicant.bureau_score": "征信评分不足或无征信记录",
    "vehicle.condition": "车辆新旧状况不符",
    "vehicle.vehicle_class": "车辆级别不符",
    "vehicle.powertrain": "动力类型不符",
    "vehicle.use": "车辆用途不符",
    "vehicle.brand": "品牌不符",
    "vehicle.model": "车型不符",
    "vehicle.price": "车价超出产品范围",
    "vehicle.age_years": "车龄超过产品上限",
    "affordability.pti": "月供收入比超过上限",
    "affordability.dti": "负债收入比超过上限",
}


@dataclass(frozen=True, slots=True)
class AffordabilityLimits:
    """Affordability limits, as fractions of gross monthly income.

    ``max_pti``: highest instalment / income; ``max_dti``: (instalment + existing monthly debt
    payments) / income; ``no_file_max_pti``: the stricter PTI for applicants without a bureau file
    (``None``: no stricter limit). Defaults: the synthetic world's ``credit.approval`` policy.
    """

    max_pti: float = 0.50
    max_dti: float = 0.70
    no_file_max_pti: float | None = 0.35

    def __post_init__(self) -> None:
        for name in ("max_pti", "max_dti", "no_file_max_pti"):
            v = getattr(self, name)
            if v is not None and not (0 < v <= 5):
                raise ValidationError(f"limits.{name}", v, "must be a fraction of income in (0, 5]")

    def to_dict(self) -> dict[str, float | None]:
        return {"max_pti": self.max_pti, "max_dti": self.max_dti, "no_file_max_pti": self.no_file_max_pti}


@dataclass(frozen=True, slots=True)
class Gap:
    """A segment whose coverage is below the gap threshold, with who is not served and why.

    ``reasons``: the dominant nearest-miss reasons among the unserved members, each with its share
    of the unserved (fraction 0..1), most common first.
    """

    segment: str
    coverage: float
    unserved_share: float
    reasons: tuple[tuple[str, float], ...]
    text_en: str
    text_zh: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "coverage": self.coverage,
            "unserved_share": self.unserved_share,
            "reasons": [{"reason": r, "share_of_unserved": s} for r, s in self.reasons],
            "text": {"en": self.text_en, "zh-CN": self.text_zh},
        }


@dataclass(frozen=True)
class FitMatrix:
    """The segment × product fit matrix, each segment's coverage and the gaps.

    ``cells`` (one row per segment × product): ``segment``, ``product``, ``n`` (members evaluated),
    ``eligible_share`` (eligible and a standard structure could be quoted), ``servable_share``
    (eligible and affordable), ``median_pti`` (median PTI of the servable members' structure, null
    when none), ``top_reason`` / ``top_reason_share`` (the most common reason a member is not served
    by the product, and its share of ``n``).

    ``coverage`` (one row per segment): ``segment``, ``members`` (segment size), ``n`` (sampled),
    ``coverage`` (share with at least one servable product), ``coverage_se`` (its standard error,
    finite-population corrected), ``best_product`` and ``best_servable_share``,
    ``top_reason`` / ``top_reason_share`` (the most common nearest-miss reason among the unserved,
    share of the unserved), ``gap`` (coverage < ``gap_threshold``).

    ``gaps``: one :class:`Gap` per segment below the threshold, lowest coverage first.
    """

    cells: pl.DataFrame
    coverage: pl.DataFrame
    gaps: tuple[Gap, ...]
    products: tuple[str, ...]
    as_of: date
    limits: AffordabilityLimits
    gap_threshold: float
    sample_per_segment: int
    seed: int
    engine: str
    catalogue_version: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (dates as ISO strings, floats as floats)."""
        return {
            "as_of": self.as_of.isoformat(),
            "catalogue_version": self.catalogue_version,
            "products": list(self.products),
            "limits": self.limits.to_dict(),
            "gap_threshold": self.gap_threshold,
            "sample_per_segment": self.sample_per_segment,
            "seed": self.seed,
            "engine": self.engine,
            "cells": self.cells.to_dicts(),
            "coverage": self.coverage.to_dicts(),
            "gaps": [g.to_dict() for g in self.gaps],
            "notes": list(self.notes),
        }


def segment_labels(world: Any) -> dict[str, dict[str, str]]:
    """``{segment: {"en": …, "zh-CN": …}}`` from a synthetic :class:`~autofin.data.world.World`."""
    return {s.key: {"en": s.label.en, "zh-CN": s.label.zh_cn} for s in world.population.segments}


# -- the matrix ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Outcome:
    depth: int
    reason: str = ""  # English (the catalogue rule, or the affordability limit broken)
    reason_zh: str = ""
    pti: float = math.nan


def fit_matrix(
    applicants: pl.DataFrame,
    segments: pl.DataFrame,
    catalogue: Catalogue,
    as_of: date,
    *,
    jurisdiction: str = "CN",
    currency_code: str = "CNY",
    products: Sequence[str] | None = None,
    limits: AffordabilityLimits | None = None,
    sample_per_segment: int = 1500,
    seed: int = 0,
    gap_threshold: float = 0.6,
    market: Market | None = SAMPLE_MARKET,
    engine: Literal["batch", "quote"] = "batch",
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> FitMatrix:
    """The segment × product fit matrix (see the module docstring and docs/segments-fit.md).

    Args:
        applicants: the applicant frame (:func:`autofin.segments.features.applicant_frame`), at least
            :data:`APPLICANT_COLUMNS`; amounts in currency units, ``monthly_income`` gross a month.
        segments: ``applicant_id`` and ``segment`` (one label per applicant; applicants without a
            label are left out).
        catalogue: the product catalogue.
        as_of: products are those effective on this date; it is also each structure's start date.
        jurisdiction, currency_code: which products to consider (with ``products`` unset).
        products: product ids to consider instead (each must exist, be effective on ``as_of``).
        limits: affordability limits (default :class:`AffordabilityLimits`).
        sample_per_segment: members evaluated per segment, drawn without replacement with ``seed``
            (all members of a smaller segment). Standard error of a share p: √(p(1−p)/n), at most
            0.013 for n = 1,500.
        gap_threshold: a segment with coverage below this is a gap (fraction 0..1).
        market: benchmark paths for floating products (default: the sample 5-year LPR path).
        engine: ``"batch"`` (vectorised exact schedules for periodic loans) or ``"quote"`` (every
            structure through :func:`autofin.catalog.quote.quote`).
        labels: display names per segment (``{"en": …, "zh-CN": …}``) for the gap sentences.

    Raises:
        ValidationError: naming the missing column, the unknown / not-effective product, the empty
            or null segment, or the bad parameter.
    """
    limits = limits if limits is not None else AffordabilityLimits()
    if sample_per_segment < 1:
        raise ValidationError("sample_per_segment", sample_per_segment, "must be at least 1")
    if not 0 < gap_threshold <= 1:
        raise ValidationError("gap_threshold", gap_threshold, "must be a fraction in (0, 1]")
    if engine not in ("batch", "quote"):
        raise ValidationError("engine", engine, "must be 'batch' or 'quote'")
    refuse_protected(applicants.columns, "applicants")
    refuse_protected(segments.columns, "segments")
    _require(applicants, APPLICANT_COLUMNS, "applicants")
    _require(segments, ("applicant_id", "segment"), "segments")
    chosen = _products(catalogue, as_of, jurisdiction, currency_code, products)

    if segments.is_empty():
        raise ValidationError("segments", 0, "must label at least one applicant")
    if segments["segment"].null_count():
        raise ValidationError("segments.segment", None, "must not be null (drop unlabelled applicants)")
    if segments["applicant_id"].is_duplicated().any():
        dup = segments.filter(pl.col("applicant_id").is_duplicated())["applicant_id"][0]
        raise ValidationError("segments.applicant_id", dup, "must label each applicant once")
    frame = applicants.select(APPLICANT_COLUMNS).join(
        segments.select("applicant_id", pl.col("segment").cast(pl.String)), on="applicant_id", how="inner"
    )
    names = sorted(segments["segment"].cast(pl.String).unique().to_list())
    sizes = dict(frame.group_by("segment").len().iter_rows())
    for s in names:
        if not sizes.get(s):
            raise ValidationError("segments.segment", s, "has no member in the applicant frame")

    sample = _sample(frame, names, sample_per_segment, seed)
    outcomes = _evaluate(sample, chosen, catalogue, as_of, limits, market, engine)

    seg_col = sample["segment"].to_list()
    cell_rows: list[dict[str, Any]] = []
    cov_rows: list[dict[str, Any]] = []
    gaps: list[Gap] = []
    by_seg: dict[str, list[int]] = {s: [] for s in names}
    for i, s in enumerate(seg_col):
        by_seg[s].append(i)
    for s in names:
        idx = by_seg[s]
        n = len(idx)
        best = ("", -1.0)
        for p in chosen:
            outs = [outcomes[p.id][i] for i in idx]
            eligible = sum(o.depth >= _DEPTH_UNAFFORDABLE for o in outs)
            servable_pti = [o.pti for o in outs if o.depth == _DEPTH_SERVABLE]
            misses = Counter(o.reason for o in outs if o.depth < _DEPTH_SERVABLE)
            top, top_n = misses.most_common(1)[0] if misses else (None, 0)
            share = len(servable_pti) / n
            if share > best[1]:
                best = (p.id, share)
            cell_rows.append(
                {
                    "segment": s,
                    "product": p.id,
                    "n": n,
                    "eligible_share": eligible / n,
                    "servable_share": share,
                    "median_pti": float(np.median(servable_pti)) if servable_pti else None,
                    "top_reason": top,
                    "top_reason_share": top_n / n,
                }
            )
        unserved: list[_Outcome] = []
        for i in idx:
            nearest = max((outcomes[p.id][i] for p in chosen), key=lambda o: o.depth)
            if nearest.depth < _DEPTH_SERVABLE:
                unserved.append(nearest)
        members = sizes[s]
        cov = 1 - len(unserved) / n
        fpc = (members - n) / (members - 1) if members > 1 else 0.0
        se = math.sqrt(cov * (1 - cov) / n * fpc)
        reasons = Counter(o.reason for o in unserved)
        zh = {o.reason: o.reason_zh for o in unserved}
        ranked = tuple((r, c / len(unserved)) for r, c in reasons.most_common(3)) if unserved else ()
        is_gap = cov < gap_threshold
        cov_rows.append(
            {
                "segment": s,
                "members": members,
                "n": n,
                "coverage": cov,
                "coverage_se": se,
                "best_product": best[0] if best[1] > 0 else None,
                "best_servable_share": max(best[1], 0.0),
                "top_reason": ranked[0][0] if ranked else None,
                "top_reason_share": ranked[0][1] if ranked else 0.0,
                "gap": is_gap,
            }
        )
        if is_gap:
            gaps.append(_gap(s, cov, ranked, zh, gap_threshold, labels))
    gaps.sort(key=lambda g: g.coverage)
    notes = (
        f"{len(chosen)} products of {jurisdiction}/{currency_code} effective on {as_of.isoformat()}",
        "standard structure: longest term, minimum down payment within max_ltv, minimum balloon, "
        "no services or promotions; PTI on the highest regular instalment",
        f"sampled at most {sample_per_segment} members per segment with seed {seed}",
    )
    return FitMatrix(
        cells=pl.DataFrame(cell_rows, schema=_CELL_SCHEMA),
        coverage=pl.DataFrame(cov_rows, schema=_COVERAGE_SCHEMA),
        gaps=tuple(gaps),
        products=tuple(p.id for p in chosen),
        as_of=as_of,
        limits=limits,
        gap_threshold=gap_threshold,
        sample_per_segment=sample_per_segment,
        seed=seed,
        engine=engine,
        catalogue_version=catalogue.version,
        notes=notes,
    )


_CELL_SCHEMA: Final = {
    "segment": pl.String,
    "product": pl.String,
    "n": pl.Int64,
    "eligible_share": pl.Float64,
    "servable_share": pl.Float64,
    "median_pti": pl.Float64,
    "top_reason": pl.String,
    "top_reason_share": pl.Float64,
}
_COVERAGE_SCHEMA: Final = {
    "segment": pl.String,
    "members": pl.Int64,
    "n": pl.Int64,
    "coverage": pl.Float64,
    "coverage_se": pl.Float64,
    "best_product": pl.String,
    "best_servable_share": pl.Float64,
    "top_reason": pl.String,
    "top_reason_share": pl.Float64,
    "gap": pl.Boolean,
}


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    for c in columns:
        if c not in frame.columns:
            raise ValidationError(f"{name}.{c}", None, f"column {c!r} is required")


def _products(
    catalogue: Catalogue, as_of: date, jurisdiction: str, ccy: str, ids: Sequence[str] | None
) -> list[Product]:
    if ids is None:
        chosen = [
            p
            for p in catalogue.products.values()
            if p.jurisdiction == jurisdiction and p.currency == ccy and p.effective.contains(as_of)
        ]
        if not chosen:
            raise ValidationError(
                "jurisdiction", f"{jurisdiction}/{ccy}", f"no product is effective on {as_of.isoformat()}"
            )
        return chosen
    if not ids:
        raise ValidationError("products", [], "must name at least one product")
    out: list[Product] = []
    for i, pid in enumerate(ids):
        p = catalogue.products.get(pid)
        if p is None:
            raise ValidationError(f"products[{i}]", pid, f"catalogue {catalogue.version} has no such product")
        if not p.effective.contains(as_of):
            raise ValidationError(
                f"products[{i}]", pid, f"is effective {p.effective.start}..{p.effective.end or ''}"
            )
        out.append(p)
    return out


def _sample(frame: pl.DataFrame, names: Sequence[str], k: int, seed: int) -> pl.DataFrame:
    """At most ``k`` members per segment, without replacement; the draw depends only on ``seed``,
    the segment name and the members' ids (not on row order)."""
    parts = []
    for s in names:
        members = frame.filter(pl.col("segment") == s).sort("applicant_id")
        if members.height > k:
            rng = np.random.default_rng([seed, zlib.crc32(s.encode())])
            pick = np.sort(rng.choice(members.height, size=k, replace=False))
            members = members[pick]
        parts.append(members)
    return pl.concat(parts)


def _inputs(row: Mapping[str, Any]) -> tuple[ApplicantInfo, VehicleInfo]:
    score = row["bureau_score"]
    applicant = ApplicantInfo(
        customer_type=row["customer_type"],
        segments=[row["segment"]],
        channel=row["channel"],
        region=row["region"],
        bureau_score=None if score is None else int(score),
        age=int(row["age"]),
    )
    vehicle = VehicleInfo(
        brand=row["brand"],
        model=UNKNOWN_MODEL,
        condition=row["condition"],
        vehicle_class=row["vehicle_class"],
        powertrain=row["powertrain"],
        use=row["use"],
        msrp=Decimal(repr(float(row["msrp"]))),
        price=Decimal(repr(float(row["price"]))),
        age_years=int(row["age_years"]),
    )
    return applicant, vehicle


def _standard(product: Product, vehicle: VehicleInfo, as_of: date) -> StructureRequest:
    """The most affordable standard structure: longest term, least down payment within max_ltv (rounded
    up to the minor unit so the LTV never exceeds the cap), the minimum balloon."""
    dp_min = product.down_payment.min if product.down_payment.min is not None else Decimal(0)
    pct = max(dp_min, 1 - product.max_ltv, Decimal(0))
    quantum = currency(product.currency).quantum
    down = (vehicle.price * pct).quantize(quantum, rounding=ROUND_CEILING)
    balloon = product.balloon.min_pct_of_price if product.balloon is not None else None
    return StructureRequest(term=max(product.terms), down_payment=down, balloon_pct=balloon, start_date=as_of)


def _batchable(product: Product) -> bool:
    """Whether :func:`batch_schedule` reproduces this product's schedule exactly."""
    steps = product.steps
    return (
        product.kind == "loan"
        and product.interest_method is InterestMethod.PERIODIC
        and product.timing is PaymentTiming.ARREARS
        and product.repayment in (Repayment.ANNUITY, Repayment.EQUAL_PRINCIPAL)
        and not any(f.financed or f.per_period for f in product.fees)
        and (steps is None or (steps.growth_rate is not None and product.repayment is Repayment.ANNUITY))
        and not (
            product.balloon is not None and (steps is not None or product.repayment is not Repayment.ANNUITY)
        )
    )


def _evaluate(
    sample: pl.DataFrame,
    chosen: Sequence[Product],
    catalogue: Catalogue,
    as_of: date,
    limits: AffordabilityLimits,
    market: Market | None,
    engine: str,
) -> dict[str, list[_Outcome]]:
    """Each product's outcome for each sampled member (in ``sample``'s row order)."""
    rows = sample.to_dicts()
    inputs = [_inputs(r) for r in rows]
    income = sample["monthly_income"].to_numpy().astype(float)
    debt = sample["monthly_debt_payments"].to_numpy().astype(float)
    max_pti = np.full(len(rows), limits.max_pti)
    if limits.no_file_max_pti is not None:
        no_file = sample["no_file"].to_numpy().astype(bool)
        max_pti[no_file] = min(limits.max_pti, limits.no_file_max_pti)
    out: dict[str, list[_Outcome]] = {}
    for product in chosen:
        who = f"product {product.id}"
        outs = [_Outcome(-1) for _ in rows]
        payment = np.full(len(rows), np.nan)
        batch = engine == "batch" and _batchable(product)
        b_idx: list[int] = []
        b_principal: list[int] = []
        b_rate: list[Decimal] = []
        b_balloon: list[int] = []
        ccy = currency(product.currency)
        ceiling = catalogue.rate_caps.get(product.jurisdiction)
        for i, (applicant, vehicle) in enumerate(inputs):
            try:
                check_eligibility(product.eligibility, applicant, vehicle, who)
            except ValidationError as exc:
                outs[i] = _Outcome(_DEPTH.get(exc.field, 0), exc.rule, _zh(exc.field, product.id))
                continue
            try:
                structure = _standard(product, vehicle, as_of)
                assert structure.down_payment is not None
                financed = vehicle.price - structure.down_payment
                priced = None
                if batch:
                    # The same jurisdiction-pack checks quote() applies: binding LTV caps, and the
                    # legal rate caps for this applicant's region and vehicle.
                    ltv = financed / vehicle.price
                    check_ltv_caps(
                        catalogue, product.jurisdiction, product.kind, vehicle.use, vehicle.condition,
                        vehicle.powertrain, ltv, "structure.down_payment", structure.down_payment,
                    )  # fmt: skip
                    caps = applicable_caps(
                        catalogue, product.jurisdiction, product.kind, applicant.region,
                        vehicle.condition, vehicle.age_years, market, as_of,
                    )  # fmt: skip
                    priced = price_rate(catalogue, product, vehicle, applicant, structure, market, ltv, as_of)
                    if not _below_cap(product, priced.lender_rate, financed, _lowest_rate_cap(caps, ceiling)):
                        priced = None  # near a legal cap: let quote() disclose the all-in rate and decide
                if priced is not None:
                    balloon = round_money(vehicle.price * (structure.balloon_pct or Decimal(0)), ccy)
                    b_idx.append(i)
                    b_principal.append(int(financed / ccy.quantum))
                    b_rate.append(priced.lender_rate)
                    b_balloon.append(int(balloon / ccy.quantum))
                else:
                    q = quote(catalogue, product.id, vehicle, structure, applicant, market, as_of)
                    c = q.contract
                    if isinstance(c, Schedule):
                        top = max(r.instalment for r in c.rows if r.kind is RowKind.AMORTISING)
                    else:
                        top = q.monthly_payment
                    payment[i] = float(top)
            except ValidationError as exc:
                rule = _ALL_IN_RATE.sub("the all-in rate", exc.rule)  # one reason, not one per rate
                outs[i] = _Outcome(
                    _DEPTH_STRUCTURE, f"{exc.field}: {rule}", f"无法按标准方案报价（{product.id}）"
                )
                continue
        if b_idx:
            sched = batch_schedule(
                np.array(b_principal, dtype=np.int64),
                [str(r) for r in b_rate],
                max(product.terms),
                shape=_shape(product, b_balloon),
                balloon_cents=np.array(b_balloon, dtype=np.int64),
                step_rate=float(product.steps.growth_rate)
                if product.steps and product.steps.growth_rate
                else 0.0,
                step_every=product.steps.every if product.steps else 12,
            )
            payment[np.array(b_idx)] = sched.instalment.max(axis=1) / int(1 / ccy.quantum)
        for i in range(len(rows)):
            if outs[i].depth >= 0:
                continue
            pti = payment[i] / income[i]
            dti = (payment[i] + debt[i]) / income[i]
            if pti > max_pti[i]:
                outs[i] = _Outcome(
                    _DEPTH_UNAFFORDABLE,
                    f"affordability.pti: the standard structure's payment is above {max_pti[i]:.0%} "
                    "of income",
                    _ZH["affordability.pti"],
                    pti,
                )
            elif dti > limits.max_dti:
                outs[i] = _Outcome(
                    _DEPTH_UNAFFORDABLE,
                    f"affordability.dti: payment and existing debts are above {limits.max_dti:.0%} of income",
                    _ZH["affordability.dti"],
                    pti,
                )
            else:
                outs[i] = _Outcome(_DEPTH_SERVABLE, pti=pti)
        out[product.id] = outs
    return out


def _lowest_rate_cap(caps: Sequence[AppliedCap], ceiling: Decimal | None) -> Decimal | None:
    """The lowest annual-rate cap among the pack's ``caps`` and the catalogue-wide ``ceiling``.

    An add-on cap limits the finance charge, not a rate: the screen cannot judge it, so it returns
    a zero cap and the structure goes to :func:`quote`, which applies it exactly.
    """
    if any(c.add_on_per_100 is not None for c in caps):
        return Decimal(0)
    rates = [c.rate for c in caps if c.rate is not None] + ([ceiling] if ceiling is not None else [])
    return min(rates) if rates else None


def _below_cap(product: Product, rate: Decimal, financed: Decimal, cap: Decimal | None) -> bool:
    """A conservative screen: whether the all-in rate (nominal + upfront finance charges) is surely
    below the legal ``cap``, so the batch path may skip the disclosure that :func:`quote` checks.

    Upfront charges f (fraction of the amount financed) raise the IRR by about f / D, D the
    contract's duration in years (about (n + 1) / 24 for an amortising loan of n months, longer with a
    balloon or steps); the screen doubles that uplift and sends anything closer to :func:`quote`.
    """
    if cap is None:
        return True
    charges = sum((fee_amount(f, financed) for f in product.fees if f.finance_charge), Decimal(0))
    uplift = 2 * (charges / financed) * 24 / (max(product.terms) + 1)
    return rate + uplift < cap


def _shape(product: Product, balloons: Sequence[int]) -> list[str]:
    if product.steps is not None:
        return ["step"] * len(balloons)
    if product.repayment is Repayment.EQUAL_PRINCIPAL:
        return ["equal_principal"] * len(balloons)
    return ["balloon" if b > 0 else "annuity" for b in balloons]


def _zh(field_name: str, product_id: str) -> str:
    return f"{_ZH.get(field_name, '不符合产品条件')}（{product_id}）"


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def _gap(
    segment: str,
    coverage: float,
    reasons: tuple[tuple[str, float], ...],
    zh: Mapping[str, str],
    threshold: float,
    labels: Mapping[str, Mapping[str, str]] | None,
) -> Gap:
    label = (labels or {}).get(segment, {})
    who_en = f"{label['en']} ({segment})" if "en" in label else segment
    who_zh = f"{label['zh-CN']}（{segment}）" if "zh-CN" in label else segment
    unserved = 1 - coverage
    why_en = "; ".join(f"{r} ({_pct(s)} of them)" for r, s in reasons)
    why_zh = "；".join(f"{zh[r]}（占 {_pct(s)}）" for r, s in reasons)
    text_en = (
        f"{who_en}: {_pct(unserved)} of members have no product they are eligible for and can afford "
        f"(coverage {_pct(coverage)}, below {_pct(threshold)}). Why, for the product each came "
        f"closest to: {why_en}."
    )
    text_zh = (
        f"{who_zh}：{_pct(unserved)} 的成员没有既符合条件又负担得起的产品（覆盖率 {_pct(coverage)}，"
        f"低于 {_pct(threshold)}）。按最接近的产品看，主要原因：{why_zh}。"
    )
    return Gap(segment, coverage, unserved, reasons, text_en, text_zh)
