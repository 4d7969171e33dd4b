"""The tamper-evident audit ledger: every decision and every change of catalogue, rules or models.

Each entry ``seq`` (1, 2, 3, … without gaps) stores ``prev_hash`` (the previous entry's ``hash``, or
:data:`GENESIS` for the first) and ``hash = SHA-256(prev_hash ‖ canonical JSON of [seq, at, kind,
subject, payload])``, where ``prev_hash`` is the 64 lowercase hex digits, ``at`` is the UTC ISO 8601
timestamp with microseconds and canonical JSON has sorted keys, no spaces and UTF-8 text. Editing,
deleting, reordering or re-linking any entry breaks the chain at that entry, and :func:`verify` names the
first broken ``seq`` and why. (Dropping the newest entries leaves a valid, shorter chain: compare the
count and last hash with a copy kept elsewhere to detect that.)

:func:`append` works inside the caller's transaction — an audit entry commits or rolls back with the
change it records — and serialises appenders so that two transactions never take the same ``seq``:
PostgreSQL takes a transaction-scoped advisory lock (unlike ``SELECT … FOR UPDATE`` on the last row it
also holds on an empty ledger), SQLite's write lock is taken by ``BEGIN IMMEDIATE``
(:func:`autofin.store.db.write_connection`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from autofin.errors import ValidationError
from autofin.store.models import AuditEntry, utc_now

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64
#: PostgreSQL advisory lock key serialising audit appends (arbitrary, fixed: "autofin" in ASCII).
ADVISORY_LOCK_KEY = 0x6175746F66696E
#: Kinds of entry the platform writes (others are accepted but should be added here).
KINDS = ("decision", "catalogue", "policy", "model")


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def timestamp_text(at: datetime) -> str:
    """``at`` in UTC as ISO 8601 with microseconds (``2026-11-28T10:15:00.000000+00:00``)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, at: datetime, kind: str, subject: str, payload: Any) -> str:
    """The hash of an entry given the previous entry's hash (pure)."""
    body = canonical_json([seq, timestamp_text(at), kind, subject, payload])
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def append(session: Session, kind: str, subject: str, payload: Mapping[str, Any]) -> AuditEntry:
    """Add the next ledger entry in the caller's (open) transaction and flush it; the caller commits.

    ``kind``: what changed (see :data:`KINDS`); ``subject``: what it is about; ``payload``: JSON-ready
    data (money as strings). Raises :class:`ValidationError` for an empty kind or subject, or a payload
    that is not JSON."""
    if not kind:
        raise ValidationError("kind", kind, "must not be empty")
    if not subject:
        raise ValidationError("subject", subject, "must not be empty")
    try:
        body = json.loads(canonical_json(dict(payload)))
    except (TypeError, ValueError) as exc:
        raise ValidationError("payload", type(payload).__name__, f"must be JSON data ({exc})") from None
    _lock(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.hash)
    at = utc_now()
    entry = AuditEntry(
        seq=seq, at=at, kind=kind, subject=subject, payload=body, prev_hash=prev,
        hash=entry_hash(prev, seq, at, kind, subject, body),
    )  # fmt: skip
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found: ``ok``; ``count`` entries checked; ``first_bad_seq`` and ``reason``
    for the first broken entry (``None`` when the chain holds); ``last_hash`` of the last good entry."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_hash: str = GENESIS

    def line(self) -> str:
        """One line for people and the CLI."""
        if self.ok:
            return f"audit log ok: {self.count} entries, last hash {self.last_hash}"
        return f"audit log broken at seq {self.first_bad_seq}: {self.reason}"


def verify(session: Session) -> VerifyReport:
    """Walk the ledger in ``seq`` order and check every link and hash; reports the first break:

    - *deleted*: a ``seq`` is missing (the entries do not run 1, 2, 3, …);
    - *reordered*: an entry's ``prev_hash`` is the hash of an entry other than its predecessor;
    - *wrong prev_hash*: ``prev_hash`` matches no entry's hash;
    - *edited*: the stored ``hash`` does not match the entry's content (payload, kind, subject, at, seq).
    """
    prev, expected, checked = GENESIS, 1, 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))
    for entry in rows.scalars():
        if entry.seq != expected:
            missing = expected if entry.seq > expected else entry.seq
            return VerifyReport(False, checked, missing, f"entry seq {missing} is missing (deleted)", prev)
        if entry.prev_hash != prev:
            linked = session.scalar(select(AuditEntry.seq).where(AuditEntry.hash == entry.prev_hash))
            if linked is not None:
                why = f"reordered: prev_hash links to seq {linked}, not to seq {entry.seq - 1}"
            else:
                why = f"wrong prev_hash: it is not the hash of seq {entry.seq - 1}"
            return VerifyReport(False, checked, entry.seq, why, prev)
        again = entry_hash(entry.prev_hash, entry.seq, entry.at, entry.kind, entry.subject, entry.payload)
        if again != entry.hash:
            why = "edited: content (payload, kind, subject or time) does not match its hash"
            return VerifyReport(False, checked, entry.seq, why, prev)
        prev, expected, checked = entry.hash, expected + 1, checked + 1
    return VerifyReport(True, checked, last_hash=prev)


def count(session: Session) -> int:
    """Number of entries in the ledger."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
