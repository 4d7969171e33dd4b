"""``autofin model …``: train, validate, list and promote credit-risk models in the registry.

The lead mounts :data:`model_app` in ``autofin.cli`` (``app.add_typer(model_app, name="model")``).
Every command prints JSON on success; a bad input prints one line ``error: <field>: <rule> (got …)``
and exits 2. The registry is ``--registry PATH``, else ``$AUTOFIN_MODELS``, else ``./models``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from autofin.cli.io import print_json, run_or_exit, stderr
from autofin.errors import ValidationError

__all__ = ["model_app"]

model_app = typer.Typer(no_args_is_help=True, help="Credit-risk models: train, validate, list, promote.")

RegistryOption = Annotated[
    Path | None,
    typer.Option("--registry", help="registry directory (default $AUTOFIN_MODELS or ./models)"),
]


def _registry(path: Path | None) -> Any:
    from autofin.risk.registry import Registry

    return Registry(path)


def _split(data: str, kind: str) -> Any:
    """``german`` | ``gmsc`` | ``taiwan`` | ``synthetic:DIR`` | ``DIR`` (a generated world)."""
    from autofin.risk import train as tr

    if data.startswith("synthetic:"):
        world = data.removeprefix("synthetic:")
    elif data in tr.PUBLIC_DATASETS:
        if kind == "behaviour":
            raise ValidationError(
                "--data", data, "behaviour models need a synthetic world (performance data)"
            )
        return tr.public_split(data)
    elif (Path(data) / "manifest.json").is_file():
        world = data
    else:
        raise ValidationError(
            "--data",
            data,
            f"must be {', '.join(tr.PUBLIC_DATASETS)}, synthetic:DIR or a generated world directory",
        )
    return tr.behaviour_split(world) if kind == "behaviour" else tr.synthetic_split(world)


@model_app.command("train")
def train_command(
    data: Annotated[
        str, typer.Option("--data", help="german | gmsc | taiwan | synthetic:DIR (or a world DIR)")
    ],
    name: Annotated[str, typer.Option("--name", help="registry name of the model")],
    kind: Annotated[str, typer.Option("--kind", help="scorecard | challenger | behaviour")] = "scorecard",
    promote: Annotated[
        str | None,
        typer.Option("--promote", help="also give the new version this role (champion|challenger)"),
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """Train a model, register it as the next version of NAME and print its metrics."""
    from autofin.risk import train as tr
    from autofin.risk.registry import KINDS, ROLES

    def action() -> None:
        if kind not in KINDS:
            raise ValidationError("--kind", kind, f"must be one of {', '.join(KINDS)}")
        if promote is not None and promote not in ROLES:
            raise ValidationError("--promote", promote, f"must be one of {', '.join(ROLES)}")
        reg = _registry(registry)
        reg._check_name(name)
        with stderr.status(f"training {kind} on {data} …"):
            split = _split(data, kind)
            model, metrics, meta = tr.train(kind, split)
        version = reg.register(name, model, meta)
        if promote is not None:
            reg.promote(name, version, promote)
        print_json(
            {
                "name": name,
                "version": version,
                "kind": kind,
                "features": list(meta.features),
                "metrics": metrics,
            }
        )

    run_or_exit(action)


@model_app.command("validate")
def validate_command(
    name: Annotated[str, typer.Argument(help="registry name")],
    out: Annotated[Path, typer.Option("--out", help="HTML report to write")],
    version: Annotated[
        str, typer.Option("--version", help="version number, champion or challenger")
    ] = "champion",
    registry: RegistryOption = None,
) -> None:
    """Validate a registered model on its own holdout (rebuilt from its meta) and write the HTML report.

    The current champion (when it is another version) is validated beside it for comparison.
    """

    import polars as pl

    from autofin.risk import train as tr
    from autofin.risk.report import validation_report

    def action() -> None:
        reg = _registry(registry)
        meta = reg.meta(name, version)
        if meta.version is None:
            raise ValidationError("meta.version", None, "is missing")
        if not meta.data:
            raise ValidationError(
                f"{name}:{meta.version}", "meta.data", "does not say which data it was trained on"
            )
        split = tr.split_from_spec(meta.data)
        models: dict[str, Any] = {f"{name}:{meta.version}": reg.load(name, meta.version)}
        champion = reg.roles(name).get("champion")
        if champion is not None and champion != meta.version:
            other = reg.meta(name, champion)
            if other.data == meta.data:
                models[f"{name}:{champion}"] = reg.load(name, champion)
        y = split.test[tr.TARGET].to_numpy()
        pds = {label: tr.model_pd(m, split.test.select(split.features)) for label, m in models.items()}
        numeric = [f for f in split.features if split.train.schema[f].is_numeric()]
        dev = split.train.select(numeric).with_columns(
            pl.Series(label, tr.model_pd(m, split.train.select(split.features)))
            for label, m in models.items()
        )
        later = split.test.select(numeric).with_columns(pl.Series(label, p) for label, p in pds.items())
        period = split.period_column
        report = validation_report(
            y,
            pds,
            champion=f"{name}:{champion}" if f"{name}:{champion}" in pds else None,
            dev=dev,
            later=later,
            features=numeric,
            vintages=split.test[period] if period == "vintage" else None,
            title=f"Validation of {name}:{meta.version} ({meta.kind})",
            notes=(
                f"Target: {meta.target.rstrip('.')}.",
                "Holdout: " + ", ".join(f"{k} {v}" for k, v in sorted(meta.data.items())) + ".",
                f"Training data SHA-256: {meta.training_data_sha256}.",
            ),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.to_html(), encoding="utf-8")
        summary = report.to_json()
        print_json(
            {
                "name": name,
                "version": meta.version,
                "out": str(out),
                "n": summary["n"],
                "bad_rate": summary["bad_rate"],
                "models": {
                    m["name"]: {"auc": m["auc"], "gini": m["gini"], "ks": m["ks"]["statistic"]}
                    for m in summary["models"]
                },
            }
        )

    run_or_exit(action)


@model_app.command("list")
def list_command(
    name: Annotated[str | None, typer.Argument(help="only this model")] = None,
    registry: RegistryOption = None,
) -> None:
    """Every registered version: name, version, kind, created, roles, holdout AUC."""

    def action() -> None:
        rows = [
            {
                "name": e.name,
                "version": e.version,
                "kind": e.kind,
                "created": e.created.isoformat(),
                "roles": list(e.roles),
                "auc_test": e.metrics.get("auc_test"),
            }
            for e in _registry(registry).list(name)
        ]
        print_json(rows)

    run_or_exit(action)


@model_app.command("promote")
def promote_command(
    name: Annotated[str, typer.Argument(help="registry name")],
    version: Annotated[int, typer.Argument(help="version to promote")],
    role: Annotated[str, typer.Option("--role", help="champion | challenger")] = "champion",
    registry: RegistryOption = None,
) -> None:
    """Give a version the champion (default) or challenger role; the promotion is logged."""

    def action() -> None:
        reg = _registry(registry)
        reg.promote(name, version, role)
        roles = reg.roles(name)
        print_json(
            {
                "name": name,
                "champion": roles["champion"],
                "challenger": roles["challenger"],
                "audit": roles["audit"][-1],
            }
        )

    run_or_exit(action)
