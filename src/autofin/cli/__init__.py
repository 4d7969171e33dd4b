"""The ``autofin`` command: a thin shell over the library (I/O only; the maths lives in the packages).

Sub-commands live beside this module: ``catalog`` (catalogue checks), ``quote``, ``model`` (risk
models); ``io`` holds the shared edges (read JSON, print JSON, one-line errors).

Every command reads JSON from a file or ``-`` (standard input), prints JSON on success, and on any
bad input prints one line ``error: <field>: <rule> (got <value>)`` to standard error and exits 2.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from autofin.cli.catalog import catalog_app
from autofin.cli.decide import decide_command
from autofin.cli.evaluate import evaluate_command
from autofin.cli.io import print_json, read_json, run_or_exit, stderr
from autofin.cli.model import model_app
from autofin.cli.pricing import pricing_app
from autofin.cli.quote import quote_command
from autofin.cli.replay import replay_command
from autofin.cli.segments import segments_app
from autofin.cli.serve import serve_command
from autofin.cli.store import audit_app, db_app
from autofin.errors import ValidationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="autofin: auto finance — contracts, product catalogue, data, risk and decisions.",
)


@app.command()
def contract(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="contract request JSON, or - for stdin")],
    table: Annotated[bool, typer.Option("--table", help="print for people instead of JSON")] = False,
) -> None:
    """Compute a contract: schedule, totals and disclosures."""
    from autofin.finance.contract import compute_contract

    def action() -> None:
        result = compute_contract(read_json(source))
        if table:
            _print_table(result)
        else:
            print_json(result)

    run_or_exit(action)


@app.command()
def apr(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="cash flows JSON, or - for stdin")],
) -> None:
    """APR / annualised rate / APRC of dated cash flows: {"advances": [...], "payments": [...], "method"}."""
    from autofin.finance.contract import compute_apr_request

    run_or_exit(lambda: print_json(compute_apr_request(read_json(source))))


@app.command()
def payoff(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="loan request JSON, or - for stdin")],
    on: Annotated[str, typer.Option("--on", help="settlement date, YYYY-MM-DD")],
    next_due: Annotated[bool, typer.Option("--next-due", help="charge the whole current period")] = False,
) -> None:
    """Payoff quote of a loan on a date."""
    from autofin.finance.contract import jsonable
    from autofin.finance.payoff import InterestTo, payoff_quote
    from autofin.finance.schedule import build_schedule
    from autofin.finance.terms import parse_terms

    def action() -> None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise ValidationError("--on", on, "must be an ISO date (YYYY-MM-DD)") from None
        data = read_json(source)
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in ("kind", "disclosures")}
        quote = payoff_quote(
            build_schedule(parse_terms(data)), day, InterestTo.NEXT_DUE if next_due else InterestTo.DATE
        )
        print_json({**jsonable(quote), "total": str(quote.total)})

    run_or_exit(action)


@app.command()
def demo() -> None:
    """Show the engine on one car: the same price as five differently shaped contracts."""
    from autofin.demo import run_demo

    run_demo(Console())


data_app = typer.Typer(no_args_is_help=True, help="Synthetic world and public credit data.")
app.add_typer(data_app, name="data")
app.add_typer(catalog_app, name="catalog")
app.add_typer(model_app, name="model")
app.add_typer(segments_app, name="segments")
app.add_typer(pricing_app, name="pricing")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.command("quote")(quote_command)
app.command("decide")(decide_command)
app.command("replay")(replay_command)
app.command("evaluate")(evaluate_command)
app.command("serve")(serve_command)


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="output directory (must not hold a world yet)")],
    applicants: Annotated[int, typer.Option("--applicants", help="number of applicants")] = 100_000,
    months: Annotated[int, typer.Option("--months", help="months of performance on book")] = 36,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed + world = same files)")] = 42,
    world: Annotated[
        Path | None, typer.Option("--world", help="world file (default: the packaged one)")
    ] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="applicants per partition")] = 100_000,
) -> None:
    """Generate a synthetic auto-finance world as partitioned parquet, with its ground truth."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from autofin.data.synth import check_request, synthesize
    from autofin.data.world import load_world

    def action() -> None:
        loaded = load_world(world)
        check_request(applicants, months, seed, out, chunk_size)
        with Progress(
            TextColumn("[bold]synthesising"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(), console=stderr, transient=False,
        ) as bar:  # fmt: skip
            task = bar.add_task("applicants", total=applicants)
            summary = synthesize(
                loaded, applicants, months, seed, out, chunk_size,
                progress=lambda done, _total: bar.update(task, completed=done),
            )  # fmt: skip
        print_json({"out": str(summary.out), "rows": summary.rows})

    run_or_exit(action)


def _print_table(result: dict[str, Any]) -> None:
    console = Console()
    if result.get("kind") != "loan":
        console.print_json(json.dumps(result, ensure_ascii=False))
        return
    summary, disclosure = result["summary"], result["disclosure"]
    console.print(f"[bold]Loan in {result['currency']}[/]: {summary['instalments']} instalments")
    for key in ("amount_financed", "finance_charge", "total_of_payments", "total_sale_price"):
        if disclosure.get(key) is not None:
            console.print(f"  {key.replace('_', ' ')}: {disclosure[key]}")
    for method, rate in disclosure["rates"].items():
        console.print(f"  {method}: {rate['apr'] * 100:.4f} %  ({rate['basis']})")
    grid = Table(show_lines=False)
    for col in ("#", "due", "kind", "instalment", "interest", "principal", "balloon", "balance"):
        grid.add_column(col, justify="right" if col not in ("due", "kind") else "left")
    for row in result["schedule"]:
        grid.add_row(
            str(row["number"]), row["due_date"], row["kind"], row["instalment"], row["interest"],
            row["principal"], row["balloon"], row["balance"],
        )  # fmt: skip
    console.print(grid)


def main() -> None:
    """Console-script entry point."""
    app()
