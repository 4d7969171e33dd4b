"""Submitting applications exactly once: store, decide and record, under retries and races.

:func:`submit_and_decide` is what ``POST /v1/applications`` and the demo seeding of ``autofin serve`` do:

1. the application is validated against the engine's catalogue (nothing is stored when it is bad);
2. the engine decides it (pure computation, nothing stored yet);
3. :func:`autofin.store.repository.submit_decided` stores the application, its decision, the status and
   the decision's audit entry in ONE transaction, once per idempotency key: a stored identical request
   is returned with its stored decision (``created=False``, ``decided=False``; the decision just made
   is dropped — the engine is pure, nothing was decided on the record); a different request under the
   key raises :class:`autofin.errors.ValidationError` naming ``idempotency_key``. An application
   stored without a decision (by an older version that stored and decided in two steps and died in
   between) gets the decision just made: the retry completes it.

An acknowledged request therefore has its application and its decision committed together, and a
request that dies before the commit leaves nothing behind: its retry starts afresh.

**Decide once, across processes.** The store transaction is the arbiter: on SQLite it holds the write
lock from its first statement (``BEGIN IMMEDIATE``), on PostgreSQL it locks the found application row
(``SELECT … FOR UPDATE``), and two first inserts of one key are resolved by the UNIQUE key — so several
server processes on one database (SQLite or PostgreSQL) never record two decisions for one key. Within
a process a striped :class:`threading.Lock` on the key additionally makes concurrent requests with one
key wait for each other, so that only the first computes the decision.

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

from sqlalchemy.orm import Session, sessionmaker

from autofin.errors import AutofinError
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
def key_lock(key: str) -> Iterator[None]:
    """Hold this process's lock on ``key`` (one of :data:`_STRIPES` striped locks): concurrent requests
    with one key in one process run one after the other (see the module docstring)."""
    digest = hashlib.sha256(key.encode()).digest()
    with _locks[digest[0] % _STRIPES]:
        yield


def parse_application(engine: DecisionEngine, data: Any, prefix: str = "application") -> Any:
    """The :class:`~autofin.decision.application.Application` of ``data``; errors name the field
    under ``prefix`` (``application.applicant.age``)."""
    try:
        return engine.parse(data)
    except AutofinError as exc:
        field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise type(exc)(field, exc.value, exc.rule) from None


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
    decision, in one store transaction (see the module docstring). Raises
    :class:`autofin.errors.ValidationError` for a bad application (field
    under ``application.``) or for a key already used with a different request (``idempotency_key``)."""
    parsed = parse_application(engine, dict(application))
    with key_lock(idempotency_key):
        decision = engine.decide(parsed)
        with sessions() as session:
            row, stored, created, decided = repository.submit_decided(
                session,
                idempotency_key=idempotency_key,
                dealer_id=dealer_id,
                application=parsed,
                personal=personal,
                decision_record=decision.to_dict(timings=False),
                keys=keys,
            )
        return Submitted(row, stored, created, decided)
