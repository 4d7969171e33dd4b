"""The underwriter queue: applications the policy referred to a person, and the review form.

Pages (roles ``underwriter`` and ``admin``):

- ``GET /underwriter``: the referred applications (:func:`autofin.api.reviews.referred_queue`), oldest
  submission first, with how long each has waited, the dealer, the amount requested and the referral's
  reasons; after a review, a notice says what was done;
- ``GET /underwriter/applications/{id}``: the whole application with the applicant's personal data
  **unmasked** (name, national ID, phone, income documents: these roles may see them), the referral's
  policy reasons, the risk score (points) and the probability of default, and the review form;
- ``POST /underwriter/applications/{id}``: approve or decline with reason codes (from the engine's
  reason list; a decline needs at least one) and a note (at most 2,000 characters) through
  :func:`autofin.api.reviews.review_application` — one transaction: the new decision, the status, the
  review and its audit entry — then ``303`` back to the queue. A bad entry shows the form again
  (``422``) with the message next to the input; an application no longer referred (someone acted
  first) shows the page with a notice (``409``). Sending the same review twice stores it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from autofin.api.auth import Principal, Role
from autofin.api.problems import ProblemError
from autofin.api.reviews import (
    MAX_NOTE,
    MAX_REASON_CODES,
    known_reason_codes,
    queue_item,
    referred_queue,
    review_application,
)
from autofin.api.routes import engine_of, keys_of, sessions_of
from autofin.jsonsafe import sub
from autofin.store import repository
from autofin.web import forms
from autofin.web.dealer import has_text, new_form_key, text_or
from autofin.web.i18n import Lang
from autofin.web.render import page, page_lang
from autofin.web.session import check_same_origin, page_principal
from autofin.web.site import not_found_page

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine

router = APIRouter(include_in_schema=False)

ROLES: tuple[Role, ...] = ("underwriter", "admin")
ACTIONS = ("approve", "decline")
_ID = Path(max_length=64)
#: Reason sources in the order the form lists them (message keys ``uw.source.<source>``).
SOURCES = ("policy", "affordability", "menu")


def waited(since: datetime, now: datetime) -> tuple[str, int]:
    """How long since ``since``: (message key, count) — minutes under an hour, hours under two days,
    else days (whole units, rounded down)."""
    start = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    minutes = max(0, int((now - start).total_seconds() // 60))
    if minutes < 60:
        return "uw.age.minutes", minutes
    if minutes < 48 * 60:
        return "uw.age.hours", minutes // 60
    return "uw.age.days", minutes // (24 * 60)


def _reason_texts(record: Mapping[str, Any], lang: Lang) -> list[dict[str, str]]:
    out = []
    for r in record.get("reasons") or []:
        if isinstance(r, Mapping):
            out.append(
                {
                    "code": str(r.get("code", "")),
                    "text": str(r.get("zh-CN") if lang == "zh-CN" else r.get("en")),
                }
            )
    return out


@router.get("/underwriter", response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    """The referred applications, oldest first, with a notice after a review (``?reviewed=&action=``)."""
    principal = page_principal(request, *ROLES)
    lang = page_lang(request)
    now = datetime.now(UTC)
    items: list[dict[str, Any]] = []
    with sessions_of(request)() as session:
        for app in referred_queue(session):
            decision = repository.latest_decision(session, app.id)
            if decision is None:
                continue
            item = queue_item(app, decision)
            age_key, age = waited(app.submitted_at, now)
            items.append({
                "id": app.id, "reference": item.application_id or "", "dealer": app.dealer_id,
                "submitted_at": app.submitted_at, "age_key": age_key, "age": age,
                "currency": item.currency or "CNY", "amount": item.amount_requested,
                "reasons": _reason_texts(decision.record, lang), "offers": item.offers,
            })  # fmt: skip
    reviewed = request.query_params.get("reviewed", "")[:64]
    action = request.query_params.get("action", "")
    notice = {"id": reviewed, "action": action} if reviewed and action in ACTIONS else None
    return page(request, "underwriter_queue.html", {"items": items, "notice": notice}, principal=principal)


def reason_choices(engine: DecisionEngine, lang: Lang) -> list[tuple[str, list[tuple[str, str]]]]:
    """The reason codes an underwriter may give, by source: (source, [(code, text in ``lang``)])."""
    texts = engine.reason_texts
    assert texts is not None
    known = known_reason_codes(engine)
    out = []
    for source in SOURCES:
        codes = sorted(c for c, s in known.items() if s == source)
        entries = []
        for code in codes:
            reason = texts.reason(source, code)  # type: ignore[arg-type]
            entries.append((code, reason.zh_cn if lang == "zh-CN" else reason.en))
        if entries:
            out.append((source, entries))
    return out


def _personal_view(personal: Any) -> dict[str, Any]:
    return {
        "name": personal.name,
        "national_id": personal.national_id,
        "phone": personal.phone,
        "documents": [
            {"kind": d.kind, "issuer": d.issuer, "reference": d.reference, "monthly_amount": d.monthly_amount}
            for d in personal.income_documents
        ],
    }


def _application_rows(
    data: Mapping[str, Any], fields: Sequence[forms.FormField]
) -> list[tuple[str, list[tuple[forms.FormField, Any]]]]:
    """The application's values by fieldset, as the form lays them out (personal data apart)."""
    out = []
    for group in forms.GROUPS:
        if group == "personal":
            continue
        rows = []
        for f in fields:
            if f.group != group:
                continue
            node: Any = data
            for part in f.name.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            rows.append((f, node))
        out.append((group, rows))
    return out


def _review_page(
    request: Request,
    principal: Principal,
    application_id: str,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    engine = engine_of(request)
    lang = page_lang(request)
    with sessions_of(request)() as session:
        app = repository.get_application(session, application_id)
        if app is None:
            return not_found_page(request)
        decision = repository.latest_decision(session, app.id)
        personal = _personal_view(repository.read_personal(app, keys_of(request)))
        data = dict(app.application)
        status = app.status
        dealer = app.dealer_id
        submitted_at = app.submitted_at
    record = decision.record if decision is not None else {}
    score = sub(record, "score")
    segment = str(record.get("segment") or "")
    fields = forms.build_fields(engine.extras.known_models, sorted(engine.catalogue.services))
    service_names = {
        sid: (s.name.zh_cn if lang == "zh-CN" else s.name.en) for sid, s in engine.catalogue.services.items()
    }
    shown = values or {"action": "", "reason_codes": [], "note": ""}
    context = {
        "app": {
            "id": app.id,
            "reference": data.get("application_id") or "",
            "dealer": dealer,
            "submitted_at": submitted_at,
            "status": status,
            "currency": data.get("currency") or "CNY",
        },
        "groups": _application_rows(data, fields),
        "personal": personal,
        "outcome": decision.outcome if decision is not None else status,
        "reasons": _reason_texts(record, lang),
        "score_points": score.get("points"),
        "pd": score.get("pd"),
        "model": score.get("model"),
        "segment": segment,
        "segment_label": text_or(f"segment.{segment}", lang, segment),
        "offers": len(record.get("offers") or []) + len(record.get("counter_offers") or []),
        "referred": decision is not None and decision.outcome == "refer",
        "choices": reason_choices(engine, lang),
        "values": shown,
        "errors": errors or {},
        "notice": notice,
        "form_key": new_form_key(),
        "max_note": MAX_NOTE,
        "max_codes": MAX_REASON_CODES,
        "service_names": service_names,
        "text_or": lambda k, fallback: text_or(k, lang, fallback),
        "has_text": has_text,
        "review": record.get("review") if isinstance(record.get("review"), Mapping) else None,
    }
    return page(
        request, "underwriter_application.html", context, status_code=status_code, principal=principal
    )


@router.get("/underwriter/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, application_id: Annotated[str, _ID]) -> HTMLResponse:
    """One application in full, personal data unmasked, with the review form while it is referred."""
    principal = page_principal(request, *ROLES)
    return _review_page(request, principal, application_id)


def _form_field(problem_field: str) -> str:
    """The form input a review problem names (``reason_codes[2]`` → ``reason_codes``)."""
    name = problem_field.split("[", 1)[0]
    return name if name in ("action", "reason_codes", "note") else ""


@router.post("/underwriter/applications/{application_id}", response_model=None)
async def review(request: Request, application_id: Annotated[str, _ID]) -> Response:
    """Approve or decline the referred application, then back to the queue (303) with a notice."""
    principal = page_principal(request, *ROLES)
    if not check_same_origin(request):
        return page(request, "error.html", {"status": 403, "message": "error.forbidden"}, status_code=403)
    form = await request.form()
    action = str(form.get("action") or "")
    codes = [str(c) for c in form.getlist("reason_codes") if isinstance(c, str) and c]
    note = str(form.get("note") or "").replace("\r\n", "\n").strip()
    key = str(form.get("idempotency_key") or "")
    values = {"action": action, "reason_codes": codes, "note": note}
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        errors["action"] = "uw.error.action"
    if len(note) > MAX_NOTE:
        errors["note"] = "uw.error.note"
    if action == "decline" and not codes:
        errors["reason_codes"] = "uw.error.codes_needed"
    elif len(codes) > MAX_REASON_CODES:
        errors["reason_codes"] = "uw.error.codes_many"
    if not key:
        errors[""] = "uw.error.reload"
    if errors:
        return _review_page(request, principal, application_id, values=values, errors=errors, status_code=422)
    from starlette.concurrency import run_in_threadpool

    try:
        await run_in_threadpool(
            lambda: review_application(
                sessions_of(request), engine_of(request), application_id=application_id, action=action,
                reason_codes=codes, note=note, principal=principal,
            )
        )  # fmt: skip
    except ProblemError as exc:
        if exc.status == 404:
            return not_found_page(request)
        if exc.status == 409:
            notice = (
                "uw.error.no_offer"
                if exc.errors and exc.errors[0].field == "action"
                else "uw.error.not_referred"
            )
            return _review_page(
                request, principal, application_id, values=values, notice=notice, status_code=409
            )
        field = _form_field(exc.errors[0].field) if exc.errors else ""
        errors[field] = "uw.error.rejected"
        return _review_page(request, principal, application_id, values=values, errors=errors, status_code=422)
    query = urlencode({"reviewed": application_id, "action": action})
    return RedirectResponse(f"/underwriter?{query}", status_code=303)
