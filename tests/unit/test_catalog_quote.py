"""Quoting catalogue products through the contract engine (autofin.catalog.quote)."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from autofin.catalog.models import Catalogue, Product, Promotion, RateTable, Service
from autofin.catalog.quote import (
    SAMPLE_MARKET,
    ApplicantInfo,
    BudgetLedger,
    Market,
    Ownership,
    StructureRequest,
    VehicleInfo,
    compare,
    quote,
    quote_json,
    sample_inputs,
)
from autofin.cli.quote import run_request
from autofin.errors import ValidationError
from autofin.finance import lease as lease_math
from autofin.finance.apr import AprMethod
from autofin.finance.disclosure import disclose_loan
from autofin.finance.promotions import subvention
from autofin.finance.schedule import Schedule, build_schedule
from autofin.finance.terms import Balloon, Fee, LoanTerms

D = Decimal
L10N = {"en": "x", "zh-CN": "x"}
START = date(2026, 3, 10)


def product(**over: Any) -> Product:
    data: dict[str, Any] = {
        "id": "cn-green-nev",
        "version": 1,
        "name": L10N,
        "description": L10N,
        "jurisdiction": "CN",
        "currency": "CNY",
        "effective": {"from": "2026-01-01"},
        "terms": [12, 24, 36, 48, 60],
        "down_payment": {"min": "0.15", "max": "0.8"},
        "max_ltv": "0.85",
        "rate": {"fixed": "0.0399"},
    }
    data.update(over)
    return Product.model_validate(data)


def service(sid: str, **over: Any) -> Service:
    data: dict[str, Any] = {
        "id": sid,
        "version": 1,
        "kind": "maintenance",
        "name": L10N,
        "description": L10N,
        "currency": "CNY",
        "effective": {"from": "2026-01-01"},
        "price": {"flat": "3000"},
        "commission_pct": "0.1",
    }
    data.update(over)
    return Service.model_validate(data)


def promotion(pid: str, effect: dict[str, Any], **over: Any) -> Promotion:
    data: dict[str, Any] = {
        "id": pid,
        "version": 1,
        "name": L10N,
        "description": L10N,
        "currency": "CNY",
        "valid": {"from": "2026-01-01", "to": "2026-12-31"},
        "effect": effect,
    }
    data.update(over)
    return Promotion.model_validate(data)


TABLE = RateTable.model_validate(
    {
        "id": "cn-tiers",
        "version": 1,
        "currency": "CNY",
        "effective": {"from": "2026-01-01"},
        "no_score": 640,
        "rows": [
            {"score": {"min": 750}, "term": {"max": 36}, "condition": ["new"], "rate": "0.0299"},
            {"score": {"min": 750}, "term": {"min": 37}, "condition": ["new"], "rate": "0.0349"},
            {"score": {"min": 650, "max": 749}, "term": {}, "ltv": {"max": "0.7"}, "rate": "0.0449"},
            {"score": {"min": 650, "max": 749}, "term": {}, "rate": "0.0499"},
            {"score": {"min": 600, "max": 649}, "term": {}, "rate": "0.0699"},
        ],
    }
)


def catalogue(
    *products: Product, services: list[Service] = (), promotions: list[Promotion] = ()
) -> Catalogue:  # type: ignore[assignment]
    return Catalogue(
        version="test-1",
        products={p.id: p for p in products},
        rate_tables={TABLE.id: TABLE},
        services={s.id: s for s in services},
        promotions={p.id: p for p in promotions},
    )


def vehicle(**over: Any) -> VehicleInfo:
    data: dict[str, Any] = {
        "brand": "BYD",
        "model": "Seal",
        "condition": "new",
        "vehicle_class": "mid",
        "powertrain": "nev",
        "use": "passenger",
        "msrp": "210000",
        "price": "200000",
    }
    data.update(over)
    return VehicleInfo.model_validate(data)


def structure(**over: Any) -> StructureRequest:
    data: dict[str, Any] = {"term": 36, "down_payment_pct": "0.2", "start_date": START}
    if "down_payment" in over:
        del data["down_payment_pct"]
    data.update(over)
    return StructureRequest.model_validate(data)


def loan_terms(**over: Any) -> LoanTerms:
    data: dict[str, Any] = {
        "currency": "CNY",
        "price": D(200000),
        "down_payment": D(40000),
        "annual_rate": D("0.0399"),
        "term": 36,
        "start_date": START,
    }
    data.update(over)
    return LoanTerms(**data)


# --- published example and the engine -------------------------------------------------------------


def test_npf_ipmt_2500_at_8_24_percent_for_12_months() -> None:
    """numpy-financial 1.0, ``numpy_financial.ipmt`` docstring, Examples: "the amortization schedule for a
    1 year loan of $2500 at 8.24% interest per year compounded monthly" — first row principal 200.58,
    interest 17.17 (so the payment is 217.75), balance 2299.42. Quoted as a US product at a fixed
    8.24 %, nothing down, 100 % LTV, periodic interest.

    The brief's other example, numpy-financial's ``pmt`` docstring (200,000 at 7.5 % for 180 months:
    1,854.02), cannot be quoted: ``Product.terms`` allows at most 120 months (and an extended-term
    promotion at most 36 more). The engine itself is golden-tested on it in tests/golden."""
    p = product(
        id="us-fixed-1y", jurisdiction="US", currency="USD", terms=[12], max_ltv="1.0",
        down_payment={"min": "0", "max": "0.5"}, rate={"fixed": "0.0824"},
    )  # fmt: skip
    q = quote(catalogue(p), p.id, vehicle(price="2500", msrp="2500"), structure(term=12, down_payment="0"))
    assert isinstance(q.contract, Schedule)
    first = q.contract.rows[0]
    assert (first.principal, first.interest, first.balance) == (D("200.58"), D("17.17"), D("2299.42"))
    assert q.monthly_payment == D("217.75")
    assert q.amount_financed == D("2500.00")
    assert set(q.rates) == {"us_regz"} and q.rate_label == "us_regz"
    assert q.ownership_at_end is Ownership.OWNS


def test_product_terms_stop_at_120_months() -> None:
    with pytest.raises(Exception, match="less than or equal to 120"):
        product(terms=[180])


def test_quoted_loan_equals_the_engine_schedule_exactly() -> None:
    p = product(
        rate={"table": "cn-tiers", "margin": "0.0025"},
        fees=[{"name": "handling", "amount": "500", "financed": True}],
        balloon={"min_pct_of_price": "0", "max_pct_of_price": "0.4"},
        early_settlement={"penalty": {"pct_of_prepaid": "0.03", "waived_after": 12}},
    )
    cat = catalogue(p, services=[service("cn-maint")])
    q = quote(
        cat, p.id, vehicle(), structure(services=["cn-maint"], balloon_pct="0.25"),
        ApplicantInfo(bureau_score=760),
    )  # fmt: skip
    terms = loan_terms(
        annual_rate=D("0.0299") + D("0.0025"),
        balloon=Balloon(amount=D("50000.00")),
        fees=[
            *p.fees,
            Fee(name="service:cn-maint", amount=D("3000.00"), financed=True, finance_charge=False),
        ],
        prepayment_penalty=p.early_settlement.penalty,
    )
    expected = build_schedule(terms)
    assert isinstance(q.contract, Schedule)
    assert q.contract.rows == expected.rows
    assert q.contract.opening_balance == expected.opening_balance == D("163500.00")
    assert q.disclosure == disclose_loan(expected, [AprMethod.CN_IRR])
    assert q.customer_rate == q.lender_rate == D("0.0324")
    assert q.ownership_at_end is Ownership.OWNS_AFTER_BALLOON and q.amount_to_own == D("50000.00")
    assert q.total_cost == D("40000.00") + expected.total_of_payments
    assert q.services[0].financed and q.services[0].commission == D("300.00")
    assert q.conditions == ()


def test_rate_table_lookup_by_score_term_condition_ltv_and_no_score() -> None:
    p = product(rate={"table": "cn-tiers"})
    cat = catalogue(p)
    assert quote(
        cat, p.id, vehicle(), structure(term=48), ApplicantInfo(bureau_score=800)
    ).customer_rate == D("0.0349")
    assert quote(
        cat, p.id, vehicle(), structure(down_payment_pct="0.4"), ApplicantInfo(bureau_score=700)
    ).customer_rate == D("0.0449")
    assert quote(cat, p.id, vehicle(), structure(), ApplicantInfo(bureau_score=700)).customer_rate == D(
        "0.0499"
    )
    assert quote(cat, p.id, vehicle(), structure()).customer_rate == D("0.0699")  # no score: 640
    with pytest.raises(ValidationError) as exc:
        quote(cat, p.id, vehicle(), structure(), ApplicantInfo(bureau_score=550))
    assert (
        exc.value.field == "structure" and "rate table cn-tiers has no rate for score 550" in exc.value.rule
    )


# --- rule violations ------------------------------------------------------------------------------


VIOLATIONS: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    # (case, product overrides, quote kwargs, field, rule fragment)
    (
        "term",
        {},
        {"structure": {"term": 30}},
        "structure.term",
        "product cn-green-nev allows terms 12, 24, 36, 48, 60",
    ),
    (
        "effective",
        {"effective": {"from": "2026-06-01"}},
        {},
        "structure.start_date",
        "product cn-green-nev is effective 2026-06-01",
    ),
    (
        "down low",
        {},
        {"structure": {"down_payment_pct": "0.1"}},
        "structure.down_payment_pct",
        "allows a down payment of 0.15..0.8",
    ),
    (
        "down amount",
        {},
        {"structure": {"down_payment": "170000", "down_payment_pct": None}},
        "structure.down_payment",
        "allows a down payment",
    ),
    ("ltv", {"max_ltv": "0.75"}, {}, "structure.down_payment_pct", "allows an LTV of at most 75 %"),
    (
        "no balloon",
        {},
        {"structure": {"balloon_pct": "0.2"}},
        "structure.balloon_pct",
        "product cn-green-nev has no balloon",
    ),
    (
        "balloon range",
        {"balloon": {"min_pct_of_price": "0.1", "max_pct_of_price": "0.3"}},
        {"structure": {"balloon_pct": "0.35"}},
        "structure.balloon_pct",
        "allows a balloon of 10 %..30 %",
    ),
    (
        "grace kind",
        {"grace": [{"kind": "interest_only", "max_periods": 3}]},
        {"structure": {"grace": {"kind": "holiday", "periods": 1}}},
        "structure.grace.kind",
        "allows grace kinds: interest_only",
    ),
    (
        "grace periods",
        {"grace": [{"kind": "interest_only", "max_periods": 3}]},
        {"structure": {"grace": {"kind": "interest_only", "periods": 4}}},
        "structure.grace.periods",
        "at most 3 periods",
    ),
    (
        "customer type",
        {"eligibility": {"customer_types": ["individual"]}},
        {"applicant": {"customer_type": "fleet"}},
        "applicant.customer_type",
        "product cn-green-nev is for customer types individual",
    ),
    (
        "segments",
        {"eligibility": {"segments": ["nev_buyer"]}},
        {},
        "applicant.segments",
        "is for segments nev_buyer",
    ),
    ("channel", {"eligibility": {"channels": ["online"]}}, {}, "applicant.channel", "is for channels online"),
    (
        "region",
        {"eligibility": {"regions": ["CN-31"]}},
        {"applicant": {"region": "CN-11"}},
        "applicant.region",
        "is for regions CN-31",
    ),
    (
        "age",
        {"eligibility": {"applicant_age": {"min": 20, "max": 60}}},
        {"applicant": {"age": 65}},
        "applicant.age",
        "is for applicants aged 20..60",
    ),
    (
        "score",
        {"eligibility": {"min_bureau_score": 650}},
        {"applicant": {"bureau_score": 620}},
        "applicant.bureau_score",
        "needs a bureau score of at least 650",
    ),
    (
        "no score",
        {"eligibility": {"min_bureau_score": 650}},
        {},
        "applicant.bureau_score",
        "needs a bureau score of at least 650",
    ),
    (
        "powertrain",
        {"eligibility": {"vehicle": {"powertrain": ["nev"]}}},
        {"vehicle": {"powertrain": "ice"}},
        "vehicle.powertrain",
        "is for powertrain nev",
    ),
    (
        "price",
        {"eligibility": {"vehicle": {"price": {"max": "150000"}}}},
        {},
        "vehicle.price",
        "is for vehicle prices ≤ 150000",
    ),
    (
        "vehicle age",
        {"eligibility": {"vehicle": {"max_age_years": 5}}},
        {"vehicle": {"condition": "used", "age_years": 7}},
        "vehicle.age_years",
        "at most 5 years old",
    ),
]


@pytest.mark.parametrize(
    ("case", "over", "kwargs", "field", "rule"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS]
)
def test_every_rule_violation_names_the_field_and_the_rule(
    case: str, over: dict[str, Any], kwargs: dict[str, Any], field: str, rule: str
) -> None:
    p = product(**over)
    s = {"term": 36, "down_payment_pct": "0.2", "start_date": START, **kwargs.get("structure", {})}
    with pytest.raises(ValidationError) as exc:
        quote(
            catalogue(p), p.id, vehicle(**kwargs.get("vehicle", {})),
            StructureRequest.model_validate({k: v for k, v in s.items() if v is not None}),
            ApplicantInfo.model_validate(kwargs.get("applicant", {})),
        )  # fmt: skip
    assert exc.value.field == field
    assert rule in exc.value.rule, exc.value.rule


def test_unknown_product_and_quote_date() -> None:
    p = product()
    with pytest.raises(ValidationError) as exc:
        quote(catalogue(p), "nope", vehicle(), structure())
    assert exc.value.field == "product"
    with pytest.raises(ValidationError) as exc:
        quote(catalogue(p), p.id, vehicle(), structure(), on=date(2025, 12, 31))
    assert exc.value.field == "on"


def test_services_allowed_eligible_and_financed_only_if_both_allow() -> None:
    p = product(services={"allowed": ["cn-maint", "cn-ins"], "financeable": True})
    cat = catalogue(
        p,
        services=[
            service("cn-maint", financeable=False),
            service("cn-ins", price={"pct_of_price": "0.03"}, finance_charge=True),
            service("cn-roadside"),
            service("cn-truck-only", eligibility={"vehicle": {"use": ["commercial"]}}),
        ],
    )
    q = quote(cat, p.id, vehicle(), structure(services=["cn-maint", "cn-ins"]))
    lines = {s.id: s for s in q.services}
    assert (
        not lines["cn-maint"].financed and lines["cn-ins"].financed and lines["cn-ins"].price == D("6000.00")
    )
    assert q.amount_financed == D("166000.00")
    # the cash-paid voluntary service is in the total cost, not in the contract
    assert isinstance(q.contract, Schedule)
    assert q.total_cost == D("40000.00") + D("3000.00") + q.contract.total_of_payments
    with pytest.raises(ValidationError) as exc:
        quote(cat, p.id, vehicle(), structure(services=["cn-roadside"]))
    assert exc.value.field == "structure.services[0]" and "allows services cn-maint, cn-ins" in exc.value.rule
    cat2 = catalogue(
        product(), services=[service("cn-truck-only", eligibility={"vehicle": {"use": ["commercial"]}})]
    )
    with pytest.raises(ValidationError) as exc:
        quote(cat2, "cn-green-nev", vehicle(), structure(services=["cn-truck-only"]))
    assert (
        exc.value.field == "vehicle.use" and "service cn-truck-only is for use commercial" in exc.value.rule
    )
    q = quote(cat, p.id, vehicle(), structure(services=["cn-ins"], finance_services=False))
    assert not q.services[0].financed and q.amount_financed == D("160000.00")


def test_financed_services_capped_by_the_product() -> None:
    p = product(services={"max_financed_pct_of_price": "0.01"})
    with pytest.raises(ValidationError) as exc:
        quote(catalogue(p, services=[service("cn-maint")]), p.id, vehicle(), structure(services=["cn-maint"]))
    assert exc.value.field == "structure.services" and "finances services up to 1 %" in exc.value.rule


# --- promotions -----------------------------------------------------------------------------------


def test_rate_buydown_subvention_equals_the_engine_subvention() -> None:
    p = product(rate={"fixed": "0.0599"})
    promo = promotion("cn-buydown", {"kind": "rate_buydown", "rate": "0.0099"}, budget="1000000")
    q = quote(catalogue(p, promotions=[promo]), p.id, vehicle(), structure(promotions=["cn-buydown"]))
    assert q.customer_rate == D("0.0099") and q.lender_rate == D("0.0599")
    expected = build_schedule(loan_terms(annual_rate=D("0.0099")))
    assert isinstance(q.contract, Schedule) and q.contract.rows == expected.rows
    assert q.subvention == subvention(expected, D("0.0599")) > 0
    assert q.promotions[0].cost == q.subvention and q.promotions[0].funded_by == "manufacturer"


def test_zero_apr_and_cash_rebate_and_extended_term() -> None:
    p = product(rate={"fixed": "0.0499"})
    zero = promotion("cn-zero", {"kind": "zero_apr"}, stacking={"group": "rate"})
    rebate = promotion("cn-rebate", {"kind": "cash_rebate", "amount": "5000"}, stacking={"group": "rate"})
    longer = promotion("cn-plus12", {"kind": "extended_term", "extra_months": 12})
    cat = catalogue(p, promotions=[zero, rebate, longer])
    q = quote(cat, p.id, vehicle(), structure(promotions=["cn-zero"]))
    assert q.customer_rate == 0 and q.monthly_payment == D("4444.44")
    q = quote(cat, p.id, vehicle(), structure(promotions=["cn-rebate", "cn-plus12"], term=60))
    assert q.term == 72 and q.amount_financed == D("155000.00")
    assert isinstance(q.contract, Schedule)
    assert (
        q.contract.rows == build_schedule(loan_terms(price=D(195000), annual_rate=D("0.0499"), term=72)).rows
    )
    assert [a.cost for a in q.promotions] == [D("5000.00"), D(0)]


def test_free_service_costs_the_funder() -> None:
    p = product()
    promo = promotion("cn-free-maint", {"kind": "free_service", "service": "cn-maint", "funded_by": "dealer"})
    q = quote(
        catalogue(p, services=[service("cn-maint")], promotions=[promo]),
        p.id,
        vehicle(),
        structure(promotions=["cn-free-maint"]),
    )
    assert q.services[0].free and q.services[0].price == 0 and q.services[0].list_price == D("3000.00")
    assert q.promotions[0].cost == D("3000.00") and q.promotions[0].funded_by == "dealer"
    assert q.amount_financed == D("160000.00")


def test_deferred_first_payment_accrues_interest_through_holiday_periods() -> None:
    p = product()
    promo = promotion("cn-defer3", {"kind": "deferred_first_payment", "months": 3})
    q = quote(catalogue(p, promotions=[promo]), p.id, vehicle(), structure(promotions=["cn-defer3"]))
    expected = build_schedule(loan_terms(term=39, grace=[{"kind": "holiday", "periods": 3}]))
    assert isinstance(q.contract, Schedule) and q.contract.rows == expected.rows
    paying = [r for r in q.contract.rows if r.instalment > 0]
    assert paying[0].due_date == date(2026, 7, 10) and len(paying) == 36
    assert q.contract.rows[2].balance > q.contract.opening_balance  # interest accrued, capitalised
    assert q.monthly_payment == paying[0].instalment
    with pytest.raises(ValidationError) as exc:
        quote(
            catalogue(p, promotions=[promo]), p.id, vehicle(),
            structure(promotions=["cn-defer3"], first_payment_date=date(2026, 4, 20)),
        )  # fmt: skip
    assert exc.value.field == "structure.first_payment_date"


def test_explicit_first_payment_date_uses_the_odd_first_period() -> None:
    p = product()
    q = quote(catalogue(p), p.id, vehicle(), structure(first_payment_date=date(2026, 4, 25)))
    expected = build_schedule(loan_terms(first_payment_date=date(2026, 4, 25)))
    assert isinstance(q.contract, Schedule) and q.contract.rows == expected.rows
    assert q.monthly_payment == expected.rows[1].instalment < expected.rows[0].instalment


def test_promotion_validity_eligibility_and_stacking() -> None:
    p = product()
    a = promotion("cn-a", {"kind": "cash_rebate", "amount": "1000"}, stacking={"group": "cash"})
    b = promotion("cn-b", {"kind": "rate_buydown", "rate": "0.01"}, stacking={"group": "cash"})
    c = promotion(
        "cn-c",
        {"kind": "extended_term", "extra_months": 6},
        stacking={"group": "term", "exclusive_with": ["cash"]},
    )
    old = promotion(
        "cn-old", {"kind": "cash_rebate", "amount": "1000"}, valid={"from": "2025-01-01", "to": "2025-12-31"}
    )
    aged = promotion(
        "cn-aged", {"kind": "cash_rebate", "amount": "1000"}, eligibility={"inventory_age_days_min": 90}
    )
    other = promotion(
        "cn-other", {"kind": "cash_rebate", "amount": "1000"}, eligibility={"products": ["cn-x"]}
    )
    toyota = promotion(
        "cn-toyota",
        {"kind": "cash_rebate", "amount": "1000"},
        eligibility={"vehicle": {"brands": ["Toyota"]}},
    )
    cat = catalogue(p, promotions=[a, b, c, old, aged, other, toyota])

    def err(*ids: str) -> ValidationError:
        with pytest.raises(ValidationError) as exc:
            quote(cat, p.id, vehicle(), structure(promotions=list(ids)))
        return exc.value

    e = err("cn-a", "cn-b")
    assert (
        e.field == "structure.promotions[1]"
        and "promotions cn-a and cn-b cannot be combined" in e.rule
        and "'cash'" in e.rule
    )
    e = err("cn-a", "cn-c")
    assert "promotions cn-a and cn-c cannot be combined: groups 'cash' and 'term' are exclusive" in e.rule
    e = err("cn-old")
    assert (
        e.field == "structure.promotions[0]" and "promotion cn-old is valid 2025-01-01..2025-12-31" in e.rule
    )
    e = err("cn-aged")
    assert e.field == "vehicle.inventory_age_days" and "at least 90 days" in e.rule
    assert "promotion cn-other is for products cn-x" in err("cn-other").rule
    e = err("cn-toyota")
    assert e.field == "vehicle.brand" and "promotion cn-toyota is for brand Toyota" in e.rule
    e = err("cn-missing")
    assert e.field == "structure.promotions[0]" and "no such promotion" in e.rule
    assert quote(
        cat, p.id, vehicle(inventory_age_days=120), structure(promotions=["cn-aged"])
    ).amount_financed == D("159000.00")


def test_budget_ledger_consumes_and_refuses() -> None:
    p = product(rate={"fixed": "0.0599"})
    rebate = promotion("cn-rebate", {"kind": "cash_rebate", "amount": "5000"}, budget="12000")
    cat = catalogue(p, promotions=[rebate])
    ledger = BudgetLedger()
    assert ledger.remaining(rebate) == D(12000)
    q = quote(cat, p.id, vehicle(), structure(promotions=["cn-rebate"]), ledger=ledger)
    ledger = ledger.consume(q).consume(q)
    assert ledger.remaining(rebate) == D(2000)
    assert ledger.consumed["cn-rebate"] == D(10000)
    with pytest.raises(ValidationError) as exc:
        ledger.consume(q)
    assert (
        exc.value.field == "budget"
        and "promotion cn-rebate would exceed its budget of 12000" in exc.value.rule
    )
    with pytest.raises(ValidationError) as exc:
        quote(cat, p.id, vehicle(), structure(promotions=["cn-rebate"]), ledger=ledger)
    assert exc.value.field == "structure.promotions[0]" and "has 2000.00 of its budget left" in exc.value.rule
    with pytest.raises(TypeError):
        ledger.consumed["cn-rebate"] = D(0)  # type: ignore[index]


# --- floating, leases, comparison -----------------------------------------------------------------


def test_floating_product_needs_the_benchmark_path() -> None:
    p = product(
        rate={"fixed": "0.0399"}, floating={"benchmark": "LPR_5Y", "lock_months": 12, "lifetime_cap": "0.08"}
    )
    cat = catalogue(p)
    with pytest.raises(ValidationError) as exc:
        quote(cat, p.id, vehicle(), structure())
    assert exc.value.field == "market.benchmarks.LPR_5Y"
    market = Market.model_validate(
        {
            "benchmarks": {
                "LPR_5Y": [{"date": "2025-05-20", "rate": "0.035"}, {"date": "2027-01-20", "rate": "0.040"}]
            }
        }
    )
    q = quote(cat, p.id, vehicle(), structure(), market=market)
    assert isinstance(q.contract, Schedule) and q.contract.terms.floating is not None
    assert q.contract.terms.floating.spread == D("0.0049") and q.customer_rate == D("0.0399")
    assert q.contract.rows[0].annual_rate == D("0.0399") and q.contract.rows[-1].annual_rate == D("0.0449")


def test_closed_end_lease_equals_the_engine_lease() -> None:
    p = product(
        id="us-lease", jurisdiction="US", currency="USD", kind="lease", timing="advance", terms=[36],
        down_payment={"min": "0", "max": "0.3"}, max_ltv="1.1", rate={"fixed": "0.06"},
        lease={"type": "closed_end", "residual_pct_of_msrp": {36: "0.55"}, "acquisition_fee": "695", "disposition_fee": "395"},
    )  # fmt: skip
    v = vehicle(msrp="36000", price="34000")
    q = quote(catalogue(p), p.id, v, structure(down_payment="2000", down_payment_pct=None))
    expected = lease_math.closed_end_lease(
        lease_math.ConsumerLeaseTerms(
            agreed_upon_value=D(34000), term_months=36, residual_percent=D("0.55"), msrp=D(36000),
            money_factor=D("0.0025"), charges=(lease_math.LeaseCharge("Acquisition fee", D(695), capitalized=True),),
            cash_down=D(2000), disposition_fee=D(395), currency="USD",
        )
    )  # fmt: skip
    assert q.contract == expected
    assert q.monthly_payment == expected.total_periodic_payment
    assert q.ownership_at_end is Ownership.RETURNS_OR_BUYS_AT_RESIDUAL and q.amount_to_own == D("19800.00")
    assert q.total_cost == expected.total_of_payments
    assert "apr" not in json.dumps(compare([q])).lower().replace("not an apr", "")
    assert q.notices == (lease_math.RATE_NOTICE,)


def test_finance_lease_with_purchase_option() -> None:
    p = product(
        id="cn-fin-lease", kind="lease", timing="advance", terms=[36], rate={"fixed": "0.065"},
        lease={"type": "finance", "purchase_option_price": "100"},
    )  # fmt: skip
    q = quote(catalogue(p), p.id, vehicle(), structure())
    expected = lease_math.finance_lease(
        lease_math.FinanceLeaseTerms(
            asset_price=D(200000), lease_rate=D("0.065"), term_months=36, down_payment=D("40000.00"),
            purchase_option_price=D(100), start_date=START, currency="CNY",
        )
    )  # fmt: skip
    assert q.contract == expected
    assert q.ownership_at_end is Ownership.OWNS_AFTER_PURCHASE_OPTION and q.amount_to_own == D("100.00")
    assert q.total_cost == D("40000.00") + expected.total_rent + D(100)
    assert q.rate_label == "cn_irr"


def test_compare_rows_are_json_ready_side_by_side() -> None:
    loan = product(balloon={"max_pct_of_price": "0.4"})
    lease = product(
        id="cn-lease", kind="lease", timing="advance", terms=[36], max_ltv="1.0",
        lease={"type": "closed_end", "residual_pct_of_msrp": {36: "0.5"}},
    )  # fmt: skip
    cat = catalogue(loan, lease)
    quotes = [
        quote(cat, loan.id, vehicle(), structure(balloon_pct="0.3")),
        quote(cat, lease.id, vehicle(), structure()),
    ]
    rows = compare(quotes)
    json.dumps(rows)
    assert [r["product"] for r in rows] == ["cn-green-nev", "cn-lease"]
    assert (
        rows[0]["ownership_at_end"] == "owns_after_balloon" and rows[0]["balloon_or_residual"] == "60000.00"
    )
    assert rows[0]["rate_method"] == "cn_irr" and isinstance(rows[0]["rate"], float)
    assert (
        rows[1]["rate_label"] == "lease rate (not an APR)" and rows[1]["balloon_or_residual"] == "105000.00"
    )
    assert rows[1]["ownership_at_end"] == "returns_or_buys_at_residual"
    for r in rows:
        assert isinstance(r["monthly_payment"], str) and isinstance(r["total_cost"], str)


def test_quote_json_and_cli_request() -> None:
    p = product()
    cat = catalogue(p)
    req = {
        "product": p.id,
        "vehicle": json.loads(vehicle().model_dump_json()),
        "structure": {"term": 24, "down_payment_pct": "0.3", "start_date": "2026-03-10"},
    }
    data, quotes = run_request(cat, req)
    assert json.loads(json.dumps(data)) == data
    assert data["monthly_payment"] == str(quotes[0].monthly_payment) and data["contract"]["kind"] == "loan"
    assert data == quote_json(quotes[0])
    out, qs = run_request(cat, {"compare": [req, {**req, "structure": {**req["structure"], "term": 36}}]})
    assert len(out["comparison"]) == 2 and [q.term for q in qs] == [24, 36]
    with pytest.raises(ValidationError) as exc:
        run_request(cat, {"compare": [req, {**req, "structure": {**req["structure"], "term": 30}}]})
    assert exc.value.field == "compare[1].structure.term"
    with pytest.raises(ValidationError) as exc:
        run_request(cat, {**req, "vehicle": {**req["vehicle"], "condition": "nearly-new"}})
    assert exc.value.field == "vehicle.condition"


# --- the demo catalogue ---------------------------------------------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "catalog"


@pytest.mark.skipif(not (DEMO / "catalogue.yaml").exists(), reason="demo catalogue not present")
def test_every_demo_product_quotes_with_a_valid_default_structure() -> None:
    from autofin.catalog.loader import load_catalogue

    cat = load_catalogue(DEMO)
    assert cat.products
    for pid, p in cat.products.items():
        v, s, a = sample_inputs(p, START)
        q = quote(cat, pid, v, s, a, market=SAMPLE_MARKET)
        assert q.monthly_payment > 0 and q.total_cost > q.down_payment, pid
        if isinstance(q.contract, Schedule):
            assert q.contract.rows == build_schedule(q.contract.terms).rows
        json.dumps(quote_json(q))
    rng = random.Random(7)
    for pid, p in cat.products.items():
        for _ in range(5):
            v, s, a = sample_inputs(p, START, rng)
            quote(cat, pid, v, s, a, market=SAMPLE_MARKET)


def test_a_quote_above_the_legal_rate_cap_is_refused_naming_the_cap() -> None:
    """catalogue.yaml's rate_caps apply to the disclosed all-in rate (fees included)."""
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue
    from autofin.catalog.quote import sample_inputs

    demo = load_catalogue(default_catalogue_dir())
    assert demo.rate_caps["CN"] == Decimal("0.24")
    product = demo.products["cn-standard-equal-instalment"]
    vehicle, structure, applicant = sample_inputs(product, date(2026, 3, 10))
    ok = quote(demo, product.id, vehicle, structure, applicant)
    tight = demo.model_copy(update={"rate_caps": {"CN": Decimal("0.01")}})
    with pytest.raises(ValidationError) as exc:
        quote(tight, product.id, vehicle, structure, applicant)
    assert exc.value.field == "structure"
    assert "legal cap of 1" in exc.value.rule and "CN" in exc.value.rule
    assert max(ok.rates.values()) > Decimal("0.01")


def test_promotion_deal_conditions_term_down_payment_and_ltv() -> None:
    """A promotion may require a term range, a minimum down payment and a maximum LTV of the deal."""
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue
    from autofin.catalog.models import Range

    demo = load_catalogue(default_catalogue_dir())
    promo_id = "cn-byd-nev-zero-apr-2026h1"
    promo = demo.promotions[promo_id]
    strict = promo.model_copy(
        update={
            "eligibility": promo.eligibility.model_copy(
                update={"terms": Range(max=Decimal(36)), "min_down_payment_pct": Decimal("0.3")}
            )
        }
    )
    cat = demo.model_copy(update={"promotions": {**demo.promotions, promo_id: strict}})
    car = VehicleInfo(
        brand="BYD", model="Seal", condition="new", vehicle_class="mid", powertrain="nev", use="passenger",
        msrp=Decimal("210000"), price=Decimal("200000"),
    )  # fmt: skip
    buyer = ApplicantInfo(bureau_score=720, age=32, segments=["nev_buyer"])

    def ask(term: int, down: str) -> StructureRequest:
        return StructureRequest(
            term=term, down_payment_pct=Decimal(down), start_date=date(2026, 3, 10), promotions=[promo_id]
        )

    assert quote(cat, "cn-green-nev-loan", car, ask(36, "0.30"), buyer).customer_rate == 0
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-green-nev-loan", car, ask(48, "0.30"), buyer)
    assert exc.value.field == "structure.term" and "terms" in exc.value.rule
    with pytest.raises(ValidationError) as exc:
        quote(cat, "cn-green-nev-loan", car, ask(36, "0.20"), buyer)
    assert exc.value.field == "structure.down_payment_pct" and "at least 30" in exc.value.rule
