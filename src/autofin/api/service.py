"""Submitting applications exactly once: store, decide and record, under retries and races.

:func:`submit_and_decide` is what ``POST /v1/applications`` and the demo seeding of ``autofin serve`` do:

1. the application is validated against the engine's catalogue (nothing is stored when it is bad);
2. under a lock on the idempotency key (see below), :func:`autofin.store.repository.submit_application`
   stores it once per key (a stored identical request is returned with ``created=False``; a different
   request under the key raises :class:`autofin.errors.ValidationError` naming ``idempotency_key``);
3. if the stored application has a decision, that decision is returned and nothing is decided again;
   otherwise the engine decides it and :func:`~autofin.store.repository.record_decision` stores the
   decision with its audit entry. The second case also completes an application whose first request was
   stored but not decided (the process died in between): the retry decides it.

**The key lock.** Steps 2–3 run while holding a lock on the (scoped) idempotency key, so concurrent
requests with one key are handled one after the other: the first stores and decides, the others find the
stored decision. Within a process the lock is a striped :class:`threading.Lock`; on PostgreSQL a
session-level advisory lock on the key is taken as well, so several server processes on one database
behave the same way. (SQLite serves one machine: its write lock already serialises the store, and the
embedded server runs one process.)

**Scoped keys.** Clients choose idempotency keys; two dealers may well both send ``"1"``. The key stored
is therefore ``SHA-256(scope, key)`` in hex (:func:`scoped_key`), where the scope is the dealer (for a
dealer principal) or the principal's name: keys of different callers never collide, and a used key says
nothing to another caller.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from autofin.errors import AutofinError, ValidationError
from autofin.store import audit, repository
from autofin.store.crypto import KeyRing, PersonalData
from autofin.store.models import ApplicationRow, DecisionRow

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine

#: ``dealer_id`` stored for applications submitted by a principal that is not a dealer.
DIRECT = "direct"
_STRIPES = 256
_locks = tuple(threading.Lock() for _ in range(_STRIPES))


def scoped_key(scope: str, idempotency_key: str) -> str:
    """The stored idempotency key: SHA-256 hex of the canonical JSON ``[scope, idempotency_key]``."""
    return hashlib.sha256(audit.canonical_json([scope, idempotency_key]).encode()).hexdigest()


@dataclass(frozen=True)
class Submitted:
    """The outcome of :func:`submit_and_decide`: the stored application, its (latest) decision, whether
    this call stored the application (``created``) and whether it decided it (``decided``)."""

    application: ApplicationRow
    decision: DecisionRow
    created: bool
    decided: bool


@contextmanager
def key_lock(engine: Engine, key: str) -> Iterator[None]:
    """Hold the lock on ``key`` (see the module docstring): a striped in-process lock and, on
    PostgreSQL, a session-level advisory lock on a connection of its own."""
    digest = hashlib.sha256(key.encode()).digest()
    with _locks[digest[0] % _STRIPES]:
        if engine.dialect.name != "postgresql":
            yield
            return
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_id})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})
                conn.commit()


def parse_application(engine: DecisionEngine, data: Any, prefix: str = "application") -> Any:
    """The :class:`~autofin.decision.application.Application` of ``data``; errors name the field
    under ``prefix`` (``application.applicant.age``)."""
    try:
        return engine.parse(data)
    except AutofinError as exc:
        field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise type(exc)(field, exc.value, exc.rule) from None


def latest_decision(session: Session, application_id: str) -> DecisionRow | None:
    """The newest decision on an application, or ``None``."""
    decisions = repository.decisions_for(session, application_id)
    return decisions[-1] if decisions else None


def submit_and_decide(
    sessions: sessionmaker[Session],
    engine: DecisionEngine,
    keys: KeyRing,
    *,
    idempotency_key: str,
    dealer_id: str,
    application: Mapping[str, Any],
    personal: PersonalData,
) -> Submitted:
    """Store ``application`` once per ``idempotency_key`` (already scoped), decide it once and record the
    decision (see the module docstring). Raises :class:`ValidationError` for a bad application (field
    under ``application.``) or for a key already used with a different request (``idempotency_key``)."""
    parsed = parse_application(engine, dict(application))
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise ValidationError("sessions", repr(sessions), "must be bound to an engine")
    with key_lock(bind, idempotency_key):
        with sessions() as session:
            row, created = repository.submit_application(
                session,
                idempotency_key=idempotency_key,
                dealer_id=dealer_id,
                application=parsed,
                personal=personal,
                keys=keys,
            )
        with sessions() as session:
            found = latest_decision(session, row.id)
            if found is not None:
                return Submitted(row, found, created, decided=False)
        decision = engine.decide(parsed)
        with sessions() as session:
            stored = repository.record_decision(session, row.id, decision.to_dict(timings=False))
            fresh = session.get(ApplicationRow, row.id)
        return Submitted(fresh if fresh is not None else row, stored, created, decided=True)
