"""Dealer markup over the buy rate (caps by term, participation) and the contract-time re-check."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
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
from pydantic import ValidationError as PydanticValidationError

from autofin.catalog.contracts import verify_at_contract
from autofin.catalog.models import Catalogue, DealerMarkupPolicy, Product, RateTable
from autofin.catalog.pricing import sheet_rate
from autofin.catalog.quote import (
    ApplicantInfo,
    Quote,
    quote,
)
from autofin.errors import ValidationError

PID = "us-standard-auto-loan"
APPLICANT = ApplicantInfo(bureau_score=700, age=40)


def q(markup: str = "0", term: int = 60, cat: Catalogue = DEMO, **applicant: Any) -> Quote:
    a = APPLICANT.model_copy(update=applicant)
    return quote(cat, PID, us_vehicle(), structure(term, dealer_markup=D(markup)), a)


def test_markup_is_added_to_the_buy_rate_and_the_dealer_reserve_recorded() -> None:
    plain, marked = q(), q("0.01")
    buy = sheet_rate(DEMO, DEMO.products[PID], 700, "new", 60, plain.ltv, START)
    assert plain.buy_rate == marked.buy_rate == buy == D("0.0640")  # 660-719, 49-60 months
    assert marked.dealer_markup == D("0.01") and marked.contract_rate == D("0.0740")
    assert marked.dealer_participation == D("0.75") and marked.subvention == 0
    extra = marked.contract.total_of_payments - plain.contract.total_of_payments  # type: ignore[union-attr]
    assert marked.dealer_reserve == (D("0.75") * extra).quantize(D("0.01"))
    assert marked.headline_rate is not None and marked.headline_rate > plain.headline_rate  # type: ignore[operator]
    assert plain.dealer_markup == 0 and plain.dealer_reserve == 0 and plain.dealer_participation == 0


@pytest.mark.parametrize(
    ("markup", "term", "ok", "words"),
    [
        ("0.0125", 60, True, ""),
        ("0.0126", 60, False, "exceeds the cap of 125 bp for a 60-month term"),
        ("0.0100", 72, True, ""),
        ("0.0101", 72, False, "exceeds the cap of 100 bp for a 72-month term"),
    ],
)
def test_markup_caps_by_term_honda_2015(markup: str, term: int, ok: bool, words: str) -> None:
    """125 bp up to 60 months, 100 bp beyond (2015 Honda consent order, REFERENCES.md)."""
    if ok:
        assert q(markup, term).contract_rate == q("0", term).buy_rate + D(markup)
        return
    with pytest.raises(ValidationError) as exc:
        q(markup, term)
    assert exc.value.field == "structure.dealer_markup" and words in exc.value.rule
    assert "Honda" in exc.value.rule


def test_negative_markup_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be negative") as exc:
        q("-0.001")
    assert exc.value.field == "structure.dealer_markup"


def test_markup_on_a_direct_channel_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"only on channels dealer \(this sale is online\)"):
        q("0.005", channel="online")
    assert q("0", channel="online").dealer_markup == 0


def test_markup_where_no_policy_allows_it_is_refused() -> None:
    cat = with_products(DEMO, fixed_product("cn-fixed-5", "CN", "0.05"))
    with pytest.raises(ValidationError, match="product cn-fixed-5 allows no dealer markup"):
        quote(cat, "cn-fixed-5", cn_vehicle(), structure(36, dealer_markup=D("0.005")))
    closed = DEMO.products[PID].model_copy(update={"dealer_markup": DealerMarkupPolicy(allowed=False)})
    with pytest.raises(ValidationError, match="allows no dealer markup"):
        q("0.005", cat=with_products(DEMO, closed))


def test_a_product_policy_overrides_the_catalogue_default() -> None:
    own = DealerMarkupPolicy.model_validate(
        {"caps": [{"max_markup": "0.02"}], "participation": "0.5", "channels": ["dealer", "branch"]}
    )
    cat = with_products(DEMO, DEMO.products[PID].model_copy(update={"dealer_markup": own}))
    got = q("0.02", 72, cat=cat, channel="branch")
    assert got.dealer_markup == D("0.02") and got.dealer_participation == D("0.5")


def test_markup_on_a_promotional_or_floating_rate_is_refused() -> None:
    floating = Product.model_validate(
        {
            **fixed_product("us-float", "US", "0.06").model_dump(by_alias=True),
            "floating": {"benchmark": "SOFR"},
        }
    )
    cat = with_products(DEMO, floating)
    with pytest.raises(ValidationError, match="floating-rate product"):
        quote(cat, "us-float", us_vehicle(), structure(60, dealer_markup=D("0.005")), APPLICANT)


@pytest.mark.parametrize(
    "policy",
    [
        {"caps": [{"max_term": 72, "max_markup": "0.01"}, {"max_term": 60, "max_markup": "0.0125"}]},
        {"caps": [{"max_markup": "0.01"}, {"max_term": 60, "max_markup": "0.0125"}]},
        {"caps": []},
        {"caps": [{"max_markup": "0.2"}]},
    ],
)
def test_policy_validation(policy: dict[str, Any]) -> None:
    with pytest.raises(PydanticValidationError):
        DealerMarkupPolicy.model_validate(policy)


def test_no_cap_for_the_term_is_refused() -> None:
    short = DealerMarkupPolicy.model_validate({"caps": [{"max_term": 48, "max_markup": "0.01"}]})
    cat = with_products(DEMO, DEMO.products[PID].model_copy(update={"dealer_markup": short}))
    with pytest.raises(ValidationError, match="no cap for a 60-month term"):
        q("0.005", cat=cat)


# -- at contract time ------------------------------------------------------------------------------


def _sheet_moved(cat: Catalogue, by: str) -> Catalogue:
    t = cat.rate_tables["us-auto-tier"]
    rows = [r.model_copy(update={"rate": r.rate + D(by)}) for r in t.rows]
    moved = RateTable.model_validate({**t.model_dump(by_alias=True), "version": 2, "rows": rows})
    return cat.model_copy(update={"rate_tables": {**cat.rate_tables, t.id: moved}, "version": "later"})


def test_a_valid_quote_passes_at_contract_time() -> None:
    quoted = q("0.01")
    check = verify_at_contract(quoted, DEMO, None, START + timedelta(days=5))
    assert check.rate_locked and check.sheet_rate is None and check.catalogue_version == DEMO.version
    assert check.rates == dict(quoted.rates) and [c.rate for c in check.caps] == [D("0.36")]
    late = verify_at_contract(quoted, DEMO, None, START + timedelta(days=45))  # past the lock, same sheet
    assert not late.rate_locked and late.sheet_rate == quoted.buy_rate


def test_a_tighter_markup_cap_at_contract_time_is_refused() -> None:
    quoted = q("0.0125")
    tighter = DealerMarkupPolicy.model_validate(
        {"caps": [{"max_term": 60, "max_markup": "0.01"}, {"max_markup": "0.0075"}], "participation": "0.7"}
    )
    cat = DEMO.model_copy(update={"dealer_markup": {"US": tighter}})
    with pytest.raises(ValidationError) as exc:
        verify_at_contract(quoted, cat, None, START + timedelta(days=3))
    assert (
        exc.value.field == "structure.dealer_markup" and "cap of 100 bp for a 60-month term" in exc.value.rule
    )


def test_a_changed_rate_sheet_is_honoured_within_the_lock_and_refused_after() -> None:
    quoted = q("0.01")
    moved = _sheet_moved(DEMO, "0.005")
    assert verify_at_contract(quoted, moved, None, START + timedelta(days=DEMO.rate_lock_days)).rate_locked
    with pytest.raises(ValidationError) as exc:
        verify_at_contract(quoted, moved, None, START + timedelta(days=DEMO.rate_lock_days + 1))
    assert exc.value.field == "buy_rate" and "6.90 %" in exc.value.rule and "6.40 %" in exc.value.rule
    assert "rate lock ended on 2026-04-09" in exc.value.rule


def test_a_new_state_cap_at_contract_time_is_refused() -> None:
    quoted = q("0", region="NY", bureau_score=560)  # 14.08 %: fine under the default 36 %
    states = DEMO.jurisdictions["US"].state_caps
    assert states is not None
    ny = {"name": "test cap", "source": "test", "classes": [{"apr": "0.12"}]}
    data = states.model_dump(by_alias=True)
    data["states"]["NY"] = ny
    cat = with_pack(DEMO, "US", state_caps=data)
    with pytest.raises(ValidationError) as exc:
        verify_at_contract(quoted, cat, None, START + timedelta(days=2))
    assert exc.value.field == "structure" and "US-NY test cap of 12.00 %" in exc.value.rule


def test_a_benchmark_cap_is_valued_on_the_contract_date() -> None:
    cat = with_products(spc_enforced(DEMO), fixed_product("cn-fixed-13", "CN", "0.13"))
    quoted = quote(cat, "cn-fixed-13", cn_vehicle(), structure(36), market=lpr("0.0345"))
    later = date(2026, 3, 25)
    lower = lpr("0.0345").model_copy(
        update={
            "benchmarks": {
                "LPR_1Y": [
                    *lpr("0.0345").benchmarks["LPR_1Y"],
                    *lpr("0.03", date(2026, 3, 20)).benchmarks["LPR_1Y"],
                ]
            }
        }
    )
    with pytest.raises(ValidationError, match=r"4 × LPR 1Y 3\.00 % = 12\.00 %"):
        verify_at_contract(quoted, cat, lower, later)
    assert verify_at_contract(quoted, cat, lpr("0.0345"), later).caps[-1].rate == D("0.138")
    with pytest.raises(ValidationError, match=r"market\.benchmarks\.LPR_1Y"):
        verify_at_contract(quoted, cat, None, later)


def test_contract_time_refusals_for_a_missing_product_basis_or_date() -> None:
    quoted = q()
    gone = DEMO.model_copy(update={"products": {k: v for k, v in DEMO.products.items() if k != PID}})
    with pytest.raises(ValidationError, match="has no such product"):
        verify_at_contract(quoted, gone, None, START)
    with pytest.raises(ValidationError, match="no pricing basis"):
        verify_at_contract(dataclasses.replace(quoted, basis=None), DEMO, None, START)
    with pytest.raises(ValidationError, match="before the quote date"):
        verify_at_contract(quoted, DEMO, None, START - timedelta(days=1))
