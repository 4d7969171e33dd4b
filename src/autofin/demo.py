"""``make run`` / ``autofin demo``: one car, five contracts, every number exact and disclosed.

A 200,000 yuan NEV financed five ways — the differentiation autofin exists for — each computed by the
contract engine with its China annualised rate (PBoC [2021] No. 3), then the same loan in US terms with
a Regulation Z APR, a US closed-end lease, a payoff quote and the "low APR or rebate" comparison.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from autofin.finance.apr import AprMethod
from autofin.finance.disclosure import disclose_loan
from autofin.finance.lease import ConsumerLeaseTerms, closed_end_lease
from autofin.finance.payoff import payoff_quote
from autofin.finance.promotions import low_apr_vs_rebate
from autofin.finance.schedule import build_schedule
from autofin.finance.terms import parse_terms

START = "2026-12-01"
_CAR = {"currency": "CNY", "price": "200000", "down_payment": "40000", "start_date": START}
_SHAPES: list[tuple[str, dict[str, object]]] = [
    ("等额本息 equal instalment", {"annual_rate": "0.0399", "term": 36}),
    ("等额本金 equal principal", {"annual_rate": "0.0399", "term": 36, "repayment": "equal_principal"}),
    (
        "弹性尾款 30% balloon",
        {"annual_rate": "0.0459", "term": 36, "balloon": {"pct_of_price": "0.3"}},
    ),
    (
        "阶梯式 step-up +10%/yr",
        {"annual_rate": "0.0429", "term": 36, "steps": {"growth_rate": "0.10", "every": 12}},
    ),
    (
        "3 m interest-only first",
        {"annual_rate": "0.0429", "term": 36, "grace": [{"kind": "interest_only", "periods": 3}]},
    ),
]


def run_demo(console: Console) -> None:
    console.print("[bold]autofin[/] — one 200,000 CNY car, 40,000 down, 36 months, five contract shapes\n")
    table = Table(title="Same car, different products (CNY)")
    table.add_column("product", no_wrap=True)
    for col in ("first", "last", "balloon", "interest", "IRR/yr"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, shape in _SHAPES:
        schedule = build_schedule(parse_terms({**_CAR, **shape}))
        rate = disclose_loan(schedule, [AprMethod.CN_IRR]).rates[AprMethod.CN_IRR].apr
        table.add_row(
            name, str(schedule.rows[0].instalment), str(schedule.rows[-1].instalment), str(schedule.balloon),
            str(schedule.total_interest), f"{rate * 100:.2f} %",
        )  # fmt: skip
    console.print(table)

    us = parse_terms(
        {"currency": "USD", "price": "35000", "down_payment": "5000", "annual_rate": "0.0649", "term": 60,
         "start_date": START, "fees": [{"name": "documentation fee", "amount": "399", "financed": True}]}
    )  # fmt: skip
    schedule = build_schedule(us)
    disclosure = disclose_loan(schedule, [AprMethod.US_REGZ])
    console.print(
        "\n[bold]US retail instalment contract[/] 35,000 USD, 5,000 down, 6.49 % for 60 months,"
        " $399 doc fee financed:"
        f"\n  payment {schedule.regular_instalment} · amount financed {disclosure.amount_financed}"
        f" · finance charge {disclosure.finance_charge} · total of payments {disclosure.total_of_payments}"
        f" · APR (Reg Z App. J) {disclosure.apr * 100 if disclosure.apr else 0:.2f} %"
    )
    quote = payoff_quote(schedule, date(2028, 3, 18))
    console.print(
        f"  payoff on 2028-03-18: principal {quote.principal} + interest {quote.interest} = {quote.total}"
    )
    lease = closed_end_lease(
        ConsumerLeaseTerms(
            agreed_upon_value=Decimal("35000"), term_months=36, residual_percent=Decimal("0.58"),
            msrp=Decimal("37000"), money_factor=Decimal("0.00250"), cash_down=Decimal("2000"),
            tax_rate=Decimal("0.0625"),
        )
    )  # fmt: skip
    console.print(
        "\n[bold]US closed-end lease (Reg M)[/] same car, 36 months, residual 58 % of MSRP,"
        " money factor 0.00250:"
        f"\n  base payment {lease.base_periodic_payment} + tax {lease.periodic_sales_tax} ="
        f" {lease.total_periodic_payment} · due at signing {lease.amount_due_at_signing}"
        f" · total of payments {lease.total_of_payments}"
    )
    promo = low_apr_vs_rebate(us, Decimal("0.009"), Decimal("0.0649"), Decimal("2500"))
    console.print(
        f"\n[bold]Low APR or rebate?[/] 0.9 % APR: {promo.low_apr.regular_instalment}/month;"
        f" $2,500 rebate at 6.49 %: {promo.rebate.regular_instalment}/month →"
        f" the {promo.better.replace('_', ' ')}"
        f" is worth more (break-even rebate {promo.breakeven_rebate})."
    )
    _catalogue_offers(console)
    console.print(
        "\nTry: .venv/bin/autofin contract examples/balloon_loan.json --table  ·  "
        ".venv/bin/autofin catalog check catalog/  ·  "
        ".venv/bin/autofin decide examples/decisions/counter_offer.json --table  ·  docs: make docs"
    )


def _catalogue_offers(console: Console) -> None:
    """The demo catalogue: one NEV, four differentiated offers, each an exact contract."""
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue
    from autofin.catalog.quote import ApplicantInfo, StructureRequest, VehicleInfo, compare, quote

    catalogue = load_catalogue(default_catalogue_dir())
    car = VehicleInfo(
        brand="BYD", model="Seal", condition="new", vehicle_class="mid", powertrain="nev", use="passenger",
        msrp=Decimal("210000"), price=Decimal("200000"),
    )  # fmt: skip
    buyer = ApplicantInfo(bureau_score=720, age=32, segments=["nev_buyer", "young_urban"])
    start = date(2026, 3, 10)
    asks = [
        ("cn-green-nev-loan", StructureRequest(term=36, down_payment_pct=Decimal("0.3"), start_date=start)),
        (
            "cn-green-nev-loan",
            StructureRequest(
                term=36, down_payment_pct=Decimal("0.3"), start_date=start,
                promotions=["cn-byd-nev-zero-apr-2026h1"],
            ),
        ),
        (
            "cn-balloon-flex",
            StructureRequest(
                term=36, down_payment_pct=Decimal("0.3"), balloon_pct=Decimal("0.3"), start_date=start
            ),
        ),
        (
            "cn-nev-residual-value-lease",
            StructureRequest(term=36, down_payment_pct=Decimal("0.2"), start_date=start),
        ),
    ]  # fmt: skip
    rows = compare([quote(catalogue, product, car, ask, buyer) for product, ask in asks])
    table = Table(title=f"Catalogue {catalogue.version}: a 200,000 CNY BYD Seal, four offers")
    table.add_column("offer")
    for col in ("monthly", "down", "final", "total paid", "rate"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("at the end")
    labels = ["green NEV loan", "+ BYD 0 % APR", "30 % balloon", "NEV lease"]
    for label, row in zip(labels, rows, strict=True):
        table.add_row(
            label, row["monthly_payment"], row["down_payment"], row["balloon_or_residual"], row["total_cost"],
            f"{row['rate'] * 100 + 0.0:.2f} %{' lease' if row['rate_method'] == 'lease_rate' else ''}",
            str(row["ownership_at_end"]).replace("_", " "),
        )  # fmt: skip
    console.print()
    console.print(table)
