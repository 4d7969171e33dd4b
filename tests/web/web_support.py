"""Shared by the web page tests: a token for each demo principal (names as ``autofin serve`` seeds)."""

from __future__ import annotations

from autofin.api import Principal

TOKENS: dict[str, Principal] = {
    "web-dealer-001-token-0123456789": Principal(name="dealer-001", role="dealer", dealer_id="dealer-001"),
    "web-dealer-002-token-0123456789": Principal(name="dealer-002", role="dealer", dealer_id="dealer-002"),
    "web-customer-token-0123456789": Principal(name="customer", role="customer"),
    "web-underwriter-token-0123456789": Principal(name="underwriter", role="underwriter"),
    "web-analyst-token-0123456789": Principal(name="analyst", role="analyst"),
    "web-admin-token-0123456789": Principal(name="admin", role="admin"),
}


def token_of(name: str) -> str:
    """The token of the demo principal ``name``."""
    return next(token for token, p in TOKENS.items() if p.name == name)
