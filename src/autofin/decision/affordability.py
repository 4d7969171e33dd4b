"""Affordability: can this applicant carry this contract? PTI, DTI, LTV, age at maturity, residual income.

The measures (docs/decisions-affordability.md explains each one, its limit and its source):

* **PTI**, payment to income: the contract's monthly payment (its highest regular instalment; a
  balloon is not a monthly payment) / gross monthly income.
* **DTI**, debt to income: (the new payment + existing monthly debt payments) / gross monthly income.
* **LTV**, loan to value: the amount financed *including* financed add-ons (services, fees) / the
  vehicle price.
* **Age at maturity**: the applicant's age in completed years + term in months / 12.
* **Residual income**: income − existing debt payments − the new payment − a living-cost allowance
  per household member (by region / city tier); it must not be negative.

Limits are data: the ``affordability:`` block of a jurisdiction pack (``catalog/jurisdictions/``),
with overrides by segment (``no_file``, ``thin_file``, …) — :func:`limits_for`. :func:`assess`
returns each measure with its limit and verdict, a reason code with English and Chinese text for
every failure, and the :class:`Headroom` a counter-offer solver needs; :class:`Assessor` does the
same for many contracts of one applicant. :func:`assess_frame` does the same for many applications
at once over a polars frame (replay), and agrees with :func:`assess`.

Units and numbers: money is ``Decimal`` in major units of the limits' currency, rounded half-up to
its minor unit on the way in; ratios are ``Decimal`` decimals (``0.50`` = 50 %) in the scalar path and
``Float64`` in the frame path. Pass / fail never depends on float rounding: both paths compare by
exact cross-multiplication (``payment × q ≤ p × income`` for a limit ``p / q``) in whole minor units,
and limits carry at most six decimal places. Pure: no I/O.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

import polars as pl

from autofin.catalog.models import JurisdictionPack
from autofin.errors import ValidationError
from autofin.money import CONTEXT, Currency, currency, round_money, to_decimal

__all__ = [
    "AffordabilityApplicant",
    "AffordabilityContract",
    "AffordabilityLimits",
    "AffordabilityResult",
    "Assessor",
    "Headroom",
    "LtvLimit",
    "Measure",
    "MeasureName",
    "PaymentCaps",
    "Reason",
    "assess",
    "assess_frame",
    "limits_by_segment",
    "limits_for",
    "payment_caps",
]

MeasureName = Literal["pti", "dti", "ltv", "age_at_maturity", "residual_income"]
Use = Literal["passenger", "commercial"]
Condition = Literal["new", "used"]
Powertrain = Literal["ice", "hybrid", "nev"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_RATIO = Decimal(5)
RATIO_PLACES = 6
#: Reported ratios are rounded half-up to this many decimals (verdicts use the exact values).
RATIO_QUANTUM = Decimal(1).scaleb(-RATIO_PLACES)

CODES: Mapping[MeasureName, str] = MappingProxyType(
    {
        "pti": "PTI_HIGH",
        "dti": "DTI_HIGH",
        "ltv": "LTV_HIGH",
        "age_at_maturity": "AGE_AT_MATURITY_HIGH",
        "residual_income": "RESIDUAL_INCOME_LOW",
    }
)
MEASURES: tuple[MeasureName, ...] = get_args(MeasureName)


# -- limits ------------------------------------------------------------------------------------------


def _ratio(value: Decimal | int | str | float | None, name: str) -> Decimal | None:
    if value is None:
        return None
    d = to_decimal(value, name)
    if not ZERO < d <= MAX_RATIO:
        raise ValidationError(name, value, f"must be a ratio above 0 and at most {MAX_RATIO}")
    exponent = d.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > RATIO_PLACES:
        raise ValidationError(name, value, f"must have at most {RATIO_PLACES} decimal places")
    return d


@dataclass(frozen=True, slots=True)
class LtvLimit:
    """A cap on LTV for the vehicles it names (``None``: any); the first matching cap applies."""

    use: Use
    condition: tuple[Condition, ...] | None
    powertrain: tuple[Powertrain, ...] | None
    max_ltv: Decimal
    source: str

    def __post_init__(self) -> None:
        _ratio(self.max_ltv, "limits.ltv_caps.max_ltv")

    def matches(self, use: str, condition: str, powertrain: str) -> bool:
        return (
            self.use == use
            and (self.condition is None or condition in self.condition)
            and (self.powertrain is None or powertrain in self.powertrain)
        )


@dataclass(frozen=True, slots=True)
class AffordabilityLimits:
    """Validated affordability limits for one jurisdiction and segment; ``None`` means no such limit.

    ``max_pti``, ``max_dti``: ratios to gross monthly income. LTV: the first of ``ltv_caps`` that
    matches the vehicle, and ``max_ltv`` (a house ceiling for every vehicle); the lower binds.
    ``max_age_at_maturity``: years. ``living_cost_per_member``: monthly allowance per household
    member by region key, ``living_cost_default`` for other regions (``None``: no residual-income
    test). Amounts in ``currency``. ``sources`` cites each measure's limit.
    """

    currency: str = "CNY"
    max_pti: Decimal | None = None
    max_dti: Decimal | None = None
    max_ltv: Decimal | None = None
    ltv_caps: tuple[LtvLimit, ...] = ()
    max_age_at_maturity: int | None = None
    living_cost_per_member: Mapping[str, Decimal] = field(default_factory=dict)
    living_cost_default: Decimal | None = None
    segment: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cur = currency(self.currency)
        for name in ("max_pti", "max_dti", "max_ltv"):
            object.__setattr__(self, name, _ratio(getattr(self, name), f"limits.{name}"))
        age = self.max_age_at_maturity
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 18 <= age <= 120):
            raise ValidationError(
                "limits.max_age_at_maturity", age, "must be a whole number of years, 18-120"
            )
        costs: dict[str, Decimal] = {}
        for key, value in self.living_cost_per_member.items():
            costs[key] = _amount(value, f"limits.living_cost_per_member.{key}", cur.code, allow_zero=True)
        object.__setattr__(self, "living_cost_per_member", MappingProxyType(costs))
        if self.living_cost_default is not None:
            default = _amount(
                self.living_cost_default, "limits.living_cost_default", cur.code, allow_zero=True
            )
            object.__setattr__(self, "living_cost_default", default)
        elif costs:
            raise ValidationError("limits.living_cost_default", None, "give a default for regions not listed")
        object.__setattr__(self, "ltv_caps", tuple(self.ltv_caps))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))

    def ltv_limit(self, use: str, condition: str, powertrain: str) -> tuple[Decimal | None, str]:
        """The LTV limit for this vehicle and where it comes from (``None``: no limit)."""
        cap = next((c for c in self.ltv_caps if c.matches(use, condition, powertrain)), None)
        if cap is not None and (self.max_ltv is None or cap.max_ltv <= self.max_ltv):
            return cap.max_ltv, cap.source
        if self.max_ltv is not None:
            return self.max_ltv, self.sources.get("ltv", "")
        return None, ""

    def living_cost(self, region: str | None) -> Decimal | None:
        """Monthly living-cost allowance per household member in ``region`` (``None``: no test)."""
        if region is not None and region in self.living_cost_per_member:
            return self.living_cost_per_member[region]
        return self.living_cost_default


_OVERRIDE_KEYS = (
    ("pti", "max_pti"),
    ("dti", "max_dti"),
    ("ltv", "max_ltv"),
    ("age_at_maturity", "max_age_at_maturity"),
)


def limits_for(pack: JurisdictionPack | None, segment: str | None = None) -> AffordabilityLimits:
    """The affordability limits of ``pack`` (its ``affordability:`` block and ``ltv_caps``) for
    ``segment``; a segment the pack does not list gets the pack's defaults.

    Raises :class:`~autofin.errors.ValidationError` when there is no pack or it has no affordability
    block: no limits is not the same as no checks, so it is refused rather than passed.
    """
    if pack is None:
        raise ValidationError("jurisdiction", None, "no jurisdiction pack: affordability limits come from it")
    policy = pack.affordability
    if policy is None:
        raise ValidationError(
            f"jurisdictions.{pack.id}.affordability", None, "the pack has no affordability block"
        )
    override = policy.segments.get(segment) if segment is not None else None

    def pick(name: str) -> Any:
        if override is not None and getattr(override, name) is not None:
            return getattr(override, name)
        return getattr(policy, name)

    where = f"{pack.id} affordability"
    seg_source = override.source if override is not None and override.source else None
    sources = {m: policy.source for m in ("pti", "dti", "ltv", "age_at_maturity")}
    if override is not None:
        for m, key in _OVERRIDE_KEYS:
            if getattr(override, key) is not None:
                sources[m] = f"{where}, segment {segment}: {seg_source or policy.source}"
    caps: list[LtvLimit] = []
    if pack.ltv_caps is not None and policy.ltv_caps != "none":
        for cap in pack.ltv_caps.caps:
            if not cap.binding and policy.ltv_caps == "binding":
                continue
            note = "" if cap.binding else " (a lender-set cap, applied as house policy)"
            caps.append(
                LtvLimit(
                    use=cap.use,
                    condition=tuple(cap.condition) if cap.condition is not None else None,
                    powertrain=tuple(cap.powertrain) if cap.powertrain is not None else None,
                    max_ltv=cap.max_ltv,
                    source=f"{pack.ltv_caps.source}{note}",
                )
            )
    living = policy.living_cost
    if living is not None:
        sources["residual_income"] = living.source + (" (illustrative)" if living.illustrative else "")
    return AffordabilityLimits(
        currency=pack.currency,
        max_pti=pick("max_pti"),
        max_dti=pick("max_dti"),
        max_ltv=pick("max_ltv"),
        ltv_caps=tuple(caps),
        max_age_at_maturity=pick("max_age_at_maturity"),
        living_cost_per_member=dict(living.per_member) if living is not None else {},
        living_cost_default=living.default if living is not None else None,
        segment=segment,
        sources=sources,
    )


def limits_by_segment(pack: JurisdictionPack | None) -> dict[str | None, AffordabilityLimits]:
    """The pack's limits for every segment it lists, and its defaults under ``None``: the mapping
    :func:`assess_frame` takes."""
    limits: dict[str | None, AffordabilityLimits] = {None: limits_for(pack)}
    assert pack is not None and pack.affordability is not None
    for seg in pack.affordability.segments:
        limits[seg] = limits_for(pack, seg)
    return limits


# -- inputs ------------------------------------------------------------------------------------------


def _amount(value: Any, name: str, ccy: str, *, allow_zero: bool) -> Decimal:
    d = to_decimal(value, name)
    if d < 0 or (d == 0 and not allow_zero):
        raise ValidationError(name, value, "must not be negative" if allow_zero else "must be positive")
    return round_money(d, ccy)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(name, value, f"must be a whole number from {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class AffordabilityApplicant:
    """What affordability needs to know about the applicant.

    ``monthly_income``: gross monthly income (> 0); ``monthly_debt_payments``: existing monthly debt
    payments (≥ 0), both in the limits' currency. ``age``: completed years at application.
    ``household_size``: people the income supports (≥ 1). ``region``: the key of the living-cost table
    (CN city tier ``tier1`` … ``tier4``; US state). ``no_file`` / ``thin_file``: no or a thin
    credit-bureau file (they pick the segment, see :attr:`segment`).
    """

    monthly_income: Decimal
    age: int
    monthly_debt_payments: Decimal = ZERO
    household_size: int = 1
    region: str | None = None
    no_file: bool = False
    thin_file: bool = False

    def __post_init__(self) -> None:
        for name in ("monthly_income", "monthly_debt_payments"):
            value = to_decimal(getattr(self, name), f"applicant.{name}")
            if value < 0 or (value == 0 and name == "monthly_income"):
                rule = "must be positive" if name == "monthly_income" else "must not be negative"
                raise ValidationError(f"applicant.{name}", getattr(self, name), rule)
            object.__setattr__(self, name, value)
        _whole(self.age, "applicant.age", 18, 120)
        _whole(self.household_size, "applicant.household_size", 1, 30)
        if self.no_file and self.thin_file:
            raise ValidationError(
                "applicant.thin_file", True, "an applicant with no file cannot have a thin file"
            )

    @property
    def segment(self) -> str | None:
        """``no_file``, ``thin_file`` or ``None``: the segment key for :func:`limits_for`."""
        return "no_file" if self.no_file else "thin_file" if self.thin_file else None


@dataclass(frozen=True, slots=True)
class AffordabilityContract:
    """The contract being assessed.

    ``amount_financed``: principal lent *including* financed add-ons (services, fees); ``vehicle_price``:
    the price of the vehicle (> 0); ``monthly_payment``: the highest regular instalment (the balloon is
    not a monthly payment); ``balloon``: the final balloon (kept for the record and checked to be below
    the amount financed); ``down_payment``: what the customer pays up front (for the down-payment
    headroom); ``term_months``: number of monthly instalments.
    """

    amount_financed: Decimal
    vehicle_price: Decimal
    term_months: int
    monthly_payment: Decimal
    use: Use = "passenger"
    condition: Condition = "new"
    powertrain: Powertrain = "ice"
    balloon: Decimal = ZERO
    down_payment: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("amount_financed", "vehicle_price", "monthly_payment", "balloon", "down_payment"):
            value = to_decimal(getattr(self, name), f"contract.{name}")
            positive = name in ("amount_financed", "vehicle_price")
            if value < 0 or (positive and value == 0):
                raise ValidationError(
                    f"contract.{name}",
                    getattr(self, name),
                    "must be positive" if positive else "must not be negative",
                )
            object.__setattr__(self, name, value)
        _whole(self.term_months, "contract.term_months", 1, 600)
        for name, allowed in (("use", Use), ("condition", Condition), ("powertrain", Powertrain)):
            if getattr(self, name) not in get_args(allowed):
                raise ValidationError(
                    f"contract.{name}", getattr(self, name), f"must be one of {get_args(allowed)}"
                )
        if self.balloon >= self.amount_financed:
            raise ValidationError("contract.balloon", self.balloon, "must be below the amount financed")


# -- result ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measure:
    """One measure: its ``value`` (a ratio; years for age; money for residual income), its ``limit``
    (``None``: no limit, always passes), ``kind`` (``max``: value ≤ limit; ``min``: value ≥ limit),
    the verdict and the limit's source."""

    name: MeasureName
    value: Decimal
    limit: Decimal | None
    kind: Literal["max", "min"]
    passed: bool
    source: str


def is_zh_cn(locale: str) -> bool:
    """Whether ``locale`` asks for Simplified Chinese (``zh-CN``, ``zh_cn``, any case); else English."""
    return locale.lower().replace("_", "-") == "zh-cn"


@dataclass(frozen=True, slots=True)
class Reason:
    """A failed measure's reason code and text (``en``, ``zh_cn``), each beginning with the code."""

    code: str
    measure: MeasureName
    en: str
    zh_cn: str

    def text(self, locale: str = "en") -> str:
        return self.zh_cn if is_zh_cn(locale) else self.en


@dataclass(frozen=True, slots=True)
class Headroom:
    """What would pass, for a counter-offer solver; ``None`` where there is no limit.

    ``max_payment``: the largest monthly payment that passes the PTI, DTI and residual-income limits
    (the lowest of the three, rounded down to the minor unit; 0 when no payment fits).
    ``max_amount_financed``: the largest amount financed (add-ons included) within the LTV limit;
    ``min_down_payment``: the smallest down payment that passes it with the same price and add-ons
    (``contract.down_payment`` + the excess over ``max_amount_financed``). ``max_term_months``: the
    longest term within the age limit (0: none).
    """

    max_payment: Decimal | None
    max_amount_financed: Decimal | None
    min_down_payment: Decimal | None
    max_term_months: int | None


@dataclass(frozen=True, slots=True)
class AffordabilityResult:
    """Every measure by name, a reason for each failure (in measure order), and the headroom."""

    measures: Mapping[MeasureName, Measure]
    reasons: tuple[Reason, ...]
    headroom: Headroom
    segment: str | None

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.measures.values())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


# -- scalar assessment -------------------------------------------------------------------------------


def _pct(x: Decimal, rounding: str = decimal.ROUND_UP) -> str:
    """A ratio as a percentage with at most one decimal; measured values round *up* so that a value
    just above its limit never prints as equal to it."""
    q = (x * HUNDRED).quantize(Decimal("0.1"), rounding=rounding, context=CONTEXT)
    return f"{q.normalize():f}"


def _limit_pct(x: Decimal) -> str:
    return f"{(x * HUNDRED).normalize():f}"


def _years(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.1'), rounding=decimal.ROUND_UP).normalize():f}"


_VEHICLE_ZH = {"used": "二手", "new": "新", "passenger": "乘用车", "commercial": "商用车"}
_POWER_EN = {"ice": "ICE", "hybrid": "hybrid", "nev": "NEV"}
_POWER_ZH = {"ice": "燃油", "hybrid": "混动", "nev": "新能源"}


def _reason(name: MeasureName, m: Measure, a: AffordabilityApplicant, c: AffordabilityContract,
            ccy: str, living: Decimal | None) -> Reason:  # fmt: skip
    code = CODES[name]
    assert m.limit is not None
    if name == "pti":
        en = f"the monthly payment is {_pct(m.value)} % of income; at most {_limit_pct(m.limit)} % is allowed"
        zh = f"月供占月收入的 {_pct(m.value)} %，上限为 {_limit_pct(m.limit)} %"
    elif name == "dti":
        en = (
            f"the monthly payment and existing debt payments are {_pct(m.value)} % of income; "
            f"at most {_limit_pct(m.limit)} % is allowed"
        )
        zh = f"月供与现有债务月还款合计占月收入的 {_pct(m.value)} %，上限为 {_limit_pct(m.limit)} %"
    elif name == "ltv":
        vehicle = f"{c.condition} {c.use} {_POWER_EN[c.powertrain]}"
        en = (
            f"the amount financed (financed add-ons included) is {_pct(m.value)} % of the vehicle price; "
            f"at most {_limit_pct(m.limit)} % is allowed for a {vehicle} vehicle"
        )
        zh_vehicle = f"{_VEHICLE_ZH[c.condition]}{_POWER_ZH[c.powertrain]}{_VEHICLE_ZH[c.use]}"
        zh = (
            f"贷款金额（含融资的附加产品及费用）为车价的 {_pct(m.value)} %，"
            f"{zh_vehicle}上限为 {_limit_pct(m.limit)} %"
        )
    elif name == "age_at_maturity":
        en = (
            f"the applicant would be {_years(m.value)} at the end of the {c.term_months}-month term; "
            f"at most {m.limit.normalize():f} is allowed"
        )
        zh = (
            f"贷款到期（{c.term_months} 个月）时申请人年龄为 {_years(m.value)} 岁，"
            f"上限为 {m.limit.normalize():f} 岁"
        )
    else:
        allowance = (living or ZERO) * a.household_size
        en = (
            f"income left after existing debts, this payment and a living-cost allowance of "
            f"{allowance} {ccy} "
            f"({a.household_size} household member{'s' if a.household_size != 1 else ''}) is "
            f"{m.value} {ccy} a month; it must not be negative"
        )
        zh = (
            f"扣除现有债务月还款、本笔月供及生活费 {allowance} {ccy}（{a.household_size} 名家庭成员）后，"
            f"每月剩余收入为 {m.value} {ccy}，不得为负"
        )
    return Reason(code, name, f"{code}: {en}", f"{code}：{zh}")


def _income_and_debts(applicant: AffordabilityApplicant, ccy: str) -> tuple[Currency, Decimal, Decimal]:
    """The currency, and income and debt payments rounded half-up to its minor unit; income must be > 0."""
    income = round_money(applicant.monthly_income, ccy)
    if income <= 0:
        raise ValidationError("applicant.monthly_income", applicant.monthly_income, "must be positive")
    return currency(ccy), income, round_money(applicant.monthly_debt_payments, ccy)


def assess(
    applicant: AffordabilityApplicant, contract: AffordabilityContract, limits: AffordabilityLimits
) -> AffordabilityResult:
    """Assess ``contract`` for ``applicant`` against ``limits`` (see the module docstring).

    Amounts are rounded half-up to the limits' currency's minor unit first. A measure without a
    limit passes; verdicts compare exactly (no division). :class:`Assessor` assesses many contracts
    of one applicant.
    """
    return _assess(_prepare(applicant, limits), applicant, contract, limits)


class Assessor:
    """:func:`assess` for one applicant and set of limits, and any number of contracts: what does not
    depend on the contract (income and debts rounded, the living-cost allowance, the payment and term
    headroom) is worked out once. ``Assessor(applicant, limits)(contract)`` equals
    ``assess(applicant, contract, limits)``; it raises as :func:`assess` would for this applicant when
    it is made."""

    __slots__ = ("_applicant", "_limits", "_prepared")

    def __init__(self, applicant: AffordabilityApplicant, limits: AffordabilityLimits) -> None:
        self._applicant = applicant
        self._limits = limits
        self._prepared = _prepare(applicant, limits)

    def __call__(self, contract: AffordabilityContract) -> AffordabilityResult:
        return _assess(self._prepared, self._applicant, contract, self._limits)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What :func:`assess` works out about the applicant under the limits, whatever the contract."""

    cur: Currency
    income: Decimal
    debts: Decimal
    living: Decimal | None
    allowance: Decimal
    pti_bound: Decimal | None  # max_pti × income
    dti_bound: Decimal | None  # max_dti × income
    max_payment: Decimal | None
    max_term: int | None


def _prepare(applicant: AffordabilityApplicant, limits: AffordabilityLimits) -> _Prepared:
    cur, income, debts = _income_and_debts(applicant, limits.currency)

    def floor(x: Decimal) -> Decimal:
        return x.quantize(cur.quantum, rounding=decimal.ROUND_FLOOR, context=CONTEXT)

    living = limits.living_cost(applicant.region)
    allowance = ZERO if living is None else living * applicant.household_size
    caps = []
    if limits.max_pti is not None:
        caps.append(floor(limits.max_pti * income))
    if limits.max_dti is not None:
        caps.append(floor(limits.max_dti * income) - debts)
    if living is not None:
        caps.append(income - debts - allowance)
    age_lim = limits.max_age_at_maturity
    return _Prepared(
        cur=cur,
        income=income,
        debts=debts,
        living=living,
        allowance=allowance,
        pti_bound=None if limits.max_pti is None else limits.max_pti * income,
        dti_bound=None if limits.max_dti is None else limits.max_dti * income,
        max_payment=max(min(caps), ZERO) if caps else None,
        max_term=None if age_lim is None else max((age_lim - applicant.age) * 12, 0),
    )


def _assess(
    prep: _Prepared,
    applicant: AffordabilityApplicant,
    contract: AffordabilityContract,
    limits: AffordabilityLimits,
) -> AffordabilityResult:
    """:func:`assess`, given :func:`_prepare` of ``applicant`` and ``limits``."""
    ccy, cur, income, debts = limits.currency, prep.cur, prep.income, prep.debts
    payment = round_money(contract.monthly_payment, cur)
    financed = round_money(contract.amount_financed, cur)
    price = round_money(contract.vehicle_price, cur)
    if price <= 0:
        raise ValidationError("contract.vehicle_price", contract.vehicle_price, "must be positive")
    down = round_money(contract.down_payment, cur)
    src = limits.sources

    def ratio(num: Decimal, den: Decimal) -> Decimal:
        return (num / den).quantize(RATIO_QUANTUM, rounding=decimal.ROUND_HALF_UP, context=CONTEXT)

    measures: dict[MeasureName, Measure] = {}
    lim, bound = limits.max_pti, prep.pti_bound
    measures["pti"] = Measure("pti", ratio(payment, income), lim, "max",
                              bound is None or payment <= bound, src.get("pti", ""))  # fmt: skip
    lim, bound = limits.max_dti, prep.dti_bound
    measures["dti"] = Measure("dti", ratio(payment + debts, income), lim, "max",
                              bound is None or payment + debts <= bound, src.get("dti", ""))  # fmt: skip
    ltv_lim, ltv_src = limits.ltv_limit(contract.use, contract.condition, contract.powertrain)
    measures["ltv"] = Measure("ltv", ratio(financed, price), ltv_lim, "max",
                              ltv_lim is None or financed <= ltv_lim * price, ltv_src)  # fmt: skip
    age_lim = limits.max_age_at_maturity
    at_maturity = (Decimal(applicant.age) + Decimal(contract.term_months) / 12).quantize(
        RATIO_QUANTUM, rounding=decimal.ROUND_HALF_UP, context=CONTEXT
    )
    age_ok = age_lim is None or applicant.age * 12 + contract.term_months <= age_lim * 12
    measures["age_at_maturity"] = Measure("age_at_maturity", at_maturity,
                                          None if age_lim is None else Decimal(age_lim), "max", age_ok,
                                          src.get("age_at_maturity", ""))  # fmt: skip
    living = prep.living
    residual = income - debts - payment - prep.allowance
    measures["residual_income"] = Measure("residual_income", residual, None if living is None else ZERO,
                                          "min", living is None or residual >= 0,
                                          src.get("residual_income", ""))  # fmt: skip

    reasons = tuple(
        _reason(name, measures[name], applicant, contract, ccy, living)
        for name in MEASURES
        if not measures[name].passed
    )

    if ltv_lim is not None:
        max_financed: Decimal | None = (ltv_lim * price).quantize(
            cur.quantum, rounding=decimal.ROUND_FLOOR, context=CONTEXT
        )
        assert max_financed is not None
        min_down: Decimal | None = down + max(financed - max_financed, ZERO)
    else:
        max_financed = min_down = None
    headroom = Headroom(prep.max_payment, max_financed, min_down, prep.max_term)
    return AffordabilityResult(MappingProxyType(measures), reasons, headroom, limits.segment)


@dataclass(frozen=True, slots=True)
class PaymentCaps:
    """The largest monthly payment (currency, at the minor unit) that passes each payment measure of
    :func:`assess` for one applicant; ``None`` where there is no limit. A cap may be negative: then no
    payment passes that measure. A payment ``p`` (rounded to the minor unit) passes PTI exactly when
    ``p <= pti``, DTI when ``p <= dti`` and residual income when ``p <= residual_income``; the lowest
    of them (floored at 0) is :attr:`Headroom.max_payment`.
    """

    pti: Decimal | None
    dti: Decimal | None
    residual_income: Decimal | None


def payment_caps(applicant: AffordabilityApplicant, limits: AffordabilityLimits) -> PaymentCaps:
    """The :class:`PaymentCaps` of ``applicant`` under ``limits``: what :func:`assess` decides about the
    payment, computed once so that many candidate payments can be screened without re-assessing."""
    ccy = limits.currency
    cur, income, debts = _income_and_debts(applicant, ccy)

    def floor(x: Decimal) -> Decimal:
        return x.quantize(cur.quantum, rounding=decimal.ROUND_FLOOR, context=CONTEXT)

    living = limits.living_cost(applicant.region)
    return PaymentCaps(
        pti=None if limits.max_pti is None else floor(limits.max_pti * income),
        dti=None if limits.max_dti is None else floor(limits.max_dti * income) - debts,
        residual_income=None if living is None else income - debts - living * applicant.household_size,
    )


# -- vectorised assessment (replay) ------------------------------------------------------------------

#: Columns :func:`assess_frame` reads; ``monthly_debt_payments``, ``household_size``, ``region``,
#: ``segment`` (or ``no_file`` / ``thin_file``), ``use``, ``condition``, ``powertrain``, ``balloon``
#: and ``down_payment`` are optional (defaults as in the scalar inputs).
REQUIRED_COLUMNS = (
    "monthly_income",
    "age",
    "amount_financed",
    "vehicle_price",
    "term_months",
    "monthly_payment",
)


def _fraction(x: Decimal) -> tuple[int, int]:
    p, q = x.as_integer_ratio()
    return p, q


def _minor(col: str, scale: int) -> pl.Expr:
    """A money column (float, int or Decimal) in whole minor units, rounded half-up (values ≥ 0)."""
    return (pl.col(col).cast(pl.Float64) * scale + 0.5).floor().cast(pl.Int64)


def _check_frame(frame: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(f"frame.{missing[0]}", None, "is a required column")
    rules: list[tuple[str, pl.Expr, str]] = [
        ("monthly_income", pl.col("monthly_income") <= 0, "must be positive"),
        ("vehicle_price", pl.col("vehicle_price") <= 0, "must be positive"),
        ("amount_financed", pl.col("amount_financed") <= 0, "must be positive"),
        ("monthly_payment", pl.col("monthly_payment") < 0, "must not be negative"),
        ("age", (pl.col("age") < 18) | (pl.col("age") > 120), "must be a whole number from 18 to 120"),
        ("term_months", (pl.col("term_months") < 1) | (pl.col("term_months") > 600), "must be from 1 to 600"),
    ]
    for opt, rule in (
        ("monthly_debt_payments", "must not be negative"),
        ("down_payment", "must not be negative"),
    ):
        if opt in frame.columns:
            rules.append((opt, pl.col(opt) < 0, rule))
    if "household_size" in frame.columns:
        rules.append(("household_size", pl.col("household_size") < 1, "must be at least 1"))
    for col in REQUIRED_COLUMNS:
        if frame[col].null_count():
            raise ValidationError(f"frame.{col}", None, "must not be null")
    for col, bad, rule in rules:
        hit = frame.filter(bad)
        if hit.height:
            raise ValidationError(f"frame.{col}", hit[col][0], rule)


def _per_segment(
    seg: pl.Expr,
    limits: Mapping[str | None, AffordabilityLimits],
    f: Callable[[AffordabilityLimits], pl.Expr],
) -> pl.Expr:
    default = limits[None]
    keys = [k for k in limits if k is not None]
    if not keys:
        return f(default)
    chain: Any = pl.when(seg == keys[0]).then(f(limits[keys[0]]))
    for k in keys[1:]:
        chain = chain.when(seg == k).then(f(limits[k]))
    out: pl.Expr = chain.otherwise(f(default))
    return out


def _lit(v: int | None) -> pl.Expr:
    return pl.lit(v, dtype=pl.Int64)


def assess_frame(
    frame: pl.DataFrame, limits: AffordabilityLimits | Mapping[str | None, AffordabilityLimits]
) -> pl.DataFrame:
    """:func:`assess` for every row of ``frame`` (one application per row), for replay.

    ``limits``: one set for all rows, or limits by segment (:func:`limits_by_segment`) picked by the
    row's ``segment`` column, else by ``no_file`` / ``thin_file``; a row whose segment is not listed
    gets ``limits[None]``. Money columns are in major units of the limits' currency (up to about
    10¹⁰ minor units each).

    Returns ``frame`` with: ``pti``, ``dti``, ``ltv``, ``age_at_maturity`` (Float64), the limits
    ``max_pti``, ``max_dti``, ``max_ltv`` (Float64), ``max_age_at_maturity``, ``residual_income``
    (Decimal, like every money column returned); verdicts
    ``pti_ok``, ``dti_ok``, ``ltv_ok``, ``age_at_maturity_ok``, ``residual_income_ok``, ``passed``;
    ``reason_codes`` (list, in measure order); headroom ``max_payment``, ``max_amount_financed``,
    ``min_down_payment``, ``max_term_months`` (null where there is no limit). Verdicts and money agree
    with :func:`assess` exactly; ratios to about 1e-9.
    """
    by_seg: Mapping[str | None, AffordabilityLimits] = (
        {None: limits} if isinstance(limits, AffordabilityLimits) else limits
    )
    if None not in by_seg:
        raise ValidationError(
            "limits", sorted(str(k) for k in by_seg), "give default limits under the key None"
        )
    currencies = {lim.currency for lim in by_seg.values()}
    if len(currencies) != 1:
        raise ValidationError("limits.currency", sorted(currencies), "all limits must share one currency")
    _check_frame(frame)
    cur = currency(currencies.pop())
    scale = 10**cur.minor_units

    def money(minor: pl.Expr) -> pl.Expr:
        # exact: polars divides a float column by a scalar through its reciprocal (off by an ulp)
        return minor.cast(pl.Decimal(38, 0)) * pl.lit(cur.quantum)

    cols = frame.columns

    def opt(name: str, default: Any, dtype: type[pl.DataType] | pl.DataType) -> pl.Expr:
        return pl.col(name) if name in cols else pl.lit(default, dtype=dtype)

    if "segment" in cols:
        seg = pl.col("segment")
    else:
        no_file = opt("no_file", False, pl.Boolean)
        thin = opt("thin_file", False, pl.Boolean)
        seg = pl.when(no_file).then(pl.lit("no_file")).when(thin).then(pl.lit("thin_file")).otherwise(None)
    region = opt("region", None, pl.String)
    use, cond, power = (
        opt("use", "passenger", pl.String),
        opt("condition", "new", pl.String),
        opt("powertrain", "ice", pl.String),
    )

    def ratio_parts(get: Callable[[AffordabilityLimits], Decimal | None]) -> tuple[pl.Expr, pl.Expr]:
        def part(i: int) -> Callable[[AffordabilityLimits], pl.Expr]:
            def f(lim: AffordabilityLimits) -> pl.Expr:
                v = get(lim)
                return _lit(None if v is None else _fraction(v)[i])

            return f

        return _per_segment(seg, by_seg, part(0)), _per_segment(seg, by_seg, part(1))

    def ltv_parts(lim: AffordabilityLimits, i: int) -> pl.Expr:
        def eff(cap: LtvLimit | None) -> pl.Expr:
            v = cap.max_ltv if cap is not None else None
            if lim.max_ltv is not None and (v is None or lim.max_ltv < v):
                v = lim.max_ltv
            return _lit(None if v is None else _fraction(v)[i])

        if not lim.ltv_caps:
            return eff(None)
        chain: Any = None
        for cap in lim.ltv_caps:
            match = use == cap.use
            if cap.condition is not None:
                match = match & cond.is_in(list(cap.condition))
            if cap.powertrain is not None:
                match = match & power.is_in(list(cap.powertrain))
            chain = pl.when(match).then(eff(cap)) if chain is None else chain.when(match).then(eff(cap))
        out: pl.Expr = chain.otherwise(eff(None))
        return out

    def living(lim: AffordabilityLimits) -> pl.Expr:
        if lim.living_cost_default is None:
            return _lit(None)
        out = _lit(int(lim.living_cost_default * scale))
        for key, value in lim.living_cost_per_member.items():
            out = pl.when(region == key).then(_lit(int(value * scale))).otherwise(out)
        return out

    pti_p, pti_q = ratio_parts(lambda lim: lim.max_pti)
    dti_p, dti_q = ratio_parts(lambda lim: lim.max_dti)
    age_max = _per_segment(seg, by_seg, lambda lim: _lit(lim.max_age_at_maturity))
    ltv_p = _per_segment(seg, by_seg, lambda lim: ltv_parts(lim, 0))
    ltv_q = _per_segment(seg, by_seg, lambda lim: ltv_parts(lim, 1))
    living_pm = _per_segment(seg, by_seg, living)

    money_cols = ("monthly_income", "monthly_payment", "amount_financed", "vehicle_price")
    inc, pay, fin, price = (_minor(c, scale) for c in money_cols)
    debts = _minor("monthly_debt_payments", scale) if "monthly_debt_payments" in cols else _lit(0)
    down = _minor("down_payment", scale) if "down_payment" in cols else _lit(0)
    household = pl.col("household_size").cast(pl.Int64) if "household_size" in cols else _lit(1)
    age, term = pl.col("age").cast(pl.Int64), pl.col("term_months").cast(pl.Int64)

    w = frame.with_columns(
        _i=inc, _pay=pay, _debt=debts, _fin=fin, _price=price, _down=down, _hh=household,
        _age=age, _term=term, _pp=pti_p, _pq=pti_q, _dp=dti_p, _dq=dti_q, _lp=ltv_p, _lq=ltv_q,
        _amax=age_max, _liv=living_pm,
    )  # fmt: skip
    i, p_, d_, f_, pr = pl.col("_i"), pl.col("_pay"), pl.col("_debt"), pl.col("_fin"), pl.col("_price")
    pp, pq, dp, dq, lp, lq = (pl.col(c) for c in ("_pp", "_pq", "_dp", "_dq", "_lp", "_lq"))
    amax, liv = pl.col("_amax"), pl.col("_liv")
    allowance = liv * pl.col("_hh")
    residual_minor = i - d_ - p_ - allowance
    w = w.with_columns(
        pti=p_ / i,
        dti=(p_ + d_) / i,
        ltv=f_ / pr,
        age_at_maturity=pl.col("_age") + pl.col("_term") / 12,
        max_pti=pp / pq,
        max_dti=dp / dq,
        max_ltv=lp / lq,
        max_age_at_maturity=amax,
        residual_income=money(residual_minor),
        pti_ok=pp.is_null() | (p_ * pq <= pp * i),
        dti_ok=dp.is_null() | ((p_ + d_) * dq <= dp * i),
        ltv_ok=lp.is_null() | (f_ * lq <= lp * pr),
        age_at_maturity_ok=amax.is_null() | (pl.col("_age") * 12 + pl.col("_term") <= amax * 12),
        residual_income_ok=liv.is_null() | (residual_minor >= 0),
        _c1=(pp * i) // pq,
        _c2=(dp * i) // dq - d_,
        _c3=pl.when(liv.is_null()).then(None).otherwise(i - d_ - allowance),
        _maxfin=(lp * pr) // lq,
    )
    cap = pl.min_horizontal("_c1", "_c2", "_c3")
    maxfin = pl.col("_maxfin")
    oks = [f"{m}_ok" for m in MEASURES]
    w = w.with_columns(
        passed=pl.all_horizontal(oks),
        reason_codes=pl.concat_list(
            [
                pl.when(~pl.col(f"{m}_ok"))
                .then(pl.lit([CODES[m]]))
                .otherwise(pl.lit([], dtype=pl.List(pl.String)))
                for m in MEASURES
            ]
        ),
        max_payment=pl.when(cap.is_null()).then(None).otherwise(pl.max_horizontal(cap, pl.lit(0))),
        max_amount_financed=money(maxfin),
        min_down_payment=pl.col("_down") + pl.max_horizontal(f_ - maxfin, pl.lit(0)),
        max_term_months=pl.max_horizontal((amax - pl.col("_age")) * 12, pl.lit(0)),
    )
    return w.with_columns(
        money(pl.col("max_payment")).alias("max_payment"),
        money(pl.when(maxfin.is_null()).then(None).otherwise(pl.col("min_down_payment"))).alias(
            "min_down_payment"
        ),
        pl.when(amax.is_null()).then(None).otherwise(pl.col("max_term_months")).alias("max_term_months"),
    ).drop([c for c in w.columns if c.startswith("_")])
