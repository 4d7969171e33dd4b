"""``autofin pricing …``: the cost build-up of one offer, and the pricing report.

* ``autofin pricing buildup FILE|-``: an offer with its pricing assumptions (``examples/pricing/offer.json``)
  → NPV, RAROC and the waterfall, and the minimum rate for ``target_raroc`` when given (JSON, or
  ``--table`` for people).
* ``autofin pricing report DATA --out pricing.html``: on a world's data, band PDs from history, a rate
  sheet compiled at the target RAROC, one offer's build-up and an optimisation against today's rates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from autofin.cli.io import print_json, read_json, run_or_exit, stderr

pricing_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Pricing: cost build-up, RAROC, rate sheets and price optimisation.",
)


@pricing_app.callback()
def _pricing() -> None:
    """Pricing: cost build-up, RAROC, rate sheets and price optimisation."""


def _buildup(data: Any) -> dict[str, Any]:
    from autofin.pricing.buildup import minimum_rate, offer_economics
    from autofin.pricing.spec import economics_json, parse_offer

    offer = parse_offer(data)
    a = offer.assumptions.build()
    pd = offer.pd if isinstance(offer.pd, float) else tuple(offer.pd)
    out: dict[str, Any] = {}
    kw: dict[str, Any] = {"balloon": offer.balloon, "markup": offer.markup, "fee": offer.fee}
    if offer.rate is not None:
        out["offer"] = economics_json(
            offer_economics(offer.amount, offer.rate, offer.term_months, pd, a, **kw)
        )
    if offer.target_raroc is not None:
        floor = minimum_rate(offer.amount, offer.term_months, pd, a, offer.target_raroc, **kw)
        out["minimum_rate"] = {
            "target_raroc": offer.target_raroc,
            "rate": round(floor, 6),
            "economics": economics_json(offer_economics(offer.amount, floor, offer.term_months, pd, a, **kw)),
        }
    return out


@pricing_app.command("buildup")
def buildup(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="offer + assumptions JSON, - for stdin")],
    table: Annotated[bool, typer.Option("--table", help="print the waterfall for people")] = False,
) -> None:
    """NPV, RAROC and the cost build-up of one offer; the minimum rate for a target RAROC."""

    def action() -> None:
        result = _buildup(read_json(source))
        if not table:
            print_json(result)
            return
        console = Console()
        for title, econ in (
            ("offer", result.get("offer")),
            ("at the minimum rate", result.get("minimum_rate", {}).get("economics")),
        ):
            if econ is None:
                continue
            t = Table(title=f"Build-up {title}: NPV {econ['npv']:,.2f}, RAROC {100 * econ['raroc']:.2f} %")
            t.add_column("line")
            t.add_column("PV (currency)", justify="right")
            t.add_column("bp p.a.", justify="right")
            for ln in econ["waterfall"]:
                t.add_row(ln["line"], f"{ln['pv']:,.2f}", f"{ln['bp']:,.1f}")
            console.print(t)
        if "minimum_rate" in result:
            m = result["minimum_rate"]
            console.print(f"minimum rate for RAROC {100 * m['target_raroc']:.2f} %: {100 * m['rate']:.3f} %")

    run_or_exit(action)


@pricing_app.command("report")
def report(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="world directory (autofin data synth)")],
    out: Annotated[Path, typer.Option("--out", help="where to write the HTML report")],
    assumptions: Annotated[
        Path | None,
        typer.Option(
            "--assumptions", help="pricing assumptions YAML/JSON (default: catalog/pricing/assumptions.yaml)"
        ),
    ] = None,
    target_raroc: Annotated[
        float | None, typer.Option("--target-raroc", help="RAROC the sheet must earn (default: the hurdle)")
    ] = None,
    cap: Annotated[float, typer.Option("--cap", help="legal cap, annual decimal")] = 0.24,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the numbers as JSON")] = None,
) -> None:
    """Band PDs, a compiled rate sheet, one offer's build-up and an optimisation run, as an HTML page."""
    import yaml

    from autofin.catalog.loader import default_catalogue_dir
    from autofin.errors import ValidationError
    from autofin.pricing.analysis import world_pricing_run
    from autofin.pricing.report import pricing_report
    from autofin.pricing.spec import economics_json, parse_assumptions

    def action() -> None:
        source = (
            assumptions
            if assumptions is not None
            else default_catalogue_dir() / "pricing" / "assumptions.yaml"
        )
        try:
            raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError("--assumptions", str(source), f"cannot be read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ValidationError("--assumptions", str(source), f"is not valid YAML/JSON: {exc}") from None
        with stderr.status("pricing the world (rate sheet, take-up model, optimisation)"):
            run = world_pricing_run(data, parse_assumptions(raw), target_raroc=target_raroc, cap=cap)
        page = pricing_report(
            offer=run.offer,
            offer_label=run.offer_label,
            sheet=run.sheet,
            optimisation=run.optimisation,
            notes=run.notes,
        )
        out.write_text(page, encoding="utf-8")
        opt = run.optimisation
        summary = {
            "report": str(out),
            "sheet_cells": run.sheet.frame.height,
            "sheet_flagged": run.sheet.flagged.height,
            "offer": {"npv": round(run.offer.npv, 2), "raroc": round(run.offer.raroc, 6)},
            "optimisation": {
                "success": opt.success,
                "profit_current": None if opt.baseline is None else round(opt.baseline.profit, 2),
                "profit_optimised": round(opt.report.profit, 2),
                "lift": round(opt.lift, 2),
                "volume_current": None if opt.baseline is None else round(opt.baseline.volume, 1),
                "volume_optimised": round(opt.report.volume, 1),
            },
            "notes": list(run.notes),
        }
        if json_out is not None:
            payload = {
                "band_pd": run.band_pd.to_dicts(),
                "sheet": run.sheet.frame.with_columns(pl.col("flags").list.join(",")).to_dicts(),
                "offer": economics_json(run.offer),
                "optimisation": opt.to_dict(),
            }
            json_out.write_text(
                json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
        print_json(summary)

    run_or_exit(action)
