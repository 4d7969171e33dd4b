"""Rate sheets compiled from the cost build-up: rounding, monotonicity, flags, publishing."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.catalog.loader import default_catalogue_dir, load_catalogue
from autofin.catalog.models import RateTable
from autofin.errors import ValidationError
from autofin.pricing.buildup import PricingAssumptions, offer_economics
from autofin.pricing.funding import Funding, FundingCurve
from autofin.pricing.ratesheet import (
    LtvBand,
    RateSheet,
    ScoreBand,
    TermBand,
    ceil_to_step,
    compile_rate_sheet,
    enforce_monotone,
    is_monotone,
    with_lgd,
)

BANDS = [ScoreBand("A", 700, None), ScoreBand("B", 600, 699), ScoreBand("C", None, 599)]
TERMS = [TermBand(1, 36), TermBand(37, 60)]


def simple(opex_annual: float = 0.0, capital_ratio: float = 0.10) -> PricingAssumptions:
    """Flat 3 % funding, no fixed costs: with PD 0 the minimum rate is f + opex + k × target."""
    return PricingAssumptions(
        Funding.flat(0.03), lgd=0.4, opex_origination=0.0, opex_annual=opex_annual,
        capital_ratio=capital_ratio, hurdle_rate=0.12,
    )  # fmt: skip


def zero_pd_sheet(**kw: object) -> RateSheet:
    args: dict[str, object] = {
        "bands": BANDS,
        "pd_by_band": {"A": 0.0, "B": 0.0, "C": 0.0},
        "terms": TERMS,
        "lgd": {"new": 0.4, "used": 0.5},
        "rate_step": 0.0005,
    }
    args.update(kw)
    return compile_rate_sheet(simple(), 0.15, **args)  # type: ignore[arg-type]


def test_ceil_to_step_rounds_up_and_ignores_float_noise() -> None:
    assert ceil_to_step(0.05645, 0.0005) == 0.0565
    assert ceil_to_step(0.0565, 0.0005) == 0.0565
    assert ceil_to_step(0.05651, 0.0001) == 0.0566
    assert ceil_to_step(0.045 + 1e-15, 0.0001) == 0.045  # float noise is not a step
    assert ceil_to_step(0.04500001, 0.0001) == 0.0451
    with pytest.raises(ValidationError) as e:
        ceil_to_step(0.05, 0)
    assert e.value.field == "rate_step"


def test_hand_checked_cell_rate_is_funding_plus_capital_times_target() -> None:
    # PD 0, no opex: RAROC = (r − f) / k, so r = 3 % + 10 % × 15 % = 4.5 % in every cell.
    sheet = zero_pd_sheet()
    assert sheet.frame.height == 3 * 2 * 2
    assert sheet.frame["rate"].to_list() == [0.045] * 12
    assert all(abs(x - 0.045) < 1e-9 for x in sheet.frame["min_rate"].to_list())
    assert all(abs(x - 0.15) < 1e-9 for x in sheet.frame["raroc"].to_list())
    assert sheet.rate_for("B", 48, "used") == 0.045
    # 50 bp of annual opex adds 50 bp.
    sheet2 = compile_rate_sheet(
        simple(opex_annual=0.005), 0.15, bands=BANDS, pd_by_band={"A": 0, "B": 0, "C": 0},
        terms=TERMS, lgd={"new": 0.4, "used": 0.5},
    )  # fmt: skip
    assert set(sheet2.frame["rate"].to_list()) == {0.05}


def test_enforce_monotone_is_a_cumulative_maximum_on_every_risk_axis() -> None:
    a = np.zeros((3, 1, 2, 2))
    a[:, 0, 0, 0] = [0.05, 0.04, 0.06]  # band B priced below A: lifted to 0.05
    a[:, 0, 1, 0] = [0.045, 0.05, 0.07]  # used A below new A: lifted to 0.05
    a[:, 0, 0, 1] = [0.049, 0.05, 0.08]  # LTV 1 of A below LTV 0 of A: lifted to 0.05
    a[:, 0, 1, 1] = [0.06, 0.06, 0.09]
    out = enforce_monotone(a)
    assert out[:, 0, 0, 0].tolist() == [0.05, 0.05, 0.06]
    assert out[:, 0, 1, 0].tolist() == [0.05, 0.05, 0.07]
    assert out[:, 0, 0, 1].tolist() == [0.05, 0.05, 0.08]
    assert (out >= a).all()  # no cell is ever lowered
    assert np.isinf(enforce_monotone(np.array([np.inf, 0.05]).reshape(2, 1, 1, 1))).all()


def test_noisy_pd_curve_is_lifted_not_averaged() -> None:
    # Band B's PD is below A's (sampling noise): B takes A's rate, A keeps its own floor.
    a = PricingAssumptions(Funding.flat(0.03), lgd=0.5, opex_origination=500, opex_annual=0.005,
                           capital_ratio=0.1, hurdle_rate=0.12)  # fmt: skip
    s = compile_rate_sheet(a, 0.15, bands=BANDS, pd_by_band={"A": 0.03, "B": 0.01, "C": 0.06},
                           terms=TERMS, lgd={"new": 0.5}, conditions=["new"])  # fmt: skip
    assert s.frame["condition"].unique().to_list() == ["new"]
    for term in (36, 60):
        ra, rb = s.rate_for("A", term, "new"), s.rate_for("B", term, "new")
        b = s.frame.filter((s.frame["band"] == "B") & (s.frame["term"] == term)).row(0, named=True)
        assert rb == ra and b["rounded_rate"] < rb  # lifted to A's rate
        assert b["raroc"] > 0.15
    assert is_monotone(s) == []


def test_used_and_higher_ltv_are_never_cheaper() -> None:
    a = PricingAssumptions(Funding.flat(0.03), lgd=0.5, opex_origination=500, opex_annual=0.005,
                           capital_ratio=0.1, hurdle_rate=0.12)  # fmt: skip
    ltv = [LtvBand({"new": 0.5, "used": 0.3}, None, 0.8), LtvBand({"new": 0.4, "used": 0.6}, 0.8001, 1.2)]
    s = compile_rate_sheet(a, 0.15, bands=BANDS, pd_by_band={"A": 0.01, "B": 0.03, "C": 0.06},
                           terms=TERMS, ltv_bands=ltv, amount={"new": 100_000, "used": 60_000})  # fmt: skip
    assert is_monotone(s) == []
    # used at LTV ≤ 80 % has the lower LGD, but may not be cheaper than new: lifted
    for band in ("A", "B", "C"):
        assert s.rate_for(band, 60, "used", 0.5) == s.rate_for(band, 60, "new", 0.5)
        assert s.rate_for(band, 60, "new", 0.9) == s.rate_for(band, 60, "new", 0.5)  # LGD 0.4 < 0.5


def test_is_monotone_reports_each_violation() -> None:
    s = zero_pd_sheet()
    f = s.frame.with_columns(
        rate=np.where((s.frame["band"] == "C").to_numpy() & (s.frame["term"] == 60).to_numpy(), 0.04, 0.045)
    )
    bad = RateSheet(f, 0.15, 0.0005, has_ltv=False)
    v = is_monotone(bad)
    assert {x.axis for x in v} == {"band"}
    assert len(v) == 2  # B→C at 60 months, new and used
    assert v[0].safer[0] == "B" and v[0].riskier[0] == "C" and v[0].riskier_rate == 0.04


def test_caps_and_ceilings_flag_cells_and_never_cap_them() -> None:
    a = simple()
    s = compile_rate_sheet(a, 0.15, bands=BANDS, pd_by_band={"A": 0.0, "B": 0.0, "C": 0.2}, terms=TERMS,
                           lgd={"new": 0.4, "used": 0.5}, legal_cap=0.10,
                           market_ceiling={("B", "new"): 0.04})  # fmt: skip
    c = s.flagged
    assert set(c["band"].to_list()) == {"B", "C"}
    b_new = c.filter(c["band"] == "B")
    assert b_new["flags"].to_list() == [["market_ceiling"]] * 2 and b_new["rate"].to_list() == [0.045] * 2
    c_rows = c.filter(c["band"] == "C")
    assert all("legal_cap" in fl for fl in c_rows["flags"].to_list())
    assert all(r > 0.10 for r in c_rows["rate"].to_list())  # reported, not capped
    with pytest.raises(ValidationError) as e:
        s.to_rate_table("cn-test", 1, "CNY", date(2026, 7, 1))
    assert e.value.field == "flags" and "6 cell(s)" in e.value.rule
    data = s.to_rate_table("cn-test", 1, "CNY", date(2026, 7, 1), flagged="omit")
    assert len(data["rows"]) == 12 - 6


def test_unreachable_cells_have_no_rate_and_taint_riskier_bands() -> None:
    a = PricingAssumptions(Funding.flat(0.03), lgd=1.0, opex_origination=0, opex_annual=0,
                           capital_ratio=0.1, hurdle_rate=0.12)  # fmt: skip
    s = compile_rate_sheet(a, 0.15, bands=BANDS, pd_by_band={"A": 0.01, "B": 0.999, "C": 0.05},
                           terms=TERMS, lgd={"new": 1.0}, conditions=["new"])  # fmt: skip
    assert s.rate_for("B", 36, "new") is None and s.rate_for("C", 36, "new") is None
    assert s.frame.filter(s.frame["band"] == "C")["flags"].to_list() == [["unreachable"]] * 2
    assert s.rate_for("A", 36, "new") is not None


def test_to_rate_table_round_trips_through_the_catalogue(tmp_path: Path) -> None:
    ltv = [LtvBand({"new": 0.4, "used": 0.5}, None, 0.8), LtvBand({"new": 0.45, "used": 0.55}, 0.8001, 1.2)]
    s = compile_rate_sheet(simple(), 0.15, bands=BANDS, pd_by_band={"A": 0.0, "B": 0.0, "C": 0.0},
                           terms=TERMS, ltv_bands=ltv, rate_step=0.0005)  # fmt: skip
    data = s.to_rate_table(
        "cn-compiled", 2, "CNY", (date(2026, 7, 1), date(2026, 12, 31)),
        description={"en": "Compiled", "zh-CN": "编制"}, no_score=640,
    )  # fmt: skip
    table = RateTable.model_validate(data)
    assert table.version == 2 and table.no_score == 640 and len(table.rows) == 24
    first = table.rows[0]
    assert first.score.min == 700 and first.score.max is None and first.term.max == 36
    assert first.condition == ["new"] and first.ltv is not None and first.ltv.max == Decimal("0.8")
    assert first.rate == Decimal("0.045")
    # published into a copy of the catalogue, the loader reads it back as the same table
    root = tmp_path / "catalog"
    shutil.copytree(default_catalogue_dir(), root)
    (root / "rate_tables" / "cn-compiled.yaml").write_text(
        s.to_yaml("cn-compiled", 2, "CNY", date(2026, 7, 1)), encoding="utf-8"
    )
    loaded = load_catalogue(root).rate_tables["cn-compiled"]
    assert [r.rate for r in loaded.rows] == [r.rate for r in table.rows]


def test_to_rate_table_without_ltv_has_no_ltv_ranges() -> None:
    data = zero_pd_sheet().to_rate_table("cn-x", 1, "CNY", date(2026, 1, 1))
    assert "ltv" not in data["rows"][0]
    assert data["rows"][0] == {"score": {"min": 700}, "term": {"min": 1, "max": 36}, "condition": ["new"],
                               "rate": 0.045}  # fmt: skip
    with pytest.raises(ValidationError) as e:
        zero_pd_sheet().to_rate_table("X bad id", 1, "CNY", date(2026, 1, 1))
    assert e.value.field == "id"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"bands": [ScoreBand("A", 600, None), ScoreBand("B", 650, 700)]}, "bands[1].max_score"),
        ({"bands": [ScoreBand("A"), ScoreBand("A")]}, "bands"),
        ({"pd_by_band": {"A": 0.01, "B": 0.02}}, "pd_by_band.C"),
        ({"pd_by_band": {"A": 0.01, "B": 1.5, "C": 0.1}}, "pd_by_band.B"),
        ({"terms": [TermBand(1, 36), TermBand(30, 60)]}, "terms[1].min_months"),
        ({"terms": [TermBand(1, 36, months=48)]}, "terms[0].months"),
        ({"rate_step": 0.0}, "rate_step"),
        ({"legal_cap": 1.5}, "legal_cap"),
        ({"conditions": ["demo"]}, "conditions"),
        ({"lgd": None}, "lgd"),
        ({"lgd": {"new": 0.4}}, "lgd.used"),
        ({"ltv_bands": [LtvBand({"new": 0.4, "used": 0.5})]}, "lgd"),
        ({"amount": -1.0}, "amount"),
    ],
)
def test_invalid_inputs_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        zero_pd_sheet(**kw)
    assert e.value.field == field


def test_with_lgd_replaces_only_lgd() -> None:
    a = simple()
    b = with_lgd(a, 0.7)
    assert b.lgd == 0.7 and b.capital_ratio == a.capital_ratio and a.lgd == 0.4


def test_rate_for_needs_ltv_on_an_ltv_sheet() -> None:
    ltv = [LtvBand({"new": 0.4, "used": 0.5}, None, 0.8)]
    s = compile_rate_sheet(simple(), 0.15, bands=BANDS, pd_by_band={"A": 0, "B": 0, "C": 0},
                           terms=TERMS, ltv_bands=ltv)  # fmt: skip
    with pytest.raises(ValidationError) as e:
        s.rate_for("A", 12, "new")
    assert e.value.field == "ltv"
    with pytest.raises(ValidationError) as e:
        s.rate_for("A", 12, "new", 0.95)
    assert e.value.field == "cell"


@st.composite
def worlds(draw: st.DrawFn) -> tuple[PricingAssumptions, dict[str, float], float, float]:
    short = draw(st.floats(0.0, 0.06))
    slope = draw(st.floats(-0.01, 0.02))
    curve = FundingCurve((12, 60), (short, max(-0.005, short + slope)))
    a = PricingAssumptions(
        Funding(curve),
        lgd=draw(st.floats(0.1, 0.8)),
        opex_origination=draw(st.floats(0, 2000)),
        opex_annual=draw(st.floats(0, 0.01)),
        capital_ratio=draw(st.floats(0.04, 0.15)),
        hurdle_rate=draw(st.floats(0.05, 0.2)),
        tax_rate=draw(st.floats(0, 0.3)),
    )
    pd0 = draw(st.floats(0.001, 0.05))
    steps = draw(st.lists(st.floats(0.0, 0.08), min_size=2, max_size=2))
    pds = {"A": pd0, "B": pd0 + steps[0], "C": pd0 + steps[0] + steps[1]}
    target = draw(st.floats(0.05, 0.25))
    cap = draw(st.floats(0.06, 0.36))
    return a, pds, target, cap


@settings(max_examples=25, deadline=None)
@given(worlds())
def test_property_compiled_sheets_are_monotone_and_meet_the_target(
    world: tuple[PricingAssumptions, dict[str, float], float, float],
) -> None:
    a, pds, target, cap = world
    ltv = [LtvBand({"new": 0.3, "used": 0.45}, None, 0.8), LtvBand({"new": 0.5, "used": 0.6}, 0.8001, 1.3)]
    s = compile_rate_sheet(a, target, bands=BANDS, pd_by_band=pds, terms=TERMS, ltv_bands=ltv,
                           amount={"new": 120_000, "used": 60_000}, legal_cap=cap)  # fmt: skip
    assert is_monotone(s) == []
    for r in s.frame.iter_rows(named=True):
        if r["flags"]:
            assert r["rate"] is None or r["rate"] > cap
            continue
        assert r["rate"] <= cap
        econ = offer_economics(r["amount"], r["rate"], r["term"], r["pd"], with_lgd(a, r["lgd"]))
        assert econ.raroc >= target - 1e-9
        assert r["rate"] >= r["min_rate"] - 1e-12
