"""``autofin catalog …``: the catalogue commands (mounted by :mod:`autofin.cli`).

``autofin catalog check DIR`` prints one line per finding, ``file:line: CODE message`` (warnings end
in ``[warning]``), then a summary line. Exit status: 0 clean (warnings allowed), 1 when any
error-severity finding exists, 2 when the catalogue does not load (one line naming file, line, field).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from autofin.catalog.check import check_catalogue
from autofin.catalog.loader import default_catalogue_dir, load_catalogue_with_extras
from autofin.cli.io import run_or_exit
from autofin.errors import ValidationError

catalog_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Product catalogue: load and check products, rate tables, services and promotions.",
)


@catalog_app.callback()
def _catalog() -> None:
    """Product catalogue: load and check products, rate tables, services and promotions."""
    # A callback keeps ``catalog`` a command group even while it has a single sub-command.


@catalog_app.command("check")
def check(
    directory: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="catalogue directory (default: $AUTOFIN_CATALOG or catalog/)"),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="date deciding what is expired (default today)"),
    ] = None,
) -> None:
    """Report every contradiction in a catalogue, with file and line."""

    def action() -> None:
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise ValidationError("--as-of", as_of, "must be an ISO date YYYY-MM-DD") from None
        root = directory if directory is not None else default_catalogue_dir()
        catalogue, extras = load_catalogue_with_extras(root)
        findings = check_catalogue(catalogue, extras, as_of=day)
        for f in findings:
            tag = "" if f.severity == "error" else " [warning]"
            sys.stdout.write(f"{f.file}:{f.line}: {f.code} {f.message}{tag}\n")
        errors = sum(f.severity == "error" for f in findings)
        items = (
            f"{len(catalogue.products)} products, {len(catalogue.rate_tables)} rate tables, "
            f"{len(catalogue.services)} services, {len(catalogue.promotions)} promotions"
        )
        warnings = len(findings) - errors
        summary = f"{errors} error(s), {warnings} warning(s)"
        sys.stdout.write(f"catalogue {catalogue.version} ({items}): {summary}\n")
        if errors:
            raise typer.Exit(1)

    run_or_exit(action)
