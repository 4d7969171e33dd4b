"""What a loan contract *is*: the typed request the schedule engine computes.

Everything here is data, validated in one place (pydantic v2). Amounts are ``Decimal`` in major
currency units; rates are annual decimals (``0.0599`` = 5.99 % a year); terms count instalments.
Market inputs (a benchmark rate path for floating loans) are passed in with the terms, never looked up.

The pieces compose instead of multiplying flags (see docs/contracts.md):

* a *payment shape* (:class:`Repayment`: annuity, equal principal, flat, bullet) with optional
  :class:`Steps` and a :class:`Balloon`,
* *grace* periods (:class:`Grace`) of four kinds placed anywhere in the term,
* an *interest rule* (periodic or daily with a :class:`~autofin.dates.DayCount`, fixed or
  :class:`FloatingRate`), payments in arrears or in advance,
* a *rounding rule* (:class:`RoundingRule`).
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from autofin.dates import DayCount, Frequency, add_months, regular_period_start
from autofin.errors import ValidationError, from_pydantic
from autofin.money import Rounding, currency

NonNegative = Annotated[Decimal, Field(ge=0)]
Positive = Annotated[Decimal, Field(gt=0)]
Rate = Annotated[Decimal, Field(ge=-1, le=10)]
"""An annual rate as a decimal; bounded loosely so a percent typed by mistake (5.99) is still caught
by the stricter checks where it matters."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Repayment(StrEnum):
    """The payment shape of the amortising periods."""

    ANNUITY = "annuity"  # 等额本息: level instalments (times step factors)
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金: level principal, interest on the declining balance
    FLAT = "flat"  # flat (add-on) interest on the original principal for the whole term
    BULLET = "bullet"  # interest only, the principal at the end


class InterestMethod(StrEnum):
    """How interest of a period is computed from the annual rate."""

    PERIODIC = "periodic"  # annual rate / periods per year, every regular period alike
    DAILY = "daily"  # annual rate × year fraction of the period under ``day_count``


class PaymentTiming(StrEnum):
    ARREARS = "arrears"  # at the end of each period (ordinary annuity)
    ADVANCE = "advance"  # at the start of each period (annuity due; leases)


class BrokenPeriod(StrEnum):
    """Where the interest for an odd (shorter or longer) first period goes."""

    FIRST_INSTALMENT = (
        "first_instalment"  # level instalment from a regular schedule; odd days' interest added to the first
    )
    AMORTISED = "amortised"  # the level instalment is solved with the odd first period included


class RoundingStyle(StrEnum):
    """Published calculators differ; both are supported (see docs/contracts.md)."""

    PAYMENT_FIRST = "payment_first"  # round the instalment, then run balances on the rounded amounts
    EXACT_BALANCES = "exact_balances"  # run balances unrounded; round each row's parts for display


class FlatAllocation(StrEnum):
    EQUAL = "equal"  # the same interest in every instalment
    RULE_OF_78 = "rule_of_78"  # sum-of-digits: more interest early


class GraceKind(StrEnum):
    INTEREST_ONLY = "interest_only"  # pay interest, no principal
    DEFERRED_INTEREST = (
        "deferred_interest"  # pay nothing; interest accrues and is paid with the next instalment due
    )
    INTEREST_FREE = "interest_free"  # pay nothing; no interest accrues
    HOLIDAY = "holiday"  # pay nothing; interest is capitalised into the balance


class Balloon(_Model):
    """A final payment (气球贷 / 弹性尾款) due with the last instalment; give exactly one of the three."""

    amount: NonNegative | None = None
    pct_of_price: Annotated[Decimal, Field(ge=0, lt=1)] | None = None
    pct_of_principal: Annotated[Decimal, Field(ge=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [x for x in (self.amount, self.pct_of_price, self.pct_of_principal) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of amount, pct_of_price, pct_of_principal")
        return self


class StepRange(_Model):
    """Instalments ``from_period``..``to_period`` (1-based, inclusive) are ``factor`` × the base."""

    from_period: Annotated[int, Field(ge=1)]
    to_period: Annotated[int, Field(ge=1)]
    factor: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_period < self.from_period:
            raise ValueError("to_period must not be before from_period")
        return self


class Steps(_Model):
    """Step-up / step-down instalments (阶梯式): explicit ranges, or a growth rate every N periods.

    Growth: the k-th amortising instalment is ``(1 + growth_rate) ** ((k - 1) // every)`` × the base;
    a negative growth rate steps down. Ranges not covered have factor 1.
    """

    ranges: list[StepRange] = Field(default_factory=list)
    growth_rate: Annotated[Decimal, Field(gt=-1, le=1)] | None = None
    every: Annotated[int, Field(ge=1)] = 12

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if bool(self.ranges) == (self.growth_rate is not None):
            raise ValueError("give either ranges or growth_rate")
        spans = sorted((r.from_period, r.to_period) for r in self.ranges)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start <= end:
                raise ValueError("step ranges must not overlap")
        return self


class Grace(_Model):
    """``periods`` grace periods of one kind starting at period ``start`` (1-based)."""

    kind: GraceKind
    periods: Annotated[int, Field(ge=1)]
    start: Annotated[int, Field(ge=1)] = 1


class Fee(_Model):
    """A fee: up front (paid at signing or financed) or per period (added to each instalment).

    ``finance_charge`` says whether it is part of the cost of credit (Reg Z §1026.4; PBoC [2021] No. 3
    "directly related fees"); only those enter the APR / annualised rate.
    """

    name: Annotated[str, Field(min_length=1)]
    amount: NonNegative | None = None
    pct_of_principal: Annotated[Decimal, Field(ge=0, le=1)] | None = None
    financed: bool = False
    finance_charge: bool = True
    per_period: bool = False

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount is None) == (self.pct_of_principal is None):
            raise ValueError("give exactly one of amount, pct_of_principal")
        if self.per_period and self.financed:
            raise ValueError("a per-period fee cannot also be financed")
        return self


class RatePoint(_Model):
    date: date
    rate: Rate


class FloatingRate(_Model):
    """A floating rate: benchmark path + spread, reset dates, caps, floors and a rate lock.

    * ``path``: the benchmark's value from each date on (the last point on or before a date applies);
    * resets every ``reset_every_months`` from the start date, or on the explicit ``reset_dates``;
      a reset takes effect for interest periods starting on or after it;
    * ``periodic_cap`` / ``periodic_floor``: the most the rate may rise / fall at one reset (positive
      decimals); ``lifetime_cap`` / ``lifetime_floor``: absolute bounds over the whole life;
    * ``lock_until``: resets before this date are ignored (a rate lock);
    * at each effective reset the remaining term is re-amortised at the new rate.
    """

    benchmark: str = "LPR_5Y"
    path: Annotated[list[RatePoint], Field(min_length=1)]
    spread: Annotated[Decimal, Field(ge=-1, le=1)]
    reset_every_months: Annotated[int, Field(ge=1)] | None = 12
    reset_dates: list[date] = Field(default_factory=list)
    periodic_cap: NonNegative | None = None
    periodic_floor: NonNegative | None = None
    lifetime_cap: Rate | None = None
    lifetime_floor: Rate | None = None
    lock_until: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        dates = [p.date for p in self.path]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("path dates must be strictly increasing")
        if sorted(self.reset_dates) != self.reset_dates:
            raise ValueError("reset_dates must be in order")
        return self

    @field_validator("lifetime_floor")
    @classmethod
    def _floor_below_cap(cls, floor: Decimal | None, info: ValidationInfo) -> Decimal | None:
        cap = info.data.get("lifetime_cap")
        if floor is not None and cap is not None and cap < floor:
            raise ValueError(f"must not be above lifetime_cap ({cap})")
        return floor

    def benchmark_on(self, day: date) -> Decimal | None:
        """The benchmark value in force on ``day`` (``None`` before the path starts)."""
        value: Decimal | None = None
        for point in self.path:
            if point.date <= day:
                value = point.rate
            else:
                break
        return value


class PrepaymentPenalty(_Model):
    """A charge for repaying early; give exactly one of the three amounts.

    ``pct_of_prepaid`` is a fraction of the principal repaid early; ``months_of_interest`` is that many
    months of interest on the principal repaid early at the current rate; ``flat_amount`` is a fixed
    charge. No penalty applies once ``waived_after`` instalments have fallen due.
    """

    pct_of_prepaid: Annotated[Decimal, Field(ge=0, le=1)] | None = None
    months_of_interest: Annotated[int, Field(ge=1, le=24)] | None = None
    flat_amount: NonNegative | None = None
    waived_after: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [x for x in (self.pct_of_prepaid, self.months_of_interest, self.flat_amount) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of pct_of_prepaid, months_of_interest, flat_amount")
        return self


class RoundingRule(_Model):
    """How amounts are rounded.

    ``mode`` applies to every amount at the currency's minor unit; instalments may instead be rounded
    to ``instalment_multiple`` (e.g. 1 or 10 yuan) with ``instalment_mode`` (default: ``mode``). The
    last instalment always absorbs the residue so principal repaid equals principal lent exactly.
    """

    mode: Rounding = Rounding.HALF_UP
    instalment_multiple: Positive | None = None
    instalment_mode: Rounding | None = None
    style: RoundingStyle = RoundingStyle.PAYMENT_FIRST


class LoanTerms(_Model):
    """A loan contract request.

    The amount lent (the opening balance that accrues interest) is ``loan_amount`` if given, else
    ``price - down_payment``; financed fees are added to it. A fixed ``instalment`` (annuity only)
    replaces the solved one: the loan then ends when it is repaid, at most after ``term`` instalments,
    the last absorbing any difference. Periods are numbered from 1; the first
    instalment falls on ``first_payment_date`` (default: one period after ``start_date`` in arrears,
    ``start_date`` itself in advance).
    """

    currency: str = "CNY"
    price: Positive | None = None
    down_payment: NonNegative = Decimal(0)
    loan_amount: Positive | None = None
    instalment: Positive | None = None
    annual_rate: Rate
    term: Annotated[int, Field(ge=1, le=600)]
    frequency: Frequency = Frequency.MONTHLY
    start_date: date
    first_payment_date: date | None = None
    end_of_month: bool = True
    repayment: Repayment = Repayment.ANNUITY
    interest_method: InterestMethod = InterestMethod.PERIODIC
    day_count: DayCount = DayCount.ACT_365F
    timing: PaymentTiming = PaymentTiming.ARREARS
    broken_period: BrokenPeriod = BrokenPeriod.FIRST_INSTALMENT
    balloon: Balloon | None = None
    steps: Steps | None = None
    grace: list[Grace] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    floating: FloatingRate | None = None
    rounding: RoundingRule = RoundingRule()
    flat_allocation: FlatAllocation = FlatAllocation.EQUAL
    prepayment_penalty: PrepaymentPenalty | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        currency(self.currency)
        if self.loan_amount is None and self.price is None:
            raise ValidationError("loan_amount", None, "give loan_amount or price")
        if self.price is not None and self.loan_amount is None and self.down_payment >= self.price:
            raise ValidationError("down_payment", self.down_payment, "down_payment must be less than price")
        if self.annual_rate < 0:
            raise ValidationError("annual_rate", self.annual_rate, "annual_rate must not be negative")
        if self.balloon is not None:
            if self.balloon.pct_of_price is not None and self.price is None:
                raise ValidationError(
                    "balloon.pct_of_price", self.balloon.pct_of_price, "balloon.pct_of_price needs price"
                )
            if self.repayment is Repayment.BULLET:
                raise ValidationError(
                    "balloon",
                    self.balloon,
                    "a bullet loan already repays everything at the end; drop balloon",
                )
        if self.repayment in (Repayment.FLAT, Repayment.BULLET) and (self.steps or self.grace):
            raise ValidationError(
                "repayment", self.repayment.value, "flat and bullet loans take neither steps nor grace"
            )
        if self.instalment is not None and self.repayment is not Repayment.ANNUITY:
            raise ValidationError("instalment", self.instalment, "a fixed instalment needs repayment annuity")
        if self.repayment is Repayment.EQUAL_PRINCIPAL and self.steps:
            raise ValidationError("steps", self.steps, "equal_principal loans take no steps")
        if self.floating is not None and self.repayment is Repayment.FLAT:
            raise ValidationError("floating", "floating", "flat loans cannot float")
        if self.first_payment_date is not None:
            if self.first_payment_date < self.start_date:
                raise ValidationError(
                    "first_payment_date",
                    self.first_payment_date,
                    "first_payment_date must not be before start_date",
                )
            if self.timing is PaymentTiming.ARREARS and self.first_payment_date == self.start_date:
                raise ValidationError(
                    "first_payment_date",
                    self.first_payment_date,
                    "first_payment_date must be after start_date for payments in arrears",
                )
            regular = regular_period_start(self.first_payment_date, self.frequency, self.end_of_month)
            if (
                self.timing is PaymentTiming.ARREARS
                and regular_period_start(regular, self.frequency, self.end_of_month) >= self.start_date
            ):
                raise ValidationError(
                    "first_payment_date",
                    self.first_payment_date,
                    "the first period may be at most two regular periods long",
                )
        covered: set[int] = set()
        for g in self.grace:
            span = set(range(g.start, g.start + g.periods))
            if max(span) >= self.term:
                raise ValidationError("grace", g.start, "grace must end before the last period")
            if covered & span:
                raise ValidationError("grace", g.start, "grace periods must not overlap")
            covered |= span
        if self.steps is not None:
            for r in self.steps.ranges:
                if r.to_period > self.term:
                    raise ValidationError(
                        "steps.ranges", r.to_period, "steps.ranges must lie within the term"
                    )
        if self.rounding.instalment_multiple is not None:
            round_check = self.rounding.instalment_multiple / currency(self.currency).quantum
            if round_check % 1 != 0:
                raise ValidationError(
                    "rounding.instalment_multiple",
                    self.rounding.instalment_multiple,
                    "rounding.instalment_multiple must be a whole number of minor units",
                )
        return self

    # -- derived amounts -------------------------------------------------------------------------

    @property
    def cash_amount(self) -> Decimal:
        """The amount lent before financed fees: ``loan_amount`` or ``price - down_payment``."""
        if self.loan_amount is not None:
            return self.loan_amount
        assert self.price is not None
        return self.price - self.down_payment

    def fee_amount(self, fee: Fee) -> Decimal:
        """A fee in currency units (a percentage fee is of the cash amount lent)."""
        if fee.amount is not None:
            return fee.amount
        assert fee.pct_of_principal is not None
        return self.cash_amount * fee.pct_of_principal

    @property
    def first_due(self) -> date:
        if self.first_payment_date is not None:
            return self.first_payment_date
        if self.timing is PaymentTiming.ADVANCE:
            return self.start_date
        return _one_period_after(self.start_date, self.frequency, self.end_of_month)


def _one_period_after(d: date, frequency: Frequency, end_of_month: bool) -> date:
    if frequency.months is not None:
        return add_months(d, frequency.months, end_of_month)
    from autofin.dates import payment_dates

    return payment_dates(d, 2, frequency, end_of_month)[1]


def parse_terms(data: Any) -> LoanTerms:
    """Validate a JSON-like mapping into :class:`LoanTerms`.

    Raises :class:`autofin.errors.ValidationError` naming the first offending field and the rule.
    """
    try:
        return LoanTerms.model_validate(data)
    except PydanticValidationError as exc:
        raise from_pydantic(exc) from None
