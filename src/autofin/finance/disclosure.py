"""Loan disclosures: amount financed, finance charge, totals and the disclosure rates.

Definitions follow US Regulation Z §1026.18 (amount financed, finance charge, total of payments,
total sale price) — the same quantities the EU calls total amount of credit and total cost of credit
(Directive 2008/48/EC Art. 3) and that PBoC Announcement [2021] No. 3 requires to be annualised:

* amount financed = amount lent (incl. financed fees) − every prepaid finance charge;
* total of payments = Σ of every scheduled payment (instalments, balloon, per-period fees);
* finance charge = Σ of the payments that are cost of credit − amount financed (interest plus fees
  marked ``finance_charge``); the EU "total cost of credit" is the same number;
* total sale price = down payment + total of payments (a credit sale with a price).

Rates come from :mod:`autofin.finance.apr` on the schedule's cash flows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from autofin.finance.apr import AprMethod, AprResult, compute_apr_flows
from autofin.finance.schedule import Schedule

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LoanDisclosure:
    """The disclosure box of a loan. Amounts in major currency units; rates as decimals."""

    currency: str
    amount_financed: Decimal
    finance_charge: Decimal
    total_of_payments: Decimal
    total_sale_price: Decimal | None
    down_payment: Decimal
    upfront_fees: Decimal
    rates: dict[AprMethod, AprResult]

    @property
    def total_cost_of_credit(self) -> Decimal:
        """EU Directive 2008/48/EC Art. 3(g): equals the finance charge here."""
        return self.finance_charge

    @property
    def apr(self) -> Decimal | None:
        """The US Regulation Z APR if it was computed."""
        result = self.rates.get(AprMethod.US_REGZ)
        return None if result is None else result.apr


def disclose_loan(
    schedule: Schedule, methods: Iterable[AprMethod | str] = tuple(AprMethod)
) -> LoanDisclosure:
    """Compute the disclosure of ``schedule`` with the rates of ``methods`` (all three by default)."""
    advances, payments = schedule.cash_flows()
    # ``compute_apr`` of the CashFlow objects of these flows, without building them.
    rates = {AprMethod(m): compute_apr_flows(advances, payments, m) for m in methods}
    terms = schedule.terms
    finance_charge = sum((a for _, a in payments), ZERO) - schedule.amount_financed
    total = schedule.total_of_payments
    sale_price = terms.down_payment + total if terms.price is not None and terms.loan_amount is None else None
    return LoanDisclosure(
        schedule.currency.code,
        schedule.amount_financed,
        finance_charge,
        total,
        sale_price,
        terms.down_payment if terms.loan_amount is None else ZERO,
        schedule.upfront_fees,
        rates,
    )
