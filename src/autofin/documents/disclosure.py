"""The contract disclosure document: key terms and the full payment schedule, in ``en`` or ``zh-CN``,
as an HTML page (:func:`disclosure_html`) or a PDF (:func:`disclosure_pdf`).

**Input.** ``contract`` is the JSON view of a stored contract (``GET /v1/contracts/{id}``): ``id``,
``application_id``, ``client_application_id``, ``dealer_id``, ``decision_id``, ``product_id``,
``created_at`` and ``offer`` — the accepted offer exactly as the decision stored it, whose ``quote``
holds the price, down payment, amount financed, services, the disclosed rates with their method and the
``contract`` (a loan's ``schedule``, ``summary`` and ``disclosure``; a lease's ``rows`` and totals).
Optional: ``customer`` ``{"name", "masked"}`` (the caller decides what may be shown) and ``lender``.

**What is shown.** Every number comes from the stored contract, never recomputed: money as the stored
decimal strings with thousands separators and the currency code (``126,259.00 CNY``; exact, no float);
rates as percentages with two decimals, rounded half up from the stored annual decimal, each with the
method the disclosure names (``cn_irr``: annualised IRR under PBoC Announcement [2021] No. 3;
``us_regz``: APR under Regulation Z Appendix J). :func:`document_model` is the one layout both formats
share, so a test can hold the HTML and the PDF to the stored contract through it.

**Determinism.** The same input gives the same text and the same PDF bytes (reportlab ``invariant``
mode: no creation date, fixed document id). The PDF draws English in Helvetica and Chinese in
reportlab's built-in CID font ``STSong-Light`` (no font file is shipped).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, Literal

import jinja2

from autofin.jsonsafe import sub

Lang = Literal["en", "zh-CN"]
LANGS: tuple[Lang, ...] = ("en", "zh-CN")
#: Lender shown when the contract mapping names none.
DEFAULT_LENDER = "autofin"

_L: dict[str, tuple[str, str]] = {
    "title": ("Credit contract disclosure", "信贷合同信息披露"),
    "subtitle": (
        "Key terms and payment schedule of the accepted offer. Amounts in {ccy}; rates are annual.",
        "已接受报价的主要条款与还款计划。金额单位：{ccy}；利率均为年化。",
    ),
    "parties": ("Parties and references", "当事方与编号"),
    "key_terms": ("Key terms", "主要条款"),
    "key_terms_caption": ("Key terms of the contract", "合同主要条款"),
    "item": ("Item", "项目"),
    "value": ("Value", "数值"),
    "services": ("Value-added services", "增值服务"),
    "services_caption": ("Services bought with the vehicle", "随车购买的服务"),
    "schedule": ("Payment schedule", "还款计划"),
    "schedule_caption": ("Every payment: due date and how it splits", "每期还款：到期日及其构成"),
    "lender": ("Lender", "贷款机构"),
    "dealer": ("Dealer", "经销商"),
    "customer": ("Customer", "客户"),
    "contract_id": ("Contract", "合同编号"),
    "application_id": ("Application", "申请编号"),
    "client_application_id": ("Dealer's application reference", "经销商申请参考号"),
    "decision_id": ("Decision", "审批决定编号"),
    "product": ("Product", "产品"),
    "booked_at": ("Booked at (UTC)", "签约时间（UTC）"),
    "footer": (
        "Generated from the stored contract; the schedule is exact to the minor unit.",
        "本文件根据已存储的合同生成；还款计划精确到最小货币单位。",
    ),
    "masked": ("(masked)", "（已隐藏）"),
    "none": ("none", "无"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "service": ("Service", "服务"),
    "price": ("Price", "价格"),
    "financed": ("Financed", "纳入融资"),
    "free": ("Free", "免费"),
}

#: Key terms: key → (en, zh-CN).
_TERMS: dict[str, tuple[str, str]] = {
    "price": ("Vehicle price", "车辆价格"),
    "down_payment": ("Down payment", "首付款"),
    "amount_financed": ("Amount financed", "融资金额"),
    "finance_charge": ("Finance charge", "融资费用（利息）"),
    "upfront_fees": ("Fees paid up front", "前期费用"),
    "total_of_payments": ("Total of payments", "还款总额"),
    "total_sale_price": ("Total sale price", "总价款"),
    "total_cost": ("Total cost (down payment and all payments)", "总成本（首付加全部还款）"),
    "term": ("Term (months)", "期限（月）"),
    "number_of_payments": ("Number of payments", "还款期数"),
    "regular_payment": ("Regular monthly payment", "每月还款额"),
    "first_due_date": ("First payment due", "首期还款日"),
    "last_due_date": ("Last payment due", "末期还款日"),
    "balloon_or_residual": ("Balloon or residual value", "尾款或残值"),
    "purchase_option_price": ("Purchase option price", "留购价"),
    "services_total": ("Value-added services", "增值服务合计"),
}

#: Rate method → (en, zh-CN) label.
_RATE: dict[str, tuple[str, str]] = {
    "us_regz": ("Annual percentage rate (APR, Regulation Z)", "年化百分率（APR，美国Z条例）"),
    "cn_irr": ("Annualised interest rate (IRR method)", "年化利率（内部收益率法）"),
    "eu_aprc": ("Annual percentage rate of charge (APRC)", "年度总费率（APRC）"),
    "lease_rate": ("Lease rate (annual)", "租赁年利率"),
    "cn_irr_lease": ("Annualised lease rate (IRR method)", "年化租赁利率（内部收益率法）"),
}
_EFFECTIVE = ("Effective annual rate", "实际年利率")
_BASIS = ("Method", "计算方法")

#: Schedule columns: key → (en, zh-CN), first present wins per row shape (loan, then lease).
_COLUMNS: dict[str, tuple[str, str]] = {
    "number": ("No.", "期数"),
    "period": ("No.", "期数"),
    "due_date": ("Due date", "到期日"),
    "instalment": ("Instalment", "期供"),
    "rent": ("Rent", "租金"),
    "interest": ("Interest", "利息"),
    "principal": ("Principal", "本金"),
    "balloon": ("Balloon", "尾款"),
    "fees": ("Fees", "费用"),
    "deposit_applied": ("Deposit applied", "保证金抵扣"),
    "total_due": ("Total due", "应付合计"),
    "cash_due": ("Cash due", "应付现金"),
    "balance": ("Balance after", "剩余本金"),
    "closing_balance": ("Balance after", "剩余本金"),
}
_PLAIN_COLUMNS = frozenset({"number", "period", "due_date"})


def _t(pair: tuple[str, str], lang: Lang) -> str:
    return pair[1] if lang == "zh-CN" else pair[0]


def _check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        from autofin.errors import ValidationError

        raise ValidationError("lang", lang, "must be en or zh-CN")
    return lang


def money_text(amount: Any, currency: str = "") -> str:
    """A stored money string as shown: thousands separators, the exact digits stored, and the currency
    code when given (``"126259.00"`` → ``"126,259.00 CNY"``). A value that is not a decimal is shown as
    it is."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    if not value.is_finite():
        return str(amount)
    text = f"{value:,}"
    return f"{text} {currency}".strip()


def rate_text(rate: Any) -> str:
    """An annual decimal rate as a percentage with two decimals, rounded half up (``0.0418999719`` →
    ``"4.19%"``); ``"—"`` when absent."""
    if rate is None:
        return "—"
    try:
        value = Decimal(str(rate)) * 100
    except (InvalidOperation, ValueError):
        return str(rate)
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True)
class KeyTerm:
    """One row of the key-terms table: a stable ``key``, the label in the document's language and the
    value as shown."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class DisclosureDoc:
    """The layout both formats render: title, parties, key terms, notes (rate methods), services and
    the payment schedule (headers and rows of display strings)."""

    lang: Lang
    title: str
    subtitle: str
    contract_id: str
    labels: Mapping[str, str]
    parties: list[tuple[str, str]]
    key_terms: list[KeyTerm]
    notes: list[str]
    service_headers: list[str]
    services: list[list[str]]
    schedule_headers: list[str]
    schedule: list[list[str]]
    footer: str
    currency: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _get(m: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(m, Mapping):
            return None
        m = m.get(p)
    return m


def _schedule_rows(terms: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = terms.get("schedule")
    if not isinstance(rows, list):
        rows = terms.get("rows")
    return [r for r in rows if isinstance(r, Mapping)] if isinstance(rows, list) else []


def _currency(quote: Mapping[str, Any], terms: Mapping[str, Any]) -> str:
    ccy = quote.get("currency") or terms.get("currency")
    if isinstance(ccy, Mapping):
        ccy = ccy.get("code")
    return str(ccy or "")


def document_model(contract: Mapping[str, Any], lang: str) -> DisclosureDoc:
    """The disclosure's content for ``contract`` (see the module docstring) in ``lang``."""
    lg = _check_lang(lang)
    offer = sub(contract, "offer")
    quote = sub(offer, "quote")
    terms = sub(quote, "contract")
    disclosure = sub(terms, "disclosure")
    ccy = _currency(quote, terms)
    rows = _schedule_rows(terms)

    def money(v: Any) -> str:
        return money_text(v, ccy)

    out: list[KeyTerm] = []

    def add(key: str, value: Any, *, as_money: bool = True) -> None:
        if value is None or value == "":
            return
        out.append(KeyTerm(key, _t(_TERMS[key], lg), money(value) if as_money else str(value)))

    add("price", quote.get("price"))
    add("down_payment", disclosure.get("down_payment", quote.get("down_payment")))
    add("amount_financed", disclosure.get("amount_financed", quote.get("amount_financed")))
    notes: list[str] = []
    rates = disclosure.get("rates")
    if isinstance(rates, Mapping) and rates:
        for method in sorted(rates):
            r = rates[method]
            apr = r.get("apr") if isinstance(r, Mapping) else r
            label = _t(_RATE.get(method, (method, method)), lg)
            out.append(KeyTerm(f"rate:{method}", label, rate_text(apr)))
            if isinstance(r, Mapping) and r.get("effective_annual_rate") is not None:
                out.append(
                    KeyTerm(f"effective:{method}", _t(_EFFECTIVE, lg), rate_text(r["effective_annual_rate"]))
                )
            if isinstance(r, Mapping) and r.get("basis"):
                notes.append(f"{label} — {_t(_BASIS, lg)}: {r['basis']}")
    else:
        qrates = sub(quote, "rates")
        method = str(quote.get("rate_method") or "")
        for m in sorted(qrates) if not method else [method]:
            label = _t(_RATE.get(m, (m, m)), lg)
            out.append(KeyTerm(f"rate:{m}", label, rate_text(qrates.get(m))))
    add("finance_charge", disclosure.get("finance_charge", terms.get("total_interest")))
    add("upfront_fees", disclosure.get("upfront_fees"))
    add("total_of_payments", disclosure.get("total_of_payments", terms.get("total_rent")))
    add("total_sale_price", disclosure.get("total_sale_price"))
    add("total_cost", quote.get("total_cost"))
    add("term", quote.get("term"), as_money=False)
    add("number_of_payments", len(rows) if rows else None, as_money=False)
    add("regular_payment", quote.get("monthly_payment", offer.get("monthly_payment")))
    first = _get(terms, "summary", "first_due_date") or (rows[0].get("due_date") if rows else None)
    last = _get(terms, "summary", "last_due_date") or (rows[-1].get("due_date") if rows else None)
    add("first_due_date", first, as_money=False)
    add("last_due_date", last, as_money=False)
    balloon = quote.get("balloon_or_residual")
    if balloon is not None and _nonzero(balloon):
        add("balloon_or_residual", balloon)
    if terms.get("purchase_option_price") is not None:
        add("purchase_option_price", terms.get("purchase_option_price"))

    services_raw = quote.get("services") if isinstance(quote.get("services"), list) else []
    assert isinstance(services_raw, list)
    yes, no = _t(_L["yes"], lg), _t(_L["no"], lg)
    services = [
        [
            str(s.get("id", "")),
            money(s.get("price")),
            yes if s.get("financed") else no,
            yes if s.get("free") else no,
        ]
        for s in services_raw
        if isinstance(s, Mapping)
    ]
    if services:
        total = sum(
            (Decimal(str(s.get("price") or 0)) for s in services_raw if isinstance(s, Mapping)), Decimal(0)
        )
        add("services_total", str(total))

    columns = _columns(rows)
    schedule = [
        [str(r.get(c, "")) if c in _PLAIN_COLUMNS else money_text(r.get(c, "")) for c in columns]
        for r in rows
    ]
    customer = contract.get("customer")
    name = ""
    if isinstance(customer, Mapping) and customer.get("name"):
        name = str(customer["name"])
        if customer.get("masked"):
            name = f"{name}{'' if lg == 'zh-CN' else ' '}{_t(_L['masked'], lg)}"
    parties: list[tuple[str, str]] = [
        (_t(_L["lender"], lg), str(contract.get("lender") or DEFAULT_LENDER)),
        (_t(_L["dealer"], lg), str(contract.get("dealer_id", ""))),
    ]
    if name:
        parties.append((_t(_L["customer"], lg), name))
    for key in ("contract_id", "application_id", "client_application_id", "decision_id"):
        value = contract.get("id") if key == "contract_id" else contract.get(key)
        if value:
            parties.append((_t(_L[key], lg), str(value)))
    product = _get(quote, "product", "id") or contract.get("product_id")
    if product:
        parties.append((_t(_L["product"], lg), str(product)))
    if contract.get("created_at"):
        parties.append((_t(_L["booked_at"], lg), str(contract["created_at"])))
    labels = {k: _t(v, lg) for k, v in _L.items()}
    return DisclosureDoc(
        lang=lg,
        title=labels["title"],
        subtitle=_t(_L["subtitle"], lg).format(ccy=ccy or "—"),
        contract_id=str(contract.get("id", "")),
        labels=labels,
        parties=parties,
        key_terms=out,
        notes=notes,
        service_headers=[labels["service"], labels["price"], labels["financed"], labels["free"]],
        services=services,
        schedule_headers=[_t(_COLUMNS[c], lg) for c in columns],
        schedule=schedule,
        footer=labels["footer"],
        currency=ccy,
    )


def _nonzero(value: Any) -> bool:
    try:
        return Decimal(str(value)) != 0
    except (InvalidOperation, ValueError):
        return True


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    present = set(rows[0])
    cols: list[str] = []
    seen_labels: set[tuple[str, str]] = set()
    for key, label in _COLUMNS.items():
        if key in present and label not in seen_labels:
            cols.append(key)
            seen_labels.add(label)
    return cols


# -- HTML ----------------------------------------------------------------------------------------------


@cache
def _template() -> jinja2.Template:
    source = resources.files("autofin.documents").joinpath("templates/disclosure.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(source)


def disclosure_html(contract: Mapping[str, Any], lang: str) -> str:
    """The disclosure as a complete HTML page (``<html lang=…>``, print CSS), every value escaped."""
    return _template().render(doc=document_model(contract, lang))


# -- PDF -----------------------------------------------------------------------------------------------

_CJK_FONT = "STSong-Light"


@cache
def _fonts_registered() -> bool:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    return True


def disclosure_pdf(contract: Mapping[str, Any], lang: str, *, compress: bool = True) -> bytes:
    """The disclosure as an A4 PDF (deterministic bytes for the same input). ``compress``: compress the
    page streams (turn it off to read the text back in tests)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    doc = document_model(contract, lang)
    zh = doc.lang == "zh-CN"
    if zh:
        _fonts_registered()
    font = _CJK_FONT if zh else "Helvetica"
    bold = _CJK_FONT if zh else "Helvetica-Bold"
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK" if zh else None)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.HexColor("#444444"))
    h1 = ParagraphStyle("h1", parent=body, fontName=bold, fontSize=16, leading=20, spaceAfter=4)
    h2 = ParagraphStyle(
        "h2", parent=body, fontName=bold, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
    )
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    num = ParagraphStyle("num", parent=cell, alignment=TA_RIGHT)

    def p(text: str, style: ParagraphStyle) -> Paragraph:
        from xml.sax.saxutils import escape

        return Paragraph(escape(text), style)

    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTNAME", (0, 0), (-1, -1), font),
        ]
    )
    story: list[Any] = [p(doc.title, h1), p(doc.subtitle, small), p(doc.labels["parties"], h2)]
    story.append(Table([[p(k, cell), p(v, cell)] for k, v in doc.parties], colWidths=[55 * mm, 115 * mm]))
    story[-1].setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(p(doc.labels["key_terms"], h2))
    terms = [[p(doc.labels["item"], cell), p(doc.labels["value"], cell)]]
    terms += [[p(t.label, cell), p(t.value, num)] for t in doc.key_terms]
    story.append(Table(terms, colWidths=[95 * mm, 75 * mm], repeatRows=1, style=grid))
    for note in doc.notes:
        story += [Spacer(1, 2 * mm), p(note, small)]
    if doc.services:
        story.append(p(doc.labels["services"], h2))
        rows = [[p(h, cell) for h in doc.service_headers]]
        rows += [[p(r[0], cell)] + [p(c, num) for c in r[1:]] for r in doc.services]
        story.append(Table(rows, colWidths=[70 * mm, 40 * mm, 30 * mm, 30 * mm], repeatRows=1, style=grid))
    story.append(p(doc.labels["schedule"], h2))
    story.append(p(doc.labels["schedule_caption"], small))
    if doc.schedule_headers:
        rows = [[p(h, cell) for h in doc.schedule_headers]]
        rows += [[p(c, num) for c in r] for r in doc.schedule]
        width = 170 * mm / len(doc.schedule_headers)
        story.append(Table(rows, colWidths=[width] * len(doc.schedule_headers), repeatRows=1, style=grid))
    story += [Spacer(1, 4 * mm), p(doc.footer, small)]

    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{doc.title} {doc.contract_id}",
        author=str(contract.get("lender") or DEFAULT_LENDER),
        lang=doc.lang,
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    pdf.build(story)
    return buffer.getvalue()
