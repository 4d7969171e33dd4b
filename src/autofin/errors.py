"""The one exception family of autofin.

Every error names the *field* it is about, the offending *value* and the *rule* that was broken, so
that the CLI can print one clear line and the API can return an RFC 9457 problem document.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError


class AutofinError(Exception):
    """Base class: something about the input or the request is wrong.

    Attributes:
        field: dotted path of the offending field (``"balloon.amount"``), or ``""`` if none applies.
        value: the offending value (kept for the message; never PII in practice).
        rule: the rule broken, in words (``"must be less than the principal"``).
    """

    def __init__(self, field: str, value: Any, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = self.field or "input"
        return f"{where}: {self.rule} (got {self.value!r})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the ``errors`` member of a problem document)."""
        return {"field": self.field, "value": _jsonable(self.value), "rule": self.rule}


class ValidationError(AutofinError):
    """A value is out of range, of the wrong kind, or inconsistent with another value."""


class UnknownCurrencyError(ValidationError):
    """A currency code autofin does not know."""


class ConvergenceError(AutofinError):
    """A numeric solver (APR, IRR) did not converge for the given cash flows."""


def from_pydantic(exc: PydanticValidationError) -> ValidationError:
    """Turn pydantic's first error into autofin's one-line, field-naming error."""
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"])
    rule = str(err["msg"]).removeprefix("Value error, ")
    return ValidationError(field, err.get("input"), rule)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
