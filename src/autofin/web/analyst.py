"""The analyst dashboards: ``GET /analyst`` (roles analyst and admin; other roles get the 403 page, no
sign-in a redirect to ``/login``).

Filters (a GET form, so a view's URL can be shared): the period (``days``: the last 30, 90 or 365 days)
and a dealer (``dealer``: empty for all). The page shows the KPIs and five charts — volume (applications
per day, or per week for 90 and 365 days, stacked by outcome), the funnel quote → application → approval
→ booking, the segment mix (applications by segment and outcome), the product mix (top offered and booked
products) and pricing (the distribution of the top offers' annual rates by segment, as box plots). Each
chart's numbers are in a table under it. The numbers come from :mod:`autofin.web.analytics` (see its
definitions); this module only builds the plotly figures and the page.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from autofin.api.routes import engine_of, sessions_of
from autofin.catalog.models import Catalogue
from autofin.web import analytics, i18n
from autofin.web.i18n import Lang
from autofin.web.render import page, page_lang
from autofin.web.session import page_principal

router = APIRouter(include_in_schema=False)

#: Colours of the outcomes in the charts (the site's palette).
OUTCOME_COLOURS: Final = {
    "approve": "#126b2f",
    "counter_offer": "#4f9a5f",
    "refer": "#c98a00",
    "decline": "#a00000",
    "pending": "#888888",
}
#: Segments with a translated name (others are shown by key).
KNOWN_SEGMENTS: Final = frozenset(
    {
        "young_urban", "family_mainstream", "prime_professional", "small_business", "value_used",
        "first_time_buyer", "nev_buyer", "employer_programme", "payment_sensitive", "use_over_ownership",
        "unknown",
    }
)  # fmt: skip


def _t(lang: Lang) -> Any:
    catalogue = i18n.messages()
    return lambda key, **values: catalogue.text(key, lang, **values)


def segment_label(segment: str, t: Any) -> str:
    """The segment's display name (its key when the messages do not name it)."""
    return t(f"segment.{segment}") if segment in KNOWN_SEGMENTS else segment


def product_label(catalogue: Catalogue, product_id: str, lang: Lang) -> str:
    """The product's catalogue name in ``lang`` (its id when the catalogue no longer has it)."""
    p = catalogue.products.get(product_id)
    if p is None:
        return product_id
    return p.name.zh_cn if lang == "zh-CN" else p.name.en


def volume_figure(points: list[analytics.VolumePoint], t: Any, bucket: str) -> dict[str, Any]:
    """Stacked bars: applications per period, one trace per outcome."""
    outcomes = [o for o in (*analytics.OUTCOMES, "pending") if any(p.outcome == o for p in points)]
    periods = sorted({p.start for p in points})
    counts = {(p.start, p.outcome): p.count for p in points}
    data = [
        {
            "type": "bar",
            "name": t(f"analyst.outcome.{o}"),
            "x": [d.isoformat() for d in periods],
            "y": [counts.get((d, o), 0) for d in periods],
            "marker": {"color": OUTCOME_COLOURS[o]},
        }
        for o in outcomes
    ]
    return {
        "data": data,
        "layout": {
            "barmode": "stack",
            "xaxis": {"title": {"text": t(f"analyst.bucket.{bucket}")}, "type": "date"},
            "yaxis": {"title": {"text": t("analyst.applications")}},
            "legend": {"orientation": "h"},
        },
    }


def funnel_figure(f: analytics.Funnel, t: Any) -> dict[str, Any]:
    """A funnel of the four stages."""
    return {
        "data": [
            {
                "type": "funnel",
                "y": [
                    t("analyst.funnel.quotes"),
                    t("analyst.funnel.applications"),
                    t("analyst.funnel.approved"),
                    t("analyst.funnel.booked"),
                ],
                "x": [f.quotes, f.applications, f.approved, f.booked],
                "textinfo": "value+percent initial",
                "marker": {"color": "#0b57d0"},
            }
        ],
        "layout": {"margin": {"l": 140}},
    }


def segment_figure(rows: list[analytics.SegmentMix], t: Any) -> dict[str, Any]:
    """Stacked bars: applications per segment, one trace per outcome."""
    segments = list(dict.fromkeys(r.segment for r in rows))
    outcomes = [o for o in (*analytics.OUTCOMES, "pending") if any(r.outcome == o for r in rows)]
    counts = {(r.segment, r.outcome): r.count for r in rows}
    return {
        "data": [
            {
                "type": "bar",
                "name": t(f"analyst.outcome.{o}"),
                "x": [segment_label(s, t) for s in segments],
                "y": [counts.get((s, o), 0) for s in segments],
                "marker": {"color": OUTCOME_COLOURS[o]},
            }
            for o in outcomes
        ],
        "layout": {
            "barmode": "stack",
            "yaxis": {"title": {"text": t("analyst.applications")}},
            "legend": {"orientation": "h", "y": -0.3},
        },
    }


def product_figure(rows: list[analytics.ProductMix], labels: dict[str, str], t: Any) -> dict[str, Any]:
    """Grouped horizontal bars: times each product was the top offer and was booked."""
    ordered = list(reversed(rows))
    names = [labels[r.product_id] for r in ordered]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": t("analyst.product.offered"),
                "y": names,
                "x": [r.offered for r in ordered],
                "marker": {"color": "#7aa7e8"},
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": t("analyst.product.booked"),
                "y": names,
                "x": [r.booked for r in ordered],
                "marker": {"color": "#0b57d0"},
            },
        ],
        "layout": {
            "barmode": "group",
            "margin": {"l": 220},
            "legend": {"orientation": "h"},
            "height": max(340, 40 * len(rows) + 120),
        },
    }


def pricing_figure(samples: list[analytics.RateSample], t: Any) -> dict[str, Any]:
    """Box plots of the top offers' annual rates (percent) by segment."""
    return {
        "data": [
            {
                "type": "box",
                "name": segment_label(s.segment, t),
                "y": [round(r * 100, 4) for r in s.rates],
                "boxpoints": "outliers",
            }
            for s in samples
        ],
        "layout": {
            "showlegend": False,
            "yaxis": {"title": {"text": t("analyst.pricing.axis")}, "ticksuffix": "%"},
        },
    }


@router.get("/analyst", response_class=HTMLResponse)
def dashboard(request: Request, days: str = "30", dealer: str = "") -> HTMLResponse:
    """The dashboards for the chosen period and dealer; a period or dealer not offered → 422 page with
    the filter form's message."""
    principal = page_principal(request, "analyst", "admin")
    lang = page_lang(request)
    t = _t(lang)
    sessions = sessions_of(request)
    catalogue = engine_of(request).catalogue
    errors: dict[str, str] = {}
    period = int(days) if days.isdigit() and int(days) in analytics.PERIODS else None
    if period is None:
        errors["days"] = t("analyst.error.days")
    with sessions() as session:
        known_dealers = analytics.dealers(session)
        if dealer and dealer not in known_dealers:
            errors["dealer"] = t("analyst.error.dealer")
        values: dict[str, Any] = {
            "form": {"days": days, "dealer": dealer},
            "errors": errors,
            "periods": analytics.PERIODS,
            "dealers": known_dealers,
        }
        if errors:
            return page(request, "analyst_dashboard.html", {**values, "data": None}, status_code=422,
                        principal=principal)  # fmt: skip
        assert period is not None
        w = analytics.window(period, dealer or None)
        facts = analytics.application_facts(session, w)
        kpis = analytics.kpis(session, w, facts)
        funnel = analytics.funnel(session, w, facts)
        products = analytics.product_mix(session, w, facts)
    bucket = "day" if period <= 30 else "week"
    volume = analytics.volume(facts, bucket)  # type: ignore[arg-type]
    segments = analytics.segment_mix(facts)
    pricing = analytics.pricing(facts)
    labels = {r.product_id: product_label(catalogue, r.product_id, lang) for r in products}
    data = {
        "window": w,
        "kpis": kpis,
        "funnel": funnel,
        "bucket": bucket,
        "volume": volume,
        "volume_fig": volume_figure(volume, t, bucket),
        "funnel_fig": funnel_figure(funnel, t),
        "segments": segments,
        "segment_fig": segment_figure(segments, t),
        "products": products,
        "product_labels": labels,
        "product_fig": product_figure(products, labels, t),
        "pricing": pricing,
        "pricing_fig": pricing_figure(pricing, t),
        "segment_label": lambda s: segment_label(s, t),
    }
    return page(request, "analyst_dashboard.html", {**values, "data": data}, principal=principal)
