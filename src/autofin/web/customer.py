"""Customer self-service pages, open to everyone (no sign-in): the payment calculator, pre-qualification
without a credit inquiry, and the loan / balloon / lease comparison.

- ``GET /customer/calculator``: one catalogue product, the car's price, a down payment (amount or
  percent of the price), a term and, for balloon products, a balloon percent → the exact quote of
  :func:`autofin.catalog.quote.quote`: monthly payment, the disclosed annual rate with its method (CN
  annualised rate, US APR, lease rate), amount financed, total interest, totals and the whole schedule,
  with a chart of principal and interest per period. A GET form, so a result's URL can be shared. Every
  quote given is logged (:func:`autofin.store.contracts.log_quote`, channel ``web``).
- ``GET/POST /customer/prequalify``: the decision engine run on an application built only from the
  customer's own statements — no bureau pull (``bureau`` is null, the bureau score is a representative
  score of the stated credit standing, or no file). Indicative only: **nothing is stored** (no
  application row, no decision, no audit entry).
- ``GET /customer/compare``: an equal-instalment loan, a balloon loan and a lease of the catalogue for the
  same car, down payment and term (:mod:`autofin.web.compare`).

Quotes are made for an individual buying at a dealer (channel ``dealer``) with the stated age and
credit standing; contracts start today (UTC). Money is :class:`~decimal.Decimal` in the product's
currency (major units); rates annual decimals, shown as percents. A bad entry re-renders the form with
status 422 and the message next to the field (``aria-invalid``, ``aria-describedby``), values kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from autofin.api.routes import engine_of, sessions_of
from autofin.catalog.models import Catalogue, Product
from autofin.catalog.quote import ApplicantInfo, Quote, StructureRequest, VehicleInfo, quote, quote_json
from autofin.errors import AutofinError
from autofin.web import i18n
from autofin.web.compare import KINDS, Option, compare_options
from autofin.web.i18n import Lang
from autofin.web.render import page, page_lang
from autofin.web.session import check_same_origin, current_principal

router = APIRouter(include_in_schema=False)

#: Representative bureau score of each stated credit standing (``none``: no bureau file).
CREDIT_SCORES: Final[Mapping[str, int | None]] = {
    "excellent": 780,
    "good": 720,
    "fair": 660,
    "poor": 600,
    "none": None,
}
POWERTRAINS: Final = ("ice", "hybrid", "nev")
CONDITIONS: Final = ("new", "used")
EMPLOYMENT: Final = ("salaried", "civil_servant", "self_employed", "business_owner", "retired", "other")
RESIDENCE: Final = ("own", "mortgage", "rent", "family")
REGIONS: Final = ("tier1", "tier2", "tier3", "tier4")
#: A catalogue model standing for "a typical car" of each powertrain in pre-qualification (the engine
#: checks the brand and model against the catalogue's known models).
TYPICAL_MODEL: Final[Mapping[str, tuple[str, str]]] = {
    "nev": ("BYD", "Seal"),
    "hybrid": ("Toyota", "Camry"),
    "ice": ("Geely", "Xingyue L"),
}
#: The highest vehicle price the pages accept (currency units).
MAX_PRICE: Final = Decimal("10000000")
COMPARE_TERMS: Final = (24, 36, 48)
CST: Final = timezone(timedelta(hours=8), "CST")


# -- forms ---------------------------------------------------------------------------------------------


@dataclass
class Form:
    """Entered values (as typed) and the translated error of each bad field."""

    lang: Lang
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, key: str, **params: object) -> None:
        """Record the message ``key`` for field ``name`` (the first error of a field wins)."""
        self.errors.setdefault(name, i18n.messages().text(key, self.lang, **params))

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name, default).strip()

    def choice(self, name: str, options: tuple[str, ...] | list[str], default: str) -> str:
        value = self.text(name, default) or default
        if value not in options:
            self.fail(name, "customer.error.choice")
            return default
        return value

    def decimal(
        self, name: str, *, low: Decimal, high: Decimal, required: bool = True, default: str = ""
    ) -> Decimal | None:
        """The field as a Decimal in ``[low, high]``; ``None`` (and an error if ``required``) when empty."""
        raw = self.text(name, default).replace(",", "").replace("，", "")
        if not raw:
            if required:
                self.fail(name, "customer.error.required")
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.fail(name, "customer.error.number")
            return None
        if not value.is_finite() or not low <= value <= high:
            self.fail(name, "customer.error.range", low=_plain(low), high=_plain(high))
            return None
        if value != value.quantize(Decimal("0.01")):
            self.fail(name, "customer.error.cents")
            return None
        return value

    def integer(self, name: str, *, low: int, high: int, default: str = "") -> int | None:
        raw = self.text(name, default)
        if not raw:
            self.fail(name, "customer.error.required")
            return None
        if not raw.isdigit():
            self.fail(name, "customer.error.whole")
            return None
        value = int(raw)
        if not low <= value <= high:
            self.fail(name, "customer.error.range", low=low, high=high)
            return None
        return value


def _plain(value: Decimal) -> str:
    return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:,f}"


def _join(items: Any, lang: Lang) -> str:
    return ("、" if lang == "zh-CN" else ", ").join(str(i) for i in items)


def _form(request: Request, values: Mapping[str, str]) -> Form:
    return Form(page_lang(request), {k: str(v) for k, v in values.items()})


def product_name(product: Product, lang: Lang) -> str:
    """The product's display name in ``lang`` (the catalogue's own names)."""
    return product.name.zh_cn if lang == "zh-CN" else product.name.en


def _today() -> date:
    return datetime.now(UTC).date()


def _rate_key(label: str, kind: str) -> str:
    if kind == "lease":
        return "customer.method.lease_rate" if label == "lease_rate" else "customer.method.lease_irr"
    return (
        f"customer.method.{label}" if label in ("cn_irr", "us_regz", "eu_aprc") else "customer.method.other"
    )


# -- schedule ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """One period of a quote's schedule (currency units): the payment due, its interest (a lease's rent
    charge) and principal (a lease's depreciation / principal) parts, any balloon, the balance after."""

    number: int
    due_date: str | None
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balloon: Decimal
    balance: Decimal


def _dec(row: Mapping[str, Any], *names: str) -> Decimal:
    for name in names:
        value = row.get(name)
        if value is not None:
            return Decimal(str(value))
    return Decimal(0)


def schedule_rows(q: Quote) -> list[ScheduleRow]:
    """The periods of ``q``'s contract as :class:`ScheduleRow` (loans: the amortisation schedule;
    closed-end leases: the base payment split in rent charge and depreciation; finance leases: rent split
    in interest and principal)."""
    contract = quote_json(q)["contract"]
    raw = contract.get("schedule") or contract.get("rows") or []
    out = []
    for r in raw:
        out.append(
            ScheduleRow(
                number=int(r.get("number", r.get("period", 0))),
                due_date=r.get("due_date"),
                payment=_dec(r, "total_due", "rent", "base_payment", "instalment"),
                interest=_dec(r, "interest", "rent_charge"),
                principal=_dec(r, "principal", "depreciation"),
                balloon=_dec(r, "balloon"),
                balance=_dec(r, "balance", "closing_balance"),
            )
        )
    return out


def _schedule_chart(rows: list[ScheduleRow], t: Any) -> dict[str, Any]:
    """Stacked bars of principal and interest per period (floats: display only)."""
    x = [r.number for r in rows]
    return {
        "data": [
            {"type": "bar", "name": t("customer.principal"), "x": x, "y": [float(r.principal) for r in rows]},
            {"type": "bar", "name": t("customer.interest"), "x": x, "y": [float(r.interest) for r in rows]},
        ],
        "layout": {
            "barmode": "stack",
            "xaxis": {"title": {"text": t("customer.period")}},
            "yaxis": {"title": {"text": t("customer.amount")}},
            "legend": {"orientation": "h"},
        },
    }


def _t(lang: Lang) -> Any:
    catalogue = i18n.messages()
    return lambda key, **values: catalogue.text(key, lang, **values)


def _log(request: Request, q: Quote) -> None:
    from autofin.store.contracts import log_quote

    principal = current_principal(request)
    with sessions_of(request)() as session:
        log_quote(
            session,
            role=principal.role if principal is not None else "anonymous",
            dealer_id=principal.dealer_id if principal is not None else None,
            product_id=q.product_id,
            amount_financed=q.amount_financed,
            channel="web",
        )


# -- calculator ----------------------------------------------------------------------------------------

#: Where a quoting error's field shows on the calculator form.
_CALC_FIELDS: Final[Mapping[str, str]] = {
    "structure.term": "term",
    "structure.down_payment": "down",
    "structure.down_payment_pct": "down",
    "structure.balloon_pct": "balloon",
    "applicant.bureau_score": "credit",
    "applicant.age": "age",
    "vehicle.condition": "condition",
    "vehicle.powertrain": "powertrain",
    "vehicle.price": "price",
}


def _products(catalogue: Catalogue, lang: Lang) -> list[tuple[str, str, str]]:
    """(id, display name, jurisdiction) of every product, CN first, by display name."""
    items = [(pid, product_name(p, lang), p.jurisdiction) for pid, p in catalogue.products.items()]
    return sorted(items, key=lambda i: (i[2], i[1]))


def _quote_error(form: Form, exc: AutofinError, product: Product) -> None:
    where = _CALC_FIELDS.get(exc.field, "product")

    def pct(rate: Decimal | int) -> str:
        return i18n.percent(Decimal(rate), form.lang, 0)

    if where == "term":
        form.fail("term", "customer.error.term", terms=_join(product.terms, form.lang))
    elif where == "down":
        rng = product.down_payment
        form.fail("down", "customer.error.down", low=pct(rng.min or 0), high=pct(rng.max or 1))
    elif where == "balloon" and product.balloon is not None:
        b = product.balloon
        form.fail(
            "balloon", "customer.error.balloon", low=pct(b.min_pct_of_price), high=pct(b.max_pct_of_price)
        )
    else:
        form.fail(where, "customer.error.not_eligible", product=product_name(product, form.lang))
    if form.lang == "en":
        form.errors[where] += f" ({exc.rule})"


@router.get("/customer/calculator", response_class=HTMLResponse)
def calculator(request: Request) -> HTMLResponse:
    """The payment calculator (see the module docstring); 422 with the field's message for a bad entry."""
    engine = engine_of(request)
    catalogue = engine.catalogue
    params = dict(request.query_params)
    params.pop("lang", None)
    submitted = "price" in params
    defaults = {
        "product": "cn-standard-equal-instalment" if "cn-standard-equal-instalment" in catalogue.products
        else sorted(catalogue.products)[0],
        "price": "200000", "down_mode": "pct", "down": "30", "term": "36", "balloon": "",
        "credit": "good", "age": "35", "condition": "new", "powertrain": "nev",
    }  # fmt: skip
    form = _form(request, {**defaults, **params} if submitted else defaults)
    lang = form.lang
    t = _t(lang)
    result: dict[str, Any] | None = None
    if submitted:
        pid = form.choice("product", sorted(catalogue.products), defaults["product"])
        product = catalogue.products[pid]
        price = form.decimal("price", low=Decimal("1000"), high=MAX_PRICE)
        mode = form.choice("down_mode", ("pct", "amount"), "pct")
        down = form.decimal("down", low=Decimal(0), high=Decimal(99) if mode == "pct" else MAX_PRICE)
        term = form.integer("term", low=1, high=120)
        balloon = form.decimal("balloon", low=Decimal(0), high=Decimal(99), required=False)
        if balloon is not None and product.balloon is None:
            form.fail("balloon", "customer.error.no_balloon")
        credit = form.choice("credit", tuple(CREDIT_SCORES), "good")
        age = form.integer("age", low=18, high=100)
        condition = form.choice("condition", CONDITIONS, "new")
        powertrain = form.choice("powertrain", POWERTRAINS, "nev")
        if price is not None and down is not None and mode == "amount" and down >= price:
            form.fail("down", "customer.error.down_below_price")
        if not form.errors:
            assert price is not None and down is not None and term is not None and age is not None
            try:
                structure = StructureRequest(
                    term=term,
                    down_payment=down if mode == "amount" else None,
                    down_payment_pct=down / 100 if mode == "pct" else None,
                    balloon_pct=None if balloon is None else balloon / 100,
                    start_date=_today(),
                )
                vehicle = VehicleInfo(
                    brand="-", model="-", condition=condition, vehicle_class="mid",  # type: ignore[arg-type]
                    powertrain=powertrain, use="passenger", msrp=price, price=price,  # type: ignore[arg-type]
                    age_years=0 if condition == "new" else 3,
                )  # fmt: skip
                applicant = ApplicantInfo(age=age, bureau_score=CREDIT_SCORES[credit], channel="dealer")
                q = quote(catalogue, pid, vehicle, structure, applicant, engine.market)
            except AutofinError as exc:
                _quote_error(form, exc, product)
            else:
                _log(request, q)
                from autofin.web.compare import figures

                rows = schedule_rows(q)
                result = {
                    "quote": q,
                    "product_name": product_name(product, lang),
                    "figures": figures(q),
                    "rows": rows,
                    "has_balloon": any(r.balloon for r in rows),
                    "total_interest": sum((r.interest for r in rows), Decimal(0)),
                    "rate_key": _rate_key(q.rate_label, q.kind),
                    "chart": _schedule_chart(rows, t),
                }
    all_terms = sorted({term for p in catalogue.products.values() for term in p.terms})
    values = {
        "form": form,
        "products": _products(catalogue, lang),
        "terms": all_terms,
        "credits": tuple(CREDIT_SCORES),
        "conditions": CONDITIONS,
        "powertrains": POWERTRAINS,
        "result": result,
        "balloon_products": [pid for pid, p in catalogue.products.items() if p.balloon is not None],
    }
    return page(request, "customer_calculator.html", values, status_code=422 if form.errors else 200)


# -- pre-qualification ---------------------------------------------------------------------------------

#: The likely outcome shown for each decision outcome.
LIKELY: Final[Mapping[str, str]] = {
    "approve": "likely",
    "counter_offer": "likely_changes",
    "refer": "review",
    "decline": "unlikely",
}


def prequalify_application(
    *,
    age: int,
    monthly_income: Decimal,
    monthly_debts: Decimal,
    employment: str,
    employment_years: int,
    residence: str,
    region: str,
    credit: str,
    powertrain: str,
    price: Decimal,
    down_payment: Decimal,
    term: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The application (JSON-ready) for the customer's statements: CN, CNY, a new car of the typical
    model of ``powertrain`` (:data:`TYPICAL_MODEL`) at ``price``, no bureau block, the representative
    score of ``credit`` (:data:`CREDIT_SCORES`; ``none`` → no bureau file), income taken as stated
    (``income_verified`` true: the result assumes the statements are confirmed later), channel dealer,
    submitted ``now`` (default: the current time). Amounts in CNY."""
    brand, model = TYPICAL_MODEL[powertrain]
    score = CREDIT_SCORES[credit]
    tenure = min(employment_years * 12, age * 12)
    when = (now if now is not None else datetime.now(UTC)).astimezone(CST)
    return {
        "jurisdiction": "CN",
        "currency": "CNY",
        "submitted_at": when.isoformat(),
        "applicant": {
            "age": age, "region": region, "area": "urban", "channel": "dealer",
            "monthly_income": str(monthly_income), "monthly_debt_payments": str(monthly_debts),
            "employment_type": employment, "employment_tenure_months": tenure,
            "residence_type": residence, "residence_tenure_months": min(36, age * 12),
            "bureau_score": score, "no_file": score is None, "thin_file": False,
            "resident": True, "income_verified": True,
        },
        "vehicle": {
            "condition": "new", "vehicle_class": "mid", "powertrain": powertrain, "use": "passenger",
            "brand": brand, "model": model, "price": str(price), "msrp": str(price),
        },
        "wishes": {"term_months": term, "down_payment": str(down_payment), "ownership": "any"},
    }  # fmt: skip


def _offer_rows(record: Mapping[str, Any], catalogue: Catalogue, lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for menu in ("offers", "counter_offers"):
        for entry in record.get(menu) or []:
            structure = entry.get("structure") or {}
            pid = str(structure.get("product", ""))
            product = catalogue.products.get(pid)
            quote_data = entry.get("quote") or {}
            rows.append(
                {
                    "counter": menu == "counter_offers",
                    "product": product_name(product, lang) if product is not None else pid,
                    "term": structure.get("term"),
                    "down_payment": structure.get("down_payment"),
                    "monthly_payment": entry.get("monthly_payment"),
                    "rate": entry.get("headline_rate"),
                    "rate_key": _rate_key(
                        str(entry.get("rate_method", "")), str(quote_data.get("kind", "loan"))
                    ),
                    "currency": quote_data.get("currency", "CNY"),
                }
            )
    return rows


async def _form_values(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _prequalify_page(
    request: Request, form: Form, result: dict[str, Any] | None, status: int
) -> HTMLResponse:
    values = {
        "form": form,
        "result": result,
        "credits": tuple(CREDIT_SCORES),
        "employment": EMPLOYMENT,
        "residence": RESIDENCE,
        "regions": REGIONS,
        "powertrains": POWERTRAINS,
        "terms": (12, 24, 36, 48, 60),
    }
    return page(request, "customer_prequalify.html", values, status_code=status)


_PREQ_DEFAULTS: Final[Mapping[str, str]] = {
    "age": "", "monthly_income": "", "monthly_debts": "0", "employment": "salaried",
    "employment_years": "", "residence": "rent", "region": "tier1", "credit": "good",
    "powertrain": "nev", "price": "", "down": "", "term": "36",
}  # fmt: skip


@router.get("/customer/prequalify", response_class=HTMLResponse)
def prequalify_form(request: Request) -> HTMLResponse:
    """The pre-qualification form."""
    return _prequalify_page(request, _form(request, _PREQ_DEFAULTS), None, 200)


@router.post("/customer/prequalify", response_class=HTMLResponse)
async def prequalify(request: Request) -> HTMLResponse:
    """Run the engine on the statements; show the likely outcome and indicative offers. Stores nothing."""
    if not check_same_origin(request):
        return page(request, "error.html", {"status": 403, "message": "error.forbidden"}, status_code=403)
    form = _form(request, {**_PREQ_DEFAULTS, **await _form_values(request)})
    age = form.integer("age", low=18, high=100)
    income = form.decimal("monthly_income", low=Decimal("0.01"), high=Decimal("10000000"))
    debts = form.decimal("monthly_debts", low=Decimal(0), high=Decimal("10000000"))
    employment = form.choice("employment", EMPLOYMENT, "salaried")
    years = form.integer("employment_years", low=0, high=80)
    residence = form.choice("residence", RESIDENCE, "rent")
    region = form.choice("region", REGIONS, "tier1")
    credit = form.choice("credit", tuple(CREDIT_SCORES), "good")
    powertrain = form.choice("powertrain", POWERTRAINS, "nev")
    price = form.decimal("price", low=Decimal("1000"), high=MAX_PRICE)
    down = form.decimal("down", low=Decimal(0), high=MAX_PRICE)
    term = form.integer("term", low=12, high=60)
    if age is not None and years is not None and years > age - 14:
        form.fail("employment_years", "customer.error.tenure_age")
    if price is not None and down is not None and down >= price:
        form.fail("down", "customer.error.down_below_price")
    if form.errors:
        return _prequalify_page(request, form, None, 422)
    assert age is not None and income is not None and debts is not None and years is not None
    assert price is not None and down is not None and term is not None
    data = prequalify_application(
        age=age, monthly_income=income, monthly_debts=debts, employment=employment,
        employment_years=years, residence=residence, region=region, credit=credit,
        powertrain=powertrain, price=price, down_payment=down, term=term,
    )  # fmt: skip
    engine = engine_of(request)
    try:
        decision = engine.decide(data)
    except AutofinError as exc:
        where = {"applicant.monthly_income": "monthly_income", "vehicle.price": "price"}.get(
            exc.field, "price"
        )
        form.fail(where, "customer.error.not_possible")
        return _prequalify_page(request, form, None, 422)
    record = decision.to_dict(trace=False, timings=False)
    lang = form.lang
    result = {
        "likely": LIKELY.get(str(record["outcome"]), "review"),
        "offers": _offer_rows(record, engine.catalogue, lang),
        "reasons": [
            r.get(lang if lang == "zh-CN" else "en") or r.get("code") for r in record.get("reasons") or []
        ],
    }
    return _prequalify_page(request, form, result, 200)


# -- compare -------------------------------------------------------------------------------------------


def _compare_chart(options: list[Option], t: Any, lang: Lang) -> dict[str, Any]:
    """Grouped bars: for each option, upfront, during the term, at the end and in total (display floats)."""
    cats = [t("customer.compare.upfront"), t("customer.compare.during"), t("customer.compare.end"),
            t("customer.compare.to_own")]  # fmt: skip
    data = []
    for o in options:
        if o.figures is None:
            continue
        f = o.figures
        data.append(
            {
                "type": "bar",
                "name": t(f"customer.kind.{o.kind}"),
                "x": cats,
                "y": [float(f.upfront), float(f.during_term), float(f.end_amount), float(f.to_own)],
            }
        )
    return {"data": data, "layout": {"barmode": "group", "legend": {"orientation": "h"},
                                     "yaxis": {"title": {"text": t("customer.amount")}}}}  # fmt: skip


@router.get("/customer/compare", response_class=HTMLResponse)
def compare(request: Request) -> HTMLResponse:
    """Loan, balloon loan and lease side by side (see :mod:`autofin.web.compare`)."""
    engine = engine_of(request)
    params = dict(request.query_params)
    params.pop("lang", None)
    submitted = "price" in params
    defaults = {"price": "200000", "down": "50000", "term": "36", "powertrain": "nev", "credit": "good"}
    form = _form(request, {**defaults, **params} if submitted else defaults)
    lang = form.lang
    t = _t(lang)
    options: list[Option] | None = None
    chart_fig: dict[str, Any] | None = None
    if submitted:
        price = form.decimal("price", low=Decimal("1000"), high=MAX_PRICE)
        down = form.decimal("down", low=Decimal(0), high=MAX_PRICE)
        term = form.integer("term", low=1, high=120)
        if term is not None and term not in COMPARE_TERMS:
            form.fail("term", "customer.error.term", terms=_join(COMPARE_TERMS, lang))
        powertrain = form.choice("powertrain", POWERTRAINS, "nev")
        credit = form.choice("credit", tuple(CREDIT_SCORES), "good")
        if price is not None and down is not None and down >= price:
            form.fail("down", "customer.error.down_below_price")
        if not form.errors:
            assert price is not None and down is not None and term is not None
            vehicle = VehicleInfo(
                brand="-", model="-", condition="new", vehicle_class="mid",
                powertrain=powertrain, use="passenger", msrp=price, price=price,  # type: ignore[arg-type]
            )  # fmt: skip
            applicant = ApplicantInfo(age=35, bureau_score=CREDIT_SCORES[credit], channel="dealer")
            options = compare_options(
                engine.catalogue, engine.market, vehicle=vehicle, applicant=applicant,
                down_payment=down, term=term, start=_today(),
            )  # fmt: skip
            for o in options:
                if o.quote is not None:
                    _log(request, o.quote)
            chart_fig = _compare_chart(options, t, lang)
    names = {
        o.kind: product_name(engine.catalogue.products[o.product_id], lang)
        for o in options or []
        if o.product_id is not None
    }
    values = {
        "form": form,
        "options": options,
        "names": names,
        "kinds": KINDS,
        "terms": COMPARE_TERMS,
        "powertrains": POWERTRAINS,
        "credits": tuple(CREDIT_SCORES),
        "chart_fig": chart_fig,
        "rate_key": _rate_key,
    }
    return page(request, "customer_compare.html", values, status_code=422 if form.errors else 200)
