"""Offer acceptance → contract, ``GET /v1/contracts/{id}``, ``GET /v1/applications/{id}/contract``, the
disclosure document (HTML, PDF) over HTTP, the quote log and the startup audit of version changes.

Store-backed tests run on a SQLite file and on a fresh PostgreSQL database (``db_url`` of tests/store).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from api_support import ALL_TOKENS, D2, QUOTE, bearer, client_sessions, example
from fastapi.testclient import TestClient
from sqlalchemy import select

from autofin.decision.engine import DecisionEngine
from autofin.documents.disclosure import document_model, money_text, rate_text
from autofin.store import audit
from autofin.store.crypto import generate_key
from autofin.store.models import ApplicationRow, AuditEntry, ContractRow, QuoteLogRow
from store.conftest import db_url  # noqa: F401 - the SQLite + PostgreSQL fixture of tests/store
from store.store_support import PERSONAL


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", generate_key())


@pytest.fixture
def store_client(db_url: str, secret: None, make_client: Callable[..., TestClient]) -> TestClient:  # noqa: F811
    return make_client(tokens=ALL_TOKENS, database_url=db_url, rate_per_second=1000.0, burst=1000)


def submit(client: TestClient, name: str, key: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"application": example(name), "personal": PERSONAL.model_dump(mode="json")}
    r = client.post(
        "/v1/applications", json=body, headers={**(headers or bearer("dealer")), "Idempotency-Key": key}
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def accept(
    client: TestClient, app_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"/v1/applications/{app_id}/acceptance",
        json=body,
        headers=bearer("dealer") if headers is None else headers,
    )


def test_accept_books_contract_once(store_client: TestClient) -> None:
    app = submit(store_client, "approve", "k1")
    offers = app["decision"]["record"]["offers"]
    first = accept(store_client, app["id"], {"offer": 2})
    assert first.status_code == 201, first.text
    contract = first.json()
    assert contract["offer"] == offers[1]  # exactly the stored offer, money as strings
    assert contract["offer_rank"] == 2 and contract["menu"] == "offers"
    assert contract["amount_financed"] == offers[1]["quote"]["amount_financed"]
    assert contract["schedule"] == offers[1]["quote"]["contract"]["schedule"]
    assert contract["disclosure"] == offers[1]["quote"]["contract"]["disclosure"]
    assert contract["client_application_id"] == "demo-approve-0001"
    again = accept(store_client, app["id"], {"offer": 2})
    assert again.status_code == 200 and again.json()["id"] == contract["id"]
    other = accept(store_client, app["id"], {"offer": 1})
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "offer"
    with client_sessions(store_client)() as s:
        assert len(list(s.scalars(select(ContractRow)))) == 1
        row = s.get(ApplicationRow, app["id"])
        assert row is not None and row.status == "booked"
        kinds = [e.kind for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert kinds.count("contract") == 1
        assert audit.verify(s).ok
    got = store_client.get(f"/v1/contracts/{contract['id']}", headers=bearer("dealer"))
    assert got.status_code == 200 and got.json() == contract
    by_app = store_client.get(f"/v1/applications/{app['id']}/contract", headers=bearer("underwriter"))
    assert by_app.status_code == 200 and by_app.json()["id"] == contract["id"]
    listed = store_client.get("/v1/applications/" + app["id"], headers=bearer("dealer")).json()
    assert listed["status"] == "booked"


def test_accept_counter_offer_menu(store_client: TestClient) -> None:
    app = submit(store_client, "counter_offer", "k1")
    record = app["decision"]["record"]
    assert record["outcome"] == "counter_offer" and record["counter_offers"]
    r = accept(store_client, app["id"], {"offer": 1})
    assert r.status_code == 201, r.text
    assert r.json()["menu"] == "counter_offers" and r.json()["offer"] == record["counter_offers"][0]


def test_accept_errors_name_the_field(store_client: TestClient) -> None:
    app = submit(store_client, "approve", "k1")
    n = len(app["decision"]["record"]["offers"])
    out_of_range = accept(store_client, app["id"], {"offer": n + 1})
    assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == "offer"
    zero = accept(store_client, app["id"], {"offer": 0})
    assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "offer"
    bad_menu = accept(store_client, app["id"], {"offer": 1, "menu": "counter_offers"})
    assert bad_menu.status_code == 422 and bad_menu.json()["errors"][0]["field"] == "offer"
    declined = submit(store_client, "decline", "k2")
    r = accept(store_client, declined["id"], {"offer": 1})
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "application_id" and "decline" in r.json()["errors"][0]["rule"]
    with client_sessions(store_client)() as s:
        assert list(s.scalars(select(ContractRow))) == []
        assert [e.kind for e in s.scalars(select(AuditEntry))].count("contract") == 0


def test_accept_roles_and_dealer_separation(store_client: TestClient) -> None:
    app = submit(store_client, "approve", "k1")
    assert accept(store_client, app["id"], {"offer": 1}, D2).status_code == 404
    assert accept(store_client, "nope", {"offer": 1}).status_code == 404
    for role in ("customer", "underwriter", "analyst"):
        assert accept(store_client, app["id"], {"offer": 1}, bearer(role)).status_code == 403
    assert accept(store_client, app["id"], {"offer": 1}, {}).status_code == 401
    made = accept(store_client, app["id"], {"offer": 1}, bearer("admin"))
    assert made.status_code == 201
    cid = made.json()["id"]
    assert store_client.get(f"/v1/contracts/{cid}", headers=D2).status_code == 404
    assert store_client.get(f"/v1/applications/{app['id']}/contract", headers=D2).status_code == 404
    assert store_client.get(f"/v1/contracts/{cid}/disclosure", headers=D2).status_code == 404
    assert store_client.get(f"/v1/contracts/{cid}", headers=bearer("customer")).status_code == 403
    assert store_client.get(f"/v1/contracts/{cid}/disclosure", headers=bearer("customer")).status_code == 403
    assert store_client.get("/v1/contracts/missing", headers=bearer("admin")).status_code == 404
    other = submit(store_client, "prime", "k2")
    assert (
        store_client.get(f"/v1/applications/{other['id']}/contract", headers=bearer("admin")).status_code
        == 404
    )


def _pdf_text(pdf: bytes) -> str:
    """The text of a reportlab PDF's content streams (plain, Flate, or ASCII85 over Flate)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = m.group(1).strip()
        if data.endswith(b"~>"):  # reportlab: ASCII85 over Flate
            data = zlib.decompress(base64.a85decode(data[:-2]))
        else:
            with contextlib.suppress(zlib.error):
                data = zlib.decompress(data)
        out.append(data.decode("latin-1"))
    return "\n".join(out)


def test_disclosure_html_and_pdf_match_the_contract(store_client: TestClient) -> None:
    app = submit(store_client, "approve", "k1")
    contract = accept(store_client, app["id"], {"offer": 1}).json()
    disclosure = contract["disclosure"]
    amount = money_text(disclosure["amount_financed"], contract["currency"])
    apr = rate_text(disclosure["rates"]["cn_irr"]["apr"])
    html = store_client.get(f"/v1/contracts/{contract['id']}/disclosure?lang=en", headers=bearer("dealer"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    page = html.text
    assert '<html lang="en">' in page and "@media print" in page
    assert amount in page and apr in page and money_text(disclosure["finance_charge"], "CNY") in page
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="schedule-table"')[1], re.S)
    assert len(rows) == len(contract["schedule"]) + 1  # header + every payment
    # the dealer of the application prints the contract: the customer's name in full
    assert PERSONAL.name in page
    analyst = store_client.get(f"/v1/contracts/{contract['id']}/disclosure", headers=bearer("analyst")).text
    assert PERSONAL.name not in analyst and PERSONAL.name[0] + "*" in analyst
    zh = store_client.get(
        f"/v1/contracts/{contract['id']}/disclosure?lang=zh-CN", headers=bearer("admin")
    ).text
    assert '<html lang="zh-CN">' in zh and "融资金额" in zh and amount in zh
    pdf = store_client.get(
        f"/v1/contracts/{contract['id']}/disclosure?format=pdf&lang=en", headers=bearer("admin")
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = _pdf_text(pdf.content)
    assert amount in text and apr in text
    again = store_client.get(
        f"/v1/contracts/{contract['id']}/disclosure?format=pdf&lang=en", headers=bearer("admin")
    )
    assert again.content == pdf.content  # deterministic
    zh_pdf = store_client.get(
        f"/v1/contracts/{contract['id']}/disclosure?format=pdf&lang=zh-CN", headers=bearer("admin")
    )
    assert zh_pdf.status_code == 200 and b"STSong-Light" in zh_pdf.content
    bad = store_client.get(f"/v1/contracts/{contract['id']}/disclosure?format=doc", headers=bearer("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format"
    bad_lang = store_client.get(f"/v1/contracts/{contract['id']}/disclosure?lang=fr", headers=bearer("admin"))
    assert bad_lang.status_code == 422 and bad_lang.json()["errors"][0]["field"] == "query.lang"
    terms = {t.key: t.value for t in document_model(contract, "en").key_terms}
    assert Decimal(terms["amount_financed"].split()[0].replace(",", "")) == Decimal(
        disclosure["amount_financed"]
    )


def test_quotes_are_logged(store_client: TestClient) -> None:
    for role, headers in (("dealer", bearer("dealer")), ("analyst", bearer("analyst"))):
        r = store_client.post("/v1/quotes", json=QUOTE, headers=headers)
        assert r.status_code == 200, (role, r.text)
    bad = store_client.post("/v1/quotes", json={**QUOTE, "product": "nope"}, headers=bearer("dealer"))
    assert bad.status_code == 422
    with client_sessions(store_client)() as s:
        rows = list(s.scalars(select(QuoteLogRow).order_by(QuoteLogRow.at)))
    assert [(r.role, r.dealer_id, r.channel) for r in rows] == [
        ("dealer", "D1", "api"),
        ("analyst", None, "api"),
    ]
    assert rows[0].product_id == QUOTE["product"]
    assert Decimal(rows[0].amount_financed) == Decimal(r.json()["amount_financed"])


def _version_entries(client: TestClient) -> list[AuditEntry]:
    with client_sessions(client)() as s:
        kinds = ("catalogue", "policy", "model", "pricing", "segments", "strategy", "code")
        return list(s.scalars(select(AuditEntry).where(AuditEntry.kind.in_(kinds)).order_by(AuditEntry.seq)))


def test_startup_audits_version_changes(
    db_url: str,  # noqa: F811
    secret: None,
    make_client: Callable[..., TestClient],
    engine: DecisionEngine,
) -> None:
    first = make_client(tokens=ALL_TOKENS, database_url=db_url)
    entries = _version_entries(first)
    assert sorted(e.kind for e in entries) == sorted(
        ["catalogue", "policy", "model", "pricing", "segments", "strategy", "code"]
    )
    catalogue = next(e for e in entries if e.kind == "catalogue")
    assert catalogue.subject == engine.catalogue.version and catalogue.payload["from"] is None
    first.__exit__(None, None, None)
    again = make_client(tokens=ALL_TOKENS, database_url=db_url)
    assert len(_version_entries(again)) == len(entries)  # same engine: nothing added
    again.__exit__(None, None, None)
    other_catalogue = engine.catalogue.model_copy(update={"version": "2099.1.1"})
    other = dataclasses.replace(engine, catalogue=other_catalogue, strategy=None)
    third = make_client(tokens=ALL_TOKENS, database_url=db_url, engine_factory=lambda: other)
    added = _version_entries(third)[len(entries) :]
    assert [(e.kind, e.subject) for e in added] == [("catalogue", "2099.1.1")]
    assert added[0].payload == {"component": "catalogue", "from": engine.catalogue.version, "to": "2099.1.1"}
    with client_sessions(third)() as s:
        assert audit.verify(s).ok
