"""Offer acceptance and contracts: ``POST /v1/applications/{id}/acceptance``, ``GET /v1/contracts/{id}``,
``GET /v1/applications/{id}/contract`` and the disclosure document ``GET /v1/contracts/{id}/disclosure``.

Roles: dealers and admins accept offers (a dealer only on its own applications: another dealer's id is a
404, exactly like a missing one); dealers (their own), underwriters, analysts and admins read contracts
and their disclosure documents; customers may not (they own no application yet).

**The customer's name on the disclosure.** Underwriters and admins see it in full; so does the dealer of
the application, on its own contract's document, because the dealer prints the contract for the customer
to sign. Analysts see it masked (first character only), as everywhere else.

The service functions (:func:`accept_offer`, :func:`get_contract`, :func:`contract_for_application`,
:func:`contract_json`) are what the web pages call too; errors are :class:`ProblemError` with the field
named (404, 409, 422).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from autofin.api.applications import UNMASKED_ROLES, personal_out
from autofin.api.auth import Principal, require
from autofin.api.models import AcceptanceRequest, ContractOut
from autofin.api.problems import FieldError, ProblemError
from autofin.api.routes import AUTH_PROBLEMS, keys_of, problems_doc, sessions_of
from autofin.errors import AutofinError
from autofin.jsonsafe import sub
from autofin.store import contracts as store
from autofin.store import repository
from autofin.store.crypto import KeyRing
from autofin.store.models import ContractRow

router = APIRouter(prefix="/v1", tags=["contracts"])

PDF = "application/pdf"
HTML = "text/html; charset=utf-8"

_ID = Path(max_length=64, description="the store's id")


def _problem(exc: AutofinError) -> ProblemError:
    """A store error as a problem: not found → 404, conflict → 409, bad input → 422."""
    status = (
        404 if isinstance(exc, store.NotFoundError) else 409 if isinstance(exc, store.ConflictError) else 422
    )
    detail = exc.message if status != 404 else f"no application {exc.value!r}"
    errors = [] if status == 404 else [FieldError(field=exc.field, rule=exc.rule, value=exc.value)]
    return ProblemError(status, detail, errors=errors)


def accept_offer(
    sessions: sessionmaker[Session],
    keys: KeyRing,
    *,
    application_id: str,
    offer: int,
    principal: Principal,
    menu: str | None = None,
) -> tuple[ContractRow, bool]:
    """Accept offer ``offer`` (rank from 1) of the application's latest decision and book the contract
    (:func:`autofin.store.contracts.accept`: one transaction with the status ``booked`` and a ``contract``
    audit entry). Returns ``(contract, created)``; ``created`` is ``False`` for a retry of the same
    acceptance. A dealer accepts only on its own applications. Raises :class:`ProblemError`: 404 (no such
    application for this principal), 409 naming ``offer`` (another offer is booked) or ``application_id``
    (the latest decision is not approve / counter_offer), 422 naming ``offer`` or ``menu``.
    ``keys`` is accepted for symmetry with the other service functions (contracts hold no personal data)."""
    del keys
    with sessions() as session:
        try:
            return store.accept(
                session,
                application_id=application_id,
                offer=offer,
                accepted_by=principal.name,
                dealer_id=principal.dealer_id,
                menu=menu,
            )
        except AutofinError as exc:
            raise _problem(exc) from None


def get_contract(session: Session, contract_id: str, *, dealer_id: str | None) -> ContractRow | None:
    """The contract ``contract_id`` (``None``: none, or another dealer's when ``dealer_id`` is given)."""
    return store.get_contract(session, contract_id, dealer_id=dealer_id)


def contract_for_application(
    session: Session, application_id: str, *, dealer_id: str | None
) -> ContractRow | None:
    """The contract booked on an application (``None``: none yet, or another dealer's)."""
    return store.contract_for_application(session, application_id, dealer_id=dealer_id)


def contract_json(row: ContractRow, client_application_id: str | None = None) -> dict[str, Any]:
    """The JSON view of a contract (:class:`ContractOut`; what :mod:`autofin.documents.disclosure` reads)."""
    terms = sub(row.offer, "quote", "contract")
    schedule = terms.get("schedule") if isinstance(terms.get("schedule"), list) else terms.get("rows")
    disclosure = terms.get("disclosure")
    return {
        "id": row.id,
        "application_id": row.application_id,
        "client_application_id": client_application_id,
        "dealer_id": row.dealer_id,
        "decision_id": row.decision_id,
        "menu": row.menu,
        "offer_rank": row.offer_rank,
        "product_id": row.product_id,
        "currency": row.currency,
        "amount_financed": row.amount_financed,
        "accepted_by": row.accepted_by,
        "created_at": row.created_at.isoformat(),
        "offer": row.offer,
        "schedule": list(schedule) if isinstance(schedule, list) else [],
        "disclosure": dict(disclosure) if isinstance(disclosure, Mapping) else None,
    }


def _client_id(session: Session, row: ContractRow) -> str | None:
    app = repository.get_application(session, row.application_id)
    value = None if app is None else app.application.get("application_id")
    return value if isinstance(value, str) else None


def _found(row: ContractRow | None, missing: str, key: str) -> ContractRow:
    """``row``; when there is none, a 404 problem whose detail is ``missing`` and the quoted ``key``
    (``no contract 'c-1'``)."""
    if row is None:
        raise ProblemError(404, f"{missing} {key!r}")
    return row


def _out(session: Session, row: ContractRow) -> ContractOut:
    return ContractOut.model_validate(contract_json(row, _client_id(session, row)))


@router.post(
    "/applications/{application_id}/acceptance",
    response_model=ContractOut,
    status_code=201,
    responses={
        200: {"model": ContractOut, "description": "a retry: the contract booked by the first acceptance"},
        **problems_doc(*AUTH_PROBLEMS, 404, 409, 422),
    },
)
def accept(
    request: Request,
    response: Response,
    body: AcceptanceRequest,
    application_id: Annotated[str, _ID],
    principal: Annotated[Principal, Depends(require("dealer", "admin"))],
) -> ContractOut:
    """Accept one offer of the application's latest decision (approve or counter-offer): the contract is
    booked with the offer's schedule and disclosure, the application's status becomes ``booked`` and an
    audit entry is written — together or not at all. 201 the first time; accepting the same offer again
    answers the stored contract with 200; another offer once booked is a 409 naming ``offer``."""
    sessions = sessions_of(request)
    row, created = accept_offer(
        sessions, keys_of(request), application_id=application_id, offer=body.offer, principal=principal,
        menu=body.menu,
    )  # fmt: skip
    response.status_code = 201 if created else 200
    with sessions() as session:
        return _out(session, row)


@router.get(
    "/contracts/{contract_id}", response_model=ContractOut, responses=problems_doc(*AUTH_PROBLEMS, 404)
)
def read_contract(
    request: Request,
    contract_id: Annotated[str, _ID],
    principal: Annotated[Principal, Depends(require("dealer", "underwriter", "analyst", "admin"))],
) -> ContractOut:
    """One contract with its schedule and disclosure. Dealers see only their own (any other id is 404)."""
    with sessions_of(request)() as session:
        row = get_contract(session, contract_id, dealer_id=principal.dealer_id)
        return _out(session, _found(row, "no contract", contract_id))


@router.get(
    "/applications/{application_id}/contract",
    response_model=ContractOut,
    responses=problems_doc(*AUTH_PROBLEMS, 404),
)
def read_application_contract(
    request: Request,
    application_id: Annotated[str, _ID],
    principal: Annotated[Principal, Depends(require("dealer", "underwriter", "analyst", "admin"))],
) -> ContractOut:
    """The contract booked on an application; 404 when none is booked (or it is another dealer's)."""
    with sessions_of(request)() as session:
        row = contract_for_application(session, application_id, dealer_id=principal.dealer_id)
        return _out(session, _found(row, "no contract on application", application_id))


def disclosure_input(
    session: Session, row: ContractRow, keys: KeyRing, principal: Principal
) -> dict[str, Any]:
    """The mapping :func:`autofin.documents.disclosure.disclosure_html` / ``disclosure_pdf`` render for
    ``principal``: the contract's JSON with the customer's name, in full for underwriters, admins and the
    application's own dealer, masked for everyone else (see the module docstring)."""
    data = contract_json(row, _client_id(session, row))
    app = repository.get_application(session, row.application_id)
    if app is not None:
        personal = repository.read_personal(app, keys)
        own_dealer = principal.role == "dealer" and principal.dealer_id == row.dealer_id
        if principal.role in UNMASKED_ROLES or own_dealer:
            data["customer"] = {"name": personal.name, "masked": False}
        else:
            data["customer"] = {"name": personal_out(personal, principal.role).name, "masked": True}
    return data


@router.get(
    "/contracts/{contract_id}/disclosure",
    response_class=Response,
    responses={
        200: {
            "description": "the disclosure document: an HTML page or a PDF",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problems_doc(*AUTH_PROBLEMS, 404, 422),
    },
)
def read_disclosure(
    request: Request,
    contract_id: Annotated[str, _ID],
    principal: Annotated[Principal, Depends(require("dealer", "underwriter", "analyst", "admin"))],
    format: Annotated[Literal["html", "pdf"], Query(description="html or pdf")] = "html",
    lang: Annotated[Literal["en", "zh-CN"], Query(description="en or zh-CN")] = "en",
) -> Response:
    """The contract's disclosure document — key terms (amount financed, the disclosed annual rate with its
    method, finance charge, total of payments, number and amount of payments, balloon or residual, fees,
    services) and the full payment schedule — as a printable HTML page or a PDF, in English or
    Simplified Chinese. Dealers see only their own contracts (any other id is 404)."""
    from autofin.documents.disclosure import disclosure_html, disclosure_pdf

    with sessions_of(request)() as session:
        found = get_contract(session, contract_id, dealer_id=principal.dealer_id)
        row = _found(found, "no contract", contract_id)
        data = disclosure_input(session, row, keys_of(request), principal)
    if format == "pdf":
        name = f"disclosure-{row.id}-{lang}.pdf"
        return Response(
            disclosure_pdf(data, lang),
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )
    return Response(disclosure_html(data, lang), media_type=HTML, headers={"Content-Language": lang})
