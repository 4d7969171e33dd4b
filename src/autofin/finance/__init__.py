"""Contract math: exact loan and lease schedules, disclosure rates, payoff, promotions.

Amounts are ``Decimal`` in major currency units; rates are annual decimals. Start with
:func:`autofin.finance.schedule.build_schedule` for loans, :mod:`autofin.finance.lease` for leases,
:mod:`autofin.finance.apr` for APR / annualised rate / APRC, and :mod:`autofin.finance.batch` for
many contracts at once.
"""
