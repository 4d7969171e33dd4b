"""Store functions after a decision: contracts (one per application, races), reviews, the quote log and
the version audit — on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from store_support import PERSONAL

from autofin.decision.application import Application
from autofin.decision.engine import Decision
from autofin.errors import ValidationError
from autofin.store import audit, contracts, repository
from autofin.store.crypto import KeyRing
from autofin.store.models import ApplicationRow, AuditEntry, ContractRow, DecisionRow, QuoteLogRow, ReviewRow


def _count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def decided(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> ApplicationRow:
    """The approve example stored with its decision, for dealer d-1."""
    with sessions() as s:
        row, _ = repository.submit_application(
            s, idempotency_key="k-1", dealer_id="d-1", application=application, personal=PERSONAL, keys=keys
        )
    with sessions() as s:
        repository.record_decision(s, row.id, decision.to_dict(timings=False))
    return row


def _accept(sessions: sessionmaker[Session], app_id: str, offer: int, dealer: str | None = "d-1") -> Any:
    with sessions() as s:
        return contracts.accept(
            s, application_id=app_id, offer=offer, accepted_by="dealer-d1", dealer_id=dealer
        )


def test_accept_once_and_retry(
    sessions: sessionmaker[Session], decided: ApplicationRow, decision: Decision
) -> None:
    row, created = _accept(sessions, decided.id, 1)
    again, created_again = _accept(sessions, decided.id, 1)
    assert (created, created_again) == (True, False) and again.id == row.id
    assert row.offer == decision.to_dict(timings=False)["offers"][0]
    assert row.amount_financed == row.offer["quote"]["amount_financed"] and row.currency == "CNY"
    with pytest.raises(contracts.ConflictError) as err:
        _accept(sessions, decided.id, 2)
    assert err.value.field == "offer"
    with pytest.raises(contracts.NotFoundError):
        _accept(sessions, decided.id, 1, dealer="d-2")
    with pytest.raises(ValidationError) as bad:
        _accept(sessions, decided.id, 0)
    assert bad.value.field == "offer"
    with sessions() as s:
        assert s.get(ApplicationRow, decided.id).status == contracts.BOOKED  # type: ignore[union-attr]
        assert contracts.get_contract(s, row.id, dealer_id="d-2") is None
        assert contracts.contract_for_application(s, decided.id, dealer_id="d-1").id == row.id  # type: ignore[union-attr]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.kind == "contract")).one()
        assert entry.subject == decided.id and entry.payload["contract_id"] == row.id
        assert entry.payload["amount_financed"] == row.amount_financed
        assert audit.verify(s).ok
    assert _count(sessions, ContractRow) == 1


def test_concurrent_acceptances_book_one_contract(
    sessions: sessionmaker[Session], decided: ApplicationRow
) -> None:
    def go(offer: int) -> str:
        try:
            row, _ = _accept(sessions, decided.id, offer)
            return f"ok:{row.offer_rank}"
        except contracts.ConflictError as exc:
            return f"conflict:{exc.field}"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(go, [1, 1, 2, 1, 2, 1, 1, 2]))
    ok = {r for r in results if r.startswith("ok")}
    assert len(ok) == 1  # every success is the same booked offer
    booked = int(next(iter(ok)).split(":")[1])
    expected = {1: 5, 2: 3}[booked]
    assert results.count(f"ok:{booked}") == expected
    assert _count(sessions, ContractRow) == 1
    with sessions() as s:
        assert [e.kind for e in s.scalars(select(AuditEntry))].count("contract") == 1


def test_review_checks_the_referral_is_latest(
    sessions: sessionmaker[Session], decided: ApplicationRow
) -> None:
    with sessions() as s:
        latest = repository.latest_decision(s, decided.id)
    assert latest is not None
    record = {**latest.record, "outcome": "decline"}
    with sessions() as s, pytest.raises(contracts.ConflictError) as err:
        contracts.record_review(
            s, application_id=decided.id, referred_decision_id=latest.id, record=record, action="decline",
            reason_codes=["DTI_HIGH"], note="", by="u", role="underwriter",
        )  # fmt: skip
    assert err.value.field == "application_id"
    assert _count(sessions, ReviewRow) == 0 and _count(sessions, DecisionRow) == 1


def test_review_writes_decision_review_and_audit_together(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    with sessions() as s:
        row, _ = repository.submit_application(
            s, idempotency_key="k-r", dealer_id="d-1", application=application, personal=PERSONAL, keys=keys
        )
    referral = {**decision.to_dict(timings=False), "outcome": "refer"}
    with sessions() as s:
        refer = repository.record_decision(s, row.id, referral)
    with sessions() as s:
        assert [a.id for a in contracts.referred_queue(s)] == [row.id]
    record = {**referral, "outcome": "approve", "review": {"by": "u"}}
    with sessions() as s:
        made, review = contracts.record_review(
            s, application_id=row.id, referred_decision_id=refer.id, record=record, action="approve",
            reason_codes=[], note="ok", by="u", role="underwriter",
        )  # fmt: skip
    assert (
        made.outcome == "approve"
        and review.decision_id == made.id
        and review.referred_decision_id == refer.id
    )
    with sessions() as s:
        assert s.get(ApplicationRow, row.id).status == "approve"  # type: ignore[union-attr]
        assert contracts.referred_queue(s) == []
        entry = s.scalars(select(AuditEntry).where(AuditEntry.kind == "review")).one()
        assert (
            entry.payload["decision_id"] == made.id and entry.payload["record_digest"] == made.record_digest
        )
        assert [r.id for r in contracts.reviews_for(s, row.id)] == [review.id]
        assert audit.verify(s).ok


def test_quote_log(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        contracts.log_quote(
            s,
            role="dealer",
            dealer_id="d-1",
            product_id="p",
            amount_financed=Decimal("125860.10"),
            channel="web",
        )
    with sessions() as s:
        contracts.log_quote(
            s, role="admin", dealer_id=None, product_id="p", amount_financed=Decimal("1"), channel="api"
        )
    with sessions() as s, pytest.raises(ValidationError) as err:
        contracts.log_quote(
            s, role="admin", dealer_id=None, product_id="p", amount_financed=Decimal(1), channel="fax"
        )
    assert err.value.field == "channel"
    with sessions() as s:
        rows = contracts.quote_log(s)
        assert [(r.amount_financed, r.channel, r.dealer_id) for r in rows] == [
            ("125860.10", "web", "d-1"),
            ("1", "api", None),
        ]
        assert [r.dealer_id for r in contracts.quote_log(s, dealer_id="d-1")] == ["d-1"]
    assert _count(sessions, QuoteLogRow) == 2


def test_record_versions_only_on_change(sessions: sessionmaker[Session], decision: Decision) -> None:
    stamp = decision.stamp.to_dict()
    with sessions() as s:
        first = contracts.record_versions(s, stamp)
    assert {e.kind for e in first} == set(contracts.VERSION_KINDS.values())
    with sessions() as s:
        assert contracts.record_versions(s, stamp) == []
    changed = {**stamp, "models": ["pd-other:2"], "pricing": "assumptions@x"}
    with sessions() as s:
        added = contracts.record_versions(s, changed)
    assert sorted((e.kind, e.subject) for e in added) == [
        ("model", "pd-other:2"),
        ("pricing", "assumptions@x"),
    ]
    model = next(e for e in added if e.kind == "model")
    assert model.payload == {"component": "models", "from": stamp["models"], "to": ["pd-other:2"]}
    with sessions() as s:
        assert audit.verify(s).ok


def test_record_versions_concurrently_records_once(
    sessions: sessionmaker[Session], decision: Decision
) -> None:
    stamp = decision.stamp.to_dict()

    def go(_: int) -> int:
        with sessions() as s:
            return len(contracts.record_versions(s, stamp))

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(go, range(4)))
    assert sum(counts) == len(contracts.VERSION_KINDS)
    with sessions() as s:
        assert audit.verify(s).ok
