"""Contract-level promotions: subvention for a bought-down rate, and "low APR or cash rebate?".

* **Subvention** (manufacturer- or dealer-paid buy-down): the lender lends at the customer's low rate
  but must earn its own *buy rate*. The subvention is the amount lent less the present value, at the
  buy rate, of the payments the customer will make — paid to the lender at the start. Discounting is
  per unit period (``buy_rate / periods_per_year``), row ``k`` of an in-arrears schedule ``k`` periods
  after the start (``k − 1`` in advance); the odd days of a broken first period are ignored.
* **Low APR vs rebate**: a customer may take the promotional rate on the full amount, or a cash rebate
  that reduces the amount financed at the standard rate. Each option is computed as an exact schedule;
  they are compared by total paid and by present value at the customer's own discount rate, and the
  break-even rebate (at which the two present values are equal) is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from autofin.errors import ValidationError
from autofin.finance.schedule import Schedule, build_schedule
from autofin.finance.terms import LoanTerms, PaymentTiming
from autofin.money import CONTEXT, round_money

ZERO = Decimal(0)
ONE = Decimal(1)


def present_value(schedule: Schedule, annual_rate: Decimal) -> Decimal:
    """PV at ``annual_rate`` (per unit period) of every instalment and balloon of ``schedule`` (unrounded)."""
    if annual_rate <= -1:
        raise ValidationError("annual_rate", annual_rate, "must be greater than -1")
    ppy = schedule.terms.frequency.periods_per_year
    g = ONE + annual_rate / ppy
    offset = 1 if schedule.terms.timing is PaymentTiming.ADVANCE else 0
    pv = ZERO
    for r in schedule.rows:
        pv += CONTEXT.divide(r.instalment + r.balloon, g ** (r.number - offset))
    return pv


def subvention(schedule: Schedule, buy_rate: Decimal) -> Decimal:
    """What the lender must receive at the start to earn ``buy_rate`` on a loan written below it.

    Rounded to the currency's minor unit (half-up). Zero or negative when the customer rate is at or
    above the buy rate (nothing is owed then; a negative value is the lender's excess).
    """
    pv = present_value(schedule, buy_rate)
    return round_money(schedule.opening_balance - pv, schedule.currency)


@dataclass(frozen=True, slots=True)
class RebateComparison:
    """Both options of "low APR or rebate" and which one costs the customer less."""

    low_apr: Schedule
    rebate: Schedule
    discount_rate: Decimal
    low_apr_total_paid: Decimal
    rebate_total_paid: Decimal
    low_apr_present_value: Decimal
    rebate_present_value: Decimal
    breakeven_rebate: Decimal

    @property
    def better(self) -> str:
        """``"low_apr"`` or ``"rebate"``: the option with the lower present value of payments."""
        return "low_apr" if self.low_apr_present_value <= self.rebate_present_value else "rebate"


def low_apr_vs_rebate(
    base: LoanTerms,
    promo_rate: Decimal,
    standard_rate: Decimal,
    rebate: Decimal,
    discount_rate: Decimal | None = None,
) -> RebateComparison:
    """Compare the promotional rate on ``base`` with a cash ``rebate`` at ``standard_rate``.

    ``base`` gives the price, down payment, term and conventions; its own rate is ignored. The rebate
    is applied as extra down payment. ``discount_rate`` (default: ``standard_rate``) is the customer's
    opportunity cost of money, used for the present values.
    """
    if rebate <= 0:
        raise ValidationError("rebate", rebate, "must be positive")
    if base.cash_amount <= rebate:
        raise ValidationError("rebate", rebate, "must be less than the amount financed")
    d = standard_rate if discount_rate is None else discount_rate
    low = build_schedule(base.model_copy(update={"annual_rate": promo_rate}))
    with_rebate = _with_rebate(base, standard_rate, rebate)
    pv_low = present_value(low, d)
    pv_rebate = present_value(with_rebate, d)
    # PV of the rebate option is linear in the amount financed: pv_rebate = k × (cash − rebate).
    k = pv_rebate / (base.cash_amount - rebate)
    breakeven = round_money(base.cash_amount - pv_low / k, low.currency)
    return RebateComparison(
        low, with_rebate, d,
        low.total_of_payments, with_rebate.total_of_payments,
        round_money(pv_low, low.currency), round_money(pv_rebate, low.currency),
        breakeven,
    )  # fmt: skip


def _with_rebate(base: LoanTerms, rate: Decimal, rebate: Decimal) -> Schedule:
    if base.loan_amount is not None:
        update: dict[str, object] = {"annual_rate": rate, "loan_amount": base.loan_amount - rebate}
    else:
        update = {"annual_rate": rate, "down_payment": base.down_payment + rebate}
    return build_schedule(base.model_copy(update=update))
