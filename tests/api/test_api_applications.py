"""``/v1/applications``: exactly-once submission over HTTP (retries, races), dealer separation, masking
by role, the audit ledger, and the demo seeding of ``autofin serve``.

Every store-backed test runs on a SQLite file and on a fresh PostgreSQL database (the ``db_url`` fixture
of tests/store, skipped with the reason when PostgreSQL cannot be reached).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from api_support import ALL_TOKENS, D2, bearer, client_sessions, example
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from autofin.api.app import keyring_for_url, open_store
from autofin.cli import app as cli_app
from autofin.cli import serve as serve_module
from autofin.decision.engine import DecisionEngine
from autofin.demo_history import HistoryReport
from autofin.store import audit
from autofin.store.crypto import generate_key
from autofin.store.db import session_factory
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow
from store.conftest import db_url  # noqa: F401 - the SQLite + PostgreSQL fixture of tests/store
from store.store_support import PERSONAL

PERSONAL_JSON: dict[str, Any] = PERSONAL.model_dump(mode="json")


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key for personal data (PostgreSQL has no key file)."""
    monkeypatch.setenv("AUTOFIN_SECRET_KEY", generate_key())


@pytest.fixture
def store_client(db_url: str, secret: None, make_client: Callable[..., TestClient]) -> TestClient:  # noqa: F811
    return make_client(tokens=ALL_TOKENS, database_url=db_url, rate_per_second=1000.0, burst=1000)


def _count(client: TestClient, model: type[Any]) -> int:
    with client_sessions(client)() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _body(name: str = "approve") -> dict[str, Any]:
    return {"application": example(name), "personal": PERSONAL_JSON}


def _submit(
    client: TestClient, key: str | None, body: dict[str, Any] | None = None, role: str = "dealer"
) -> Any:
    headers = {**bearer(role)}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/applications", json=body or _body(), headers=headers)


def test_submit_stores_and_decides_once_per_key(store_client: TestClient) -> None:
    first = _submit(store_client, "key-0001")
    assert first.status_code == 201, first.text
    again = _submit(store_client, "key-0001")
    assert again.status_code == 200
    a, b = first.json(), again.json()
    assert a["id"] == b["id"]
    assert a["decision"]["id"] == b["decision"]["id"]
    assert a["decision"]["record"] == b["decision"]["record"]
    assert a["status"] == a["decision"]["outcome"] == "approve"
    assert a["dealer_id"] == "D1"
    assert a["application_id"] == "demo-approve-0001"
    assert "timings_us" not in a["decision"]["record"]
    assert (_count(store_client, ApplicationRow), _count(store_client, DecisionRow)) == (1, 1)


def test_same_key_with_another_body_is_a_409(store_client: TestClient) -> None:
    assert _submit(store_client, "key-0001").status_code == 201
    r = _submit(store_client, "key-0001", _body("decline"))
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == "/problems/conflict"
    assert problem["errors"][0]["field"] == "header.Idempotency-Key"
    assert "Idempotency-Key" in problem["detail"]
    assert (_count(store_client, ApplicationRow), _count(store_client, DecisionRow)) == (1, 1)


@pytest.mark.parametrize("key", [None, "", "   ", "k" * 129])
def test_idempotency_key_is_required_and_bounded(store_client: TestClient, key: str | None) -> None:
    r = _submit(store_client, key)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert _count(store_client, ApplicationRow) == 0


def test_bad_application_is_a_422_naming_the_field_and_stores_nothing(store_client: TestClient) -> None:
    r = _submit(store_client, "key-bad", _body("bad_currency"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "application.currency"
    r = _submit(store_client, "key-bad2", {"application": example("approve"), "personal": {"name": "x"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "personal.national_id"
    assert _count(store_client, ApplicationRow) == 0


def test_keys_are_scoped_per_dealer(store_client: TestClient) -> None:
    """Two dealers may use the same key for their own applications."""
    r1 = _submit(store_client, "1")
    r2 = store_client.post("/v1/applications", json=_body("decline"), headers={**D2, "Idempotency-Key": "1"})
    assert (r1.status_code, r2.status_code) == (201, 201)
    assert r1.json()["id"] != r2.json()["id"]
    assert r2.json()["dealer_id"] == "D2"


def test_concurrent_submissions_with_one_key_store_and_decide_once(store_client: TestClient) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: _submit(store_client, "race-key"), range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["decision"]["id"] for r in responses}) == 1
    assert (_count(store_client, ApplicationRow), _count(store_client, DecisionRow)) == (1, 1)
    with client_sessions(store_client)() as s:  # the startup's version entries aside
        assert len(list(s.scalars(select(AuditEntry).where(AuditEntry.kind == "decision")))) == 1


def test_dealers_see_only_their_own_applications(store_client: TestClient) -> None:
    mine = _submit(store_client, "k-d1").json()["id"]
    theirs = store_client.post(
        "/v1/applications", json=_body("prime"), headers={**D2, "Idempotency-Key": "k-d2"}
    ).json()["id"]
    assert store_client.get(f"/v1/applications/{mine}", headers=bearer("dealer")).status_code == 200
    hidden = store_client.get(f"/v1/applications/{theirs}", headers=bearer("dealer"))
    missing = store_client.get("/v1/applications/0123456789abcdef", headers=bearer("dealer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["type"] == "/problems/not-found"
    own = store_client.get("/v1/applications", headers=bearer("dealer")).json()["applications"]
    assert [a["id"] for a in own] == [mine]
    own2 = store_client.get("/v1/applications", headers=D2).json()["applications"]
    assert [a["id"] for a in own2] == [theirs]
    for role in ("underwriter", "analyst", "admin"):
        everyone = store_client.get("/v1/applications", headers=bearer(role)).json()["applications"]
        assert {a["id"] for a in everyone} == {mine, theirs}
        assert store_client.get(f"/v1/applications/{theirs}", headers=bearer(role)).status_code == 200


def test_list_filters_by_status_and_limit(store_client: TestClient) -> None:
    _submit(store_client, "k1")
    _submit(store_client, "k2", _body("decline"))
    _submit(store_client, "k3", _body("prime"))
    h = bearer("underwriter")
    all_rows = store_client.get("/v1/applications", headers=h).json()["applications"]
    assert len(all_rows) == 3
    declined = store_client.get("/v1/applications?status=decline", headers=h).json()["applications"]
    assert [a["status"] for a in declined] == ["decline"]
    assert len(store_client.get("/v1/applications?limit=2", headers=h).json()["applications"]) == 2
    bad = store_client.get("/v1/applications?limit=0", headers=h)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.limit"


def test_customers_submit_but_do_not_read(store_client: TestClient) -> None:
    r = _submit(store_client, "k-c", role="customer")
    assert r.status_code == 201
    assert r.json()["dealer_id"] == "direct"
    assert r.json()["personal"]["masked"] is True
    app_id = r.json()["id"]
    assert store_client.get(f"/v1/applications/{app_id}", headers=bearer("customer")).status_code == 403
    assert store_client.get("/v1/applications", headers=bearer("customer")).status_code == 403
    assert _submit(store_client, "k-x", role="analyst").status_code == 403
    assert _submit(store_client, "k-y", role="underwriter").status_code == 403
    assert store_client.get("/v1/applications").status_code == 401


def test_personal_data_is_masked_except_for_underwriters_and_admins(store_client: TestClient) -> None:
    created = _submit(store_client, "k-mask").json()
    assert created["personal"] == {
        "masked": True,
        "national_id": "**************1234",
        "name": "张*",
        "phone": "138****5678",
        "income_documents": [
            {"kind": "payslip", "issuer": "", "reference": "", "monthly_amount": "32000.00"}
        ],
    }
    app_id = created["id"]
    for role, masked in (("dealer", True), ("analyst", True), ("underwriter", False), ("admin", False)):
        p = store_client.get(f"/v1/applications/{app_id}", headers=bearer(role)).json()["personal"]
        assert p["masked"] is masked
        if masked:
            assert p["national_id"] == "**************1234" and p["phone"] == "138****5678"
        else:
            assert (p["national_id"], p["name"], p["phone"]) == ("110101199003071234", "张伟", "13812345678")
            assert p["income_documents"][0]["issuer"] == "Shanghai Example Co."
    admin_submit = _submit(store_client, "k-admin", role="admin").json()
    assert admin_submit["personal"]["masked"] is False
    # the database holds the personal data only encrypted
    with client_sessions(store_client)() as s:
        blob = s.get(ApplicationRow, app_id).personal_data  # type: ignore[union-attr]
    assert b"110101199003071234" not in blob and "张伟".encode() not in blob


def test_audit_ledger_verifies_after_submissions(store_client: TestClient) -> None:
    for k, name in enumerate(("approve", "decline", "prime", "counter_offer")):
        assert _submit(store_client, f"k-{k}", _body(name)).status_code == 201
        assert _submit(store_client, f"k-{k}", _body(name)).status_code == 200
    with client_sessions(store_client)() as s:
        report = audit.verify(s)
        assert report.ok, report.line()
        decisions = list(s.scalars(select(AuditEntry.subject).where(AuditEntry.kind == "decision")))
        assert len(decisions) == 4  # besides the startup's version entries
        subjects = set(decisions)
    assert subjects == set(s2.id for s2 in _rows(store_client))


def _rows(client: TestClient) -> list[ApplicationRow]:
    with client_sessions(client)() as s:
        return list(s.scalars(select(ApplicationRow)))


def test_get_application_returns_the_latest_decision(store_client: TestClient) -> None:
    created = _submit(store_client, "k-get").json()
    got = store_client.get(f"/v1/applications/{created['id']}", headers=bearer("dealer")).json()
    assert got["decision"]["id"] == created["decision"]["id"]
    assert got["application"]["vehicle"]["price"] == "179800.00"
    assert got["status"] == "approve"


# ---- autofin serve: demo tokens and seeding (no server is started) -------------------------------------


def test_seed_demo_is_idempotent(db_url: str, secret: None, engine: DecisionEngine) -> None:  # noqa: F811
    db = open_store(db_url)
    try:
        sessions = session_factory(db)
        keys = keyring_for_url(db.url)
        first = serve_module.seed_demo(sessions, engine, keys)
        counts = _counts(sessions)
        second = serve_module.seed_demo(sessions, engine, keys)
        assert (first.created, first.existing) == (4, 0)
        assert (second.created, second.existing) == (0, 4)
        assert _counts(sessions) == counts == (4, 4, 4)
        with sessions() as s:
            assert audit.verify(s).ok
            dealers = sorted(r.dealer_id for r in s.scalars(select(ApplicationRow)))
        assert dealers == ["dealer-001", "dealer-001", "dealer-002", "dealer-002"]
    finally:
        db.dispose()


def _counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (ApplicationRow, DecisionRow, AuditEntry)
        )


def test_demo_tokens_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "autofin-tokens.json"
    tokens, created = serve_module.ensure_demo_tokens(path)
    assert created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tokens.values()) == [
        "admin",
        "analyst",
        "dealer-001",
        "dealer-002",
        "underwriter",
    ]
    assert {p.dealer_id for p in tokens.values() if p.role == "dealer"} == {"dealer-001", "dealer-002"}
    assert all(len(t) >= 16 for t in tokens)
    again, created_again = serve_module.ensure_demo_tokens(path)
    assert (again, created_again) == (tokens, False)
    assert (
        serve_module.default_tokens_path(f"sqlite:///{tmp_path / 'x' / 'a.db'}") == tmp_path / "x" / path.name
    )


def test_serve_command_seeds_and_hands_the_app_to_uvicorn(
    tmp_path: Path, engine: DecisionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import autofin.cli.decide

    monkeypatch.delenv("AUTOFIN_SECRET_KEY", raising=False)
    monkeypatch.delenv("AUTOFIN_API_TOKENS_FILE", raising=False)
    monkeypatch.setattr(autofin.cli.decide, "build_engine", lambda models: engine)
    # The demo history (tests/unit/test_demo_history.py) is left out: this test counts the 4 examples.
    monkeypatch.setattr("autofin.demo_history.seed_history", lambda *a, **k: HistoryReport(0, 0))
    served: list[tuple[Any, str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port: served.append((app, host, port)))
    url = f"sqlite:///{tmp_path / 'autofin.db'}"
    runner = CliRunner()
    for run in range(2):
        result = runner.invoke(cli_app, ["serve", "--port", "8765", "--database", url])
        assert result.exit_code == 0, result.output
        assert "http://127.0.0.1:8765" in result.output
        assert ("seeded 4 demo applications" in result.output) is (run == 0)
    tokens = json.loads((tmp_path / "autofin-tokens.json").read_text())
    assert all(token in result.output for token in tokens)
    app, host, port = served[-1]
    assert (host, port) == ("127.0.0.1", 8765)
    dealer1 = next(t for t, p in tokens.items() if p["name"] == "dealer-001")
    with TestClient(app) as client:
        rows = client.get("/v1/applications", headers={"Authorization": f"Bearer {dealer1}"}).json()
        assert len(rows["applications"]) == 2
        r = client.post(
            "/v1/applications",
            json=_body(),
            headers={"Authorization": f"Bearer {dealer1}", "Idempotency-Key": "readme-0001"},
        )
        assert r.status_code == 201, r.text
        assert _count(client, ApplicationRow) == 5
