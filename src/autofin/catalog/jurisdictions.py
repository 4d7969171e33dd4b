"""Jurisdiction packs at work: the legal rate caps and LTV caps a quote must meet.

A pack (``catalog/jurisdictions/<CODE>.yaml``, validated into
:class:`~autofin.catalog.models.JurisdictionPack` by the loader) says how the all-in rate is
disclosed and which ceilings bind: fixed caps (CN's 24 % protection line), benchmark-linked caps
(4 × the 1-year LPR, the benchmark taken from the quote's :class:`~autofin.catalog.quote_types.Market`
on the quote date), and the applicant's state's motor-vehicle retail instalment ceiling (US), as an
annual rate or an add-on charge per 100 of amount financed per year. :func:`applicable_caps` lists the
caps that bind one contract; :func:`check_rate_caps` refuses a quote above any of them, and above the
catalogue-wide ceiling of ``catalogue.yaml`` ``rate_caps``; :func:`check_ltv_caps` refuses a loan above
a binding regulatory LTV cap. The same checks run at quote time (:func:`autofin.catalog.quote.quote`)
and at contract time (:func:`autofin.catalog.contracts.verify_at_contract`).

Rates are annual decimals; amounts are in the product's currency. Pure: no I/O. See
docs/pricing-caps.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autofin.catalog.models import Catalogue, JurisdictionPack, RateCap, StateCap, StateCapClass
from autofin.catalog.quote_types import Market, Quote
from autofin.errors import ValidationError
from autofin.money import currency, round_money

__all__ = [
    "AppliedCap",
    "applicable_caps",
    "benchmark_on",
    "check_ltv_caps",
    "check_quote_caps",
    "check_rate_caps",
    "pct2",
    "state_code",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def pct2(x: Decimal) -> str:
    """A rate as a percentage with two decimals: ``0.12`` → ``12.00 %``."""
    return f"{(x * HUNDRED).quantize(Decimal('0.01'))} %"


def _bench_name(name: str) -> str:
    return name.replace("_", " ")


@dataclass(frozen=True, slots=True)
class AppliedCap:
    """One ceiling binding a contract.

    ``label`` names it (``CN spc-2020-4x-lpr``, ``US-TX motor vehicle retail instalment cap``);
    ``basis`` shows how its number was reached (``4 × LPR 1Y 3.00 % = 12.00 %``); ``rate`` is the
    maximum annual rate, or ``None`` for an add-on ceiling, which limits the finance charge to
    ``add_on_per_100`` per 100 of amount financed per year instead; ``source`` cites the law.
    """

    label: str
    basis: str
    rate: Decimal | None
    add_on_per_100: Decimal | None
    source: str


def state_code(region: str | None, jurisdiction: str) -> str | None:
    """The two-letter state of ``region`` (``TX`` or ``US-TX`` → ``TX``); ``None`` if not given."""
    if region is None:
        return None
    code = region.strip().upper()
    prefix = f"{jurisdiction}-"
    return code[len(prefix) :] if code.startswith(prefix) else code


def benchmark_on(market: Market | None, name: str, day: date, why: str) -> Decimal:
    """The value of benchmark ``name`` on ``day`` (its last point on or before ``day``).

    Raises naming ``market.benchmarks.<name>`` when the market lacks it or has no value by ``day``;
    ``why`` says who needs it.
    """
    path = None if market is None else market.benchmarks.get(name)
    field = f"market.benchmarks.{name}"
    if path is None:
        raise ValidationError(field, None, f"{why}: give the {name} path in the market")
    value = next((p.rate for p in reversed(path) if p.date <= day), None)
    if value is None:
        raise ValidationError(field, day, f"{why}: {name} has no value on or before {day}")
    return value


def _fixed_or_linked(pack: JurisdictionPack, cap: RateCap, market: Market | None, day: date) -> AppliedCap:
    label = f"{pack.id} {cap.name}"
    if cap.rate is not None:
        return AppliedCap(label, f"fixed {pct2(cap.rate)}", cap.rate, None, cap.source)
    assert cap.benchmark is not None and cap.multiple is not None
    why = f"the {pack.id} rate cap {cap.id} is {cap.multiple.normalize():f} × {cap.benchmark}"
    bench = benchmark_on(market, cap.benchmark, day, why)
    limit = cap.multiple * bench
    basis = f"{cap.multiple.normalize():f} × {_bench_name(cap.benchmark)} {pct2(bench)} = {pct2(limit)}"
    return AppliedCap(label, basis, limit, None, cap.source)


def _state_class(state: StateCap, condition: str, age_years: int) -> StateCapClass | None:
    for cls in state.classes:
        if cls.condition is not None and condition not in cls.condition:
            continue
        if cls.max_age_years is not None and age_years > cls.max_age_years:
            continue
        return cls
    return None


def applicable_caps(
    catalogue: Catalogue,
    jurisdiction: str,
    kind: str,
    region: str | None,
    condition: str,
    vehicle_age_years: int,
    market: Market | None,
    day: date,
) -> list[AppliedCap]:
    """The legal caps of ``jurisdiction``'s pack that bind a contract of product ``kind`` (loan /
    lease) for this applicant's ``region`` and vehicle, with benchmark-linked caps evaluated on ``day``.

    No pack: no caps (the catalogue-wide ceiling still applies in :func:`check_rate_caps`).
    """
    pack = catalogue.jurisdictions.get(jurisdiction)
    if pack is None:
        return []
    out: list[AppliedCap] = []
    for cap in pack.rate_caps:
        if kind not in cap.kinds:
            continue
        if pack.licensed_lender and not cap.applies_to_licensed_lenders:
            continue
        out.append(_fixed_or_linked(pack, cap, market, day))
    sc = pack.state_caps
    if sc is not None and kind in sc.kinds:
        code = state_code(region, jurisdiction)
        state = sc.states.get(code) if code is not None else None
        where = f"{jurisdiction}-{code}" if state is not None else f"{jurisdiction} default"
        if state is None:
            state = sc.default
        if state is not None:
            cls = _state_class(state, condition, vehicle_age_years)
            if cls is not None:
                label = f"{where} {state.name}"
                note = " (illustrative)" if state.illustrative else ""
                if cls.apr is not None:
                    out.append(AppliedCap(label, f"{pct2(cls.apr)}{note}", cls.apr, None, state.source))
                else:
                    assert cls.add_on_per_100 is not None
                    basis = f"add-on {cls.add_on_per_100.normalize():f} per 100 per year{note}"
                    out.append(AppliedCap(label, basis, None, cls.add_on_per_100, state.source))
    return out


def check_rate_caps(
    catalogue: Catalogue,
    jurisdiction: str,
    product_id: str,
    caps: list[AppliedCap],
    rates: Mapping[str, Decimal | None],
    rate_label: str,
    fallback_rate: Decimal,
    amount_financed: Decimal,
    finance_charge: Decimal | None,
    term: int,
    ccy: str,
) -> None:
    """Refuse (field ``structure``) a contract whose disclosed all-in rate exceeds any cap in ``caps``
    or the catalogue-wide ceiling ``catalogue.rate_caps[jurisdiction]``.

    ``rates`` are the disclosed annual rates by method (the highest is compared: fees included);
    ``fallback_rate`` is used when none was computed. An add-on cap compares ``finance_charge`` with
    ``add_on_per_100 / 100 × amount_financed × term / 12`` (term in months); a contract without a
    finance charge (a lease) is compared on its rate only.
    """
    disclosed = max((r for r in rates.values() if r is not None), default=fallback_rate)
    what = f"the all-in rate {pct2(disclosed)} ({rate_label}, fees included)"
    for cap in caps:
        if cap.rate is not None and disclosed > cap.rate:
            raise ValidationError(
                "structure",
                disclosed,
                f"{what} exceeds a legal cap: the {cap.label} of {pct2(cap.rate)} "
                f"({cap.basis}; {cap.source})",
            )
        if cap.add_on_per_100 is not None and finance_charge is not None:
            limit = round_money(cap.add_on_per_100 / HUNDRED * amount_financed * term / 12, currency(ccy))
            if finance_charge > limit:
                raise ValidationError(
                    "structure",
                    disclosed,
                    f"{what} gives a finance charge of {finance_charge}, above a legal cap: the {cap.label} "
                    f"({cap.basis}: at most {limit} on {amount_financed} over {term} months; {cap.source})",
                )
    ceiling = catalogue.rate_caps.get(jurisdiction)
    if ceiling is not None and disclosed > ceiling:
        raise ValidationError(
            "structure",
            product_id,
            f"{what} exceeds the {jurisdiction} legal cap of {pct2(ceiling).replace('.00 %', ' %')} "
            "(catalogue.yaml rate_caps)",
        )


def check_ltv_caps(
    catalogue: Catalogue,
    jurisdiction: str,
    kind: str,
    use: str,
    condition: str,
    powertrain: str,
    ltv: Decimal,
    field: str,
    value: object,
) -> None:
    """Refuse a loan whose LTV (amount financed / price) exceeds a binding cap of the pack."""
    pack = catalogue.jurisdictions.get(jurisdiction)
    if pack is None or pack.ltv_caps is None or kind != "loan":
        return
    for cap in pack.ltv_caps.caps:
        if cap.use != use:
            continue
        if cap.condition is not None and condition not in cap.condition:
            continue
        if cap.powertrain is not None and powertrain not in cap.powertrain:
            continue
        if cap.binding and ltv > cap.max_ltv:
            raise ValidationError(
                field,
                value,
                f"the {jurisdiction} LTV cap for {use} {condition} {powertrain} vehicles is "
                f"{pct2(cap.max_ltv)} ({pack.ltv_caps.source}); this loan's LTV is {pct2(ltv)}",
            )
        return  # the first matching cap decides


def check_quote_caps(
    catalogue: Catalogue,
    q: Quote,
    market: Market | None,
    day: date,
    rates: Mapping[str, Decimal | None] | None = None,
) -> list[AppliedCap]:
    """Check quote ``q`` against the caps in force in ``catalogue`` on ``day``; return those applied.

    ``rates`` (default: the quote's own) are the disclosed all-in rates to compare — at contract time,
    the rates recomputed from the contract's cash flows. Needs ``q.basis`` (every quote from
    :func:`autofin.catalog.quote.quote` has one).
    """
    basis = q.basis
    if basis is None:
        raise ValidationError("quote.basis", None, "the quote records no pricing basis: quote it again")
    caps = applicable_caps(
        catalogue, basis.jurisdiction, q.kind, basis.region, basis.condition, basis.vehicle_age_years,
        market, day,
    )  # fmt: skip
    finance_charge = q.disclosure.finance_charge if q.disclosure is not None else None
    check_rate_caps(
        catalogue, basis.jurisdiction, q.product_id, caps, rates if rates is not None else q.rates,
        q.rate_label, q.customer_rate, q.amount_financed, finance_charge, q.term, q.currency,
    )  # fmt: skip
    return caps
