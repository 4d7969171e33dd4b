"""Guardrails for segmentations: no protected attribute as an input, and a proxy check on the output.

A segmentation must not *use* gender, age band or ethnicity (:func:`refuse_inputs` refuses any feature
list or rule field naming one), and it should not *reproduce* one either: a labelling that sorts
applicants by, say, age band works as a proxy for it even when age band was never an input.
:func:`proxy_check` measures, for each protected attribute of the world's ``protected`` table, how
strongly the labelling is associated with it:

* **Cramér's V, bias-corrected** (Bergsma, W. (2013), "A bias-correction for Cramér's V and
  Tschuprow's T", *Journal of the Korean Statistical Society* 42(3), 323–328): φ² = χ²/n is shrunk by
  its expectation under independence, (k−1)(r−1)/(n−1), and the table's dimensions are corrected the
  same way, so V ≈ 0 for independent variables at any sample size and V = 1 for a labelling equal to
  the attribute;
* the **chi-square test of independence** (:func:`scipy.stats.chi2_contingency`, no continuity
  correction) and its p-value;
* per segment, each group's **share in the segment against its share in the population**
  (representation = the ratio), and the **impact ratio**: the smallest group's rate of being placed in
  the segment over the largest group's (the "four-fifths" reading of the US Uniform Guidelines on
  Employee Selection Procedures, 29 CFR 1607.4(D): below 0.8 reads as a marked imbalance).

A pair (labelling, attribute) is **flagged as a proxy** when V reaches Cohen's "medium" effect size
for its degrees of freedom — w = 0.3 (Cohen, J. (1988), *Statistical Power Analysis for the
Behavioral Sciences*, 2nd ed., ch. 7), i.e. V ≥ 0.3/√(min(r, c) − 1): 0.30 for a two-group attribute,
0.15 for five segments × six age bands — and the chi-square test rejects independence at ``alpha``.
The effect size decides, not the p-value: on tens of thousands of applicants a negligible association
is "significant". See docs/segments-fit.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
from scipy.stats import chi2_contingency  # type: ignore[import-untyped]

from autofin.data.schemas import PROTECTED_COLUMNS
from autofin.errors import ValidationError
from autofin.segments.features import refuse_protected

__all__ = [
    "PROTECTED_ATTRIBUTES",
    "ProxyFinding",
    "ProxyReport",
    "cramers_v_corrected",
    "proxy_check",
    "refuse_inputs",
]

#: The protected attributes checked by default, in report order.
PROTECTED_ATTRIBUTES: Final = ("gender", "age_band", "ethnicity")

_ATTR_ZH: Final = {"gender": "性别", "age_band": "年龄段", "ethnicity": "民族"}


def refuse_inputs(features: Iterable[str] = (), rule_fields: Iterable[str] = ()) -> None:
    """Raise :class:`ValidationError` naming ``features`` or ``rule_fields`` when either names a
    protected attribute (a rule field may be dotted, ``applicant.gender``: its last part is checked)."""
    refuse_protected(list(features), "features")
    refuse_protected([f.rsplit(".", 1)[-1] for f in rule_fields], "rule_fields")


def cramers_v_corrected(table: np.ndarray) -> tuple[float, float, float, int]:
    """Bias-corrected Cramér's V (Bergsma 2013) of a contingency table of counts.

    Returns ``(v, chi2, p_value, dof)``. Rows or columns that are all zero are dropped first; a table
    with fewer than two rows or columns left has no association (V = 0, p = 1).
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    r, k = t.shape if t.ndim == 2 else (0, 0)
    n = float(t.sum())
    if r < 2 or k < 2 or n < 2:
        return 0.0, 0.0, 1.0, 0
    chi2, p, dof, _ = chi2_contingency(t, correction=False)
    phi2 = chi2 / n
    phi2_corr = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    k_corr = k - (k - 1) ** 2 / (n - 1)
    r_corr = r - (r - 1) ** 2 / (n - 1)
    denom = min(k_corr - 1, r_corr - 1)
    v = math.sqrt(phi2_corr / denom) if denom > 0 else 0.0
    return min(v, 1.0), float(chi2), float(p), int(dof)


@dataclass(frozen=True, slots=True)
class ProxyFinding:
    """One (labelling, attribute) verdict in words: ``text_en`` and ``text_zh``."""

    attribute: str
    cramers_v: float | None
    threshold: float | None
    flagged: bool
    text_en: str
    text_zh: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "cramers_v": self.cramers_v,
            "threshold": self.threshold,
            "flagged": self.flagged,
            "text": {"en": self.text_en, "zh-CN": self.text_zh},
        }


@dataclass(frozen=True)
class ProxyReport:
    """The proxy check of one labelling against each protected attribute.

    ``associations`` (one row per attribute checked): ``labelling``, ``attribute``, ``n`` (applicants
    with both a label and the attribute), ``segments``, ``groups``, ``chi2``, ``dof``, ``p_value``,
    ``cramers_v`` (bias-corrected), ``threshold`` (0.3/√(min(r, c) − 1)), ``flagged``.
    ``groups`` (one row per attribute × segment × group): ``n``, ``share_in_segment``,
    ``share_in_population`` (fractions), ``representation`` (their ratio).
    ``segments`` (one row per attribute × segment): ``impact_ratio`` (smallest / largest group rate of
    being in the segment; < 0.8 is the four-fifths reading), ``min_group``, ``max_group``.
    ``findings``: a sentence per attribute, flagged or not; ``notes``: attributes skipped and why.
    """

    labelling: str
    associations: pl.DataFrame
    groups: pl.DataFrame
    segments: pl.DataFrame
    findings: tuple[ProxyFinding, ...]
    notes: tuple[str, ...]
    min_effect_w: float
    alpha: float

    @property
    def flagged(self) -> tuple[str, ...]:
        """The attributes flagged as proxied by the labelling."""
        return tuple(f.attribute for f in self.findings if f.flagged)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {
            "labelling": self.labelling,
            "min_effect_w": self.min_effect_w,
            "alpha": self.alpha,
            "associations": self.associations.to_dicts(),
            "groups": self.groups.to_dicts(),
            "segments": self.segments.to_dicts(),
            "findings": [f.to_dict() for f in self.findings],
            "flagged": list(self.flagged),
            "notes": list(self.notes),
        }


_ASSOC_SCHEMA: Final = {
    "labelling": pl.String,
    "attribute": pl.String,
    "n": pl.Int64,
    "segments": pl.Int64,
    "groups": pl.Int64,
    "chi2": pl.Float64,
    "dof": pl.Int64,
    "p_value": pl.Float64,
    "cramers_v": pl.Float64,
    "threshold": pl.Float64,
    "flagged": pl.Boolean,
}
_GROUP_SCHEMA: Final = {
    "attribute": pl.String,
    "segment": pl.String,
    "group": pl.String,
    "n": pl.Int64,
    "share_in_segment": pl.Float64,
    "share_in_population": pl.Float64,
    "representation": pl.Float64,
}
_SEGMENT_SCHEMA: Final = {
    "attribute": pl.String,
    "segment": pl.String,
    "impact_ratio": pl.Float64,
    "min_group": pl.String,
    "max_group": pl.String,
}


def proxy_check(
    segments: pl.DataFrame,
    protected: pl.DataFrame,
    *,
    labelling: str = "segment",
    attributes: Sequence[str] = PROTECTED_ATTRIBUTES,
    min_effect_w: float = 0.3,
    alpha: float = 0.05,
) -> ProxyReport:
    """How strongly a labelling (``applicant_id``, ``segment``) is associated with each protected
    attribute of ``protected`` (``applicant_id`` + the attributes; the world's ``protected`` table).

    ``labelling`` names the labelling in the report. An attribute that is null for everyone (ethnicity
    in CN) is skipped with a note; applicants with a null attribute are left out of that attribute's
    table (noted). ``min_effect_w``: Cohen's w at which a pair is flagged (0.3 = "medium");
    ``alpha``: the chi-square test's level.

    Raises:
        ValidationError: naming a missing column, an attribute that is not protected, an empty
            labelling or a bad parameter.
    """
    if not 0 < min_effect_w <= 1:
        raise ValidationError("min_effect_w", min_effect_w, "must be in (0, 1]")
    if not 0 < alpha < 1:
        raise ValidationError("alpha", alpha, "must be in (0, 1)")
    for c in ("applicant_id", "segment"):
        if c not in segments.columns:
            raise ValidationError(f"segments.{c}", None, f"column {c!r} is required")
    refuse_protected(segments.columns, "segments")
    if "applicant_id" not in protected.columns:
        raise ValidationError("protected.applicant_id", None, "column 'applicant_id' is required")
    for a in attributes:
        if a not in PROTECTED_COLUMNS:
            raise ValidationError(
                "attributes", a, f"must be protected attributes ({', '.join(PROTECTED_ATTRIBUTES)})"
            )
        if a not in protected.columns:
            raise ValidationError(f"protected.{a}", None, f"column {a!r} is required")
    labels = segments.select("applicant_id", pl.col("segment").cast(pl.String)).drop_nulls("segment")
    if labels.is_empty():
        raise ValidationError("segments", 0, "must label at least one applicant")
    joined = labels.join(protected.select("applicant_id", *attributes), on="applicant_id", how="inner")
    if joined.is_empty():
        raise ValidationError(
            "protected.applicant_id", None, "no labelled applicant has protected attributes"
        )

    assoc: list[dict[str, Any]] = []
    group_rows: list[dict[str, Any]] = []
    seg_rows: list[dict[str, Any]] = []
    findings: list[ProxyFinding] = []
    notes: list[str] = []
    for a in attributes:
        col = joined[a]
        if col.null_count() == joined.height:
            notes.append(f"{a}: null for every applicant (not defined in this jurisdiction); skipped")
            continue
        if col.null_count():
            notes.append(f"{a}: {col.null_count()} applicant(s) with no value left out")
        data = joined.select("segment", pl.col(a).cast(pl.String).alias("group")).drop_nulls("group")
        segs = sorted(data["segment"].unique().to_list())
        groups = sorted(data["group"].unique().to_list())
        counts = data.group_by("segment", "group").len()
        table = np.zeros((len(segs), len(groups)))
        si = {s: i for i, s in enumerate(segs)}
        gi = {g: j for j, g in enumerate(groups)}
        for s, g, c in counts.iter_rows():
            table[si[s], gi[g]] = c
        v, chi2, p, dof = cramers_v_corrected(table)
        m = min(len(segs), len(groups)) - 1
        threshold = min_effect_w / math.sqrt(m) if m >= 1 else None
        flagged = threshold is not None and v >= threshold and p < alpha
        assoc.append(
            {
                "labelling": labelling,
                "attribute": a,
                "n": data.height,
                "segments": len(segs),
                "groups": len(groups),
                "chi2": chi2,
                "dof": dof,
                "p_value": p,
                "cramers_v": v,
                "threshold": threshold,
                "flagged": flagged,
            }
        )
        n = table.sum()
        pop = table.sum(axis=0) / n
        seg_n = table.sum(axis=1)
        group_n = table.sum(axis=0)
        worst = ("", 2.0)
        for s in segs:
            row = table[si[s]]
            for g in groups:
                share = row[gi[g]] / seg_n[si[s]]
                group_rows.append(
                    {
                        "attribute": a,
                        "segment": s,
                        "group": g,
                        "n": int(row[gi[g]]),
                        "share_in_segment": float(share),
                        "share_in_population": float(pop[gi[g]]),
                        "representation": float(share / pop[gi[g]]),
                    }
                )
            rates = row / group_n  # each group's rate of being placed in this segment
            lo, hi = int(np.argmin(rates)), int(np.argmax(rates))
            ratio = float(rates[lo] / rates[hi]) if rates[hi] > 0 else 1.0
            seg_rows.append(
                {
                    "attribute": a,
                    "segment": s,
                    "impact_ratio": ratio,
                    "min_group": groups[lo],
                    "max_group": groups[hi],
                }
            )
            if ratio < worst[1]:
                worst = (f"{s} (impact ratio {ratio:.2f}: {groups[lo]} vs {groups[hi]})", ratio)
        findings.append(_finding(labelling, a, v, threshold, flagged, p, worst[0]))
    for a in attributes:
        if not any(f.attribute == a for f in findings):
            findings.append(
                ProxyFinding(
                    a,
                    None,
                    None,
                    False,
                    f"{a}: not checked — {a} is not recorded here.",
                    f"{_ATTR_ZH.get(a, a)}：未检查——本数据未记录该属性。",
                )
            )
    return ProxyReport(
        labelling=labelling,
        associations=pl.DataFrame(assoc, schema=_ASSOC_SCHEMA),
        groups=pl.DataFrame(group_rows, schema=_GROUP_SCHEMA),
        segments=pl.DataFrame(seg_rows, schema=_SEGMENT_SCHEMA),
        findings=tuple(findings),
        notes=tuple(notes),
        min_effect_w=min_effect_w,
        alpha=alpha,
    )


def _finding(
    labelling: str, a: str, v: float, threshold: float | None, flagged: bool, p: float, worst: str
) -> ProxyFinding:
    zh_a = _ATTR_ZH.get(a, a)
    t = "n/a" if threshold is None else f"{threshold:.2f}"
    if flagged:
        en = (
            f"{a}: the labelling {labelling!r} is a proxy for {a} — Cramér's V {v:.2f} reaches the "
            f"medium-effect threshold {t} (p = {p:.2g}); knowing an applicant's segment says much about "
            f"their {a}. Most uneven segment: {worst}. Review whether the segment definitions or the "
            "products targeted at them treat these groups differently."
        )
        zh = (
            f"{zh_a}：分群“{labelling}”是{zh_a}的代理变量——Cramér's V 为 {v:.2f}，达到中等效应阈值 {t}"
            f"（p = {p:.2g}）；知道客户所属分群即可在很大程度上推断其{zh_a}。请复核分群定义及面向各分群的产品"
            "是否对不同群体区别对待。"
        )
    else:
        en = (
            f"{a}: association with {labelling!r} is below the proxy threshold — Cramér's V {v:.2f} "
            f"< {t} (p = {p:.2g}). Most uneven segment: {worst}."
        )
        zh = (
            f"{zh_a}：与分群“{labelling}”的关联低于代理阈值——Cramér's V 为 {v:.2f}，低于 {t}（p = {p:.2g}）。"
        )
    return ProxyFinding(a, v, threshold, flagged, en, zh)
