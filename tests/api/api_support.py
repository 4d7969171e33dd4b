"""Shared by the REST service tests: a token per role, example requests and their loaders.

Importable from the tests in this folder (pytest puts the folder of a test module without
``__init__.py`` on ``sys.path``); the name is unique so that it never shadows another helper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autofin.api import Principal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"

TOKENS: dict[str, Principal] = {
    "dealer-token-0123456789": Principal(name="dealer-d1", role="dealer", dealer_id="D1"),
    "customer-token-0123456789": Principal(name="customer-c1", role="customer"),
    "underwriter-token-0123456789": Principal(name="underwriter-u1", role="underwriter"),
    "analyst-token-0123456789": Principal(name="analyst-a1", role="analyst"),
    "admin-token-0123456789": Principal(name="admin", role="admin"),
}

#: A valid quote request: the standard CN loan on the car of examples/decisions/approve.json.
QUOTE: dict[str, Any] = {
    "product": "cn-standard-equal-instalment",
    "vehicle": {
        "brand": "BYD",
        "model": "Seal",
        "condition": "new",
        "vehicle_class": "mid",
        "powertrain": "nev",
        "use": "passenger",
        "msrp": "189800.00",
        "price": "179800.00",
    },
    "structure": {"term": 36, "down_payment_pct": "0.30", "start_date": "2026-11-20"},
    "applicant": {"bureau_score": 742, "age": 38, "region": "tier1"},
}


def bearer(role: str) -> dict[str, str]:
    """The Authorization header of the test principal with ``role``."""
    (token,) = [t for t, p in TOKENS.items() if p.role == role]
    return {"Authorization": f"Bearer {token}"}


def example(name: str) -> dict[str, Any]:
    """examples/decisions/<name>.json, parsed."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data
