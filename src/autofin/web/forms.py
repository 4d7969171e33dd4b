"""The dealer desk's application form: its inputs, and parsing a submitted form into the application
JSON the decision engine takes plus the applicant's :class:`~autofin.store.crypto.PersonalData`.

**Inputs.** Each input of the form is a :class:`FormField` named by the dotted path of the value it
fills (``applicant.age``, ``vehicle.price``, ``wishes.services``, ``personal.name``): the same path the
engine names in its :class:`~autofin.errors.ValidationError`, so an engine error lands on its input.
Choices, bounds and lengths are read from the pydantic models of :mod:`autofin.decision.application`
(never copied), so the form follows the model when it changes.

**Units.** Money in major units of the application's currency (``32000.00``; grouping commas and spaces
are ignored; at most two decimals; kept as :class:`~decimal.Decimal`, sent as strings). Shares (down
payment, balloon, revolving utilisation) are typed as percents (``30`` = 30 %) and sent as fractions
(``0.30``). Terms and tenures in months, ages in years, mileage in km.

**Two checks.** :func:`parse_form` first checks each input on its own (required, whole number, amount,
bounds, choice, length) with messages from the page catalogue, so they read in the page's language;
the engine then checks the whole application (cross-field rules such as price ≤ 1.5 × MSRP) when the
page submits it, and :func:`input_for` maps the field it names back to an input.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import annotated_types
from pydantic import BaseModel

from autofin.data.schemas import REGIONS_CN
from autofin.decision.application import (
    JURISDICTION_CURRENCY,
    Applicant,
    Application,
    Bureau,
    Vehicle,
    Wishes,
)
from autofin.store.crypto import IncomeDocument, PersonalData

Kind = Literal["text", "int", "money", "percent", "select", "bool", "services"]

#: Fieldsets of the form, in order (message key ``form.group.<name>``).
GROUPS: Final[tuple[str, ...]] = ("applicant", "bureau", "vehicle", "wishes", "personal", "reference")
#: Kinds of income document the form offers (message key ``form.doc.<kind>``).
INCOME_DOCUMENT_KINDS: Final[tuple[str, ...]] = ("payslip", "tax_return", "bank_statement", "employer_letter")
_HUNDRED: Final = Decimal(100)
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class FormField:
    """One input: ``name`` (dotted path, also the input's ``name``), ``kind``, its fieldset ``group``,
    whether it is ``required``, the allowed ``choices`` (selects), suggestions (``datalist``), the
    bounds (``ge``/``gt``/``le``/``lt``, in the unit typed: percents for ``percent`` inputs),
    ``max_length`` (text) and the prefilled ``default`` (the example application)."""

    name: str
    kind: Kind
    group: str
    required: bool = False
    choices: tuple[str, ...] = ()
    datalist: tuple[str, ...] = ()
    ge: Decimal | None = None
    gt: Decimal | None = None
    le: Decimal | None = None
    lt: Decimal | None = None
    max_length: int | None = None
    default: str | tuple[str, ...] = ""

    @property
    def ident(self) -> str:
        """The input's HTML ``id`` (``f-applicant-age``)."""
        return "f-" + self.name.replace(".", "-")

    @property
    def label_key(self) -> str:
        """The message key of the input's label (``form.applicant.age``)."""
        return f"form.{self.name}"

    @property
    def step(self) -> str:
        """The ``step`` of a numeric input."""
        return {"int": "1", "money": "0.01"}.get(self.kind, "any")


@dataclass(frozen=True)
class FormError:
    """A message for one input: the message ``key`` and its ``values``; ``detail`` is the engine's own
    rule text (English) when the engine refused the value."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)
    detail: str = ""


@dataclass
class ParsedForm:
    """What :func:`parse_form` made of a submitted form: the ``application`` JSON (money and shares as
    strings), the ``personal`` data (``None`` when an input of it is bad), the ``errors`` per input name
    (``""`` for the form as a whole) and the ``values`` as typed (to show the form again)."""

    application: dict[str, Any]
    personal: PersonalData | None
    errors: dict[str, FormError]
    values: dict[str, str | tuple[str, ...]]

    @property
    def ok(self) -> bool:
        return not self.errors


# -- reading the models ------------------------------------------------------------------------------


def _constraints(model: type[BaseModel], attr: str) -> tuple[tuple[str, ...], dict[str, Any], bool]:
    """(Literal choices, annotated-types bounds and lengths, required) of ``model.attr``."""
    info = model.model_fields[attr]
    found: dict[str, Any] = {}
    choices: tuple[str, ...] = ()

    def visit(tp: Any, metadata: Sequence[Any]) -> None:
        nonlocal choices
        for m in metadata:
            if isinstance(m, annotated_types.Ge):
                found["ge"] = m.ge
            elif isinstance(m, annotated_types.Gt):
                found["gt"] = m.gt
            elif isinstance(m, annotated_types.Le):
                found["le"] = m.le
            elif isinstance(m, annotated_types.Lt):
                found["lt"] = m.lt
            elif isinstance(m, annotated_types.MaxLen):
                found["max_length"] = m.max_length
            elif hasattr(m, "metadata"):
                visit(None, m.metadata)
        if tp is None:
            return
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            inner, *extra = typing.get_args(tp)
            visit(inner, extra)
        elif origin is typing.Literal:
            choices = tuple(str(a) for a in typing.get_args(tp))
        elif origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(tp):
                if arg is not type(None):
                    visit(arg, ())

    visit(info.annotation, info.metadata)
    return choices, found, info.is_required()


def _field(
    name: str,
    kind: Kind,
    group: str,
    model: type[BaseModel] | None = None,
    *,
    required: bool | None = None,
    choices: tuple[str, ...] = (),
    datalist: tuple[str, ...] = (),
    default: str | tuple[str, ...] = "",
    max_length: int | None = None,
) -> FormField:
    bounds: dict[str, Any] = {}
    needed = bool(required)
    if model is not None:
        found_choices, bounds, model_required = _constraints(model, name.rsplit(".", 1)[-1])
        choices = choices or found_choices
        needed = model_required if required is None else required
        max_length = max_length if max_length is not None else bounds.get("max_length")
    scale = _HUNDRED if kind == "percent" else Decimal(1)

    def bound(key: str) -> Decimal | None:
        value = bounds.get(key)
        return None if value is None else Decimal(str(value)) * scale

    return FormField(
        name=name,
        kind=kind,
        group=group,
        required=needed,
        choices=choices,
        datalist=datalist,
        ge=bound("ge"),
        gt=bound("gt"),
        le=bound("le"),
        lt=bound("lt"),
        max_length=max_length,
        default=default,
    )


def _doc_constraint(attr: str) -> int | None:
    limit = _constraints(IncomeDocument, attr)[1].get("max_length")
    return int(limit) if limit is not None else None


def _personal_constraint(attr: str) -> int | None:
    limit = _constraints(PersonalData, attr)[1].get("max_length")
    return int(limit) if limit is not None else None


def build_fields(
    known_models: Mapping[str, Sequence[str]], service_ids: Sequence[str]
) -> tuple[FormField, ...]:
    """Every input of the form, in display order, prefilled with the example application
    (``examples/decisions/approve.json``). ``known_models``: brand → models the catalogue knows
    (suggestions); ``service_ids``: the catalogue's value-added services (checkboxes)."""
    brands = tuple(sorted(known_models))
    models = tuple(sorted({m for ms in known_models.values() for m in ms}))
    a, b, v, w = Applicant, Bureau, Vehicle, Wishes
    return (
        _field("applicant.customer_type", "select", "applicant", a, default="individual"),
        _field("applicant.age", "int", "applicant", a, default="38"),
        _field(
            "applicant.region", "text", "applicant", a, required=True, datalist=REGIONS_CN, default="tier1"
        ),
        _field("applicant.city", "text", "applicant", a, default="Shanghai"),
        _field("applicant.area", "select", "applicant", a, default="urban"),
        _field("applicant.channel", "select", "applicant", a, default="dealer"),
        _field("applicant.monthly_income", "money", "applicant", a, default="32000.00"),
        _field("applicant.monthly_debt_payments", "money", "applicant", a, required=True, default="2500.00"),
        _field("applicant.employment_type", "select", "applicant", a, default="salaried"),
        _field("applicant.employment_tenure_months", "int", "applicant", a, default="96"),
        _field("applicant.residence_type", "select", "applicant", a, default="mortgage"),
        _field("applicant.residence_tenure_months", "int", "applicant", a, required=True, default="60"),
        _field("applicant.dependents", "int", "applicant", a, required=True, default="2"),
        _field("applicant.household_size", "int", "applicant", a, default="4"),
        _field("applicant.first_time_buyer", "bool", "applicant", a, default=""),
        _field("applicant.resident", "bool", "applicant", a, required=False, default="on"),
        _field("applicant.income_verified", "bool", "applicant", a, default="on"),
        _field("applicant.bureau_score", "int", "bureau", a, default="742"),
        _field("applicant.no_file", "bool", "bureau", a, default=""),
        _field("applicant.thin_file", "bool", "bureau", a, default=""),
        _field("bureau.inquiries_6m", "int", "bureau", b),
        _field("bureau.delinquencies_24m", "int", "bureau", b),
        _field("bureau.revolving_utilisation", "percent", "bureau", b),
        _field("vehicle.brand", "text", "vehicle", v, datalist=brands, default="BYD"),
        _field("vehicle.model", "text", "vehicle", v, datalist=models, default="Seal"),
        _field("vehicle.condition", "select", "vehicle", v, default="new"),
        _field("vehicle.vehicle_class", "select", "vehicle", v, default="mid"),
        _field("vehicle.powertrain", "select", "vehicle", v, default="nev"),
        _field("vehicle.use", "select", "vehicle", v, default="passenger"),
        _field("vehicle.msrp", "money", "vehicle", v, default="189800.00"),
        _field("vehicle.price", "money", "vehicle", v, default="179800.00"),
        _field("vehicle.age_years", "int", "vehicle", v, required=True, default="0"),
        _field("vehicle.mileage_km", "int", "vehicle", v, required=True, default="12"),
        _field("vehicle.inventory_age_days", "int", "vehicle", v, required=True, default="0"),
        _field("wishes.term_months", "int", "wishes", w, default="36"),
        _field("wishes.ownership", "select", "wishes", w, default="loan"),
        _field("wishes.down_payment_pct", "percent", "wishes", w, default="30"),
        _field("wishes.down_payment", "money", "wishes", w),
        _field("wishes.balloon_pct", "percent", "wishes", w),
        _field("wishes.budget_monthly_payment", "money", "wishes", w, default="5000.00"),
        _field(
            "wishes.services",
            "services",
            "wishes",
            choices=tuple(service_ids),
            default=("cn-roadside-assistance",),
        ),
        _field(
            "personal.name",
            "text",
            "personal",
            required=True,
            default="张三",
            max_length=_personal_constraint("name"),
        ),
        _field(
            "personal.national_id",
            "text",
            "personal",
            required=True,
            default="110101199003071234",
            max_length=_personal_constraint("national_id"),
        ),
        _field(
            "personal.phone",
            "text",
            "personal",
            default="13800001234",
            max_length=_personal_constraint("phone"),
        ),
        _field(
            "personal.document.kind",
            "select",
            "personal",
            required=True,
            choices=INCOME_DOCUMENT_KINDS,
            default="payslip",
        ),
        _field(
            "personal.document.issuer",
            "text",
            "personal",
            default="Demo Employer Co.",
            max_length=_doc_constraint("issuer"),
        ),
        _field(
            "personal.document.reference",
            "text",
            "personal",
            default="PS-2026-11",
            max_length=_doc_constraint("reference"),
        ),
        _field("personal.document.monthly_amount", "money", "personal", default="32000.00"),
        _field("jurisdiction", "select", "reference", Application, default="CN"),
        _field("application_id", "text", "reference", required=False, max_length=64),
    )


def default_values(fields: Sequence[FormField]) -> dict[str, str | tuple[str, ...]]:
    """The prefilled value of every input."""
    return {f.name: f.default for f in fields}


# -- parsing -------------------------------------------------------------------------------------------


def _number(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("_", "").replace(" ", "").replace("\u00a0", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _check_bounds(f: FormField, value: Decimal) -> FormError | None:
    if f.ge is not None and value < f.ge:
        return FormError("form.error.min", {"limit": _plain(f.ge)})
    if f.gt is not None and value <= f.gt:
        return FormError("form.error.above", {"limit": _plain(f.gt)})
    if f.le is not None and value > f.le:
        return FormError("form.error.max", {"limit": _plain(f.le)})
    if f.lt is not None and value >= f.lt:
        return FormError("form.error.below", {"limit": _plain(f.lt)})
    return None


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _convert(f: FormField, raw: str) -> tuple[Any, FormError | None]:
    """(the JSON value of one typed input, or an error). Blank optional inputs give ``None``."""
    text = raw.strip()
    if f.kind == "bool":
        return bool(text), None
    if not text:
        return None, FormError("form.error.required") if f.required else None
    if f.kind == "text":
        if f.max_length is not None and len(text) > f.max_length:
            return None, FormError("form.error.too_long", {"limit": f.max_length})
        return text, None
    if f.kind == "select":
        if text not in f.choices:
            return None, FormError("form.error.choice")
        return text, None
    number = _number(text)
    if number is None:
        return None, FormError("form.error.number")
    if f.kind == "int":
        if number != number.to_integral_value():
            return None, FormError("form.error.integer")
        bad = _check_bounds(f, number)
        return (None, bad) if bad else (int(number), None)
    if f.kind == "money" and number != number.quantize(_CENT):
        return None, FormError("form.error.cents")
    bad = _check_bounds(f, number)
    if bad:
        return None, bad
    if f.kind == "percent":
        return str((number / _HUNDRED).normalize()), None
    return str(number.quantize(_CENT)), None


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = target
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


def parse_form(
    form: Mapping[str, str | Sequence[str]], fields: Sequence[FormField], *, submitted_at: str
) -> ParsedForm:
    """Parse a submitted form (input name → value, or values for ``wishes.services``) into the
    application JSON and the personal data; see the module docstring. ``submitted_at``: the ISO 8601
    timestamp (with offset) the application carries."""
    values: dict[str, str | tuple[str, ...]] = {}
    errors: dict[str, FormError] = {}
    data: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f.name, "")
        if f.kind == "services":
            chosen = (raw,) if isinstance(raw, str) else tuple(str(x) for x in raw)
            chosen = tuple(c for c in chosen if c)
            values[f.name] = chosen
            unknown = [c for c in chosen if c not in f.choices]
            if unknown:
                errors[f.name] = FormError("form.error.choice")
            _put(data, f.name, list(chosen))
            continue
        text = raw if isinstance(raw, str) else (raw[-1] if raw else "")
        values[f.name] = text
        value, error = _convert(f, text)
        if error is not None:
            errors[f.name] = error
        elif value is not None:
            _put(data, f.name, value)
    personal_in = data.pop("personal", {})
    bureau = data.get("bureau")
    if isinstance(bureau, dict) and not bureau:
        data.pop("bureau")
    jurisdiction = data.get("jurisdiction")
    if isinstance(jurisdiction, str):
        data["currency"] = JURISDICTION_CURRENCY[jurisdiction]
    data["submitted_at"] = submitted_at
    personal: PersonalData | None = None
    if not any(name.startswith("personal.") for name in errors):
        doc = personal_in.get("document", {})
        personal = PersonalData(
            national_id=personal_in["national_id"],
            name=personal_in["name"],
            phone=personal_in.get("phone", ""),
            income_documents=(
                IncomeDocument(
                    kind=doc["kind"],
                    issuer=doc.get("issuer", ""),
                    reference=doc.get("reference", ""),
                    monthly_amount=None
                    if doc.get("monthly_amount") is None
                    else Decimal(doc["monthly_amount"]),
                ),
            ),
        )
    return ParsedForm(application=data, personal=personal, errors=errors, values=values)


def input_for(engine_field: str, fields: Sequence[FormField]) -> str:
    """The input an engine error's field belongs to (``application.applicant.age`` →
    ``applicant.age``; ``wishes.services.0`` → ``wishes.services``; ``currency`` → ``jurisdiction``),
    or ``""`` (the form as a whole) when no input matches."""
    names = {f.name for f in fields}
    path = engine_field.removeprefix("application.")
    if path == "currency":
        return "jurisdiction"
    while path:
        if path in names:
            return path
        if "." not in path:
            break
        path = path.rsplit(".", 1)[0]
    return ""
