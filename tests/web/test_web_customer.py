"""The customer self-service pages: calculator, pre-qualification (stores nothing) and the comparison, in
both languages, with the 422 re-render of a bad entry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from autofin.catalog.quote import ApplicantInfo, StructureRequest, VehicleInfo, quote
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow, QuoteLogRow
from autofin.web.i18n import money

CALC = {
    "product": "cn-balloon-flex",
    "price": "180000",
    "down_mode": "pct",
    "down": "30",
    "term": "36",
    "balloon": "",
    "credit": "good",
    "age": "35",
    "condition": "new",
    "powertrain": "nev",
}
PREQ = {
    "age": "35",
    "monthly_income": "25000",
    "monthly_debts": "1000",
    "employment": "salaried",
    "employment_years": "8",
    "residence": "rent",
    "region": "tier1",
    "credit": "good",
    "powertrain": "nev",
    "price": "200000",
    "down": "60000",
    "term": "36",
}


def _count(site: TestClient, model: Any) -> int:
    with site.app.state.sessions() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _expected_quote(site: TestClient, **over: Any) -> Any:
    engine = site.app.state.engine  # type: ignore[attr-defined]
    price = Decimal(over.get("price", "180000"))
    vehicle = VehicleInfo(
        brand="-", model="-", condition="new", vehicle_class="mid", powertrain="nev", use="passenger",
        msrp=price, price=price,
    )  # fmt: skip
    structure = StructureRequest(
        term=int(over.get("term", 36)),
        down_payment_pct=Decimal("0.30"),
        start_date=datetime.now(UTC).date(),
    )
    applicant = ApplicantInfo(age=35, bureau_score=720, channel="dealer")
    return quote(
        engine.catalogue, over.get("product", "cn-balloon-flex"), vehicle, structure, applicant, engine.market
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_calculator_form_opens_without_sign_in(site: TestClient) -> None:
    site.cookies.clear()
    page = site.get("/customer/calculator?lang=en")
    assert page.status_code == 200
    assert "Payment calculator" in page.text
    # every catalogue product is offered by its display name
    assert "Flexible balloon loan" in page.text and 'value="cn-balloon-flex"' in page.text
    assert 'id="schedule"' not in page.text


def test_calculator_quotes_exactly_and_logs_the_quote(site: TestClient) -> None:
    before = _count(site, QuoteLogRow)
    page = site.get("/customer/calculator", params={**CALC, "lang": "en"})
    assert page.status_code == 200, page.text
    q = _expected_quote(site)
    assert money(q.monthly_payment, "CNY", "en") in page.text
    assert money(q.amount_financed, "CNY", "en") in page.text
    assert "Annualised rate (CN)" in page.text and "PBoC" in page.text
    # the whole schedule, one row per instalment, and the chart of principal and interest
    schedule = page.text[page.text.index('id="schedule"') :]
    assert schedule.count('<th scope="row">') == q.term
    assert 'data-chart="' in page.text and "/static/plotly.min.js" in page.text
    assert _count(site, QuoteLogRow) == before + 1
    with site.app.state.sessions() as s:  # type: ignore[attr-defined]
        row = s.scalars(select(QuoteLogRow).order_by(QuoteLogRow.at.desc())).first()
        assert row is not None
        assert (row.channel, row.product_id, row.role) == ("web", "cn-balloon-flex", "anonymous")
        assert Decimal(row.amount_financed) == q.amount_financed


def test_calculator_in_chinese_shows_the_same_payment(site: TestClient) -> None:
    page = site.get("/customer/calculator", params={**CALC, "lang": "zh-CN"})
    assert page.status_code == 200
    q = _expected_quote(site)
    assert '<html lang="zh-CN">' in page.text
    assert money(q.monthly_payment, "CNY", "zh-CN") in page.text
    assert "月供计算器" in page.text and "还款计划" in page.text and "弹性尾款贷" in page.text
    assert "Monthly payment" not in page.text and "Repayment schedule" not in page.text


def test_a_term_the_product_refuses_rerenders_with_the_field_message(site: TestClient) -> None:
    before = _count(site, QuoteLogRow)
    page = site.get("/customer/calculator", params={**CALC, "term": "60", "price": "181000", "lang": "en"})
    assert page.status_code == 422
    assert re.search(r'id="term"[^>]*aria-invalid="true"[^>]*aria-describedby="term-error', page.text)
    assert 'id="term-error">This product offers terms of 24, 36, 48 months.' in page.text
    assert 'value="181000"' in page.text  # the entered values are kept
    assert 'id="schedule"' not in page.text
    assert _count(site, QuoteLogRow) == before  # nothing quoted, nothing logged
    zh = site.get("/customer/calculator", params={**CALC, "term": "60", "lang": "zh-CN"})
    assert zh.status_code == 422 and "该产品可选期限为 24、36、48 个月。" in zh.text


def test_calculator_field_errors(site: TestClient) -> None:
    page = site.get("/customer/calculator", params={**CALC, "price": "abc", "down": "150", "lang": "en"})
    assert page.status_code == 422
    assert 'id="price-error">Enter a number' in page.text
    assert 'id="down-error">Enter a value from 0 to 99.' in page.text
    no_balloon = site.get(
        "/customer/calculator",
        params={**CALC, "product": "cn-standard-equal-instalment", "balloon": "20", "lang": "en"},
    )
    assert (
        no_balloon.status_code == 422 and 'id="balloon-error">This product has no balloon' in no_balloon.text
    )


def test_lease_schedule_shows_no_due_dates_but_rent_parts(site: TestClient) -> None:
    params = {**CALC, "product": "cn-nev-residual-value-lease", "down": "20", "lang": "en"}
    page = site.get("/customer/calculator", params=params)
    assert page.status_code == 200, _text(page.text)[:2000]
    assert "Lease rate (not an APR)" in page.text
    assert "Residual value" in page.text


def test_prequalify_shows_a_likely_outcome_and_stores_nothing(site: TestClient) -> None:
    counts = [_count(site, m) for m in (ApplicationRow, DecisionRow, AuditEntry, QuoteLogRow)]
    form = site.get("/customer/prequalify?lang=en")
    assert form.status_code == 200
    assert "no credit inquiry is made and nothing you enter is stored" in form.text
    page = site.post("/customer/prequalify?lang=en", data=PREQ)
    assert page.status_code == 200, page.text
    assert 'id="likely">Likely approved' in page.text
    assert 'id="offers"' in page.text and "CN¥" in page.text
    assert [_count(site, m) for m in (ApplicationRow, DecisionRow, AuditEntry, QuoteLogRow)] == counts
    zh = site.post("/customer/prequalify?lang=zh-CN", data=PREQ)
    assert zh.status_code == 200 and "很可能获批" in zh.text and "不查询征信" in zh.text
    assert [_count(site, m) for m in (ApplicationRow, DecisionRow, AuditEntry, QuoteLogRow)] == counts


def test_prequalify_outcome_follows_the_statements(site: TestClient) -> None:
    poor = site.post(
        "/customer/prequalify?lang=en",
        data={**PREQ, "monthly_income": "3000", "monthly_debts": "2500", "down": "0"},
    )
    assert poor.status_code == 200
    likely = re.search(r'id="likely">([^<]+)<', poor.text)
    assert likely is not None and likely.group(1) != "Likely approved"


def test_prequalify_bad_entry_rerenders_with_values(site: TestClient) -> None:
    before = _count(site, ApplicationRow)
    page = site.post("/customer/prequalify?lang=en", data={**PREQ, "age": "12", "down": "300000"})
    assert page.status_code == 422
    assert re.search(r'id="age"[^>]*aria-invalid="true"[^>]*aria-describedby="age-error"', page.text)
    assert 'id="age-error">Enter a value from 18 to 100.' in page.text
    assert 'id="down-error">The down payment must be less than the price.' in page.text
    assert 'value="25000"' in page.text
    assert _count(site, ApplicationRow) == before


def test_prequalify_refuses_a_foreign_origin(site: TestClient) -> None:
    page = site.post("/customer/prequalify", data=PREQ, headers={"Origin": "https://evil.example"})
    assert page.status_code == 403


def test_compare_shows_loan_balloon_and_lease(site: TestClient) -> None:
    params = {"price": "200000", "down": "50000", "term": "36", "powertrain": "nev", "credit": "good"}
    page = site.get("/customer/compare", params={**params, "lang": "en"})
    assert page.status_code == 200, page.text
    table = page.text[page.text.index('id="comparison"') :]
    for kind in ("Equal-instalment loan", "Balloon loan", "Lease"):
        assert kind in table
    assert "Standard new-car loan (equal instalments)" in table
    assert "Flexible balloon loan" in table and "NEV residual-value lease" in table
    assert "Due at the end to own the car" in table and "Total paid to own the car" in table
    assert 'data-chart="' in page.text
    zh = site.get("/customer/compare", params={**params, "lang": "zh-CN"})
    assert zh.status_code == 200 and "弹性尾款贷款" in zh.text and "融资租赁" in zh.text
    assert "Equal-instalment loan" not in zh.text


def test_compare_of_a_petrol_car_uses_the_finance_lease(site: TestClient) -> None:
    params = {"price": "150000", "down": "45000", "term": "24", "powertrain": "ice", "lang": "en"}
    page = site.get("/customer/compare", params=params)
    assert page.status_code == 200
    assert "Finance lease with purchase option" in page.text


def test_compare_refuses_a_term_it_does_not_offer(site: TestClient) -> None:
    page = site.get("/customer/compare", params={"price": "200000", "down": "0", "term": "60", "lang": "en"})
    assert page.status_code == 422
    assert 'id="term-error">This product offers terms of 24, 36, 48 months.' in page.text
