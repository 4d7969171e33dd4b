"""``autofin quote FILE|-``: quote one request, or compare several, against a catalogue.

The request JSON is ``{"product": id, "vehicle": {...}, "structure": {...}, "applicant": {...},
"market": {...}, "on": "YYYY-MM-DD"}`` (``applicant``, ``market`` and ``on`` optional), or
``{"compare": [request, request, ...]}``. Output: the quote as JSON (money as strings, rates as
numbers), or for a comparison ``{"quotes": [...], "comparison": [rows]}``; ``--table`` prints a Rich
side-by-side table instead. The lead mounts :func:`quote_command` on the ``autofin`` app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from rich.console import Console
from rich.table import Table

from autofin.catalog.models import Catalogue
from autofin.catalog.quote import (
    ApplicantInfo,
    Market,
    Quote,
    StructureRequest,
    VehicleInfo,
    compare,
    quote,
    quote_json,
)
from autofin.cli.io import print_json, read_json, run_or_exit
from autofin.errors import ValidationError, from_pydantic

_REQUEST_KEYS = frozenset({"product", "vehicle", "structure", "applicant", "market", "on"})


def _parse(model: type[Any], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        err = from_pydantic(exc)
        raise ValidationError(f"{where}.{err.field}" if err.field else where, err.value, err.rule) from None


def quote_request(catalogue: Catalogue, request: Any, where: str = "") -> Quote:
    """One request mapping (see the module docstring) → :class:`Quote`; errors name the JSON path."""
    prefix = f"{where}." if where else ""
    if not isinstance(request, Mapping):
        raise ValidationError(where or "input", type(request).__name__, "must be a JSON object")
    unknown = sorted(set(request) - _REQUEST_KEYS)
    if unknown:
        raise ValidationError(
            f"{prefix}{unknown[0]}", unknown[0], f"is not one of {', '.join(sorted(_REQUEST_KEYS))}"
        )
    for key in ("product", "vehicle", "structure"):
        if key not in request:
            raise ValidationError(f"{prefix}{key}", None, "is required")
    on = None
    if request.get("on") is not None:
        try:
            on = TypeAdapter(date).validate_python(request["on"])
        except PydanticValidationError:
            raise ValidationError(f"{prefix}on", request["on"], "must be an ISO date (YYYY-MM-DD)") from None
    try:
        return quote(
            catalogue,
            str(request["product"]),
            _parse(VehicleInfo, request["vehicle"], f"{prefix}vehicle"),
            _parse(StructureRequest, request["structure"], f"{prefix}structure"),
            _parse(ApplicantInfo, request.get("applicant", {}), f"{prefix}applicant"),
            _parse(Market, request["market"], f"{prefix}market") if request.get("market") else None,
            on,
        )
    except ValidationError as exc:
        if not where or exc.field.startswith(prefix):
            raise
        raise ValidationError(f"{prefix}{exc.field}", exc.value, exc.rule) from None


def run_request(catalogue: Catalogue, request: Any) -> tuple[dict[str, Any], list[Quote]]:
    """Compute a CLI request: a single quote, or ``{"compare": [...]}``. Returns the JSON and quotes."""
    if isinstance(request, Mapping) and "compare" in request:
        items = request["compare"]
        if set(request) != {"compare"}:
            raise ValidationError("compare", None, "a comparison request holds only 'compare'")
        if not isinstance(items, list) or not items:
            raise ValidationError("compare", items, "must be a non-empty list of quote requests")
        quotes = [quote_request(catalogue, r, f"compare[{k}]") for k, r in enumerate(items)]
        return {"quotes": [quote_json(q) for q in quotes], "comparison": compare(quotes)}, quotes
    q = quote_request(catalogue, request)
    return quote_json(q), [q]


def print_table(quotes: list[Quote], console: Console) -> None:
    """A side-by-side table of the quotes (one column per quote)."""
    rows = compare(quotes)
    grid = Table(title="Quote comparison" if len(rows) > 1 else "Quote", show_lines=False)
    grid.add_column("")
    for r in rows:
        grid.add_column(f"{r['product']} v{r['product_version']}", justify="right")
    lines: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("kind", lambda r: r["kind"]),
        ("monthly payment", lambda r: f"{r['monthly_payment']} {r['currency']}"),
        ("term (months)", lambda r: str(r["term"])),
        ("down payment", lambda r: r["down_payment"]),
        ("balloon / residual", lambda r: r["balloon_or_residual"]),
        ("total cost", lambda r: r["total_cost"]),
        ("rate", lambda r: "n/a" if r["rate"] is None else f"{r['rate'] * 100:.2f} %"),
        ("rate is", lambda r: r["rate_label"]),
        ("at the end", lambda r: r["ownership_at_end"].replace("_", " ")),
        ("to own at the end", lambda r: r["amount_to_own"]),
    ]
    for name, get in lines:
        grid.add_row(name, *(get(r) for r in rows))
    console.print(grid)
    notices = sorted({n for q in quotes for n in q.notices})
    for n in notices:
        console.print(f"[italic]{n}[/]")


def quote_command(
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="quote request JSON, or - for stdin")],
    catalog_dir: Annotated[
        Path | None, typer.Option("--catalog", help="catalogue directory (default: the bundled demo)")
    ] = None,
    table: Annotated[
        bool, typer.Option("--table", help="print a side-by-side table instead of JSON")
    ] = False,
) -> None:
    """Quote a product for a vehicle and structure, or compare several quotes side by side."""
    from autofin.catalog.loader import default_catalogue_dir, load_catalogue

    def action() -> None:
        catalogue = load_catalogue(catalog_dir if catalog_dir is not None else default_catalogue_dir())
        data, quotes = run_request(catalogue, read_json(source))
        if table:
            print_table(quotes, Console())
        else:
            print_json(data)

    run_or_exit(action)
