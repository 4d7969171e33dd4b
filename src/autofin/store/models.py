"""The tables (SQLAlchemy 2 typed ORM).

Conventions: timestamps are timezone-aware UTC (:class:`UTCDateTime` stores UTC and hands back aware
datetimes on SQLite too); money inside JSON columns stays a decimal *string* (``"179800.00"``), never a
float; ids are UUID4 hex strings (unguessable, so a dealer cannot enumerate other dealers' ids).

- ``applications``: one row per acknowledged application. ``application`` holds the non-identifying
  :class:`autofin.decision.application.Application` as JSON; ``personal_data`` the AES-GCM encrypted
  :class:`autofin.store.crypto.PersonalData` (national ID, name, phone, income documents);
  ``request_digest`` the SHA-256 of the canonical request (dealer, application, personal data), which
  tells a retry (same digest) from a different request re-using an idempotency key.
- ``decisions``: each decision on an application: ``record`` is ``Decision.to_dict(timings=False)``,
  ``record_digest`` its SHA-256 (equal to ``Decision.digest``), ``version_digest`` the versions used.
- ``audit_log``: the hash-chained ledger, see :mod:`autofin.store.audit`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Index, Integer, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Constraint names fixed by convention, so migrations and autogenerate agree on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A fresh row id: 32 lowercase hex digits (UUID4)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware (UTC) on every database; naive datetimes
    are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamp must be timezone-aware (got {value!r})")
        utc = value.astimezone(UTC)
        # SQLite keeps no zone: store the UTC wall time.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class ApplicationRow(Base):
    """An acknowledged application (exactly one row per idempotency key)."""

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_dealer_id_submitted_at", "dealer_id", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    dealer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    #: ``submitted`` until decided, then the latest decision's outcome.
    status: Mapped[str] = mapped_column(String(32), index=True)
    #: The application's own submission time, in UTC.
    submitted_at: Mapped[datetime]
    #: When the platform stored the row (UTC).
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    application: Mapped[dict[str, Any]]
    personal_data: Mapped[bytes] = mapped_column(LargeBinary)
    request_digest: Mapped[str] = mapped_column(String(64))


class DecisionRow(Base):
    """One decision on an application."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    version_digest: Mapped[str] = mapped_column(String(64))
    record_digest: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]]
    decided_at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditEntry(Base):
    """One entry of the hash-chained audit ledger (``seq`` 1, 2, 3, … with no gaps)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    #: What changed: ``decision``, ``catalogue``, ``policy``, ``model``, …
    kind: Mapped[str] = mapped_column(String(32))
    #: What it is about (an application id, a catalogue version, a model name@version).
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ContractRow(Base):
    """A booked contract: the offer a dealer accepted on an application (one contract per application).

    ``menu`` names the decision record's list the offer came from (``offers`` or ``counter_offers``),
    ``offer_rank`` its 1-based rank there; ``offer`` is that entry exactly as the decision stored it
    (structure, payment, the full quote with schedule and disclosure; money as strings)."""

    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    dealer_id: Mapped[str] = mapped_column(String(64), index=True)
    menu: Mapped[str] = mapped_column(String(16))
    offer_rank: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    #: The amount financed as a decimal string in major units.
    amount_financed: Mapped[str] = mapped_column(String(40))
    offer: Mapped[dict[str, Any]]
    #: Who accepted (principal name).
    accepted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReviewRow(Base):
    """An underwriter's action on a referred application: ``approve`` or ``decline``, with reason codes
    and a note; ``decision_id`` is the decision the action made, ``referred_decision_id`` the referral."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    referred_decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    action: Mapped[str] = mapped_column(String(16))
    reason_codes: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(2000))
    by: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utc_now)


class QuoteLogRow(Base):
    """One successful quote, for the analysts' funnel (quote → application → approval → booking)."""

    __tablename__ = "quote_log"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    role: Mapped[str] = mapped_column(String(32))
    dealer_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(100))
    #: Decimal string in major units.
    amount_financed: Mapped[str] = mapped_column(String(40))
    #: ``api`` or ``web``.
    channel: Mapped[str] = mapped_column(String(8))
