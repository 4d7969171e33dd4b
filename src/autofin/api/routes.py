"""The ``/v1`` endpoints: health, versions, products, quotes and decisions.

Roles: ``/v1/health`` is open; versions, products and quotes are open to every authenticated role;
decisions to dealers and admins. The decision engine is the one loaded at startup
(``request.app.state.engine``), never built per request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request

from autofin.api.auth import Principal, require
from autofin.api.models import (
    DecisionRecord,
    Health,
    Lang,
    ProductDetail,
    ProductList,
    QuoteOut,
    QuoteRequest,
    Versions,
    product_detail,
    product_summary,
)
from autofin.api.problems import PROBLEM_JSON, Problem, ProblemError
from autofin.catalog.quote import quote, quote_json
from autofin.store.contracts import log_quote

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from autofin.decision.engine import DecisionEngine
    from autofin.store.crypto import KeyRing

router = APIRouter(prefix="/v1")


def problems_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem documents of ``statuses``."""
    texts = {
        401: "no or unknown API token",
        403: "the principal's role may not call this endpoint",
        404: "no such resource",
        409: "the idempotency key was already used for a different request",
        422: "the request is not valid; `errors` names each field",
        429: "rate limit exceeded; see Retry-After",
    }
    return {s: {"model": Problem, "description": texts[s], "content": {PROBLEM_JSON: {}}} for s in statuses}


AUTH_PROBLEMS = (401, 403, 429)


def engine_of(request: Request) -> DecisionEngine:
    """The engine loaded at startup."""
    engine: DecisionEngine = request.app.state.engine
    return engine


def sessions_of(request: Request) -> sessionmaker[Session]:
    """The store's session factory opened at startup (one session, one transaction per action)."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def keys_of(request: Request) -> KeyRing:
    """The key ring that encrypts and decrypts stored personal data."""
    keys: KeyRing = request.app.state.keys
    return keys


def preferred_lang(accept_language: str | None) -> Lang:
    """The language of an ``Accept-Language`` header: ``zh-CN`` when any Chinese tag (``zh``, ``zh-CN``,
    ``zh-Hans``…; the records offer Simplified Chinese only) is preferred over English (highest ``q``,
    earlier first at equal ``q``), else ``en``."""
    best: tuple[float, int, Lang] | None = None
    for k, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang: Lang | None = None
        if tag == "zh" or tag.startswith("zh-"):
            lang = "zh-CN"
        elif tag == "en" or tag.startswith("en-"):
            lang = "en"
        if lang is not None and q > 0 and (best is None or (q, -k) > (best[0], best[1])):
            best = (q, -k, lang)
    return "en" if best is None else best[2]


@router.get("/health", response_model=Health, tags=["service"])
async def health(request: Request) -> Health:
    """Liveness: answers once the decision engine is loaded. No token needed."""
    return Health(status="ok", catalogue=engine_of(request).catalogue.version)


@router.get("/versions", response_model=Versions, tags=["service"], responses=problems_doc(*AUTH_PROBLEMS))
async def versions(request: Request, _: Annotated[Principal, Depends(require())]) -> Versions:
    """The versions every decision is stamped with: catalogue, policy tables, models, pricing
    assumptions, segment scheme, strategy and code."""
    stamp = engine_of(request).stamp
    d = stamp.to_dict()
    return Versions.model_validate({**{k: v for k, v in d.items() if k != "schema"}, "digest": stamp.digest})


@router.get(
    "/products", response_model=ProductList, tags=["catalogue"], responses=problems_doc(*AUTH_PROBLEMS)
)
async def products(request: Request, _: Annotated[Principal, Depends(require())]) -> ProductList:
    """Every product of the catalogue, ordered by id."""
    cat = engine_of(request).catalogue
    return ProductList(
        catalogue=cat.version, products=[product_summary(cat.products[k]) for k in sorted(cat.products)]
    )


@router.get(
    "/products/{product_id}",
    response_model=ProductDetail,
    tags=["catalogue"],
    responses=problems_doc(*AUTH_PROBLEMS, 404),
)
async def product(
    request: Request, product_id: str, _: Annotated[Principal, Depends(require())]
) -> ProductDetail:
    """One product with its structure rules; 404 when the catalogue has no such product."""
    cat = engine_of(request).catalogue
    p = cat.products.get(product_id)
    if p is None:
        raise ProblemError(404, f"catalogue {cat.version} has no product {product_id!r}")
    return product_detail(p)


@router.post("/quotes", response_model=QuoteOut, tags=["quotes"], responses=problems_doc(*AUTH_PROBLEMS, 422))
def create_quote(
    request: Request, body: QuoteRequest, principal: Annotated[Principal, Depends(require())]
) -> dict[str, Any]:
    """Quote one structure of one product: the exact contract with its schedule and disclosure.
    A request the product's rules refuse is a 422 problem naming the field (``structure.term``…).
    Each quote given is logged (``quote_log``: role, dealer, product, amount financed, channel ``api``)."""
    engine = engine_of(request)
    q = quote(
        engine.catalogue,
        body.product,
        body.vehicle,
        body.structure,
        body.applicant,
        body.market if body.market is not None else engine.market,
        body.on,
    )
    with sessions_of(request)() as session:
        log_quote(
            session, role=principal.role, dealer_id=principal.dealer_id, product_id=body.product,
            amount_financed=q.amount_financed, channel="api",
        )  # fmt: skip
    return quote_json(q)


@router.post(
    "/decisions",
    response_model=DecisionRecord,
    response_model_exclude_unset=True,
    tags=["decisions"],
    responses=problems_doc(*AUTH_PROBLEMS, 422),
)
def create_decision(
    request: Request,
    application: Annotated[dict[str, Any], Body(description="one application (see Application)")],
    _: Annotated[Principal, Depends(require("dealer", "admin"))],
    trace: Annotated[bool, Query(description="include the full trace")] = True,
    accept_language: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Decide one application: approve, counter-offer, refer or decline, with the offer menu, reasons
    (in ``en`` and ``zh-CN``; ``lang`` says which the caller prefers), versions and stage timings
    (``timings_us``, microseconds). A bad application is a 422 problem naming the field."""
    decision = engine_of(request).decide(application)
    return {**decision.to_dict(trace=trace), "lang": preferred_lang(accept_language)}
