"""Jurisdiction packs (catalog/jurisdictions/*.yaml): legal rate caps and LTV caps at quote time.

Cap numbers come from the packs' cited sources (Fla. Stat. § 520.08, Tex. Fin. Code § 348.104,
12 Pa.C.S. § 6243, SPC private-lending Provisions); the tests check that the rules apply them, not the
law itself.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from catalog_builders import (
    DEMO,
    START,
    D,
    cn_vehicle,
    fixed_product,
    lpr,
    spc_enforced,
    structure,
    us_vehicle,
    with_pack,
    with_products,
)

from autofin.catalog.jurisdictions import applicable_caps, state_code
from autofin.catalog.loader import CatalogueError, load_catalogue
from autofin.catalog.quote import ApplicantInfo, Quote, quote
from autofin.errors import ValidationError

# -- the demo packs --------------------------------------------------------------------------------


def test_demo_packs_load_with_disclosure_caps_and_ltv() -> None:
    cn, us = DEMO.jurisdictions["CN"], DEMO.jurisdictions["US"]
    assert cn.disclosure.method == "cn_irr" and "2021" in cn.disclosure.source
    assert us.disclosure.method == "us_regz"
    spc = next(c for c in cn.rate_caps if c.id == "spc-2020-4x-lpr")
    assert spc.benchmark == "LPR_1Y" and spc.multiple == 4 and not spc.applies_to_licensed_lenders
    assert cn.ltv_caps is not None and {c.max_ltv for c in cn.ltv_caps.caps} >= {D("0.7"), D("0.8")}
    assert us.state_caps is not None and {"TX", "FL", "PA"} <= set(us.state_caps.states)
    assert DEMO.sources["jurisdiction:CN"].startswith("jurisdictions/CN.yaml:")


def test_the_disputed_lpr_cap_does_not_bind_a_licensed_lender_by_default() -> None:
    caps = applicable_caps(DEMO, "CN", "loan", None, "new", 0, None, START)  # no market needed
    assert [c.label for c in caps] == ["CN 24 % protection line"]
    cat = with_pack(DEMO, "CN", licensed_lender=False)
    caps = applicable_caps(cat, "CN", "loan", None, "new", 0, lpr("0.03"), START)
    assert caps[1].basis == "4 × LPR 1Y 3.00 % = 12.00 %"


@pytest.mark.parametrize(("region", "code"), [("TX", "TX"), ("US-TX", "TX"), ("us-pa", "PA"), (None, None)])
def test_state_codes(region: str | None, code: str | None) -> None:
    assert state_code(region, "US") == code


# -- CN: fixed and benchmark-linked caps --------------------------------------------------------------


def test_a_rate_above_4x_lpr_is_refused_naming_the_basis() -> None:
    cat = with_products(spc_enforced(DEMO), fixed_product("cn-fixed-13", "CN", "0.13"))
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-fixed-13", cn_vehicle(), structure(36), market=lpr("0.03"))
    err = exc.value
    assert err.field == "structure" and err.value > D("0.13")
    assert (
        "4 × LPR 1Y 3.00 % = 12.00 %" in err.rule and "exceeds a legal cap: the CN 4 × 1-year LPR" in err.rule
    )
    assert "Art. 25" in err.rule
    # a higher LPR lifts the cap to 13.80 %: the same price passes
    q = quote(cat, "cn-fixed-13", cn_vehicle(), structure(36), market=lpr("0.0345"))
    assert q.headline_rate is not None and D("0.12") < q.headline_rate < D("0.138")


def test_a_benchmark_cap_without_its_benchmark_is_a_clear_error() -> None:
    cat = with_products(spc_enforced(DEMO), fixed_product("cn-fixed-5", "CN", "0.05"))
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-fixed-5", cn_vehicle(), structure(36))
    assert exc.value.field == "market.benchmarks.LPR_1Y"
    assert "4 × LPR_1Y" in exc.value.rule and "give the LPR_1Y path" in exc.value.rule
    with pytest.raises(ValidationError, match="no value on or before 2026-03-10"):
        quote(cat, "cn-fixed-5", cn_vehicle(), structure(36), market=lpr("0.03", date(2026, 4, 1)))


def test_the_fixed_protection_line_refuses_a_rate_above_24_percent() -> None:
    cat = with_products(DEMO, fixed_product("cn-fixed-25", "CN", "0.25"))
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-fixed-25", cn_vehicle(), structure(36))
    assert "CN 24 % protection line of 24.00 % (fixed 24.00 %" in exc.value.rule


# -- US: state caps by the applicant's state -------------------------------------------------------------


def test_texas_add_on_ceiling_refuses_a_subprime_new_car_rate() -> None:
    """Tex. Fin. Code § 348.104(b): $7.50 per $100 per year on a current-model-year new car."""
    applicant = ApplicantInfo(bureau_score=550, age=40, region="US-TX")
    with pytest.raises(ValidationError) as exc:
        quote(DEMO, "us-standard-auto-loan", us_vehicle(), structure(60), applicant)
    rule = exc.value.rule
    assert exc.value.field == "structure"
    assert "US-TX motor vehicle retail instalment cap" in rule and "add-on 7.5 per 100 per year" in rule
    assert "§ 348.104" in rule and "over 60 months" in rule
    # a prime applicant's finance charge stays under the ceiling; and elsewhere the subprime one passes
    quote(
        DEMO,
        "us-standard-auto-loan",
        us_vehicle(),
        structure(60),
        applicant.model_copy(update={"bureau_score": 760}),
    )
    quote(
        DEMO,
        "us-standard-auto-loan",
        us_vehicle(),
        structure(60),
        applicant.model_copy(update={"region": "NY"}),
    )


@pytest.mark.parametrize(
    ("vehicle", "refused", "cap"),
    [
        ({"condition": "new"}, True, "18.00 %"),
        ({"condition": "used", "age_years": 1}, True, "18.00 %"),
        ({"condition": "used", "age_years": 5}, False, "21.00 %"),
    ],
)
def test_pennsylvania_caps_by_vehicle_class(vehicle: dict[str, Any], refused: bool, cap: str) -> None:
    """12 Pa.C.S. § 6243 / 69 P.S. § 619: 18 % new and recent used, 21 % older used."""
    cat = with_products(DEMO, fixed_product("us-fixed-20", "US", "0.20"))
    applicant = ApplicantInfo(region="PA", age=40)

    def call() -> Quote:
        return quote(cat, "us-fixed-20", us_vehicle(**vehicle), structure(60), applicant)

    if refused:
        with pytest.raises(ValidationError) as exc:
            call()
        assert f"US-PA motor vehicle retail instalment cap of {cap} ({cap}; 12 Pa.C.S." in exc.value.rule
    else:
        assert call().customer_rate == D("0.20")


def test_an_unlisted_state_falls_back_to_the_illustrative_default() -> None:
    cat = with_products(DEMO, fixed_product("us-fixed-20", "US", "0.20"))
    caps = applicable_caps(cat, "US", "loan", "NY", "new", 0, None, START)
    assert [c.label for c in caps] == ["US default house ceiling for states not on file"]
    assert caps[0].rate == D("0.36") and "(illustrative)" in caps[0].basis
    assert quote(cat, "us-fixed-20", us_vehicle(), structure(60), ApplicantInfo(region="NY")).customer_rate
    assert applicable_caps(cat, "US", "lease", "TX", "new", 0, None, START) == []  # loans only


# -- LTV caps -------------------------------------------------------------------------------------


def test_a_binding_ltv_cap_refuses_and_a_lender_set_one_does_not() -> None:
    loose = fixed_product("cn-loose", "CN", "0.06", max_ltv="0.95", down_payment={"min": "0.05"})
    cat = with_products(DEMO, loose)
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-loose", cn_vehicle(use="commercial"), structure(36, down_payment_pct="0.1"))
    assert exc.value.field == "structure.down_payment_pct" and "CN LTV cap" in exc.value.rule
    assert "70.00 %" in exc.value.rule and "90.00 %" in exc.value.rule
    # self-use (passenger) caps are lender-set since April 2024: 90 % passes
    assert quote(cat, "cn-loose", cn_vehicle(), structure(36, down_payment_pct="0.1")).ltv == D("0.9")


# -- loading and checking packs ----------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(Path(__file__).resolve().parents[2] / "catalog", root)
    return root


def test_a_malformed_pack_is_reported_with_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pack = root / "jurisdictions" / "CN.yaml"
    pack.write_text(pack.read_text().replace("    multiple: 4\n", "    multiple: 4\n    rate: 0.2\n"))
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(root)
    assert exc.value.file == "jurisdictions/CN.yaml" and exc.value.line > 1
    assert "give either rate, or benchmark and multiple" in str(exc.value)


def test_a_pack_must_be_named_by_its_code(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "jurisdictions" / "CN.yaml").rename(root / "jurisdictions" / "XX.yaml")
    with pytest.raises(CatalogueError, match="must equal the file name"):
        load_catalogue(root)


def test_a_state_class_needs_exactly_one_ceiling(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pack = root / "jurisdictions" / "US.yaml"
    pack.write_text(pack.read_text().replace("{condition: [used], apr: 0.21}", "{condition: [used]}"))
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(root)
    assert exc.value.file == "jurisdictions/US.yaml" and "exactly one of apr, add_on_per_100" in str(
        exc.value
    )
