"""Underwriter actions on referred applications: the queue, approve (with the menu the referral holds)
and decline (with reason codes), retries, races with another action, roles and errors; then booking an
approved referral. Store-backed tests run on SQLite and PostgreSQL (``db_url`` of tests/store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_support import bearer, client_sessions, example
from fastapi.testclient import TestClient
from sqlalchemy import select

from autofin.store import audit, repository
from autofin.store.crypto import generate_key
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow, ReviewRow
from store.conftest import db_url  # noqa: F401 - the SQLite + PostgreSQL fixture of tests/store
from store.store_support import PERSONAL


@pytest.fixture
def store_client(
    db_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    make_client: Callable[..., TestClient],
) -> TestClient:
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", generate_key())
    return make_client(database_url=db_url, rate_per_second=1000.0, burst=1000)


def referred(client: TestClient, key: str, app_id: str = "demo-refer-0001") -> dict[str, Any]:
    """Submit the approve example with unverified income: the policy refers it (RF_INCOME_NOT_VERIFIED)."""
    application = example("approve")
    application["application_id"] = app_id
    application["applicant"]["income_verified"] = False
    body = {"application": application, "personal": PERSONAL.model_dump(mode="json")}
    r = client.post("/v1/applications", json=body, headers={**bearer("dealer"), "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    assert out["status"] == "refer"
    return out


def review(client: TestClient, app_id: str, body: dict[str, Any], role: str = "underwriter") -> Any:
    return client.post(f"/v1/applications/{app_id}/review", json=body, headers=bearer(role))


def test_queue_lists_referrals_oldest_first(store_client: TestClient) -> None:
    a = referred(store_client, "k1", "demo-refer-a")
    b = referred(store_client, "k2", "demo-refer-b")
    store_client.post(
        "/v1/applications",
        json={"application": example("approve"), "personal": PERSONAL.model_dump(mode="json")},
        headers={**bearer("dealer"), "Idempotency-Key": "k3"},
    )
    r = store_client.get("/v1/reviews/queue", headers=bearer("underwriter"))
    assert r.status_code == 200
    items = r.json()["applications"]
    assert {i["id"] for i in items} == {a["id"], b["id"]}
    assert [i["submitted_at"] for i in items] == sorted(i["submitted_at"] for i in items)
    assert items[0]["reasons"][0]["code"] == "RF_INCOME_NOT_VERIFIED"
    assert items[0]["amount_requested"] == "125860.00" and items[0]["currency"] == "CNY"
    assert items[0]["offers"] == len(a["decision"]["record"]["offers"])
    assert (
        store_client.get("/v1/reviews/queue?limit=1", headers=bearer("admin")).json()["applications"]
        == items[:1]
    )
    for role in ("dealer", "customer", "analyst"):
        assert store_client.get("/v1/reviews/queue", headers=bearer(role)).status_code == 403
    bad = store_client.get("/v1/reviews/queue?limit=0", headers=bearer("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


def test_approve_carries_the_menu_then_books(store_client: TestClient) -> None:
    app = referred(store_client, "k1")
    refer_record = app["decision"]["record"]
    body = {"action": "approve", "reason_codes": ["RF_INCOME_NOT_VERIFIED"], "note": "payslips checked"}
    r = review(store_client, app["id"], body)
    assert r.status_code == 201, r.text
    out = r.json()
    record = out["decision"]["record"]
    assert out["decision"]["outcome"] == "approve" and record["reasons"] == []
    assert record["offers"] == refer_record["offers"] and record["offers"]
    assert record["review"]["by"] == "underwriter-u1" and record["review"]["note"] == "payslips checked"
    assert record["review"]["referred_decision_id"] == app["decision"]["id"]
    again = review(store_client, app["id"], body)
    assert again.status_code == 200 and again.json()["id"] == out["id"]
    other = review(store_client, app["id"], {"action": "decline", "reason_codes": ["KO_BANKRUPTCY"]})
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "application_id"
    with client_sessions(store_client)() as s:
        row = s.get(ApplicationRow, app["id"])
        assert row is not None and row.status == "approve"
        assert len(list(s.scalars(select(DecisionRow).where(DecisionRow.application_id == app["id"])))) == 2
        assert len(list(s.scalars(select(ReviewRow)))) == 1
        assert [e.kind for e in s.scalars(select(AuditEntry))].count("review") == 1
        assert audit.verify(s).ok
    assert store_client.get("/v1/reviews/queue", headers=bearer("underwriter")).json()["applications"] == []
    booked = store_client.post(
        f"/v1/applications/{app['id']}/acceptance", json={"offer": 1}, headers=bearer("dealer")
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["offer"] == refer_record["offers"][0]
    assert booked.json()["decision_id"] == out["decision"]["id"]


def test_decline_with_reason_codes(store_client: TestClient) -> None:
    app = referred(store_client, "k1")
    r = review(
        store_client, app["id"], {"action": "decline", "reason_codes": ["DTI_HIGH"], "note": "n"}, "admin"
    )
    assert r.status_code == 201, r.text
    record = r.json()["decision"]["record"]
    assert r.json()["decision"]["outcome"] == "decline"
    assert [x["code"] for x in record["reasons"]] == ["DTI_HIGH"] and record["reasons"][0]["zh-CN"]
    assert record["offers"] == [] and record["counter_offers"] == []
    stored = store_client.get(f"/v1/applications/{app['id']}", headers=bearer("dealer")).json()
    assert stored["status"] == "decline"
    refused = store_client.post(
        f"/v1/applications/{app['id']}/acceptance", json={"offer": 1}, headers=bearer("dealer")
    )
    assert refused.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "decline", "reason_codes": []}, "reason_codes"),
        ({"action": "decline", "reason_codes": ["NOT_A_CODE"]}, "reason_codes[0]"),
        ({"action": "decline", "reason_codes": ["DTI_HIGH", "DTI_HIGH"]}, "reason_codes[1]"),
        ({"action": "decline", "reason_codes": ["DTI_HIGH"] * 5}, "reason_codes"),
        ({"action": "maybe"}, "action"),
        ({"action": "approve", "note": "x" * 2001}, "note"),
        ({"action": "approve", "extra": 1}, "extra"),
    ],
)
def test_review_errors_name_the_field(store_client: TestClient, body: dict[str, Any], field: str) -> None:
    app = referred(store_client, "k1")
    r = review(store_client, app["id"], body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    with client_sessions(store_client)() as s:
        assert list(s.scalars(select(ReviewRow))) == []


def test_review_roles_and_state(store_client: TestClient) -> None:
    app = referred(store_client, "k1")
    for role in ("dealer", "customer", "analyst"):
        assert review(store_client, app["id"], {"action": "approve"}, role).status_code == 403
    assert review(store_client, "missing", {"action": "approve"}).status_code == 404
    approved = store_client.post(
        "/v1/applications",
        json={"application": example("approve"), "personal": PERSONAL.model_dump(mode="json")},
        headers={**bearer("dealer"), "Idempotency-Key": "k2"},
    ).json()
    r = review(store_client, approved["id"], {"action": "approve"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "application_id"


def test_approve_needs_an_offer(store_client: TestClient) -> None:
    app = referred(store_client, "k1")
    record = {**app["decision"]["record"], "offers": [], "counter_offers": []}
    with client_sessions(store_client)() as s:
        repository.record_decision(s, app["id"], record)
    r = review(store_client, app["id"], {"action": "approve"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "action"
    declined = review(
        store_client, app["id"], {"action": "decline", "reason_codes": ["NO_AFFORDABLE_STRUCTURE"]}
    )
    assert declined.status_code == 201
