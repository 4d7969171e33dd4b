"""Funding curves: the market input the cost build-up is priced against.

Following the QuantLib split (DESIGN.md), a curve is *passed in* to the pricing functions; nothing in
:mod:`autofin.pricing` looks a rate up by itself.

* :class:`FundingCurve` — the lender's marginal cost of funds by tenor: annual decimal rates
  (``0.035`` = 3.5 % p.a.) at tenors in **months**, linearly interpolated, flat beyond both ends.
* :class:`Funding` — the funding of one loan: the lender's own curve, optionally blended with a partner
  bank that funds ``partner_share`` of each loan at its own curve (co-lending; China's CBIRC 2021 No. 24
  asks the partner to fund at least 30 % of each jointly funded internet loan — not enforced here, the
  share is an input).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from autofin.errors import ValidationError

__all__ = ["Funding", "FundingCurve"]

FloatArray = NDArray[np.float64]


def _grid(tenors: tuple[int, ...], rates: tuple[float, ...]) -> tuple[FloatArray, FloatArray]:
    """``(tenors, rates)`` as read-only float64 arrays (built once per curve, kept on it: a cache keyed
    on the tuples would mix up curves equal as tuples, such as rates ``(0.0,)`` and ``(-0.0,)``)."""
    xp = np.asarray(tenors, float)
    fp = np.asarray(rates, float)
    xp.setflags(write=False)
    fp.setflags(write=False)
    return xp, fp


@dataclass(frozen=True)
class FundingCurve:
    """Annual decimal funding rates by tenor in months.

    Attributes:
        tenors_months: strictly increasing tenors, in months (at least one; ``0`` is allowed).
        rates: annual decimal rates at those tenors (``0.035`` = 3.5 % p.a.); may be negative.

    :meth:`rate` interpolates linearly in the tenor and is flat beyond the first and the last tenor.
    """

    tenors_months: tuple[int, ...]
    rates: tuple[float, ...]
    _arrays: tuple[FloatArray, FloatArray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tenors = tuple(int(t) for t in self.tenors_months)
        rates = tuple(float(r) for r in self.rates)
        if len(tenors) == 0:
            raise ValidationError("tenors_months", self.tenors_months, "must hold at least one tenor")
        if len(tenors) != len(rates):
            raise ValidationError("rates", self.rates, f"must have one rate per tenor ({len(tenors)})")
        if any(t < 0 for t in tenors):
            raise ValidationError("tenors_months", self.tenors_months, "must be 0 or more months")
        if any(b <= a for a, b in itertools.pairwise(tenors)):
            raise ValidationError("tenors_months", self.tenors_months, "must be strictly increasing")
        if not all(math.isfinite(r) and -1.0 < r < 1.0 for r in rates):
            raise ValidationError("rates", self.rates, "must be finite annual decimals in (-1, 1)")
        object.__setattr__(self, "tenors_months", tenors)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "_arrays", _grid(tenors, rates))

    @classmethod
    def flat(cls, rate: float) -> FundingCurve:
        """A curve at one rate for every tenor."""
        return cls((12,), (rate,))

    @overload
    def rate(self, months: float) -> float: ...
    @overload
    def rate(self, months: npt.NDArray[np.floating] | npt.NDArray[np.integer]) -> FloatArray: ...

    def rate(self, months: float | npt.NDArray[np.floating] | npt.NDArray[np.integer]) -> float | FloatArray:
        """The annual decimal rate at ``months`` (a scalar or an array of tenors in months)."""
        if type(months) is float:
            # Fast path for one Python float (the cost build-up asks one tenor per offer): the same
            # checks and the same ``np.interp`` on the same float64 grid, built once per curve.
            if not math.isfinite(months) or months < 0:
                raise ValidationError("months", months, "must be finite and 0 or more")
            xp, fp = self._arrays
            return float(np.interp(months, xp, fp))
        x = np.asarray(months, dtype=np.float64)
        if not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValidationError("months", months, "must be finite and 0 or more")
        out: FloatArray = np.interp(x, np.asarray(self.tenors_months, float), np.asarray(self.rates, float))
        if np.ndim(months) == 0:
            return float(out)
        return out

    def shifted(self, bp: float) -> FundingCurve:
        """The curve moved in parallel by ``bp`` basis points (``+25`` adds 0.25 % p.a. everywhere)."""
        if not math.isfinite(bp):
            raise ValidationError("bp", bp, "must be finite")
        return FundingCurve(self.tenors_months, tuple(r + bp / 10_000.0 for r in self.rates))


@dataclass(frozen=True)
class Funding:
    """How one loan is funded: the lender's curve, optionally blended with a partner bank's.

    Attributes:
        own: the lender's own funding curve.
        partner: the partner bank's curve (co-lending), or ``None``.
        partner_share: the fraction of each loan the partner funds, in [0, 1]; needs ``partner`` if > 0.

    The blended rate is ``(1 − s) · own(m) + s · partner(m)``.
    """

    own: FundingCurve
    partner: FundingCurve | None = None
    partner_share: float = 0.0

    def __post_init__(self) -> None:
        s = float(self.partner_share)
        if not (math.isfinite(s) and 0.0 <= s <= 1.0):
            raise ValidationError("partner_share", self.partner_share, "must be between 0 and 1")
        if s > 0.0 and self.partner is None:
            raise ValidationError("partner", None, "is required when partner_share is above 0")
        object.__setattr__(self, "partner_share", s)

    @classmethod
    def flat(cls, rate: float) -> Funding:
        """Own funding at one rate for every tenor, no partner."""
        return cls(FundingCurve.flat(rate))

    @overload
    def rate(self, months: float) -> float: ...
    @overload
    def rate(self, months: npt.NDArray[np.floating] | npt.NDArray[np.integer]) -> FloatArray: ...

    def rate(self, months: float | npt.NDArray[np.floating] | npt.NDArray[np.integer]) -> float | FloatArray:
        """The blended annual decimal funding rate at ``months`` (scalar or array of tenors in months)."""
        own = self.own.rate(months)
        if self.partner is None or self.partner_share == 0.0:
            return own
        s = self.partner_share
        return (1.0 - s) * own + s * self.partner.rate(months)

    def shifted(self, bp: float) -> Funding:
        """Both curves moved in parallel by ``bp`` basis points."""
        partner = None if self.partner is None else self.partner.shifted(bp)
        return Funding(self.own.shifted(bp), partner, self.partner_share)
