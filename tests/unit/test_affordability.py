"""Affordability: PTI, DTI, LTV, age at maturity, residual income; limits from the jurisdiction packs;
headroom; the polars variant agrees with the scalar one (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import autofin.data
from autofin.catalog.loader import load_catalogue
from autofin.catalog.models import JurisdictionPack
from autofin.decision.affordability import (
    AffordabilityApplicant,
    AffordabilityContract,
    AffordabilityLimits,
    LtvLimit,
    PaymentCaps,
    assess,
    assess_frame,
    limits_by_segment,
    limits_for,
    payment_caps,
)
from autofin.errors import ValidationError

CAT = load_catalogue()
CN: JurisdictionPack = CAT.jurisdictions["CN"]
US: JurisdictionPack = CAT.jurisdictions["US"]


def applicant(**kw: Any) -> AffordabilityApplicant:
    base: dict[str, Any] = {"monthly_income": D("10000"), "age": 35, "household_size": 1, "region": "tier3"}
    return AffordabilityApplicant(**{**base, **kw})


def contract(**kw: Any) -> AffordabilityContract:
    base: dict[str, Any] = {
        "amount_financed": D("80000"),
        "vehicle_price": D("100000"),
        "term_months": 36,
        "monthly_payment": D("2400"),
    }
    return AffordabilityContract(**{**base, **kw})


# -- limits from the packs -----------------------------------------------------------------------------


def test_cn_limits_match_the_synthetic_world_approval_policy() -> None:
    world = yaml.safe_load((Path(autofin.data.__file__).parent / "worlds" / "default.yaml").read_text())
    approval = world["credit"]["approval"]
    default, no_file = limits_for(CN), limits_for(CN, "no_file")
    assert default.max_pti == D(str(approval["max_pti"]))
    assert default.max_dti == D(str(approval["max_dti"]))
    assert no_file.max_pti == D(str(approval["no_file_max_pti"]))
    assert no_file.max_dti == default.max_dti  # only PTI is overridden
    assert limits_for(CN, "some-other-segment").max_pti == default.max_pti


def test_cn_ltv_caps_are_the_2018_caps() -> None:
    lim = limits_for(CN)
    assert lim.ltv_limit("passenger", "used", "ice")[0] == D("0.70")
    assert lim.ltv_limit("passenger", "new", "ice")[0] == D("0.80")
    assert lim.ltv_limit("passenger", "new", "nev")[0] == D("0.85")
    assert lim.ltv_limit("commercial", "new", "ice")[0] == D("0.70")
    assert lim.ltv_limit("commercial", "new", "nev")[0] == D("0.75")
    assert "house policy" in lim.ltv_limit("passenger", "new", "ice")[1]


def test_us_limits_have_no_age_limit_and_a_house_ltv() -> None:
    lim = limits_for(US)
    assert lim.max_age_at_maturity is None
    assert lim.ltv_limit("passenger", "used", "ice")[0] == D("1.25")
    assert limits_for(US, "thin_file").max_pti == D("0.18")
    assert lim.currency == "USD"


def test_missing_pack_or_block_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as e:
        limits_for(None)
    assert e.value.field == "jurisdiction"
    with pytest.raises(ValidationError) as e:
        limits_for(CN.model_copy(update={"affordability": None}))
    assert e.value.field == "jurisdictions.CN.affordability"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"max_pti": D("0")}, "limits.max_pti"),
        ({"max_dti": D("-0.1")}, "limits.max_dti"),
        ({"max_pti": D("0.1234567")}, "limits.max_pti"),
        ({"max_age_at_maturity": 10}, "limits.max_age_at_maturity"),
        ({"living_cost_per_member": {"tier1": D("-1")}, "living_cost_default": D(1)},
         "limits.living_cost_per_member.tier1"),
        ({"living_cost_per_member": {"tier1": D("1")}}, "limits.living_cost_default"),
        ({"currency": "XXX"}, "currency"),
    ],
)  # fmt: skip
def test_limits_are_validated(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        AffordabilityLimits(**kw)
    assert e.value.field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: applicant(monthly_income=D("-1")), "applicant.monthly_income"),
        (lambda: applicant(monthly_income=D("0")), "applicant.monthly_income"),
        (lambda: applicant(monthly_debt_payments=D("-5")), "applicant.monthly_debt_payments"),
        (lambda: applicant(age=17), "applicant.age"),
        (lambda: applicant(household_size=0), "applicant.household_size"),
        (lambda: applicant(no_file=True, thin_file=True), "applicant.thin_file"),
        (lambda: contract(vehicle_price=D("0")), "contract.vehicle_price"),
        (lambda: contract(amount_financed=D("0")), "contract.amount_financed"),
        (lambda: contract(monthly_payment=D("-1")), "contract.monthly_payment"),
        (lambda: contract(term_months=0), "contract.term_months"),
        (lambda: contract(condition="old"), "contract.condition"),
        (lambda: contract(balloon=D("80000")), "contract.balloon"),
    ],
)
def test_inputs_are_validated_naming_the_field(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as e:
        make()
    assert e.value.field == field


# -- the measures ---------------------------------------------------------------------------------------


def test_passing_application() -> None:
    r = assess(applicant(), contract(), limits_for(CN))
    assert r.passed and r.reasons == ()
    assert r.measures["pti"].value == D("0.24") and r.measures["pti"].limit == D("0.5")
    assert r.measures["ltv"].value == D("0.8") and r.measures["ltv"].passed  # 80 % self-use ICE: at the cap
    assert r.measures["age_at_maturity"].value == D(38)
    assert r.measures["residual_income"].value == D("10000") - D("2400") - D("1300")


def test_pti_failure_text_matches_the_issue_example() -> None:
    r = assess(applicant(), contract(monthly_payment=D("5400")), limits_for(CN))
    assert r.codes == ("PTI_HIGH",)
    (reason,) = r.reasons
    assert reason.en == "PTI_HIGH: the monthly payment is 54 % of income; at most 50 % is allowed"
    assert reason.zh_cn == "PTI_HIGH：月供占月收入的 54 %，上限为 50 %"
    assert reason.text("zh-CN") == reason.zh_cn


def test_no_file_applicant_gets_the_stricter_pti() -> None:
    a = applicant(no_file=True)
    c = contract(monthly_payment=D("4000"))
    assert assess(a, c, limits_for(CN)).passed
    r = assess(a, c, limits_for(CN, a.segment))
    assert r.codes == ("PTI_HIGH",) and r.segment == "no_file"
    assert "at most 35 %" in r.reasons[0].en


def test_a_value_just_above_the_limit_never_prints_as_equal() -> None:
    r = assess(applicant(), contract(monthly_payment=D("5000.01")), limits_for(CN))
    assert r.codes == ("PTI_HIGH",)
    assert "50.1 %" in r.reasons[0].en
    assert assess(applicant(), contract(monthly_payment=D("5000.00")), limits_for(CN)).passed


def test_dti_includes_existing_debt_payments() -> None:
    r = assess(applicant(monthly_debt_payments=D("5000")), contract(), limits_for(CN))
    assert r.measures["dti"].value == D("0.74")
    assert r.codes == ("DTI_HIGH",)
    assert "74 %" in r.reasons[0].en and "70 %" in r.reasons[0].zh_cn


def test_ltv_counts_financed_add_ons_and_uses_the_used_car_cap() -> None:
    # price 100,000, down 30,000, financed services and fees 2,000: amount financed 72,000 → 72 % > 70 %
    c = contract(amount_financed=D("72000"), condition="used", down_payment=D("30000"))
    r = assess(applicant(), c, limits_for(CN))
    assert r.codes == ("LTV_HIGH",)
    assert r.measures["ltv"].limit == D("0.7")
    assert r.reasons[0].en.startswith("LTV_HIGH: the amount financed (financed add-ons included) is 72 %")
    assert "二手燃油乘用车上限为 70 %" in r.reasons[0].zh_cn
    assert r.headroom.max_amount_financed == D("70000.00")
    assert r.headroom.min_down_payment == D("32000.00")


def test_age_at_maturity() -> None:
    lim = limits_for(CN)
    assert assess(applicant(age=60), contract(term_months=60), lim).passed  # 65 exactly
    r = assess(applicant(age=60), contract(term_months=61), lim)
    assert r.codes == ("AGE_AT_MATURITY_HIGH",)
    assert "65.1" in r.reasons[0].en and "上限为 65 岁" in r.reasons[0].zh_cn
    assert r.headroom.max_term_months == 60
    assert assess(applicant(age=66), contract(), lim).headroom.max_term_months == 0
    # US: no age limit (Regulation B)
    us = assess(
        applicant(age=90, region=None), contract(term_months=72, monthly_payment=D("1500")), limits_for(US)
    )
    assert us.measures["age_at_maturity"].passed and us.headroom.max_term_months is None


def test_residual_income_by_city_tier_and_household() -> None:
    lim = limits_for(CN)
    a = applicant(monthly_debt_payments=D("1000"), household_size=3, region="tier1")  # allowance 7,500
    r = assess(a, contract(monthly_payment=D("2000")), lim)
    assert r.measures["residual_income"].value == D("-500.00")
    assert r.codes == ("RESIDUAL_INCOME_LOW",)
    assert "7500.00 CNY" in r.reasons[0].en and "-500.00 CNY" in r.reasons[0].zh_cn
    assert r.headroom.max_payment == D("1500.00")
    # unknown region: default allowance 1,000 a member
    assert assess(applicant(region="nowhere", household_size=3), contract(), lim).measures[
        "residual_income"
    ].value == D("10000") - D("2400") - D("3000")


def test_headroom_payment_is_the_lowest_of_pti_dti_and_residual() -> None:
    lim = limits_for(CN)
    h = assess(applicant(monthly_income=D("9999.99")), contract(), lim).headroom
    assert h.max_payment == D("4999.99")  # PTI 0.5 × 9,999.99 = 4,999.995 rounded down
    h = assess(applicant(monthly_debt_payments=D("3000")), contract(), lim).headroom
    assert h.max_payment == D("4000.00")  # DTI: 7,000 − 3,000
    h = assess(applicant(household_size=4, region="tier1"), contract(), lim).headroom
    assert h.max_payment == D("0")  # allowance 10,000 leaves nothing
    r = assess(applicant(), contract(monthly_payment=D("5000")), lim)
    assert r.passed and r.headroom.max_payment == D("5000.00")
    over = assess(applicant(), contract(monthly_payment=D("5000.01")), lim)
    assert not over.passed


@settings(max_examples=200, deadline=None)
@given(
    income=st.integers(min_value=100, max_value=10_000_000),
    debts=st.integers(min_value=0, max_value=5_000_000),
    payment=st.integers(min_value=0, max_value=10_000_000),
    household=st.integers(min_value=1, max_value=8),
    region=st.sampled_from([None, "tier1", "tier2", "tier4", "CA"]),
    segment=st.sampled_from([None, "no_file", "thin_file"]),
    pack=st.sampled_from([CN, US]),
)
def test_payment_caps_decide_the_payment_measures_as_assess_does(
    income: int, debts: int, payment: int, household: int, region: str | None, segment: str | None,
    pack: JurisdictionPack,
) -> None:  # fmt: skip
    """The screen of the offer menu compares payments with these caps instead of assessing each one:
    the verdicts must be those of assess(), to the cent (amounts in cents)."""
    lim = limits_for(pack, segment)
    a = applicant(monthly_income=D(income) / 100, monthly_debt_payments=D(debts) / 100,
                  household_size=household, region=region)  # fmt: skip
    r = assess(a, contract(monthly_payment=D(payment) / 100), lim)
    caps = payment_caps(a, lim)
    pay = D(payment) / 100
    for name, cap in (("pti", caps.pti), ("dti", caps.dti), ("residual_income", caps.residual_income)):
        assert r.measures[name].passed == (cap is None or pay <= cap), name  # type: ignore[index]
    present = [c for c in (caps.pti, caps.dti, caps.residual_income) if c is not None]
    assert r.headroom.max_payment == (max(min(present), D(0)) if present else None)


def test_payment_caps_without_limits() -> None:
    assert payment_caps(applicant(), AffordabilityLimits()) == PaymentCaps(None, None, None)


def test_no_limits_pass_and_have_no_headroom() -> None:
    r = assess(applicant(), contract(monthly_payment=D("9000")), AffordabilityLimits())
    assert r.passed
    assert r.headroom.max_payment is None and r.headroom.max_amount_financed is None
    assert r.headroom.min_down_payment is None and r.headroom.max_term_months is None


def test_amounts_are_rounded_to_the_minor_unit() -> None:
    r = assess(
        applicant(monthly_income=D("10000.004")), contract(monthly_payment=D("5000.004")), limits_for(CN)
    )
    assert r.passed  # 5,000.00 / 10,000.00


# -- the polars variant ---------------------------------------------------------------------------------


def test_frame_validation_names_the_column() -> None:
    df = pl.DataFrame(
        {"monthly_income": [1000.0, -1.0], "age": [30, 30], "amount_financed": [1.0, 1.0],
         "vehicle_price": [2.0, 2.0], "term_months": [12, 12], "monthly_payment": [1.0, 1.0]}
    )  # fmt: skip
    with pytest.raises(ValidationError) as e:
        assess_frame(df, limits_for(CN))
    assert e.value.field == "frame.monthly_income" and e.value.value == -1.0
    with pytest.raises(ValidationError) as e:
        assess_frame(df.drop("age"), limits_for(CN))
    assert e.value.field == "frame.age"
    with pytest.raises(ValidationError) as e:
        assess_frame(df, {"no_file": limits_for(CN, "no_file")})
    assert e.value.field == "limits"


CITY = st.sampled_from([None, "tier1", "tier2", "tier3", "tier4", "elsewhere"])
CENTS = st.integers(min_value=0, max_value=5_000_000)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    price = draw(st.integers(min_value=100_000, max_value=50_000_000))
    no_file = draw(st.booleans())
    return {
        "monthly_income": draw(st.integers(min_value=1, max_value=10_000_000)),
        "monthly_debt_payments": draw(CENTS),
        "age": draw(st.integers(min_value=18, max_value=80)),
        "household_size": draw(st.integers(min_value=1, max_value=6)),
        "region": draw(CITY),
        "no_file": no_file,
        "thin_file": (not no_file) and draw(st.booleans()),
        "amount_financed": draw(st.integers(min_value=1, max_value=price * 13 // 10)),
        "vehicle_price": price,
        "down_payment": draw(st.integers(min_value=0, max_value=price)),
        "term_months": draw(st.integers(min_value=6, max_value=96)),
        "monthly_payment": draw(CENTS),
        "use": draw(st.sampled_from(["passenger", "commercial"])),
        "condition": draw(st.sampled_from(["new", "used"])),
        "powertrain": draw(st.sampled_from(["ice", "hybrid", "nev"])),
    }


MONEY = ("monthly_income", "monthly_debt_payments", "amount_financed", "vehicle_price", "down_payment", "monthly_payment")  # fmt: skip


def _as_float(x: D | None) -> float | None:
    return None if x is None else float(x)


@pytest.mark.parametrize("pack", [CN, US], ids=["CN", "US"])
@settings(max_examples=60, deadline=None)
@given(data=st.lists(rows(), min_size=1, max_size=25))
def test_frame_agrees_with_scalar(pack: JurisdictionPack, data: list[dict[str, Any]]) -> None:
    # Boundary cases on purpose: some payments exactly at the PTI limit.
    by_seg = limits_by_segment(pack)
    for i, row in enumerate(data):
        if i % 3 == 0:
            lim = by_seg.get(
                "no_file" if row["no_file"] else "thin_file" if row["thin_file"] else None, by_seg[None]
            )
            assert lim.max_pti is not None
            row["monthly_payment"] = int(lim.max_pti * row["monthly_income"]) + (i % 2)
    frame = pl.DataFrame([{k: (v / 100 if k in MONEY else v) for k, v in r.items()} for r in data])
    out = assess_frame(frame, by_seg)
    for row, got in zip(data, out.iter_rows(named=True), strict=True):
        a = AffordabilityApplicant(
            monthly_income=D(row["monthly_income"]) / 100,
            monthly_debt_payments=D(row["monthly_debt_payments"]) / 100,
            age=row["age"], household_size=row["household_size"], region=row["region"],
            no_file=row["no_file"], thin_file=row["thin_file"],
        )  # fmt: skip
        c = AffordabilityContract(
            amount_financed=D(row["amount_financed"]) / 100, vehicle_price=D(row["vehicle_price"]) / 100,
            down_payment=D(row["down_payment"]) / 100, term_months=row["term_months"],
            monthly_payment=D(row["monthly_payment"]) / 100,
            use=row["use"], condition=row["condition"], powertrain=row["powertrain"],
        )  # fmt: skip
        r = assess(a, c, limits_for(pack, a.segment))
        for name, m in r.measures.items():
            assert got[f"{name}_ok"] == m.passed, name
            if name != "residual_income":
                assert got[name] == pytest.approx(float(m.value), abs=1e-6), name
        assert got["residual_income"] == r.measures["residual_income"].value
        assert got["passed"] == r.passed
        assert got["reason_codes"] == list(r.codes)
        h = r.headroom
        assert got["max_payment"] == h.max_payment
        assert got["max_amount_financed"] == h.max_amount_financed
        assert got["min_down_payment"] == h.min_down_payment
        assert got["max_term_months"] == h.max_term_months
        assert got["max_ltv"] == _as_float(r.measures["ltv"].limit)


def test_frame_with_one_limits_and_defaults() -> None:
    lim = AffordabilityLimits(
        currency="JPY", max_pti=D("0.3"), ltv_caps=(LtvLimit("passenger", None, None, D("0.9"), "test"),)
    )
    df = pl.DataFrame(
        {"monthly_income": [300_000, 300_000], "age": [40, 40], "amount_financed": [1_800_000, 1_900_000],
         "vehicle_price": [2_000_000, 2_000_000], "term_months": [60, 60], "monthly_payment": [90_000, 90_001]}
    )  # fmt: skip
    out = assess_frame(df, lim)
    assert out["passed"].to_list() == [True, False]
    assert out["reason_codes"].to_list() == [[], ["PTI_HIGH", "LTV_HIGH"]]
    assert out["max_payment"].to_list() == [D(90_000), D(90_000)]
    assert out["min_down_payment"].to_list() == [D(0), D(100_000)]
    assert out["max_term_months"].to_list() == [None, None]
