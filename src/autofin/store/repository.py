"""Repositories: store applications exactly once, record decisions with their audit entry, read back.

Every write function here is one unit of work: it begins the session's transaction, commits everything
or nothing, and must be called with a session that has no transaction in progress (use
:func:`autofin.store.db.session_factory`, whose rows stay readable after commit). Read functions join
the caller's transaction if one is open.

**Exactly once.** ``applications.idempotency_key`` is UNIQUE. :func:`submit_application` first looks the
key up inside a write transaction (on SQLite ``BEGIN IMMEDIATE`` serialises writers, so the look-up sees
every committed row); if it is absent it inserts. When two requests with the same key race (PostgreSQL,
or separate processes) the database lets one insert commit and fails the other with an
``IntegrityError``; that one rolls back and re-reads the winner in a fresh transaction. Either way the
caller gets the one stored row, with ``created`` telling whether this call stored it. A retry must be the
same request: a different body under a used key (compared by SHA-256 of the canonical request) raises
:class:`autofin.errors.ValidationError` naming ``idempotency_key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from autofin.errors import ValidationError
from autofin.store import audit
from autofin.store.crypto import KeyRing, PersonalData, decrypt, encrypt, load_keyring
from autofin.store.db import sqlite_path, write_connection
from autofin.store.models import ApplicationRow, DecisionRow

if TYPE_CHECKING:
    from autofin.decision.application import Application

#: Status of an application before its first decision.
SUBMITTED = "submitted"
#: Largest page :func:`list_applications` returns.
MAX_LIMIT = 1000
_KEY_MAX = 128
_DEALER_MAX = 64


def request_digest(dealer_id: str, application: Mapping[str, Any], personal: PersonalData) -> str:
    """SHA-256 (hex) of the canonical JSON of the whole request: dealer, application, personal data."""
    body = {"dealer_id": dealer_id, "application": application, "personal": personal.model_dump(mode="json")}
    return hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


def record_digest(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a decision record (equals ``Decision.digest`` for
    ``Decision.to_dict(timings=False)``)."""
    return hashlib.sha256(audit.canonical_json(record).encode()).hexdigest()


def _associated_data(idempotency_key: str) -> bytes:
    return b"autofin.applications.personal_data:" + idempotency_key.encode()


def keyring_for(session: Session) -> KeyRing:
    """The key ring for the session's database (``AUTOFIN_SECRET_KEY`` or the SQLite key file)."""
    return load_keyring(sqlite_path(session.get_bind().engine.url))


def _begin_unit(session: Session) -> SessionTransaction:
    if session.in_transaction():
        raise RuntimeError(
            "autofin.store repository writes run their own transaction: call them with a session that "
            "has no transaction in progress (commit or roll back first)"
        )
    return session.begin()


def _check_text(name: str, value: str, max_len: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise ValidationError(name, value, f"must be a non-blank string of at most {max_len} characters")


def submit_application(
    session: Session,
    *,
    idempotency_key: str,
    dealer_id: str,
    application: Application,
    personal: PersonalData,
    keys: KeyRing | None = None,
) -> tuple[ApplicationRow, bool]:
    """Store an application exactly once per ``idempotency_key`` (see the module docstring).

    Returns ``(row, created)``: ``created`` is ``False`` when the key was already stored by an earlier
    (or concurrent) identical request. ``keys``: default :func:`keyring_for` the session's database.
    Personal data is encrypted with the key ring's primary key, bound to the idempotency key."""
    _check_text("idempotency_key", idempotency_key, _KEY_MAX)
    _check_text("dealer_id", dealer_id, _DEALER_MAX)
    app_json: dict[str, Any] = application.model_dump(mode="json", exclude_none=False)
    digest = request_digest(dealer_id, app_json, personal)
    ring = keyring_for(session) if keys is None else keys
    try:
        with _begin_unit(session):
            write_connection(session)
            found = _by_key(session, idempotency_key)
            if found is not None:
                return _same_request(found, digest), False
            row = ApplicationRow(
                idempotency_key=idempotency_key,
                dealer_id=dealer_id,
                channel=str(application.applicant.channel),
                status=SUBMITTED,
                submitted_at=application.submitted_at.astimezone(UTC),
                application=app_json,
                personal_data=encrypt(ring, personal.to_bytes(), _associated_data(idempotency_key)),
                request_digest=digest,
            )
            session.add(row)
            session.flush()
        return row, True
    except IntegrityError:
        # A concurrent request with the same key committed first; ours rolled back. Read the winner.
        with session.begin():
            found = _by_key(session, idempotency_key)
        if found is None:
            raise
        return _same_request(found, digest), False


def _by_key(session: Session, idempotency_key: str) -> ApplicationRow | None:
    return session.scalars(
        select(ApplicationRow).where(ApplicationRow.idempotency_key == idempotency_key)
    ).first()


def _same_request(row: ApplicationRow, digest: str) -> ApplicationRow:
    if row.request_digest != digest:
        raise ValidationError(
            "idempotency_key",
            row.idempotency_key,
            "was already used for a different request; a retry must send the identical request, "
            "a new request needs a new key",
        )
    return row


def read_personal(row: ApplicationRow, keys: KeyRing) -> PersonalData:
    """Decrypt an application's personal data (raises :class:`autofin.store.crypto.DecryptionError`)."""
    return PersonalData.from_bytes(decrypt(keys, row.personal_data, _associated_data(row.idempotency_key)))


def record_decision(session: Session, application_id: str, decision_record: Mapping[str, Any]) -> DecisionRow:
    """Store a decision on a stored application, set the application's status to the outcome and append
    a ``decision`` audit entry — all in one transaction.

    ``decision_record``: ``Decision.to_dict(timings=False)`` (with or without the trace); its
    ``application_id`` must match the stored application's."""
    record = dict(decision_record)
    outcome, versions = record.get("outcome"), record.get("version_digest")
    if not isinstance(outcome, str) or not outcome:
        raise ValidationError("decision_record.outcome", outcome, "must be a decision outcome")
    if not isinstance(versions, str) or not versions:
        raise ValidationError("decision_record.version_digest", versions, "must be the version digest")
    if "timings_us" in record:
        raise ValidationError(
            "decision_record.timings_us", "present", "must be left out (to_dict(timings=False))"
        )
    digest = record_digest(record)
    with _begin_unit(session):
        write_connection(session)
        app_row = session.get(ApplicationRow, application_id)
        if app_row is None:
            raise ValidationError("application_id", application_id, "is not a stored application")
        stored_id = app_row.application.get("application_id")
        if record.get("application_id") != stored_id:
            raise ValidationError(
                "decision_record.application_id", record.get("application_id"),
                f"must be the stored application's id ({stored_id!r})",
            )  # fmt: skip
        row = DecisionRow(
            application_id=application_id,
            outcome=outcome,
            version_digest=versions,
            record_digest=digest,
            record=record,
        )
        session.add(row)
        app_row.status = outcome
        session.flush()
        audit.append(
            session, "decision", application_id,
            {"decision_id": row.id, "outcome": outcome, "record_digest": digest, "version_digest": versions},
        )  # fmt: skip
    return row


def get_application(session: Session, id: str, *, dealer_id: str | None = None) -> ApplicationRow | None:
    """The application with ``id``; ``None`` if there is none or, when ``dealer_id`` is given, it
    belongs to another dealer (the caller cannot tell the two apart)."""
    row = session.get(ApplicationRow, id)
    if row is None or (dealer_id is not None and row.dealer_id != dealer_id):
        return None
    return row


def list_applications(
    session: Session, dealer_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[ApplicationRow]:
    """Applications, newest submission first, optionally of one dealer and one status;
    ``limit``: 1 to :data:`MAX_LIMIT`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", limit, f"must be between 1 and {MAX_LIMIT}")
    query = select(ApplicationRow)
    if dealer_id is not None:
        query = query.where(ApplicationRow.dealer_id == dealer_id)
    if status is not None:
        query = query.where(ApplicationRow.status == status)
    query = query.order_by(ApplicationRow.submitted_at.desc(), ApplicationRow.id).limit(limit)
    return list(session.scalars(query))


def decisions_for(session: Session, application_id: str) -> list[DecisionRow]:
    """Every decision on an application, oldest first."""
    query = select(DecisionRow).where(DecisionRow.application_id == application_id)
    return list(session.scalars(query.order_by(DecisionRow.decided_at, DecisionRow.id)))


def stored_counts(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """The exactly-once check: how many applications each stored idempotency key holds, and how many
    decisions each application holds (every count is 1 in a sound store; an application without a
    decision is absent from the second mapping)."""
    per_key = session.execute(
        select(ApplicationRow.idempotency_key, func.count()).group_by(ApplicationRow.idempotency_key)
    ).all()
    per_app = session.execute(
        select(DecisionRow.application_id, func.count()).group_by(DecisionRow.application_id)
    ).all()
    return {str(k): int(n) for k, n in per_key}, {str(a): int(n) for a, n in per_app}
