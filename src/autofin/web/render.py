"""Rendering pages: the Jinja2 environment, the page context and charts.

Templates live in ``autofin/web/templates`` (package data) and extend ``base.html``, which carries the
page language, a skip link, the navigation of the signed-in role, the language switch and the footer.
Autoescaping is on for every template. :func:`page` renders one template with the standard context:

- ``lang``; ``t(key, **values)`` (the message of :mod:`autofin.web.i18n` in the page's language);
  ``money(amount, currency)``, ``number(x, digits)``, ``percent(rate, digits)``, ``day(date)``;
- ``principal`` (or ``None``) and ``nav`` (the links its role may follow);
- ``lang_links`` (the current URL in each language) and ``path``.

**Charts** (:func:`chart`): a plotly figure (a plain dict of ``data`` and ``layout``) is written into the
page as JSON inside ``<script type="application/json">`` next to an empty ``<div data-chart>``;
``/static/charts.js`` (ours) draws every such div with the plotly.js that ships inside the installed
``plotly`` Python package (served at ``/static/plotly.min.js``, never committed, never from a CDN). No
inline script runs, so the pages' Content-Security-Policy allows scripts from the site itself only. Each
chart is a ``<figure>`` with a caption and an ``aria-label`` summary, and its numbers are also in a table
on the page for readers who cannot see the chart.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from autofin.api.auth import Principal
from autofin.web import i18n
from autofin.web.i18n import LANG_COOKIE, Lang
from autofin.web.session import current_principal

#: Response headers of every page.
PAGE_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: (message key, path, roles that see the link) of the navigation bar.
NAV: Final[tuple[tuple[str, str, frozenset[str]], ...]] = (
    ("nav.dealer", "/dealer", frozenset({"dealer", "admin"})),
    ("nav.underwriter", "/underwriter", frozenset({"underwriter", "admin"})),
    ("nav.analyst", "/analyst", frozenset({"analyst", "admin"})),
    ("nav.calculator", "/customer/calculator", frozenset({"*"})),
    ("nav.prequalify", "/customer/prequalify", frozenset({"*"})),
    ("nav.compare", "/customer/compare", frozenset({"*"})),
)

_chart_ids = itertools.count(1)


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of the package, autoescaped, with undefined variables as errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("autofin.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_lang(request: Request) -> Lang:
    """The language of the page (see :func:`autofin.web.i18n.negotiate`)."""
    return i18n.negotiate(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def lang_links(request: Request) -> dict[Lang, str]:
    """The current page in each language (``?lang=`` added to the query, other parameters kept)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {lang: f"{request.url.path}?{urlencode([*params, ('lang', lang)])}" for lang in i18n.LANGS}


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    """(message key, path) of the links ``principal`` may follow (the customer pages for everyone)."""
    role = principal.role if principal is not None else None
    return [(key, path) for key, path, roles in NAV if "*" in roles or role in roles]


def context(request: Request, lang: Lang, principal: Principal | None) -> dict[str, Any]:
    """The standard template context (see the module docstring)."""
    catalogue = i18n.messages()

    def t(key: str, /, **values: object) -> str:
        return catalogue.text(key, lang, **values)

    return {
        "request": request,
        "lang": lang,
        "t": t,
        "money": lambda amount, currency="CNY": i18n.money(amount, currency, lang),
        "number": lambda value, digits=0: i18n.number(value, lang, digits),
        "percent": lambda rate, digits=2: i18n.percent(rate, lang, digits),
        "day": lambda value: i18n.day(value, lang),
        "principal": principal,
        "nav": nav_for(principal),
        "lang_links": lang_links(request),
        "path": request.url.path,
        "chart": chart,
    }


def page(
    request: Request,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """Render ``template`` with the standard context plus ``values``; a ``?lang=`` choice is kept in the
    ``lang`` cookie for the next pages."""
    lang = page_lang(request)
    who = principal if principal is not None else current_principal(request)
    body = environment().get_template(template).render({**context(request, lang, who), **(values or {})})
    response = HTMLResponse(body, status_code=status_code, headers=dict(PAGE_HEADERS))
    chosen = i18n.as_lang(request.query_params.get("lang"))
    if chosen is not None and chosen != i18n.as_lang(request.cookies.get(LANG_COOKIE)):
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (``<``, ``>`` and ``&`` escaped as JSON ``\\u`` codes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def chart(figure: Mapping[str, Any], label: str, caption: str = "") -> Markup:
    """A ``<figure>`` drawing ``figure`` (plotly ``data`` + ``layout``) with ``label`` as its accessible
    summary and ``caption`` under it (see the module docstring)."""
    ident = f"chart-{next(_chart_ids)}"
    spec = {"data": list(figure.get("data", [])), "layout": dict(figure.get("layout", {}))}
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return Markup(
        f'<figure class="chart-figure"><div class="chart" id="{ident}" data-chart="{ident}-spec" '
        f'role="img" aria-label="{escape(label)}"></div>'
        f'<script type="application/json" id="{ident}-spec">{_script_json(spec)}</script>{cap}</figure>'
    )
