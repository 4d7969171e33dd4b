"""The dealer desk: a dealer's applications, the application form, the decision with its offer menu,
choosing an offer, and the booked contract with its disclosure document.

Pages (roles ``dealer`` and ``admin``; a dealer sees only its own applications and contracts — another
dealer's id answers the 404 page, exactly like a missing one; an admin sees all):

- ``GET /dealer``: the dealer's applications, newest first;
- ``GET /dealer/new`` and ``POST /dealer/new``: the application form (:mod:`autofin.web.forms`); a
  good form is submitted exactly once per hidden idempotency key
  (:func:`autofin.api.service.submit_and_decide`, scoped to the dealer as the REST API scopes it) and
  answered with ``303`` to the application's page; a bad one is shown again (``422``) with the message
  next to the input and nothing stored;
- ``GET /dealer/applications/{id}``: outcome, reasons, the offer menu (and counter-offers) with a
  payment chart and each offer's schedule, a "Choose this offer" form per offer;
- ``POST /dealer/applications/{id}/accept``: :func:`autofin.api.contracts.accept_offer` → ``303`` to
  the contract (choosing the booked offer again finds the same contract: one contract per application);
- ``GET /dealer/contracts/{id}``, ``/dealer/contracts/{id}/disclosure`` (print-friendly HTML) and
  ``/dealer/contracts/{id}/disclosure.pdf`` (a download), in the page's language.

Money is shown from the stored decimal strings (never recomputed); rates are annual decimals shown as
percents with the disclosure method that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from autofin.api.applications import _scope
from autofin.api.auth import Principal, Role
from autofin.api.contracts import (
    accept_offer,
    contract_for_application,
    contract_json,
    disclosure_input,
    get_contract,
)
from autofin.api.problems import ProblemError
from autofin.api.routes import engine_of, keys_of, sessions_of
from autofin.api.service import scoped_key, submit_and_decide
from autofin.errors import ValidationError
from autofin.jsonsafe import sub
from autofin.store import repository
from autofin.web import forms
from autofin.web.i18n import Lang, messages
from autofin.web.render import PAGE_HEADERS, page, page_lang
from autofin.web.session import check_same_origin, page_principal
from autofin.web.site import not_found_page

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine
    from autofin.store.models import ApplicationRow, ContractRow

router = APIRouter(include_in_schema=False)

ROLES: tuple[Role, ...] = ("dealer", "admin")
#: Most applications the desk lists.
LIST_LIMIT = 200
_ID = Path(max_length=64)
#: Schedule columns shown, first present wins per row shape (loan rows, then lease rows); label keys
#: ``dealer.col.<name>``.
SCHEDULE_COLUMNS: tuple[str, ...] = (
    "number", "period", "due_date", "instalment", "rent", "interest", "principal", "balloon", "fees",
    "total_due", "cash_due", "balance", "closing_balance",
)  # fmt: skip
_NOT_MONEY = frozenset({"number", "period", "due_date"})
_SAME_COLUMN = {
    "period": "number",
    "rent": "instalment",
    "cash_due": "total_due",
    "closing_balance": "balance",
}


def has_text(key: str) -> bool:
    """Whether the page catalogue has ``key``."""
    return key in messages().texts


def text_or(key: str, lang: Lang, fallback: str) -> str:
    """The text of ``key``, or ``fallback`` (a code) when the catalogue has none (a new enumeration
    value read from the model before its translation was added)."""
    return messages().text(key, lang) if has_text(key) else fallback


def new_form_key() -> str:
    """A fresh idempotency key for a form (32 hex digits)."""
    return uuid4().hex


def _fields(engine: DecisionEngine) -> tuple[forms.FormField, ...]:
    return forms.build_fields(engine.extras.known_models, sorted(engine.catalogue.services))


def _service_name(engine: DecisionEngine, service_id: str, lang: Lang) -> str:
    service = engine.catalogue.services.get(service_id)
    if service is None:
        return service_id
    return service.name.zh_cn if lang == "zh-CN" else service.name.en


def product_name(engine: DecisionEngine, product_id: str, lang: Lang) -> str:
    """The catalogue's name of ``product_id`` in ``lang`` (the id when the catalogue no longer has it)."""
    product = engine.catalogue.products.get(product_id)
    if product is None:
        return product_id
    return product.name.zh_cn if lang == "zh-CN" else product.name.en


# -- list ----------------------------------------------------------------------------------------------


def _summary(row: ApplicationRow) -> dict[str, Any]:
    data = row.application
    vehicle = data.get("vehicle") if isinstance(data.get("vehicle"), dict) else {}
    assert isinstance(vehicle, dict)
    ref = data.get("application_id")
    return {
        "id": row.id,
        "reference": ref if isinstance(ref, str) else "",
        "submitted_at": row.submitted_at,
        "status": row.status,
        "vehicle": f"{vehicle.get('brand', '')} {vehicle.get('model', '')}".strip(),
        "price": vehicle.get("price"),
        "currency": data.get("currency") or "CNY",
    }


@router.get("/dealer", response_class=HTMLResponse)
def desk(request: Request) -> HTMLResponse:
    """The dealer's applications, newest submission first (all applications for an admin)."""
    principal = page_principal(request, *ROLES)
    with sessions_of(request)() as session:
        rows = repository.list_applications(session, dealer_id=principal.dealer_id, limit=LIST_LIMIT)
        items = [_summary(r) for r in rows]
    return page(request, "dealer_list.html", {"items": items}, principal=principal)


# -- the application form ------------------------------------------------------------------------------


def _form_page(
    request: Request,
    principal: Principal,
    *,
    values: Mapping[str, str | tuple[str, ...]],
    errors: Mapping[str, forms.FormError],
    key: str,
    submitted_at: str,
    status_code: int = 200,
) -> HTMLResponse:
    engine = engine_of(request)
    lang = page_lang(request)
    fields = _fields(engine)
    groups = [(g, [f for f in fields if f.group == g]) for g in forms.GROUPS]
    service_names = {sid: _service_name(engine, sid, lang) for sid in engine.catalogue.services}
    service_currency = {sid: s.currency for sid, s in engine.catalogue.services.items()}
    context = {
        "groups": groups,
        "values": values,
        "errors": errors,
        "idempotency_key": key,
        "submitted_at": submitted_at,
        "service_names": service_names,
        "service_currency": service_currency,
        "text_or": lambda k, fallback: text_or(k, lang, fallback),
        "has_text": has_text,
    }
    return page(request, "dealer_new.html", context, status_code=status_code, principal=principal)


@router.get("/dealer/new", response_class=HTMLResponse)
def new_form(request: Request) -> HTMLResponse:
    """The application form, prefilled with the example application."""
    principal = page_principal(request, *ROLES)
    values = forms.default_values(_fields(engine_of(request)))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return _form_page(request, principal, values=values, errors={}, key=new_form_key(), submitted_at=now)


def _valid_key(value: str) -> bool:
    return 1 <= len(value) <= 128 and value.isascii() and value.isprintable()


def _valid_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@router.post("/dealer/new", response_model=None)
async def submit(request: Request) -> Response:
    """Check the form, submit it once per idempotency key and go to the decision (303); a bad form is
    shown again with status 422."""
    principal = page_principal(request, *ROLES)
    if not check_same_origin(request):
        return page(request, "error.html", {"status": 403, "message": "error.forbidden"}, status_code=403)
    raw = await request.form()
    form: dict[str, str | list[str]] = {}
    for name in raw:
        items = [v for v in raw.getlist(name) if isinstance(v, str)]
        form[name] = items if name == "wishes.services" else (items[-1] if items else "")
    key = str(form.pop("idempotency_key", "") or "")
    submitted_at = str(form.pop("submitted_at", "") or "")
    if not _valid_key(key) or not _valid_time(submitted_at):
        key, submitted_at = new_form_key(), datetime.now(UTC).isoformat(timespec="seconds")
    engine = engine_of(request)
    fields = _fields(engine)
    parsed = forms.parse_form(form, fields, submitted_at=submitted_at)

    def again(errors: Mapping[str, forms.FormError], new_key: str = key) -> HTMLResponse:
        return _form_page(
            request, principal, values=parsed.values, errors=errors, key=new_key, submitted_at=submitted_at,
            status_code=422,
        )  # fmt: skip

    if not parsed.ok or parsed.personal is None:
        return again(parsed.errors)
    scope, dealer_id = _scope(principal)
    from starlette.concurrency import run_in_threadpool

    try:
        result = await run_in_threadpool(
            submit_and_decide,
            sessions_of(request),
            engine,
            keys_of(request),
            idempotency_key=scoped_key(scope, key),
            dealer_id=dealer_id,
            application=parsed.application,
            personal=parsed.personal,
        )
    except ValidationError as exc:
        if exc.field == "idempotency_key":
            # The same form was sent before with other values: show it again under a new key.
            return again({"": forms.FormError("form.error.resubmitted")}, new_form_key())
        name = forms.input_for(exc.field, fields)
        return again({name: forms.FormError("form.error.rule", detail=exc.rule)})
    return RedirectResponse(f"/dealer/applications/{result.application.id}", status_code=303)


# -- the decision and its offers -----------------------------------------------------------------------


def _money_value(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def schedule_table(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[tuple[str, Any]]]]:
    """(column names, rows of (column, value)) of a loan or lease schedule: the columns of
    :data:`SCHEDULE_COLUMNS` any row has, a lease's ``period``/``rent``/``cash_due``/``closing_balance``
    shown under the loan's column names, and money columns that are zero on every row left out."""
    present: list[str] = []
    for name in SCHEDULE_COLUMNS:
        column = _SAME_COLUMN.get(name, name)
        if column in present or not any(name in r for r in rows):
            continue
        if column not in _NOT_MONEY and not any(_nonzero(r.get(name)) for r in rows):
            continue
        present.append(column)
    reverse: dict[str, list[str]] = {}
    for name in SCHEDULE_COLUMNS:
        reverse.setdefault(_SAME_COLUMN.get(name, name), []).append(name)
    table = [[(c, next((r[n] for n in reverse[c] if n in r), None)) for c in present] for r in rows]
    return present, table


def _nonzero(value: Any) -> bool:
    try:
        return value is not None and float(value) != 0.0
    except (TypeError, ValueError):
        return False


def offer_view(engine: DecisionEngine, offer: Mapping[str, Any], menu: str, lang: Lang) -> dict[str, Any]:
    """What the page shows of one offer (amounts as the stored decimal strings)."""
    quote = sub(offer, "quote")
    terms = sub(quote, "contract")
    disclosure = sub(terms, "disclosure")
    product = sub(quote, "product")
    structure = sub(offer, "structure")
    product_id = str(product.get("id") or structure.get("product") or "")
    rows = terms.get("schedule") if isinstance(terms.get("schedule"), list) else terms.get("rows")
    columns, table = schedule_table(rows if isinstance(rows, list) else [])
    total_of_payments = disclosure.get("total_of_payments", terms.get("total_rent"))
    changes = []
    for change in offer.get("changes") or []:
        if isinstance(change, Mapping):
            changes.append(str(change.get("zh-CN") if lang == "zh-CN" else change.get("text")))
    services = []
    for s in quote.get("services") or []:
        if isinstance(s, Mapping):
            services.append({"name": _service_name(engine, str(s.get("id")), lang), "price": s.get("price"),
                             "financed": bool(s.get("financed")), "free": bool(s.get("free"))})  # fmt: skip
    rank = int(offer.get("rank") or 0)
    return {
        "rank": rank,
        "menu": menu,
        "anchor": f"{'c' if menu == 'counter_offers' else 'o'}{rank}",
        "product_id": product_id,
        "product": product_name(engine, product_id, lang),
        "kind": str(quote.get("kind") or ""),
        "currency": str(quote.get("currency") or "CNY"),
        "term": quote.get("term", structure.get("term")),
        "down_payment": _money_value(quote.get("down_payment", structure.get("down_payment"))),
        "monthly_payment": _money_value(offer.get("monthly_payment", quote.get("monthly_payment"))),
        "rate": offer.get("headline_rate"),
        "rate_method": str(offer.get("rate_method") or quote.get("rate_method") or ""),
        "amount_financed": _money_value(quote.get("amount_financed")),
        "total_of_payments": _money_value(total_of_payments),
        "total_cost": _money_value(quote.get("total_cost")),
        "balloon": _money_value(quote.get("balloon_or_residual")),
        "services": services,
        "changes": changes,
        "columns": columns,
        "schedule": table,
    }


def payment_chart(offers: Sequence[Mapping[str, Any]], lang: Lang) -> dict[str, Any]:
    """The plotly figure comparing the offers: monthly payment (bars, left axis) and total cost (bars,
    right axis) per offer, in the offers' currency (display only: floats are fine on a chart)."""
    t = messages()
    labels = [
        t.text("dealer.chart.counter" if o["menu"] == "counter_offers" else "dealer.chart.offer", lang,
               rank=o["rank"])
        for o in offers
    ]  # fmt: skip
    products = [str(o["product"]) for o in offers]
    monthly = [float(o["monthly_payment"]) if o["monthly_payment"] else None for o in offers]
    total = [float(o["total_cost"]) if o["total_cost"] else None for o in offers]
    currency = offers[0]["currency"] if offers else "CNY"
    return {
        "data": [
            {
                "type": "bar",
                "name": t.text("dealer.chart.monthly", lang),
                "x": labels,
                "y": monthly,
                "offsetgroup": "monthly",
                "hovertext": products,
                "yaxis": "y",
            },
            {
                "type": "bar",
                "name": t.text("dealer.chart.total", lang),
                "x": labels,
                "y": total,
                "offsetgroup": "total",
                "hovertext": products,
                "yaxis": "y2",
            },
        ],
        "layout": {
            "barmode": "group",
            "legend": {"orientation": "h", "y": -0.25},
            "yaxis": {"title": {"text": t.text("dealer.chart.monthly_axis", lang, currency=currency)}},
            "yaxis2": {
                "title": {"text": t.text("dealer.chart.total_axis", lang, currency=currency)},
                "overlaying": "y",
                "side": "right",
            },
        },
    }


def _application_page(
    request: Request,
    principal: Principal,
    application_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    engine = engine_of(request)
    lang = page_lang(request)
    with sessions_of(request)() as session:
        row = repository.get_application(session, application_id, dealer_id=principal.dealer_id)
        if row is None:
            return not_found_page(request)
        decision = repository.latest_decision(session, row.id)
        contract = contract_for_application(session, row.id, dealer_id=principal.dealer_id)
        summary = _summary(row)
        contract_id = contract.id if contract is not None else None
        booked = (contract.menu, contract.offer_rank) if contract is not None else None
    record = decision.record if decision is not None else {}
    outcome = decision.outcome if decision is not None else row.status
    reasons = [
        str(r.get("zh-CN") if lang == "zh-CN" else r.get("en")) for r in record.get("reasons") or []
        if isinstance(r, Mapping)
    ]  # fmt: skip
    show_menu = outcome in ("approve", "counter_offer")
    menus: list[tuple[str, list[dict[str, Any]]]] = []
    if show_menu:
        order = ("counter_offers", "offers") if outcome == "counter_offer" else ("offers", "counter_offers")
        for menu in order:
            entries = [
                offer_view(engine, o, menu, lang) for o in record.get(menu) or [] if isinstance(o, Mapping)
            ]
            if entries:
                menus.append((menu, entries))
    every = [o for _, entries in menus for o in entries]
    review = record.get("review") if isinstance(record.get("review"), Mapping) else None
    segment = str(record.get("segment") or "")
    context = {
        "app": summary,
        "outcome": outcome,
        "reasons": reasons,
        "segment": segment,
        "segment_label": text_or(f"segment.{segment}", lang, segment),
        "menus": menus,
        "figure": payment_chart(every, lang) if every else None,
        "contract_id": contract_id,
        "booked": booked,
        "review": review,
        "form_key": new_form_key(),
        "error": error,
        "text_or": lambda k, fallback: text_or(k, lang, fallback),
    }
    return page(request, "dealer_application.html", context, status_code=status_code, principal=principal)


@router.get("/dealer/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: Annotated[str, _ID]) -> HTMLResponse:
    """The decision on one application with its offer menu (another dealer's id: the 404 page)."""
    principal = page_principal(request, *ROLES)
    return _application_page(request, principal, application_id)


@router.post("/dealer/applications/{application_id}/accept", response_model=None)
def accept(
    request: Request,
    application_id: Annotated[str, _ID],
    offer: Annotated[str, Form(max_length=8)] = "",
    menu: Annotated[str, Form(max_length=20)] = "",
    idempotency_key: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Book the chosen offer and go to the contract (303). One contract per application: choosing the
    booked offer again (a double click, a retry) finds the same contract; another offer is refused."""
    principal = page_principal(request, *ROLES)
    if not check_same_origin(request):
        return page(request, "error.html", {"status": 403, "message": "error.forbidden"}, status_code=403)
    if (
        not offer.isdigit()
        or int(offer) < 1
        or menu not in ("offers", "counter_offers")
        or not idempotency_key
    ):
        return _application_page(
            request, principal, application_id, error="dealer.accept.bad", status_code=422
        )
    try:
        contract, _ = accept_offer(
            sessions_of(request), keys_of(request), application_id=application_id, offer=int(offer),
            principal=principal, menu=menu,
        )  # fmt: skip
    except ProblemError as exc:
        if exc.status == 404:
            return not_found_page(request)
        message = "dealer.accept.conflict" if exc.status == 409 else "dealer.accept.bad"
        return _application_page(request, principal, application_id, error=message, status_code=exc.status)
    return RedirectResponse(f"/dealer/contracts/{contract.id}", status_code=303)


# -- contracts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Booked:
    """A contract page's subject: who asks, the contract, its disclosure input and the page's language."""

    principal: Principal
    row: ContractRow
    data: dict[str, Any]
    lang: Lang


def _contract(request: Request, contract_id: str) -> _Booked | None:
    """The signed-in dealer's (or admin's) contract ``contract_id``; ``None`` when they have no such
    contract."""
    principal = page_principal(request, *ROLES)
    with sessions_of(request)() as session:
        row = get_contract(session, contract_id, dealer_id=principal.dealer_id)
        if row is None:
            return None
        data = disclosure_input(session, row, keys_of(request), principal)
    return _Booked(principal, row, data, page_lang(request))


@router.get("/dealer/contracts/{contract_id}", response_class=HTMLResponse)
def contract_page(request: Request, contract_id: Annotated[str, _ID]) -> HTMLResponse:
    """The booked contract's summary with links to its disclosure document."""
    found = _contract(request, contract_id)
    if found is None:
        return not_found_page(request)
    row, lang = found.row, found.lang
    offer = offer_view(engine_of(request), row.offer, row.menu, lang)
    context = {
        "contract": contract_json(row),
        "customer": found.data.get("customer"),
        "offer": offer,
        "text_or": lambda k, fallback: text_or(k, lang, fallback),
    }
    return page(request, "dealer_contract.html", context, principal=found.principal)


@router.get("/dealer/contracts/{contract_id}/disclosure", response_class=HTMLResponse)
def disclosure_page(request: Request, contract_id: Annotated[str, _ID]) -> HTMLResponse:
    """The disclosure document as a print-friendly page in the page's language."""
    from autofin.documents.disclosure import disclosure_html

    found = _contract(request, contract_id)
    if found is None:
        return not_found_page(request)
    headers = {**PAGE_HEADERS, "Content-Language": found.lang}
    return HTMLResponse(disclosure_html(found.data, found.lang), headers=headers)


@router.get("/dealer/contracts/{contract_id}/disclosure.pdf", response_model=None)
def disclosure_download(request: Request, contract_id: Annotated[str, _ID]) -> Response:
    """The disclosure document as a PDF download in the page's language."""
    from autofin.documents.disclosure import disclosure_pdf

    found = _contract(request, contract_id)
    if found is None:
        return not_found_page(request)
    name = f"disclosure-{found.row.id}-{found.lang}.pdf"
    headers = {
        **PAGE_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Language": found.lang,
    }
    return Response(disclosure_pdf(found.data, found.lang), media_type="application/pdf", headers=headers)
