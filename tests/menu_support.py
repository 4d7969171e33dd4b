"""Shared by the offer-menu tests: the demo catalogue (loaded once), the decision examples, and a
catalogue whose new-car rate sheet has LTV bands and one of whose products finances fees."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from autofin.catalog.loader import default_catalogue_dir, load_catalogue
from autofin.catalog.models import Catalogue, Range, RateRow
from autofin.finance.terms import Fee

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "decisions"


@cache
def demo_catalogue() -> Catalogue:
    return load_catalogue(default_catalogue_dir())


def example(name: str) -> dict[str, Any]:
    """examples/decisions/<name>.json as a fresh dict."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


@cache
def banded_catalogue() -> Catalogue:
    """The catalogue with LTV bands in the new-car rate sheet (the bundled sheets have none): the rate
    then depends on the down payment, which the screen's rate cache must respect. Bands overlap at
    their ends (the first matching row wins). One product also finances fees."""
    cat = demo_catalogue()
    table = cat.rate_tables["cn-new-car"]
    rows: list[RateRow] = []
    for row in table.rows:
        rows.append(
            row.model_copy(update={"ltv": Range(max=Decimal("0.5")), "rate": row.rate - Decimal("0.004")})
        )
        rows.append(row.model_copy(update={"ltv": Range(min=Decimal("0.5"), max=Decimal("0.7")),
                                           "rate": row.rate - Decimal("0.002")}))  # fmt: skip
        rows.append(row)
    tables = {**cat.rate_tables, table.id: table.model_copy(update={"rows": rows})}
    # and financed fees (the bundled products finance none): a share of the cash price, rounded
    # half-up to the cent, and a flat one
    std = cat.products["cn-standard-equal-instalment"]
    fees = [*std.fees, Fee(name="handling", pct_of_principal=Decimal("0.01235"), financed=True),
            Fee(name="gps", amount=Decimal("800"), financed=True)]  # fmt: skip
    products = {**cat.products, std.id: std.model_copy(update={"fees": fees})}
    return cat.model_copy(update={"rate_tables": tables, "products": products})
