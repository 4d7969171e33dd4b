"""One entry point from a JSON contract request to the full contract, as JSON-ready data.

A request is a mapping with ``"kind"``:

* ``"loan"`` (the default): the fields of :class:`~autofin.finance.terms.LoanTerms`, plus optional
  ``"disclosures"`` (a list of ``"us_regz"``, ``"cn_irr"``, ``"eu_aprc"``; default all three);
* ``"lease"`` with ``"type"`` ``"closed_end"`` / ``"open_end"`` (US consumer leases, Regulation M),
  ``"finance"`` (融资租赁 with a purchase option) or ``"one_plus_three"`` (the "1+3" structure), and
  the fields of the matching terms class in :mod:`autofin.finance.lease`.

Output conventions: money amounts are JSON *strings* of exact decimals (``"1932.82"``) so no cent is
lost to binary floats; rates are JSON numbers rounded to 10 decimal places; dates are ISO strings.
This module is pure: it neither reads nor prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from autofin.errors import ValidationError, from_pydantic
from autofin.finance import lease as lease_math
from autofin.finance.apr import AprMethod, CashFlow, compute_apr
from autofin.finance.disclosure import LoanDisclosure, disclose_loan
from autofin.finance.schedule import Row, RowKind, Schedule, build_schedule
from autofin.finance.terms import parse_terms

RATE_PLACES = Decimal("1e-10")
_RATE_FIELDS = frozenset(
    {
        "apr",
        "annual_rate",
        "effective_annual_rate",
        "periodic_rate",
        "lease_rate",
        "money_factor",
        "implied_money_factor",
        "annualised_rate",
        "instalment_rate",
        "tax_rate",
    }
)


#: Plain values :func:`jsonable` returns as they are (exact types: subclasses take the general path).
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})
#: Field names of each dataclass type :func:`jsonable` has converted (``dataclasses.fields`` per call
#: was a third of its cost on schedules).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def jsonable(value: Any, key: str = "") -> Any:
    """Convert engine results (dataclasses, named tuples, Decimal, date, enums) to JSON-ready data.

    Decimals named like rates (see ``_RATE_FIELDS``) become numbers rounded to 10 places; every other
    Decimal (money) becomes an exact string.
    """
    kind = type(value)
    # Fast paths for the exact types that dominate (the same results as the general checks below).
    if kind is Decimal:
        if key in _RATE_FIELDS:
            return float(value.quantize(RATE_PLACES)) + 0.0  # no negative zero
        return str(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Decimal):
        if key in _RATE_FIELDS:
            return float(value.quantize(RATE_PLACES)) + 0.0  # no negative zero
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(kind)
        if names is None:
            names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
        return {name: jsonable(getattr(value, name), name) for name in names}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: jsonable(v, k) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = k if type(k) is str else str(jsonable(k))
            out[name] = jsonable(v, name)
        return out
    if isinstance(value, list | tuple):
        return [jsonable(v, key) for v in value]
    if hasattr(value, "code") and hasattr(value, "minor_units"):  # a Currency
        return value.code
    return value


_ROW_KINDS: dict[RowKind, str] = {k: k.value for k in RowKind}


def _row_json(r: Row) -> dict[str, Any]:
    """``{**jsonable(r), "total_due": str(r.total_due)}`` of one schedule row, without the general
    dispatch per field when the row holds the types the engine makes (the same output)."""
    number, due, kind, rate, instalment, interest, principal, balloon, fees, balance, deferred = r
    if (
        type(number) is int
        and type(due) is date
        and type(kind) is RowKind
        and type(rate) is type(instalment) is type(interest) is type(principal) is Decimal
        and type(balloon) is type(fees) is type(balance) is type(deferred) is Decimal
    ):
        return {
            "number": number,
            "due_date": due.isoformat(),
            "kind": _ROW_KINDS[kind],
            "annual_rate": float(rate.quantize(RATE_PLACES)) + 0.0,  # a rate field (no negative zero)
            "instalment": str(instalment),
            "interest": str(interest),
            "principal": str(principal),
            "balloon": str(balloon),
            "fees": str(fees),
            "balance": str(balance),
            "deferred": str(deferred),
            "total_due": str(instalment + balloon + fees),  # Row.total_due
        }
    return {**jsonable(r), "total_due": str(r.total_due)}


def loan_contract(
    schedule: Schedule, methods: list[AprMethod], disclosure: LoanDisclosure | None = None
) -> dict[str, Any]:
    """The JSON-ready contract of a computed loan schedule with its disclosure. ``disclosure``: the
    caller's ``disclose_loan(schedule, methods)`` when it already has it (a quote does), else computed."""
    if disclosure is None:
        disclosure = disclose_loan(schedule, methods)
    rates = {
        m.value: {"apr": r.apr, "basis": r.basis, "effective_annual_rate": r.effective_annual_rate}
        for m, r in disclosure.rates.items()
    }
    return {
        "kind": "loan",
        "currency": schedule.currency.code,
        "summary": jsonable(
            {
                "opening_balance": schedule.opening_balance,
                "regular_instalment": schedule.regular_instalment,
                "balloon": schedule.balloon,
                "instalments": len(schedule.rows),
                "first_due_date": schedule.rows[0].due_date,
                "last_due_date": schedule.rows[-1].due_date,
                "total_interest": schedule.total_interest,
                "total_principal": schedule.total_principal,
            }
        ),
        "disclosure": jsonable(
            {
                "amount_financed": disclosure.amount_financed,
                "finance_charge": disclosure.finance_charge,
                "total_of_payments": disclosure.total_of_payments,
                "total_sale_price": disclosure.total_sale_price,
                "down_payment": disclosure.down_payment,
                "upfront_fees": disclosure.upfront_fees,
                "total_cost_of_credit": disclosure.total_cost_of_credit,
                "rates": rates,
            }
        ),
        "schedule": [_row_json(r) for r in schedule.rows],
    }


_LEASES: dict[str, tuple[type[Any], Any]] = {
    "closed_end": (lease_math.ConsumerLeaseTerms, lease_math.closed_end_lease),
    "open_end": (lease_math.ConsumerLeaseTerms, lease_math.open_end_lease),
    "finance": (lease_math.FinanceLeaseTerms, lease_math.finance_lease),
    "one_plus_three": (lease_math.OnePlusThreeTerms, lease_math.one_plus_three),
}


def lease_contract(request: Mapping[str, Any]) -> dict[str, Any]:
    """Compute a lease request (see the module docstring) into JSON-ready data."""
    data = dict(request)
    data.pop("kind", None)
    kind = data.pop("type", None)
    if kind not in _LEASES:
        raise ValidationError("type", kind, f"must be one of {', '.join(_LEASES)}")
    terms_cls, compute = _LEASES[kind]
    try:
        terms = TypeAdapter(terms_cls).validate_python(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None
    return {"kind": "lease", "type": kind, **jsonable(compute(terms))}


def compute_contract(request: Any) -> dict[str, Any]:
    """Compute any contract request (a JSON-like mapping) into JSON-ready data.

    Raises :class:`autofin.errors.ValidationError` naming the field for any bad input.
    """
    if not isinstance(request, Mapping):
        raise ValidationError("input", type(request).__name__, "must be a JSON object")
    kind = request.get("kind", "loan")
    if kind == "lease":
        return lease_contract(request)
    if kind != "loan":
        raise ValidationError("kind", kind, "must be 'loan' or 'lease'")
    data = {k: v for k, v in request.items() if k not in ("kind", "disclosures")}
    methods = _methods(request.get("disclosures", [m.value for m in AprMethod]))
    return loan_contract(build_schedule(parse_terms(data)), methods)


def _methods(raw: Any) -> list[AprMethod]:
    if not isinstance(raw, list):
        raise ValidationError("disclosures", raw, "must be a list of methods")
    out = []
    for k, m in enumerate(raw):
        try:
            out.append(AprMethod(m))
        except ValueError:
            raise ValidationError(
                f"disclosures[{k}]", m, f"must be one of {', '.join(x.value for x in AprMethod)}"
            ) from None
    return out


def compute_apr_request(request: Any) -> dict[str, Any]:
    """``{"advances": [{"date", "amount"}], "payments": [...], "method": ...}`` → ``{"apr": ..., ...}``."""
    if not isinstance(request, Mapping):
        raise ValidationError("input", type(request).__name__, "must be a JSON object")
    flows = {name: _flows(request, name) for name in ("advances", "payments")}
    method = request.get("method", AprMethod.US_REGZ.value)
    result = compute_apr(flows["advances"], flows["payments"], method)
    out: dict[str, Any] = jsonable(
        {
            "apr": result.apr,
            "method": result.method,
            "basis": result.basis,
            "periodic_rate": result.periodic_rate,
            "effective_annual_rate": result.effective_annual_rate,
        }
    )
    return out


def _flows(request: Mapping[str, Any], name: str) -> list[CashFlow]:
    raw = request.get(name)
    if not isinstance(raw, list):
        raise ValidationError(name, raw, "must be a list of {date, amount} objects")
    out = []
    for k, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) != {"date", "amount"}:
            raise ValidationError(f"{name}[{k}]", item, "must be an object with exactly date and amount")
        try:
            day = TypeAdapter(date).validate_python(item["date"])
        except PydanticValidationError:
            raise ValidationError(
                f"{name}[{k}].date", item["date"], "must be an ISO date (YYYY-MM-DD)"
            ) from None
        try:
            amount = TypeAdapter(Decimal).validate_python(item["amount"])
        except PydanticValidationError:
            raise ValidationError(f"{name}[{k}].amount", item["amount"], "must be a number") from None
        out.append(CashFlow(day, amount))
    return out
