"""``autofin segments …``: assign rule segments, learn clusters, and write the profile report.

* ``autofin segments assign FILE|-``: one applicant (a JSON object) or a list of them → their rule
  segments per dimension, as JSON (``--explain`` adds the condition that matched each).
* ``autofin segments cluster DATA --out model.json``: learn segments from a world directory and save
  the model as data (``--reference`` keeps the labels of an earlier model).
* ``autofin segments profile DATA --out report.html``: profile a world's segments (rule segments by
  default; ``--by learned`` or ``--by truth``), with the segment × product fit matrix over the
  catalogue and the proxy check, as an HTML page (``--json`` also writes the numbers).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from autofin.cli.io import print_json, read_json, run_or_exit, stderr
from autofin.errors import ValidationError

segments_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Customer segments: rule segments, learned clusters, need profiles and product fit.",
)

_BY_HELP = "rules (the scheme's --dimension), learned (clusters fitted here), truth (a synthetic world's)"


@segments_app.callback()
def _segments() -> None:
    """Customer segments: rule segments, learned clusters, need profiles and product fit."""


@segments_app.command("assign")
def assign(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="applicant JSON (object or list), - for stdin")
    ],
    scheme: Annotated[
        Path | None, typer.Option("--scheme", help="segment scheme YAML (default: the demo)")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="show the condition that matched")] = False,
) -> None:
    """Rule segments of one applicant or a list of applicants."""
    from autofin.segments.rules import load_scheme

    def action() -> None:
        rules = load_scheme(scheme)
        data = read_json(source)
        items = data if isinstance(data, list) else [data]
        out: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValidationError(
                    f"input[{i}]", type(item).__name__, "must be a JSON object (an applicant)"
                )
            row: dict[str, Any] = {"segments": rules.assign(item)}
            if explain:
                row["explain"] = [
                    {"dimension": d, "segment": s, "condition": c} for d, s, c in rules.explain(item)
                ]
            out.append(row)
        print_json(out if isinstance(data, list) else out[0])

    run_or_exit(action)


def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("--as-of", text, "must be an ISO date YYYY-MM-DD") from None


@segments_app.command("cluster")
def cluster(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="world directory (autofin data synth)")],
    out: Annotated[Path, typer.Option("--out", help="where to write the model (JSON)")],
    k: Annotated[
        int | None, typer.Option("--k", help="number of clusters (default: chosen from the data)")
    ] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", help="an earlier model whose labels to keep")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="random state")] = 0,
) -> None:
    """Learn segments from a world's applicants and save the model as JSON."""
    from autofin.segments.features import load_applicant_frame
    from autofin.segments.learned import SegmentModel

    def action() -> None:
        frame = load_applicant_frame(data)
        ref = SegmentModel.from_dict(read_json(str(reference))) if reference is not None else None
        with stderr.status(f"clustering {frame.height:,} applicants"):
            model = SegmentModel(n_clusters=k, random_state=seed).fit(frame, reference=ref)
        out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        print_json({"k": len(model.describe()), "segments": model.describe(), "model": str(out)})

    run_or_exit(action)


def _labelling(
    by: str, data: Path, frame: pl.DataFrame, dimension: str, scheme: Path | None, model: Path | None
) -> tuple[pl.DataFrame, dict[str, str], str]:
    """(applicant_id, segment), segment descriptions, and the labelling's name."""
    if by == "rules":
        from autofin.segments.rules import load_scheme

        rules = load_scheme(scheme)
        assigned = rules.assign_frame(frame, tag_columns=False)
        column = f"seg_{dimension}"
        if column not in assigned.columns:
            raise ValidationError("--dimension", dimension, "must be an exclusive dimension of the scheme")
        if assigned.schema[column] == pl.List(pl.String):
            raise ValidationError("--dimension", dimension, "must be an exclusive dimension, not tags")
        seg = assigned.select("applicant_id", pl.col(column).cast(pl.String).alias("segment"))
        return seg, {}, f"rule segments: {dimension}"
    if by == "learned":
        from autofin.segments.learned import SegmentModel

        if model is not None:
            fitted = SegmentModel.from_dict(read_json(str(model)))
        else:
            fitted = SegmentModel(random_state=0).fit(frame)
        seg = frame.select("applicant_id").with_columns(fitted.predict_labels(frame).alias("segment"))
        return seg, dict(fitted.describe()), "learned segments"
    if by == "truth":
        from autofin.data.synth import load

        return load(data, "truth/segments"), {}, "true segments of the synthetic world"
    raise ValidationError("--by", by, "must be rules, learned or truth")


@segments_app.command("profile")
def profile(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="world directory (autofin data synth)")],
    out: Annotated[Path, typer.Option("--out", help="where to write the HTML report")],
    by: Annotated[str, typer.Option("--by", help=_BY_HELP)] = "rules",
    dimension: Annotated[str, typer.Option("--dimension", help="rule dimension to profile")] = "strategy",
    scheme: Annotated[Path | None, typer.Option("--scheme", help="segment scheme YAML")] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="a saved learned model (--by learned)")
    ] = None,
    catalog_dir: Annotated[Path | None, typer.Option("--catalog", help="catalogue directory")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="catalogue date, YYYY-MM-DD (default today)")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", help="applicants per segment for the fit matrix")] = 600,
    no_fit: Annotated[bool, typer.Option("--no-fit", help="skip the fit matrix")] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh-CN")] = "en",
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the numbers as JSON")] = None,
) -> None:
    """Profile a world's segments and write the HTML report."""
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue
    from autofin.data.synth import load
    from autofin.segments.features import applicant_frame
    from autofin.segments.fit import fit_matrix
    from autofin.segments.guardrail import proxy_check
    from autofin.segments.profiles import profile_world
    from autofin.segments.report import LANGUAGES, segment_report

    def action() -> None:
        if lang not in LANGUAGES:
            raise ValidationError("--lang", lang, "must be en or zh-CN")
        if not (data / "manifest.json").is_file():
            raise ValidationError("DATA", str(data), "holds no generated world (manifest.json missing)")
        day = _day(as_of)
        with stderr.status("reading the world") as status:
            tables = {t: load(data, t) for t in ("applicants", "bureau", "vehicles")}
            frame = applicant_frame(tables)
            status.update(f"segmenting {frame.height:,} applicants ({by})")
            seg, descriptions, name = _labelling(by, data, frame, dimension, scheme, model)
            status.update("profiling")
            profiles = profile_world(data, seg)
            fit = None
            if not no_fit:
                status.update("fit matrix over the catalogue")
                catalogue = load_catalogue(
                    catalog_dir if catalog_dir is not None else default_catalogue_dir()
                )
                fit = fit_matrix(frame, seg, catalogue, day, sample_per_segment=sample)
            status.update("proxy check")
            proxy = proxy_check(seg, load(data, "protected"), labelling=name)
            page = segment_report(
                profiles,
                fit=fit,
                proxy=proxy,
                descriptions=descriptions,
                labelling=name,
                lang=lang,  # type: ignore[arg-type]
            )
        out.write_text(page, encoding="utf-8")
        if json_out is not None:
            payload = {
                "labelling": name,
                "profiles": profiles.to_dict(),
                "fit": fit.to_dict() if fit is not None else None,
                "proxy": proxy.to_dict(),
                "descriptions": descriptions,
            }
            json_out.write_text(
                json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
        print_json(
            {
                "report": str(out),
                "segments": profiles.summary["segment"].to_list(),
                "gaps": [g.segment for g in fit.gaps] if fit is not None else None,
                "proxies_flagged": list(proxy.flagged),
            }
        )

    run_or_exit(action)
