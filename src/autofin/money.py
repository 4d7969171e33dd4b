"""Decimal money: currencies with their minor units, and explicit rounding.

Amounts are :class:`decimal.Decimal` in major units (yuan, dollars, euros, yen). Every rounding names
its mode; the default, as in ../shared/DESIGN.md, is ROUND_HALF_UP to the currency's minor unit.
Rounding to a *multiple* (instalments in whole yuan, or in tens) is supported with the same modes.
"""

from __future__ import annotations

import decimal
import functools
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from autofin.errors import UnknownCurrencyError, ValidationError

#: Working precision for intermediate money arithmetic (far beyond any minor unit).
CONTEXT: Final = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)


class Rounding(StrEnum):
    """Rounding modes, in the words of ``decimal``: *up* is away from zero, *down* towards zero."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        # Looked up by the member's value (a plain str hash) rather than the member itself, whose
        # Enum hash is a Python-level call; this sits on the rounding hot path.
        return _MODES_BY_VALUE[self._value_]


_MODES: Final = {
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.DOWN: decimal.ROUND_DOWN,
}
_MODES_BY_VALUE: Final[dict[str, str]] = {mode.value: name for mode, name in _MODES.items()}


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency with its number of minor-unit digits (2 for CNY, 0 for JPY)."""

    code: str
    minor_units: int

    @property
    def quantum(self) -> Decimal:
        """The smallest amount: ``Decimal('0.01')`` for two minor units, ``Decimal('1')`` for none."""
        return _quantum(self.minor_units)


@functools.lru_cache(maxsize=32)
def _quantum(minor_units: int) -> Decimal:
    """``Decimal(1).scaleb(-minor_units)``, built once per number of digits (Decimal is immutable)."""
    return Decimal(1).scaleb(-minor_units)


CURRENCIES: Final[dict[str, Currency]] = {
    c.code: c
    for c in (
        Currency("CNY", 2),
        Currency("USD", 2),
        Currency("EUR", 2),
        Currency("GBP", 2),
        Currency("HKD", 2),
        Currency("JPY", 0),
        Currency("KRW", 0),
    )
}


def currency(code: str | Currency) -> Currency:
    """Look up a currency by its ISO code; raise :class:`UnknownCurrencyError` naming the field."""
    if isinstance(code, Currency):
        return code
    found = CURRENCIES.get(code.upper()) if isinstance(code, str) else None
    if found is None:
        raise UnknownCurrencyError("currency", code, f"must be one of {', '.join(sorted(CURRENCIES))}")
    return found


def to_decimal(value: Decimal | int | str | float, field: str = "amount") -> Decimal:
    """Convert to Decimal without binary-float surprises (floats go through ``repr``).

    Raises :class:`ValidationError` naming ``field`` for NaN, infinities and non-numbers.
    """
    try:
        d = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else value)
        )
    except (decimal.InvalidOperation, TypeError, ValueError):
        raise ValidationError(field, value, "must be a number") from None
    if not d.is_finite():
        raise ValidationError(field, value, "must be a finite number")
    return d


def round_money(
    amount: Decimal,
    ccy: str | Currency,
    mode: Rounding = Rounding.HALF_UP,
    multiple: Decimal | None = None,
) -> Decimal:
    """Round ``amount`` to the currency's minor unit, or to ``multiple`` of it if given.

    ``multiple`` is in major units (``Decimal("1")`` for whole yuan, ``Decimal("10")`` for tens) and
    must itself be a whole number of minor units.
    """
    cur = ccy if type(ccy) is Currency else currency(ccy)
    if not amount.is_finite():
        raise ValidationError("amount", amount, "must be a finite number")
    quantum = _quantum(cur.minor_units)
    if multiple is None or multiple == quantum:
        return amount.quantize(quantum, rounding=_MODES_BY_VALUE[mode._value_], context=CONTEXT)
    if multiple <= 0:
        raise ValidationError("rounding.multiple", multiple, "must be positive")
    if (multiple / cur.quantum) % 1 != 0:
        raise ValidationError("rounding.multiple", multiple, f"must be a whole number of {cur.quantum}")
    units = (amount / multiple).quantize(Decimal(1), rounding=mode.decimal_mode, context=CONTEXT)
    return (units * multiple).quantize(cur.quantum, context=CONTEXT)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency, always held at the currency's minor unit.

    Arithmetic between two ``Money`` values requires the same currency; multiplying by a number
    rounds half-up to the minor unit (use :func:`round_money` for another mode).
    """

    amount: Decimal
    currency: Currency

    @classmethod
    def of(
        cls, amount: Decimal | int | str | float, ccy: str | Currency, mode: Rounding = Rounding.HALF_UP
    ) -> Money:
        cur = currency(ccy)
        return cls(round_money(to_decimal(amount), cur, mode), cur)

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationError("amount", self.amount, "must be a finite Decimal")
        if self.amount != self.amount.quantize(self.currency.quantum, context=CONTEXT):
            raise ValidationError(
                "amount",
                self.amount,
                f"must be a whole number of {self.currency.quantum} (use Money.of to round)",
            )

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError("currency", other.currency.code, f"must match {self.currency.code}")

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(round_money(self.amount * factor, self.currency), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,.{self.currency.minor_units}f} {self.currency.code}"
