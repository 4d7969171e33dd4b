"""``autofin pricing …``: the cost build-up of one offer, and the pricing report.

* ``autofin pricing buildup FILE|-``: an offer with its pricing assumptions (``examples/pricing/offer.json``)
  → NPV, RAROC and the waterfall, and the minimum rate for ``target_raroc`` when given (JSON, or
  ``--table`` for people).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from autofin.cli.io import print_json, read_json, run_or_exit

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
