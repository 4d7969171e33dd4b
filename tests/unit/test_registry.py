"""Model registry: versions, roles, audit, data-only storage (autofin.risk.registry) and the CLI."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from autofin.errors import ValidationError
from autofin.risk.behaviour import BEHAVIOUR_FEATURES, BehaviourModel
from autofin.risk.registry import ModelMeta, Registry, default_root, frame_sha256


@pytest.fixture(scope="module")
def model() -> BehaviourModel:
    rng = np.random.default_rng(0)
    n = 400
    x = {f: rng.normal(size=n) for f in BEHAVIOUR_FEATURES}
    z = 1.5 * x["current_dpd"] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int8)
    return BehaviourModel(engine="logistic").fit(pl.DataFrame(x), y)


def _meta(**changes: object) -> ModelMeta:
    base: dict[str, object] = {
        "kind": "behaviour",
        "features": list(BEHAVIOUR_FEATURES),
        "target": "90+ DPD within 12 months",
        "training_data_sha256": "a" * 64,
        "metrics": {"auc_test": 0.7},
    }
    return ModelMeta.model_validate(base | changes)


def test_versions_count_up_and_never_overwrite(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    assert reg.register("beh", model, _meta()) == 1
    first = (tmp_path / "beh" / "1" / "model.json").read_bytes()
    assert reg.register("beh", model, _meta()) == 2
    assert (tmp_path / "beh" / "1" / "model.json").read_bytes() == first
    assert reg.versions("beh") == [1, 2]
    assert not [p for p in (tmp_path / "beh").iterdir() if p.name.startswith(".")]  # no temp dirs left
    meta = reg.meta("beh", 2)
    assert meta.version == 2 and meta.created is not None and meta.model_sha256 is not None
    assert json.loads((tmp_path / "beh" / "2" / "meta.json").read_text())["kind"] == "behaviour"


def test_load_round_trips_predictions(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    v = reg.register("beh", model, _meta())
    X = pl.DataFrame({f: np.linspace(-1, 1, 5) for f in BEHAVIOUR_FEATURES})  # noqa: N806
    np.testing.assert_array_equal(reg.load("beh", v).pd(X), model.pd(X))
    np.testing.assert_array_equal(reg.load("beh", str(v)).pd(X), model.pd(X))


def test_promote_roles_and_audit(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    for _ in range(3):
        reg.register("beh", model, _meta())
    with pytest.raises(ValidationError, match="no champion"):
        reg.load("beh", "champion")
    reg.promote("beh", 1)
    reg.promote("beh", 3, role="challenger", by="analyst")
    assert reg.meta("beh", "champion").version == 1
    assert reg.meta("beh", "challenger").version == 3
    reg.promote("beh", 3)  # the challenger wins: it leaves the challenger role
    roles = reg.roles("beh")
    assert roles["champion"] == 3 and roles["challenger"] is None
    audit = reg.audit("beh")
    assert [(a["role"], a["version"], a["previous"]) for a in audit] == [
        ("champion", 1, None),
        ("challenger", 3, None),
        ("champion", 3, 1),
    ]
    assert audit[1]["by"] == "analyst" and all(a["at"].endswith("+00:00") for a in audit)
    listed = {(e.name, e.version): e.roles for e in reg.list()}
    assert listed == {("beh", 1): (), ("beh", 2): (), ("beh", 3): ("champion",)}
    with pytest.raises(ValidationError, match="role"):
        reg.promote("beh", 2, role="boss")
    with pytest.raises(ValidationError, match="not registered"):
        reg.promote("beh", 9)


def test_refuses_pickles_and_non_json(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(ValidationError, match="pickle"):
        reg.register("beh", pickle.dumps(model), _meta())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="to_json"):
        reg.register("beh", object(), _meta())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="JSON"):
        reg.register("beh", "not json", _meta())
    with pytest.raises(ValidationError, match="format"):
        reg.register("beh", json.dumps({"format": "something else"}), _meta())
    assert reg.versions("beh") == []  # nothing half-written


def test_meta_is_validated(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(ValidationError, match="training_data_sha256"):
        reg.register("beh", model, {**_meta().model_dump(), "training_data_sha256": "abc"})
    with pytest.raises(ValidationError, match="kind"):
        reg.register("beh", model, {**_meta().model_dump(), "kind": "oracle"})
    with pytest.raises(ValidationError, match="parents"):
        reg.register("beh", model, {**_meta().model_dump(), "parents": ["no-version"]})
    assert reg.register("beh", model, _meta(parents=["auto_pd:3"])) == 1
    with pytest.raises(ValidationError, match="name"):
        reg.register("../escape", model, _meta())


def test_tampered_model_is_refused(tmp_path: Path, model: BehaviourModel) -> None:
    reg = Registry(tmp_path)
    v = reg.register("beh", model, _meta())
    path = tmp_path / "beh" / str(v) / "model.json"
    data = json.loads(path.read_text())
    data["model"]["intercept"] += 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match="SHA-256"):
        reg.load("beh", v)
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(ValidationError, match="pickle"):
        reg.load("beh", v)


def test_frame_sha256_depends_on_content_only() -> None:
    a = pl.DataFrame({"x": [1.0, 2.0, None], "s": ["a", None, "c"], "b": [True, False, True]})
    assert frame_sha256(a) == frame_sha256(a.clone())
    assert frame_sha256(a) != frame_sha256(a.with_columns(pl.col("x").fill_null(0.0)))
    assert frame_sha256(a) != frame_sha256(a.reverse())
    assert len(frame_sha256(a)) == 64


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOFIN_MODELS", str(tmp_path))
    assert default_root() == tmp_path and Registry().root == tmp_path
    monkeypatch.delenv("AUTOFIN_MODELS")
    assert default_root() == Path("models")


# --- the CLI (autofin model …), on the bundled German credit data ----------------------------------------------


def test_cli_train_list_promote_validate(tmp_path: Path) -> None:
    pytest.importorskip("autofin.risk.scorecard")
    pytest.importorskip("autofin.risk.report")
    from autofin.cli.model import model_app

    runner = CliRunner()
    reg = ["--registry", str(tmp_path / "models")]
    res = runner.invoke(model_app, ["train", "--data", "german", "--kind", "scorecard", "--name", "g", *reg])
    assert res.exit_code == 0, res.output
    trained = json.loads(res.stdout)
    assert trained["version"] == 1 and 0.7 < trained["metrics"]["auc_test"] < 0.9
    res = runner.invoke(model_app, ["promote", "g", "1", *reg])
    assert res.exit_code == 0 and json.loads(res.stdout)["champion"] == 1
    res = runner.invoke(model_app, ["list", *reg])
    assert json.loads(res.stdout)[0]["roles"] == ["champion"]
    out = tmp_path / "report.html"
    res = runner.invoke(model_app, ["validate", "g", "--out", str(out), *reg])
    assert res.exit_code == 0, res.output
    assert out.read_text().lstrip().lower().startswith("<!doctype html")
    assert json.loads(res.stdout)["models"]["g:1"]["auc"] == pytest.approx(trained["metrics"]["auc_test"])


def test_cli_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    from autofin.cli.model import model_app

    runner = CliRunner()
    reg = ["--registry", str(tmp_path)]
    for args in (
        ["train", "--data", "nowhere", "--name", "x", *reg],
        ["train", "--data", "german", "--kind", "oracle", "--name", "x", *reg],
        ["train", "--data", "german", "--kind", "behaviour", "--name", "x", *reg],
        ["promote", "x", "1", *reg],
        ["validate", "x", "--out", str(tmp_path / "r.html"), *reg],
    ):
        res = runner.invoke(model_app, args)
        assert res.exit_code == 2, (args, res.output)
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ")
