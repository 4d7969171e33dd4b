"""Shared by the REST service tests: a token per role (and a second dealer), example requests and their
loaders, and the store behind a started client.

Importable from the tests in this folder (pytest puts the folder of a test module without
``__init__.py`` on ``sys.path``); the name is unique so that it never shadows another helper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from autofin.api import Principal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"

TOKENS: dict[str, Principal] = {
    "dealer-token-0123456789": Principal(name="dealer-d1", role="dealer", dealer_id="D1"),
    "customer-token-0123456789": Principal(name="customer-c1", role="customer"),
    "underwriter-token-0123456789": Principal(name="underwriter-u1", role="underwriter"),
    "analyst-token-0123456789": Principal(name="analyst-a1", role="analyst"),
    "admin-token-0123456789": Principal(name="admin", role="admin"),
}

#: :data:`TOKENS` and a second dealer (``D2``), to show that dealers see only their own records.
D2_TOKEN = "dealer-two-token-0123456789"
ALL_TOKENS: dict[str, Principal] = {
    **TOKENS,
    D2_TOKEN: Principal(name="dealer-d2", role="dealer", dealer_id="D2"),
}
#: The Authorization header of the second dealer.
D2 = {"Authorization": f"Bearer {D2_TOKEN}"}

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


def client_sessions(client: TestClient) -> sessionmaker[Session]:
    """The session factory of the store behind a started ``client``."""
    sessions: sessionmaker[Session] = client.app.state.sessions  # type: ignore[attr-defined]
    return sessions
