"""The ``autofin`` command: JSON in, JSON out, one clear line and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autofin.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EXAMPLES.glob("*.json") if p.name != "apr_request.json")
)
def test_every_example_contract_computes(name: str) -> None:
    code, out, err = _run("contract", str(EXAMPLES / name))
    assert code == 0, err
    data = json.loads(out)
    assert data["kind"] in ("loan", "lease")
    if data["kind"] == "loan":
        assert data["summary"]["total_principal"] == data["summary"]["opening_balance"]
        assert data["schedule"][-1]["balance"] == "0.00"


def test_contract_reads_stdin_and_prints_a_table() -> None:
    request = (EXAMPLES / "balloon_loan.json").read_text()
    code, out, _ = _run("contract", "-", "--table", stdin=request)
    assert code == 0
    assert "cn_irr" in out and "balloon" in out


def test_apr_command_prints_a_decimal_rate() -> None:
    code, out, _ = _run("apr", str(EXAMPLES / "apr_request.json"))
    assert code == 0
    data = json.loads(out)
    assert isinstance(data["apr"], float)
    assert 0 < data["apr"] < 1
    assert data["method"] == "us_regz"


def test_payoff_command_on_the_start_date_is_the_amount_lent() -> None:
    code, out, _ = _run("payoff", str(EXAMPLES / "us_retail_contract.json"), "--on", "2026-12-01")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == "30399.00"
    assert data["interest"] == "0.00"


BAD = [
    ('{"loan_amount": -5, "annual_rate": 0.05, "term": 12, "start_date": "2026-01-01"}', "loan_amount"),
    ('{"loan_amount": 1000, "annual_rate": 0.05, "term": 0, "start_date": "2026-01-01"}', "term"),
    (
        '{"loan_amount": 1000, "annual_rate": 0.05, "term": 12, "start_date": "2026-01-01",'
        ' "balloon": {"amount": 1000}}',
        "balloon",
    ),
    (
        '{"loan_amount": 1000, "annual_rate": 0.05, "term": 12, "start_date": "2026-01-01", "currency": "XYZ"}',
        "currency",
    ),
    (
        '{"loan_amount": 1000, "annual_rate": 0.05, "term": 12, "start_date": "2026-01-01",'
        ' "first_payment_date": "2025-12-01"}',
        "first_payment_date",
    ),
    (
        '{"loan_amount": 1000, "annual_rate": 0.05, "term": 12, "start_date": "2026-01-01", "floating":'
        ' {"path": [{"date": "2026-01-01", "rate": 0.03}], "spread": 0.01, "lifetime_cap": 0.02,'
        ' "lifetime_floor": 0.04}}',
        "floating",
    ),
    ('{"loan_amount": 1000, "annual_rate": 0.05, "term": 12', "input"),
    ("[1, 2]", "input"),
    (
        '{"kind": "lease", "type": "closed_end", "agreed_upon_value": "20000", "term_months": 36, "money_factor": "0.002"}',
        "residual",
    ),
]


@pytest.mark.parametrize(("request_text", "field"), BAD)
def test_bad_contract_input_gives_one_line_naming_the_field(request_text: str, field: str) -> None:
    code, out, err = _run("contract", "-", stdin=request_text)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert field in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("request_text", "field"),
    [
        ('{"advances": [], "payments": [{"date": "2026-02-01", "amount": 10}]}', "advances"),
        (
            '{"advances": [{"date": "2026-01-01", "amount": 100}], "payments": [{"date": "x", "amount": 1}]}',
            "payments[0].date",
        ),
        (
            '{"advances": [{"date": "2026-01-01", "amount": -100}], "payments": [{"date": "2026-02-01", "amount": 1}]}',
            "advances[0].amount",
        ),
        (
            '{"advances": [{"date": "2026-01-01", "amount": 100}], "payments": [{"date": "2026-02-01", "amount": 101}],'
            ' "method": "xx"}',
            "method",
        ),
    ],
)
def test_bad_apr_input_names_the_field(request_text: str, field: str) -> None:
    code, _, err = _run("apr", "-", stdin=request_text)
    assert code == 2
    assert field in err.strip().splitlines()[0]


def test_missing_file_is_a_clear_error() -> None:
    code, _, err = _run("contract", "/nonexistent/request.json")
    assert code == 2
    assert "FILE" in err


def test_console_script_runs_as_a_process() -> None:
    """The installed entry point works end to end (no import-time surprises)."""
    proc = subprocess.run(
        [sys.executable, "-m", "autofin.cli", "contract", "-"],
        input='{"loan_amount": 1000, "annual_rate": 0.05, "term": 0, "start_date": "2026-01-01"}',
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: term:")


def test_demo_runs_end_to_end() -> None:
    """`make run` runs this: every part of it must keep working."""
    code, out, err = _run("demo")
    assert code == 0, err
    assert "等额本息" in out and "Catalogue" in out and "APR" in out
