"""Golden RAROC example from a published source.

Source: A. Saunders and L. Allen, *Credit Risk Measurement: New Approaches to Value at Risk and Other
Paradigms*, 2nd ed. (Wiley, 2002), Chapter 13 "Risk-Adjusted Return on Capital Models": the market-based
capital at risk, eq. (13.9), ``ΔL = −D_L · L · ΔR / (1 + R)`` with ``D_L = 2.7`` years, ``L = $1m``,
``ΔR = 1.1 %``, ``R = 10 %`` gives ``ΔL = −$27,000``; and "Calculating the RAROC of the loan example":
spread 0.2 % × $1m = $2,000, fees 0.15 % × $1m = $1,500, expected loss 0.1 % × $0.5m = ($500) (EDF 0.1 %,
LGD 50 %), tax rate 0 %, adjusted income $3,000, RAROC = $3,000 / $27,000 = 11.1 %. (The same
duration-capital example — $27,000 — appears in Saunders & Cornett, *Financial Institutions
Management*, in the chapter on individual loan credit risk.)

The textbook RAROC is a one-year, undiscounted ratio on a $1m loan outstanding all year. It is expressed
with the same functions the platform prices with: one annual period (``periods_per_year=1``), a
bullet loan (balloon = amount), a zero discount rate, the funding rate 0.2 % below the loan rate, and
the capital given as an amount (``capital=``).
"""

from __future__ import annotations

import pytest

from autofin.pricing import Funding, PricingAssumptions, duration_capital, offer_economics

L = 1_000_000.0
R = 0.10


def _assumptions() -> PricingAssumptions:
    return PricingAssumptions(
        funding=Funding.flat(R - 0.002),  # spread over the cost of funds: 0.2 %
        lgd=0.5,
        opex_origination=0.0,
        opex_annual=0.0,
        capital_ratio=0.05,  # overridden by the capital amount below
        hurdle_rate=0.10,
        tax_rate=0.0,
        discount_rate=0.0,
    )


def test_duration_capital_at_risk_is_27000() -> None:
    # eq. (13.9): ΔL = −2.7 × $1m × 0.011 / 1.1 = −$27,000 (we return the capital, its magnitude)
    assert duration_capital(L, 2.7, 0.011, R) == pytest.approx(27_000.0, abs=1e-6)


def test_saunders_allen_raroc_11_1_percent() -> None:
    capital = duration_capital(L, 2.7, 0.011, R)
    e = offer_economics(
        L, R, 12, 0.001, _assumptions(), balloon=L, capital=capital, fee=0.0015 * L, periods_per_year=1
    )
    pv = e.pv
    assert pv["customer_rate"] + pv["funding"] == pytest.approx(2_000.0, abs=1e-6)  # spread
    assert pv["fees"] == pytest.approx(1_500.0, abs=1e-9)
    assert pv["expected_loss"] == pytest.approx(-500.0, abs=1e-6)  # 0.1 % × $0.5m
    assert pv["tax"] == 0.0
    assert e.risk_adjusted_income == pytest.approx(3_000.0, abs=1e-6)  # adjusted income
    assert e.capital == pytest.approx(27_000.0, abs=1e-6)
    assert e.capital_years == pytest.approx(27_000.0, abs=1e-6)  # held for exactly one year
    assert e.raroc == pytest.approx(3_000.0 / 27_000.0, rel=1e-12)
    assert round(e.raroc * 100, 1) == 11.1
    # "If cost of capital < 11.1 % then make loan": at a 10 % hurdle the NPV is positive
    assert not e.negative_return
    assert e.npv == pytest.approx(3_000.0 - 0.10 * 27_000.0, abs=1e-6)
