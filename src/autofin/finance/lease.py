"""Lease contract math: US consumer vehicle leases (Regulation M) and finance leases (融资租赁).

Three contract kinds live here, each as *terms* (a frozen, validated dataclass) and a function that
computes them (the QuantLib split of ../../../shared/DESIGN.md):

* :func:`closed_end_lease` — a US closed-end ("walk-away") consumer vehicle lease. The result carries
  every line of the payment-derivation progression that 12 CFR 1013.4(f) (Regulation M) requires and
  the model form in appendix A-2 lays out (gross capitalized cost, capitalized cost reduction, adjusted
  capitalized cost, residual value, depreciation and any amortized amounts, rent charge, total of base
  periodic payments, lease term, base periodic payment, sales/use tax, total periodic payment), the
  itemised amount due at lease signing (§1013.4(b)), the total of periodic payments (§1013.4(c)), other
  charges (§1013.4(d)), the total of payments (§1013.4(e)), and a constant-yield (actuarial) schedule
  splitting every base payment into rent charge and depreciation.
* :func:`open_end_lease` — the same progression for an open-end (residual-guarantee) lease, in which
  the lessee owes the shortfall of the realized value below the residual value, limited by the
  Consumer Leasing Act's rebuttable presumption (15 U.S.C. 1667b(a); 12 CFR 1013.4(m)(1)): a residual
  value exceeding the realized value by more than **three times the base monthly payment** is presumed
  unreasonable, so that is the most the lessee can be made to pay without the lessor going to court.
* :func:`finance_lease` — a finance lease with a purchase option (融资租赁, 留购价), rents in advance or
  in arrears (and the HP-12C style "several payments in advance"), a deposit (保证金) refunded or set
  against the last rents, and an exact schedule (rent, principal, interest, outstanding investment)
  that ends at the purchase-option price, the last rent absorbing rounding. :func:`one_plus_three`
  builds the Chinese "1+3" structure on it. The schedule is rolled by the generic loan engine
  (:func:`autofin.finance.schedule.build_schedule`: the rent as the instalment, the purchase option
  as the balloon); this module adds what is lease-specific (pricing the rent with several payments in
  advance, the deposit, the handling fee, the rows as a lessor reports them) and solves its rates with
  :func:`autofin.finance.apr.cn_annualised_rate`.

Units: money is :class:`~decimal.Decimal` in major units of the contract currency, rounded half-up to
the minor unit unless a rounding rule says otherwise; rates are annual decimals (``0.0599``); a money
factor is a monthly decimal (``0.0025``); terms count months.

**Why nothing here is called an APR.** A lease is not credit under Regulation Z, and Regulation M
requires no rate at all. If a lessor does state a percentage rate, 12 CFR 1013.4(s) forbids calling it
an "annual percentage rate", an "annual lease rate" or an equivalent term, and requires the notice
"This percentage may not measure the overall cost of financing this lease." So the rates here are
``lease_rate`` (the lessor's nominal annual rate, 12 × the monthly rate) and ``money_factor``; any
display of them must carry that notice (:data:`RATE_NOTICE`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Final

from autofin.dates import add_months
from autofin.errors import ConvergenceError, ValidationError
from autofin.finance.apr import CashFlow, cn_annualised_rate
from autofin.finance.schedule import Row, RowKind, build_schedule
from autofin.finance.terms import Balloon, LoanTerms, PaymentTiming, StepRange, Steps
from autofin.money import CONTEXT, Currency, Rounding, currency, round_money, to_decimal

__all__ = [
    "MONEY_FACTOR_DIVISOR",
    "RATE_NOTICE",
    "ConsumerLeaseDisclosure",
    "ConsumerLeaseScheduleRow",
    "ConsumerLeaseTerms",
    "DepositTreatment",
    "FinanceLeaseRow",
    "FinanceLeaseSchedule",
    "FinanceLeaseTerms",
    "LeaseCharge",
    "OnePlusThreeSchedule",
    "OnePlusThreeTerms",
    "OpenEndLeaseDisclosure",
    "OpenEndSettlement",
    "PaymentMethod",
    "RentTiming",
    "TaxBasis",
    "closed_end_lease",
    "finance_lease",
    "finance_lease_rate",
    "implied_money_factor",
    "lease_rate_from_money_factor",
    "money_factor_from_lease_rate",
    "one_plus_three",
    "open_end_lease",
    "open_end_settlement",
    "total_of_payments",
]

#: The notice 12 CFR 1013.4(s) requires next to any percentage rate disclosed for a consumer lease.
RATE_NOTICE: Final = "This percentage may not measure the overall cost of financing this lease."

#: ``money factor = lease rate in percent / 2400`` (industry convention). Rent per month is charged on
#: the average of the adjusted capitalized cost and the residual, ``(C + R) / 2 × rate / 12``, which is
#: ``(C + R) × rate / 24``; with the rate in percent that is ``/ 2400``. With rates as decimals here,
#: ``money_factor = lease_rate / 24``.
MONEY_FACTOR_DIVISOR: Final = Decimal(24)

MONTHS_PER_YEAR: Final = 12
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
#: Presumption multiple of 15 U.S.C. 1667b(a) / 12 CFR 1013.4(m)(1): three base monthly payments.
_OPEN_END_PRESUMPTION_PAYMENTS: Final = 3
#: The longest term the loan engine schedules (``LoanTerms.term``), which finance leases run on.
_MAX_ENGINE_TERM: Final = 600


# ----------------------------------------------------------------------------------------------- rates


def money_factor_from_lease_rate(lease_rate: Decimal) -> Decimal:
    """Money factor (monthly decimal) for an annual lease rate (decimal): ``lease_rate / 24``.

    ``0.06`` (6 % a year) gives ``0.0025``. The conversion is the industry's average-balance
    approximation, not an exact equivalence (see :data:`MONEY_FACTOR_DIVISOR`).
    """
    with localcontext(CONTEXT):
        return to_decimal(lease_rate, "lease_rate") / MONEY_FACTOR_DIVISOR


def lease_rate_from_money_factor(money_factor: Decimal) -> Decimal:
    """Annual lease rate (decimal) for a money factor: ``money_factor × 24`` (``0.0025`` → ``0.06``)."""
    with localcontext(CONTEXT):
        return to_decimal(money_factor, "money_factor") * MONEY_FACTOR_DIVISOR


def implied_money_factor(
    rent_charge: Decimal, term_months: int, adjusted_capitalized_cost: Decimal, residual_value: Decimal
) -> Decimal:
    """The money factor implied by a disclosed rent charge: ``rent / term / (adjusted cap cost + residual)``.

    All amounts in currency units; the result is an unrounded monthly decimal.
    """
    if term_months <= 0:
        raise ValidationError("term_months", term_months, "must be a positive number of months")
    base = to_decimal(adjusted_capitalized_cost, "adjusted_capitalized_cost") + to_decimal(
        residual_value, "residual_value"
    )
    if base <= 0:
        raise ValidationError(
            "adjusted_capitalized_cost", adjusted_capitalized_cost, "plus residual must be positive"
        )
    with localcontext(CONTEXT):
        return to_decimal(rent_charge, "rent_charge") / term_months / base


# ------------------------------------------------------------------------------------------- helpers


#: A neutral first-of-month date. Lease arithmetic counts whole months (``lease_rate / 12`` a month,
#: whatever the month's length), so the loan engine and the IRR solver are run on this calendar, where
#: every period is exactly one month and no broken first period can arise; the lease dates its rows
#: itself from the contract's start date.
_MONTH_GRID_START: Final = date(2000, 1, 1)


@functools.lru_cache(maxsize=64)
def _month_grid(n: int) -> tuple[date, ...]:
    """The first ``n`` month starts of the neutral grid (``_MONTH_GRID_START`` + 0, 1, … months);
    cached because every lease solve walks the same grid."""
    return tuple(add_months(_MONTH_GRID_START, months) for months in range(n))


def _monthly_irr(flows: Sequence[Decimal], field_name: str) -> Decimal:
    """The monthly rate ``i`` with ``Σ flows[t] / (1 + i)^t = 0``, ``flows[t]`` due ``t`` months in.

    ``flows[0]`` must be money paid out (negative); negative flows are money out (advances), positive
    ones money back (payments). Solved by :func:`autofin.finance.apr.cn_annualised_rate` on whole
    months (no odd days), which is exactly the monthly IRR. Raises :class:`ConvergenceError` naming
    ``field_name`` if the flows have no rate (nothing paid out at the start, or nothing paid back).
    """
    if not flows or flows[0] >= 0:
        raise ConvergenceError(field_name, len(flows), "cash flows start with no money paid out: no rate")
    advances: list[CashFlow] = []
    payments: list[CashFlow] = []
    grid = _month_grid(len(flows))
    for months, flow in enumerate(flows):
        if flow:
            (advances if flow < 0 else payments).append(CashFlow(grid[months], abs(flow)))
    if not payments:
        raise ConvergenceError(field_name, len(flows), "cash flows pay nothing back: no rate")
    try:
        result = cn_annualised_rate(advances, payments)
    except ConvergenceError as error:
        raise ConvergenceError(field_name, len(flows), error.rule) from error
    assert result.periodic_rate is not None  # always set by the CN method
    return result.periodic_rate


def _decimal_fields(obj: object, names: Sequence[str]) -> None:
    """Normalise the named attributes of a frozen dataclass to ``Decimal`` (floats via ``repr``)."""
    for name in names:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, Decimal):
            object.__setattr__(obj, name, to_decimal(value, name))


def _require(condition: bool, field_name: str, value: object, rule: str) -> None:
    if not condition:
        raise ValidationError(field_name, value, rule)


def _check_term(term_months: object, field_name: str = "term_months", most: int | None = None) -> None:
    ok = isinstance(term_months, int) and not isinstance(term_months, bool) and term_months > 0
    _require(ok, field_name, term_months, "must be a positive whole number of months")
    if most is not None:
        assert isinstance(term_months, int)
        _require(term_months <= most, field_name, term_months, f"must be at most {most} months")


def _check_rate(value: Decimal | None, field_name: str) -> None:
    if value is None:
        return
    _require(value >= 0, field_name, value, "must not be negative")
    _require(value < 1, field_name, value, "must be an annual decimal (0.0599), not a percent (5.99)")


Amounts = tuple[tuple[str, Decimal], ...]
"""Labelled amounts in display order, e.g. ``(("Capitalized cost reduction", Decimal("3500.00")), ...)``."""


def total_of_payments(
    amount_due_at_signing: Decimal,
    total_of_periodic_payments: Decimal,
    other_charges: Decimal,
    periodic_payments_at_signing: Decimal,
    refundable_at_signing: Decimal,
) -> Decimal:
    """Regulation M's total of payments (12 CFR 1013.4(e)), in currency units.

    The amount due at lease signing less refundable amounts (security deposit), plus the total of
    periodic payments less the part of it already counted at signing (the first payment), plus other
    charges (disposition fee, …).
    """
    return (
        amount_due_at_signing
        - refundable_at_signing
        + total_of_periodic_payments
        - periodic_payments_at_signing
        + other_charges
    )


# ====================================================================== US consumer leases (Reg M)


class PaymentMethod(StrEnum):
    """How the base periodic payment is derived from the rate."""

    MONEY_FACTOR = "money_factor"
    """Industry formula: ``(C − R) / n + (C + R) × money factor``, rounded to the cent."""
    ANNUITY_DUE = "annuity_due"
    """Exact: level payments in advance plus the residual at the end discounted at ``lease_rate / 12``
    equal the adjusted capitalized cost."""


class TaxBasis(StrEnum):
    """What the sales/use tax is levied on (varies by US state)."""

    PERIODIC_PAYMENT = "periodic_payment"
    """Tax on each base periodic payment (most states)."""
    UPFRONT_ON_AGREED_VALUE = "upfront_on_agreed_value"
    """Tax on the vehicle's agreed-upon value, once, at signing or capitalized (e.g. a few states that
    tax the whole price of a leased vehicle)."""


@dataclass(frozen=True, slots=True)
class LeaseCharge:
    """An add-on or fee: acquisition fee, service contract, title or registration fee, prior balance.

    ``amount`` in currency units. ``capitalized=True`` puts it into the gross capitalized cost (paid
    over the term); ``False`` makes it part of the amount due at lease signing.
    """

    name: str
    amount: Decimal
    capitalized: bool = False

    def __post_init__(self) -> None:
        _decimal_fields(self, ("amount",))
        _require(bool(self.name.strip()), "charges.name", self.name, "must not be empty")
        _require(self.amount >= 0, f"charges[{self.name}].amount", self.amount, "must not be negative")


@dataclass(frozen=True, slots=True)
class ConsumerLeaseTerms:
    """A US consumer vehicle lease, with payments monthly in advance (first payment at signing).

    Amounts are in currency units (``currency``, ISO 4217). Give the residual either as
    ``residual_value`` or as ``residual_percent`` (decimal fraction) of ``msrp``; give exactly one of
    ``money_factor`` (monthly decimal) and ``lease_rate`` (annual decimal — *not* an APR, see the module
    docstring). ``cash_down``, ``net_trade_in`` and ``rebates`` reduce the capitalized cost; negative
    trade-in equity is a capitalized :class:`LeaseCharge` ("prior credit or lease balance"), not a
    negative trade-in. ``security_deposit`` is refundable and paid at signing. ``tax_rate`` is a decimal
    (``0.0625``); with :attr:`TaxBasis.PERIODIC_PAYMENT` it applies to each base payment and, if
    ``tax_cap_cost_reduction``, once to the cash and rebate part of the cap cost reduction at signing;
    with :attr:`TaxBasis.UPFRONT_ON_AGREED_VALUE` it applies once to the agreed-upon value, paid at
    signing or, if ``upfront_tax_capitalized``, added to the gross capitalized cost.
    ``disposition_fee`` is due at the end if the vehicle is returned (an "other charge").
    """

    agreed_upon_value: Decimal
    term_months: int
    residual_value: Decimal | None = None
    residual_percent: Decimal | None = None
    msrp: Decimal | None = None
    money_factor: Decimal | None = None
    lease_rate: Decimal | None = None
    method: PaymentMethod = PaymentMethod.MONEY_FACTOR
    charges: tuple[LeaseCharge, ...] = ()
    cash_down: Decimal = _ZERO
    net_trade_in: Decimal = _ZERO
    rebates: Decimal = _ZERO
    security_deposit: Decimal = _ZERO
    tax_rate: Decimal = _ZERO
    tax_basis: TaxBasis = TaxBasis.PERIODIC_PAYMENT
    tax_cap_cost_reduction: bool = False
    upfront_tax_capitalized: bool = False
    disposition_fee: Decimal = _ZERO
    currency: str = "USD"

    def __post_init__(self) -> None:
        _decimal_fields(
            self,
            (
                "agreed_upon_value",
                "residual_value",
                "residual_percent",
                "msrp",
                "money_factor",
                "lease_rate",
                "cash_down",
                "net_trade_in",
                "rebates",
                "security_deposit",
                "tax_rate",
                "disposition_fee",
            ),
        )
        object.__setattr__(self, "charges", tuple(self.charges))
        _validate_consumer_terms(self)

    @property
    def ccy(self) -> Currency:
        return currency(self.currency)

    def resolved_residual(self) -> Decimal:
        """The residual value in currency units (from the amount, or percent × MSRP, rounded)."""
        if self.residual_value is not None:
            return round_money(self.residual_value, self.ccy)
        assert self.residual_percent is not None and self.msrp is not None  # guaranteed by validation
        return round_money(self.residual_percent * self.msrp, self.ccy)


def _validate_consumer_terms(t: ConsumerLeaseTerms) -> None:
    """All rules for :class:`ConsumerLeaseTerms`, in one place; each failure names its field."""
    ccy = currency(t.currency)  # raises UnknownCurrencyError (a ValidationError) for "currency"
    _require(t.agreed_upon_value > 0, "agreed_upon_value", t.agreed_upon_value, "must be positive")
    _check_term(t.term_months)
    for name in ("cash_down", "net_trade_in", "rebates", "security_deposit", "disposition_fee"):
        value = getattr(t, name)
        _require(value >= 0, name, value, "must not be negative")
    if t.money_factor is not None and t.lease_rate is not None:
        raise ValidationError(
            "money_factor", t.money_factor, "give either money_factor or lease_rate, not both"
        )
    if t.money_factor is None and t.lease_rate is None:
        raise ValidationError("money_factor", None, "one of money_factor or lease_rate is required")
    if t.money_factor is not None:
        _require(t.money_factor >= 0, "money_factor", t.money_factor, "must not be negative")
        _require(
            t.money_factor * MONEY_FACTOR_DIVISOR < 1,
            "money_factor",
            t.money_factor,
            "must be a monthly decimal (0.0025), not a rate or a percent",
        )
    _check_rate(t.lease_rate, "lease_rate")
    _check_rate(t.tax_rate, "tax_rate")
    if t.residual_value is not None:
        _require(
            t.residual_percent is None,
            "residual_percent",
            t.residual_percent,
            "give residual_value or residual_percent, not both",
        )
        _require(t.residual_value >= 0, "residual_value", t.residual_value, "must not be negative")
    else:
        _require(
            t.residual_percent is not None,
            "residual_value",
            None,
            "residual_value or residual_percent is required",
        )
        assert t.residual_percent is not None
        _require(
            0 <= t.residual_percent < 1,
            "residual_percent",
            t.residual_percent,
            "must be a fraction of MSRP in [0, 1)",
        )
        _require(
            t.msrp is not None and t.msrp > 0,
            "msrp",
            t.msrp,
            "must be positive when residual_percent is given",
        )
    gross = _gross_cap_items(t, ccy)
    gross_total = sum((amount for _, amount in gross), _ZERO)
    reduction = t.cash_down + t.net_trade_in + t.rebates
    _require(
        reduction < gross_total,
        "capitalized_cost_reduction",
        reduction,
        f"must be less than the gross capitalized cost ({gross_total})",
    )
    residual = t.resolved_residual()
    _require(
        residual < gross_total - reduction,
        "residual_value",
        residual,
        f"must be less than the adjusted capitalized cost ({gross_total - reduction})",
    )


def _upfront_tax(t: ConsumerLeaseTerms, ccy: Currency) -> Decimal:
    if t.tax_basis is TaxBasis.UPFRONT_ON_AGREED_VALUE:
        return round_money(t.agreed_upon_value * t.tax_rate, ccy)
    return _ZERO


def _gross_cap_items(t: ConsumerLeaseTerms, ccy: Currency) -> Amounts:
    items: list[tuple[str, Decimal]] = [("Agreed-upon value", round_money(t.agreed_upon_value, ccy))]
    items += [(c.name, round_money(c.amount, ccy)) for c in t.charges if c.capitalized]
    if t.upfront_tax_capitalized and t.tax_basis is TaxBasis.UPFRONT_ON_AGREED_VALUE:
        items.append(("Sales/use tax (capitalized)", _upfront_tax(t, ccy)))
    return tuple(items)


@dataclass(frozen=True, slots=True)
class ConsumerLeaseScheduleRow:
    """One month of the constant-yield (actuarial) allocation of a base payment made in advance.

    ``opening_balance`` is the lessor's investment at the start of the month; the base payment is made
    then; ``rent_charge`` is earned on what remains at the constant monthly yield; ``depreciation`` is
    the rest of the payment; ``closing_balance = opening_balance − depreciation``. Currency units.
    """

    period: int
    opening_balance: Decimal
    base_payment: Decimal
    rent_charge: Decimal
    depreciation: Decimal
    closing_balance: Decimal


@dataclass(frozen=True, slots=True)
class ConsumerLeaseDisclosure:
    """The Regulation M disclosures and payment derivation of a consumer lease (currency units).

    Progression (12 CFR 1013.4(f)): ``gross_capitalized_cost − capitalized_cost_reduction =
    adjusted_capitalized_cost``; ``− residual_value = depreciation_and_amortized_amounts``;
    ``+ rent_charge = total_of_base_periodic_payments``; ``÷ lease_term = base_periodic_payment``;
    ``+ periodic_sales_tax = total_periodic_payment``.

    Rates: ``money_factor`` is the factor used (given, or ``lease_rate / 24``); ``implied_money_factor``
    is the one implied by the disclosed rent charge; ``lease_rate`` is the constant-yield annual rate
    (12 × the monthly rate that discounts the base payments in advance and the residual to the
    adjusted capitalized cost) — *not* an APR; show it only with :data:`RATE_NOTICE`.
    """

    currency: Currency
    method: PaymentMethod
    gross_capitalized_cost: Decimal
    gross_capitalized_cost_items: Amounts
    capitalized_cost_reduction: Decimal
    adjusted_capitalized_cost: Decimal
    residual_value: Decimal
    depreciation_and_amortized_amounts: Decimal
    rent_charge: Decimal
    total_of_base_periodic_payments: Decimal
    lease_term: int
    base_periodic_payment: Decimal
    periodic_sales_tax: Decimal
    total_periodic_payment: Decimal
    amount_due_at_signing: Decimal
    amount_due_at_signing_items: Amounts
    amount_due_paid_by: Amounts
    total_of_periodic_payments: Decimal
    other_charges: Amounts
    total_of_payments: Decimal
    money_factor: Decimal
    implied_money_factor: Decimal
    lease_rate: Decimal
    schedule: tuple[ConsumerLeaseScheduleRow, ...] = field(repr=False)

    @property
    def rate_notice(self) -> str:
        """The 12 CFR 1013.4(s) notice that must accompany any display of :attr:`lease_rate`."""
        return RATE_NOTICE


def _base_payment(t: ConsumerLeaseTerms, adjusted: Decimal, residual: Decimal, ccy: Currency) -> Decimal:
    n = t.term_months
    with localcontext(CONTEXT):
        if t.method is PaymentMethod.MONEY_FACTOR:
            mf = (
                t.money_factor
                if t.money_factor is not None
                else money_factor_from_lease_rate(t.lease_rate or _ZERO)
            )
            exact = (adjusted - residual) / n + (adjusted + residual) * mf
        else:
            rate = (
                t.lease_rate
                if t.lease_rate is not None
                else lease_rate_from_money_factor(t.money_factor or _ZERO)
            )
            i = rate / MONTHS_PER_YEAR
            if i == 0:
                exact = (adjusted - residual) / n
            else:
                v = _ONE / (_ONE + i)
                annuity_due = (_ONE - v**n) / i * (_ONE + i)
                exact = (adjusted - residual * v**n) / annuity_due
    return round_money(exact, ccy)


def _consumer_schedule(
    adjusted: Decimal, residual: Decimal, payment: Decimal, n: int, ccy: Currency, nominal_monthly: Decimal
) -> tuple[Decimal, tuple[ConsumerLeaseScheduleRow, ...]]:
    """Constant-yield split of ``n`` equal payments in advance; the last month absorbs rounding.

    Returns the monthly yield and the rows. A one-month lease may leave the lessor no money
    outstanding (the payment at signing covers the cost), so no yield exists: ``nominal_monthly`` (the
    contract rate) then stands in; the single row needs no rate anyway.
    """
    flows = [payment - adjusted] + [payment] * (n - 1) + [residual]
    try:
        i = _monthly_irr(flows, "base_periodic_payment")
    except ConvergenceError:
        if n > 1:
            raise
        i = nominal_monthly
    rows: list[ConsumerLeaseScheduleRow] = []
    balance = adjusted
    for period in range(1, n + 1):
        if period < n:
            rent = round_money((balance - payment) * i, ccy)
            depreciation = payment - rent
        else:
            depreciation = balance - residual
            rent = payment - depreciation
        closing = balance - depreciation
        rows.append(ConsumerLeaseScheduleRow(period, balance, payment, rent, depreciation, closing))
        balance = closing
    return i, tuple(rows)


def _consumer_progression(t: ConsumerLeaseTerms) -> ConsumerLeaseDisclosure:
    ccy = t.ccy
    n = t.term_months
    gross_items = _gross_cap_items(t, ccy)
    gross = sum((a for _, a in gross_items), _ZERO)
    cash_down, trade_in, rebates = (round_money(x, ccy) for x in (t.cash_down, t.net_trade_in, t.rebates))
    reduction = cash_down + trade_in + rebates
    adjusted = gross - reduction
    residual = t.resolved_residual()
    depreciation = adjusted - residual
    base = _base_payment(t, adjusted, residual, ccy)
    total_base = base * n
    rent_charge = total_base - depreciation
    monthly_tax = round_money(base * t.tax_rate, ccy) if t.tax_basis is TaxBasis.PERIODIC_PAYMENT else _ZERO
    total_periodic = base + monthly_tax

    due: list[tuple[str, Decimal]] = []
    if reduction:
        due.append(("Capitalized cost reduction", reduction))
    due.append(("First periodic payment", total_periodic))
    if t.security_deposit:
        due.append(("Refundable security deposit", round_money(t.security_deposit, ccy)))
    due += [(c.name, round_money(c.amount, ccy)) for c in t.charges if not c.capitalized]
    if t.tax_basis is TaxBasis.PERIODIC_PAYMENT and t.tax_cap_cost_reduction and (cash_down + rebates):
        due.append(
            (
                "Sales/use tax on capitalized cost reduction",
                round_money((cash_down + rebates) * t.tax_rate, ccy),
            )
        )
    if t.tax_basis is TaxBasis.UPFRONT_ON_AGREED_VALUE and not t.upfront_tax_capitalized:
        due.append(("Sales/use tax", _upfront_tax(t, ccy)))
    amount_due = sum((a for _, a in due), _ZERO)
    paid_by = (
        ("Net trade-in allowance", trade_in),
        ("Rebates and noncash credits", rebates),
        ("Amount to be paid in cash", amount_due - trade_in - rebates),
    )
    other = (("Disposition fee", round_money(t.disposition_fee, ccy)),) if t.disposition_fee else ()
    total_periodic_payments = total_periodic * n
    total = total_of_payments(
        amount_due,
        total_periodic_payments,
        sum((a for _, a in other), _ZERO),
        total_periodic,
        round_money(t.security_deposit, ccy),
    )
    with localcontext(CONTEXT):
        mf_used = (
            t.money_factor
            if t.money_factor is not None
            else money_factor_from_lease_rate(t.lease_rate or _ZERO)
        )
    with localcontext(CONTEXT):
        nominal_monthly = mf_used * MONEY_FACTOR_DIVISOR / MONTHS_PER_YEAR
    monthly_yield, schedule = _consumer_schedule(adjusted, residual, base, n, ccy, nominal_monthly)
    with localcontext(CONTEXT):
        yield_annual = monthly_yield * MONTHS_PER_YEAR
    return ConsumerLeaseDisclosure(
        currency=ccy,
        method=t.method,
        gross_capitalized_cost=gross,
        gross_capitalized_cost_items=gross_items,
        capitalized_cost_reduction=reduction,
        adjusted_capitalized_cost=adjusted,
        residual_value=residual,
        depreciation_and_amortized_amounts=depreciation,
        rent_charge=rent_charge,
        total_of_base_periodic_payments=total_base,
        lease_term=n,
        base_periodic_payment=base,
        periodic_sales_tax=monthly_tax,
        total_periodic_payment=total_periodic,
        amount_due_at_signing=amount_due,
        amount_due_at_signing_items=tuple(due),
        amount_due_paid_by=paid_by,
        total_of_periodic_payments=total_periodic_payments,
        other_charges=other,
        total_of_payments=total,
        money_factor=mf_used,
        implied_money_factor=implied_money_factor(rent_charge, n, adjusted, residual),
        lease_rate=yield_annual,
        schedule=schedule,
    )


def closed_end_lease(terms: ConsumerLeaseTerms) -> ConsumerLeaseDisclosure:
    """Compute a closed-end consumer vehicle lease: the Regulation M progression, totals and schedule.

    In a closed-end lease the lessee owes nothing for the vehicle's value at the end (only wear,
    mileage and the disposition fee); the residual-value risk is the lessor's.
    """
    return _consumer_progression(terms)


# ----------------------------------------------------------------------------- open-end (residual)


@dataclass(frozen=True, slots=True)
class OpenEndLeaseDisclosure:
    """An open-end (residual-guarantee) lease: the closed-end progression plus end-of-term liability.

    ``max_end_of_term_liability`` (currency units) is three base monthly payments: under 15 U.S.C.
    1667b(a) and 12 CFR 1013.4(m)(1) a residual value that exceeds the realized value by more than that
    is presumed unreasonable, and the lessor may collect more only by winning a court action (and paying
    the lessee's attorney's fees) — unless the excess is due to unreasonable or excessive wear or use.
    """

    lease: ConsumerLeaseDisclosure
    max_end_of_term_liability: Decimal


@dataclass(frozen=True, slots=True)
class OpenEndSettlement:
    """The end-of-term reckoning of an open-end lease against a realized value (currency units).

    ``shortfall = max(residual − realized, 0)``; ``presumptive_liability = min(shortfall,
    max_end_of_term_liability)`` is what the lessee can be asked to pay; ``excess_over_presumption`` is
    collectable only through the court action described above; ``surplus`` is
    ``max(realized − residual, 0)``, refunded to the lessee if the lease provides.
    """

    realized_value: Decimal
    shortfall: Decimal
    presumptive_liability: Decimal
    excess_over_presumption: Decimal
    surplus: Decimal


def open_end_lease(terms: ConsumerLeaseTerms) -> OpenEndLeaseDisclosure:
    """Compute an open-end consumer lease (the lessee guarantees the residual value).

    Payments are derived exactly as for :func:`closed_end_lease`; the difference is who bears the
    residual risk, shown by :attr:`OpenEndLeaseDisclosure.max_end_of_term_liability`.
    """
    lease = _consumer_progression(terms)
    return OpenEndLeaseDisclosure(lease, lease.base_periodic_payment * _OPEN_END_PRESUMPTION_PAYMENTS)


def open_end_settlement(disclosure: OpenEndLeaseDisclosure, realized_value: Decimal) -> OpenEndSettlement:
    """Split the end-of-term difference between residual and ``realized_value`` (currency units)."""
    realized = to_decimal(realized_value, "realized_value")
    _require(realized >= 0, "realized_value", realized, "must not be negative")
    realized = round_money(realized, disclosure.lease.currency)
    residual = disclosure.lease.residual_value
    shortfall = max(residual - realized, _ZERO)
    presumptive = min(shortfall, disclosure.max_end_of_term_liability)
    return OpenEndSettlement(
        realized_value=realized,
        shortfall=shortfall,
        presumptive_liability=presumptive,
        excess_over_presumption=shortfall - presumptive,
        surplus=max(realized - residual, _ZERO),
    )


# ============================================================================ finance lease (融资租赁)


RentTiming = PaymentTiming
"""When rents fall within their month: ``ADVANCE`` (先付, at the start of each month, an annuity due)
or ``ARREARS`` (后付, at the end, an ordinary annuity). The lease's name for
:class:`autofin.finance.terms.PaymentTiming`, the one timing enum of the contract math."""


class DepositTreatment(StrEnum):
    """What happens to the deposit (保证金). It earns no interest and does not reduce the rent."""

    REFUND_AT_END = "refund_at_end"
    """Returned at the end of the term (parties often net it against the purchase-option price)."""
    OFFSET_FINAL_RENTS = "offset_final_rents"
    """Set against the last rents, latest first; any remainder against the purchase-option price,
    then refunded."""


@dataclass(frozen=True, slots=True)
class FinanceLeaseTerms:
    """A finance lease with a purchase option (融资租赁, 等额租金), monthly rents.

    ``asset_price`` − ``down_payment`` (首付款) is the financed amount (融资额), in currency units.
    ``lease_rate`` is the lessor's nominal annual rate (decimal), charged at ``lease_rate / 12`` a
    month. Rents are level; with :attr:`RentTiming.ADVANCE`, ``advance_payments`` (default 1) rents are
    collected at signing — the HP-12C "payments in advance" convention: with ``k`` of them, ``k`` rents
    are paid at signing and the other ``term − k`` at the start of months 2 … ``term − k + 1``, so the
    last ``k − 1`` months carry no rent. ``purchase_option_price`` (留购价: ``1`` yuan, or a balloon-like
    amount) is due at the end of the term. ``deposit`` (保证金) is paid at signing and treated per
    ``deposit_treatment``; ``handling_fee`` (手续费) is paid at signing; neither changes the rent but
    both enter :attr:`FinanceLeaseSchedule.annualised_rate`. ``rounding`` is how the level rent is
    rounded (interest is always rounded half-up to the minor unit); ``rent_rounding_multiple`` rounds it
    to a multiple instead (``Decimal("1")`` for whole yuan); the last rent absorbs the difference.
    ``term_months`` is at most 600 (the loan engine's limit).
    """

    asset_price: Decimal
    lease_rate: Decimal
    term_months: int
    down_payment: Decimal = _ZERO
    timing: RentTiming = RentTiming.ADVANCE
    advance_payments: int | None = None
    purchase_option_price: Decimal = _ZERO
    deposit: Decimal = _ZERO
    deposit_treatment: DepositTreatment = DepositTreatment.REFUND_AT_END
    handling_fee: Decimal = _ZERO
    start_date: date | None = None
    rounding: Rounding = Rounding.HALF_UP
    rent_rounding_multiple: Decimal | None = None
    currency: str = "CNY"

    def __post_init__(self) -> None:
        _decimal_fields(
            self,
            (
                "asset_price",
                "lease_rate",
                "down_payment",
                "purchase_option_price",
                "deposit",
                "handling_fee",
                "rent_rounding_multiple",
            ),
        )
        _validate_finance_terms(self)

    @property
    def financed_amount(self) -> Decimal:
        """融资额: asset price less down payment, in currency units."""
        return round_money(self.asset_price - self.down_payment, currency(self.currency))

    @property
    def upfront_rent_count(self) -> int:
        """How many rents are collected at signing (0 in arrears, 1 for a plain annuity due)."""
        if self.timing is RentTiming.ARREARS:
            return 0
        return 1 if self.advance_payments is None else self.advance_payments


def _validate_finance_terms(t: FinanceLeaseTerms) -> None:
    """All rules for :class:`FinanceLeaseTerms`, in one place; each failure names its field."""
    currency(t.currency)
    _require(t.asset_price > 0, "asset_price", t.asset_price, "must be positive")
    _check_term(t.term_months, most=_MAX_ENGINE_TERM)
    _require(t.lease_rate is not None, "lease_rate", t.lease_rate, "is required")
    _check_rate(t.lease_rate, "lease_rate")
    for name in ("down_payment", "purchase_option_price", "deposit", "handling_fee"):
        value = getattr(t, name)
        _require(value >= 0, name, value, "must not be negative")
    _require(
        t.down_payment < t.asset_price, "down_payment", t.down_payment, "must be less than the asset price"
    )
    financed = t.asset_price - t.down_payment
    _require(
        t.purchase_option_price < financed,
        "purchase_option_price",
        t.purchase_option_price,
        f"must be less than the financed amount ({financed})",
    )
    if t.advance_payments is not None:
        ok = isinstance(t.advance_payments, int) and not isinstance(t.advance_payments, bool)
        _require(ok, "advance_payments", t.advance_payments, "must be a whole number")
        if t.timing is RentTiming.ARREARS:
            _require(
                t.advance_payments == 0,
                "advance_payments",
                t.advance_payments,
                "must be 0 (or unset) for rents in arrears",
            )
        else:
            _require(
                1 <= t.advance_payments <= t.term_months,
                "advance_payments",
                t.advance_payments,
                f"must be between 1 and the term ({t.term_months}) for rents in advance",
            )
    if t.rent_rounding_multiple is not None:
        _require(
            t.rent_rounding_multiple > 0,
            "rent_rounding_multiple",
            t.rent_rounding_multiple,
            "must be positive",
        )


@dataclass(frozen=True, slots=True)
class FinanceLeaseRow:
    """One month of a finance-lease schedule (currency units).

    ``rent`` falls due on ``due_date`` (start of the month in advance, end in arrears; ``None`` without a
    start date). ``interest`` is the lessor's income for the month on the outstanding investment;
    ``principal = rent − interest`` (negative in a month with no rent, when interest accrues);
    ``closing_balance`` is the outstanding investment at the month's end. ``deposit_applied`` is the
    part of the rent met from the deposit; ``cash_due = rent − deposit_applied``.
    """

    period: int
    due_date: date | None
    opening_balance: Decimal
    rent: Decimal
    interest: Decimal
    principal: Decimal
    closing_balance: Decimal
    deposit_applied: Decimal
    cash_due: Decimal


@dataclass(frozen=True, slots=True)
class FinanceLeaseSchedule:
    """A computed finance lease (currency units; rates annual decimals).

    Reconciliation: ``Σ principal + purchase_option_price = financed_amount`` and
    ``Σ rent = Σ principal + Σ interest``, to the cent. ``level_rent`` is the contractual level rent
    (before the last rent's rounding adjustment). ``annualised_rate`` is 12 × the monthly IRR of the
    lessee's actual cash flows (down payment excluded; handling fee, deposit and its refund or offset
    included), solved by :func:`autofin.finance.apr.cn_annualised_rate` (PBoC IRR basis) — the
    effective cost of the lease, not an APR under US law. It is ``None`` when those flows have no rate
    (as much paid at signing as financed, so the lessor is never out of pocket). A deposit refunded
    at the end can give the flows a second, spurious rate (a negative one, in ordinary contracts);
    the solver finds the one near the contract rate, except when almost all of the financed amount
    is paid at signing, where neither rate measures a cost.
    """

    currency: Currency
    financed_amount: Decimal
    level_rent: Decimal
    rows: tuple[FinanceLeaseRow, ...]
    purchase_option_price: Decimal
    purchase_option_due: date | None
    deposit_refund: Decimal
    deposit_against_purchase_option: Decimal
    total_rent: Decimal
    total_interest: Decimal
    total_principal: Decimal
    annualised_rate: Decimal | None


def _level_rent(financed: Decimal, residual: Decimal, i: Decimal, n: int, k: int) -> Decimal:
    """Unrounded level rent: ``(F − R·vⁿ) / (k + a(n−k))`` in advance (k ≥ 1), ``/ a(n)`` in arrears.

    The lease prices its rent here and hands it to the loan engine as a fixed instalment. For rents
    in arrears or one in advance this is exactly the instalment the engine would solve (a unit test
    pins that); the engine cannot price the HP-12C convention of ``k`` > 1 rents at signing, which it
    sees as one stepped instalment of ``k`` rents (rounded as a whole, not ``k`` × a rounded rent)
    followed by a purchase option discounted over the rent-free months and rounded to the cent, and it
    does not report the level rent when the only rent is the last (it absorbs rounding).
    """
    with localcontext(CONTEXT):
        if i == 0:
            return (financed - residual) / n
        v = _ONE / (_ONE + i)
        factor = (_ONE - v**n) / i if k == 0 else k + (_ONE - v ** (n - k)) / i
        return (financed - residual * v**n) / factor


def finance_lease(terms: FinanceLeaseTerms) -> FinanceLeaseSchedule:
    """Compute a finance lease: level rent, exact schedule ending at the purchase-option price.

    The level rent is priced by :func:`_level_rent` and rounded; the schedule itself is rolled by the
    generic loan engine (:func:`autofin.finance.schedule.build_schedule`) with that rent as a fixed
    instalment, the purchase option as the balloon and the lease's timing: each month's interest is
    rounded to the minor unit, balances run on rounded amounts, and the last rent absorbs rounding so
    that the outstanding investment at the end of the term is exactly the purchase-option price (with
    several payments in advance, the months after the last rent accrue interest to it).
    """
    t = terms
    ccy = currency(t.currency)
    n, k = t.term_months, t.upfront_rent_count
    financed = t.financed_amount
    residual = round_money(t.purchase_option_price, ccy)
    with localcontext(CONTEXT):
        i = t.lease_rate / MONTHS_PER_YEAR
        level = round_money(
            _level_rent(financed, residual, i, n, k), ccy, t.rounding, t.rent_rounding_multiple
        )
        # Closing balances of the months from the last rent on (only > 1 of them with k > 1 rents at
        # signing): the purchase option discounted back, so the term ends exactly at ``residual``.
        rent_months = n - k + 1 if k > 0 else n
        targets = [round_money(residual / (_ONE + i) ** (n - 1 - j), ccy) for j in range(rent_months - 1, n)]
    if level <= 0:
        field_name = "purchase_option_price" if t.rent_rounding_multiple is None else "rent_rounding_multiple"
        raise ValidationError(field_name, getattr(t, field_name), "leaves a level rent of zero")

    engine = _engine_rows(t, level, rent_months, k, targets[0])

    # Engine rows -> lease months. In arrears a row is the month it ends. In advance the engine's
    # row j carries the interest accrued in month j - 1 (paid with rent j), while a lease row shows
    # the lessor's income *for* its month, so month j takes the interest of row j + 1 (for the last
    # rent, that of the engine's final purchase-option row; none if there is no purchase option).
    rows: list[FinanceLeaseRow] = []
    balance = financed
    for j in range(n):
        if j < rent_months:
            rent = engine[j].instalment
            if k == 0:
                interest = engine[j].interest
            else:
                interest = engine[j + 1].interest if j + 1 < len(engine) else _ZERO
        else:  # no rent: interest accrues towards the purchase-option price
            rent, interest = _ZERO, targets[j - rent_months + 1] - balance
        closing = balance - rent + interest
        due = None
        if t.start_date is not None:
            due = add_months(t.start_date, j if k > 0 else j + 1)
        rows.append(
            FinanceLeaseRow(j + 1, due, balance, rent, interest, rent - interest, closing, _ZERO, rent)
        )
        balance = closing

    # Deposit: offset the last rents (latest first), then the purchase option; or refund it at the end.
    deposit = round_money(t.deposit, ccy)
    against_option = _ZERO
    if t.deposit_treatment is DepositTreatment.OFFSET_FINAL_RENTS and deposit > 0:
        remaining_deposit = deposit
        for idx in range(len(rows) - 1, -1, -1):
            if remaining_deposit == 0:
                break
            row = rows[idx]
            applied = min(remaining_deposit, row.rent)
            if applied > 0:
                rows[idx] = FinanceLeaseRow(
                    row.period, row.due_date, row.opening_balance, row.rent, row.interest, row.principal,
                    row.closing_balance, applied, row.rent - applied,
                )  # fmt: skip
                remaining_deposit -= applied
        against_option = min(remaining_deposit, residual)
        refund = remaining_deposit - against_option
    else:
        refund = deposit

    # The lessee's cash flows by month boundary (time 0 … n) for the annualised rate.
    flows = [_ZERO] * (n + 1)
    flows[0] = -financed + round_money(t.handling_fee, ccy) + deposit
    for j, row in enumerate(rows):
        flows[j if k > 0 else j + 1] += row.cash_due
    flows[n] += residual - against_option - refund
    annualised: Decimal | None
    try:
        monthly = _monthly_irr(flows, "finance_lease")
    except ConvergenceError:
        annualised = None  # e.g. more paid at signing than financed: the lessor is never out of pocket
    else:
        with localcontext(CONTEXT):
            annualised = monthly * MONTHS_PER_YEAR

    total_rent = sum((r.rent for r in rows), _ZERO)
    total_interest = sum((r.interest for r in rows), _ZERO)
    return FinanceLeaseSchedule(
        currency=ccy,
        financed_amount=financed,
        level_rent=level,
        rows=tuple(rows),
        purchase_option_price=residual,
        purchase_option_due=add_months(t.start_date, n) if t.start_date is not None else None,
        deposit_refund=refund,
        deposit_against_purchase_option=against_option,
        total_rent=total_rent,
        total_interest=total_interest,
        total_principal=total_rent - total_interest,
        annualised_rate=annualised,
    )


def _engine_rows(
    t: FinanceLeaseTerms, level: Decimal, rent_months: int, k: int, balloon: Decimal
) -> tuple[Row, ...]:
    """The lease's rents rolled by the loan engine: ``rent_months`` rents of ``level`` (``k`` of them
    at signing as one payment, when ``k`` > 1), ending at ``balloon`` one month after the last rent
    (in advance) or with it (in arrears).

    ``balloon`` is the outstanding investment after the last rent's month: the purchase-option price,
    discounted back over the ``k − 1`` rent-free months that follow with several payments in advance.

    A level rent rounded up to a coarse multiple can overpay: the engine then either ends the loan
    early (once the balance reaches the balloon before the last rent, in arrears, or zero, in
    advance) or finds the last instalment negative. A lease's term is fixed, so both are reported as
    :class:`ValidationError` on ``rent_rounding_multiple``.
    """
    too_coarse = f"is too coarse for a rent of {level}"
    try:
        loan = LoanTerms(
            currency=t.currency,
            loan_amount=t.financed_amount,
            instalment=level,
            annual_rate=t.lease_rate,
            term=rent_months,
            start_date=_MONTH_GRID_START,
            timing=PaymentTiming.ARREARS if k == 0 else PaymentTiming.ADVANCE,
            balloon=Balloon(amount=balloon) if balloon > 0 else None,
            steps=Steps(ranges=[StepRange(from_period=1, to_period=1, factor=Decimal(k))]) if k > 1 else None,
        )
        rows = build_schedule(loan).rows
    except ValidationError as error:
        if error.field != "rounding.instalment_multiple":
            raise
        raise ValidationError(
            "rent_rounding_multiple",
            t.rent_rounding_multiple,
            f"{too_coarse}: the last rent would be negative",
        ) from error
    if sum(1 for r in rows if r.kind is RowKind.AMORTISING) < rent_months:
        raise ValidationError(
            "rent_rounding_multiple",
            t.rent_rounding_multiple,
            f"{too_coarse}: the rents would leave no principal for the last rent (month {rent_months})",
        )
    return rows


def finance_lease_rate(
    financed_amount: Decimal,
    rent: Decimal,
    term_months: int,
    advance_payments: int = 1,
    purchase_option_price: Decimal = _ZERO,
) -> Decimal:
    """The lessor's yield (nominal annual decimal, 12 × monthly IRR) of a level-rent lease.

    ``advance_payments`` rents are received at signing and the rest monthly after (HP-12C convention,
    see :class:`FinanceLeaseTerms`); ``0`` means rents in arrears. ``purchase_option_price`` is received
    at the end of the term. Amounts in currency units.
    """
    _check_term(term_months)
    financed = to_decimal(financed_amount, "financed_amount")
    level = to_decimal(rent, "rent")
    residual = to_decimal(purchase_option_price, "purchase_option_price")
    _require(financed > 0, "financed_amount", financed, "must be positive")
    _require(level > 0, "rent", level, "must be positive")
    _require(residual >= 0, "purchase_option_price", residual, "must not be negative")
    _require(
        0 <= advance_payments <= term_months,
        "advance_payments",
        advance_payments,
        "must be between 0 and the term",
    )
    n, k = term_months, advance_payments
    flows = [_ZERO] * (n + 1)
    flows[0] = -financed + level * k
    for time in range(1, n - k + 1):
        flows[time] += level
    flows[n] += residual
    with localcontext(CONTEXT):
        return _monthly_irr(flows, "rent") * MONTHS_PER_YEAR


# ----------------------------------------------------------------------------------------- "1+3"


@dataclass(frozen=True, slots=True)
class OnePlusThreeTerms:
    """The Chinese "1+3" car finance lease (一年租 + 三年分期), monthly, in currency units.

    What the structure is, as marketed by Chinese auto-lease platforms: a low down payment (首付,
    often 10–30 %) and ``lease_months`` (12) monthly rents while the lessor keeps title; at the end of
    that year the customer chooses to (a) pay the remaining amount (尾款, ``balloon_amount``) at once
    and take title, (b) take title and pay the balloon in ``instalment_months`` (36) monthly
    instalments, or (c) return the car (subject to the contract's conditions) and walk away.

    What is assumed here (contracts differ; check the one you model):

    * The first year is a finance lease whose purchase-option price is the balloon, priced at
      ``lease_rate`` with rents in ``lease_timing`` (arrears by default: the first rent a month after
      delivery).
    * Option (b) is an amortising schedule of the balloon at ``instalment_rate`` with instalments in
      arrears, starting the month after the lease year, with no further purchase option. Whether it is
      a new lease, a loan, or a continuation with title transferred is a legal question outside this
      arithmetic.
    * No deposit or fees; model those with :class:`FinanceLeaseTerms` directly if needed.
    """

    vehicle_price: Decimal
    down_payment: Decimal
    balloon_amount: Decimal
    lease_rate: Decimal
    instalment_rate: Decimal
    lease_months: int = 12
    instalment_months: int = 36
    lease_timing: RentTiming = RentTiming.ARREARS
    start_date: date | None = None
    currency: str = "CNY"

    def __post_init__(self) -> None:
        _decimal_fields(
            self, ("vehicle_price", "down_payment", "balloon_amount", "lease_rate", "instalment_rate")
        )
        _validate_one_plus_three(self)


def _validate_one_plus_three(t: OnePlusThreeTerms) -> None:
    """All rules for :class:`OnePlusThreeTerms`, in one place; each failure names its field."""
    currency(t.currency)
    _require(t.vehicle_price > 0, "vehicle_price", t.vehicle_price, "must be positive")
    _require(
        0 <= t.down_payment < t.vehicle_price, "down_payment", t.down_payment, "must be in [0, vehicle_price)"
    )
    _check_term(t.lease_months, "lease_months", _MAX_ENGINE_TERM)
    _check_term(t.instalment_months, "instalment_months", _MAX_ENGINE_TERM)
    _check_rate(t.lease_rate, "lease_rate")
    _check_rate(t.instalment_rate, "instalment_rate")
    financed = t.vehicle_price - t.down_payment
    _require(
        0 < t.balloon_amount < financed,
        "balloon_amount",
        t.balloon_amount,
        f"must be positive and less than the financed amount ({financed})",
    )


@dataclass(frozen=True, slots=True)
class OnePlusThreeSchedule:
    """Both phases of a "1+3": the lease year and, if the customer finances the balloon, 36 instalments."""

    lease_phase: FinanceLeaseSchedule
    instalment_phase: FinanceLeaseSchedule
    balloon_amount: Decimal


def one_plus_three(terms: OnePlusThreeTerms) -> OnePlusThreeSchedule:
    """Compute both phases of a "1+3" (see :class:`OnePlusThreeTerms` for what is assumed)."""
    t = terms
    lease = finance_lease(
        FinanceLeaseTerms(
            asset_price=t.vehicle_price,
            down_payment=t.down_payment,
            lease_rate=t.lease_rate,
            term_months=t.lease_months,
            timing=t.lease_timing,
            purchase_option_price=t.balloon_amount,
            start_date=t.start_date,
            currency=t.currency,
        )
    )
    second_start = add_months(t.start_date, t.lease_months) if t.start_date is not None else None
    instalments = finance_lease(
        FinanceLeaseTerms(
            asset_price=t.balloon_amount,
            lease_rate=t.instalment_rate,
            term_months=t.instalment_months,
            timing=RentTiming.ARREARS,
            start_date=second_start,
            currency=t.currency,
        )
    )
    return OnePlusThreeSchedule(lease, instalments, lease.purchase_option_price)
