"""The offer-menu solver's shortcuts (autofin.decision.menu) give what the plain computations give:
the group rate standing in for the rate at the maximum LTV, down-payment grids, financed services and
sheet rates shared by products alike, the distances, order and change kinds of the counter-offer
stage, and the affordability assessor that works out the applicant once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autofin.catalog.models import Catalogue, JurisdictionPack
from autofin.catalog.pricing import service_lines
from autofin.catalog.quote import SAMPLE_MARKET
from autofin.decision import menu as menu_mod
from autofin.decision.affordability import (
    AffordabilityApplicant,
    AffordabilityContract,
    Assessor,
    assess,
    limits_for,
)
from autofin.decision.application import Application, parse_application
from autofin.decision.menu import Menu, solve_menu
from autofin.decision.policy import PolicyLimits
from autofin.errors import ValidationError
from menu_support import banded_catalogue, demo_catalogue, example

_catalogue = demo_catalogue
_banded_catalogue = banded_catalogue


def _app(name: str, **wishes: Any) -> Application:
    data = example(name)
    if wishes:
        data["wishes"].pop("down_payment", None)
        data["wishes"].update(wishes)
    return parse_application(data, catalogue=_catalogue())


def _menu(app: Application, cat: Catalogue, policy: PolicyLimits | None = None) -> Menu:
    limits = limits_for(cat.jurisdictions[app.jurisdiction], None)
    return solve_menu(app, cat, SAMPLE_MARKET, limits, policy_limits=policy)


def _cases() -> Iterator[tuple[Application, Catalogue, PolicyLimits | None]]:
    for cat in (_catalogue(), _banded_catalogue()):
        for name in ("approve", "counter_offer", "prime"):
            yield _app(name), cat, None
        yield _app("counter_offer"), cat, PolicyLimits("B", Decimal("120000"), Decimal("0.25"))
        yield _app("counter_offer", down_payment_pct="0.05", term_months=60, ownership="any"), cat, None


def _spy(monkeypatch: pytest.MonkeyPatch, name: str, check: Callable[..., None]) -> list[int]:
    """Wrap ``menu_mod.<name>`` so that ``check(result, *args)`` runs after each call; counts calls."""
    real = getattr(menu_mod, name)
    calls: list[int] = []

    def wrapper(*args: Any) -> Any:
        out = real(*args)
        check(out, *args)
        calls.append(1)
        return out

    monkeypatch.setattr(menu_mod, name, wrapper)
    return calls


def test_group_rate_is_the_rate_at_the_maximum_ltv_and_shared_grids_are_each_products_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """_down_grid takes the group rate (when there is one) for the rate lookup at the product's maximum
    LTV, and products alike in ``grid_key`` share one fixed grid: both as the plain computation."""
    seen = {"group": 0, "banded": 0}
    users: dict[int, set[str]] = {}  # products by the grid they use

    def check(out: Any, ctx: Any, plan: Any, term: int, balloon: Any, services: Decimal, group: Any) -> None:
        at_max = min(plan.product.max_ltv, Decimal(1))
        if isinstance(group, Decimal):
            assert menu_mod._rate(ctx, plan, term, at_max) == group
            seen["group"] += 1
        elif isinstance(group, ValidationError):
            with pytest.raises(ValidationError):
                menu_mod._rate(ctx, plan, term, at_max)
        else:
            seen["banded"] += 1
        shared = plan.base_grid[services]
        own = menu_mod._fixed_grid(ctx, plan, services)
        assert shared[0] == own[0] and shared[1] == own[1] and shared[3:] == own[3:]
        # the same amounts, written the same way (the trace shows them)
        assert [str(i[0]) for i in shared[1]] == [str(i[0]) for i in own[1]]
        assert sorted(map(str, shared[0])) == sorted(map(str, own[0]))
        users.setdefault(id(shared), set()).add(plan.product.id)

    calls = _spy(monkeypatch, "_down_grid", check)
    for app, cat, policy in _cases():
        users.clear()
        _menu(app, cat, policy)
        assert max(map(len, users.values())) > 1  # some products really share a grid
    assert calls and seen["group"] and seen["banded"]


def test_counter_offer_distances_and_change_kinds_are_the_plain_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter-offer stage's distances (worked out per down payment, term, product and balloon) are
    ``_distance`` to the bit, and the kinds of change are those ``_changes`` names."""
    checked: list[int] = []

    def check(out: list[float], ctx: Any, candidates: list[Any]) -> None:
        assert len(out) == len(candidates)
        kinds = menu_mod._ChangeFields(ctx)
        for d, c in zip(out, candidates, strict=True):
            s = c.structure
            assert d == menu_mod._distance(ctx, c.product, s)
            assert repr(d) == repr(menu_mod._distance(ctx, c.product, s))
            assert kinds(c.product, c) == frozenset(ch.field for ch in menu_mod._changes(ctx, c.product, s))
        checked.append(len(out))

    _spy(monkeypatch, "_distances", check)
    for app, cat, policy in _cases():
        _menu(app, cat, policy)
    assert checked and sum(checked) > 100


@cache
def _packs() -> tuple[JurisdictionPack, ...]:
    cat = _catalogue()
    return (cat.jurisdictions["CN"], cat.jurisdictions["US"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    income=st.integers(100_00, 80_000_00),
    debts=st.integers(0, 9_000_00),
    age=st.integers(18, 80),
    household=st.integers(1, 6),
    region=st.sampled_from([None, "tier1", "tier3", "CA", "elsewhere"]),
    segment=st.sampled_from([None, "no_file", "thin_file"]),
    pack=st.integers(0, 1),
    contracts=st.lists(
        st.tuples(
            st.integers(1_000_00, 400_000_00),  # amount financed
            st.integers(1_000_00, 300_000_00),  # price
            st.integers(0, 20_000_000),  # payment (tenths of a cent: rounded on the way in)
            st.integers(1, 96),  # term
            st.sampled_from(["passenger", "commercial"]),
            st.sampled_from(["new", "used"]),
            st.sampled_from(["ice", "hybrid", "nev"]),
            st.integers(0, 100_000_00),  # down payment
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_property_assessor_is_assess(
    income: int, debts: int, age: int, household: int, region: str | None, segment: str | None, pack: int,
    contracts: list[tuple[int, int, int, int, Any, Any, Any, int]],
) -> None:  # fmt: skip
    """One Assessor for an applicant assesses every contract exactly as assess() does: measures,
    reasons (texts included) and headroom."""
    limits = limits_for(_packs()[pack], segment)
    a = AffordabilityApplicant(monthly_income=Decimal(income) / 100, age=age,
                               monthly_debt_payments=Decimal(debts) / 100, household_size=household,
                               region=region)  # fmt: skip
    assessor = Assessor(a, limits)
    for amount, price, payment, term, use, condition, powertrain, down in contracts:
        c = AffordabilityContract(amount_financed=Decimal(amount) / 100, vehicle_price=Decimal(price) / 100,
                                  term_months=term, monthly_payment=Decimal(payment) / 1000, use=use,
                                  condition=condition, powertrain=powertrain, down_payment=Decimal(down) / 100)  # fmt: skip
        fast, plain = assessor(c), assess(a, c, limits)
        assert fast == plain
        assert repr(fast) == repr(plain)


def test_assessor_refuses_as_assess_does() -> None:
    limits = limits_for(_packs()[0])
    a = AffordabilityApplicant(monthly_income=Decimal("0.001"), age=30)  # rounds to 0
    c = AffordabilityContract(amount_financed=Decimal(1000), vehicle_price=Decimal(2000), term_months=12,
                              monthly_payment=Decimal(100))  # fmt: skip
    with pytest.raises(ValidationError) as plain:
        assess(a, c, limits)
    with pytest.raises(ValidationError) as fast:
        Assessor(a, limits)(c)
    assert str(fast.value) == str(plain.value)


def test_counter_offers_are_tried_nearest_first_as_the_plain_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    """_by_distance orders as ``sorted(candidates, key=(distance, fit))`` does, ties included, and
    with a NaN fit too (then it takes that plain sort)."""
    checked: list[int] = []
    by_distance = menu_mod._by_distance

    def plain(ctx: Any, candidates: list[Any]) -> list[tuple[float, Any]]:
        def key(c: Any) -> tuple[float, float]:
            return menu_mod._distance(ctx, c.product, c.structure), c.fit

        return [(key(c)[0], c) for c in sorted(candidates, key=key)]

    def same(got: list[tuple[float, Any]], want: list[tuple[float, Any]]) -> bool:
        return len(got) == len(want) and all(
            repr(g[0]) == repr(w[0]) and g[1] is w[1] for g, w in zip(got, want, strict=True)
        )

    def check(out: list[tuple[float, Any]], ctx: Any, candidates: list[Any]) -> None:
        assert same(out, plain(ctx, candidates))
        # every fit the same (all ties on the fit), reversed input, and a NaN fit
        flat = [c._replace(fit=1.0) for c in reversed(candidates)]
        assert same(by_distance(ctx, flat), plain(ctx, flat))
        odd = [c._replace(fit=float("nan")) if i % 7 == 3 else c for i, c in enumerate(candidates)]
        assert same(by_distance(ctx, odd), plain(ctx, odd))
        checked.append(len(out))

    _spy(monkeypatch, "_by_distance", check)
    for app, cat, policy in _cases():
        _menu(app, cat, policy)
    assert checked and sum(checked) > 100


def test_shared_services_and_sheet_rates_are_each_products_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The financed services shared by products alike in currency and service policy, and the sheet
    rates shared by products of one rate source, are those of each product's own lookup."""
    seen = {"services": 0, "rates": 0}

    def check_services(out: None, ctx: Any, plan: Any, term: int, *rest: Any) -> None:
        services = rest[2]
        lines = service_lines(ctx.catalogue, plan.product, ctx.vehicle, ctx.applicant, ctx.base,
                              list(ctx.base.services), {}, term, ctx.day)  # fmt: skip
        own = sum((s.price for s in lines if s.financed), Decimal(0))
        assert str(services) == str(own)
        seen["services"] += bool(ctx.base.services)

    def check_sheet(out: Decimal | None, ctx: Any, product: Any, row: int) -> None:
        src = product.rate
        if product.floating is not None:
            assert out is None
            return
        if row == -1:
            base = src.fixed
        else:
            table = ctx.catalogue.rate_tables.get(src.table or "")
            base = None if table is None or not table.effective.contains(ctx.day) else table.rows[row].rate
        own = None if base is None or base + src.margin < 0 else base + src.margin
        assert out == own
        seen["rates"] += 1

    _spy(monkeypatch, "_screen_downs", check_services)
    _spy(monkeypatch, "_sheet_rate", check_sheet)
    for app, cat, policy in _cases():
        _menu(app, cat, policy)
    assert seen["services"] and seen["rates"]


def test_a_candidate_is_the_trace_row_of_its_structure() -> None:
    """A structure that passes the screen is recorded as its candidate: the trace reads it as the
    tuple row (product, term, down payment, balloon, True, (), "estimated", payment) it stands for."""
    product = _catalogue().products["cn-balloon-flex"]
    for paid in (123456, Decimal("1234.57")):
        cand = menu_mod._Candidate(
            "cn-balloon-flex", 36, Decimal("20000.00"), Decimal("0.3"), product, 1.0, 2.0, paid
        )
        row = ("cn-balloon-flex", 36, Decimal("20000.00"), Decimal("0.3"), True, (), "estimated", paid)
        fast, plain = menu_mod.Trace([cand]), menu_mod.Trace([row])
        assert list(fast.verdicts()) == list(plain.verdicts()) == [("screen", True, ())]
        assert fast == plain and repr(fast[0]) == repr(plain[0])
        assert fast[0].payment == Decimal("1234.56") if isinstance(paid, int) else fast[0].payment == paid
