"""Self-contained HTML report pages: sections of headings, paragraphs, captioned tables and plotly charts.

Shared by the risk validation report and the segment profile report. A page is one HTML file with
no network dependency at view time: the plotly.js that ships inside the installed ``plotly`` Python
package is read at run time and embedded once, inline (never a CDN, never third-party JS committed to
the repository). Every chart carries ``role="img"`` and an ``aria-label`` summarising it, and sits in a
``<figure>`` with a caption; every table has a ``<caption>``; headings are nested h1 > h2 > h3 and the
page declares its language, so a screen reader can navigate it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import jinja2
import polars as pl

__all__ = ["Page", "fmt", "pct"]

_TEMPLATE: Final = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; margin: 0 auto;
       max-width: 72rem; padding: 1rem 2rem; color: #1a1a1a; }
nav ul { columns: 2; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
figure { margin: 1rem 0 2rem; }
figcaption { font-size: 0.9rem; color: #444; }
.chart { min-height: 380px; }
.flag { color: #a00000; font-weight: 600; }
.table-wrap { overflow-x: auto; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body>
<header>
<h1>{{ title }}</h1>
{% for p in lead %}<p>{{ p }}</p>
{% endfor %}</header>
<nav aria-label="{{ contents }}"><h2>{{ contents }}</h2><ul>
{% for id, heading in toc %}<li><a href="#{{ id }}">{{ heading }}</a></li>{% endfor %}
</ul></nav>
<main>
{% macro table(t) -%}
<div class="table-wrap"><table>
<caption>{{ t.caption }}</caption>
<thead><tr>{% for c in t.columns %}
<th scope="col" class="{{ 'text' if c in t.text else '' }}">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in t.rows %}<tr>{% for c in t.columns %}
<td class="{{ 'text' if c in t.text else '' }}">{{ fmt(row[c]) }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>
{%- endmacro %}
{% macro chart(c) -%}
<figure>
<div class="chart" role="img" aria-label="{{ c.alt }}">{{ c.html | safe }}</div>
<figcaption>{{ c.caption }}</figcaption>
</figure>
{%- endmacro %}
{% for s in sections %}
<section id="{{ s.id }}" aria-labelledby="{{ s.id }}-h">
<h2 id="{{ s.id }}-h">{{ s.heading }}</h2>
{% if s.intro %}<p>{{ s.intro }}</p>{% endif %}
{% for item in s["items"] %}
{% if item.kind == "h3" %}<h3>{{ item.text }}</h3>
{% elif item.kind == "p" %}<p class="{{ item.cls }}">{{ item.text }}</p>
{% elif item.kind == "chart" %}{{ chart(item) }}
{% else %}{{ table(item) }}
{% endif %}
{% endfor %}
</section>
{% endfor %}
</main>
<footer><p>{{ footer }} Charts: plotly.js {{ plotly_version }}, embedded from the installed plotly
package.</p></footer>
</body>
</html>
"""


def fmt(value: Any) -> str:
    """A table cell: ``—`` for missing or NaN, yes/no for booleans, floats to 4 decimals (1 above 1,000)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return f"{value:.4f}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def pct(value: float) -> str:
    """A fraction as a percentage with two decimals (``0.1234`` → ``12.34 %``)."""
    return f"{100 * value:.2f} %"


class Page:
    """Collects sections, tables and charts (with deterministic element ids), then renders one page."""

    def __init__(self) -> None:
        self.sections: list[dict[str, Any]] = []
        self._figures = 0

    def section(self, sid: str, heading: str, intro: str = "") -> None:
        """Start a new ``<section>`` with an ``h2``; later items go into it."""
        self.sections.append({"id": sid, "heading": heading, "intro": intro, "items": []})

    def h3(self, text: str) -> None:
        self.sections[-1]["items"].append({"kind": "h3", "text": text})

    def para(self, text: str, cls: str = "") -> None:
        self.sections[-1]["items"].append({"kind": "p", "text": text, "cls": cls})

    def table(self, frame: pl.DataFrame, caption: str) -> None:
        """A captioned table; string columns are left-aligned."""
        text = [c for c, dt in frame.schema.items() if dt in (pl.String, pl.Categorical)]
        self.sections[-1]["items"].append(
            {
                "kind": "table",
                "caption": caption,
                "columns": frame.columns,
                "rows": frame.to_dicts(),
                "text": text,
            }
        )

    def chart(self, fig: Any, alt: str, caption: str, height: int = 380) -> None:
        """A plotly figure, rendered without its JS (the page embeds plotly.js once)."""
        self._figures += 1
        fig.update_layout(template="simple_white", margin={"l": 60, "r": 20, "t": 40, "b": 50}, height=height)
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig-{self._figures}",
            config={"displaylogo": False, "responsive": True},
            default_height=f"{height}px",
        )
        self.sections[-1]["items"].append({"kind": "chart", "html": html, "alt": alt, "caption": caption})

    def render(
        self,
        title: str,
        *,
        lead: Sequence[str] = (),
        footer: str = "",
        lang: str = "en",
        contents: str = "Contents",
    ) -> str:
        """The whole page: ``title`` (h1), ``lead`` paragraphs, a table of contents, every section."""
        import plotly  # type: ignore[import-untyped]
        from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        return env.from_string(_TEMPLATE).render(
            title=title,
            lead=list(lead),
            lang=lang,
            contents=contents,
            footer=footer,
            sections=self.sections,
            toc=[(s["id"], s["heading"]) for s in self.sections],
            fmt=fmt,
            plotly_js=get_plotlyjs(),
            plotly_version=plotly.__version__,
        )
