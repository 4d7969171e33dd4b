"""``autofin pricing``: the build-up of one offer from JSON; errors name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autofin.cli import app

OFFER = Path(__file__).resolve().parents[2] / "examples" / "pricing" / "offer.json"
runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_buildup_of_the_example_offer() -> None:
    code, out, err = _run("pricing", "buildup", str(OFFER))
    assert code == 0, err
    data = json.loads(out)
    lines = {ln["line"]: ln for ln in data["offer"]["waterfall"]}
    # the waterfall adds up to the NPV, and the customer-rate line is the rate itself in bp
    assert sum(ln["pv"] for name, ln in lines.items() if name != "net_margin") == pytest.approx(
        data["offer"]["npv"], abs=0.05
    )
    assert lines["customer_rate"]["bp"] == pytest.approx(499.0, abs=0.01)
    # 4.99 % with dealer pay and a 12 % hurdle loses money here; the minimum rate earns exactly the hurdle
    assert data["offer"]["negative_return"] is True
    floor = data["minimum_rate"]
    assert floor["rate"] > 0.0499
    assert floor["economics"]["raroc"] == pytest.approx(0.12, abs=1e-6)
    assert floor["economics"]["npv"] == pytest.approx(0.0, abs=0.01)


def test_buildup_table_for_people() -> None:
    code, out, err = _run("pricing", "buildup", str(OFFER), "--table")
    assert code == 0, err
    assert "capital_charge" in out and "minimum rate for RAROC 12.00 %" in out


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"assumptions": {"lgd": 1.5}}, "assumptions.lgd"),
        ({"term_months": 0}, "term_months"),
        ({"rate": None, "target_raroc": None}, "rate"),
    ],
)
def test_buildup_bad_input_names_the_field(change: dict[str, object], field: str) -> None:
    data = json.loads(OFFER.read_text())
    for key, value in change.items():
        if isinstance(value, dict):
            data[key] = data[key] | value
        else:
            data[key] = value
    code, _, err = _run("pricing", "buildup", "-", stdin=json.dumps(data))
    assert code == 2
    assert err.startswith("error: ") and field.split(".")[0] in err


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from autofin.data.synth import synthesize
    from autofin.data.world import load_world

    out = tmp_path_factory.mktemp("pricingcli") / "w"
    synthesize(load_world(), applicants=20_000, months=36, seed=11, out=out)
    return out


@pytest.mark.slow
def test_pricing_report_on_a_world(world: Path, tmp_path: Path) -> None:
    page, numbers = tmp_path / "pricing.html", tmp_path / "pricing.json"
    code, out, err = _run("pricing", "report", str(world), "--out", str(page), "--json", str(numbers))
    assert code == 0, err
    summary = json.loads(out)
    assert summary["optimisation"]["success"] is True
    # the optimised sheet keeps today's volume and earns at least as much as today's rates
    opt = summary["optimisation"]
    assert opt["volume_optimised"] >= opt["volume_current"] * (1 - 1e-6)
    assert opt["profit_optimised"] >= opt["profit_current"]
    data = json.loads(numbers.read_text())
    # the compiled sheet is monotone: within a term and condition, rates never fall as risk rises
    bands = ["super_prime", "prime", "near_prime", "subprime", "deep_subprime"]
    cells = [c for c in data["sheet"] if c["rate"] is not None]
    for term in {c["term"] for c in cells}:
        for cond in ("new", "used"):
            rates = [
                c["rate"]
                for b in bands
                for c in cells
                if c["band"] == b and c["term"] == term and c["condition"] == cond
            ]
            assert rates == sorted(rates)
    html = page.read_text(encoding="utf-8")
    for heading in ("Build-up of one offer", "Rate sheet", "Price optimisation"):
        assert heading in html
    assert "<script src" not in html.lower()


def test_pricing_report_refuses_bad_assumptions(world: Path, tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text("lgd: 2\n")
    code, _, err = _run(
        "pricing", "report", str(world), "--out", str(tmp_path / "p.html"), "--assumptions", str(bad)
    )
    assert code == 2 and "funding" in err
