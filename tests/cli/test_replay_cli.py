"""``autofin replay``: records replay bit for bit (``--check``); a candidate strategy is compared with
the baseline; bad input is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import autofin.cli.replay as replay_cli
from decision_support import BureauScorer, shifted_cutoffs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "decisions"
DECIDED = ("approve", "counter_offer", "decline")
runner = CliRunner()

app = typer.Typer(add_completion=False)


@app.callback()
def _root() -> None:
    """The command as the lead mounts it: ``autofin replay``."""


app.command("replay")(replay_cli.replay_command)


@pytest.fixture(autouse=True)
def _fake_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(models: Path | None, model: str | None) -> BureauScorer:
        if model is not None:
            replay_cli.parse_model_ref(model)
        return BureauScorer(model or "pd-application:1")

    monkeypatch.setattr(replay_cli, "load_scorer", load)


def _app(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    engine = replay_cli.build_engine(BureauScorer("pd-application:1"))
    return [engine.decide(_app(n)).to_dict() for n in DECIDED]


def _jsonl(path: Path, rows: list[Any]) -> str:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    return str(path)


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["replay", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _raised_policy(tmp_path: Path, points: int = 100) -> str:
    return str(shifted_cutoffs(tmp_path, points))


def test_check_replays_every_record(records: list[dict[str, Any]], tmp_path: Path) -> None:
    code, out, err = _run(_jsonl(tmp_path / "d.jsonl", records), "--check")
    assert code == 0, err
    data = json.loads(out)
    assert data["records"] == data["identical"] == 3 and data["not_identical"] == 0
    assert all(r["original_digest"] == r["replay_digest"] for r in data["results"])


def test_check_reads_stdin_and_prints_a_table(records: list[dict[str, Any]]) -> None:
    stdin = "\n".join(json.dumps(r) for r in records)
    code, out, err = _run("-", "--check", "--table", stdin=stdin)
    assert code == 0, err
    assert "demo-approve-0001: identical" in out
    assert "3 of 3 records reproduced bit for bit" in out


def test_check_exits_1_on_a_record_that_does_not_reproduce(
    records: list[dict[str, Any]], tmp_path: Path
) -> None:
    tampered = json.loads(json.dumps(records[0]))
    tampered["offers"][0]["monthly_payment"] = "1.00"
    code, out, _ = _run(_jsonl(tmp_path / "d.jsonl", [tampered, records[1]]), "--check")
    assert code == 1
    data = json.loads(out)
    assert data["not_identical"] == 1
    assert data["results"][0]["differences"] == ["$.offers[0].monthly_payment"]


def test_check_refuses_a_record_of_other_versions(records: list[dict[str, Any]], tmp_path: Path) -> None:
    other = dict(records[0], version_digest="0" * 64)
    code, _, err = _run(_jsonl(tmp_path / "d.jsonl", [other]), "--check")
    assert code == 2
    assert err.startswith("error: versions:") and len(err.strip().splitlines()) == 1


def test_compare_a_raised_cutoff(records: list[dict[str, Any]], tmp_path: Path) -> None:
    rows = [*records, _app("counter_offer")]
    code, out, err = _run(_jsonl(tmp_path / "d.jsonl", rows), "--policy", _raised_policy(tmp_path))
    assert code == 0, err
    data = json.loads(out)
    assert data["applications"] == 4
    assert data["baseline_reused"] == 3
    assert sum(n for row in data["transitions"].values() for n in row.values()) == 4
    assert data["candidate"]["approval_rate"] < data["baseline"]["approval_rate"]
    assert data["transitions"]["approve"]["approve"] == 0
    assert data["n_changed"] >= 1


def test_compare_table_and_a_candidate_model(records: list[dict[str, Any]], tmp_path: Path) -> None:
    code, out, err = _run(_jsonl(tmp_path / "d.jsonl", records), "--model", "pd-application:2", "--table")
    assert code == 0, err
    assert "approval rate" in out and "transitions" in out


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((), "error: candidate:"),
        (("--model", "pd-application"), "error: --model:"),
        (("--policy", "/nonexistent/policy"), "error: --policy:"),
        (("--check", "--policy", "x"), "error: --check:"),
    ],
)
def test_bad_options_are_one_line(
    records: list[dict[str, Any]], tmp_path: Path, args: tuple[str, ...], field: str
) -> None:
    code, _, err = _run(_jsonl(tmp_path / "d.jsonl", records[:1]), *args)
    assert code == 2
    assert err.startswith(field) and len(err.strip().splitlines()) == 1


def test_bad_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{not json\n')
    code, _, err = _run(str(path), "--check")
    assert code == 2
    assert err.startswith("error: input.line2:")
    code, _, err = _run(str(tmp_path / "missing.jsonl"), "--check")
    assert code == 2 and err.startswith("error: FILE:")
