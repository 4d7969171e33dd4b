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
