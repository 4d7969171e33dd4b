"""The hash-chained audit ledger: a clean chain verifies; each kind of tampering is found at its seq."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from autofin.errors import ValidationError
from autofin.store import audit
from autofin.store.db import write_connection
from autofin.store.models import AuditEntry


def _fill(sessions: sessionmaker[Session], n: int = 5) -> None:
    kinds = ("decision", "catalogue", "policy", "model")
    with sessions() as s, s.begin():
        for i in range(n):
            audit.append(
                s, kinds[i % 4], f"subject-{i + 1}", {"n": i + 1, "amount": "179800.00", "note": "审批"}
            )


def _verify(sessions: sessionmaker[Session]) -> audit.VerifyReport:
    with sessions() as s:
        return audit.verify(s)


def test_chain_verifies(sessions: sessionmaker[Session]) -> None:
    assert _verify(sessions) == audit.VerifyReport(True, 0)
    _fill(sessions)
    report = _verify(sessions)
    assert report.ok and report.count == 5 and report.first_bad_seq is None
    with sessions() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert report.last_hash == entries[-1].hash
    assert all(e.at.tzinfo is not None for e in entries)


def test_entry_hash_is_pure_and_documented() -> None:
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    h = audit.entry_hash(audit.GENESIS, 1, at, "model", "pd@1", {"b": 1, "a": "x"})
    body = '[1,"2026-11-28T10:00:00.000000+00:00","model","pd@1",{"a":"x","b":1}]'
    assert h == hashlib.sha256((audit.GENESIS + body).encode()).hexdigest()


def test_appends_in_the_same_transaction_roll_back_together(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, pytest.raises(RuntimeError), s.begin():
        audit.append(s, "policy", "cutoffs@2", {"changed": True})
        raise RuntimeError("the change failed")
    assert _verify(sessions).count == 0
    with sessions() as s, s.begin(), pytest.raises(ValidationError, match="kind"):
        audit.append(s, "", "x", {})


def test_concurrent_appends_keep_one_chain(sessions: sessionmaker[Session]) -> None:
    def go(i: int) -> None:
        with sessions() as s, s.begin():
            write_connection(s)
            audit.append(s, "model", f"m-{i}", {"i": i})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(go, range(24)))
    report = _verify(sessions)
    assert report.ok and report.count == 24


def _sql(engine: Engine, statement: str, **params: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def _swap(engine: Engine, a: int, b: int) -> None:
    """Swap two whole entries' places (each keeps its own hashes)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = :a"), {"a": a})
        conn.execute(text("UPDATE audit_log SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_log SET seq = :b WHERE seq = -1"), {"b": b})


TAMPER: dict[str, tuple[Callable[[Engine], None], int, str]] = {
    "edited payload": (
        lambda e: _sql(e, "UPDATE audit_log SET payload = :p WHERE seq = 3", p='{"n": 999}'),
        3,
        "edited",
    ),
    "edited kind": (lambda e: _sql(e, "UPDATE audit_log SET kind = 'model' WHERE seq = 2"), 2, "edited"),
    "deleted row": (lambda e: _sql(e, "DELETE FROM audit_log WHERE seq = 2"), 2, "missing (deleted)"),
    "reordered": (lambda e: _swap(e, 3, 4), 3, "reordered"),
    "wrong prev_hash": (
        lambda e: _sql(e, "UPDATE audit_log SET prev_hash = :h WHERE seq = 4", h="f" * 64),
        4,
        "wrong prev_hash",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_tampering_is_found_at_its_seq(engine: Engine, sessions: sessionmaker[Session], kind: str) -> None:
    _fill(sessions)
    tamper, seq, why = TAMPER[kind]
    tamper(engine)
    report = _verify(sessions)
    assert not report.ok
    assert report.first_bad_seq == seq
    assert report.reason is not None and why in report.reason
    assert f"seq {seq}" in report.line()


def test_rehashed_edit_breaks_the_next_link(engine: Engine, sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions() as s:
        entry = s.get(AuditEntry, 2)
        assert entry is not None
        forged = audit.entry_hash(entry.prev_hash, 2, entry.at, entry.kind, entry.subject, {"n": 0})
    _sql(engine, "UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 2", p='{"n": 0}', h=forged)
    report = _verify(sessions)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.reason is not None and "wrong prev_hash" in report.reason
