"""Unit and property tests for autofin.money (Decimal money, currencies, rounding).

The expected values here are arithmetic on the rounding rules themselves (the tie cases are the point),
not golden numbers; published examples live in tests/golden.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autofin.errors import AutofinError, UnknownCurrencyError, ValidationError
from autofin.money import CURRENCIES, Currency, Money, Rounding, currency, round_money, to_decimal

D = Decimal
CNY = currency("CNY")
JPY = currency("JPY")

# --- currencies ---------------------------------------------------------------------------------------


def test_currency_lookup_is_case_insensitive_and_passes_currency_objects_through() -> None:
    assert currency("cny") is CURRENCIES["CNY"]
    assert currency("Usd").code == "USD"
    assert currency(CNY) is CNY


@pytest.mark.parametrize(
    ("code", "minor_units", "quantum"),
    [("CNY", 2, "0.01"), ("USD", 2, "0.01"), ("EUR", 2, "0.01"), ("JPY", 0, "1"), ("KRW", 0, "1")],
)
def test_minor_units_and_quantum(code: str, minor_units: int, quantum: str) -> None:
    cur = currency(code)
    assert cur.minor_units == minor_units
    assert cur.quantum == D(quantum)
    assert cur.quantum.as_tuple().exponent == -minor_units


@pytest.mark.parametrize("code", ["XYZ", "", "RMB", "CNY "])
def test_unknown_currency_names_the_field(code: str) -> None:
    with pytest.raises(UnknownCurrencyError) as info:
        currency(code)
    err = info.value
    assert err.field == "currency"
    assert err.value == code
    assert "must be one of" in err.rule and "CNY" in err.rule
    assert isinstance(err, ValidationError) and isinstance(err, AutofinError)
    assert err.to_dict() == {"field": "currency", "value": code, "rule": err.rule}


def test_unknown_currency_from_every_entry_point() -> None:
    with pytest.raises(UnknownCurrencyError) as a:
        round_money(D("1"), "ABC")
    with pytest.raises(UnknownCurrencyError) as b:
        Money.of("1", "ABC")
    assert a.value.field == b.value.field == "currency"


def test_non_string_currency_code_is_rejected() -> None:
    with pytest.raises(UnknownCurrencyError) as info:
        currency(156)  # type: ignore[arg-type]
    assert info.value.field == "currency"


# --- rounding to the minor unit: every mode, ties and negatives ------------------------------------------

_MINOR_UNIT_CASES = [
    # amount, half_up, half_even, up (away from zero), down (towards zero)
    ("1.005", "1.01", "1.00", "1.01", "1.00"),  # tie, even neighbour below
    ("1.015", "1.02", "1.02", "1.02", "1.01"),  # tie, even neighbour above
    ("1.025", "1.03", "1.02", "1.03", "1.02"),
    ("2.675", "2.68", "2.68", "2.68", "2.67"),  # the classic binary-float trap, exact here
    ("1.0049", "1.00", "1.00", "1.01", "1.00"),  # just below a tie
    ("1.0051", "1.01", "1.01", "1.01", "1.00"),  # just above a tie
    ("1.001", "1.00", "1.00", "1.01", "1.00"),
    ("1.009", "1.01", "1.01", "1.01", "1.00"),
    ("1.00", "1.00", "1.00", "1.00", "1.00"),  # already on the grid: no mode moves it
    ("0.005", "0.01", "0.00", "0.01", "0.00"),
    ("0", "0.00", "0.00", "0.00", "0.00"),
    ("-1.005", "-1.01", "-1.00", "-1.01", "-1.00"),  # half_up rounds ties away from zero
    ("-1.015", "-1.02", "-1.02", "-1.02", "-1.01"),
    ("-1.001", "-1.00", "-1.00", "-1.01", "-1.00"),  # up is away from zero for negatives
    ("-1.009", "-1.01", "-1.01", "-1.01", "-1.00"),  # down is towards zero for negatives
    ("123456789012.345", "123456789012.35", "123456789012.34", "123456789012.35", "123456789012.34"),
]


@pytest.mark.parametrize(("amount", "half_up", "half_even", "up", "down"), _MINOR_UNIT_CASES)
def test_round_to_minor_unit_every_mode(
    amount: str, half_up: str, half_even: str, up: str, down: str
) -> None:
    expected = {
        Rounding.HALF_UP: half_up,
        Rounding.HALF_EVEN: half_even,
        Rounding.UP: up,
        Rounding.DOWN: down,
    }
    for mode, want in expected.items():
        got = round_money(D(amount), "CNY", mode)
        assert got == D(want), mode
        assert got.as_tuple().exponent == -2, mode  # always held at two places


def test_default_mode_is_half_up() -> None:
    assert round_money(D("0.125"), "USD") == D("0.13")
    assert round_money(D("-0.125"), "USD") == D("-0.13")


def test_multiple_equal_to_the_quantum_is_plain_minor_unit_rounding() -> None:
    for mode in Rounding:
        assert round_money(D("1.005"), "CNY", mode, multiple=D("0.01")) == round_money(
            D("1.005"), "CNY", mode
        )


@pytest.mark.parametrize(
    ("amount", "half_up", "half_even", "up", "down"),
    [
        ("100.5", "101", "100", "101", "100"),
        ("101.5", "102", "102", "102", "101"),
        ("100.4", "100", "100", "101", "100"),
        ("-100.5", "-101", "-100", "-101", "-100"),
        ("-100.01", "-100", "-100", "-101", "-100"),
    ],
)
def test_jpy_has_no_minor_unit(amount: str, half_up: str, half_even: str, up: str, down: str) -> None:
    expected = {
        Rounding.HALF_UP: half_up,
        Rounding.HALF_EVEN: half_even,
        Rounding.UP: up,
        Rounding.DOWN: down,
    }
    for mode, want in expected.items():
        got = round_money(D(amount), JPY, mode)
        assert got == D(want), mode
        assert got.as_tuple().exponent == 0, mode


# --- rounding to a multiple ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "multiple", "half_up", "half_even", "up", "down"),
    [
        # whole yuan
        ("1234.50", "1", "1235.00", "1234.00", "1235.00", "1234.00"),
        ("1235.50", "1", "1236.00", "1236.00", "1236.00", "1235.00"),
        ("1234.01", "1", "1234.00", "1234.00", "1235.00", "1234.00"),
        ("1234.99", "1", "1235.00", "1235.00", "1235.00", "1234.00"),
        ("1234.00", "1", "1234.00", "1234.00", "1234.00", "1234.00"),
        ("-1234.50", "1", "-1235.00", "-1234.00", "-1235.00", "-1234.00"),
        # tens of yuan
        ("1235.00", "10", "1240.00", "1240.00", "1240.00", "1230.00"),
        ("1245.00", "10", "1250.00", "1240.00", "1250.00", "1240.00"),
        ("1231.00", "10", "1230.00", "1230.00", "1240.00", "1230.00"),
        ("1239.99", "10", "1240.00", "1240.00", "1240.00", "1230.00"),
        ("-1245.00", "10", "-1250.00", "-1240.00", "-1250.00", "-1240.00"),
        # five fen (a multiple that is several minor units)
        ("0.125", "0.05", "0.15", "0.10", "0.15", "0.10"),
        ("0.074", "0.05", "0.05", "0.05", "0.10", "0.05"),
    ],
)
def test_round_to_multiple_cny(
    amount: str, multiple: str, half_up: str, half_even: str, up: str, down: str
) -> None:
    expected = {
        Rounding.HALF_UP: half_up,
        Rounding.HALF_EVEN: half_even,
        Rounding.UP: up,
        Rounding.DOWN: down,
    }
    for mode, want in expected.items():
        got = round_money(D(amount), "CNY", mode, multiple=D(multiple))
        assert got == D(want), mode
        assert got.as_tuple().exponent == -2, mode  # the result is still at the minor unit


@pytest.mark.parametrize(
    ("amount", "multiple", "mode", "expected"),
    [
        ("1005", "10", Rounding.HALF_UP, "1010"),
        ("1005", "10", Rounding.HALF_EVEN, "1000"),
        ("1015", "10", Rounding.HALF_EVEN, "1020"),
        ("1001", "10", Rounding.UP, "1010"),
        ("1099", "100", Rounding.DOWN, "1000"),
        ("-1050", "100", Rounding.HALF_UP, "-1100"),
        ("1234.5", "1", Rounding.HALF_UP, "1235"),
    ],
)
def test_round_to_multiple_jpy(amount: str, multiple: str, mode: Rounding, expected: str) -> None:
    got = round_money(D(amount), "JPY", mode, multiple=D(multiple))
    assert got == D(expected)
    assert got.as_tuple().exponent == 0


@pytest.mark.parametrize(
    ("ccy", "multiple"),
    [("CNY", "0"), ("CNY", "-1"), ("CNY", "0.005"), ("CNY", "1.001"), ("JPY", "0.5"), ("JPY", "0.01")],
)
def test_invalid_multiple_names_the_field(ccy: str, multiple: str) -> None:
    with pytest.raises(ValidationError) as info:
        round_money(D("100"), ccy, Rounding.HALF_UP, multiple=D(multiple))
    assert info.value.field == "rounding.multiple"
    assert info.value.value == D(multiple)


# --- to_decimal: numbers in, NaN and infinities out --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),  # via repr, not the binary expansion 0.1000000000000000055...
        (1.005, "1.005"),
        (2.675, "2.675"),
        (7, "7"),
        ("1234.56", "1234.56"),
        (D("-0.01"), "-0.01"),
        ("1E+3", "1000"),
    ],
)
def test_to_decimal_converts_without_float_surprises(value: object, expected: str) -> None:
    assert to_decimal(value) == D(expected)  # type: ignore[arg-type]


def test_to_decimal_keeps_decimal_identity() -> None:
    d = D("12.30")
    assert to_decimal(d) is d


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), "NaN", "sNaN", "Infinity", "-inf", D("NaN"), D("-Infinity")],
)
def test_to_decimal_rejects_non_finite_and_names_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        to_decimal(value, "loan_amount")  # type: ignore[arg-type]
    assert info.value.field == "loan_amount"
    assert info.value.rule == "must be a finite number"


@pytest.mark.parametrize("value", ["abc", "", "1,000", None, [1], object()])
def test_to_decimal_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        to_decimal(value)  # type: ignore[arg-type]
    assert info.value.field == "amount"  # the default field name
    assert info.value.rule == "must be a number"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "NaN", "-Infinity"])
def test_money_of_rejects_non_finite_amounts(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        Money.of(value, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_round_money_rejects_non_finite_amounts(value: str) -> None:
    with pytest.raises(ValidationError):
        round_money(D(value), "CNY")


# --- Money ----------------------------------------------------------------------------------------------------


def test_money_of_rounds_to_the_minor_unit() -> None:
    m = Money.of(1.005, "cny")  # the float 1.005 is taken as written, then rounded half-up
    assert m.amount == D("1.01") and m.currency is CNY
    assert Money.of("1.005", "CNY", Rounding.HALF_EVEN).amount == D("1.00")
    assert Money.of("1.001", "CNY", Rounding.UP).amount == D("1.01")
    assert Money.of("-1.009", "CNY", Rounding.DOWN).amount == D("-1.00")
    assert Money.of("100.5", "JPY").amount == D("101")
    assert Money.of(100, "USD").amount.as_tuple().exponent == -2


def test_money_addition_subtraction_negation() -> None:
    a, b = Money.of("10.25", "CNY"), Money.of("0.80", "CNY")
    assert a + b == Money.of("11.05", "CNY")
    assert a - b == Money.of("9.45", "CNY")
    assert b - a == Money.of("-9.45", "CNY")
    assert -a == Money.of("-10.25", "CNY")
    assert (a + b).currency is CNY


def test_money_multiplication_rounds_half_up() -> None:
    m = Money.of("10.01", "CNY")
    assert m * 3 == Money.of("30.03", "CNY")
    assert m * D("0.5") == Money.of("5.01", "CNY")  # 5.005 -> 5.01 (half-up, not half-even)
    assert Money.of("-10.01", "CNY") * D("0.5") == Money.of("-5.01", "CNY")
    assert Money.of("101", "JPY") * D("0.5") == Money.of("51", "JPY")  # 50.5 -> 51
    assert (m * D("0.333")).amount.as_tuple().exponent == -2


@pytest.mark.parametrize("op", ["add", "sub"])
def test_money_currency_mismatch_names_the_field(op: str) -> None:
    cny, usd = Money.of("1", "CNY"), Money.of("1", "USD")
    with pytest.raises(ValidationError) as info:
        _ = cny + usd if op == "add" else cny - usd
    assert info.value.field == "currency"
    assert info.value.value == "USD"
    assert info.value.rule == "must match CNY"


def test_money_plus_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Money.of("1", "CNY") + 1  # type: ignore[operator]


def test_money_is_immutable_and_hashable() -> None:
    m = Money.of("1", "CNY")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.amount = D("2")  # type: ignore[misc]
    assert {m, Money.of("1.00", "CNY")} == {m}
    assert Money.of("1", "CNY") != Money.of("1", "USD")


@pytest.mark.parametrize(
    ("amount", "ccy", "text"),
    [
        ("1234567.5", "CNY", "1,234,567.50 CNY"),
        ("-0.5", "USD", "-0.50 USD"),
        ("1234567", "JPY", "1,234,567 JPY"),
        ("0", "KRW", "0 KRW"),
    ],
)
def test_money_str(amount: str, ccy: str, text: str) -> None:
    assert str(Money.of(amount, ccy)) == text


def test_currency_is_a_value() -> None:
    assert Currency("CNY", 2) == CNY
    assert Rounding("half_even") is Rounding.HALF_EVEN


# --- properties ------------------------------------------------------------------------------------------------

_AMOUNTS = st.decimals(
    min_value=D("-1e9"), max_value=D("1e9"), places=4, allow_nan=False, allow_infinity=False
)
_MODES = st.sampled_from(list(Rounding))
_CNY_MULTIPLES = st.sampled_from([D("0.01"), D("0.05"), D("0.10"), D("1"), D("10"), D("100")])
_JPY_MULTIPLES = st.sampled_from([D("1"), D("5"), D("10"), D("100"), D("1000")])


def _check_multiple(amount: Decimal, ccy: str, mode: Rounding, multiple: Decimal) -> None:
    got = round_money(amount, ccy, mode, multiple=multiple)
    assert got % multiple == 0  # a multiple
    assert abs(got - amount) < multiple  # within one multiple of the input
    if mode in (Rounding.HALF_UP, Rounding.HALF_EVEN):
        assert abs(got - amount) * 2 <= multiple  # and within half of one for the nearest modes
    if mode is Rounding.DOWN:
        assert abs(got) <= abs(amount)
    if mode is Rounding.UP:
        assert abs(got) >= abs(amount)
    assert got == 0 or (got > 0) == (amount > 0)  # never flips the sign
    assert got.as_tuple().exponent == -currency(ccy).minor_units


@given(amount=_AMOUNTS, mode=_MODES, multiple=_CNY_MULTIPLES)
def test_rounding_to_a_multiple_is_a_nearby_multiple_cny(
    amount: Decimal, mode: Rounding, multiple: Decimal
) -> None:
    _check_multiple(amount, "CNY", mode, multiple)


@given(amount=_AMOUNTS, mode=_MODES, multiple=_JPY_MULTIPLES)
def test_rounding_to_a_multiple_is_a_nearby_multiple_jpy(
    amount: Decimal, mode: Rounding, multiple: Decimal
) -> None:
    _check_multiple(amount, "JPY", mode, multiple)


@given(amount=_AMOUNTS, mode=_MODES, multiple=_CNY_MULTIPLES)
def test_rounding_is_idempotent(amount: Decimal, mode: Rounding, multiple: Decimal) -> None:
    once = round_money(amount, "CNY", mode, multiple=multiple)
    assert round_money(once, "CNY", mode, multiple=multiple) == once


@given(amount=_AMOUNTS, multiple=_CNY_MULTIPLES)
def test_half_even_and_half_up_differ_only_on_ties(amount: Decimal, multiple: Decimal) -> None:
    half_up = round_money(amount, "CNY", Rounding.HALF_UP, multiple=multiple)
    half_even = round_money(amount, "CNY", Rounding.HALF_EVEN, multiple=multiple)
    is_tie = abs(amount / multiple) % 1 == D("0.5")
    if half_up != half_even:
        assert is_tie
        assert abs(half_up - half_even) == multiple
        assert abs(half_up) > abs(half_even)  # half-up took the tie away from zero
        assert (half_even / multiple) % 2 == 0  # half-even took it to the even neighbour


@given(units=st.integers(min_value=-(10**9), max_value=10**9), multiple=_CNY_MULTIPLES)
def test_ties_go_away_from_zero_or_to_even(units: int, multiple: Decimal) -> None:
    tie = (D(units) + D("0.5")) * multiple  # exactly halfway between units·m and (units+1)·m
    half_up = round_money(tie, "CNY", Rounding.HALF_UP, multiple=multiple)
    half_even = round_money(tie, "CNY", Rounding.HALF_EVEN, multiple=multiple)
    away = units + 1 if units >= 0 else units
    even = units if units % 2 == 0 else units + 1
    assert half_up == D(away) * multiple
    assert half_even == D(even) * multiple
