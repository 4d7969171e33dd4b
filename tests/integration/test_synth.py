"""The synthetic world end to end: reproducible files, schemas on load, the CLI and bad world files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from autofin.cli import app
from autofin.data import synth
from autofin.data.world import default_world_path, load_world, parse_world
from autofin.errors import ValidationError

N = 3_000


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return load_world()


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = synth.synthesize(world, N, 12, seed=11, out=tmp_path / "a", chunk_size=1_000)
    b = synth.synthesize(world, N, 12, seed=11, out=tmp_path / "b", chunk_size=1_000)
    c = synth.synthesize(world, N, 12, seed=12, out=tmp_path / "c", chunk_size=1_000)
    assert a.files == b.files  # the SHA-256 of every partition
    for rel in a.files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert (tmp_path / "a" / "truth.json").read_text() == (tmp_path / "b" / "truth.json").read_text()
    assert a.files["applicants/part-00000.parquet"] != c.files["applicants/part-00000.parquet"]
    assert a.rows["applicants"] == N


def test_tables_load_with_their_schemas_and_ids_are_unique_across_chunks(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    synth.synthesize(world, N, 12, seed=5, out=tmp_path, chunk_size=1_000)
    applicants = synth.load(tmp_path, "applicants")
    assert applicants.height == N
    assert applicants["applicant_id"].n_unique() == N
    loans = synth.load(tmp_path, "loans")
    assert loans["loan_id"].n_unique() == loans.height
    quotes = synth.load(tmp_path, "quotes")
    assert quotes["quote_id"].n_unique() == quotes.height
    assert set(loans["quote_id"].to_list()) <= set(quotes.filter(quotes["taken"])["quote_id"].to_list())
    performance = synth.load(tmp_path, "performance")
    assert set(performance["loan_id"].unique().to_list()) == set(loans["loan_id"].to_list())
    segments = synth.load(tmp_path, "segments")
    assert segments.height == N
    manifest = synth.manifest(tmp_path)
    assert manifest["rows"]["applicants"] == N and manifest["seed"] == 5
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert set(truth["segments"]) == {s.key for s in world.population.segments}
    # the contract of issue 6: services table, attach probabilities and planted gaps in truth.json
    services = synth.load(tmp_path, "services")
    assert services.columns == ["loan_id", "service", "price"]
    assert set(services["loan_id"].to_list()) <= set(loans["loan_id"].to_list())
    assert manifest["rows"]["services"] == services.height > 0
    attach = truth["credit"]["services"]["attach_probability"]
    assert set(attach) == set(truth["segments"])
    assert all(isinstance(p, float) for probs in attach.values() for p in probs.values())
    assert set(services["service"].unique().to_list()) <= set(next(iter(attach.values())))
    assert [g["segment"] for g in truth["population"]["gaps"]] == ["value_used"]
    assert set(truth["population"]["gaps"][0]["need"]) == {"en", "zh-CN"}
    # protected attributes are in their own table, never beside the model inputs
    assert not {"gender", "age_band", "ethnicity"} & set(applicants.columns)


def test_refuses_to_overwrite_a_generated_world(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    synth.synthesize(world, 500, 6, seed=1, out=tmp_path)
    with pytest.raises(ValidationError) as exc:
        synth.synthesize(world, 500, 6, seed=1, out=tmp_path)
    assert exc.value.field == "out"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"applicants": 0}, "applicants"),
        ({"months": 0}, "months"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_name_the_field(world, tmp_path: Path, bad: dict[str, int], field: str) -> None:  # type: ignore[no-untyped-def]
    args = {"applicants": 10, "months": 6, "seed": 1} | bad
    with pytest.raises(ValidationError) as exc:
        synth.synthesize(world, args["applicants"], args["months"], args["seed"], tmp_path)
    assert exc.value.field == field


def test_a_bad_world_file_names_the_field() -> None:
    data = yaml.safe_load(default_world_path().read_text())
    data["world"]["version"] = "one"
    with pytest.raises(ValidationError) as exc:
        parse_world(data)
    assert exc.value.field == "world.version"
    data = yaml.safe_load(default_world_path().read_text())
    data["world"]["currency"] = "XXX"
    with pytest.raises(ValidationError) as exc:
        parse_world(data)
    assert exc.value.field == "currency"


def test_cli_synth_writes_a_world_and_reports_rows(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "data",
            "synth",
            "--applicants",
            "800",
            "--months",
            "6",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "w"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"]["applicants"] == 800
    again = CliRunner().invoke(app, ["data", "synth", "--applicants", "800", "--out", str(tmp_path / "w")])
    assert again.exit_code == 2
    assert again.stderr.startswith("error: out:")
