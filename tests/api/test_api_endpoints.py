"""The /v1 endpoints: health, versions, products, quotes and decisions, and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_support import QUOTE, TOKENS, bearer, example
from fastapi.testclient import TestClient

from autofin.api import ApiSettings, create_app
from autofin.api.routes import preferred_lang
from autofin.decision.engine import DecisionEngine


def test_health_needs_no_token(client: TestClient, engine: DecisionEngine) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "catalogue": engine.catalogue.version}


def test_versions_are_the_engine_stamp(client: TestClient, engine: DecisionEngine) -> None:
    r = client.get("/v1/versions", headers=bearer("analyst"))
    assert r.status_code == 200
    body = r.json()
    stamp = engine.stamp.to_dict()
    assert body["catalogue"] == stamp["catalogue"]
    assert body["policy_tables"] == stamp["policy_tables"]
    assert body["models"] == ["pd-test:1"]
    assert body["pricing"] == stamp["pricing"]
    assert body["code"] == stamp["code"]
    assert body["digest"] == engine.stamp.digest


def test_products_list_every_catalogue_product(client: TestClient, engine: DecisionEngine) -> None:
    r = client.get("/v1/products", headers=bearer("customer"))
    assert r.status_code == 200
    body = r.json()
    assert body["catalogue"] == engine.catalogue.version
    assert [p["id"] for p in body["products"]] == sorted(engine.catalogue.products)
    first = body["products"][0]
    product = engine.catalogue.products[first["id"]]
    assert first["name"] == {"en": product.name.en, "zh-CN": product.name.zh_cn}
    assert first["terms"] == product.terms
    assert first["kind"] == product.kind
    assert set(first["down_payment"]) == {"min", "max"}
    assert "eligibility" in first


def test_one_product_with_its_rules(client: TestClient, engine: DecisionEngine) -> None:
    r = client.get("/v1/products/cn-balloon-flex", headers=bearer("dealer"))
    assert r.status_code == 200
    body = r.json()
    product = engine.catalogue.products["cn-balloon-flex"]
    assert body["id"] == "cn-balloon-flex"
    assert body["balloon"]["max_pct_of_price"] == str(product.balloon.max_pct_of_price)  # type: ignore[union-attr]
    assert body["description"]["zh-CN"] == product.description.zh_cn
    assert body["eligibility"]["min_bureau_score"] == product.eligibility.min_bureau_score


def test_unknown_product_is_a_404_problem(client: TestClient) -> None:
    r = client.get("/v1/products/no-such-product", headers=bearer("dealer"))
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["instance"] == "/v1/products/no-such-product"
    assert "no-such-product" in r.json()["detail"]


def test_quote_gives_schedule_and_disclosure(client: TestClient) -> None:
    r = client.post("/v1/quotes", json=QUOTE, headers=bearer("customer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["product"]["id"] == "cn-standard-equal-instalment"
    assert body["term"] == 36
    assert isinstance(body["monthly_payment"], str)
    assert body["down_payment"] == "53940.00"
    assert body["contract"]  # the exact contract: schedule and disclosure
    text = json.dumps(body["contract"])
    assert "schedule" in text or "rows" in text or "payments" in text


def test_decision_trace_can_be_left_out(client: TestClient) -> None:
    full = client.post("/v1/decisions", json=example("approve"), headers=bearer("dealer")).json()
    short = client.post(
        "/v1/decisions", params={"trace": "false"}, json=example("approve"), headers=bearer("dealer")
    ).json()
    assert "trace" in full
    assert "trace" not in short
    assert short["outcome"] == full["outcome"] == "approve"


@pytest.mark.parametrize("name", ["approve", "counter_offer"])
def test_decision_equals_the_engine_record(client: TestClient, engine: DecisionEngine, name: str) -> None:
    r = client.post("/v1/decisions", json=example(name), headers=bearer("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.pop("lang") == "en"
    assert set(body.pop("timings_us")) >= {"total"}
    expected = json.loads(json.dumps(engine.decide(example(name)).to_dict(timings=False)))
    assert body == expected
    assert body["outcome"] == ("approve" if name == "approve" else "counter_offer")
    assert all(isinstance(o["monthly_payment"], str) for o in body["offers"] + body["counter_offers"])


def test_accept_language_sets_lang_and_keeps_both_texts(client: TestClient) -> None:
    headers = {**bearer("dealer"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    body = client.post("/v1/decisions", json=example("counter_offer"), headers=headers).json()
    assert body["lang"] == "zh-CN"
    assert body["reasons"]
    assert all({"en", "zh-CN"} <= set(r) for r in body["reasons"])


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "zh-CN"),
        ("fr, zh-Hans;q=0.1", "zh-CN"),
        ("zh-CN;q=0, en", "en"),
        ("de", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
    ],
)
def test_preferred_lang(header: str | None, lang: str) -> None:
    assert preferred_lang(header) == lang


def test_openapi_document_lists_every_path(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.text)
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/v1/health",
        "/v1/versions",
        "/v1/products",
        "/v1/products/{product_id}",
        "/v1/quotes",
        "/v1/decisions",
        "/v1/applications",
        "/v1/applications/{application_id}",
        "/v1/applications/{application_id}/acceptance",
        "/v1/applications/{application_id}/contract",
        "/v1/applications/{application_id}/review",
        "/v1/contracts/{contract_id}",
        "/v1/contracts/{contract_id}/disclosure",
        "/v1/reviews/queue",
    }
    schemas = doc["components"]["schemas"]
    assert {"Application", "Problem", "QuoteRequest", "DecisionRecord"} <= set(schemas)
    body = doc["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Application"}
    # every reference resolves inside the document
    refs = {m for m in _refs(doc)}
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)
    assert set(schemas["Vehicle"]["properties"]) >= {"price", "msrp", "brand"}  # the Application's own
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (path, method, status)
    assert client.get("/docs").status_code == 200


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for v in node.values():
            out += _refs(v)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_engine_is_built_once_at_startup(engine: DecisionEngine) -> None:
    calls: list[int] = []

    def factory() -> DecisionEngine:
        calls.append(1)
        return engine

    app = create_app(ApiSettings(tokens=TOKENS, engine_factory=factory))
    assert calls == []  # not at import or construction
    with TestClient(app) as client:
        for _ in range(3):
            assert (
                client.post("/v1/decisions", json=example("approve"), headers=bearer("dealer")).status_code
                == 200
            )
        assert client.get("/v1/products", headers=bearer("dealer")).status_code == 200
    assert calls == [1]


def test_default_engine_is_the_demo_engine(
    engine: DecisionEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import autofin.cli.decide

    seen: list[Path | None] = []

    def build_engine(models: Path | None) -> DecisionEngine:
        seen.append(models)
        return engine

    monkeypatch.setattr(autofin.cli.decide, "build_engine", build_engine)
    with TestClient(create_app(ApiSettings(models_dir=tmp_path))) as client:
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/products").status_code == 401  # no tokens configured
    assert seen == [tmp_path]
