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

:func:`submit_decided` (what the API uses) stores an application together with its first decision and
the decision's audit entry in one transaction, with the same exactly-once rules, and decides each key
at most once even when several processes race (see its docstring).
"""

from __future__ import annotations

import hashlib
import json
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
from autofin.store.models import ApplicationRow, DecisionRow, new_id, utc_now

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


def begin_unit(session: Session) -> SessionTransaction:
    """Begin the one transaction of a store write function; a session with a transaction already in
    progress is refused (a write must commit or roll back as a whole)."""
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
        with begin_unit(session):
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


class CanonicalRecord(dict[str, Any]):
    """A decision record (a ``dict``) that carries its canonical JSON text (:attr:`text`, see
    :func:`autofin.store.audit.canonical_json`), so that the text is made once per decision: for the
    record digest, for the JSON column (:func:`json_text`) and for a response."""

    text: str

    def __init__(self, record: Mapping[str, Any], text: str) -> None:
        super().__init__(record)
        self.text = text


def json_text(value: Any) -> str:
    """JSON serializer for the engine (``create_engine(json_serializer=json_text)``): a
    :class:`CanonicalRecord` is stored as its canonical text, anything else as ``json.dumps`` would
    store it. Both read back as equal data."""
    if isinstance(value, CanonicalRecord):
        return value.text
    return json.dumps(value)


def _checked_record(decision_record: Mapping[str, Any]) -> tuple[CanonicalRecord, str, str, str]:
    """(record with its canonical text, outcome, version digest, record digest) of a decision record,
    or :class:`ValidationError` naming the field of ``decision_record`` that is wrong."""
    outcome, versions = decision_record.get("outcome"), decision_record.get("version_digest")
    if not isinstance(outcome, str) or not outcome:
        raise ValidationError("decision_record.outcome", outcome, "must be a decision outcome")
    if not isinstance(versions, str) or not versions:
        raise ValidationError("decision_record.version_digest", versions, "must be the version digest")
    if "timings_us" in decision_record:
        raise ValidationError(
            "decision_record.timings_us", "present", "must be left out (to_dict(timings=False))"
        )
    text = audit.canonical_json(decision_record)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return CanonicalRecord(decision_record, text), outcome, versions, digest


def _add_decision(
    session: Session,
    app_row: ApplicationRow,
    record: CanonicalRecord,
    outcome: str,
    versions: str,
    digest: str,
) -> DecisionRow:
    """Inside an open write transaction: check the record's ``application_id`` against the stored
    application, add the decision row, set the application's status and append the audit entry."""
    stored_id = app_row.application.get("application_id")
    if record.get("application_id") != stored_id:
        raise ValidationError(
            "decision_record.application_id", record.get("application_id"),
            f"must be the stored application's id ({stored_id!r})",
        )  # fmt: skip
    row = DecisionRow(
        id=new_id(),
        application_id=app_row.id,
        outcome=outcome,
        version_digest=versions,
        record_digest=digest,
        record=record,
        decided_at=utc_now(),
    )
    app_row.status = outcome
    session.add(row)
    session.flush()
    audit.append(
        session, "decision", app_row.id,
        {"decision_id": row.id, "outcome": outcome, "record_digest": digest, "version_digest": versions},
    )  # fmt: skip
    return row


def record_decision(session: Session, application_id: str, decision_record: Mapping[str, Any]) -> DecisionRow:
    """Store a decision on a stored application, set the application's status to the outcome and append
    a ``decision`` audit entry — all in one transaction.

    ``decision_record``: ``Decision.to_dict(timings=False)`` (with or without the trace); its
    ``application_id`` must match the stored application's."""
    record, outcome, versions, digest = _checked_record(decision_record)
    with begin_unit(session):
        write_connection(session)
        app_row = session.get(ApplicationRow, application_id)
        if app_row is None:
            raise ValidationError("application_id", application_id, "is not a stored application")
        row = _add_decision(session, app_row, record, outcome, versions, digest)
    return row


def submit_decided(
    session: Session,
    *,
    idempotency_key: str,
    dealer_id: str,
    application: Application,
    personal: PersonalData,
    decision_record: Mapping[str, Any],
    keys: KeyRing | None = None,
) -> tuple[ApplicationRow, DecisionRow, bool, bool]:
    """Store an application and its first decision exactly once per ``idempotency_key``, in ONE
    transaction (the application, the decision, the status and the audit entry commit together).

    ``decision_record``: ``Decision.to_dict(timings=False)`` of the engine's decision on
    ``application``. Returns ``(application row, decision row, created, decided)``:

    - key not stored: both are stored (``created`` and ``decided`` true);
    - key stored with a decision (a retry, or a concurrent request that won): the stored rows, nothing
      is written (both false) — ``decision_record`` is dropped;
    - key stored without a decision (an application stored by :func:`submit_application` whose
      decision was never recorded): ``decision_record`` is recorded on it (``decided`` true).

    Decide-once holds across processes: the look-up runs under SQLite's write lock (``BEGIN
    IMMEDIATE``) or, on PostgreSQL, locks the found row (``SELECT … FOR UPDATE``) so that a second
    transaction sees the first one's decision; two first inserts of one key are resolved by the UNIQUE
    key (the loser rolls back and finds the winner's rows). A different request under a used key raises
    :class:`ValidationError` naming ``idempotency_key``; a bad record names the ``decision_record``
    field."""
    _check_text("idempotency_key", idempotency_key, _KEY_MAX)
    _check_text("dealer_id", dealer_id, _DEALER_MAX)
    record, outcome, versions, rec_digest = _checked_record(decision_record)
    app_json: dict[str, Any] = application.model_dump(mode="json", exclude_none=False)
    digest = request_digest(dealer_id, app_json, personal)
    ring = keyring_for(session) if keys is None else keys
    for attempt in range(2):
        try:
            with begin_unit(session):
                write_connection(session)
                found = session.scalars(
                    select(ApplicationRow)
                    .where(ApplicationRow.idempotency_key == idempotency_key)
                    .with_for_update()
                ).first()
                if found is not None:
                    _same_request(found, digest)
                    latest = latest_decision(session, found.id)
                    if latest is not None:
                        return found, latest, False, False
                    decided = _add_decision(session, found, record, outcome, versions, rec_digest)
                    return found, decided, False, True
                row = ApplicationRow(
                    id=new_id(),
                    idempotency_key=idempotency_key,
                    dealer_id=dealer_id,
                    channel=str(application.applicant.channel),
                    status=SUBMITTED,
                    submitted_at=application.submitted_at.astimezone(UTC),
                    received_at=utc_now(),
                    application=app_json,
                    personal_data=encrypt(ring, personal.to_bytes(), _associated_data(idempotency_key)),
                    request_digest=digest,
                )
                session.add(row)
                session.flush()  # the application before its decision (foreign key)
                decided = _add_decision(session, row, record, outcome, versions, rec_digest)
            return row, decided, True, True
        except IntegrityError:
            # A concurrent request with the same key committed first; ours rolled back: look again.
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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


def latest_decision(session: Session, application_id: str) -> DecisionRow | None:
    """The newest decision on an application (the last of :func:`decisions_for`), or ``None``."""
    query = select(DecisionRow).where(DecisionRow.application_id == application_id)
    return session.scalars(
        query.order_by(DecisionRow.decided_at.desc(), DecisionRow.id.desc()).limit(1)
    ).first()


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
