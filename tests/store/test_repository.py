"""Repositories: exactly-once submission (retries, races), decisions with their audit entry, reads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from store_support import PERSONAL, application_with

from autofin.decision.application import Application
from autofin.decision.engine import Decision
from autofin.errors import ValidationError
from autofin.store import audit, repository
from autofin.store.crypto import KeyRing, PersonalData
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow


def _count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _submit(
    sessions: sessionmaker[Session], keys: KeyRing, app: Application, key: str = "k-1", dealer: str = "d-1",
    personal: PersonalData = PERSONAL,
) -> tuple[ApplicationRow, bool]:  # fmt: skip
    with sessions() as s:
        return repository.submit_application(
            s, idempotency_key=key, dealer_id=dealer, application=app, personal=personal, keys=keys
        )


def test_submit_same_key_twice_stores_one_row(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    first, created = _submit(sessions, keys, application)
    again, created_again = _submit(sessions, keys, application)
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert _count(sessions, ApplicationRow) == 1
    assert first.status == repository.SUBMITTED
    assert first.channel == "dealer"
    assert first.submitted_at.utcoffset() is not None
    assert first.submitted_at.isoformat() == "2026-11-20T02:15:00+00:00"  # 10:15 +08:00 in UTC
    assert first.application["vehicle"]["price"] == "179800.00"  # money stays a string


def test_same_key_different_body_is_refused(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    _submit(sessions, keys, application)
    other = application_with(application, "demo-approve-0002")
    with pytest.raises(ValidationError) as err:
        _submit(sessions, keys, other)
    assert err.value.field == "idempotency_key"
    with pytest.raises(ValidationError, match="idempotency_key"):
        _submit(sessions, keys, application, personal=PERSONAL.model_copy(update={"phone": "13900000000"}))
    with pytest.raises(ValidationError, match="idempotency_key"):
        _submit(sessions, keys, application, dealer="d-2")
    assert _count(sessions, ApplicationRow) == 1


def test_sixteen_threads_racing_on_one_key_store_one_row(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    barrier = threading.Barrier(16)

    def go(_: int) -> tuple[str, bool]:
        barrier.wait()
        row, created = _submit(sessions, keys, application, key="race")
        return row.id, created

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(go, range(16)))
    assert len({rid for rid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert _count(sessions, ApplicationRow) == 1


def test_fifty_distinct_keys_concurrently_store_fifty_rows(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    def go(i: int) -> bool:
        _, created = _submit(sessions, keys, application_with(application, f"app-{i}"), key=f"key-{i}")
        return created

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(go, range(50)))
    assert _count(sessions, ApplicationRow) == 50


def test_record_decision_with_audit_entry_in_one_transaction(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    row, _ = _submit(sessions, keys, application)
    record = decision.to_dict(timings=False)
    with sessions() as s:
        stored = repository.record_decision(s, row.id, record)
    assert stored.record_digest == decision.digest
    assert stored.version_digest == decision.stamp.digest
    assert stored.outcome == decision.outcome
    with sessions() as s:
        app_row = repository.get_application(s, row.id)
        assert app_row is not None and app_row.status == decision.outcome
        (entry,) = s.scalars(select(AuditEntry)).all()
        assert (entry.seq, entry.kind, entry.subject) == (1, "decision", row.id)
        assert entry.payload["record_digest"] == decision.digest
        assert audit.verify(s).ok
        (again,) = repository.decisions_for(s, row.id)
        assert again.record == record  # JSON round trip is exact
        assert repository.record_digest(again.record) == decision.digest


def test_stored_counts_count_applications_per_key_and_decisions_per_application(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    first, _ = _submit(sessions, keys, application, key="k-1")
    _submit(sessions, keys, application, key="k-1")  # a retry: still one application
    second, _ = _submit(sessions, keys, application_with(application, "app-2"), key="k-2")
    record = decision.to_dict(timings=False)
    with sessions() as s:
        repository.record_decision(s, first.id, record)
    with sessions() as s:
        repository.record_decision(s, first.id, record)  # a second decision on the same application
    with sessions() as s:
        per_key, per_app = repository.stored_counts(s)
    assert per_key == {"k-1": 1, "k-2": 1}
    assert per_app == {first.id: 2}  # the undecided second application is absent
    assert second.id not in per_app


def test_record_decision_is_all_or_nothing(
    monkeypatch: pytest.MonkeyPatch,
    sessions: sessionmaker[Session],
    keys: KeyRing,
    application: Application,
    decision: Decision,
) -> None:
    row, _ = _submit(sessions, keys, application)
    record = decision.to_dict(timings=False)
    with sessions() as s, pytest.raises(ValidationError, match="application_id"):
        repository.record_decision(s, "no-such-id", record)
    wrong = {**record, "application_id": "someone-else"}
    with sessions() as s, pytest.raises(ValidationError, match=r"decision_record\.application_id"):
        repository.record_decision(s, row.id, wrong)
    with sessions() as s, pytest.raises(ValidationError, match="timings"):
        repository.record_decision(s, row.id, decision.to_dict())
    # The audit append fails after the decision row was flushed: nothing of it may remain.
    bad = {**record, "outcome": "approve", "version_digest": "v" * 64}

    def failing(*args: Any, **kwargs: Any) -> AuditEntry:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(audit, "append", failing)
        with sessions() as s, pytest.raises(RuntimeError):
            repository.record_decision(s, row.id, bad)
    assert _count(sessions, DecisionRow) == 0
    assert _count(sessions, AuditEntry) == 0
    with sessions() as s:
        again = repository.get_application(s, row.id)
        assert again is not None and again.status == repository.SUBMITTED


def test_writes_refuse_a_session_in_a_transaction(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    with sessions() as s:
        s.execute(select(1))
        with pytest.raises(RuntimeError, match="no transaction in progress"):
            repository.submit_application(
                s, idempotency_key="k", dealer_id="d", application=application, personal=PERSONAL, keys=keys
            )


def test_get_and_list_respect_the_dealer(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    a, _ = _submit(sessions, keys, application_with(application, "a-1"), key="a", dealer="dealer-a")
    b, _ = _submit(sessions, keys, application_with(application, "b-1"), key="b", dealer="dealer-b")
    with sessions() as s:
        assert repository.get_application(s, a.id, dealer_id="dealer-a") is not None
        assert repository.get_application(s, a.id, dealer_id="dealer-b") is None
        assert repository.get_application(s, "missing") is None
        assert [r.id for r in repository.list_applications(s, dealer_id="dealer-b")] == [b.id]
        assert len(repository.list_applications(s)) == 2
        assert repository.list_applications(s, status="approve") == []
        assert len(repository.list_applications(s, status=repository.SUBMITTED, limit=1)) == 1
        with pytest.raises(ValidationError, match="limit"):
            repository.list_applications(s, limit=0)


def test_blank_key_is_refused(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    with pytest.raises(ValidationError, match="idempotency_key"):
        _submit(sessions, keys, application, key=" ")
    with pytest.raises(ValidationError, match="dealer_id"):
        _submit(sessions, keys, application, dealer="")


def test_losing_a_race_rereads_the_winner(
    monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session], keys: KeyRing, application: Application
) -> None:
    """The path a concurrent duplicate takes: the look-up misses, the insert hits the UNIQUE constraint,
    the transaction rolls back and the winner is read in a fresh one (forced here on both databases)."""
    winner, _ = _submit(sessions, keys, application, key="raced")
    real = repository._by_key
    calls: list[str] = []

    def miss_once(session: Session, key: str) -> ApplicationRow | None:
        calls.append(key)
        return None if len(calls) == 1 else real(session, key)

    monkeypatch.setattr(repository, "_by_key", miss_once)
    row, created = _submit(sessions, keys, application, key="raced")
    assert (row.id, created, len(calls)) == (winner.id, False, 2)
    calls.clear()
    with pytest.raises(ValidationError, match="idempotency_key"):
        _submit(sessions, keys, application_with(application, "other"), key="raced")
    assert _count(sessions, ApplicationRow) == 1
