"""(h) Cost build-up for 1,000,000 offers: NPV, RAROC and the break-even (hurdle) minimum rate.

Offers are drawn with a fixed seed (amounts 5k–60k, rates 0–20 %, terms 12–84 months, annual PDs
0–10 %, balloons on a third of them, dealer markups up to 2 %), priced against a four-point own curve
blended 70/30 with a partner bank, WAL funding basis. Timed: :func:`autofin.pricing.batch.price_offers`
with and without the minimum-rate solve (median of 3 runs), and the one-offer path
(:func:`offer_economics`, :func:`minimum_rate`) per offer, which the batch is compared with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.run import Row, measure

SEED = 20260707


def _offers(n: int) -> dict[str, NDArray[Any]]:
    rng = np.random.default_rng(SEED)
    amount = rng.uniform(5_000, 60_000, n)
    rate = rng.uniform(0.0, 0.20, n)
    return {
        "amount": amount,
        "rate": rate,
        "term": rng.integers(12, 85, n),
        "pd": rng.uniform(0.0, 0.10, n),
        "balloon": amount * rng.uniform(0.1, 0.4, n) * (rng.uniform(size=n) < 1 / 3),
        "markup": np.minimum(rate, rng.uniform(0.0, 0.02, n)),
    }


def bench_pricing(quick: bool) -> list[Row]:
    from autofin.pricing import Funding, FundingCurve, PricingAssumptions, minimum_rate, offer_economics
    from autofin.pricing.batch import price_offers

    a = PricingAssumptions(
        funding=Funding(
            FundingCurve((12, 36, 60, 84), (0.025, 0.030, 0.033, 0.035)), FundingCurve.flat(0.028), 0.3
        ),
        lgd=0.5,
        opex_origination=250.0,
        opex_annual=0.006,
        capital_ratio=0.08,
        hurdle_rate=0.15,
        tax_rate=0.25,
        dealer_flat=150.0,
        dealer_participation=0.7,
        fi_margin=300.0,
        subvention=100.0,
        funding_basis="wal",
    )
    n = 100_000 if quick else 1_000_000
    o = _offers(n)

    def run(solve: bool) -> dict[str, Any]:
        return price_offers(
            o["amount"], o["rate"], o["term"], o["pd"], a, balloon=o["balloon"], markup=o["markup"],
            minimum_rate=solve,
        )  # fmt: skip

    full = measure(lambda: run(True), repeat=3, min_time=0.0)
    econ = measure(lambda: run(False), repeat=3, min_time=0.0)
    out = run(True)
    k = 200 if quick else 1_000
    idx = list(range(k))

    def one_by_one() -> None:
        for j in idx:
            offer_economics(
                o["amount"][j], o["rate"][j], int(o["term"][j]), o["pd"][j], a, balloon=o["balloon"][j],
                markup=o["markup"][j],
            )  # fmt: skip

    def one_rate() -> None:
        for j in idx[:100]:
            minimum_rate(
                o["amount"][j], int(o["term"][j]), o["pd"][j], a, a.hurdle_rate, balloon=o["balloon"][j],
                markup=o["markup"][j],
            )  # fmt: skip

    single = measure(one_by_one, ops=k, repeat=3, min_time=0.0)
    single_rate = measure(one_rate, ops=100, repeat=3, min_time=0.0)
    worst = 0.0
    for j in range(50):
        e = offer_economics(
            o["amount"][j], o["rate"][j], int(o["term"][j]), o["pd"][j], a, balloon=o["balloon"][j],
            markup=o["markup"][j],
        )  # fmt: skip
        worst = max(worst, abs(e.npv - out["npv"][j]) / max(1.0, abs(e.npv)))
    neg = float(np.mean(out["negative_return"]))
    rows = [
        Row(
            "h",
            f"autofin price_offers, {n:,} offers (NPV, RAROC, minimum rate)",
            "run",
            full,
            f"{neg:.1%} below the hurdle; agrees with offer_economics to {worst:.1e} rel.",
            ratio=f"{n / full.median:,.0f} offers/s",
        ),
        Row(
            "h",
            f"autofin price_offers, {n:,} offers, no minimum rate",
            "run",
            econ,
            ratio=f"{n / econ.median:,.0f} offers/s",
        ),
        Row(
            "h",
            "autofin offer_economics, one offer at a time",
            "offer",
            single,
            ratio=f"{1 / single.median:,.0f} offers/s; batch {single.median * n / econ.median:,.0f}× faster",
        ),
        Row(
            "h",
            "autofin minimum_rate (brentq), one offer at a time",
            "offer",
            single_rate,
            ratio=f"{1 / single_rate.median:,.0f} offers/s; "
            f"batch {single_rate.median * n / full.median:,.0f}× faster",
        ),
    ]
    return rows
