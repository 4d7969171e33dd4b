"""Repositories for what follows a decision: contracts (an accepted offer), underwriter reviews of
referred applications, the quote log, and the audit of version changes.

Like :mod:`autofin.store.repository`, every write function here is one unit of work (one transaction:
the row, the application's new status and the audit entry commit together or not at all) and must be
called with a session that has no transaction in progress. Errors are :class:`autofin.errors` errors
naming the field: :class:`NotFoundError` (no such application, or another dealer's),
:class:`ConflictError` (the stored state forbids the action) and :class:`~autofin.errors.ValidationError`
(bad input).

**One contract per application.** ``contracts.application_id`` is UNIQUE. :func:`accept` looks for the
application's contract inside a write transaction; accepting the offer already booked returns the stored
contract with ``created=False`` (an idempotent retry); accepting another offer is a
:class:`ConflictError` naming ``offer``. Two racing acceptances: the database lets one insert commit and
the other re-reads the winner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autofin.errors import AutofinError, ValidationError
from autofin.store import audit, repository
from autofin.store.db import write_connection
from autofin.store.models import (
    ApplicationRow,
    AuditEntry,
    ContractRow,
    DecisionRow,
    QuoteLogRow,
    ReviewRow,
)

#: Application status once a contract is booked.
BOOKED = "booked"
#: Outcomes whose offers may be accepted.
ACCEPTABLE = ("approve", "counter_offer")
#: The decision record's offer lists.
MENUS = ("offers", "counter_offers")
#: Quote log channels.
CHANNELS = ("api", "web")
#: Audit kind for each component of the version stamp (``VersionStamp.to_dict``).
VERSION_KINDS: Mapping[str, str] = {
    "catalogue": "catalogue",
    "policy_tables": "policy",
    "models": "model",
    "pricing": "pricing",
    "segments": "segments",
    "strategy": "strategy",
    "code": "code",
}


class NotFoundError(AutofinError):
    """No such resource, or one the caller may not see (the two are not told apart)."""


class ConflictError(AutofinError):
    """The stored state does not allow the action (a contract already booked, a decision not referred…)."""


def default_menu(record: Mapping[str, Any]) -> str:
    """Which list of a decision record the dealer accepts from when it does not say: a counter-offer
    decision's ``counter_offers`` when it has any, otherwise ``offers`` (when not empty), else
    ``counter_offers``."""
    offers, counters = record.get("offers") or [], record.get("counter_offers") or []
    if record.get("outcome") == "counter_offer" and counters:
        return "counter_offers"
    return "offers" if offers or not counters else "counter_offers"


def _quote_of(offer: Mapping[str, Any]) -> Mapping[str, Any]:
    q = offer.get("quote")
    return q if isinstance(q, Mapping) else {}


# -- contracts -----------------------------------------------------------------------------------------


def accept(
    session: Session,
    *,
    application_id: str,
    offer: int,
    accepted_by: str,
    dealer_id: str | None = None,
    menu: str | None = None,
) -> tuple[ContractRow, bool]:
    """Book the offer of rank ``offer`` (1-based) from the application's latest decision: store the
    contract, set the application's status to :data:`BOOKED` and append a ``contract`` audit entry, in
    one transaction. Returns ``(contract, created)``.

    ``dealer_id``: the calling dealer (another dealer's application is a :class:`NotFoundError`);
    ``None`` for roles that see every application. ``menu``: ``offers`` or ``counter_offers``
    (default :func:`default_menu`). Raises :class:`ConflictError` naming ``offer`` when another offer is
    booked already, naming ``application_id`` when the latest decision is not ``approve`` /
    ``counter_offer``; :class:`~autofin.errors.ValidationError` naming ``offer`` or ``menu`` for a rank or
    list the decision does not have."""
    if isinstance(offer, bool) or not isinstance(offer, int) or offer < 1:
        raise ValidationError("offer", offer, "must be a rank: a whole number from 1")
    if menu is not None and menu not in MENUS:
        raise ValidationError("menu", menu, f"must be one of {', '.join(MENUS)}")
    try:
        with repository.begin_unit(session):
            write_connection(session)
            return _accept(session, application_id, offer, accepted_by, dealer_id, menu)
    except IntegrityError:
        # A concurrent acceptance booked first; ours rolled back. Read the winner and compare.
        with session.begin():
            return _accept(session, application_id, offer, accepted_by, dealer_id, menu, read_only=True)


def _accept(
    session: Session,
    application_id: str,
    offer: int,
    accepted_by: str,
    dealer_id: str | None,
    menu: str | None,
    *,
    read_only: bool = False,
) -> tuple[ContractRow, bool]:
    app = repository.get_application(session, application_id, dealer_id=dealer_id)
    if app is None:
        raise NotFoundError("application_id", application_id, "is not an application you can see")
    existing = session.scalars(select(ContractRow).where(ContractRow.application_id == app.id)).first()
    if existing is not None:
        if existing.offer_rank == offer and (menu is None or menu == existing.menu):
            return existing, False
        raise ConflictError(
            "offer", offer,
            f"a contract is already booked on this application for {existing.menu} rank "
            f"{existing.offer_rank}; only that offer can be accepted again",
        )  # fmt: skip
    if read_only:
        raise ConflictError("application_id", application_id, "was changed by another request; retry")
    decision = repository.latest_decision(session, app.id)
    if decision is None or decision.outcome not in ACCEPTABLE:
        outcome = "no decision" if decision is None else decision.outcome
        raise ConflictError(
            "application_id", application_id,
            f"only an application whose latest decision is approve or counter_offer can be accepted "
            f"(latest: {outcome})",
        )  # fmt: skip
    record = decision.record
    chosen = menu if menu is not None else default_menu(record)
    entries = record.get(chosen) or []
    if not 1 <= offer <= len(entries):
        raise ValidationError(
            "offer", offer, f"must be a rank of the decision's {chosen}: 1 to {len(entries)}"
        )
    entry = dict(entries[offer - 1])
    quote = _quote_of(entry)
    product = quote.get("product")
    product_id = (
        str(product.get("id")) if isinstance(product, Mapping) else str(entry["structure"]["product"])
    )
    row = ContractRow(
        application_id=app.id,
        decision_id=decision.id,
        dealer_id=app.dealer_id,
        menu=chosen,
        offer_rank=offer,
        product_id=product_id,
        currency=str(quote.get("currency", ""))[:3],
        amount_financed=str(quote.get("amount_financed", "")),
        offer=entry,
        accepted_by=accepted_by,
    )
    session.add(row)
    app.status = BOOKED
    session.flush()
    audit.append(
        session, "contract", app.id,
        {
            "contract_id": row.id, "decision_id": decision.id, "menu": chosen, "offer": offer,
            "product_id": product_id, "amount_financed": row.amount_financed, "currency": row.currency,
            "offer_digest": repository.record_digest(entry), "by": accepted_by,
        },
    )  # fmt: skip
    return row, True


def get_contract(session: Session, contract_id: str, *, dealer_id: str | None = None) -> ContractRow | None:
    """The contract ``contract_id``; ``None`` when there is none or (``dealer_id`` given) it is
    another dealer's."""
    row = session.get(ContractRow, contract_id)
    if row is None or (dealer_id is not None and row.dealer_id != dealer_id):
        return None
    return row


def contract_for_application(
    session: Session, application_id: str, *, dealer_id: str | None = None
) -> ContractRow | None:
    """The contract booked on an application (``None``: none yet, or another dealer's)."""
    row = session.scalars(select(ContractRow).where(ContractRow.application_id == application_id)).first()
    if row is None or (dealer_id is not None and row.dealer_id != dealer_id):
        return None
    return row


# -- reviews -------------------------------------------------------------------------------------------


def referred_queue(session: Session, limit: int = 100) -> list[ApplicationRow]:
    """Applications whose status is ``refer``, oldest submission first; ``limit`` 1 to
    :data:`autofin.store.repository.MAX_LIMIT`."""
    if not 1 <= limit <= repository.MAX_LIMIT:
        raise ValidationError("limit", limit, f"must be between 1 and {repository.MAX_LIMIT}")
    query = (
        select(ApplicationRow)
        .where(ApplicationRow.status == "refer")
        .order_by(ApplicationRow.submitted_at, ApplicationRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def record_review(
    session: Session,
    *,
    application_id: str,
    referred_decision_id: str,
    record: Mapping[str, Any],
    action: str,
    reason_codes: Sequence[str],
    note: str,
    by: str,
    role: str,
) -> tuple[DecisionRow, ReviewRow]:
    """Store an underwriter's action: the new decision (``record``, its outcome the action's), the
    application's status, the ``reviews`` row and a ``review`` audit entry — one transaction.

    ``referred_decision_id`` must still be the application's latest decision and a ``refer``
    (otherwise :class:`ConflictError` naming ``application_id``: someone acted first)."""
    data = dict(record)
    outcome, versions = data.get("outcome"), data.get("version_digest")
    if action not in ("approve", "decline"):
        raise ValidationError("action", action, "must be approve or decline")
    if outcome not in ("approve", "counter_offer", "decline"):
        raise ValidationError("record.outcome", outcome, "must be approve, counter_offer or decline")
    if not isinstance(versions, str) or not versions:
        raise ValidationError("record.version_digest", versions, "must be the version digest")
    digest = repository.record_digest(data)
    with repository.begin_unit(session):
        write_connection(session)
        app = session.get(ApplicationRow, application_id)
        if app is None:
            raise NotFoundError("application_id", application_id, "is not a stored application")
        latest = repository.latest_decision(session, app.id)
        if latest is None or latest.id != referred_decision_id or latest.outcome != "refer":
            raise ConflictError(
                "application_id", application_id,
                "only an application whose latest decision is refer can be reviewed "
                f"(latest: {'none' if latest is None else latest.outcome})",
            )  # fmt: skip
        decision = DecisionRow(
            application_id=app.id, outcome=str(outcome), version_digest=versions, record_digest=digest,
            record=data,
        )  # fmt: skip
        session.add(decision)
        session.flush()
        review = ReviewRow(
            application_id=app.id, referred_decision_id=latest.id, decision_id=decision.id,
            action=action, reason_codes=list(reason_codes), note=note, by=by, role=role,
        )  # fmt: skip
        session.add(review)
        app.status = str(outcome)
        session.flush()
        audit.append(
            session, "review", app.id,
            {
                "review_id": review.id, "decision_id": decision.id, "referred_decision_id": latest.id,
                "action": action, "outcome": outcome, "reason_codes": list(reason_codes), "by": by,
                "record_digest": digest, "version_digest": versions,
            },
        )  # fmt: skip
    return decision, review


def reviews_for(session: Session, application_id: str) -> list[ReviewRow]:
    """Every review of an application, oldest first."""
    query = select(ReviewRow).where(ReviewRow.application_id == application_id)
    return list(session.scalars(query.order_by(ReviewRow.at, ReviewRow.id)))


# -- quote log -----------------------------------------------------------------------------------------


def log_quote(
    session: Session,
    *,
    role: str,
    dealer_id: str | None,
    product_id: str,
    amount_financed: Decimal,
    channel: str,
) -> None:
    """Record one successful quote (its own short transaction). ``amount_financed`` in major units,
    stored as its decimal string; ``channel``: ``api`` or ``web``."""
    if channel not in CHANNELS:
        raise ValidationError("channel", channel, f"must be one of {', '.join(CHANNELS)}")
    try:
        amount = Decimal(amount_financed)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError("amount_financed", amount_financed, "must be a decimal amount") from None
    if not amount.is_finite():
        raise ValidationError("amount_financed", amount_financed, "must be a finite decimal amount")
    if not product_id:
        raise ValidationError("product_id", product_id, "must not be empty")
    with repository.begin_unit(session):
        session.add(
            QuoteLogRow(
                role=role, dealer_id=dealer_id, product_id=product_id[:100], amount_financed=str(amount),
                channel=channel,
            )
        )  # fmt: skip


def quote_log(session: Session, *, dealer_id: str | None = None, limit: int = 1000) -> list[QuoteLogRow]:
    """Logged quotes, oldest first (optionally of one dealer); ``limit`` 1 to
    :data:`autofin.store.repository.MAX_LIMIT`."""
    if not 1 <= limit <= repository.MAX_LIMIT:
        raise ValidationError("limit", limit, f"must be between 1 and {repository.MAX_LIMIT}")
    query = select(QuoteLogRow)
    if dealer_id is not None:
        query = query.where(QuoteLogRow.dealer_id == dealer_id)
    return list(session.scalars(query.order_by(QuoteLogRow.at, QuoteLogRow.id).limit(limit)))


# -- versions ------------------------------------------------------------------------------------------


def version_text(value: Any) -> str:
    """A stamp component as one line (the audit subject, at most 200 characters): strings as they are,
    ``models`` joined by commas, mappings as ``key=version`` pairs (canonical JSON otherwise)."""
    if isinstance(value, str):
        out = value
    elif isinstance(value, list):
        out = ",".join(str(v) for v in value)
    elif isinstance(value, Mapping):
        parts = []
        for k in sorted(value):
            v = value[k]
            if isinstance(v, Mapping) and "version" in v:
                parts.append(f"{k}={v['version']}")
            elif isinstance(v, Mapping) and "package" in v:
                parts.append(f"{v.get('package')}@{v.get('commit') or '-'}")
            else:
                parts.append(f"{k}={v}")
        out = ",".join(parts)
    else:
        out = audit.canonical_json(value)
    return (out or "-")[:200]


def record_versions(session: Session, stamp: Mapping[str, Any]) -> list[AuditEntry]:
    """Append one audit entry per component of ``stamp`` (``VersionStamp.to_dict()``) that differs from
    the newest entry of its kind (:data:`VERSION_KINDS`; subject: :func:`version_text` of the new value;
    payload ``{"component", "from", "to"}``, ``from`` ``null`` when nothing was recorded), in one
    transaction. The ledger is locked before reading, so two processes starting at once record a change
    once. Returns the entries added (none when nothing changed)."""
    added: list[AuditEntry] = []
    with repository.begin_unit(session):
        write_connection(session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit.ADVISORY_LOCK_KEY})
        for component, kind in VERSION_KINDS.items():
            if component not in stamp:
                continue
            new = audit.canonical_json(stamp[component])
            last = session.scalars(
                select(AuditEntry).where(AuditEntry.kind == kind).order_by(AuditEntry.seq.desc()).limit(1)
            ).first()
            old = None if last is None else last.payload.get("to")
            if old is not None and audit.canonical_json(old) == new:
                continue
            payload = {"component": component, "from": old, "to": stamp[component]}
            added.append(audit.append(session, kind, version_text(stamp[component]), payload))
    return added
