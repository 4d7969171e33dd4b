"""The ``/v1/applications`` endpoints: submit exactly once (``Idempotency-Key``), read, list.

Roles: dealers, customers and admins submit; a dealer submits for its own dealer only (the stored
``dealer_id`` is the principal's; other roles store :data:`~autofin.api.service.DIRECT`). Dealers read
and list only their own applications (another dealer's id is a 404, exactly like a missing one, so ids
do not leak); underwriters, analysts and admins read and list all; customers may not read (403).
Personal data is shown in full to underwriters and admins only, masked to everyone else.

The endpoints are plain ``def`` functions: FastAPI runs them in its thread pool, so database work never
blocks the event loop.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from autofin.api.auth import Principal, Role, require
from autofin.api.models import (
    ApplicationList,
    ApplicationOut,
    ApplicationSubmission,
    ApplicationSummary,
    IncomeDocumentOut,
    PersonalOut,
    StoredDecision,
)
from autofin.api.problems import FieldError, ProblemError
from autofin.api.routes import AUTH_PROBLEMS, engine_of, keys_of, problems_doc, sessions_of
from autofin.api.service import DIRECT, scoped_key, submit_and_decide
from autofin.errors import ValidationError
from autofin.store import repository
from autofin.store.crypto import KeyRing, PersonalData, mask_national_id, mask_phone
from autofin.store.models import ApplicationRow, DecisionRow
from autofin.store.repository import CanonicalRecord

router = APIRouter(prefix="/v1", tags=["applications"])

#: Roles that see personal data unmasked.
UNMASKED_ROLES: frozenset[Role] = frozenset({"underwriter", "admin"})
IDEMPOTENCY_HEADER = "Idempotency-Key"


def personal_out(personal: PersonalData, role: Role) -> PersonalOut:
    """The personal data as ``role`` may see it (see :class:`PersonalOut`)."""
    docs = personal.income_documents
    if role in UNMASKED_ROLES:
        return PersonalOut(
            masked=False,
            national_id=personal.national_id,
            name=personal.name,
            phone=personal.phone,
            income_documents=[
                IncomeDocumentOut(
                    kind=d.kind,
                    issuer=d.issuer,
                    reference=d.reference,
                    monthly_amount=None if d.monthly_amount is None else str(d.monthly_amount),
                )
                for d in docs
            ],
        )
    return PersonalOut(
        masked=True,
        national_id=mask_national_id(personal.national_id),
        name=personal.name[:1] + "*" * max(0, len(personal.name) - 1),
        phone=mask_phone(personal.phone),
        income_documents=[
            IncomeDocumentOut(
                kind=d.kind,
                issuer="",
                reference="",
                monthly_amount=None if d.monthly_amount is None else str(d.monthly_amount),
            )
            for d in docs
        ],
    )


def summary_out(row: ApplicationRow) -> ApplicationSummary:
    app_id = row.application.get("application_id")
    return ApplicationSummary(
        id=row.id,
        application_id=app_id if isinstance(app_id, str) else None,
        dealer_id=row.dealer_id,
        channel=row.channel,
        status=row.status,
        submitted_at=row.submitted_at,
        received_at=row.received_at,
    )


def application_out(
    row: ApplicationRow, decision: DecisionRow | None, keys: KeyRing, role: Role
) -> ApplicationOut:
    """The stored application with its decision, personal data decrypted and masked for ``role``."""
    personal = repository.read_personal(row, keys)
    return ApplicationOut(
        **summary_out(row).model_dump(),
        application=row.application,
        personal=personal_out(personal, role),
        decision=None
        if decision is None
        else StoredDecision.model_validate(
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


def application_response(
    row: ApplicationRow, decision: DecisionRow, keys: KeyRing, role: Role, status_code: int
) -> Response:
    """:func:`application_out` as a JSON response whose decision record is written once: everything
    but the record goes through the response models (:class:`ApplicationOut`, :class:`StoredDecision`)
    as usual; the record (any JSON object, ``dict[str, Any]`` in the schema) is spliced in as its
    canonical text when the store made it (:class:`~autofin.store.repository.CanonicalRecord`), else
    as ``json.dumps`` writes it."""
    out = application_out(row, None, keys, role)
    stored = StoredDecision(
        id=decision.id,
        outcome=decision.outcome,  # type: ignore[arg-type]  # validated by the model
        version_digest=decision.version_digest,
        record_digest=decision.record_digest,
        decided_at=decision.decided_at,
        record={},
    )
    record = decision.record
    record_text = (
        record.text if isinstance(record, CanonicalRecord) else json.dumps(record, ensure_ascii=False)
    )
    head = out.model_dump_json(exclude={"decision"})
    body = stored.model_dump_json(exclude={"record"})
    text = f'{head[:-1]},"decision":{body[:-1]},"record":{record_text}}}}}'
    return Response(content=text.encode(), status_code=status_code, media_type="application/json")


def _scope(principal: Principal) -> tuple[str, str]:
    """(key scope, dealer id to store) of a submitting principal."""
    if principal.role == "dealer" and principal.dealer_id:
        return f"dealer:{principal.dealer_id}", principal.dealer_id
    return f"principal:{principal.name}", DIRECT


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=201,
    responses={
        200: {"model": ApplicationOut, "description": "a retry: the application stored by the first request"},
        **problems_doc(*AUTH_PROBLEMS, 409, 422),
    },
)
def submit_application(
    request: Request,
    body: ApplicationSubmission,
    principal: Annotated[Principal, Depends(require("dealer", "customer", "admin"))],
    idempotency_key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_HEADER,
            min_length=1,
            max_length=128,
            description="chosen by the client, unique per application (a UUID); resend it unchanged "
            "with the identical body when retrying",
        ),
    ],
) -> Response:
    """Submit one application with its personal data; it is stored exactly once per ``Idempotency-Key``,
    decided, and the decision recorded with its audit entry. 201 when this request stored it; a retry
    with the same key and the same body gets the stored application and decision with 200 (nothing is
    decided again); the same key with another body is a 409 problem."""
    header = f"header.{IDEMPOTENCY_HEADER}"
    if not idempotency_key.strip():
        raise ProblemError(
            422,
            f"{header}: must not be blank",
            errors=[FieldError(field=header, rule="must not be blank", value=idempotency_key)],
        )
    scope, dealer_id = _scope(principal)
    keys = keys_of(request)
    try:
        result = submit_and_decide(
            sessions_of(request),
            engine_of(request),
            keys,
            idempotency_key=scoped_key(scope, idempotency_key),
            dealer_id=dealer_id,
            application=body.application,
            personal=body.personal,
        )
    except ValidationError as exc:
        if exc.field != "idempotency_key":
            raise
        rule = "was already used for a different request; a retry must send the identical request"
        raise ProblemError(
            409,
            f"{IDEMPOTENCY_HEADER} {idempotency_key!r} {rule}, a new request needs a new key",
            errors=[FieldError(field=header, rule=rule, value=idempotency_key)],
        ) from None
    status_code = 201 if result.created else 200
    return application_response(result.application, result.decision, keys, principal.role, status_code)


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationOut,
    responses=problems_doc(*AUTH_PROBLEMS, 404),
)
def get_application(
    request: Request,
    application_id: Annotated[str, Path(max_length=64, description="the store's id of the application")],
    principal: Annotated[Principal, Depends(require("dealer", "underwriter", "analyst", "admin"))],
) -> ApplicationOut:
    """One application with its latest decision. Dealers see only their own (any other id is 404)."""
    with sessions_of(request)() as session:
        row = repository.get_application(session, application_id, dealer_id=principal.dealer_id)
        if row is None:
            raise ProblemError(404, f"no application {application_id!r}")
        decision = repository.latest_decision(session, row.id)
    return application_out(row, decision, keys_of(request), principal.role)


@router.get(
    "/applications",
    response_model=ApplicationList,
    responses=problems_doc(*AUTH_PROBLEMS, 422),
)
def list_applications(
    request: Request,
    principal: Annotated[Principal, Depends(require("dealer", "underwriter", "analyst", "admin"))],
    status: Annotated[
        str | None,
        Query(max_length=32, description="submitted, approve, counter_offer, refer or decline"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=repository.MAX_LIMIT, description="at most this many")] = 100,
) -> ApplicationList:
    """Applications, newest submission first: a dealer's own, or all for underwriters, analysts and
    admins; optionally of one ``status``."""
    with sessions_of(request)() as session:
        rows = repository.list_applications(
            session, dealer_id=principal.dealer_id, status=status, limit=limit
        )
    return ApplicationList(applications=[summary_out(r) for r in rows])
