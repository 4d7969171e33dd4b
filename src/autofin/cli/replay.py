"""``autofin replay FILE|-``: replay decision records bit for bit, or test a strategy change on them.

Input: JSON Lines — one decision record (:meth:`autofin.decision.engine.Decision.to_dict`, as
``autofin decide`` prints it) or one application per line; blank lines are skipped.

* ``--check``: replay every record with the baseline engine (the demo catalogue and the registry's
  champion application model) and print, per record, whether it reproduced; exit status 1 if any did
  not (with the differing JSON paths), 2 on bad input (e.g. a record made with other versions).
* otherwise: compare the baseline with a candidate built from ``--policy DIR``, ``--catalogue DIR``,
  ``--assumptions FILE`` and/or ``--model name:version`` (at least one) and print the
  :class:`~autofin.decision.replay.ReplayDiff` as JSON, or with ``--table`` a readable summary.

Models come from the registry ``--models`` (default ``$AUTOFIN_MODELS`` or ``./models``); the baseline's
is the champion ``pd-application`` (trained on a seeded synthetic world first when the registry has
none). The lead mounts :func:`replay_command` on the ``autofin`` app. Guide: docs/decisions-replay.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from autofin.cli.io import print_json, run_or_exit, stderr
from autofin.errors import ValidationError

if TYPE_CHECKING:
    from autofin.decision.engine import DecisionEngine, Scorer

#: The registry name of the application model (:data:`autofin.decision.scoring.DEMO_MODEL_NAME`).
MODEL_NAME = "pd-application"


def read_jsonl(source: str) -> list[Any]:
    """The JSON values of a JSON Lines file (or standard input for ``-``), blank lines skipped; a bad
    line is named ``input.line<N>`` (1-based)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError("FILE", source, f"cannot be read ({exc.strerror})") from None
    items: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"input.line{number}", line[:40], f"is not valid JSON: {exc.msg} (one JSON value per line)"
            ) from None
    if not items:
        raise ValidationError("input", source, "holds no records or applications (JSON Lines expected)")
    return items


def parse_model_ref(text: str) -> tuple[str, int | str]:
    """``"pd-application:3"`` → (name, 3); the version may also be ``champion`` or ``challenger``."""
    name, sep, version = text.rpartition(":")
    if not sep or not name or not (version.isdigit() or version in ("champion", "challenger")):
        raise ValidationError(
            "--model", text, "must be 'name:version' (version a number, champion or challenger)"
        )
    return name, int(version) if version.isdigit() else version


def load_scorer(models: Path | None, model: str | None) -> Scorer:
    """The application scorer: ``model`` (``name:version``) from the registry ``models``, or the
    registry's champion demo model (trained and registered first when missing)."""
    from autofin.decision.scoring import ApplicationScorer, demo_scorer
    from autofin.risk.registry import Registry

    if model is not None:
        name, version = parse_model_ref(model)
        return ApplicationScorer.from_registry(Registry(models), name, version)
    registry = Registry(models)
    if MODEL_NAME not in registry.names():
        stderr.print("training the demo application model on a seeded synthetic world (once) …")
    return demo_scorer(registry)


def build_engine(
    scorer: Scorer,
    *,
    catalogue: Path | None = None,
    policy: Path | None = None,
    assumptions: Path | None = None,
) -> DecisionEngine:
    """A decision engine from files (defaults: the bundled demo catalogue, its policy and assumptions)."""
    from autofin.decision.engine import DecisionEngine

    for option, path, kind in (
        ("--catalogue", catalogue, "dir"),
        ("--policy", policy, "dir"),
        ("--assumptions", assumptions, "file"),
    ):
        if path is not None and not (path.is_dir() if kind == "dir" else path.is_file()):
            raise ValidationError(
                option, str(path), f"must be an existing {'directory' if kind == 'dir' else 'file'}"
            )
    return DecisionEngine.load(
        scorer, catalogue_dir=catalogue, policy_dir=policy, assumptions_path=assumptions
    )


def _check(engine: DecisionEngine, items: list[Any], table: bool) -> bool:
    from autofin.decision.replay import replay_record

    checks = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "version_digest" not in item:
            raise ValidationError(f"input[{index}]", type(item).__name__, "--check needs decision records")
        checks.append(replay_record(engine, item))
    bad = [c for c in checks if not c.identical]
    if table:
        for c in checks:
            status = "identical" if c.identical else f"DIFFERS at {', '.join(c.differences)}"
            sys.stdout.write(f"{c.application_id or '—'}: {status}\n")
        sys.stdout.write(f"{len(checks) - len(bad)} of {len(checks)} records reproduced bit for bit\n")
    else:
        print_json(
            {
                "records": len(checks),
                "identical": len(checks) - len(bad),
                "not_identical": len(bad),
                "results": [c.to_dict() for c in checks],
            }
        )
    return not bad


def replay_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="JSON Lines of decision records or applications")
    ],
    check: Annotated[
        bool,
        typer.Option("--check", help="replay each record with the baseline; exit 1 unless all identical"),
    ] = False,
    policy: Annotated[Path | None, typer.Option("--policy", help="candidate policy tables directory")] = None,
    catalogue: Annotated[
        Path | None, typer.Option("--catalogue", "--catalog", help="candidate catalogue directory")
    ] = None,
    assumptions: Annotated[
        Path | None, typer.Option("--assumptions", help="candidate pricing assumptions YAML")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="candidate application model, name:version in the registry")
    ] = None,
    models: Annotated[
        Path | None, typer.Option("--models", help="model registry (default $AUTOFIN_MODELS or ./models)")
    ] = None,
    lgd: Annotated[
        float | None,
        typer.Option("--lgd", help="loss given default (0-1) for an engine without pricing assumptions"),
    ] = None,
    takeup: Annotated[
        Path | None,
        typer.Option("--takeup", help="take-up model JSON (TakeupModel.to_dict) for expected bookings"),
    ] = None,
    table: Annotated[bool, typer.Option("--table", help="print a readable summary instead of JSON")] = False,
) -> None:
    """Replay decisions bit for bit (--check), or compare a candidate strategy with the baseline."""
    ok = True

    def action() -> None:
        nonlocal ok
        from autofin.cli.io import read_json
        from autofin.decision.replay import TakeupFn, compare, takeup_from_model

        if model is not None:
            parse_model_ref(model)  # before any model is loaded or trained
        if lgd is not None and not 0.0 <= lgd <= 1.0:
            raise ValidationError("--lgd", lgd, "must be a fraction in [0, 1]")
        items = read_jsonl(source)
        if check:
            if any(x is not None for x in (policy, catalogue, assumptions, model)):
                raise ValidationError(
                    "--check", True, "replays with the baseline only; drop the candidate options"
                )
            ok = _check(build_engine(load_scorer(models, None)), items, table)
            return
        if all(x is None for x in (policy, catalogue, assumptions, model)):
            raise ValidationError(
                "candidate",
                None,
                "give at least one of --policy, --catalogue, --assumptions, --model (or --check)",
            )
        takeup_fn: TakeupFn | None = None
        if takeup is not None:
            from autofin.pricing.takeup import TakeupModel

            data = read_json(str(takeup))
            if not isinstance(data, dict):
                raise ValidationError("--takeup", str(takeup), "must be a take-up model JSON object")
            takeup_fn = takeup_from_model(TakeupModel.from_dict(data))
        base_scorer = load_scorer(models, None)
        baseline = build_engine(base_scorer)
        candidate = build_engine(
            base_scorer if model is None else load_scorer(models, model),
            catalogue=catalogue,
            policy=policy,
            assumptions=assumptions,
        )
        diff = compare(_progress(items), baseline, candidate, lgd=lgd, takeup=takeup_fn)
        if table:
            sys.stdout.write(diff.to_table() + "\n")
        else:
            print_json(diff.to_dict())

    run_or_exit(action)
    if not ok:
        raise typer.Exit(1)


def _progress(items: list[Any]) -> Any:
    """The items, with a progress bar on standard error (a comparison takes a while)."""
    from rich.progress import track

    return track(items, description="deciding", console=stderr, transient=True)
