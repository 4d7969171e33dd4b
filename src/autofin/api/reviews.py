"""Underwriter actions on referred applications: ``GET /v1/reviews/queue`` and
``POST /v1/applications/{id}/review`` (underwriters and admins only).

**Approve.** The engine solves the offer menu even when its policy tables refer an application (only a
policy *decline* skips the menu), so the referral's stored record already holds the menu this
application gets without the refer, computed with the same versions: the approval's record is the
referral's record with ``outcome: approve``, no reasons, that menu (``offers``, and ``counter_offers``
when the offers are empty) and ``review`` ``{by, role, action, note, reason_codes, at,
referred_decision_id}``. A referral whose menu holds no offer cannot be approved (409 naming
``action``): decline it. **Decline.** The record becomes ``outcome: decline`` with the reasons of the
``reason_codes`` given (texts from the engine's reason list) and no offers.

Either way a new decision row, the application's status, a ``reviews`` row and a ``review`` audit entry
are written in one transaction, and only while the referral is still the latest decision (someone else
acting first is a 409). Sending the same review again answers the stored one with 200.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from autofin.api.applications import summary_out
from autofin.api.auth import Principal, require
from autofin.api.models import QueueItem, ReasonOut, ReviewOut, ReviewQueue, ReviewRequest, StoredDecision
from autofin.api.problems import FieldError, ProblemError
from autofin.api.routes import AUTH_PROBLEMS, engine_of, problems_doc, sessions_of
from autofin.errors import AutofinError
from autofin.store import contracts as store
from autofin.store import repository
from autofin.store.models import ApplicationRow, DecisionRow, ReviewRow

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine

router = APIRouter(prefix="/v1", tags=["reviews"])

#: Most reason codes a review carries (the engine's MAX_REASONS).
MAX_REASON_CODES = 4
MAX_NOTE = 2000
_SOURCES = ("policy", "affordability", "menu")


@dataclass(frozen=True)
class Reviewed:
    """What :func:`submit_review` did: the decision made (or found), the review row, and whether this
    call stored them (``created``)."""

    decision: DecisionRow
    review: ReviewRow
    created: bool


def _bad(field: str, value: Any, rule: str, status: int = 422) -> ProblemError:
    return ProblemError(status, f"{field}: {rule}", errors=[FieldError(field=field, rule=rule, value=value)])


def known_reason_codes(engine: DecisionEngine) -> dict[str, str]:
    """Every reason code of the engine's reason texts → its source (policy, affordability, menu)."""
    texts = engine.reason_texts
    assert texts is not None
    out: dict[str, str] = {}
    for source in _SOURCES:
        for code in sorted(texts.codes(source)):
            out.setdefault(code, source)
    return out


def _check(engine: DecisionEngine, action: str, reason_codes: Sequence[str], note: str) -> dict[str, str]:
    if action not in ("approve", "decline"):
        raise _bad("action", action, "must be approve or decline")
    if len(note) > MAX_NOTE:
        raise _bad("note", None, f"must be at most {MAX_NOTE} characters")
    known = known_reason_codes(engine)
    if action == "decline" and not reason_codes:
        raise _bad("reason_codes", None, "a decline needs at least one reason code")
    if len(reason_codes) > MAX_REASON_CODES:
        raise _bad("reason_codes", None, f"must hold at most {MAX_REASON_CODES} codes")
    for k, code in enumerate(reason_codes):
        if code not in known:
            raise _bad(f"reason_codes[{k}]", code, "must be a reason code of the engine's reason list")
        if code in reason_codes[:k]:
            raise _bad(f"reason_codes[{k}]", code, "must not repeat a code")
    return known


def _same(
    found: DecisionRow, action: str, reason_codes: Sequence[str], note: str, principal: Principal
) -> bool:
    review = found.record.get("review")
    return (
        isinstance(review, dict)
        and review.get("action") == action
        and review.get("reason_codes") == list(reason_codes)
        and review.get("note") == note
        and review.get("by") == principal.name
    )


def submit_review(
    sessions: sessionmaker[Session],
    engine: DecisionEngine,
    *,
    application_id: str,
    action: str,
    reason_codes: list[str],
    note: str,
    principal: Principal,
) -> Reviewed:
    """Approve or decline a referred application (see the module docstring). Raises :class:`ProblemError`:
    404 (no such application), 409 naming ``application_id`` (the latest decision is not a referral) or
    ``action`` (approve without an offer), 422 naming ``action``, ``reason_codes[k]`` or ``note``."""
    known = _check(engine, action, reason_codes, note)
    texts = engine.reason_texts
    assert texts is not None
    with sessions() as session:
        app = repository.get_application(session, application_id)
        if app is None:
            raise ProblemError(404, f"no application {application_id!r}")
        latest = repository.latest_decision(session, app.id)
        if (
            latest is not None
            and latest.outcome != "refer"
            and _same(latest, action, reason_codes, note, principal)
        ):
            found = session.query(ReviewRow).filter(ReviewRow.decision_id == latest.id).one_or_none()
            if found is not None:
                return Reviewed(latest, found, created=False)
        if latest is None or latest.outcome != "refer":
            outcome = "none" if latest is None else latest.outcome
            rule = f"only an application whose latest decision is refer can be reviewed (latest: {outcome})"
            raise _bad("application_id", application_id, rule, 409)
        referred = latest
    record: dict[str, Any] = dict(referred.record)
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    record["review"] = {
        "by": principal.name, "role": principal.role, "action": action, "note": note,
        "reason_codes": list(reason_codes), "at": at, "referred_decision_id": referred.id,
    }  # fmt: skip
    if action == "approve":
        if not record.get("offers") and not record.get("counter_offers"):
            raise _bad(
                "action", action, "the referral's menu holds no offer to approve; decline instead", 409
            )
        record["outcome"] = "approve"
        record["reasons"] = []
    else:
        record["outcome"] = "decline"
        record["reasons"] = [texts.reason(known[c], c).to_dict() for c in reason_codes]  # type: ignore[arg-type]
        record["offers"] = []
        record["counter_offers"] = []
    with sessions() as session:
        try:
            decision, review = store.record_review(
                session, application_id=app.id, referred_decision_id=referred.id, record=record,
                action=action, reason_codes=reason_codes, note=note, by=principal.name, role=principal.role,
            )  # fmt: skip
        except store.ConflictError as exc:
            raise _bad(exc.field, exc.value, exc.rule, 409) from None
        except AutofinError as exc:
            raise _bad(exc.field, exc.value, exc.rule) from None
    return Reviewed(decision, review, created=True)


def review_application(
    sessions: sessionmaker[Session],
    engine: DecisionEngine,
    *,
    application_id: str,
    action: str,
    reason_codes: list[str],
    note: str,
    principal: Principal,
) -> DecisionRow:
    """:func:`submit_review`, returning the decision it made (or, for a repeated review, found)."""
    return submit_review(
        sessions, engine, application_id=application_id, action=action, reason_codes=reason_codes, note=note,
        principal=principal,
    ).decision  # fmt: skip


def referred_queue(session: Session, limit: int = 100) -> list[ApplicationRow]:
    """Applications whose status is ``refer``, oldest submission first (at most ``limit``)."""
    return store.referred_queue(session, limit)


def _amount_requested(app: ApplicationRow) -> tuple[str | None, str | None]:
    data = app.application
    vehicle = data.get("vehicle") if isinstance(data.get("vehicle"), dict) else {}
    wishes = data.get("wishes") if isinstance(data.get("wishes"), dict) else {}
    assert isinstance(vehicle, dict) and isinstance(wishes, dict)
    currency = data.get("currency") if isinstance(data.get("currency"), str) else None
    try:
        price = Decimal(str(vehicle.get("price")))
        if wishes.get("down_payment") is not None:
            down = Decimal(str(wishes["down_payment"]))
        elif wishes.get("down_payment_pct") is not None:
            down = price * Decimal(str(wishes["down_payment_pct"]))
        else:
            down = Decimal(0)
        return currency, str((price - down).quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError):
        return currency, None


def queue_item(app: ApplicationRow, decision: DecisionRow) -> QueueItem:
    """One queue entry of a referred application and its referral."""
    record = decision.record
    score = record.get("score") if isinstance(record.get("score"), dict) else {}
    assert isinstance(score, dict)
    points = score.get("points")
    currency, amount = _amount_requested(app)
    return QueueItem(
        **summary_out(app).model_dump(),
        decision_id=decision.id,
        referred_at=decision.decided_at,
        reasons=[ReasonOut.model_validate(r) for r in record.get("reasons") or []],
        score_points=float(points) if isinstance(points, int | float) else None,
        currency=currency,
        amount_requested=amount,
        offers=len(record.get("offers") or []) + len(record.get("counter_offers") or []),
    )


def review_out(review: ReviewRow, decision: DecisionRow) -> ReviewOut:
    """The JSON view of a review with the decision it made."""
    return ReviewOut(
        id=review.id,
        application_id=review.application_id,
        action=review.action,  # type: ignore[arg-type]
        reason_codes=list(review.reason_codes),
        note=review.note,
        by=review.by,
        at=review.at,
        referred_decision_id=review.referred_decision_id,
        decision=StoredDecision.model_validate(
            {
                "id": decision.id,
                "outcome": decision.outcome,
                "version_digest": decision.version_digest,
                "record_digest": decision.record_digest,
                "decided_at": decision.decided_at,
                "record": decision.record,
            }
        ),
    )


@router.get("/reviews/queue", response_model=ReviewQueue, responses=problems_doc(*AUTH_PROBLEMS, 422))
def queue(
    request: Request,
    _: Annotated[Principal, Depends(require("underwriter", "admin"))],
    limit: Annotated[int, Query(ge=1, le=repository.MAX_LIMIT, description="at most this many")] = 100,
) -> ReviewQueue:
    """Referred applications waiting for an underwriter, oldest submission first, each with the referral's
    reasons, the score and the amount requested."""
    items: list[QueueItem] = []
    with sessions_of(request)() as session:
        for app in referred_queue(session, limit):
            decision = repository.latest_decision(session, app.id)
            if decision is not None:
                items.append(queue_item(app, decision))
    return ReviewQueue(applications=items)


@router.post(
    "/applications/{application_id}/review",
    response_model=ReviewOut,
    status_code=201,
    responses={
        200: {"model": ReviewOut, "description": "a repeat of the stored review: that review"},
        **problems_doc(*AUTH_PROBLEMS, 404, 409, 422),
    },
)
def review(
    request: Request,
    response: Response,
    body: ReviewRequest,
    application_id: Annotated[str, Path(max_length=64, description="the store's id of the application")],
    principal: Annotated[Principal, Depends(require("underwriter", "admin"))],
) -> ReviewOut:
    """Approve or decline a referred application (see the module docs of ``autofin.api.reviews``): a new
    decision, the status, the review and an audit entry in one transaction. 201 when stored; the same
    review sent again answers the stored one with 200; an application that is not (or no longer)
    referred is a 409."""
    done = submit_review(
        sessions_of(request), engine_of(request), application_id=application_id, action=body.action,
        reason_codes=body.reason_codes, note=body.note, principal=principal,
    )  # fmt: skip
    response.status_code = 201 if done.created else 200
    return review_out(done.review, done.decision)
