"""The generic schedule engine: one mechanism for every loan shape.

A schedule is built in three steps (see docs/contracts.md):

1. **Periods**: due dates from the calendar; for each period its kind (amortising or one of the
   grace kinds), its step factor, its annual rate (fixed, or floating with resets) and its *interest
   multiplier* ``m`` so that the period's interest is ``balance × annual_rate × m`` — ``1/ppy`` for
   periodic interest, the day-count year fraction for daily interest, plus the odd days of a broken
   first period.
2. **Solve** the base instalment ``P``: the balance after the last period is linear in ``P``
   (``α + β·P``), so ``P = (balloon − α) / β`` exactly, whatever mix of grace, steps, odd periods
   and timing. It is solved again at every rate reset (re-amortising the remaining term).
3. **Roll** the balance forward period by period with the rounding rule; the last instalment absorbs
   every residue so that the principal repaid equals the principal lent to the cent.

Interest is computed by multiplying before dividing (``balance × rate × days / 365``), so an exact
half-cent is seen as one and rounds as the rule says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

from autofin.dates import DayCount, payment_dates, regular_period_start, year_fraction_ratio
from autofin.errors import ValidationError
from autofin.finance.terms import (
    BrokenPeriod,
    FlatAllocation,
    InterestMethod,
    LoanTerms,
    PaymentTiming,
    Repayment,
    RoundingStyle,
    _one_period_after,
)
from autofin.money import CONTEXT, Currency, Rounding, currency, round_money

ZERO = Decimal(0)
ONE = Decimal(1)


class RowKind(StrEnum):
    AMORTISING = "amortising"
    INTEREST_ONLY = "interest_only"
    DEFERRED_INTEREST = "deferred_interest"
    INTEREST_FREE = "interest_free"
    HOLIDAY = "holiday"
    FINAL = "final"  # the final payment of an in-advance contract, one period after the last instalment


class Row(NamedTuple):
    """One due date of a schedule. Amounts in major currency units.

    ``instalment`` is the regular payment (interest + principal, excluding the balloon and fees);
    ``principal`` is the principal repaid in this row — it includes the balloon on the last row and is
    negative when interest is capitalised; ``balance`` is the principal still owed after this row and
    ``deferred`` the deferred interest still owed.
    """

    number: int
    due_date: date
    kind: RowKind
    annual_rate: Decimal
    instalment: Decimal
    interest: Decimal
    principal: Decimal
    balloon: Decimal
    fees: Decimal
    balance: Decimal
    deferred: Decimal = ZERO  # deferred interest still owed after this row (deferred-interest grace)

    @property
    def total_due(self) -> Decimal:
        """Everything the borrower pays on ``due_date``."""
        return self.instalment + self.balloon + self.fees


@dataclass(frozen=True, slots=True)
class Schedule:
    """A computed loan schedule with its totals.

    ``opening_balance`` is the amount lent including financed fees; ``upfront_fees`` are paid at
    signing in cash; ``finance_charge_fees`` are the fees (financed or not, up front) that are part of
    the cost of credit; ``per_period_finance_charge`` is the per-instalment fee that is.
    """

    terms: LoanTerms
    currency: Currency
    opening_balance: Decimal
    rows: tuple[Row, ...]
    upfront_fees: Decimal
    financed_fees: Decimal
    finance_charge_fees: Decimal
    per_period_finance_charge: Decimal

    @property
    def total_interest(self) -> Decimal:
        return sum((r.interest for r in self.rows), ZERO)

    @property
    def total_principal(self) -> Decimal:
        return sum((r.principal for r in self.rows), ZERO)

    @property
    def total_of_payments(self) -> Decimal:
        """Σ of every scheduled payment (instalments, balloon, per-period fees)."""
        # ``Row.total_due`` inlined (a property call per row): the same sums in the same order.
        return sum((r.instalment + r.balloon + r.fees for r in self.rows), ZERO)

    @property
    def amount_financed(self) -> Decimal:
        """Reg Z §1026.18(b): the amount lent less every prepaid finance charge."""
        return self.opening_balance - self.finance_charge_fees

    @property
    def regular_instalment(self) -> Decimal:
        """The first amortising instalment (the headline monthly payment)."""
        for r in self.rows:
            if r.kind is RowKind.AMORTISING:
                return r.instalment
        return self.rows[-1].instalment

    @property
    def balloon(self) -> Decimal:
        return self.rows[-1].balloon

    def cash_flows(self) -> tuple[list[tuple[date, Decimal]], list[tuple[date, Decimal]]]:
        """Borrower cash flows for disclosure rates: ``(advances, payments)``.

        The advance is the amount financed on the start date (the cash lent net of prepaid finance
        charges); payments are each row's instalment, balloon and the per-period fees that are finance
        charges. Fees that are not finance charges are in neither.
        """
        advances = [(self.terms.start_date, self.amount_financed)]
        fee_part = self.per_period_finance_charge
        non_fc = {r.number: r.fees - fee_part for r in self.rows}
        payments: list[tuple[date, Decimal]] = []
        for r in self.rows:
            # Each row's paid amount computed once (it used to be computed for the test and again
            # for the value); the same operations, so the same Decimal.
            paid = r.instalment + r.balloon + r.fees - non_fc[r.number]
            if paid > 0:
                payments.append((r.due_date, paid))
        return advances, payments


# -- step 1: periods --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Period:
    number: int
    start: date
    end: date
    due: date
    kind: RowKind
    factor: Decimal
    rate: Decimal
    m_roll: Fraction  # year-fraction multiplier for the interest actually charged
    m_solve: Fraction  # multiplier assumed when solving the level instalment
    reset: bool = False


@dataclass(slots=True)
class _Plan:
    periods: list[_Period]
    m_pre_roll: Fraction = Fraction(0)  # advance timing: interest from start_date to the first due date
    m_pre_solve: Fraction = Fraction(0)
    notes: list[str] = field(default_factory=list)


def _multiplier(terms: LoanTerms, start: date, end: date) -> Fraction:
    if terms.interest_method is InterestMethod.DAILY:
        return year_fraction_ratio(start, end, terms.day_count)
    return _PERIODIC[terms.frequency.periods_per_year]


_PERIODIC = {ppy: Fraction(1, ppy) for ppy in (1, 2, 4, 12, 24, 26, 52)}


def _interest(balance: Decimal, rate: Decimal, m: Fraction) -> Decimal:
    """``balance × rate × m``, multiplying before dividing so exact half-units stay exact."""
    return balance * rate * m.numerator / m.denominator


def _kinds(terms: LoanTerms) -> list[RowKind]:
    n = terms.term
    kinds = [RowKind.AMORTISING] * n
    if terms.repayment is Repayment.BULLET:
        kinds = [RowKind.INTEREST_ONLY] * (n - 1) + [RowKind.AMORTISING]
    for g in terms.grace:
        for k in range(g.start, g.start + g.periods):
            kinds[k - 1] = RowKind(g.kind.value)
    return kinds


def _factors(terms: LoanTerms, kinds: Sequence[RowKind]) -> list[Decimal]:
    factors = [ONE] * terms.term
    steps = terms.steps
    if steps is None:
        return factors
    if steps.growth_rate is not None:
        k = 0
        for j, kind in enumerate(kinds):
            if kind is RowKind.AMORTISING:
                factors[j] = (ONE + steps.growth_rate) ** (k // steps.every)
                k += 1
    for r in steps.ranges:
        for j in range(r.from_period - 1, r.to_period):
            factors[j] = r.factor
    return factors


def _rates(terms: LoanTerms, starts: Sequence[date], last_due: date) -> list[Decimal]:
    """The annual rate of each period: fixed, or floating with resets, caps, floors and a lock."""
    rates = [terms.annual_rate] * len(starts)
    fl = terms.floating
    if fl is None:
        return rates
    if fl.reset_dates:
        resets = list(fl.reset_dates)
    else:
        assert fl.reset_every_months is not None
        from autofin.dates import add_months

        resets = []
        k = 1
        while (d := add_months(terms.start_date, k * fl.reset_every_months, terms.end_of_month)) < last_due:
            resets.append(d)
            k += 1
    current = terms.annual_rate
    for d in resets:
        if fl.lock_until is not None and d < fl.lock_until:
            continue
        bench = fl.benchmark_on(d)
        if bench is None:
            continue
        new = bench + fl.spread
        if fl.periodic_cap is not None:
            new = min(new, current + fl.periodic_cap)
        if fl.periodic_floor is not None:
            new = max(new, current - fl.periodic_floor)
        if fl.lifetime_cap is not None:
            new = min(new, fl.lifetime_cap)
        if fl.lifetime_floor is not None:
            new = max(new, fl.lifetime_floor)
        new = max(new, ZERO)
        current = new
        for j, s in enumerate(starts):
            if s >= d:
                rates[j] = new
    return rates


def _plan(terms: LoanTerms) -> _Plan:
    n = terms.term
    dues = payment_dates(terms.first_due, n, terms.frequency, terms.end_of_month)
    kinds = _kinds(terms)
    factors = _factors(terms, kinds)
    advance = terms.timing is PaymentTiming.ADVANCE
    if advance:
        end_of_last = _one_period_after(dues[-1], terms.frequency, terms.end_of_month)
        bounds = [*dues, end_of_last]
        spans = [(bounds[j], bounds[j + 1]) for j in range(n)]
    else:
        bounds = [terms.start_date, *dues]
        spans = [(bounds[j], bounds[j + 1]) for j in range(n)]
    starts = [s for s, _ in spans]
    rates = _rates(terms, starts, dues[-1])
    periods: list[_Period] = []
    daily = terms.interest_method is InterestMethod.DAILY
    m = _PERIODIC[terms.frequency.periods_per_year]
    for j, (s, e) in enumerate(spans):
        if daily:
            m = year_fraction_ratio(s, e, terms.day_count)
        periods.append(
            _Period(
                j + 1,
                s,
                e,
                dues[j],
                kinds[j],
                factors[j],
                rates[j],
                m,
                m,
                j > 0 and rates[j] is not rates[j - 1] and rates[j] != rates[j - 1],
            )
        )
    plan = _Plan(periods)
    first = periods[0]
    amortised = terms.broken_period is BrokenPeriod.AMORTISED
    if advance:
        if terms.first_due > terms.start_date:
            plan.m_pre_roll = year_fraction_ratio(terms.start_date, terms.first_due, terms.day_count)
            plan.m_pre_solve = plan.m_pre_roll if amortised else Fraction(0)
    else:
        regular_start = regular_period_start(first.due, terms.frequency, terms.end_of_month)
        regular_m = _multiplier(terms, regular_start, first.due)
        if terms.interest_method is InterestMethod.PERIODIC and regular_start != terms.start_date:
            first.m_roll = regular_m + year_fraction_ratio(terms.start_date, regular_start, terms.day_count)
        if not amortised:
            first.m_solve = regular_m
        else:
            first.m_solve = first.m_roll
    return plan


# -- step 2: solve ----------------------------------------------------------------------------------


def _solve_base(
    balance: Decimal,
    periods: Sequence[_Period],
    rate: Decimal,
    target: Decimal,
    advance: bool,
    m_pre: Fraction,
) -> Decimal:
    """Unrounded base instalment ``P`` taking ``balance`` to ``target`` over ``periods`` at ``rate``."""
    ctx = CONTEXT
    alpha = balance + _interest(balance, rate, m_pre)
    beta = ZERO
    # Under periodic interest the periods share one multiplier object, so ``g`` is computed once per
    # multiplier object: the same operations on the same operands as computing it for every period.
    growth: dict[int, Decimal] = {}
    for p in periods:
        m = p.m_solve
        g = growth.get(id(m))
        if g is None:
            g = growth[id(m)] = ONE + rate * m.numerator / m.denominator
        if p.kind is RowKind.AMORTISING:
            if advance:
                beta -= p.factor
                alpha, beta = alpha * g, beta * g
            else:
                alpha, beta = alpha * g, beta * g - p.factor
        elif p.kind is RowKind.HOLIDAY:
            alpha, beta = alpha * g, beta * g
    if beta == 0:
        raise ValidationError("term", len(periods), "needs at least one amortising period")
    return ctx.divide(target - alpha, beta)


# -- step 3: roll -----------------------------------------------------------------------------------


def build_schedule(terms: LoanTerms) -> Schedule:
    """Compute the exact schedule of ``terms`` (see the module docstring for the method)."""
    cur = currency(terms.currency)
    if terms.timing is PaymentTiming.ADVANCE and (terms.grace or terms.floating is not None):
        raise ValidationError(
            "timing", terms.timing.value, "payments in advance take neither grace nor floating"
        )
    upfront = financed = fc_fees = per_period = per_period_fc = ZERO
    for fee in terms.fees:
        amount = round_money(terms.fee_amount(fee), cur, terms.rounding.mode)
        if fee.per_period:
            per_period += amount
            per_period_fc += amount if fee.finance_charge else ZERO
            continue
        if fee.financed:
            financed += amount
        else:
            upfront += amount
        if fee.finance_charge:
            fc_fees += amount
    zero = ZERO.quantize(cur.quantum)
    upfront, financed, fc_fees, per_period, per_period_fc = (
        x + zero for x in (upfront, financed, fc_fees, per_period, per_period_fc)
    )
    opening = round_money(terms.cash_amount, cur, terms.rounding.mode) + financed
    balloon = _balloon_amount(terms, opening, cur)
    if balloon >= opening:
        raise ValidationError("balloon", balloon, "must be less than the amount lent")
    if terms.repayment is Repayment.FLAT:
        rows = _roll_flat(terms, cur, opening, balloon, per_period)
    else:
        plan = _plan(terms)
        exact = terms.rounding.style is RoundingStyle.EXACT_BALANCES
        rows = _roll(terms, cur, plan, opening, balloon, per_period, exact)
        if exact:
            rows = _round_exact_rows(terms, cur, rows, opening)
    return Schedule(terms, cur, opening, tuple(rows), upfront, financed, fc_fees, per_period_fc)


def _balloon_amount(terms: LoanTerms, opening: Decimal, cur: Currency) -> Decimal:
    b = terms.balloon
    if b is None:
        return ZERO.quantize(cur.quantum)
    if b.amount is not None:
        raw = b.amount
    elif b.pct_of_price is not None:
        assert terms.price is not None
        raw = terms.price * b.pct_of_price
    else:
        assert b.pct_of_principal is not None
        raw = terms.cash_amount * b.pct_of_principal
    return round_money(raw, cur, terms.rounding.mode)


def _rounders(
    terms: LoanTerms, cur: Currency, exact: bool
) -> tuple[Callable[[Decimal], Decimal], Callable[[Decimal], Decimal]]:
    """``(round interest, round instalments)``; in the exact-balances style neither is rounded while
    the roll runs (instalments still are when the contract pays in multiples)."""
    mode = terms.rounding.mode
    inst_mode = terms.rounding.instalment_mode or mode
    multiple = terms.rounding.instalment_multiple
    quantum, decimal_mode = cur.quantum, mode.decimal_mode

    def r_money(x: Decimal) -> Decimal:
        return x.quantize(quantum, rounding=decimal_mode, context=CONTEXT)

    def r_inst(x: Decimal) -> Decimal:
        return round_money(x, cur, inst_mode, multiple)

    r_paid = r_money if multiple is None and inst_mode is mode else r_inst
    if exact:
        # Balances follow the unrounded instalment, unless the contract pays in multiples.
        return (lambda x: x), (lambda x: x) if multiple is None else r_inst
    return r_money, r_paid


def _roll(
    terms: LoanTerms,
    cur: Currency,
    plan: _Plan,
    opening: Decimal,
    balloon: Decimal,
    per_period: Decimal,
    exact: bool,
) -> list[Row]:
    rm, ri = _rounders(terms, cur, exact)
    zero = ZERO.quantize(cur.quantum)  # amounts are shown at the currency's minor unit
    periods = plan.periods
    n = len(periods)
    advance = terms.timing is PaymentTiming.ADVANCE
    equal_principal = terms.repayment is Repayment.EQUAL_PRINCIPAL
    rows: list[Row] = []
    b = opening
    deferred = zero
    base = ZERO
    principal_part = ZERO
    accrued = _interest(b, periods[0].rate, plan.m_pre_roll)  # advance: interest owed at the first due date
    accrued_solve = _interest(b, periods[0].rate, plan.m_pre_solve)
    last_m: Fraction | None = None
    last_rate = rate_num = ZERO
    rate_den = 1
    # Fast path for the common middle rows: level instalment, same rate and period length.
    middle = periods[1:-1]
    fast = bool(middle) and not (advance or exact or equal_principal or terms.instalment is not None)
    level: dict[Decimal, Decimal] = {}  # rounded instalment by step factor, for the current solve
    fast_num, fast_den, r1, fast_pay = ZERO, 1, ZERO, ZERO
    if fast:
        m1, r1 = middle[0].m_roll, middle[0].rate
        fast = periods[0].kind is RowKind.AMORTISING and all(
            q.kind is RowKind.AMORTISING
            and q.rate is r1
            and q.m_roll is m1
            and q.m_solve is m1
            and q.factor is ONE
            for q in middle
        )
        fast_num, fast_den = r1 * m1.numerator, m1.denominator
    quantum, decimal_mode, am_kind = cur.quantum, terms.rounding.mode.decimal_mode, RowKind.AMORTISING
    # Rows are built with every field given, so the NamedTuple's generated ``__new__`` (a Python
    # call per row) is skipped for the C-level tuple constructor: the same Row.
    new_row = tuple.__new__
    for j, p in enumerate(periods):
        last = j == n - 1
        if fast and 0 < j < n - 1:
            interest = (b * fast_num / fast_den).quantize(quantum, rounding=decimal_mode, context=CONTEXT)
            principal = fast_pay - interest
            if b - principal > balloon:
                b -= principal
                rows.append(
                    new_row(
                        Row,
                        (
                            p.number,
                            p.due,
                            am_kind,
                            r1,
                            fast_pay,
                            interest,
                            principal,
                            zero,
                            per_period,
                            b,
                            zero,
                        ),
                    )
                )
                continue
        if j == 0 or p.reset:
            level = {}
            rest = periods[j:]
            if equal_principal:
                amortising = sum(1 for q in rest if q.kind is RowKind.AMORTISING)
                principal_part = (b - balloon) / amortising
            elif terms.instalment is not None:
                base = terms.instalment
            else:
                m_pre = plan.m_pre_solve if j == 0 else Fraction(0)
                base = _solve_base(b, rest, p.rate, balloon, advance, m_pre)
                fast_pay = ri(base)
        if advance:
            interest_due, base_interest = rm(accrued), rm(accrued_solve if j == 0 else accrued)
        else:
            mr = p.m_roll
            if mr is not last_m or p.rate is not last_rate:
                last_m, last_rate = mr, p.rate
                rate_num, rate_den = p.rate * mr.numerator, mr.denominator
            interest_due = rm(b * rate_num / rate_den)
            base_interest = interest_due if p.m_solve is mr else rm(_interest(b, p.rate, p.m_solve))
        kind = p.kind
        if kind is RowKind.AMORTISING:
            interest = interest_due + deferred
            deferred = zero
            if not last:
                if equal_principal:
                    principal = round_money(principal_part, cur, terms.rounding.mode)
                else:
                    pay = level.get(p.factor)
                    if pay is None:
                        pay = level[p.factor] = ri(base * p.factor)
                    principal = pay - base_interest
                # A fixed instalment (or a coarse rounding multiple) may repay the loan early.
                last = b - principal <= (ZERO if advance else balloon)
            if last:
                if advance and balloon > 0:
                    g = ONE + p.rate * p.m_roll.numerator / p.m_roll.denominator
                    principal = b - rm(CONTEXT.divide(balloon, g))
                else:
                    principal = b - (ZERO if advance else balloon)
                row = (principal + interest, interest, principal if advance else principal + balloon)
            else:
                row = (principal + interest, interest, principal)
        elif kind is RowKind.INTEREST_FREE:
            row = (zero, zero, zero)
        elif kind is RowKind.HOLIDAY:
            row = (zero, zero, -interest_due)
        elif kind is RowKind.DEFERRED_INTEREST:
            deferred += interest_due
            row = (zero, zero, zero)
        else:  # interest only
            row = (interest_due + deferred, interest_due + deferred, zero)
            deferred = zero
        instalment, interest_paid, principal_paid = row
        if instalment < 0:
            raise ValidationError(
                "rounding.instalment_multiple",
                terms.rounding.instalment_multiple,
                "is too coarse for this loan: the last instalment would be negative",
            )
        b -= principal_paid
        last_balloon = balloon if last and not advance else zero
        rows.append(
            new_row(
                Row,
                (
                    p.number,
                    p.due,
                    kind,
                    p.rate,
                    instalment,
                    interest_paid,
                    principal_paid,
                    last_balloon,
                    per_period,
                    b,
                    deferred,
                ),
            )
        )
        if advance:
            accrued = _interest(b, p.rate, p.m_roll)
            accrued_solve = accrued
        if last:
            break
    if advance and balloon > 0:
        final = periods[len(rows) - 1]
        rows.append(
            Row(
                final.number + 1,
                final.end,
                RowKind.FINAL,
                final.rate,
                zero,
                balloon - b,
                b,
                balloon,
                zero,
                zero,
                zero,
            )
        )
    return rows


def _round_exact_rows(terms: LoanTerms, cur: Currency, rows: list[Row], opening: Decimal) -> list[Row]:
    """EXACT_BALANCES style: the unrounded schedule shown at the minor unit.

    The balance shown is the unrounded balance rounded and each row's interest the unrounded interest
    rounded; the principal is the difference of consecutive balances and the instalment the sum of
    principal and interest — so rows roll forward, Σ
    principal equals the amount lent exactly, and an instalment may differ from its neighbours by a
    cent. The last row takes what is left; an in-advance final payment is exactly the balloon.
    """
    rm, _ = _rounders(terms, cur, exact=False)
    zero = rm(ZERO)
    out: list[Row] = []
    before = opening
    for k, r in enumerate(rows):
        balance = zero if k == len(rows) - 1 else rm(r.balance)
        principal = before - balance
        balloon = rm(r.balloon)
        interest = rm(r.interest)
        if r.kind is RowKind.FINAL:
            interest, instalment = balloon - principal, zero
        elif r.kind in (RowKind.AMORTISING, RowKind.INTEREST_ONLY):
            instalment = principal + interest - balloon
        else:  # grace without payment: a holiday's capitalised interest shows as negative principal
            instalment = zero
        out.append(
            Row(r.number, r.due_date, r.kind, r.annual_rate, instalment, interest, principal, balloon, r.fees,
                balance, rm(r.deferred))
        )  # fmt: skip
        before = balance
    return out


def _roll_flat(
    terms: LoanTerms, cur: Currency, opening: Decimal, balloon: Decimal, per_period: Decimal
) -> list[Row]:
    """Flat (add-on, precomputed) interest: ``opening × rate × years``, level instalments.

    The total interest is split between the instalments equally or by the Rule of 78 (sum of digits);
    shares are cumulated before rounding, so they are never negative and add up to the total exactly.
    The principal part of each instalment is what is left of the level instalment.
    """
    rm, ri = _rounders(terms, cur, exact=False)
    n = terms.term
    ppy = terms.frequency.periods_per_year
    total_interest = rm(opening * terms.annual_rate * n / ppy)
    level = ri((opening - balloon + total_interest) / n)
    dues = payment_dates(terms.first_due, n, terms.frequency, terms.end_of_month)
    digits = n * (n + 1) // 2
    rule_of_78 = terms.flat_allocation is FlatAllocation.RULE_OF_78
    zero = rm(ZERO)
    rows: list[Row] = []
    b = opening
    earned = zero  # cumulative rounded interest
    for j, due in enumerate(dues):
        k = j + 1
        share = k * (2 * n - k + 1) // 2 if rule_of_78 else k
        cumulative = rm(total_interest * share / (digits if rule_of_78 else n))
        interest = cumulative - earned
        principal = level - interest
        last = k == n or b - principal <= balloon
        if last:
            interest = total_interest - earned  # a precomputed loan's interest is due in full
            principal = b
        earned += interest
        b -= principal
        extra = balloon if last else zero
        rows.append(
            Row(k, due, RowKind.AMORTISING, terms.annual_rate, principal + interest - extra, interest,
                principal, extra, per_period, b, zero)
        )  # fmt: skip
        if last:
            break
    return rows


__all__ = ["DayCount", "Rounding", "Row", "RowKind", "Schedule", "build_schedule"]
