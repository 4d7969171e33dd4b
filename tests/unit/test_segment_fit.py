"""The segment × product fit matrix (autofin.segments.fit) on tiny hand-made applicants.

Known answers: a product's standard structure (longest term, minimum down payment within max_ltv) is
quoted by the catalogue's own engine, so the expected PTI is ``quote(...)``'s highest instalment over
the income; eligibility refusals carry the catalogue's rule text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from autofin.catalog.loader import default_catalogue_dir, load_catalogue
from autofin.catalog.models import Catalogue
from autofin.catalog.quote import quote
from autofin.catalog.quote_types import ApplicantInfo, StructureRequest, VehicleInfo
from autofin.errors import ValidationError
from autofin.finance.schedule import RowKind
from autofin.segments.fit import AffordabilityLimits, fit_matrix

AS_OF = date(2026, 9, 1)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(default_catalogue_dir())


def _row(i: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "applicant_id": i,
        "customer_type": "individual",
        "channel": "dealer",
        "region": "tier2",
        "age": 40,
        "monthly_income": 20_000.0,
        "monthly_debt_payments": 0.0,
        "bureau_score": 700,
        "no_file": False,
        "condition": "used",
        "vehicle_class": "economy",
        "powertrain": "ice",
        "use": "passenger",
        "brand": "Geely",
        "msrp": 100_000.0,
        "price": 60_000.0,
        "age_years": 5,
    }
    row.update(over)
    return row


def _frames(rows: list[dict[str, Any]], segs: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    apps = pl.DataFrame(rows, schema_overrides={"bureau_score": pl.Int64})
    return apps, pl.DataFrame({"applicant_id": [r["applicant_id"] for r in rows], "segment": segs})


USED = ["cn-used-car-loan"]


def test_used_car_pti_is_the_engines_payment_over_income(catalogue: Catalogue) -> None:
    apps, segs = _frames([_row(1)], ["a"])
    fm = fit_matrix(apps, segs, catalogue, AS_OF, products=USED)
    # Standard structure: 36 months, 30 % down (= 1 − max_ltv 0.70), no balloon.
    q = quote(
        catalogue,
        "cn-used-car-loan",
        VehicleInfo(
            brand="Geely", model="x", condition="used", vehicle_class="economy", powertrain="ice",
            use="passenger", msrp=Decimal(100_000), price=Decimal(60_000), age_years=5,
        ),
        StructureRequest(term=36, down_payment=Decimal(18_000), start_date=AS_OF),
        ApplicantInfo(bureau_score=700, age=40, segments=["a"], region="tier2"),
    )  # fmt: skip
    cell = fm.cells.row(0, named=True)
    assert cell["servable_share"] == 1.0 and cell["eligible_share"] == 1.0
    # PTI is on the highest regular instalment: here the last, which absorbs the rounding.
    rows = [r.instalment for r in q.contract.rows if r.kind is RowKind.AMORTISING]  # type: ignore[union-attr]
    assert cell["median_pti"] == float(max(rows)) / 20_000
    assert abs(max(rows) - q.monthly_payment) < Decimal("0.10")
    assert fm.coverage["coverage"].to_list() == [1.0]
    assert fm.gaps == ()


def test_old_car_is_refused_with_the_catalogue_rule_and_makes_a_gap(catalogue: Catalogue) -> None:
    rows = [_row(1), _row(2, age_years=12), _row(3, age_years=10)]
    apps, segs = _frames(rows, ["old", "old", "old"])
    fm = fit_matrix(apps, segs, catalogue, AS_OF, products=USED, labels={"old": {"en": "Old", "zh-CN": "老"}})
    cov = fm.coverage.row(0, named=True)
    assert cov["coverage"] == pytest.approx(1 / 3)
    assert cov["top_reason"] == "product cn-used-car-loan is for vehicles at most 8 years old"
    assert cov["top_reason_share"] == 1.0
    (gap,) = fm.gaps
    assert gap.segment == "old" and gap.unserved_share == pytest.approx(2 / 3)
    assert "at most 8 years old (100 % of them)" in gap.text_en and gap.text_en.startswith("Old (old)")
    assert "车龄超过产品上限（cn-used-car-loan）" in gap.text_zh


def test_affordability_limits_pti_dti_and_no_file(catalogue: Catalogue) -> None:
    base = fit_matrix(*_frames([_row(1)], ["a"]), catalogue, AS_OF, products=USED)
    pti = base.cells["median_pti"][0]
    payment = pti * 20_000
    rows = [
        _row(1, monthly_income=payment / 0.49),  # PTI 0.49: affordable
        _row(2, monthly_income=payment / 0.51),  # PTI 0.51: above 0.50
        _row(3, monthly_income=payment / 0.30, monthly_debt_payments=0.45 * payment / 0.30),  # DTI 0.75
        _row(4, monthly_income=payment / 0.40, bureau_score=None, no_file=True),  # no file: PTI 0.40 > 0.35
    ]
    fm = fit_matrix(*_frames(rows, ["s1", "s2", "s3", "s4"]), catalogue, AS_OF, products=USED)
    served = dict(fm.cells.select("segment", "servable_share").iter_rows())
    assert served == {"s1": 1.0, "s2": 0.0, "s3": 0.0, "s4": 0.0}
    reasons = dict(fm.coverage.select("segment", "top_reason").iter_rows())
    assert reasons["s2"].startswith("affordability.pti")
    assert reasons["s3"].startswith("affordability.dti")
    assert reasons["s4"].startswith("affordability.pti: the standard structure's payment is above 35%")
    loose = fit_matrix(
        *_frames(rows, ["s1", "s2", "s3", "s4"]), catalogue, AS_OF, products=USED,
        limits=AffordabilityLimits(max_pti=0.6, max_dti=0.8, no_file_max_pti=None),
    )  # fmt: skip
    assert loose.cells["servable_share"].to_list() == [1.0, 1.0, 1.0, 1.0]


def test_nearest_miss_and_best_product(catalogue: Catalogue) -> None:
    # A new car: the used-car loan refuses it on condition, the standard new-car loan serves it.
    rows = [_row(1, condition="new", age_years=0, price=90_000.0)]
    fm = fit_matrix(
        *_frames(rows, ["n"]), catalogue, AS_OF, products=["cn-used-car-loan", "cn-standard-equal-instalment"]
    )
    cells = {r["product"]: r for r in fm.cells.to_dicts()}
    assert cells["cn-used-car-loan"]["top_reason"] == "product cn-used-car-loan is for condition used"
    assert cells["cn-standard-equal-instalment"]["servable_share"] == 1.0
    assert fm.coverage["best_product"][0] == "cn-standard-equal-instalment"


def test_batch_path_equals_the_quote_engine(catalogue: Catalogue) -> None:
    rows = [
        _row(1, condition="new", age_years=0, price=150_000.0, msrp=165_000.0, powertrain="nev", age=27),
        _row(2, condition="new", age_years=0, price=300_000.0, msrp=330_000.0, vehicle_class="mid", age=45,
             bureau_score=780),
        _row(3, condition="new", age_years=0, price=9_000.0, msrp=10_000.0, use="commercial",
             customer_type="small_business"),
        _row(4),
        _row(5, bureau_score=None, no_file=True, condition="new", age_years=0, price=80_000.0, age=24),
    ]  # fmt: skip
    frames = _frames(rows, ["a", "b", "c", "d", "e"])
    fast = fit_matrix(*frames, catalogue, AS_OF, engine="batch")
    exact = fit_matrix(*frames, catalogue, AS_OF, engine="quote")
    assert fast.cells.equals(exact.cells)
    assert fast.coverage.equals(exact.coverage)
    # The cheap commercial van: flat fees push the all-in rate over the 24 % cap, as quote() decides.
    van = fast.cells.filter(pl.col("segment") == "c", pl.col("product") == "cn-commercial-vehicle")
    assert van["eligible_share"][0] == 0.0 and "legal cap" in van["top_reason"][0]


def test_products_default_to_the_jurisdiction_and_effective_date(catalogue: Catalogue) -> None:
    fm = fit_matrix(*_frames([_row(1)], ["a"]), catalogue, AS_OF)
    assert fm.products and all(p.startswith("cn-") for p in fm.products)
    us = fit_matrix(*_frames([_row(1)], ["a"]), catalogue, AS_OF, jurisdiction="US", currency_code="USD")
    assert all(p.startswith("us-") for p in us.products)


def test_sampling_is_seeded_and_bounded(catalogue: Catalogue) -> None:
    rows = [_row(i, price=40_000.0 + 1_000 * i) for i in range(30)]
    frames = _frames(rows, ["a"] * 30)
    one = fit_matrix(*frames, catalogue, AS_OF, products=USED, sample_per_segment=10, seed=3)
    two = fit_matrix(*frames, catalogue, AS_OF, products=USED, sample_per_segment=10, seed=3)
    assert one.cells.equals(two.cells) and one.coverage["n"][0] == 10 and one.coverage["members"][0] == 30
    assert one.coverage["coverage_se"][0] == 0.0  # every sampled member is served


def test_to_dict_is_json_able(catalogue: Catalogue) -> None:
    import json

    fm = fit_matrix(*_frames([_row(1), _row(2, age_years=12)], ["a", "b"]), catalogue, AS_OF, products=USED)
    d = json.loads(json.dumps(fm.to_dict()))
    assert d["as_of"] == "2026-09-01" and d["gaps"][0]["segment"] == "b"
    assert set(d["gaps"][0]["text"]) == {"en", "zh-CN"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"products": ["cn-nope"]}, "products[0]"),
        ({"products": []}, "products"),
        ({"sample_per_segment": 0}, "sample_per_segment"),
        ({"gap_threshold": 0}, "gap_threshold"),
        ({"jurisdiction": "EU", "currency_code": "EUR"}, "jurisdiction"),
        ({"limits": None, "engine": "fast"}, "engine"),
    ],
)
def test_bad_parameters_name_the_field(catalogue: Catalogue, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        fit_matrix(*_frames([_row(1)], ["a"]), catalogue, AS_OF, **kwargs)
    assert err.value.field == field


def test_bad_frames_name_the_field(catalogue: Catalogue) -> None:
    apps, segs = _frames([_row(1)], ["a"])
    with pytest.raises(ValidationError, match="price") as err:
        fit_matrix(apps.drop("price"), segs, catalogue, AS_OF)
    assert err.value.field == "applicants.price"
    with pytest.raises(ValidationError) as err:
        fit_matrix(apps, segs.rename({"segment": "cluster"}), catalogue, AS_OF)
    assert err.value.field == "segments.segment"
    with pytest.raises(ValidationError) as err:  # a segment with no member in the applicant frame
        fit_matrix(apps, pl.DataFrame({"applicant_id": [99], "segment": ["ghost"]}), catalogue, AS_OF)
    assert err.value.field == "segments.segment" and err.value.value == "ghost"
    with pytest.raises(ValidationError) as err:
        fit_matrix(apps, segs.clear(), catalogue, AS_OF)
    assert err.value.field == "segments"
    with pytest.raises(ValidationError) as err:
        fit_matrix(apps.with_columns(gender=pl.lit("female")), segs, catalogue, AS_OF)
    assert err.value.field == "applicants"
    with pytest.raises(ValidationError) as err:
        AffordabilityLimits(max_pti=0)
    assert err.value.field == "limits.max_pti"


def test_batch_path_applies_the_jurisdiction_packs_caps_as_quote_does(catalogue: Catalogue) -> None:
    """A pack whose passenger-car LTV cap binds at 60 % and whose licensed-lender rate cap is 5 %
    (both tighter than any demo product): the batch screen must refuse exactly what quote() refuses."""
    pack = catalogue.jurisdictions["CN"]
    ltv = pack.ltv_caps
    assert ltv is not None
    tight_ltv = ltv.model_copy(
        update={
            "caps": [c.model_copy(update={"max_ltv": Decimal("0.60"), "binding": True}) for c in ltv.caps]
        }
    )
    tight_rate = [
        c.model_copy(update={"rate": Decimal("0.05")}) if c.rate is not None else c for c in pack.rate_caps
    ]
    tight = catalogue.model_copy(
        update={
            "jurisdictions": {
                **catalogue.jurisdictions,
                "CN": pack.model_copy(update={"ltv_caps": tight_ltv, "rate_caps": tight_rate}),
            }
        }
    )
    rows = [
        _row(1, condition="new", age_years=0, price=150_000.0, msrp=165_000.0, powertrain="nev", age=27),
        _row(2, condition="new", age_years=0, price=300_000.0, msrp=330_000.0, vehicle_class="mid", age=45,
             bureau_score=780),
        _row(4),
    ]  # fmt: skip
    frames = _frames(rows, ["a", "b", "d"])
    fast = fit_matrix(*frames, tight, AS_OF, engine="batch")
    exact = fit_matrix(*frames, tight, AS_OF, engine="quote")
    assert fast.cells.equals(exact.cells)
    assert fast.coverage.equals(exact.coverage)
    before = fit_matrix(*frames, catalogue, AS_OF, engine="batch")
    assert fast.coverage["coverage"].sum() < before.coverage["coverage"].sum()  # the caps really bind
