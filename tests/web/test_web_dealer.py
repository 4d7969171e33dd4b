"""The dealer desk: list, application form, decision with the offer menu, choosing an offer, contract
and disclosure; validation, idempotency, role separation and both languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from autofin.store.models import ApplicationRow, ContractRow, DecisionRow


class FormReader(HTMLParser):
    """The values a browser would send for the first ``<form>`` whose action is ``action``: inputs
    (checked boxes only), the selected option of each select, textareas."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.values: dict[str, list[str]] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("action") == self.action:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.setdefault(a["name"], []).append(
                a.get("value", "on" if a.get("type") == "checkbox" else "")
            )
        elif tag == "select":
            self.select, self.first_option, self.chosen = a["name"], None, False
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.values[self.select] = [a.get("value", "")]
                self.chosen = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select is not None:
            if not self.chosen:
                self.values[self.select] = [self.first_option or ""]
            self.select = None
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_values(html: str, action: str) -> dict[str, list[str]]:
    reader = FormReader(action)
    reader.feed(html)
    assert reader.done, f"no form posting to {action}"
    return reader.values


def count(client: TestClient, model: type[Any]) -> int:
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def new_form(client: TestClient) -> dict[str, list[str]]:
    page = client.get("/dealer/new")
    assert page.status_code == 200, page.text
    return form_values(page.text, "/dealer/new")


def submit(client: TestClient, values: dict[str, list[str]]) -> Any:
    return client.post("/dealer/new", data=values, follow_redirects=False)


def submitted_app(client: TestClient, **changes: str | list[str]) -> str:
    """Submit the prefilled form with ``changes`` (input name → value) and return the application id."""
    values = new_form(client)
    for name, value in changes.items():
        values[name] = value if isinstance(value, list) else [value]
    response = submit(client, values)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


def demo_id(client: TestClient, reference: str) -> str:
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        for row in session.scalars(select(ApplicationRow)):
            if row.application.get("application_id") == reference:
                return str(row.id)
    raise AssertionError(reference)


def test_desk_lists_only_the_dealers_own_applications(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    page = client.get("/dealer?lang=en")
    assert page.status_code == 200
    assert "demo-approve-0001" in page.text and "demo-counter-0001" in page.text
    assert "demo-prime-0001" not in page.text and "demo-decline-0001" not in page.text
    assert 'href="/dealer/new"' in page.text and "<caption>" in page.text and 'scope="col"' in page.text


def test_form_is_prefilled_labelled_and_reads_choices_from_the_model(
    signed_in: Callable[[str], TestClient],
) -> None:
    client = signed_in("dealer-001")
    html = client.get("/dealer/new?lang=en").text
    values = form_values(html, "/dealer/new")
    assert values["applicant.age"] == ["38"] and values["vehicle.price"] == ["179800.00"]
    assert values["wishes.services"] == ["cn-roadside-assistance"]
    assert len(values["idempotency_key"][0]) == 32
    for ident in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{ident}"' in html, f"input {ident} has no label"
    from autofin.decision.application import Applicant

    for choice in Applicant.model_fields["employment_type"].annotation.__args__:  # type: ignore[union-attr]
        assert f'<option value="{choice}"' in html
    assert html.index("<fieldset>") < html.index("<legend>Applicant</legend>")


def test_prefilled_form_is_decided_with_an_offer_menu(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    before = count(client, ApplicationRow)
    app_id = submitted_app(client)
    assert count(client, ApplicationRow) == before + 1
    page = client.get(f"/dealer/applications/{app_id}?lang=en")
    assert page.status_code == 200
    assert 'class="outcome outcome-approve"' in page.text
    assert page.text.count("Choose this offer") >= 1
    assert 'data-chart="chart-' in page.text and "/static/charts.js" in page.text
    assert "<details>" in page.text and "Payment schedule of offer 1" in page.text
    assert "(annualised rate, IRR method)" in page.text
    # the monthly payment shown is the stored one, formatted
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        decision = session.scalars(select(DecisionRow).where(DecisionRow.application_id == app_id)).one()
        first = decision.record["offers"][0]
    shown = f"{float(first['monthly_payment']):,.2f}"
    assert shown in page.text


def test_segment_is_named_in_the_page_language(signed_in: Callable[[str], TestClient]) -> None:
    from autofin.web.i18n import messages

    client = signed_in("dealer-001")
    app_id = submitted_app(client)
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        segment = (
            session.scalars(select(DecisionRow).where(DecisionRow.application_id == app_id))
            .one()
            .record["segment"]
        )
    assert segment, "the example application is assigned a segment"
    for lang in ("en", "zh-CN"):
        page = client.get(f"/dealer/applications/{app_id}?lang={lang}")
        assert messages().text(f"segment.{segment}", lang) in page.text


def test_bad_entry_is_shown_again_next_to_the_field_and_nothing_is_stored(
    signed_in: Callable[[str], TestClient],
) -> None:
    client = signed_in("dealer-001")
    before = count(client, ApplicationRow)
    values = new_form(client)
    values["applicant.age"] = ["15"]
    values["applicant.city"] = ["Hangzhou"]
    page = submit(client, values)
    assert page.status_code == 422
    assert count(client, ApplicationRow) == before
    field = re.search(r'<input id="f-applicant-age"[^>]*>', page.text)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0) and "err-f-applicant-age" in field.group(0)
    assert 'id="err-f-applicant-age">Must be at least 18.' in page.text
    assert 'value="Hangzhou"' in page.text  # entered values kept
    assert form_values(page.text, "/dealer/new")["idempotency_key"] == values["idempotency_key"]


def test_engine_rule_maps_back_to_its_input(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    before = count(client, ApplicationRow)
    values = new_form(client)
    values["vehicle.price"] = ["400000.00"]  # above 1.5 × MSRP
    page = submit(client, values)
    assert page.status_code == 422
    assert count(client, ApplicationRow) == before
    field = re.search(r'<input id="f-vehicle-price"[^>]*>', page.text)
    assert field is not None and 'aria-invalid="true"' in field.group(0)
    assert "msrp" in page.text.split('id="err-f-vehicle-price"', 1)[1][:300]


def test_not_a_number_and_both_down_payments(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    values = new_form(client)
    values["applicant.monthly_income"] = ["lots"]
    page = submit(client, values)
    assert page.status_code == 422 and 'id="err-f-applicant-monthly_income">Enter a number' in page.text
    values = new_form(client)
    values["wishes.down_payment"] = ["50000.00"]
    page = submit(client, values)
    assert page.status_code == 422 and 'id="err-f-wishes-down_payment_pct"' in page.text


def test_double_submit_stores_one_application(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    before = count(client, ApplicationRow)
    values = new_form(client)
    first, second = submit(client, values), submit(client, values)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(client, ApplicationRow) == before + 1


def test_resubmitting_a_form_with_other_values_asks_again(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    values = new_form(client)
    assert submit(client, values).status_code == 303
    before = count(client, ApplicationRow)
    values["applicant.age"] = ["40"]
    page = submit(client, values)
    assert page.status_code == 422 and "already sent with other values" in page.text
    assert count(client, ApplicationRow) == before
    assert form_values(page.text, "/dealer/new")["idempotency_key"] != values["idempotency_key"]


def choose(client: TestClient, app_id: str, rank: int = 1, menu: str = "offers") -> Any:
    page = client.get(f"/dealer/applications/{app_id}")
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text)
    assert key is not None
    data = {"offer": str(rank), "menu": menu, "idempotency_key": key.group(1)}
    return client.post(f"/dealer/applications/{app_id}/accept", data=data, follow_redirects=False)


def test_choosing_an_offer_books_one_contract(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    app_id = submitted_app(client)
    first = choose(client, app_id)
    assert first.status_code == 303 and first.headers["location"].startswith("/dealer/contracts/")
    again = client.post(
        f"/dealer/applications/{app_id}/accept",
        data={"offer": "1", "menu": "offers", "idempotency_key": "x" * 32},
        follow_redirects=False,
    )
    assert again.headers["location"] == first.headers["location"]
    assert count(client, ContractRow) == 1
    other = client.post(
        f"/dealer/applications/{app_id}/accept",
        data={"offer": "2", "menu": "offers", "idempotency_key": "y" * 32},
        follow_redirects=False,
    )
    assert other.status_code == 409 and "already booked" in other.text
    page = client.get(f"/dealer/applications/{app_id}?lang=en")
    assert "Choose this offer" not in page.text and "This offer was chosen." in page.text
    assert "outcome-approve" in page.text


def test_contract_page_and_disclosure_match_the_contract(signed_in: Callable[[str], TestClient]) -> None:
    from autofin.documents.disclosure import money_text

    client = signed_in("dealer-001")
    app_id = submitted_app(client)
    location = choose(client, app_id).headers["location"]
    contract_id = location.rsplit("/", 1)[1]
    page = client.get(f"{location}?lang=en")
    assert page.status_code == 200
    assert f'href="/dealer/contracts/{contract_id}/disclosure?lang=en"' in page.text
    assert "张三" in page.text
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        row = session.get(ContractRow, contract_id)
        terms = row.offer["quote"]["contract"]
    html = client.get(f"{location}/disclosure?lang=en")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in html.headers["content-security-policy"]
    for key in ("amount_financed", "finance_charge", "total_of_payments"):
        assert money_text(terms["disclosure"][key], "CNY") in html.text, key
    last = terms["schedule"][-1]
    assert money_text(last["instalment"]) in html.text
    zh = client.get(f"{location}/disclosure?lang=zh-CN")
    assert '<html lang="zh-CN">' in zh.text and "信贷合同信息披露" in zh.text
    pdf = client.get(f"{location}/disclosure.pdf?lang=zh-CN")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")


def test_counter_offer_shows_what_changed(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    page = client.get(f"/dealer/applications/{demo_id(client, 'demo-counter-0001')}?lang=en")
    assert page.status_code == 200 and "outcome-counter_offer" in page.text
    assert "Counter-offers" in page.text and "more down payment" in page.text
    assert 'name="menu" value="counter_offers"' in page.text
    zh = client.get(f"/dealer/applications/{demo_id(client, 'demo-counter-0001')}?lang=zh-CN")
    assert "增加首付" in zh.text and "调整方案" in zh.text


def test_decline_shows_reasons_and_no_menu(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-002")
    page = client.get(f"/dealer/applications/{demo_id(client, 'demo-decline-0001')}?lang=en")
    assert page.status_code == 200 and "outcome-decline" in page.text
    assert "<h2>Reasons</h2>" in page.text
    assert "Choose this offer" not in page.text and "data-chart" not in page.text


def test_other_dealers_records_are_not_found(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    app_id = submitted_app(client)
    contract = choose(client, app_id).headers["location"]
    client = signed_in("dealer-002")
    for url in (
        f"/dealer/applications/{app_id}",
        contract,
        f"{contract}/disclosure",
        f"{contract}/disclosure.pdf",
    ):
        page = client.get(url)
        assert page.status_code == 404, url
        assert "张三" not in page.text
    refused = client.post(
        f"/dealer/applications/{app_id}/accept",
        data={"offer": "1", "menu": "offers", "idempotency_key": "k" * 32},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    assert client.get("/dealer/applications/no-such-id").status_code == 404


def test_roles_and_sign_in(site: TestClient, signed_in: Callable[[str], TestClient]) -> None:
    site.cookies.clear()
    response = site.get("/dealer/new", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/dealer/new"
    for name in ("customer", "analyst", "underwriter"):
        client = signed_in(name)
        assert client.get("/dealer").status_code == 403, name
        assert client.get("/dealer/new").status_code == 403, name
    admin = signed_in("admin")
    assert "demo-prime-0001" in admin.get("/dealer").text


def test_a_foreign_origin_cannot_submit(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    before = count(client, ApplicationRow)
    values = new_form(client)
    page = client.post("/dealer/new", data=values, headers={"Origin": "https://evil.example"})
    assert page.status_code == 403 and count(client, ApplicationRow) == before


def _english_texts() -> list[str]:
    from importlib import resources

    text = (resources.files("autofin.web") / "messages" / "dealer.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    out = []
    for value in data.values():
        en = value["en"].split("{")[0].strip(" .:—(")
        if len(en) >= 4 and en != value["zh-CN"]:
            out.append(en)
    return out


def test_chinese_pages_have_no_english_ui_text(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("dealer-001")
    app_id = submitted_app(client)
    contract = choose(client, app_id).headers["location"]
    pages = {
        "/dealer?lang=zh-CN": "我的申请",
        "/dealer/new?lang=zh-CN": "新建申请",
        f"/dealer/applications/{app_id}?lang=zh-CN": "融资方案",
        f"{contract}?lang=zh-CN": "打印信息披露",
    }
    english = _english_texts()
    assert "Choose this offer" in english
    for url, chinese in pages.items():
        html = client.get(url).text
        assert '<html lang="zh-CN">' in html and chinese in html, url
        visible = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
        visible = re.sub(r"<[^>]+>", " ", visible)
        found = [e for e in english if re.search(rf"(?<![\w-]){re.escape(e)}(?![\w-])", visible)]
        assert not found, (url, found)
    bad = new_form(client)
    bad["applicant.age"] = ["15"]
    page = client.post("/dealer/new?lang=zh-CN", data=bad)
    assert page.status_code == 422 and "不得小于 18。" in page.text
