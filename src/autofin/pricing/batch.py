"""The cost build-up for many offers at once (numpy): NPV, RAROC and the minimum rate per offer.

Same model, same definitions and the same float annuity schedule as
:func:`autofin.pricing.buildup.offer_economics` (a property test holds the two together to 1e-6
relative). The kernel sorts the offers by term, works in chunks of ``chunk_size`` offers and walks the
months once per pass with in-place ufuncs over the offers still running in that month (a month's
arrays only cover the offers whose term reaches it), so memory is a few arrays of one chunk.

The minimum rate for a target RAROC ``T`` solves, per offer,
``r = f + opex_annual + participation·markup + T·k/(1 − tax) + (LGD·EL(r) + U)/BY(r)`` (with
``U = opex_origination + dealer_flat − fi_margin − subvention − fee``, all in currency) by fixed-point
iteration: the right side depends on ``r`` only through the schedule's shape (and the WAL funding
point), so it is a strong contraction; offers iterate until the rate moves less than ``1e-12``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from autofin.errors import ValidationError
from autofin.pricing.buildup import (
    MAX_TERM_MONTHS,
    PricingAssumptions,
    _annual_to_monthly,
    conditional_pds,
)

__all__ = ["price_offers"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_TOL = 1e-12
_MAX_ITER = 60


def _arr(name: str, value: npt.ArrayLike | None, n: int, default: float = 0.0) -> FloatArray:
    if value is None:
        return np.full(n, default)
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, value, "must be numbers") from exc
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, n)):
        raise ValidationError(name, f"shape {a.shape}", f"must be a scalar or one value per offer ({n})")
    out = np.ascontiguousarray(np.broadcast_to(a.reshape(-1) if a.ndim else a, (n,)), dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValidationError(name, float(out[~np.isfinite(out)][0]), "must be finite")
    return out


def _bad(name: str, values: FloatArray | IntArray, bad: NDArray[np.bool_], rule: str) -> None:
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValidationError(f"{name}[{i}]", values[i].item(), rule)


def _pass(
    amount: FloatArray,
    rate: FloatArray,
    term: IntArray,
    balloon: FloatArray,
    hazard: FloatArray,
    disc: FloatArray | None,
    a: PricingAssumptions,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """One walk over the months for offers sorted by term (ascending).

    Returns ``(wal_months, funding_rate, discount_rate, BY, EL_sum)``; ``hazard`` is ``(m,)`` (flat) or
    ``(m, years)``; ``disc`` a given discount rate (None ⇒ the funding rate).
    """
    m = amount.shape[0]
    i = rate / 12.0
    nf = term.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        vn = (1.0 + i) ** (-nf)
        pmt = np.where(i == 0.0, (amount - balloon) / nf, (amount - balloon * vn) * i / (1.0 - vn))
    g = 1.0 + i
    tmax = int(term[-1]) if m else 0
    starts = np.searchsorted(term, np.arange(1, tmax + 1), side="left")  # offers with term ≥ t
    if a.funding_basis == "wal":
        b = amount.copy()
        tot = np.zeros(m)
        for t in range(tmax):
            s = starts[t]
            tot[s:] += b[s:]
            b[s:] *= g[s:]
            b[s:] -= pmt[s:]
        wal = tot / amount
        f = np.asarray(a.funding.rate(wal), dtype=np.float64)
    else:
        # matched funding: the sums of balances are only needed for the reported WAL
        wal = np.empty(m)
        f = np.asarray(a.funding.rate(nf), dtype=np.float64)
    d = f if disc is None else disc
    dfac = 1.0 / (1.0 + d / 12.0)
    b = amount.copy()
    w = np.ones(m)
    surv = np.ones(m)
    by = np.zeros(m)
    el = np.zeros(m)
    tot = np.zeros(m)
    x = np.empty(m)
    flat = hazard.ndim == 1
    if flat:
        omh = 1.0 - hazard
    else:
        years = hazard.shape[1]
        omh_2d = 1.0 - hazard
    for t in range(tmax):
        s = starts[t]
        bs, ws, ss, xs = b[s:], w[s:], surv[s:], x[s:]
        if a.funding_basis != "wal":
            tot[s:] += bs
        ws *= dfac[s:]
        np.multiply(ws, ss, out=xs)
        xs *= bs
        by[s:] += xs
        if flat:
            xs *= hazard[s:]
            ss *= omh[s:]
        else:
            y = min(t // 12, years - 1)
            xs *= hazard[s:, y]
            ss *= omh_2d[s:, y]
        el[s:] += xs
        bs *= g[s:]
        bs -= pmt[s:]
    if a.funding_basis != "wal":
        wal = tot / amount
    by /= 12.0
    return wal, f, np.broadcast_to(d, (m,)).astype(np.float64), by, el


def price_offers(
    amount: npt.ArrayLike,
    rate: npt.ArrayLike,
    term_months: npt.ArrayLike,
    annual_pd: npt.ArrayLike,
    assumptions: PricingAssumptions,
    *,
    balloon: npt.ArrayLike | None = None,
    markup: npt.ArrayLike | None = None,
    fee: npt.ArrayLike | None = None,
    target_raroc: float | None = None,
    minimum_rate: bool = True,
    chunk_size: int = 32_768,
) -> dict[str, NDArray[np.float64] | NDArray[np.bool_]]:
    """NPV, RAROC and minimum rate of N offers (see :mod:`autofin.pricing.buildup` for the model).

    Args:
        amount: amounts financed, currency (> 0), shape ``(N,)`` or scalar.
        rate: customer annual decimal rates in [0, 1] (dealer markup included).
        term_months: terms in whole months, 1 … 600.
        annual_pd: annual PDs with a flat hazard, ``(N,)``; or annual marginal PDs by year, ``(N, Y)``.
        assumptions: the shared :class:`~autofin.pricing.buildup.PricingAssumptions`.
        balloon: balloons paid with the last instalment, currency, in [0, amount] (default 0).
        markup: dealer markups included in ``rate`` (annual decimal, ≤ rate; default 0).
        fee: lender fees paid at signing, currency (default 0).
        target_raroc: the RAROC the minimum rate must reach (annual decimal); default the hurdle rate
            (the break-even rate, NPV = 0).
        minimum_rate: compute the minimum rate (the extra passes cost most of the time).
        chunk_size: offers per block (bounds the memory).

    Returns:
        ``npv`` (currency), ``raroc`` (annual decimal), ``negative_return`` (``npv < 0``),
        ``minimum_rate`` (annual decimal; 0 if a zero rate already meets the target, NaN above 100 %),
        ``funding_rate`` and ``wal_months`` and — in basis points of the average balance —
        ``expected_loss_bp`` and ``net_margin_bp``.
    """
    if not isinstance(assumptions, PricingAssumptions):
        raise ValidationError("assumptions", assumptions, "must be PricingAssumptions")
    a = assumptions
    pd_arr = np.asarray(annual_pd, dtype=np.float64)
    n = 1  # the number of offers: the length of the first input that is not a scalar
    for v in (amount, rate, term_months, annual_pd):
        arr = np.asarray(v)
        if arr.ndim >= 1 and arr.shape[0] != 1:
            n = int(arr.shape[0])
            break
    amt = _arr("amount", amount, n)
    r = _arr("rate", rate, n)
    term_f = _arr("term_months", term_months, n)
    bal = _arr("balloon", balloon, n)
    mk = _arr("markup", markup, n)
    fe = _arr("fee", fee, n)
    _bad("amount", amt, amt <= 0.0, "must be above 0")
    _bad("rate", r, (r < 0.0) | (r > 1.0), "must be between 0 and 1")
    _bad("term_months", term_f, term_f != np.round(term_f), "must be a whole number of months")
    _bad("term_months", term_f, (term_f < 1) | (term_f > MAX_TERM_MONTHS), f"must be 1 to {MAX_TERM_MONTHS}")
    _bad("balloon", bal, (bal < 0.0) | (bal > amt), "must be between 0 and the amount")
    _bad("markup", mk, (mk < 0.0) | (mk > r), "must be between 0 and the rate")
    term = term_f.astype(np.int64)
    if pd_arr.ndim == 2:
        if pd_arr.shape[0] != n or pd_arr.shape[1] == 0:
            raise ValidationError("annual_pd", f"shape {pd_arr.shape}", f"must be (N, years) with N = {n}")
        flat_pd = pd_arr.reshape(-1)
        _bad("annual_pd", flat_pd, ~np.isfinite(flat_pd) | (flat_pd < 0) | (flat_pd > 1), "must be in [0, 1]")
        sums = pd_arr.sum(axis=1)
        _bad("annual_pd", sums, sums > 1.0 + 1e-12, "annual marginal PDs must sum to at most 1")
        hazard = _annual_to_monthly(conditional_pds(pd_arr))
    else:
        p = _arr("annual_pd", annual_pd, n)  # names annual_pd if its length is not N
        _bad("annual_pd", p, (p < 0.0) | (p > 1.0), "must be between 0 and 1")
        hazard = _annual_to_monthly(p)
    target = a.hurdle_rate if target_raroc is None else float(target_raroc)
    if not np.isfinite(target):
        raise ValidationError("target_raroc", target_raroc, "must be finite")
    if int(chunk_size) < 1:
        raise ValidationError("chunk_size", chunk_size, "must be at least 1")

    order = np.argsort(term, kind="stable")
    out = {
        k: np.empty(n)
        for k in (
            "npv",
            "raroc",
            "minimum_rate",
            "funding_rate",
            "wal_months",
            "expected_loss_bp",
            "net_margin_bp",
        )
    }
    disc = None if a.discount_rate is None else np.full(n, a.discount_rate)
    k_cap = a.capital_ratio
    upfront = a.opex_origination + a.dealer_flat - a.fi_margin - a.subvention
    keep = 1.0 - a.tax_rate
    for lo in range(0, n, int(chunk_size)):
        idx = order[lo : lo + int(chunk_size)]
        c_amt, c_rate, c_term, c_bal, c_mk, c_fee = amt[idx], r[idx], term[idx], bal[idx], mk[idx], fe[idx]
        c_haz = hazard[idx]
        c_disc = None if disc is None else disc[idx]
        wal, f, _, by, els = _pass(c_amt, c_rate, c_term, c_bal, c_haz, c_disc, a)
        u = upfront - c_fee
        pre = (c_rate - f - a.opex_annual - a.dealer_participation * c_mk) * by - a.lgd * els - u
        income = keep * pre
        cy = k_cap * by
        npv = income - a.hurdle_rate * cy
        out["npv"][idx] = npv
        out["raroc"][idx] = income / cy
        out["funding_rate"][idx] = f
        out["wal_months"][idx] = wal
        out["expected_loss_bp"][idx] = -a.lgd * els / by * 1e4
        out["net_margin_bp"][idx] = npv / by * 1e4
        if minimum_rate:
            out["minimum_rate"][idx] = _solve_rate(
                c_amt, c_term, c_bal, c_haz, c_disc, c_mk, u, a, target, c_rate, wal, f, by, els
            )
        else:
            out["minimum_rate"][idx] = np.nan
    result: dict[str, NDArray[np.float64] | NDArray[np.bool_]] = dict(out)
    result["negative_return"] = out["npv"] < 0.0
    return result


def _solve_rate(
    amount: FloatArray,
    term: IntArray,
    balloon: FloatArray,
    hazard: FloatArray,
    disc: FloatArray | None,
    markup: FloatArray,
    upfront: FloatArray,
    a: PricingAssumptions,
    target: float,
    rate0: FloatArray,
    wal0: FloatArray,
    f0: FloatArray,
    by0: FloatArray,
    els0: FloatArray,
) -> FloatArray:
    """Fixed-point iteration of the minimum-rate equation (see the module docstring)."""
    const = a.opex_annual + a.dealer_participation * markup + target * a.capital_ratio / (1.0 - a.tax_rate)

    def update(f: FloatArray, by: FloatArray, els: FloatArray, sel: slice | IntArray) -> FloatArray:
        out: FloatArray = f + const[sel] + (a.lgd * els + upfront[sel]) / by
        return out

    r = update(f0, by0, els0, slice(None))
    prev = rate0.copy()
    active = np.nonzero(np.abs(r - prev) > _TOL * np.maximum(1.0, np.abs(r)))[0]
    for _ in range(_MAX_ITER):
        if active.size == 0:
            break
        rs = np.clip(r[active], -0.5, 5.0)  # keep the schedule maths sane while iterating
        sub_disc = None if disc is None else disc[active]
        _, f, _, by, els = _pass(
            amount[active], rs, term[active], balloon[active], hazard[active], sub_disc, a
        )
        new = update(f, by, els, active)
        moved = np.abs(new - rs) > _TOL * np.maximum(1.0, np.abs(new))
        r[active] = new
        active = active[moved]
    # ``active`` is a subset of offers sorted by term, so _pass's ordering assumption holds
    r = np.where(r < 0.0, 0.0, r)
    out: FloatArray = np.where(r > 1.0, np.nan, r)
    return out
