"""``autofin segments``: assign, cluster and the profile report, on a small synthetic world."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autofin.cli import app

APPLICANT = Path(__file__).resolve().parents[2] / "examples" / "segments" / "applicant.json"
runner = CliRunner()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from autofin.data.synth import synthesize
    from autofin.data.world import load_world

    out = tmp_path_factory.mktemp("segcli") / "w"
    synthesize(load_world(), applicants=6_000, months=24, seed=5, out=out)
    return out


def test_assign_one_applicant_with_explanations() -> None:
    code, out, err = _run("segments", "assign", str(APPLICANT), "--explain")
    assert code == 0, err
    data = json.loads(out)
    assert data["segments"]["strategy"] == "young_urban"
    assert data["segments"]["credit_tier"] == "thin_file"  # no bureau file
    assert set(data["segments"]["special_needs"]) == {"nev_buyer", "young_driver", "first_time_buyer"}
    assert {e["dimension"] for e in data["explain"]} >= {"strategy", "credit_tier"}


def test_assign_a_list_from_stdin() -> None:
    one = json.loads(APPLICANT.read_text())
    older = one | {"age": 45, "bureau_score": 760, "no_file": False}
    code, out, err = _run("segments", "assign", "-", stdin=json.dumps([one, older]))
    assert code == 0, err
    data = json.loads(out)
    assert [d["segments"]["credit_tier"] for d in data] == ["thin_file", "prime"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("[1]", "input[0]"),
        (json.dumps({"age": 30}), "applicant.customer_type"),  # a field the scheme reads is missing
    ],
)
def test_assign_bad_input_names_the_field(payload: str, field: str) -> None:
    code, _, err = _run("segments", "assign", "-", stdin=payload)
    assert code == 2
    assert err.startswith("error: ") and field in err


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.img_labels: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        if a.get("role") == "img":
            self.img_labels.append(a.get("aria-label") or "")


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "heading"), [("en", "Product fit and gaps"), ("zh-CN", "产品匹配与缺口")])
def test_profile_report_finds_the_planted_gap(world: Path, tmp_path: Path, lang: str, heading: str) -> None:
    page, numbers = tmp_path / "report.html", tmp_path / "report.json"
    code, out, err = _run(
        "segments",
        "profile",
        str(world),
        "--out",
        str(page),
        "--json",
        str(numbers),
        "--sample",
        "150",
        "--lang",
        lang,
    )
    assert code == 0, err
    summary = json.loads(out)
    planted = [g["segment"] for g in json.loads((world / "truth.json").read_text())["population"]["gaps"]]
    # rule segments (strategy) approximate the true ones; the planted gap must still show
    assert summary["gaps"] == planted
    assert "age_band" in summary["proxies_flagged"]
    html = page.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(html)
    assert parser.lang == lang
    assert parser.tags["h1"] == 1 and parser.tags["h2"] >= 9
    assert parser.tags["table"] == parser.tags["caption"]
    assert parser.img_labels and all(label.strip() for label in parser.img_labels)
    assert heading in html
    assert "<script src" not in html.lower()
    data = json.loads(numbers.read_text())
    assert {row["segment"] for row in data["profiles"]["summary"]} == set(summary["segments"])


def test_profile_refuses_a_directory_without_a_world(tmp_path: Path) -> None:
    code, _, err = _run("segments", "profile", str(tmp_path), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "DATA" in err


def test_profile_refuses_a_tags_dimension(world: Path, tmp_path: Path) -> None:
    code, _, err = _run(
        "segments", "profile", str(world), "--out", str(tmp_path / "r.html"), "--dimension", "special_needs"
    )
    assert code == 2 and "--dimension" in err


@pytest.mark.slow
def test_cluster_then_profile_the_learned_segments(world: Path, tmp_path: Path) -> None:
    model, page = tmp_path / "model.json", tmp_path / "learned.html"
    code, out, err = _run("segments", "cluster", str(world), "--out", str(model), "--k", "5")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["k"] == 5 and all(text for text in summary["segments"].values())
    code, out, err = _run(
        "segments", "profile", str(world), "--by", "learned", "--model", str(model), "--out", str(page),
        "--sample", "100",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["segments"] == ["C1", "C2", "C3", "C4", "C5"]
    html = page.read_text(encoding="utf-8")
    for description in summary["segments"].values():
        assert description.split(";")[0].split("(")[0].strip() in html  # each cluster described on the page
