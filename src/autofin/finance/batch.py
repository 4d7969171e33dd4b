"""Vectorised contract math for many contracts at once.

Two kinds of kernel live here:

* :func:`batch_schedule` — exact, to-the-cent repayment schedules for N contracts in one call, in
  integer cents (``int64``). It mirrors the conventions of the exact Decimal engine
  (:mod:`autofin.finance.schedule`) so that both paths agree on every row; a property test holds them
  together.
* :func:`project_cashflows` — expected (float) cash flows of a portfolio of loans under prepayment
  (SMM, CPR or auto-ABS "% ABS" speed), default (MDR or CDR) and lagged recovery, aggregated by calendar
  month. It never materialises per-loan outputs and runs in blocks of loans with in-place ufuncs.

Units: money in the exact kernel is integer **cents**; money in the projection is whatever currency unit
the caller passes (floats). Rates are annual decimals (``0.0599``). Periods are months.
See ``docs/batch.md`` for the conventions and a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from autofin.errors import ValidationError

__all__ = [
    "MAX_BALANCE_CENTS",
    "MAX_PRINCIPAL_CENTS",
    "RATE_SCALE",
    "SHAPES",
    "BatchSchedule",
    "CashflowProjection",
    "abs_to_smm",
    "batch_schedule",
    "cdr_to_mdr",
    "cpr_to_smm",
    "project_cashflows",
    "rate_to_units",
    "smm_to_cpr",
]

Shape = Literal["annuity", "equal_principal", "balloon", "step", "interest_only"]
#: Payment shapes understood by :func:`batch_schedule` (the index is the integer shape code).
SHAPES: Final[tuple[str, ...]] = ("annuity", "equal_principal", "balloon", "step", "interest_only")
_EQUAL_PRINCIPAL: Final = 1

#: Annual rates are carried as integers in units of 1e-8 (so 5.99 % p.a. is 5_990_000).
RATE_SCALE: Final = 100_000_000
_MAX_RATE_UNITS: Final = RATE_SCALE  # 100 % p.a.
#: Largest principal accepted by the exact kernel, in cents (1e8 currency units).
MAX_PRINCIPAL_CENTS: Final = 10_000_000_000
#: Largest balance the int64 interest formula may meet: 2·B·R must stay below 2**63.
MAX_BALANCE_CENTS: Final = 40_000_000_000
_MAX_TERM: Final = 1200
# A float payment whose fractional cent lies this close (relative) to one half is recomputed exactly.
_TIE_TOLERANCE: Final = 1e-11

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def _broadcast_int(name: str, value: npt.ArrayLike, n: int, *, view: bool = False) -> IntArray:
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValidationError(name, value, "must be whole numbers")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        try:
            arr = arr.astype(np.int64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(name, value, "must be integers") from exc
    if arr.ndim > 1:
        raise ValidationError(name, value, "must be a scalar or a 1-D array")
    if arr.ndim == 1 and arr.shape[0] != n:
        raise ValidationError(name, value, f"must have one entry per contract ({n})")
    if view:  # a read-only view of the input (a scalar is broadcast with stride 0)
        return np.broadcast_to(arr.astype(np.int64, copy=False), (n,))
    out: IntArray = np.ascontiguousarray(np.broadcast_to(arr.astype(np.int64), (n,))).copy()
    return out


def _broadcast_float(name: str, value: npt.ArrayLike, n: int, *, view: bool = False) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, value, "must be numbers") from exc
    if arr.ndim > 1:
        raise ValidationError(name, value, "must be a scalar or a 1-D array")
    if arr.ndim == 1 and arr.shape[0] != n:
        raise ValidationError(name, value, f"must have one entry per contract ({n})")
    if not np.all(np.isfinite(arr)):
        raise ValidationError(name, value, "must be finite")
    if view:  # a read-only view of the input (a scalar is broadcast with stride 0)
        return np.broadcast_to(arr, (n,))
    out: FloatArray = np.ascontiguousarray(np.broadcast_to(arr, (n,))).copy()
    return out


def rate_to_units(annual_rate: npt.ArrayLike | Sequence[Decimal | str | float]) -> IntArray:
    """Convert annual decimal rates to integer units of 1e-8 (``R = r × 1e8``).

    Floats, ints, ``Decimal`` and decimal strings are accepted. A rate with more than eight decimals
    (after allowing for binary float noise) is rejected, as is a rate outside [0, 1].

    Returns:
        int64 array of rates in 1e-8 units (0.0599 → 5_990_000).
    """
    arr = np.asarray(annual_rate)
    if arr.ndim > 1:
        raise ValidationError("annual_rate", annual_rate, "must be a scalar or a 1-D array")
    flat = arr.reshape(-1)
    if arr.dtype.kind in "fiub":
        scaled = flat.astype(np.float64) * RATE_SCALE
        if not np.all(np.isfinite(scaled)):
            raise ValidationError("annual_rate", annual_rate, "must be finite")
        units = np.rint(scaled)
        # float noise in r × 1e8 is below 1e-7 for |r| ≤ 1; a ninth decimal moves it by ≥ 0.1
        bad = np.abs(scaled - units) > 1e-6
        if np.any(bad):
            raise ValidationError(
                "annual_rate", flat[np.argmax(bad)].item(), "must have at most 8 decimals (1e-8 units)"
            )
        out = units.astype(np.int64)
    else:
        vals: list[int] = []
        for item in flat.tolist():
            try:
                d = Decimal(str(item))
            except InvalidOperation as exc:
                raise ValidationError("annual_rate", item, "must be a decimal number") from exc
            scaled_d = d * RATE_SCALE
            if not d.is_finite() or scaled_d != scaled_d.to_integral_value():
                raise ValidationError("annual_rate", item, "must have at most 8 decimals (1e-8 units)")
            vals.append(int(scaled_d))
        out = np.asarray(vals, dtype=np.int64)
    if np.any(out < 0) or np.any(out > _MAX_RATE_UNITS):
        raise ValidationError("annual_rate", annual_rate, "must be between 0 and 1 (0 % to 100 % p.a.)")
    result: IntArray = out.reshape(arr.shape)
    return result


def _interest_cents(balance: IntArray, rate_units: IntArray) -> IntArray:
    """round_half_up(B × R / (12 × 1e8)) in integer cents, half away from zero for negative B."""
    mag = np.abs(balance)
    res: IntArray = (2 * mag * rate_units + 12 * RATE_SCALE) // (24 * RATE_SCALE)
    return np.where(balance < 0, -res, res)


def _shape_codes(shape: str | Sequence[str] | npt.ArrayLike, n: int) -> IntArray:
    if isinstance(shape, str):
        if shape not in SHAPES:
            raise ValidationError("shape", shape, f"must be one of {SHAPES}")
        return np.full(n, SHAPES.index(shape), dtype=np.int64)
    else:
        arr = np.asarray(shape)
        if arr.dtype.kind in "iu":
            codes = _broadcast_int("shape", arr, n)
            if np.any((codes < 0) | (codes >= len(SHAPES))):
                raise ValidationError("shape", shape, f"codes must index {SHAPES}")
            return codes
        names = [str(s) for s in arr.reshape(-1).tolist()]
        if len(names) == 1:
            names = names * n
        if len(names) != n:
            raise ValidationError("shape", shape, f"must have one entry per contract ({n})")
    lookup = {name: code for code, name in enumerate(SHAPES)}
    try:
        return np.asarray([lookup[s] for s in names], dtype=np.int64)
    except KeyError as exc:
        raise ValidationError("shape", exc.args[0], f"must be one of {SHAPES}") from exc


def _common_length(*values: object) -> int:
    """The number of contracts: the length of the 1-D inputs (1 if every input is a scalar)."""
    n = 1
    for v in values:
        if isinstance(v, str):
            continue
        arr = np.asarray(v)
        if arr.ndim == 1 and arr.shape[0] != 1:
            n = int(arr.shape[0]) if n == 1 else n
    return n


def _decimal_fraction(value: float) -> Fraction:
    """A float read as the decimal it was written as (0.05 → 1/20), as the Decimal engine reads it."""
    return Fraction(Decimal(repr(float(value))))


# --------------------------------------------------------------------------------------------------
# exact schedules (integer cents)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchSchedule:
    """Schedules of N contracts in integer cents; arrays are (N, max_term), zero past each term.

    Attributes:
        instalment: regular instalment paid in each period (excludes the balloon), cents.
        interest: interest part of each instalment, cents.
        principal: principal repaid in each period (the last period includes the balloon), cents.
        balance_after: outstanding balance after each period's payment, cents (0 after the last).
        balloon: balloon amount due with the last instalment, cents, shape (N,).
        term: number of schedule rows of each contract, shape (N,): the contractual term, or fewer when
            rounded payments repay a tiny loan early.
    """

    instalment: IntArray
    interest: IntArray
    principal: IntArray
    balance_after: IntArray
    balloon: IntArray
    term: IntArray

    @property
    def n_contracts(self) -> int:
        """Number of contracts (rows)."""
        return int(self.instalment.shape[0])

    def total_interest(self) -> IntArray:
        """Total interest of each contract, cents, shape (N,)."""
        out: IntArray = self.interest.sum(axis=1)
        return out

    def total_paid(self) -> IntArray:
        """Everything the borrower pays (instalments + balloon), cents, shape (N,)."""
        out: IntArray = self.instalment.sum(axis=1) + self.balloon
        return out


def _step_factor_exponents(m_max: int, step_every: IntArray, step_grace: IntArray) -> IntArray:
    """Exponent e_k = max(0, floor((k − g0 − 1) / every)) for amortising periods k = 1..m_max."""
    k = np.arange(1, m_max + 1, dtype=np.int64)[None, :]
    e: IntArray = np.maximum(0, (k - step_grace[:, None] - 1) // step_every[:, None])
    return e


def _exact_payments(
    principal: int,
    balloon: int,
    rate_units: int,
    m: int,
    factors: Sequence[Fraction],
) -> list[int]:
    """Rounded payments round_half_up(P·f_k) for one contract, in exact rational arithmetic."""
    i = Fraction(rate_units, 12 * RATE_SCALE)
    if i == 0:
        base = Fraction(principal - balloon) / sum(factors, Fraction(0))
    else:
        one_i = 1 + i
        growth = one_i**m
        denom = sum((f * one_i ** (m - k) for k, f in enumerate(factors, start=1)), Fraction(0))
        base = (principal * growth - balloon) / denom
    half = Fraction(1, 2)
    return [int((base * f + half) // 1) for f in factors]


def batch_schedule(
    principal_cents: npt.ArrayLike,
    annual_rate: npt.ArrayLike | Sequence[Decimal | str | float],
    term_months: npt.ArrayLike,
    *,
    shape: str | Sequence[str] | npt.ArrayLike = "annuity",
    balloon_cents: npt.ArrayLike = 0,
    interest_only_periods: npt.ArrayLike = 0,
    step_rate: npt.ArrayLike = 0.0,
    step_every: npt.ArrayLike = 12,
    step_grace: npt.ArrayLike = 0,
    step_factors: npt.ArrayLike | None = None,
) -> BatchSchedule:
    """Exact monthly schedules of N declining-balance loans, in integer cents.

    Conventions (the same as the exact Decimal engine, default rounding):

    * monthly interest of period k = round_half_up(B_{k−1} × r / 12), computed in integers as
      ``(2·B·R + 12e8) // 24e8`` with ``R = r × 1e8``;
    * the first ``interest_only_periods`` periods pay interest only; the remaining m = n − io periods
      amortise (io = n is a bullet loan);
    * annuity-like shapes (``annuity``, ``balloon``, ``step``, ``interest_only``): unrounded base
      payment P = (B0·(1+i)^m − B_bal) / Σ_{k=1..m} f_k (1+i)^{m−k} (i = 0: (B0 − B_bal)/Σ f_k) and
      payment_k = round_half_up(P·f_k); f ≡ 1 unless stepped;
    * ``equal_principal``: principal_k = round_half_up((B0 − B_bal)/m) in amortising periods;
    * principal_k = payment_k − interest_k (negative amortisation allowed); the last period repays the
      whole remaining balance: its regular instalment is B_{n−1} − B_bal + interest_n and the balloon
      B_bal is reported separately (so Σ principal = B0 exactly).

    Args:
        principal_cents: amount financed B0, cents, 1 ≤ B0 ≤ 1e10; scalar or (N,).
        annual_rate: nominal annual rate as a decimal (0.0599), at most 8 decimals, 0 ≤ r ≤ 1.
        term_months: number of monthly periods n, 1 ≤ n ≤ 1200 (ragged terms allowed).
        shape: one of :data:`SHAPES` (or a sequence, one per contract, or integer codes).
        balloon_cents: final balloon B_bal, cents, 0 ≤ B_bal ≤ B0 (shape ``balloon`` requires > 0).
        interest_only_periods: io, 0 ≤ io ≤ n (shape ``interest_only`` requires ≥ 1).
        step_rate: growth g of stepped payments, applied every ``step_every`` amortising periods after
            ``step_grace`` periods: f_k = (1+g)^max(0, floor((k − step_grace − 1)/step_every)); g > −1.
            With ``step_grace = 0`` this is the exact engine's ``Steps(growth_rate=g, every=...)``.
            Read as the decimal it prints as (0.05 means exactly 5/100).
        step_every: periods between steps, ≥ 1.
        step_grace: amortising periods before the step clock starts, ≥ 0.
        step_factors: optional explicit factors f_k, shape (N, max m) or (max m,), indexed by
            amortising period; overrides ``step_rate`` for ``step`` contracts. Values > 0.

    Returns:
        a :class:`BatchSchedule` of (N, max n) int64 arrays.

    Raises:
        ValidationError: an input is out of range or inconsistent.
    """
    n_contracts = _common_length(
        principal_cents, annual_rate, term_months, shape, balloon_cents, interest_only_periods, step_rate
    )
    b0 = _broadcast_int("principal_cents", principal_cents, n_contracts)
    rate = rate_to_units(annual_rate)
    if rate.ndim == 1 and rate.shape[0] != n_contracts:
        raise ValidationError("annual_rate", annual_rate, f"must have one entry per contract ({n_contracts})")
    rate = np.ascontiguousarray(np.broadcast_to(rate, (n_contracts,)))
    term = _broadcast_int("term_months", term_months, n_contracts)
    codes = _shape_codes(shape, n_contracts)
    bal = _broadcast_int("balloon_cents", balloon_cents, n_contracts)
    io = _broadcast_int("interest_only_periods", interest_only_periods, n_contracts)
    g = _broadcast_float("step_rate", step_rate, n_contracts)
    every = _broadcast_int("step_every", step_every, n_contracts)
    grace = _broadcast_int("step_grace", step_grace, n_contracts)

    if n_contracts == 0:
        z = np.zeros((0, 0), dtype=np.int64)
        e = np.zeros(0, dtype=np.int64)
        return BatchSchedule(z, z.copy(), z.copy(), z.copy(), e, e.copy())
    if np.any((b0 < 1) | (b0 > MAX_PRINCIPAL_CENTS)):
        raise ValidationError(
            "principal_cents", principal_cents, f"must be between 1 and {MAX_PRINCIPAL_CENTS}"
        )
    if np.any((term < 1) | (term > _MAX_TERM)):
        raise ValidationError("term_months", term_months, f"must be between 1 and {_MAX_TERM}")
    if np.any((bal < 0) | (bal >= b0)):
        raise ValidationError(
            "balloon_cents", balloon_cents, "must be at least 0 and less than the principal"
        )
    if np.any((io < 0) | (io > term)):
        raise ValidationError(
            "interest_only_periods", interest_only_periods, "must be between 0 and the term"
        )
    if np.any(g <= -1.0):
        raise ValidationError("step_rate", step_rate, "must be greater than -1")
    if np.any(every < 1):
        raise ValidationError("step_every", step_every, "must be at least 1")
    if np.any(grace < 0):
        raise ValidationError("step_grace", step_grace, "must not be negative")
    if np.any((codes == SHAPES.index("balloon")) & (bal == 0)):
        raise ValidationError("balloon_cents", balloon_cents, "shape 'balloon' needs a positive balloon")
    if np.any((codes == SHAPES.index("interest_only")) & (io == 0)):
        raise ValidationError(
            "interest_only_periods", interest_only_periods, "shape 'interest_only' needs at least one period"
        )

    m = term - io
    max_n = int(term.max())
    max_m = int(m.max())
    is_step = codes == SHAPES.index("step")
    is_ep = codes == _EQUAL_PRINCIPAL

    # ---- factors f_k for the amortising periods (float for the fast path, exact for ties) ----
    explicit: FloatArray | None = None
    if step_factors is not None:
        sf = np.asarray(step_factors, dtype=np.float64)
        if sf.ndim == 1:
            sf = np.broadcast_to(sf, (n_contracts, sf.shape[0]))
        if sf.ndim != 2 or sf.shape[0] != n_contracts:
            raise ValidationError("step_factors", "array", "must be (max m,) or (N, max m)")
        if sf.shape[1] < max_m:
            raise ValidationError("step_factors", sf.shape, f"needs at least {max_m} columns")
        sf = sf[:, :max_m]
        if not np.all(np.isfinite(sf)) or np.any(sf[is_step] <= 0):
            raise ValidationError("step_factors", "array", "must be finite and positive")
        explicit = np.where(is_step[:, None], sf, 1.0)
    exps = _step_factor_exponents(max_m, every, grace)
    if explicit is not None:
        factors = explicit
    else:
        factors = np.where(is_step[:, None], np.power(1.0 + g[:, None], exps), 1.0)
    kk = np.arange(1, max_m + 1, dtype=np.int64)[None, :]
    in_amort = kk <= m[:, None]
    factors = np.where(in_amort, factors, 0.0)

    # ---- unrounded base payment P (cents) ----
    i = rate.astype(np.float64) / (12.0 * RATE_SCALE)
    log1p_i = np.log1p(i)
    mf = m.astype(np.float64)
    growth = np.exp(mf * log1p_i)
    disc_pow = np.exp(np.maximum(m[:, None] - kk, 0).astype(np.float64) * log1p_i[:, None])
    denom = np.where(in_amort, factors * disc_pow, 0.0).sum(axis=1)
    plain = ~is_step & (i > 0)
    # level payments: Σ (1+i)^{m−k} = expm1(m·log1p i)/i, which avoids cancellation for small i
    with np.errstate(divide="ignore", invalid="ignore"):
        level_denom = np.expm1(mf * log1p_i) / i
    denom = np.where(plain, level_denom, denom)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = (b0.astype(np.float64) * growth - bal.astype(np.float64)) / denom
    base = np.where(m > 0, base, 0.0)
    raw = base[:, None] * factors
    payments = np.floor(raw + 0.5)
    frac = raw - np.floor(raw)
    near_tie = np.abs(frac - 0.5) <= _TIE_TOLERANCE * np.maximum(1.0, np.abs(raw))
    needs_exact = np.any(near_tie & in_amort, axis=1) & ~is_ep
    pay = payments.astype(np.int64)
    for j in np.flatnonzero(needs_exact).tolist():
        mj = int(m[j])
        if explicit is not None and is_step[j]:
            fj = [_decimal_fraction(x) for x in explicit[j, :mj].tolist()]
        elif is_step[j]:
            one_g = 1 + _decimal_fraction(float(g[j]))
            fj = [one_g ** int(e) for e in exps[j, :mj].tolist()]
        else:
            fj = [Fraction(1)] * mj
        pay[j, :mj] = _exact_payments(int(b0[j]), int(bal[j]), int(rate[j]), mj, fj)

    # equal principal: round_half_up((B0 − B_bal)/m)
    m_safe = np.maximum(m, 1)
    ep_principal = (2 * (b0 - bal) + m_safe) // (2 * m_safe)

    # ---- period loop, vectorised across contracts ----
    instalment = np.zeros((n_contracts, max_n), dtype=np.int64)
    interest = np.zeros_like(instalment)
    principal = np.zeros_like(instalment)
    balance_after = np.zeros_like(instalment)
    balance = b0.copy()
    peak = int(balance.max())
    rows_used = term.copy()
    running = np.ones(n_contracts, dtype=bool)
    contract_idx = np.arange(n_contracts)
    for k in range(1, max_n + 1):
        active = running & (term >= k)
        if not active.any():
            break
        intr = _interest_cents(balance, rate)
        amort_idx = k - io - 1  # index into the amortising-period payments
        in_io = amort_idx < 0
        if max_m > 0:
            level = pay[contract_idx, np.clip(amort_idx, 0, max_m - 1)]
        else:
            level = np.zeros(n_contracts, dtype=np.int64)
        prin = np.where(is_ep, ep_principal, level - intr)
        prin = np.where(in_io, 0, prin)
        # the last period, or an amortising period whose payment already reaches the balloon (rounding
        # can make tiny loans finish early), repays everything left
        last = (term == k) | (~in_io & (balance - prin <= bal))
        prin = np.where(last, balance, prin)
        inst = prin + intr - np.where(last, bal, 0)
        prin = np.where(active, prin, 0)
        intr = np.where(active, intr, 0)
        inst = np.where(active, inst, 0)
        balance = balance - prin
        instalment[:, k - 1] = inst
        interest[:, k - 1] = intr
        principal[:, k - 1] = prin
        balance_after[:, k - 1] = balance
        ended = active & last
        rows_used[ended] = k
        running &= ~ended
        top = int(np.abs(balance).max())
        if top > peak:
            peak = top
            if peak > MAX_BALANCE_CENTS:
                raise ValidationError(
                    "step_rate",
                    step_rate,
                    f"negative amortisation drives a balance above {MAX_BALANCE_CENTS} cents",
                )
    return BatchSchedule(instalment, interest, principal, balance_after, bal, rows_used)


# --------------------------------------------------------------------------------------------------
# prepayment and default speed conversions
# --------------------------------------------------------------------------------------------------


def cpr_to_smm(cpr: npt.ArrayLike) -> FloatArray:
    """Single monthly mortality from a conditional prepayment rate: SMM = 1 − (1 − CPR)^(1/12)."""
    c = np.asarray(cpr, dtype=np.float64)
    out: FloatArray = -np.expm1(np.log1p(-c) / 12.0)
    return out


def smm_to_cpr(smm: npt.ArrayLike) -> FloatArray:
    """Annualised prepayment rate from SMM: CPR = 1 − (1 − SMM)^12."""
    s = np.asarray(smm, dtype=np.float64)
    out: FloatArray = -np.expm1(12.0 * np.log1p(-s))
    return out


def cdr_to_mdr(cdr: npt.ArrayLike) -> FloatArray:
    """Monthly default rate from a constant (annual) default rate: MDR = 1 − (1 − CDR)^(1/12)."""
    return cpr_to_smm(cdr)


def abs_to_smm(abs_speed: npt.ArrayLike, age: npt.ArrayLike) -> FloatArray:
    """SMM implied by an auto-ABS "% ABS" speed (BMA Standard Formulas, 1999).

    SMM = ABS / (1 − ABS·(age − 1)), ABS as a fraction (1.5 % ABS → 0.015), age = months since
    origination at the end of the month (1 in the first month). Where the denominator reaches zero the
    pool is exhausted and SMM is 1.
    """
    a = np.asarray(abs_speed, dtype=np.float64)
    ages = np.asarray(age, dtype=np.float64)
    den = 1.0 - a * (ages - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = np.where(den > a, a / den, 1.0)
    out: FloatArray = np.clip(smm, 0.0, 1.0)
    return out


# --------------------------------------------------------------------------------------------------
# portfolio cash-flow projection (floats)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CashflowProjection:
    """Expected pool cash flows by projection month (index 0 is month 1), currency units.

    The arrays run for ``months + recovery_lag`` months so that every default's recovery is reported;
    in the tail months only recoveries and losses are non-zero.

    Attributes:
        opening_balance: performing balance at the start of the month.
        defaults: performing balance that defaults this month (defaulted loans pay nothing that month).
        scheduled_interest: interest paid by the loans that did not default.
        scheduled_principal: scheduled principal paid by those loans (the final balance, and any
            balloon, at maturity).
        prepayments: unscheduled principal paid in full by prepaying loans.
        recoveries: (1 − severity) × defaults of ``recovery_lag`` months earlier.
        losses: severity × defaults of ``recovery_lag`` months earlier.
        ending_balance: performing balance at the end of the month.
        loans_performing: expected number of loans still performing (not prepaid, defaulted or
            matured) at the end of the month.
    """

    opening_balance: FloatArray
    defaults: FloatArray
    scheduled_interest: FloatArray
    scheduled_principal: FloatArray
    prepayments: FloatArray
    recoveries: FloatArray
    losses: FloatArray
    ending_balance: FloatArray
    loans_performing: FloatArray

    @property
    def months(self) -> int:
        """Number of reported months (projection horizon plus recovery lag)."""
        return int(self.opening_balance.shape[0])

    def as_dict(self) -> dict[str, FloatArray]:
        """The columns by name (handy for a polars/pandas frame)."""
        return {name: getattr(self, name) for name in self.__slots__}


def _speed_vector(name: str, value: npt.ArrayLike, months: int) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(months, float(arr))
    if arr.ndim != 1 or arr.shape[0] < months:
        raise ValidationError(name, value, f"must be a scalar or a vector of at least {months} months")
    arr = arr[:months]
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValidationError(name, value, "must be fractions between 0 and 1")
    out: FloatArray = arr.copy()
    return out


def _level_payment(balance: FloatArray, i: FloatArray, m: IntArray, balloon: FloatArray) -> FloatArray:
    """Level payment amortising ``balance`` to ``balloon`` over m months at monthly rate i (floats)."""
    mf = m.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v_m = np.exp(-mf * np.log1p(i))
        annuity = np.where(i > 0, -np.expm1(-mf * np.log1p(i)) / i, mf)
        pmt = (balance - balloon * v_m) / annuity
    out: FloatArray = np.where(m > 0, pmt, 0.0)
    return out


def _balance_at_horizon(
    p: FloatArray, log_g: FloatArray, mf: FloatArray, ib: FloatArray, beyond: IntArray, horizon: int
) -> FloatArray:
    """Scheduled balance (balloon excluded) at month ``horizon`` of the loans ``beyond`` it:
    B_T = π_1·g^T·(g^(m−T) − 1)/i, or π_1·(m − T) when i = 0."""
    lg = log_g[beyond]
    left = mf[beyond] - horizon
    ibb = ib[beyond]
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(ibb > 0, np.expm1(left * lg) / ibb, left)
    out: FloatArray = p[beyond] * np.exp(horizon * lg) * annuity
    return out


def _amortise_by_cohort(
    bal0: FloatArray,
    i: FloatArray,
    rem: IntArray,
    ages: IntArray,
    io_rem: IntArray,
    alpha0: FloatArray,
    beta0: FloatArray,
    alpha_amort: FloatArray,
    beta_amort: FloatArray,
    horizon: int,
    block_size: int,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Scheduled (no prepayment, no default) balances and interest summed by age cohort and month.

    Each loan follows b ← α·b − β (α = 1 + i, β = level payment for annuities; α = 1, β = level
    principal for equal principal; α = 1, β = 0 while interest-only; α = β = 0 in the maturity month, so
    the whole balance, balloon included, is repaid). Loans are sorted by age, then by remaining term
    (longest first), so a block that holds one cohort only works on the prefix of loans not yet matured
    and reduces with a dot product and a sum; blocks that pack several small cohorts reduce with
    ``np.add.reduceat``.

    Returns:
        cohort ages (C,); Σ interest of month t at [c, t−1], (C, T); Σ balance at the end of month t at
        [c, t], (C, T+1), column 0 the opening balance; number of loans with remaining term ≥ t at
        [c, t], (C, T+2).
    """
    n_loans = int(bal0.shape[0])
    cap = np.uint16(_MAX_TERM + 1)
    # two stable radix sorts (uint16 keys): by remaining term descending, then by age
    by_term = np.argsort(cap - rem.astype(np.uint16), kind="stable")
    order = by_term[np.argsort(ages[by_term].astype(np.uint16), kind="stable")]
    ages_sorted = ages[order]
    rem_sorted = rem[order]
    run_starts = np.flatnonzero(np.r_[True, ages_sorted[1:] != ages_sorted[:-1]])
    run_ends = np.r_[run_starts[1:], n_loans]
    cohort_ages: IntArray = ages_sorted[run_starts]
    n_cohorts = int(cohort_ages.shape[0])
    cohort_sorted = np.repeat(np.arange(n_cohorts), run_ends - run_starts)

    sum_int = np.zeros((n_cohorts, horizon))
    sum_bal = np.zeros((n_cohorts, horizon + 1))
    sum_bal[:, 0] = np.add.reduceat(bal0[order], run_starts) if n_loans else 0.0
    width = horizon + 2
    counts = np.bincount(
        cohort_sorted * width + np.minimum(rem_sorted, horizon + 1), minlength=n_cohorts * width
    )
    alive = counts.reshape(n_cohorts, width)[:, ::-1].cumsum(axis=1)[:, ::-1].astype(np.float64)

    blocks = _blocks(run_starts, run_ends, n_loans, block_size)
    months_idx = np.arange(1, horizon + 2)
    for lo, hi in blocks:
        idx = order[lo:hi]
        b = bal0[idx]
        ib = i[idx]
        alpha = alpha0[idx]
        beta = beta0[idx]
        mat = rem_sorted[lo:hi]
        coh = cohort_sorted[lo:hi]
        seg_starts = np.flatnonzero(np.r_[True, coh[1:] != coh[:-1]])
        seg_coh = coh[seg_starts]
        single = seg_starts.shape[0] == 1
        last_month = min(int(mat.max()), horizon)
        blk_int = np.zeros((last_month, seg_starts.shape[0]))
        blk_bal = np.zeros((last_month, seg_starts.shape[0]))
        if single:
            # sorted by remaining term descending: loans alive in month t are the prefix [0, n_alive[t])
            n_alive = np.searchsorted(-mat, -months_idx, side="right").tolist()
        else:
            mat_order = np.argsort(mat, kind="stable")
            mat_bounds = np.searchsorted(mat[mat_order], months_idx).tolist()
            tmp = np.empty_like(b)
        io_b = io_rem[idx]
        has_io = np.flatnonzero(io_b > 0)
        if has_io.shape[0]:
            io_order = has_io[np.argsort(io_b[has_io], kind="stable")]
            io_bounds = np.searchsorted(io_b[io_order] + 1, months_idx).tolist()
            a_amort = alpha_amort[idx]
            b_amort = beta_amort[idx]
        for t in range(1, last_month + 1):
            if has_io.shape[0]:
                e0, e1 = io_bounds[t - 1], io_bounds[t]
                if e1 > e0:
                    sel = io_order[e0:e1]
                    alpha[sel] = a_amort[sel]
                    beta[sel] = b_amort[sel]
            if single:
                n_t, n_next = n_alive[t - 1], n_alive[t]
                alpha[n_next:n_t] = 0.0
                beta[n_next:n_t] = 0.0
                bv = b[:n_t]
                blk_int[t - 1, 0] = np.dot(bv, ib[:n_t])
                np.multiply(bv, alpha[:n_t], out=bv)
                np.subtract(bv, beta[:n_t], out=bv)
                blk_bal[t - 1, 0] = bv[:n_next].sum()
            else:
                m0, m1 = mat_bounds[t - 1], mat_bounds[t]
                if m1 > m0:
                    sel = mat_order[m0:m1]
                    alpha[sel] = 0.0
                    beta[sel] = 0.0
                np.multiply(b, ib, out=tmp)
                blk_int[t - 1] = np.add.reduceat(tmp, seg_starts)
                np.multiply(b, alpha, out=b)
                np.subtract(b, beta, out=b)
                blk_bal[t - 1] = np.add.reduceat(b, seg_starts)
        sum_int[seg_coh, :last_month] += blk_int.T
        sum_bal[seg_coh, 1 : last_month + 1] += blk_bal.T
    return cohort_ages, sum_int, sum_bal, alive


def _outside(arr: npt.NDArray[np.int64] | FloatArray, lo: float, hi: float) -> bool:
    """Whether some entry lies outside [lo, hi] (min/max reductions, no temporary arrays)."""
    return bool(arr.shape[0] > 0 and (arr.min() < lo or arr.max() > hi))


# Largest (rate buckets × cohorts × months) table, and largest Taylor order, of the moment method.
_MOMENT_TABLE_MAX: Final = 1 << 18
_MOMENT_ORDER_MAX: Final = 16
_MOMENT_SPREAD: Final = 0.125  # target bound on (T − 1)·|δ| within a rate bucket


def _moment_plan(rate: FloatArray, horizon: int, size: int) -> tuple[int, int, float, float] | None:
    """Rate buckets and Taylor order for :func:`_moment_sums`, or None when stepping is the better way.

    Within a bucket of width w around ḡ, g = ḡ·(1 + δ) with |δ| ≤ w/(2ḡ) and
    g^(t−1) = ḡ^(t−1)·Σ_k C(t−1, k)·δ^k; with x = (T − 1)·max|δ| the terms after order K sum to at most
    x^(K+1)/(K+1)!·e^x, and K is the smallest order that keeps this below 2^−56 (relative to Σ π).
    """
    if rate.shape[0] == 0:
        return None
    g_lo = 1.0 + float(rate.min()) / 12.0
    g_hi = 1.0 + float(rate.max()) / 12.0
    reach = max(horizon - 1, 0) * (g_hi - g_lo) / g_lo
    n_buckets = max(1, math.ceil(reach / (2.0 * _MOMENT_SPREAD)))
    if n_buckets * size > _MOMENT_TABLE_MAX:
        return None
    x = reach / (2.0 * n_buckets)
    order, term = 0, x
    while term * math.exp(x) > 2.0**-56:
        order += 1
        term *= x / (order + 1)
        if order > _MOMENT_ORDER_MAX:
            return None
    width = (g_hi - g_lo) / n_buckets
    return n_buckets, order, g_lo, width


def _moment_sums(
    bal0: FloatArray,
    rate: FloatArray,
    rem: IntArray,
    ages: IntArray,
    balloon: FloatArray,
    lookup: IntArray,
    n_cohorts: int,
    horizon: int,
    plan: tuple[int, int, float, float],
    has_balloon: bool,
    chunk: int = 65_536,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cohort sums of level-pay loans by Taylor moments in rate buckets: no sort, no per-month loop.

    Σ_{alive in t} π_1·g^(t−1) = Σ_buckets ḡ^(t−1)·Σ_k C(t−1, k)·M_k(t) with
    M_k(t) = Σ_{alive in t} π_1·δ^k: the moments are summed by (bucket, cohort, remaining term) with
    ``np.bincount`` in one pass over the loans in their given order (K + 1 weighted bincounts per loan
    instead of two passes per loan-month), then turned into sums over the loans alive in month t by
    reverse cumulative sums over the remaining term.

    Returns:
        alive counts (C, T+2); Σ π_t (C, T); Σ payment by maturity month (C, T+1, the last column beyond
        T); Σ balloon by maturity month (C, T+1); Σ B0 (C,); Σ B_T of loans maturing after T (C,).
    """
    n_buckets, order, g_lo, bucket_w = plan
    n_loans = int(bal0.shape[0])
    width = horizon + 2
    size = n_cohorts * width
    counts = np.zeros(size)
    pay_due = np.zeros(size)
    balloon_due = np.zeros(size)
    opening = np.zeros(n_cohorts)
    tail = np.zeros(n_cohorts)
    moments = np.zeros((order + 1, n_buckets * size))
    centres = g_lo + bucket_w * (np.arange(n_buckets) + 0.5)
    for lo in range(0, n_loans, chunk):
        hi = min(lo + chunk, n_loans)
        ib = rate[lo:hi] / 12.0
        b0 = bal0[lo:hi]
        mb = rem[lo:hi]
        cb = lookup[ages[lo:hi]]
        key = cb * width
        key += np.minimum(mb, horizon + 1)  # (cohort, min(remaining term, T + 1))
        counts += np.bincount(key, minlength=size)
        opening += np.bincount(cb, b0, minlength=n_cohorts)

        # π_1 = (B0 − balloon)·i / (g^m − 1), or (B0 − balloon)/m when i = 0; payment = i·B0 + π_1
        mf = mb.astype(np.float64)
        log_g = np.log1p(ib)
        growth = log_g * mf
        np.expm1(growth, out=growth)
        owed = b0 - balloon[lo:hi] if has_balloon else b0
        p = owed * ib
        with np.errstate(divide="ignore", invalid="ignore"):
            p /= growth
        zero = np.flatnonzero(ib == 0.0)
        if zero.shape[0]:
            p[zero] = owed[zero] / mf[zero]
        pay = ib * b0
        pay += p
        pay_due += np.bincount(key, pay, minlength=size)
        if has_balloon:
            balloon_due += np.bincount(key, balloon[lo:hi], minlength=size)
        beyond = np.flatnonzero(mb > horizon)
        if beyond.shape[0]:
            b_t = _balance_at_horizon(p, log_g, mf, ib, beyond, horizon)
            if has_balloon:
                b_t += balloon[lo:hi][beyond]
            tail += np.bincount(cb[beyond], b_t, minlength=n_cohorts)

        # moments Σ π_1·δ^k by (bucket, cohort, remaining term)
        g = ib
        g += 1.0
        if n_buckets > 1:
            bucket = ((g - g_lo) / bucket_w).astype(np.int64)
            np.clip(bucket, 0, n_buckets - 1, out=bucket)
            key += bucket * size
            delta = g / centres[bucket]
        else:
            delta = g / centres[0]
        delta -= 1.0
        for k in range(order + 1):
            moments[k] += np.bincount(key, p, minlength=n_buckets * size)
            if k < order:
                p *= delta

    # Σ over the loans alive in month t (remaining term ≥ t), t = 1..T
    m_alive = moments.reshape(order + 1, n_buckets, n_cohorts, width)[..., ::-1].cumsum(axis=3)[..., ::-1]
    t_minus_1 = np.arange(horizon)
    binom = np.array([[math.comb(t, k) for t in range(horizon)] for k in range(order + 1)], dtype=np.float64)
    powers = np.power(centres[:, None], t_minus_1[None, :])
    per_bucket = np.einsum("kbct,kt->bct", m_alive[..., 1 : horizon + 1], binom)
    prin: FloatArray = np.einsum("bct,bt->ct", per_bucket, powers)
    alive = counts.reshape(n_cohorts, width)[:, ::-1].cumsum(axis=1)[:, ::-1]
    return (
        alive,
        prin,
        pay_due.reshape(n_cohorts, width)[:, 1:],
        balloon_due.reshape(n_cohorts, width)[:, 1:],
        opening,
        tail,
    )


def _annuity_by_cohort(
    bal0: FloatArray,
    rate: FloatArray,
    rem: IntArray,
    ages: IntArray,
    balloon: FloatArray,
    horizon: int,
    block_size: int,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """:func:`_amortise_by_cohort` for level-payment loans already amortising (no interest-only left).

    A level-pay loan's scheduled principal is geometric, π_t = π_1·g^(t−1) with g = 1 + i, up to its
    maturity month m, where the balloon is repaid on top; π_1 = (B0 − balloon)/s_m with
    s_m = (g^m − 1)/i (s_m = m if i = 0) is computed without cancellation (payment − i·B0 would lose
    every digit for long, high-rate loans), and the level payment is i·B0 + π_1. ``rate`` is annual.

    Only Σ π_t over the loans alive in month t is needed per cohort and month. When the table fits
    (:func:`_moment_plan`) it comes from Taylor moments by rate bucket (:func:`_moment_sums`: no sort and
    no per-month loop); otherwise π is stepped in blocks (one in-place multiply and one sum per
    loan-month, on the loans alive in month t: sorted by age, then remaining term descending, they are
    a prefix of each cohort's run). The rest follows from per-cohort sums by maturity month, without
    cancellation:

    * Σ interest_t = Σ_{alive in t} payment − Σ_{alive in t} π_t (the last month's interest is
      i·B_(m−1) = payment − π_m too, since B_(m−1)·g − payment = balloon);
    * Σ B_t = Σ_{s>t} (Σ_{alive in s} π_s + Σ balloons due in s), a reverse cumulative sum of positive
      terms (so exactly zero once the cohort has matured); loans maturing after the horizon add their
      closed-form B_T = π_(T+1)·(g^(m−T) − 1)/i + balloon.

    Returns:
        the same arrays as :func:`_amortise_by_cohort`.
    """
    n_loans = int(bal0.shape[0])
    width = horizon + 2
    present = np.bincount(ages, minlength=_MAX_TERM + 1) > 0
    cohort_ages: IntArray = np.flatnonzero(present)
    lookup = np.cumsum(present) - 1  # age → cohort number
    n_cohorts = int(cohort_ages.shape[0])
    size = n_cohorts * width
    has_balloon = n_loans > 0 and float(balloon.max()) > 0.0
    plan = _moment_plan(rate, horizon, size)
    if plan is not None:
        alive, prin, pay_due, balloon_due, opening, tail = _moment_sums(
            bal0, rate, rem, ages, balloon, lookup, n_cohorts, horizon, plan, has_balloon
        )
        return _assemble(cohort_ages, alive, prin, pay_due, balloon_due, opening, tail, horizon)
    # key = cohort × width + (width − 1 − min(remaining term, T + 1)): sorting by it orders the loans by
    # cohort, then by remaining term descending; one radix sort of 16-bit keys when they fit, else two
    if size <= 1 << 16:
        key = (lookup * width + (width - 1)).astype(np.uint16)[ages]
        term = rem.astype(np.uint16)
        np.minimum(term, horizon + 1, out=term)
        key -= term
        del term
        counts = np.bincount(key, minlength=size).reshape(n_cohorts, width)
        order = np.argsort(key, kind="stable")
        del key
    else:
        coh = lookup[ages]
        term_key = np.minimum(rem, horizon + 1)
        counts = np.bincount(coh * width + (width - 1) - term_key, minlength=size).reshape(n_cohorts, width)
        by_term = np.argsort((_MAX_TERM + 1 - term_key).astype(np.uint16), kind="stable")
        order = by_term[np.argsort(coh[by_term].astype(np.uint16), kind="stable")]
        del coh, term_key, by_term
    # alive[c, t]: loans of cohort c with remaining term ≥ t (t = 0 .. T + 1)
    alive = counts.cumsum(axis=1)[:, ::-1].astype(np.float64)
    run_ends = np.cumsum(counts.sum(axis=1))
    run_starts = run_ends - counts.sum(axis=1)

    # by cohort c and month t (column t − 1): Σ π_t over the loans alive in month t; Σ payment of the
    # loans with remaining term exactly t; Σ balloons due in month t.  Column T: terms beyond T.
    prin = np.zeros((n_cohorts, horizon))
    pay_due = np.zeros((n_cohorts, horizon + 1))
    balloon_due = np.zeros((n_cohorts, horizon + 1))
    opening = np.zeros(n_cohorts)
    tail = np.zeros(n_cohorts)  # Σ B_T of the loans maturing after the horizon
    months_idx = np.arange(1, horizon + 2)
    multiply, add_reduce = np.multiply, np.add.reduce
    for lo, hi in _blocks(run_starts, run_ends, n_loans, block_size):
        idx = order[lo:hi]
        ib = rate[idx]
        ib /= 12.0
        b0 = bal0[idx]
        c = int(np.searchsorted(run_ends, lo, side="right"))
        single = hi <= run_ends[c]
        c_lo = c
        if single:
            # one cohort, sorted by remaining term descending: the loans alive in month t are the prefix
            # [0, n_t); the terms follow from the counts (only terms beyond the horizon are gathered)
            n_alive = np.clip(alive[c, 1 : horizon + 2] - (lo - run_starts[c]), 0, hi - lo).astype(np.int64)
            n_beyond = int(n_alive[horizon])
            mb = np.empty(hi - lo, dtype=np.int64)
            mb[:n_beyond] = rem[idx[:n_beyond]]
            mb[n_beyond:] = np.repeat(months_idx[horizon - 1 :: -1], (n_alive[:-1] - n_alive[1:])[::-1])
        else:
            mb = rem[idx]
        local = np.minimum(mb, horizon + 1) - 1  # month of maturity − 1 (T: beyond the horizon)
        if not single:
            coh_b = lookup[ages[idx]]
            c_lo, c_hi = int(coh_b[0]), int(coh_b[-1]) + 1
            local += (coh_b - c_lo) * (horizon + 1)
        n_c = 1 if single else c_hi - c_lo

        # π_1 = (B0 − balloon)·i / (g^m − 1), or (B0 − balloon)/m when i = 0; payment = i·B0 + π_1
        mf = mb.astype(np.float64)
        growth = np.log1p(ib)
        log_g = growth.copy() if mb[0] > horizon or not single else growth
        growth *= mf
        np.expm1(growth, out=growth)  # g^m − 1
        owed = b0 - balloon[idx] if has_balloon else b0
        p = owed * ib
        with np.errstate(divide="ignore", invalid="ignore"):
            p /= growth
        zero = np.flatnonzero(ib == 0.0)
        if zero.shape[0]:
            p[zero] = owed[zero] / mf[zero]
        pay = ib * b0
        pay += p
        rows = slice(c_lo, c_lo + n_c)
        pay_due[rows] += np.bincount(local, pay, minlength=n_c * (horizon + 1)).reshape(n_c, horizon + 1)
        if has_balloon:
            bl = balloon[idx]
            balloon_due[rows] += np.bincount(local, bl, minlength=n_c * (horizon + 1)).reshape(n_c, -1)
        beyond = np.flatnonzero(mb > horizon)
        if beyond.shape[0]:
            b_t = _balance_at_horizon(p, log_g, mf, ib, beyond, horizon)
            if has_balloon:
                b_t += bl[beyond]
            if single:
                tail[c] += b_t.sum()
            else:
                tail[rows] += np.bincount(coh_b[beyond] - c_lo, b_t, minlength=n_c)
        if single:
            opening[c] += b0.sum()
        else:
            opening[rows] += np.bincount(coh_b - c_lo, b0, minlength=n_c)

        gb = ib
        gb += 1.0
        if single:
            last_month = int(np.count_nonzero(n_alive[:horizon]))
            n_list = n_alive[:last_month].tolist()
            sums = [add_reduce(p)]
            for n_t in n_list[1:]:
                pv = p[:n_t]
                multiply(pv, gb[:n_t], pv)
                sums.append(add_reduce(pv))
            prin[c, :last_month] += sums
        else:
            # several small cohorts: step them all, zero each loan after its maturity, reduce by segment
            seg_starts = np.flatnonzero(np.r_[True, coh_b[1:] != coh_b[:-1]])
            last_month = min(int(mb.max()), horizon)
            mat_order = np.argsort(mb, kind="stable")
            mat_bounds = np.searchsorted(mb[mat_order], months_idx).tolist()
            blk = np.empty((last_month, seg_starts.shape[0]))
            blk[0] = np.add.reduceat(p, seg_starts)
            for t in range(1, last_month):
                m0, m1 = mat_bounds[t - 1], mat_bounds[t]
                if m1 > m0:
                    p[mat_order[m0:m1]] = 0.0  # matured in month t: nothing more to repay
                multiply(p, gb, p)
                blk[t] = np.add.reduceat(p, seg_starts)
            prin[coh_b[seg_starts], :last_month] += blk.T

    return _assemble(cohort_ages, alive, prin, pay_due, balloon_due, opening, tail, horizon)


def _assemble(
    cohort_ages: IntArray,
    alive: FloatArray,
    prin: FloatArray,
    pay_due: FloatArray,
    balloon_due: FloatArray,
    opening: FloatArray,
    tail: FloatArray,
    horizon: int,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Cohort interest and balance sums from Σ π_t, payments and balloons by maturity month."""
    n_cohorts = int(cohort_ages.shape[0])
    paying = pay_due[:, ::-1].cumsum(axis=1)[:, ::-1]  # [c, t−1]: Σ payment of terms ≥ t
    sum_int: FloatArray = paying[:, :horizon] - prin
    repaid = prin + balloon_due[:, :horizon]  # everything repaid in month t, at [c, t−1]
    sum_bal = np.zeros((n_cohorts, horizon + 1))
    sum_bal[:, 0] = opening
    sum_bal[:, 1:horizon] = repaid[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:]
    sum_bal[:, 1:] += tail[:, None]
    return cohort_ages, sum_int, sum_bal, alive


def _blocks(run_starts: IntArray, run_ends: IntArray, n_loans: int, block_size: int) -> list[tuple[int, int]]:
    """Blocks of the sorted loans: slices of one big cohort, or packs of whole small cohorts."""
    blocks: list[tuple[int, int]] = []
    pack_start = -1
    for lo, hi in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        if hi - lo >= block_size // 2:
            if pack_start >= 0:
                blocks.append((pack_start, lo))
                pack_start = -1
            blocks.extend((s, min(s + block_size, hi)) for s in range(lo, hi, block_size))
        else:
            if pack_start >= 0 and hi - pack_start > block_size:
                blocks.append((pack_start, lo))
                pack_start = -1
            if pack_start < 0:
                pack_start = lo
    if pack_start >= 0:
        blocks.append((pack_start, n_loans))
    return blocks


def _merge_cohorts(
    a: tuple[IntArray, FloatArray, FloatArray, FloatArray],
    b: tuple[IntArray, FloatArray, FloatArray, FloatArray],
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Add two sets of cohort sums (each with its own cohort ages) into one over the union of ages."""
    ages: IntArray = np.union1d(a[0], b[0])
    merged: list[FloatArray] = []
    for k in (1, 2, 3):
        out = np.zeros((ages.shape[0], a[k].shape[1]))
        out[np.searchsorted(ages, a[0])] += a[k]
        out[np.searchsorted(ages, b[0])] += b[k]
        merged.append(out)
    return ages, merged[0], merged[1], merged[2]


def project_cashflows(
    balance: npt.ArrayLike,
    annual_rate: npt.ArrayLike,
    remaining_term: npt.ArrayLike,
    *,
    age: npt.ArrayLike = 0,
    months: int | None = None,
    shape: str | Sequence[str] | npt.ArrayLike = "annuity",
    balloon: npt.ArrayLike = 0.0,
    interest_only_remaining: npt.ArrayLike = 0,
    smm: npt.ArrayLike | None = None,
    cpr: npt.ArrayLike | None = None,
    abs_speed: npt.ArrayLike | None = None,
    mdr: npt.ArrayLike | None = None,
    cdr: npt.ArrayLike | None = None,
    severity: float = 0.0,
    recovery_lag: int = 0,
    block_size: int = 16_384,
) -> CashflowProjection:
    """Expected cash flows of a loan pool, aggregated by projection month.

    Order of events in month t, for every loan still performing at the start of the month (the
    "defaults first" order of the BMA/SIFMA Standard Formulas' cash flows with defaults, where a loan
    that defaults makes no payment in that month):

    1. defaults: D = MDR_t × opening performing balance;
    2. the survivors pay interest on their balance (opening − D) at r/12 and their scheduled
       principal (their whole balance, including any balloon, in their last month);
    3. prepayments: P = SMM × (survivors' balance after scheduled principal), paid in full;
    4. closing balance = opening − D − scheduled principal − P;
    5. defaults of month t are resolved in month t + L (L = ``recovery_lag``): recovery
       (1 − severity)·D, loss severity·D.

    Prepayment and default are pro-rata within each loan (expected values), so each loan's flows are its
    scheduled (no prepayment, no default) flows times a survival factor that depends only on the loan's
    age and the calendar month. The kernel therefore sums the scheduled flows by age cohort and applies
    the survival factors per cohort at the end; memory is O(block + cohorts × months), never
    O(loans × months). Level-pay loans already amortising use the closed form of their geometric
    scheduled principal (:func:`_annuity_by_cohort`: Taylor moments by rate bucket, or stepping π only);
    equal-principal and interest-only loans step b ← α·b − β (:func:`_amortise_by_cohort`).

    Args:
        balance: current performing balance of each loan, currency units (float), ≥ 0; (N,).
        annual_rate: nominal annual rate, decimal (0.0599), 0 ≤ r ≤ 1.
        remaining_term: months left to maturity, ≥ 1.
        age: months since origination at the projection date, ≥ 0 (seasoned loans: ABS speed by age).
        months: projection horizon T in months (default: the longest remaining term).
        shape: payment shape per loan: ``annuity``/``balloon`` (level payment from the current balance
            over the remaining term down to ``balloon``), ``interest_only`` (interest only for
            ``interest_only_remaining`` months, then level), ``equal_principal`` (level principal).
            ``step`` is projected as a level payment (re-amortised) — a documented simplification.
        balloon: balloon still due at maturity, currency units, 0 ≤ balloon ≤ balance.
        interest_only_remaining: interest-only months left, 0 ≤ io < remaining_term.
        smm, cpr, abs_speed: prepayment, at most one: SMM or CPR as a scalar or a vector by projection
            month; or the auto-ABS speed (fraction, e.g. 0.015 for 1.5 % ABS, scalar or vector by
            projection month) applied at each loan's age. None of them: no prepayment.
        mdr, cdr: default, at most one: monthly or annual default rate, scalar or vector by month.
        severity: loss given default as a fraction of the defaulted balance, 0 ≤ severity ≤ 1.
        recovery_lag: months between default and recovery, ≥ 0.
        block_size: loans per block of the month-by-month stepping paths (about 16k keeps a block's
            arrays in the L2 cache); it does not change the results beyond rounding.

    Returns:
        a :class:`CashflowProjection` with ``months + recovery_lag`` rows.
    """
    bal0 = np.asarray(balance, dtype=np.float64)
    if bal0.ndim != 1:
        raise ValidationError("balance", "array", "must be a 1-D array, one entry per loan")
    n_loans = int(bal0.shape[0])
    # read-only views, no copies (scalars broadcast with stride 0): the kernel never writes into them,
    # and every fresh 1M-entry array costs page faults
    bal0 = _broadcast_float("balance", bal0, n_loans, view=True)
    rate = _broadcast_float("annual_rate", annual_rate, n_loans, view=True)
    rem = _broadcast_int("remaining_term", remaining_term, n_loans, view=True)
    ages = _broadcast_int("age", age, n_loans, view=True)
    if isinstance(shape, str):
        if shape not in SHAPES:
            raise ValidationError("shape", shape, f"must be one of {SHAPES}")
        codes = None
        has_ep = shape == SHAPES[_EQUAL_PRINCIPAL]
    else:
        codes = _shape_codes(shape, n_loans)
        has_ep = bool(np.any(codes == _EQUAL_PRINCIPAL))
    balloon_amt = _broadcast_float("balloon", balloon, n_loans, view=True)
    io_rem = _broadcast_int("interest_only_remaining", interest_only_remaining, n_loans, view=True)
    # range checks by min/max reductions (no temporaries); finiteness was checked above
    if _outside(bal0, 0.0, np.inf):
        raise ValidationError("balance", balance, "must not be negative")
    if _outside(rate, 0.0, 1.0):
        raise ValidationError("annual_rate", annual_rate, "must be between 0 and 1")
    if _outside(rem, 1, _MAX_TERM):
        raise ValidationError("remaining_term", remaining_term, f"must be between 1 and {_MAX_TERM}")
    if _outside(ages, 0, _MAX_TERM):
        raise ValidationError("age", age, f"must be between 0 and {_MAX_TERM}")
    has_balloon = n_loans > 0 and float(balloon_amt.max()) > 0.0
    if _outside(balloon_amt, 0.0, np.inf) or (has_balloon and np.any(balloon_amt > bal0)):
        raise ValidationError("balloon", balloon, "must be between 0 and the balance")
    has_io = n_loans > 0 and int(io_rem.max()) > 0
    if _outside(io_rem, 0, _MAX_TERM) or (has_io and np.any(io_rem >= rem)):
        raise ValidationError(
            "interest_only_remaining", interest_only_remaining, "must be in [0, remaining_term)"
        )
    if not 0.0 <= severity <= 1.0:
        raise ValidationError("severity", severity, "must be between 0 and 1")
    if recovery_lag < 0:
        raise ValidationError("recovery_lag", recovery_lag, "must not be negative")
    if block_size < 1:
        raise ValidationError("block_size", block_size, "must be at least 1")
    horizon = int(rem.max()) if months is None and n_loans else int(months or 0)
    if horizon < 1:
        raise ValidationError("months", months, "must be at least 1")
    if sum(x is not None for x in (smm, cpr, abs_speed)) > 1:
        raise ValidationError("smm", "smm/cpr/abs_speed", "give at most one prepayment assumption")
    if mdr is not None and cdr is not None:
        raise ValidationError("mdr", "mdr/cdr", "give at most one default assumption")

    # ---- per-loan scheduled-balance recurrence b ← α·b − β, with events that change α, β ----
    if not (has_ep or has_io):
        # level-pay loans already amortising (the common case): closed-form principal, by cohort
        sums = _annuity_by_cohort(bal0, rate, rem, ages, balloon_amt, horizon, block_size)
    else:
        # equal principal and interest-only loans step b ← α·b − β; the level-pay rest as above
        is_ep_all = codes == _EQUAL_PRINCIPAL if codes is not None else np.full(n_loans, has_ep)
        fast = ~is_ep_all & (io_rem == 0)
        slow = np.flatnonzero(~fast)
        b0_s, rem_s, io_s, bal_s = bal0[slow], rem[slow], io_rem[slow], balloon_amt[slow]
        i_s = rate[slow] / 12.0
        amort_m = rem_s - io_s
        is_ep = is_ep_all[slow]
        alpha_amort = np.where(is_ep, 1.0, 1.0 + i_s)
        beta_amort = np.where(is_ep, (b0_s - bal_s) / amort_m, _level_payment(b0_s, i_s, amort_m, bal_s))
        in_io = io_s > 0
        alpha0 = np.where(in_io, 1.0, alpha_amort)
        beta0 = np.where(in_io, 0.0, beta_amort)
        sums = _amortise_by_cohort(
            b0_s, i_s, rem_s, ages[slow], io_s, alpha0, beta0, alpha_amort, beta_amort, horizon, block_size
        )
        if slow.shape[0] < n_loans:
            sel = np.flatnonzero(fast)
            sums = _merge_cohorts(
                sums,
                _annuity_by_cohort(
                    bal0[sel], rate[sel], rem[sel], ages[sel], balloon_amt[sel], horizon, block_size
                ),
            )
    cohort_ages, sum_int, sum_bal, alive = sums
    n_cohorts = int(cohort_ages.shape[0])

    # ---- survival factors per cohort and month ----
    if abs_speed is not None:
        abs_v = _speed_vector("abs_speed", abs_speed, horizon)
        loan_age = cohort_ages[:, None].astype(np.float64) + np.arange(1, horizon + 1)[None, :]
        smm_ct = abs_to_smm(abs_v[None, :], loan_age)
    else:
        if cpr is not None:
            smm_v = cpr_to_smm(_speed_vector("cpr", cpr, horizon))
        elif smm is not None:
            smm_v = _speed_vector("smm", smm, horizon)
        else:
            smm_v = np.zeros(horizon)
        smm_ct = np.broadcast_to(smm_v[None, :], (n_cohorts, horizon))
    if cdr is not None:
        mdr_v = cdr_to_mdr(_speed_vector("cdr", cdr, horizon))
    elif mdr is not None:
        mdr_v = _speed_vector("mdr", mdr, horizon)
    else:
        mdr_v = np.zeros(horizon)

    keep = (1.0 - mdr_v)[None, :] * (1.0 - smm_ct)  # survival through month t
    q_end = np.cumprod(keep, axis=1)
    q_open = np.concatenate([np.ones((n_cohorts, 1)), q_end[:, :-1]], axis=1)
    q_surv = q_open * (1.0 - mdr_v)[None, :]
    b_open = sum_bal[:, :-1]
    b_close = sum_bal[:, 1:]

    opening = (q_open * b_open).sum(axis=0)
    defaults = (q_open * mdr_v[None, :] * b_open).sum(axis=0)
    interest = (q_surv * sum_int).sum(axis=0)
    sched_principal = (q_surv * (b_open - b_close)).sum(axis=0)
    prepay = (q_surv * smm_ct * b_close).sum(axis=0)
    ending = (q_end * b_close).sum(axis=0)
    performing = q_end * alive[:, 2 : horizon + 2] if horizon + 2 <= alive.shape[1] else 0.0
    performing_total = np.asarray(performing, dtype=np.float64).sum(axis=0)

    total = horizon + recovery_lag
    pad = np.zeros(recovery_lag)
    recoveries = np.zeros(total)
    losses = np.zeros(total)
    recoveries[recovery_lag:] = (1.0 - severity) * defaults
    losses[recovery_lag:] = severity * defaults
    return CashflowProjection(
        opening_balance=np.concatenate([opening, pad]),
        defaults=np.concatenate([defaults, pad]),
        scheduled_interest=np.concatenate([interest, pad]),
        scheduled_principal=np.concatenate([sched_principal, pad]),
        prepayments=np.concatenate([prepay, pad]),
        recoveries=recoveries,
        losses=losses,
        ending_balance=np.concatenate([ending, pad]),
        loans_performing=np.concatenate([performing_total, pad]),
    )
