"""Shared values of the store tests (importable because pytest puts this directory on ``sys.path``)."""

from __future__ import annotations

from decimal import Decimal

from autofin.decision.application import Application
from autofin.store.crypto import IncomeDocument, PersonalData


def application_with(base: Application, application_id: str) -> Application:
    """The same application under another id."""
    return base.model_copy(update={"application_id": application_id})


PERSONAL = PersonalData(
    national_id="110101199003071234",
    name="张伟",
    phone="13812345678",
    income_documents=(
        IncomeDocument(kind="payslip", issuer="Shanghai Example Co.", monthly_amount=Decimal("32000.00")),
    ),
)
