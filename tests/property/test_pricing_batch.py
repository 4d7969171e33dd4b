"""The batch pricer agrees with the one-offer build-up (autofin.pricing.batch vs .buildup)."""

from __future__ import annotations

import numpy as np
import pytest

from autofin.errors import ValidationError
from autofin.pricing import Funding, FundingCurve, PricingAssumptions, minimum_rate, offer_economics
from autofin.pricing.batch import price_offers

REL = 1e-6


def _assumptions(basis: str, discount: float | None) -> PricingAssumptions:
    return PricingAssumptions(
        funding=Funding(
            FundingCurve((6, 24, 48, 84), (0.022, 0.028, 0.033, 0.036)), FundingCurve.flat(0.03), 0.3
        ),
        lgd=0.55,
        opex_origination=250.0,
        opex_annual=0.006,
        capital_ratio=0.09,
        hurdle_rate=0.14,
        tax_rate=0.25,
        dealer_flat=120.0,
        dealer_participation=0.7,
        fi_margin=250.0,
        subvention=150.0,
        funding_basis=basis,  # type: ignore[arg-type]
        discount_rate=discount,
    )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b), 1e-3)


@pytest.mark.parametrize(
    ("basis", "discount", "seed"), [("matched", None, 1), ("wal", None, 2), ("wal", 0.08, 3)]
)
def test_batch_agrees_with_offer_economics(basis: str, discount: float | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500 if seed == 1 else 170
    amount = rng.uniform(3_000, 80_000, n)
    rate = rng.uniform(0.0, 0.25, n)
    rate[:10] = 0.0  # 0 % promotions
    term = rng.integers(1, 97, n)
    pd = rng.uniform(0.0, 0.25, n)
    balloon = amount * rng.uniform(0.0, 0.5, n) * (rng.uniform(size=n) < 0.4)
    markup = rate * rng.uniform(0.0, 0.3, n)
    fee = rng.uniform(0, 500, n)
    a = _assumptions(basis, discount)
    out = price_offers(amount, rate, term, pd, a, balloon=balloon, markup=markup, fee=fee, chunk_size=97)
    for j in range(n):
        e = offer_economics(
            amount[j], rate[j], int(term[j]), pd[j], a, balloon=balloon[j], markup=markup[j], fee=fee[j]
        )
        assert _close(out["npv"][j], e.npv), j
        assert _close(out["raroc"][j], e.raroc), j
        assert bool(out["negative_return"][j]) == e.negative_return or abs(e.npv) < 1e-6
        assert _close(out["wal_months"][j], e.wal_months)
        assert _close(out["net_margin_bp"][j], e.bp["net_margin"])
        if j % 5 == 0:
            try:
                mr = minimum_rate(
                    amount[j], int(term[j]), pd[j], a, a.hurdle_rate, balloon=balloon[j], markup=markup[j],
                    fee=fee[j],
                )  # fmt: skip
            except ValidationError:
                assert np.isnan(out["minimum_rate"][j])
            else:
                assert _close(out["minimum_rate"][j], mr), (j, mr, out["minimum_rate"][j])


def test_batch_term_structure_pd() -> None:
    rng = np.random.default_rng(9)
    n = 60
    marg = rng.uniform(0.0, 0.08, (n, 4))
    amount = rng.uniform(5_000, 40_000, n)
    rate = rng.uniform(0.02, 0.15, n)
    term = rng.integers(6, 73, n)
    a = _assumptions("matched", None)
    out = price_offers(amount, rate, term, marg, a, target_raroc=0.2)
    for j in range(n):
        e = offer_economics(amount[j], rate[j], int(term[j]), list(marg[j]), a)
        assert _close(out["npv"][j], e.npv)
        mr = minimum_rate(amount[j], int(term[j]), list(marg[j]), a, 0.2)
        assert _close(out["minimum_rate"][j], mr)


def test_batch_validation_names_field() -> None:
    a = _assumptions("matched", None)
    with pytest.raises(ValidationError) as err:
        price_offers([1_000.0, -1.0], 0.05, 36, 0.01, a)
    assert err.value.field == "amount[1]"
    with pytest.raises(ValidationError) as err:
        price_offers([1_000.0, 2_000.0], 0.05, [36, 12.5], 0.01, a)
    assert err.value.field == "term_months[1]"
    with pytest.raises(ValidationError) as err:
        price_offers([1_000.0, 2_000.0], 0.05, 36, [0.01, 0.02, 0.03], a)
    assert err.value.field == "annual_pd"
