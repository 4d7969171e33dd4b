"""``repository.submit_decided``: an application and its first decision in one transaction, decided once
per idempotency key even when several server processes race (each "process" here is a thread with an
engine and connection pool of its own, so nothing in-process serialises them: only the database does)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from store_support import PERSONAL, application_with

from autofin.decision.application import Application
from autofin.decision.engine import Decision
from autofin.errors import ValidationError
from autofin.store import audit, repository
from autofin.store.crypto import KeyRing
from autofin.store.db import make_engine, session_factory
from autofin.store.models import ApplicationRow, AuditEntry, DecisionRow

PROCESSES = 6


def _count(sessions: sessionmaker[Session], model: type[Any]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _race(db_url: str, work: Callable[[sessionmaker[Session]], Any]) -> list[Any]:
    """Run ``work`` at once in :data:`PROCESSES` threads, each on an engine of its own."""
    engines: list[Engine] = [make_engine(db_url) for _ in range(PROCESSES)]
    barrier = threading.Barrier(PROCESSES)
    results: list[Any] = [None] * PROCESSES

    def go(i: int) -> None:
        sessions = session_factory(engines[i])
        barrier.wait()
        try:
            results[i] = work(sessions)
        except Exception as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(PROCESSES)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for e in engines:
            e.dispose()
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def _submit(
    sessions: sessionmaker[Session], keys: KeyRing, app: Application, record: dict[str, Any], key: str = "k-1"
) -> tuple[ApplicationRow, DecisionRow, bool, bool]:
    with sessions() as s:
        return repository.submit_decided(
            s, idempotency_key=key, dealer_id="d-1", application=app, personal=PERSONAL,
            decision_record=record, keys=keys,
        )  # fmt: skip


def test_application_decision_and_audit_commit_together(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    row, stored, created, decided = _submit(sessions, keys, application, decision.to_dict(timings=False))
    assert (created, decided) == (True, True)
    assert row.status == decision.outcome
    assert stored.record_digest == decision.digest
    with sessions() as s:
        (again,) = repository.decisions_for(s, row.id)
        assert again.record == decision.to_dict(timings=False)
        (entry,) = s.scalars(select(AuditEntry)).all()
        assert entry.payload["decision_id"] == stored.id
        assert audit.verify(s).ok
    retry = _submit(sessions, keys, application, decision.to_dict(timings=False))
    assert (retry[0].id, retry[1].id, retry[2], retry[3]) == (row.id, stored.id, False, False)
    assert (_count(sessions, ApplicationRow), _count(sessions, DecisionRow)) == (1, 1)


def test_racing_processes_store_and_decide_once(
    db_url: str, sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    record = decision.to_dict(timings=False)
    results = _race(db_url, lambda s: _submit(s, keys, application, record))
    assert sum(r[2] for r in results) == 1 and sum(r[3] for r in results) == 1
    assert len({r[0].id for r in results}) == 1 and len({r[1].id for r in results}) == 1
    assert (_count(sessions, ApplicationRow), _count(sessions, DecisionRow)) == (1, 1)
    assert _count(sessions, AuditEntry) == 1


def test_racing_processes_decide_a_stored_undecided_application_once(
    db_url: str, sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    with sessions() as s:  # stored by the two-step path, never decided (the process died)
        row, _ = repository.submit_application(
            s, idempotency_key="k-1", dealer_id="d-1", application=application, personal=PERSONAL, keys=keys
        )
    record = decision.to_dict(timings=False)
    results = _race(db_url, lambda s: _submit(s, keys, application, record))
    assert {r[0].id for r in results} == {row.id}
    assert sum(r[2] for r in results) == 0 and sum(r[3] for r in results) == 1
    assert len({r[1].id for r in results}) == 1
    assert (_count(sessions, DecisionRow), _count(sessions, AuditEntry)) == (1, 1)
    with sessions() as s:
        assert repository.get_application(s, row.id).status == decision.outcome  # type: ignore[union-attr]


def test_bad_requests_store_nothing(
    sessions: sessionmaker[Session], keys: KeyRing, application: Application, decision: Decision
) -> None:
    record = decision.to_dict(timings=False)
    with pytest.raises(ValidationError, match=r"decision_record\.application_id"):
        _submit(sessions, keys, application, {**record, "application_id": "someone-else"})
    with pytest.raises(ValidationError, match=r"decision_record\.timings_us"):
        _submit(sessions, keys, application, decision.to_dict())
    assert _count(sessions, ApplicationRow) == 0
    _submit(sessions, keys, application, record)
    other = application_with(application, "app-2")
    other_record = {**record, "application_id": "app-2"}
    with pytest.raises(ValidationError, match="idempotency_key"):
        _submit(sessions, keys, other, other_record)  # the same key for another request
    assert (_count(sessions, ApplicationRow), _count(sessions, DecisionRow)) == (1, 1)


def test_json_text_stores_a_record_as_its_canonical_text(decision: Decision) -> None:
    record = decision.to_dict(timings=False)
    canonical = repository.CanonicalRecord(record, audit.canonical_json(record))
    assert repository.json_text(canonical) == audit.canonical_json(record)
    assert repository.json_text({"b": 1, "a": "é"}) == '{"b": 1, "a": "\\u00e9"}'
