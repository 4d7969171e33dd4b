"""Catalogue builders shared by the jurisdiction-pack and dealer-markup tests: a fixed-rate product,
a catalogue with products or a pack changed, demo vehicles and structures, an LPR market."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from autofin.catalog.loader import load_catalogue
from autofin.catalog.models import Catalogue, JurisdictionPack, Product
from autofin.catalog.quote import Market, StructureRequest, VehicleInfo
from autofin.finance.terms import RatePoint

D = Decimal
START = date(2026, 3, 10)
L10N = {"en": "x", "zh-CN": "x"}
DEMO = load_catalogue()


def lpr(rate: str, on: date = date(2026, 1, 20)) -> Market:
    return Market(benchmarks={"LPR_1Y": [RatePoint(date=on, rate=D(rate))]})


def fixed_product(pid: str, jurisdiction: str, rate: str, **over: Any) -> Product:
    data: dict[str, Any] = {
        "id": pid,
        "version": 1,
        "name": L10N,
        "description": L10N,
        "jurisdiction": jurisdiction,
        "currency": "CNY" if jurisdiction == "CN" else "USD",
        "effective": {"from": "2026-01-01"},
        "terms": [36, 60],
        "max_ltv": "1.0",
        "rate": {"fixed": rate},
    }
    data.update(over)
    return Product.model_validate(data)


def with_products(cat: Catalogue, *products: Product, **update: Any) -> Catalogue:
    return cat.model_copy(update={"products": {**cat.products, **{p.id: p for p in products}}, **update})


def with_pack(cat: Catalogue, code: str, **changes: Any) -> Catalogue:
    data = cat.jurisdictions[code].model_dump(by_alias=True)
    data.update(changes)
    pack = JurisdictionPack.model_validate(data)
    return cat.model_copy(update={"jurisdictions": {**cat.jurisdictions, code: pack}})


def cn_vehicle(**over: Any) -> VehicleInfo:
    data: dict[str, Any] = {
        "brand": "BYD", "model": "Seal", "condition": "new", "vehicle_class": "mid",
        "powertrain": "ice", "use": "passenger", "msrp": "200000", "price": "200000",
    }  # fmt: skip
    data.update(over)
    return VehicleInfo.model_validate(data)


def us_vehicle(**over: Any) -> VehicleInfo:
    data: dict[str, Any] = {
        "brand": "Toyota", "model": "RAV4", "condition": "new", "vehicle_class": "mid",
        "powertrain": "ice", "use": "passenger", "msrp": "36000", "price": "35000",
    }  # fmt: skip
    data.update(over)
    return VehicleInfo.model_validate(data)


def structure(term: int = 60, **over: Any) -> StructureRequest:
    return StructureRequest.model_validate(
        {"term": term, "down_payment_pct": "0.2", "start_date": START, **over}
    )


def spc_enforced(cat: Catalogue) -> Catalogue:
    caps = [c.model_dump() for c in cat.jurisdictions["CN"].rate_caps]
    for c in caps:
        if c["id"] == "spc-2020-4x-lpr":
            c["applies_to_licensed_lenders"] = True
    return with_pack(cat, "CN", rate_caps=caps)
