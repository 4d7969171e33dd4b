"""The exact-pass speed paths equal the straightforward computations they replace.

A decision's exact pass (``offer_economics`` per offer and the catalogue lookups) was made faster by a
scalar path of ``FundingCurve.rate`` on a cached float64 grid, a cached flat monthly hazard, and
``Range.contains`` comparing a ``Decimal`` or an ``int`` directly. Each test checks the fast path
against the plain one on random inputs: bit-equal floats, equal verdicts, the same refusals. No
wall-clock assertions: speed lives in benchmarks.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.catalog.models import Range
from autofin.errors import ValidationError
from autofin.pricing.funding import Funding, FundingCurve

D = Decimal


def _outcome(f: Any, *args: Any) -> Any:
    """``f(*args)``, or the type and ``field`` of the error it raised."""
    try:
        return f(*args)
    except ValidationError as error:
        return (type(error), error.field)
    except (ArithmeticError, ValueError, TypeError) as error:
        return type(error)


@st.composite
def curves(draw: st.DrawFn) -> FundingCurve:
    tenors = sorted(draw(st.sets(st.integers(0, 360), min_size=1, max_size=8)))
    rates = [draw(st.floats(-0.05, 0.2, allow_nan=False)) for _ in tenors]
    return FundingCurve(tuple(tenors), tuple(rates))


def _bits(x: Any) -> Any:
    return x if not isinstance(x, float) else (x, math.copysign(1.0, x), x.hex())


@settings(max_examples=300, deadline=None)
@given(
    curves(),
    st.one_of(
        st.floats(-5.0, 500.0),
        st.integers(0, 360).map(float),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    ),
)
def test_scalar_funding_rate_equals_the_array_path(curve: FundingCurve, months: float) -> None:
    want = _outcome(curve.rate, np.asarray(months, dtype=np.float64))
    got = _outcome(curve.rate, months)
    assert type(got) is type(want)
    assert _bits(got) == _bits(want)
    blended = Funding(curve, FundingCurve((12, 60), (0.03, 0.04)), 0.3)
    assert _bits(_outcome(blended.rate, months)) == _bits(
        _outcome(blended.rate, np.asarray(months, dtype=np.float64))
    )


def test_curves_equal_as_tuples_keep_their_own_grid() -> None:
    """Rates (0.0,) and (-0.0,) are equal tuples with equal hashes: a grid cached on the tuples gave the
    second curve the first one's zero (found by the property test above)."""
    FundingCurve((0,), (0.0,)).rate(0.0)
    negative = FundingCurve((0,), (-0.0,))
    assert _bits(negative.rate(0.0)) == _bits(float(negative.rate(np.asarray(0.0)))) == _bits(-0.0)


# -- Range.contains --------------------------------------------------------------------------------


def _plain_contains(r: Range, value: Any) -> bool:
    v = Decimal(str(value))
    return (r.min is None or v >= r.min) and (r.max is None or v <= r.max)


bounds = st.one_of(st.none(), st.decimals(-1000, 1000, places=4, allow_nan=False, allow_infinity=False))


@settings(max_examples=400, deadline=None)
@given(
    bounds,
    bounds,
    st.one_of(
        st.integers(-2000, 2000),
        st.decimals(-2000, 2000, places=6, allow_nan=False, allow_infinity=False),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.floats(-2000, 2000),
        st.booleans(),
    ),
)
def test_range_contains_equals_the_string_conversion(
    lo: Decimal | None, hi: Decimal | None, value: Any
) -> None:
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    r = Range(min=lo, max=hi)
    with decimal.localcontext(decimal.Context(traps=[decimal.InvalidOperation])):
        assert _outcome(r.contains, value) == _outcome(_plain_contains, r, value)


def test_range_contains_refuses_alike() -> None:
    r = Range(min=D(1), max=D(5))
    for bad in (D("NaN"), D("sNaN"), True):
        assert _outcome(r.contains, bad) == _outcome(_plain_contains, r, bad)
    with pytest.raises(decimal.InvalidOperation):
        r.contains(D("NaN"))


# -- flat hazards ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, -0.0, 1.0, 5e-324])),
    st.sampled_from([1, 2, 3, 4, 6, 12]),
    st.integers(1, 120),
)
def test_cached_flat_hazard_equals_the_conversion(pd: float, ppy: int, months: int) -> None:
    from autofin.pricing.buildup import _annual_to_monthly, monthly_hazards

    for _ in range(2):  # a miss, then a hit
        got = monthly_hazards(pd, months, ppy)
        want = np.full(months, float(_annual_to_monthly(pd, ppy)))
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()  # bit-equal, signed zeros included
