"""The application model: every boundary rule, its field-level error, and the converters' outputs
accepted by quoting, policy, segments and affordability."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError as PydanticValidationError

from autofin.catalog.loader import CatalogueExtras, load_catalogue_with_extras
from autofin.catalog.models import Catalogue
from autofin.catalog.quote_types import ApplicantInfo, StructureRequest, VehicleInfo
from autofin.data import schemas
from autofin.decision import application as appmod
from autofin.decision.affordability import assess, limits_for
from autofin.decision.application import (
    check_currency,
    check_known_vehicle,
    parse_application,
    to_affordability,
    to_policy_context,
    to_quote_inputs,
    to_segment_row,
    to_structure_request,
)
from autofin.decision.policy import CONTEXT_FIELDS, PolicyEngine
from autofin.errors import ValidationError
from autofin.segments.rules import SegmentScheme, applicant_fields, load_scheme

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def cat() -> tuple[Catalogue, CatalogueExtras]:
    return load_catalogue_with_extras()


@pytest.fixture(scope="module")
def scheme() -> SegmentScheme:
    return load_scheme()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load()


def edit(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with dotted ``path`` set to ``value`` (or removed if value is ...)."""
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = out
    for p in parents:
        node = node[p]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out


def refused(data: Any, **kw: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_application(data, **kw)
    return info.value


# -- the examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["approve", "counter_offer", "decline"])
def test_examples_parse_with_catalogue(name: str, cat: tuple[Catalogue, CatalogueExtras]) -> None:
    app = parse_application(
        (EXAMPLES / f"{name}.json").read_text(encoding="utf-8"), catalogue=cat[0], extras=cat[1]
    )
    assert app.currency == "CNY" and app.jurisdiction == "CN"
    assert isinstance(app.applicant.monthly_income, Decimal)


def test_bad_currency_example(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    err = refused(example("bad_currency"), catalogue=cat[0], extras=cat[1])
    assert (err.field, err.value) == ("currency", "USD")
    assert "CNY" in err.rule


def test_model_is_frozen_and_forbids_extra() -> None:
    app = parse_application(example("approve"))
    with pytest.raises(PydanticValidationError):
        app.currency = "USD"
    err = refused(edit(example("approve"), "applicant.nickname", "x"))
    assert err.field == "applicant.nickname"
    assert "unknown key" in err.rule


def test_accepts_a_model_and_bytes() -> None:
    app = parse_application(example("approve"))
    assert parse_application(app) is app
    assert parse_application(json.dumps(example("approve")).encode()) == app


# -- field-level errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "applicant",
        "vehicle",
        "wishes",
        "currency",
        "jurisdiction",
        "submitted_at",
        "applicant.age",
        "applicant.monthly_income",
        "applicant.resident",
        "vehicle.price",
        "vehicle.model",
        "wishes.term_months",
    ],
)
def test_missing_field(path: str) -> None:
    err = refused(edit(example("approve"), path, ...))
    assert err.field == path
    assert err.rule == "is required"
    assert err.value is None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("applicant.age", 17),
        ("applicant.age", 101),
        ("applicant.monthly_income", "0"),
        ("applicant.monthly_income", "-100"),
        ("applicant.monthly_income", "abc"),
        ("applicant.monthly_income", "NaN"),
        ("applicant.monthly_income", "1000.001"),
        ("applicant.monthly_debt_payments", "-1"),
        ("applicant.dependents", 11),
        ("applicant.bureau_score", 299),
        ("applicant.bureau_score", 901),
        ("applicant.customer_type", "alien"),
        ("applicant.area", "moon"),
        ("applicant.employment_type", "pirate"),
        ("applicant.household_size", 0),
        ("vehicle.price", "0"),
        ("vehicle.msrp", "-5"),
        ("vehicle.condition", "broken"),
        ("vehicle.vehicle_class", "spaceship"),
        ("vehicle.powertrain", "steam"),
        ("vehicle.age_years", 26),
        ("vehicle.mileage_km", -1),
        ("wishes.term_months", 0),
        ("wishes.term_months", 121),
        ("wishes.down_payment_pct", "1"),
        ("wishes.ownership", "rent_to_own"),
        ("wishes.budget_monthly_payment", "0"),
        ("currency", "cny"),
        ("currency", "XYZ"),
        ("jurisdiction", "FR"),
        ("application_id", "has spaces"),
        ("submitted_at", "2026-11-20T10:15:00"),
    ],
)
def test_impossible_values(path: str, value: Any) -> None:
    err = refused(edit(example("approve"), path, value))
    assert err.field == path
    assert err.rule


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"applicant.no_file": True}, "applicant.bureau_score"),
        ({"applicant.bureau_score": None}, "applicant.bureau_score"),
        (
            {"applicant.bureau_score": None, "applicant.no_file": True, "applicant.thin_file": True},
            "applicant.thin_file",
        ),
        ({"applicant.employment_tenure_months": 38 * 12 + 1}, "applicant.employment_tenure_months"),
        ({"applicant.residence_tenure_months": 38 * 12 + 1}, "applicant.residence_tenure_months"),
        ({"applicant.household_size": 2}, "applicant.household_size"),
        ({"applicant.region": "tier9"}, "applicant.region"),
        ({"vehicle.mileage_km": 1000}, "vehicle.mileage_km"),
        ({"vehicle.age_years": 1}, "vehicle.age_years"),
        ({"vehicle.price": "400000.00"}, "vehicle.price"),
        ({"wishes.down_payment": "1000.00"}, "wishes.down_payment_pct"),
        ({"wishes.down_payment_pct": ..., "wishes.down_payment": "179800.00"}, "wishes.down_payment"),
        ({"wishes.services": ["a", "a"]}, "wishes.services"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_inconsistent_values(edits: dict[str, Any], field: str) -> None:
    data = example("approve")
    for path, value in edits.items():
        data = edit(data, path, value)
    err = refused(data)
    assert err.field == field


def test_no_file_with_null_score_is_fine() -> None:
    data = edit(edit(example("approve"), "applicant.bureau_score", None), "applicant.no_file", True)
    app = parse_application(data)
    assert app.applicant.no_file and app.applicant.bureau_score is None
    thin = edit(edit(example("approve"), "applicant.bureau_score", None), "applicant.thin_file", True)
    assert parse_application(thin).applicant.thin_file


def test_used_car_rules() -> None:
    used = example("decline")
    assert parse_application(edit(used, "vehicle.price", "232500.00")).vehicle.price == Decimal("232500.00")
    assert refused(edit(used, "vehicle.price", "232500.01")).field == "vehicle.price"


def test_us_region_and_currency() -> None:
    data = edit(
        edit(edit(example("approve"), "jurisdiction", "US"), "currency", "USD"), "applicant.region", "US-TX"
    )
    data = edit(data, "wishes.services", [])
    app = parse_application(data)
    assert app.applicant.region == "TX"
    assert refused(edit(data, "applicant.region", "tier1")).field == "applicant.region"
    assert refused(edit(data, "currency", "CNY")).field == "currency"


def test_unknown_vehicle(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    err = refused(edit(example("approve"), "vehicle.model", "Cybertruck"), extras=cat[1])
    assert (err.field, err.value) == ("vehicle.model", "Cybertruck")
    assert "Seal" in err.rule and "Song PLUS" in err.rule
    err = refused(edit(example("approve"), "vehicle.brand", "Tesla"), extras=cat[1])
    assert err.field == "vehicle.brand"
    assert "BYD" in err.rule and "Toyota" in err.rule
    # case-insensitive match; no list: nothing to check
    app = parse_application(edit(example("approve"), "vehicle.brand", "byd"), extras=cat[1])
    check_known_vehicle(app, {})


def test_unknown_service(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    err = refused(edit(example("approve"), "wishes.services", ["us-gap-insurance"]), catalogue=cat[0])
    assert err.field == "wishes.services.0"
    assert "cn-roadside-assistance" in err.rule


def test_check_currency_reads_the_pack(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    app = parse_application(example("approve"))
    check_currency(app, cat[0])
    no_cn = cat[0].model_copy(update={"jurisdictions": {"US": cat[0].jurisdictions["US"]}})
    with pytest.raises(ValidationError) as info:
        check_currency(app, no_cn)
    assert info.value.field == "jurisdiction"
    odd = cat[0].jurisdictions["CN"].model_copy(update={"currency": "HKD"})
    with pytest.raises(ValidationError) as info:
        check_currency(app, cat[0].model_copy(update={"jurisdictions": {"CN": odd}}))
    assert (info.value.field, info.value.value) == ("currency", "CNY")


def test_error_is_one_line_and_json_ready() -> None:
    err = refused(edit(example("approve"), "applicant.monthly_income", "-1"))
    assert "\n" not in err.message and err.message.startswith("applicant.monthly_income:")
    json.dumps(err.to_dict())


def test_literals_match_the_data_schemas() -> None:
    assert get_args(appmod.Area) == schemas.AREAS
    assert get_args(appmod.EmploymentType) == schemas.EMPLOYMENT_TYPES
    assert get_args(appmod.ResidenceType) == schemas.RESIDENCE_TYPES


# -- converters ------------------------------------------------------------------------------------


def test_quote_inputs_validate() -> None:
    app = parse_application(example("approve"))
    applicant, vehicle = to_quote_inputs(app, segments=["prime_professional"])
    assert isinstance(applicant, ApplicantInfo) and isinstance(vehicle, VehicleInfo)
    assert ApplicantInfo.model_validate(applicant.model_dump()) == applicant
    assert VehicleInfo.model_validate(vehicle.model_dump()) == vehicle
    assert (vehicle.brand, vehicle.model, vehicle.price) == ("BYD", "Seal", Decimal("179800.00"))
    structure = to_structure_request(app)
    assert isinstance(structure, StructureRequest)
    assert structure.term == 36 and structure.down_payment_pct == Decimal("0.30")
    assert structure.start_date.isoformat() == "2026-11-20"


def test_segment_row_runs_through_the_scheme(scheme: SegmentScheme) -> None:
    row = to_segment_row(parse_application(example("approve")))
    assert set(scheme.fields_read) <= set(row)
    assert set(row) <= set(applicant_fields())
    seg = scheme.assign(row)
    assert seg["strategy"] == "prime_professional"
    assert seg["credit_tier"] == "prime" and seg["city_tier"] == "tier1"
    young = scheme.assign(to_segment_row(parse_application(example("counter_offer"))))
    assert young["strategy"] == "young_urban"


@pytest.mark.parametrize(("name", "outcome"), [("approve", "approve"), ("decline", "decline")])
def test_policy_context_runs(name: str, outcome: str, engine: PolicyEngine, scheme: SegmentScheme) -> None:
    app = parse_application(example(name))
    segment = scheme.assign(to_segment_row(app))["strategy"]
    assert isinstance(segment, str)
    ctx = to_policy_context(app, score=720, segment=segment, amount_financed=Decimal("125860.00"))
    assert set(ctx) == set(CONTEXT_FIELDS)
    result = engine.evaluate(ctx)
    assert result.outcome == outcome
    if outcome == "decline":
        assert "KO_BANKRUPTCY" in result.reason_codes


def test_policy_context_thin_file_covers_no_file() -> None:
    data = edit(edit(example("approve"), "applicant.bureau_score", None), "applicant.no_file", True)
    ctx = to_policy_context(parse_application(data), score=600, segment="x", amount_financed=Decimal(1))
    assert ctx["thin_file"] is True
    assert (
        to_policy_context(
            parse_application(data), score=1, segment="x", amount_financed=Decimal(1), income_verified=False
        )["income_verified"]
        is False
    )


def _annuity(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    r = annual_rate / 12
    return (principal * r / (1 - (1 + r) ** -months)).quantize(Decimal("0.01"))


def test_affordability_counter_offer_fails_as_asked(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    app = parse_application(example("counter_offer"))
    down = app.down_payment_amount
    assert down is not None
    financed = app.vehicle.price - down
    payment = _annuity(financed, Decimal("0.0499"), app.wishes.term_months)
    assert app.wishes.budget_monthly_payment is not None and payment > app.wishes.budget_monthly_payment
    applicant, contract = to_affordability(app, amount_financed=financed, monthly_payment=payment)
    assert contract.down_payment == Decimal("20000.00") and contract.term_months == 24
    assert applicant.household_size == 1
    result = assess(applicant, contract, limits_for(cat[0].jurisdictions["CN"]))
    assert not result.passed
    assert "pti" in result.measures and not result.measures["pti"].passed


def test_affordability_approve_passes(cat: tuple[Catalogue, CatalogueExtras]) -> None:
    app = parse_application(example("approve"))
    down = app.down_payment_amount
    assert down == Decimal("53940.00")
    financed = app.vehicle.price - down
    payment = _annuity(financed, Decimal("0.0399"), app.wishes.term_months)
    applicant, contract = to_affordability(app, amount_financed=financed, monthly_payment=payment)
    assert applicant.household_size == 4 and contract.powertrain == "nev"
    assert assess(applicant, contract, limits_for(cat[0].jurisdictions["CN"])).passed


# -- the bureau block ------------------------------------------------------------------------------


def test_bureau_block_is_optional_and_parsed() -> None:
    assert parse_application(example("approve")).bureau is None
    data = edit(
        example("approve"),
        "bureau",
        {"inquiries_6m": 2, "delinquencies_24m": 0, "revolving_utilisation": "0.35"},
    )
    app = parse_application(data)
    assert app.bureau is not None
    assert app.bureau.inquiries_6m == 2 and app.bureau.delinquencies_24m == 0
    assert app.bureau.revolving_utilisation == Decimal("0.35")
    partial = parse_application(edit(example("approve"), "bureau", {"inquiries_6m": 1}))
    assert partial.bureau is not None and partial.bureau.revolving_utilisation is None
    assert to_segment_row(app) == to_segment_row(parse_application(example("approve")))


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("inquiries_6m", -1, "greater than or equal to 0"),
        ("delinquencies_24m", -2, "greater than or equal to 0"),
        ("revolving_utilisation", "5.01", "less than or equal to 5"),
        ("revolving_utilisation", "-0.1", "greater than or equal to 0"),
        ("revolving_utilisation", "NaN", "finite"),
        ("score", 700, "unknown key"),
    ],
)
def test_bureau_block_field_errors(key: str, value: Any, rule: str) -> None:
    err = refused(edit(example("approve"), "bureau", {key: value}))
    assert err.field == f"bureau.{key}"
    assert rule in err.rule
