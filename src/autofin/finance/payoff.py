"""Early settlement: payoff quotes on any date and partial prepayments.

Conventions (see docs/contracts.md, "Early settlement"):

* Instalments due *before* the payoff date are taken as paid on time; one due *on* it is not, and its
  interest is then the scheduled interest of its period, so paying it and settling the rest costs the
  same as settling everything that day.
* Interest to a date accrues on the outstanding principal from the last due date (or the start) at the
  period's annual rate under the contract's day count; ``InterestTo.NEXT_DUE`` charges the whole
  current period instead (the "next rest date" convention some lenders use).
* Flat-rate loans: future periods' interest is rebated by the allocation method of the contract
  (equal or Rule of 78); the current period's allocated interest is earned pro rata by days.
* A payoff on the start date equals the amount lent (the principal): no interest, no penalty unless the
  contract's penalty charges one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from autofin.dates import year_fraction
from autofin.errors import ValidationError
from autofin.finance.schedule import Row, RowKind, Schedule, build_schedule
from autofin.finance.terms import (
    Grace,
    LoanTerms,
    PaymentTiming,
    PrepaymentPenalty,
    Repayment,
    StepRange,
    Steps,
)
from autofin.money import round_money

ZERO = Decimal(0)


class InterestTo(StrEnum):
    DATE = "date"  # interest accrued to the payoff date
    NEXT_DUE = "next_due"  # the whole current period's interest


class PrepaymentEffect(StrEnum):
    SHORTEN_TERM = "shorten_term"  # keep the instalment, end earlier
    REDUCE_INSTALMENT = "reduce_instalment"  # keep the end date, pay less each time


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    """What it takes to settle a contract on ``on`` (amounts in major currency units)."""

    on: date
    instalments_paid: int
    principal: Decimal
    interest: Decimal
    deferred_interest: Decimal
    penalty: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.deferred_interest + self.penalty


@dataclass(frozen=True, slots=True)
class PrepaymentResult:
    """A partial prepayment: how ``amount`` was applied and the schedule that follows it."""

    on: date
    amount: Decimal
    interest: Decimal
    deferred_interest: Decimal
    penalty: Decimal
    principal_reduction: Decimal
    schedule: Schedule


def _position(schedule: Schedule, on: date) -> tuple[int, Row | None]:
    """How many rows fell due before ``on``, and the next row (due on or after ``on``)."""
    terms = schedule.terms
    if on < terms.start_date:
        raise ValidationError("on", on.isoformat(), "must not be before the start date")
    rows = schedule.rows
    paid = sum(1 for r in rows if r.due_date < on)
    if paid == len(rows):
        raise ValidationError("on", on.isoformat(), "is after the last due date: nothing is left to settle")
    return paid, rows[paid]


def _penalty(
    schedule: Schedule, rule: PrepaymentPenalty | None, paid: int, prepaid: Decimal, rate: Decimal
) -> Decimal:
    if rule is None or (rule.waived_after is not None and paid >= rule.waived_after):
        return ZERO
    cur = schedule.currency
    if rule.pct_of_prepaid is not None:
        return round_money(prepaid * rule.pct_of_prepaid, cur)
    if rule.months_of_interest is not None:
        return round_money(prepaid * rate * rule.months_of_interest / 12, cur)
    assert rule.flat_amount is not None
    return rule.flat_amount


def _period_interest(schedule: Schedule, paid: int, nxt: Row) -> Decimal:
    """The scheduled interest of the current period (the one ending at ``nxt``), deferred excluded."""
    carried = schedule.rows[paid - 1].deferred if paid else ZERO
    if schedule.terms.timing is PaymentTiming.ADVANCE:
        return nxt.interest  # row k pays the interest of the period before it
    if nxt.kind is RowKind.DEFERRED_INTEREST:
        return nxt.deferred - carried
    if nxt.kind is RowKind.HOLIDAY:
        return -nxt.principal  # the interest that will be capitalised at the period's end
    if nxt.kind is RowKind.INTEREST_FREE:
        return ZERO
    return nxt.interest - carried


def _accrued(schedule: Schedule, paid: int, nxt: Row, on: date, interest_to: InterestTo) -> Decimal:
    """Interest owed on ``on`` for the current period (excluding deferred interest)."""
    terms = schedule.terms
    since = schedule.rows[paid - 1].due_date if paid else terms.start_date
    if on == nxt.due_date or interest_to is InterestTo.NEXT_DUE:
        return _period_interest(schedule, paid, nxt)
    if terms.repayment is Repayment.FLAT:
        # Precomputed interest: the current period's share is earned by days; later shares are rebated.
        span = (nxt.due_date - since).days
        return round_money(
            _period_interest(schedule, paid, nxt) * (on - since).days / span, schedule.currency
        )
    if nxt.kind is RowKind.INTEREST_FREE:
        return ZERO
    balance = schedule.rows[paid - 1].balance if paid else schedule.opening_balance
    return round_money(
        balance * nxt.annual_rate * year_fraction(since, on, terms.day_count), schedule.currency
    )


def payoff_quote(schedule: Schedule, on: date, interest_to: InterestTo = InterestTo.DATE) -> PayoffQuote:
    """The amount that settles ``schedule`` on ``on``: principal, interest, deferred interest, penalty."""
    paid, nxt = _position(schedule, on)
    assert nxt is not None
    rows = schedule.rows
    balance = rows[paid - 1].balance if paid else schedule.opening_balance
    deferred = rows[paid - 1].deferred if paid else ZERO
    interest = _accrued(schedule, paid, nxt, on, interest_to)
    penalty = _penalty(schedule, schedule.terms.prepayment_penalty, paid, balance, nxt.annual_rate)
    return PayoffQuote(on, paid, balance, interest, deferred, penalty)


def partial_prepayment(
    schedule: Schedule,
    on: date,
    amount: Decimal,
    effect: PrepaymentEffect = PrepaymentEffect.REDUCE_INSTALMENT,
) -> PrepaymentResult:
    """Apply ``amount`` on ``on``, on top of any instalment due that day (which is paid as scheduled):
    interest accrued since the last due date, deferred interest and the penalty first, then principal.

    Returns the new schedule of the remaining balance from ``on``: its first instalment is the next
    one of the old schedule. Supported for declining-balance loans paid in arrears; flat-rate and
    in-advance contracts can be settled in full with :func:`payoff_quote` but not partially.
    """
    terms = schedule.terms
    if amount <= 0:
        raise ValidationError("amount", amount, "must be positive")
    if terms.repayment is Repayment.FLAT:
        raise ValidationError(
            "repayment", terms.repayment.value, "flat-rate loans can only be settled in full"
        )
    if terms.timing is PaymentTiming.ADVANCE:
        raise ValidationError(
            "timing", terms.timing.value, "in-advance contracts can only be settled in full"
        )
    rows, cur = schedule.rows, schedule.currency
    if on < terms.start_date:
        raise ValidationError("on", on.isoformat(), "must not be before the start date")
    # The instalments due on or before the prepayment date are paid as scheduled; the amount is extra.
    paid = sum(1 for r in rows if r.due_date <= on)
    if paid >= len(rows) - 1:
        raise ValidationError("on", on.isoformat(), "leaves at most one instalment: settle with payoff_quote")
    balance = rows[paid - 1].balance if paid else schedule.opening_balance
    deferred = rows[paid - 1].deferred if paid else ZERO
    interest = _accrued(schedule, paid, rows[paid], on, InterestTo.DATE)
    rule = terms.prepayment_penalty
    owed_first = interest + deferred
    available = amount - owed_first
    if rule is not None and rule.flat_amount is not None:
        available -= _penalty(schedule, rule, paid, ZERO, ZERO)
    charged = _penalty(schedule, rule, paid, balance, rows[paid].annual_rate) > 0
    if rule is not None and rule.pct_of_prepaid is not None and charged:
        reduction = round_money(available / (1 + rule.pct_of_prepaid), cur)
    elif rule is not None and rule.months_of_interest is not None and charged:
        rate = rows[paid].annual_rate
        reduction = round_money(available / (1 + rate * rule.months_of_interest / 12), cur)
    else:
        reduction = available
    if reduction <= 0:
        raise ValidationError("amount", amount, f"must exceed the interest and charges owed ({owed_first})")
    if reduction >= balance - schedule.balloon:
        raise ValidationError(
            "amount",
            amount,
            "repays the whole balance (or more than the balance less the balloon): use payoff_quote",
        )
    penalty = _penalty(schedule, rule, paid, reduction, rows[paid].annual_rate)
    remaining = rows[paid:]
    new_terms = _remaining_terms(schedule, paid, on, balance - reduction, effect, remaining)
    return PrepaymentResult(
        on, amount, interest, deferred, penalty, amount - owed_first - penalty, build_schedule(new_terms)
    )


def _remaining_terms(
    schedule: Schedule,
    paid: int,
    on: date,
    balance: Decimal,
    effect: PrepaymentEffect,
    remaining: tuple[Row, ...],
) -> LoanTerms:
    terms = schedule.terms
    if any(r.kind is not RowKind.AMORTISING for r in remaining[:1]) and any(
        r.kind is RowKind.DEFERRED_INTEREST for r in remaining
    ):
        raise ValidationError(
            "on", on.isoformat(), "prepayment during deferred-interest grace is not supported"
        )
    grace = [
        Grace(kind=g.kind, periods=g.periods, start=g.start - paid) for g in terms.grace if g.start > paid
    ]
    if any(g.start <= paid < g.start + g.periods - 1 for g in terms.grace):
        raise ValidationError("on", on.isoformat(), "prepayment inside a grace period is not supported")
    update: dict[str, object] = {
        "loan_amount": balance,
        "price": None,
        "down_payment": ZERO,
        "start_date": on,
        "first_payment_date": remaining[0].due_date,
        "term": len(remaining),
        "annual_rate": remaining[0].annual_rate,
        "fees": [],
        "grace": grace,
        "balloon": {"amount": schedule.balloon} if schedule.balloon else None,
        "steps": _shifted_steps(schedule, paid),
        "instalment": None,
    }
    if terms.floating is not None:
        update["floating"] = terms.floating.model_copy(update={"reset_dates": _future_resets(schedule, paid)})
    if effect is PrepaymentEffect.SHORTEN_TERM:
        if terms.steps is not None:
            raise ValidationError(
                "effect", effect.value, "a stepped schedule can only reduce its instalments"
            )
        if terms.repayment is Repayment.EQUAL_PRINCIPAL:
            level = remaining[0].principal
            update["term"] = min(len(remaining), math.ceil((balance - schedule.balloon) / level))
        elif terms.repayment is Repayment.ANNUITY:
            update["instalment"] = _level_instalment(remaining)
    data = terms.model_dump()
    data.update(update)
    return LoanTerms.model_validate(data)


def _level_instalment(remaining: tuple[Row, ...]) -> Decimal:
    """The regular instalment still to come (the most frequent one, ignoring the last)."""
    amortising = [r.instalment for r in remaining[:-1] if r.kind is RowKind.AMORTISING] or [
        remaining[-1].instalment
    ]
    return max(set(amortising), key=amortising.count)


def _shifted_steps(schedule: Schedule, paid: int) -> dict[str, object] | None:
    steps = schedule.terms.steps
    if steps is None:
        return None
    from autofin.finance.schedule import _factors, _kinds

    factors = _factors(schedule.terms, _kinds(schedule.terms))[paid:]
    ranges: list[StepRange] = []
    start = 0
    for k in range(1, len(factors) + 1):
        if k == len(factors) or factors[k] != factors[start]:
            if factors[start] != 1:
                ranges.append(StepRange(from_period=start + 1, to_period=k, factor=factors[start]))
            start = k
    return Steps(ranges=ranges).model_dump() if ranges else None


def _future_resets(schedule: Schedule, paid: int) -> list[date]:
    rows = schedule.rows
    return [
        rows[k].due_date for k in range(paid + 1, len(rows)) if rows[k].annual_rate != rows[k - 1].annual_rate
    ]
