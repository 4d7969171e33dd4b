"""One validation report for one or more credit-risk models: numbers (JSON) and a self-contained page (HTML).

:func:`validation_report` computes, for each model, discrimination (ROC, AUC, Gini, KS), calibration
(PD models: expected vs observed by band, Hosmer–Lemeshow), score distributions, bad rate by band,
lift and gains, score stability (PSI) and out-of-time metrics by vintage; across models, champion
versus challenger AUC with confidence intervals; across features, characteristic stability (CSI); and,
when decisions and the protected table are given, the fairness tables of :mod:`autofin.risk.fairness`.

:meth:`Report.to_html` renders every section with plotly charts. The page is fully self-contained:
the plotly.js that ships inside the installed ``plotly`` Python package is read at run time and
embedded once, inline (no CDN, no network at view time, no third-party JS committed to the repo).
Charts carry ``role="img"`` and an ``aria-label`` summarising what they show; every number a chart
shows is also in a captioned table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go  # type: ignore[import-untyped]
import polars as pl

from autofin.errors import ValidationError
from autofin.htmlpage import Page, fmt, pct
from autofin.risk import validation as v
from autofin.risk.fairness import FairnessReport, align_protected, fairness_report

__all__ = ["ModelScores", "ModelSection", "Report", "validation_report"]

#: ROC points kept per model in the report (the curve is thinned evenly beyond this; the KS point is kept).
MAX_ROC_POINTS: Final = 400


@dataclass(frozen=True, slots=True)
class ModelScores:
    """A model's output on the validation cases.

    ``kind="pd"``: probabilities of default in ``[0, 1]`` (calibration and out-of-time PD checks run);
    ``kind="score"``: any risk score (points, logits); ``higher_is_bad=False`` for a points scorecard
    where more points mean safer. A plain array passed to :func:`validation_report` means ``kind="pd"``.
    """

    values: npt.ArrayLike
    kind: Literal["pd", "score"] = "pd"
    higher_is_bad: bool = True


@dataclass(frozen=True, slots=True)
class ModelSection:
    """Every per-model result of the report (see :mod:`autofin.risk.validation` for each)."""

    name: str
    kind: str
    higher_is_bad: bool
    auc: float
    gini: float
    ks: v.KSResult
    roc: v.RocCurve
    score_distribution: pl.DataFrame
    bad_rate_by_band: pl.DataFrame
    lift_and_gains: pl.DataFrame
    calibration: pl.DataFrame | None
    hosmer_lemeshow: v.HosmerLemeshow | None
    psi: v.PSIResult | None
    out_of_time: pl.DataFrame | None

    def to_dict(self) -> dict[str, Any]:
        def frame(f: pl.DataFrame | None) -> list[dict[str, Any]] | None:
            return None if f is None else v.frame_to_dict(f)

        return {
            "name": self.name,
            "kind": self.kind,
            "higher_is_bad": self.higher_is_bad,
            "auc": self.auc,
            "gini": self.gini,
            "ks": self.ks.to_dict(),
            "roc": self.roc.to_dict(),
            "score_distribution": frame(self.score_distribution),
            "bad_rate_by_band": frame(self.bad_rate_by_band),
            "lift_and_gains": frame(self.lift_and_gains),
            "calibration": frame(self.calibration),
            "hosmer_lemeshow": None if self.hosmer_lemeshow is None else self.hosmer_lemeshow.to_dict(),
            "psi": None if self.psi is None else self.psi.to_dict(),
            "out_of_time": frame(self.out_of_time),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A validation report: :meth:`to_json` for machines, :meth:`to_html` for people."""

    title: str
    n: int
    bads: int
    champion: str
    models: tuple[ModelSection, ...]
    comparison: v.ModelComparison
    csi: pl.DataFrame | None = None
    fairness: FairnessReport | None = None
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Every number of the report as plain JSON-ready values (``json.dumps`` works on it)."""
        return {
            "title": self.title,
            "n": self.n,
            "bads": self.bads,
            "bad_rate": self.bads / self.n,
            "champion": self.champion,
            "models": [m.to_dict() for m in self.models],
            "comparison": self.comparison.to_dict(),
            "csi": None if self.csi is None else v.frame_to_dict(self.csi),
            "fairness": None if self.fairness is None else self.fairness.to_dict(),
            "notes": list(self.notes),
        }

    def to_html(self) -> str:
        """The report as one self-contained HTML page (plotly.js from the installed package inlined once)."""
        return _render(self)


# --- building -----------------------------------------------------------------------------------------------


def _thin_roc(roc: v.RocCurve, keep: int) -> v.RocCurve:
    n = len(roc.fpr)
    if n <= MAX_ROC_POINTS:
        return roc
    idx = np.unique(np.r_[np.linspace(0, n - 1, MAX_ROC_POINTS).round().astype(int), keep])
    return v.RocCurve(
        tuple(roc.fpr[i] for i in idx), tuple(roc.tpr[i] for i in idx), tuple(roc.thresholds[i] for i in idx)
    )


def _section(
    name: str,
    model: ModelScores,
    y: npt.NDArray[np.int8],
    bands: int,
    vintages: pl.Series | None,
    dev: pl.DataFrame | None,
    later: pl.DataFrame | None,
) -> ModelSection:
    values = np.asarray(model.values, dtype=np.float64)
    hib = model.higher_is_bad
    if model.kind == "pd":
        v._probability(values, f"models.{name}")
        if not hib:
            raise ValidationError(f"models.{name}.higher_is_bad", hib, "must be True for a PD")
    elif model.kind != "score":
        raise ValidationError(f"models.{name}.kind", model.kind, "must be 'pd' or 'score'")
    roc = v.roc_points(y, values, hib)
    ks = v.ks(y, values, hib)
    gap = np.abs(np.asarray(roc.tpr) - np.asarray(roc.fpr))
    roc = _thin_roc(roc, int(np.argmax(gap)))
    a = v.auc(y, values, hib)
    is_pd = model.kind == "pd"
    psi = None
    if dev is not None and later is not None and name in dev.columns and name in later.columns:
        psi = v.psi(dev.get_column(name), later.get_column(name), bands)
    return ModelSection(
        name=name,
        kind=model.kind,
        higher_is_bad=hib,
        auc=a,
        gini=2 * a - 1,
        ks=ks,
        roc=roc,
        score_distribution=v.score_distribution(values, y, 20),
        bad_rate_by_band=v.bad_rate_by_band(values, y, bands),
        lift_and_gains=v.lift_and_gains(values, y, 10, hib),
        calibration=v.calibration_by_band(values, y, bands) if is_pd else None,
        hosmer_lemeshow=v.hosmer_lemeshow(values, y, bands) if is_pd else None,
        psi=psi,
        out_of_time=v.out_of_time(y, values, vintages) if is_pd and vintages is not None else None,
    )


def validation_report(
    y: npt.ArrayLike,
    models: Mapping[str, npt.ArrayLike | ModelScores],
    *,
    champion: str | None = None,
    dev: pl.DataFrame | None = None,
    later: pl.DataFrame | None = None,
    features: Sequence[str] | None = None,
    vintages: npt.ArrayLike | pl.Series | None = None,
    protected: pl.DataFrame | None = None,
    decision: npt.ArrayLike | None = None,
    applicant_ids: npt.ArrayLike | pl.Series | None = None,
    bands: int = 10,
    method: Literal["delong", "bootstrap"] = "delong",
    title: str = "Model validation report",
    notes: Sequence[str] = (),
) -> Report:
    """Validate one or more models on the same cases and collect everything into a :class:`Report`.

    Args:
        y: outcome per case, 1 = bad, 0 = good.
        models: name → PD array, or :class:`ModelScores` (for scores). The first is the champion
            unless ``champion`` names another; the others are challengers.
        dev, later: development-time and later samples for stability. CSI runs on ``features`` (default:
            every column in both frames except model names); a column named after a model gives its
            score PSI (development scores as *expected*, later as *actual*).
        vintages: origination cohort per case (``"2024-03"``) for the out-of-time table (PD models).
        protected: protected attributes (the protected table). With ``applicant_ids`` it is joined by
            ``applicant_id`` (:func:`autofin.risk.fairness.align_protected`); without, it must be
            row-aligned with ``y``. Needs ``decision``.
        decision: 1 = approved, 0 = declined, per case (for fairness).
        bands: number of quantile bands for calibration, bad rate, PSI.
        method: champion-vs-challenger CI method (``"delong"`` or ``"bootstrap"``).
    """
    yy = v._outcome(y)
    v._both_classes(yy, "the validation report")
    if not models:
        raise ValidationError("models", {}, "must name at least one model")
    wrapped = {nm: m if isinstance(m, ModelScores) else ModelScores(m) for nm, m in models.items()}
    for nm, m in wrapped.items():
        if np.asarray(m.values).shape != yy.shape:
            raise ValidationError(f"models.{nm}", np.asarray(m.values).shape, f"must have {yy.size} values")
    names = list(wrapped)
    champion = names[0] if champion is None else champion
    if champion not in wrapped:
        raise ValidationError("champion", champion, f"must be one of {names}")
    vint = None
    if vintages is not None:
        vint = v.as_series("vintage", vintages)
    sections = tuple(_section(nm, m, yy, bands, vint, dev, later) for nm, m in wrapped.items())
    risk = {
        nm: np.asarray(m.values, dtype=np.float64) * (1.0 if m.higher_is_bad else -1.0)
        for nm, m in wrapped.items()
    }
    comparison = v.compare_models(yy, risk, champion=champion, method=method)
    csi = None
    if dev is not None and later is not None:
        feats = (
            list(features)
            if features is not None
            else [c for c in dev.columns if c in later.columns and c not in wrapped]
        )
        csi = v.csi(dev, later, feats, bands) if feats else None
    fairness = None
    if protected is not None:
        if decision is None:
            raise ValidationError("decision", None, "is needed with protected (1 = approved, 0 = declined)")
        table = align_protected(applicant_ids, protected) if applicant_ids is not None else protected
        score = np.asarray(wrapped[champion].values, dtype=np.float64)
        fairness = fairness_report(decision, score, yy, table)
    return Report(
        title=title,
        n=int(yy.size),
        bads=int(yy.sum()),
        champion=champion,
        models=sections,
        comparison=comparison,
        csi=csi,
        fairness=fairness,
        notes=tuple(notes),
    )


# --- HTML ---------------------------------------------------------------------------------------------------


def _overview(page: Page, report: Report) -> None:
    page.section("overview", "Overview", "Discrimination of each model on the validation cases.")
    rows = [
        {
            "model": m.name,
            "kind": m.kind,
            "AUC": m.auc,
            "Gini": m.gini,
            "KS": m.ks.statistic,
            "KS threshold": m.ks.threshold,
            "Hosmer–Lemeshow p": m.hosmer_lemeshow.p_value if m.hosmer_lemeshow else None,
            "score PSI": m.psi.value if m.psi else None,
        }
        for m in report.models
    ]
    page.table(
        pl.DataFrame(rows, infer_schema_length=None), "Summary of discrimination, calibration and stability"
    )


def _roc_ks(page: Page, report: Report) -> None:
    page.section(
        "roc", "ROC curve and KS", "Higher curves separate bads from goods better; the diagonal is chance."
    )
    fig = go.Figure()
    for m in report.models:
        fig.add_trace(go.Scatter(x=m.roc.fpr, y=m.roc.tpr, mode="lines", name=f"{m.name} (AUC {m.auc:.3f})"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dot"}))
    fig.update_layout(
        xaxis_title="false positive rate (share of goods flagged)", yaxis_title="true positive rate"
    )
    alt = "ROC curves: " + "; ".join(f"{m.name} AUC {m.auc:.3f}, Gini {m.gini:.3f}" for m in report.models)
    page.chart(fig, alt, "ROC curve of each model on the validation cases.")
    for m in report.models:
        fig = go.Figure()
        thr = [t for t in m.roc.thresholds[1:]]
        fig.add_trace(go.Scatter(x=thr, y=m.roc.tpr[1:], mode="lines", name="bads at or beyond threshold"))
        fig.add_trace(go.Scatter(x=thr, y=m.roc.fpr[1:], mode="lines", name="goods at or beyond threshold"))
        fig.add_vline(x=m.ks.threshold, line_dash="dash")
        fig.update_layout(xaxis_title=f"{m.name} threshold", yaxis_title="cumulative share")
        alt = (
            f"KS chart for {m.name}: maximum separation {m.ks.statistic:.3f} "
            f"at threshold {m.ks.threshold:.4g}, "
            f"where {m.ks.bad_share:.1%} of bads and {m.ks.good_share:.1%} of goods lie at or beyond it."
        )
        page.chart(fig, alt, f"KS: cumulative shares of bads and goods by {m.name} threshold.")


def _calibration(page: Page, report: Report) -> None:
    pds = [m for m in report.models if m.calibration is not None]
    if not pds:
        return
    page.section("calibration", "Calibration", "Expected (mean PD) versus observed bad rate by PD band.")
    fig = go.Figure()
    top = 0.0
    for m in pds:
        assert m.calibration is not None
        exp, obs = m.calibration["expected_bad_rate"].to_list(), m.calibration["observed_bad_rate"].to_list()
        top = max(top, *exp, *obs)
        fig.add_trace(go.Scatter(x=exp, y=obs, mode="lines+markers", name=m.name))
    fig.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect calibration", line={"dash": "dot"})
    )
    fig.update_layout(xaxis_title="expected bad rate (mean PD)", yaxis_title="observed bad rate")
    page.chart(
        fig,
        "Calibration plot: observed versus expected bad rate by PD band for "
        + ", ".join(m.name for m in pds),
        "Points on the diagonal are well calibrated.",
    )
    for m in pds:
        assert m.calibration is not None and m.hosmer_lemeshow is not None
        hl = m.hosmer_lemeshow
        page.table(m.calibration, f"{m.name}: expected versus observed bads by PD band")
        page.para(
            f"{m.name}: Hosmer–Lemeshow statistic {hl.statistic:.3f} on {hl.df} degrees of freedom, "
            f"p = {hl.p_value:.4f}" + (" (calibration rejected at 5 %)." if hl.p_value < 0.05 else "."),
            "flag" if hl.p_value < 0.05 else "",
        )


def _distributions(page: Page, report: Report) -> None:
    page.section("distribution", "Score distributions and bad rate by band")
    for m in report.models:
        d = m.score_distribution
        mid = ((d["lower"] + d["upper"]) / 2).to_list()
        fig = go.Figure()
        fig.add_trace(go.Bar(x=mid, y=d["good_share"].to_list(), name="goods", opacity=0.6))
        fig.add_trace(go.Bar(x=mid, y=d["bad_share"].to_list(), name="bads", opacity=0.6))
        fig.update_layout(barmode="overlay", xaxis_title=m.name, yaxis_title="share of class")
        page.chart(
            fig,
            f"Histogram of {m.name} for goods and bads over {d.height} bins; KS {m.ks.statistic:.3f}.",
            f"Distribution of {m.name} for goods and bads.",
        )
        page.table(d, f"{m.name}: score distribution by bin")
        b = m.bad_rate_by_band
        fig = go.Figure(
            go.Bar(x=[str(i + 1) for i in b["band"].to_list()], y=b["bad_rate"].to_list(), name="bad rate")
        )
        fig.update_layout(xaxis_title=f"{m.name} band (quantiles, low to high)", yaxis_title="bad rate")
        rates = b["bad_rate"].to_list()
        page.chart(
            fig,
            f"Bad rate by {m.name} band: from {rates[0]:.1%} in the lowest band "
            f"to {rates[-1]:.1%} in the highest.",
            f"Observed bad rate by {m.name} band.",
        )
        page.table(b, f"{m.name}: bad rate by band")


def _stability(page: Page, report: Report) -> None:
    with_psi = [m for m in report.models if m.psi is not None]
    if not with_psi and report.csi is None:
        return
    page.section(
        "stability",
        "Stability (PSI and CSI)",
        "PSI below 0.10: stable; 0.10 to 0.25: moderate shift, investigate; 0.25 and above: major shift.",
    )
    for m in with_psi:
        assert m.psi is not None
        t = m.psi.table
        fig = go.Figure()
        fig.add_trace(go.Bar(x=t["bin"].to_list(), y=t["expected_share"].to_list(), name="development"))
        fig.add_trace(go.Bar(x=t["bin"].to_list(), y=t["actual_share"].to_list(), name="later"))
        fig.update_layout(barmode="group", xaxis_title=f"{m.name} bin", yaxis_title="share")
        page.chart(
            fig,
            f"{m.name} score PSI {m.psi.value:.4f} ({m.psi.band}): development and later shares by bin.",
            f"Score stability of {m.name}.",
        )
        page.table(t, f"{m.name}: PSI {m.psi.value:.4f} ({m.psi.band}) by bin")
    if report.csi is not None:
        c = report.csi
        fig = go.Figure(go.Bar(x=c["feature"].to_list(), y=c["csi"].to_list(), name="CSI"))
        for level in v.PSI_BANDS:
            fig.add_hline(y=level, line_dash="dash")
        fig.update_layout(xaxis_title="feature", yaxis_title="CSI")
        shifted = c.filter(pl.col("band") != "stable")["feature"].to_list()
        page.chart(
            fig,
            f"Characteristic stability of {c.height} features; "
            + (f"shifted: {', '.join(shifted)}." if shifted else "all stable."),
            "CSI by feature with the 0.10 and 0.25 bands.",
        )
        page.table(c, "Characteristic stability index by feature")


def _lift(page: Page, report: Report) -> None:
    page.section("lift", "Lift and gains", "Groups of equal size, riskiest first.")
    fig = go.Figure()
    for m in report.models:
        g = m.lift_and_gains
        fig.add_trace(
            go.Scatter(
                x=[0.0, *g["cum_population_share"].to_list()], y=[0.0, *g["gains"].to_list()], name=m.name
            )
        )
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random", line={"dash": "dot"}))
    fig.update_layout(xaxis_title="share of cases (riskiest first)", yaxis_title="share of bads captured")
    first = ", ".join(
        f"{m.name} captures {m.lift_and_gains['gains'][0]:.1%} of bads in its riskiest group"
        for m in report.models
    )
    page.chart(fig, f"Cumulative gains curves: {first}.", "Cumulative gains.")
    for m in report.models:
        page.table(m.lift_and_gains, f"{m.name}: lift and gains by group (1 = riskiest)")


def _comparison(page: Page, report: Report) -> None:
    c = report.comparison
    page.section(
        "comparison",
        "Champion versus challenger",
        f"AUC with {c.confidence:.0%} confidence intervals "
        f"({'DeLong' if c.method == 'delong' else 'bootstrap'}).",
    )
    models = c.models
    fig = go.Figure(
        go.Scatter(
            x=[m.auc for m in models],
            y=[m.model for m in models],
            mode="markers",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [m.ci_upper - m.auc for m in models],
                "arrayminus": [m.auc - m.ci_lower for m in models],
            },
        )
    )
    fig.update_layout(xaxis_title="AUC", yaxis_title="model")
    page.chart(
        fig,
        "AUC with confidence intervals: "
        + "; ".join(f"{m.model} {m.auc:.3f} ({m.ci_lower:.3f} to {m.ci_upper:.3f})" for m in models),
        "AUC of each model with its confidence interval.",
    )
    page.table(pl.DataFrame([m.to_dict() for m in models], infer_schema_length=None), "AUC by model")
    if c.comparisons:
        page.table(
            pl.DataFrame([x.to_dict() for x in c.comparisons], infer_schema_length=None),
            "Challenger AUC minus champion AUC",
        )


def _oot(page: Page, report: Report) -> None:
    with_oot = [m for m in report.models if m.out_of_time is not None]
    if not with_oot:
        return
    page.section("oot", "Out of time, by vintage", "Young vintages have had little time to go bad.")
    fig = go.Figure()
    for m in with_oot:
        assert m.out_of_time is not None
        o = m.out_of_time
        fig.add_trace(
            go.Scatter(x=o["vintage"].cast(pl.String).to_list(), y=o["gini"].to_list(), name=f"{m.name} Gini")
        )
    champ = next((m for m in with_oot if m.name == report.champion), with_oot[0])
    assert champ.out_of_time is not None
    o = champ.out_of_time
    fig.add_trace(
        go.Bar(
            x=o["vintage"].cast(pl.String).to_list(),
            y=o["bad_rate"].to_list(),
            name="observed bad rate",
            opacity=0.4,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=o["vintage"].cast(pl.String).to_list(),
            y=o["mean_pd"].to_list(),
            name=f"{champ.name} mean PD",
            line={"dash": "dash"},
        )
    )
    fig.update_layout(xaxis_title="vintage", yaxis_title="Gini / rate")
    page.chart(
        fig,
        f"Gini by vintage for {', '.join(m.name for m in with_oot)} across {o.height} vintages, with the "
        f"observed bad rate and {champ.name}'s mean PD.",
        "Out-of-time discrimination and calibration by vintage.",
    )
    for m in with_oot:
        assert m.out_of_time is not None
        page.table(m.out_of_time, f"{m.name}: metrics by vintage")


def _fairness(page: Page, report: Report) -> None:
    f = report.fairness
    if f is None:
        return
    page.section(
        "fairness",
        "Fairness by protected group",
        f"{f.approved} of {f.n} approved. Adverse impact ratio = group approval rate / highest group rate; "
        f"below {f.threshold:.2f} (the four-fifths rule, 29 CFR 1607.4(D)) is flagged. Protected attributes "
        "are read only for this section, from the protected table; they are not model inputs.",
    )
    for a in f.attributes:
        page.h3(a.attribute)
        fig = go.Figure(
            go.Bar(x=a.table["group"].to_list(), y=a.table["approval_rate"].to_list(), name="approval rate")
        )
        top = a.table.filter(pl.col("group") == a.reference_group)["approval_rate"]
        if top.len():
            fig.add_hline(y=f.threshold * float(top[0]), line_dash="dash")
        fig.update_layout(xaxis_title=a.attribute, yaxis_title="approval rate")
        air = "undefined" if a.adverse_impact_ratio is None else f"{a.adverse_impact_ratio:.3f}"
        page.chart(
            fig,
            f"Approval rate by {a.attribute} group; adverse impact ratio {air}"
            + (" — below four-fifths." if a.four_fifths_flag else "."),
            f"Approval rate by {a.attribute}; the dashed line is four-fifths of the highest group's rate.",
        )
        summary = (
            f"Adverse impact ratio {air}; approval-rate gap {fmt(a.approval_rate_gap)}; mean-score gap "
            f"{fmt(a.mean_score_gap)}; equal-opportunity difference {fmt(a.equal_opportunity_difference)}; "
            f"reference group {a.reference_group}."
        )
        page.para(
            summary + (" Flagged: below four-fifths." if a.four_fifths_flag else ""),
            "flag" if a.four_fifths_flag else "",
        )
        page.table(a.table, f"Approval and outcomes by {a.attribute} group")


def _render(report: Report) -> str:
    page = Page()
    _overview(page, report)
    _roc_ks(page, report)
    _calibration(page, report)
    _distributions(page, report)
    _stability(page, report)
    _lift(page, report)
    _comparison(page, report)
    _oot(page, report)
    _fairness(page, report)
    challengers = [m.name for m in report.models if m.name != report.champion]
    lead = [
        f"{report.n} cases, {report.bads} bad ({pct(report.bads / report.n)}). Champion: {report.champion}"
        + (f"; challengers: {', '.join(challengers)}." if challengers else ".")
    ]
    return page.render(
        report.title,
        lead=[*lead, *report.notes],
        footer="Generated by autofin.risk.report. Formulas: docs/risk-validation.md.",
    )


def write_html(report: Report, path: str) -> None:
    """Write :meth:`Report.to_html` to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(report.to_html())


def dumps(report: Report) -> str:
    """:meth:`Report.to_json` as a JSON string (strict: no NaN)."""
    return json.dumps(report.to_json(), allow_nan=False, sort_keys=True)
