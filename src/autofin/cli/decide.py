"""``autofin decide FILE|-``: one application in, a decision with its offer menu out.

Input: one application as JSON (see docs/decisions-application.md and examples/decisions/). Output: the
decision record as JSON (:meth:`autofin.decision.engine.Decision.to_dict`: outcome, reasons, offers with
their full quotes and disclosures, counter-offers, policy, score, versions, trace and stage timings), or
with ``--table`` a readable summary in English or Chinese (``--lang zh-CN``). A bad application prints
``error: <field>: <rule> (got …)`` and exits 2; no decision is made.

The risk model is the champion ``pd-application`` of the model registry (``--models``, default
``$AUTOFIN_MODELS`` or ``./models``); when the registry has none, the demo model is trained on a seeded
synthetic world and registered first (once, about half a minute).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from autofin.cli.io import print_json, read_json, run_or_exit, stderr

_LABELS = {
    "en": {
        "approve": "APPROVED",
        "counter_offer": "APPROVED WITH A COUNTER-OFFER",
        "refer": "REFERRED TO AN UNDERWRITER",
        "decline": "DECLINED",
        "reasons": "Principal reasons",
        "offers": "Offers",
        "counter": "Counter-offers (what it would take)",
        "score": "Score",
        "segment": "Segment",
        "product": "product",
        "term": "term",
        "down": "down payment",
        "payment": "monthly",
        "rate": "rate",
        "financed": "amount financed",
        "total": "total cost",
        "changes": "changes",
        "versions": "versions",
        "time": "time",
    },
    "zh-CN": {
        "approve": "批准",
        "counter_offer": "有条件批准（建议方案）",
        "refer": "转人工审核",
        "decline": "拒绝",
        "reasons": "主要原因",
        "offers": "可选方案",
        "counter": "建议方案（需调整的条件）",
        "score": "评分",
        "segment": "客群",
        "product": "产品",
        "term": "期限",
        "down": "首付",
        "payment": "月供",
        "rate": "年化利率",
        "financed": "融资金额",
        "total": "总成本",
        "changes": "调整",
        "versions": "版本",
        "time": "耗时",
    },
}


def build_engine(models: Path | None, *, check_known_vehicle: bool = True) -> Any:
    """The demo decision engine with the registry's champion application model (trained if absent);
    ``check_known_vehicle=False`` for data that names no vehicle models (the synthetic world)."""
    from autofin.decision.engine import DecisionEngine
    from autofin.decision.scoring import demo_scorer
    from autofin.risk.registry import Registry

    registry = Registry(models)
    if "pd-application" not in registry.names():
        stderr.print("training the demo application model on a seeded synthetic world (once) …")
    return DecisionEngine.load(demo_scorer(registry), check_known_vehicle=check_known_vehicle)


def _rate(offer: dict[str, Any]) -> str:
    rate = offer.get("headline_rate")
    return "—" if rate is None else f"{float(rate) * 100:.2f} %"


def print_decision(record: dict[str, Any], lang: str) -> None:
    """A readable summary of a decision record."""
    from autofin.decision.affordability import is_zh_cn

    key = "zh-CN" if is_zh_cn(lang) else "en"
    t = _LABELS[key]
    console = Console()
    score = record["score"]
    console.print(
        f"[bold]{t[record['outcome']]}[/]  ({record.get('application_id') or '—'})  "
        f"{t['score']}: {score['points']:.0f} (PD {score['pd'] * 100:.2f} %)  "
        f"{t['segment']}: {record['segment']}"
    )
    if record["reasons"]:
        console.print(f"[bold]{t['reasons']}[/]")
        for r in record["reasons"]:
            console.print(f"  {r['code']}: {r[key]}")
    shown = [] if record["outcome"] in ("counter_offer", "decline") else [(t["offers"], record["offers"])]
    shown.append((t["counter"], record["counter_offers"]))
    for title, rows in shown:
        if not rows:
            continue
        grid = Table(title=title, title_justify="left")
        for col in (
            "#",
            t["product"],
            t["term"],
            t["down"],
            t["payment"],
            t["rate"],
            t["financed"],
            t["total"],
        ):
            grid.add_column(col, justify="left" if col == t["product"] else "right", no_wrap=True)
        for o in rows:
            q = o["quote"]
            grid.add_row(
                str(o["rank"]),
                o["structure"]["product"],
                str(o["structure"]["term"]),
                o["structure"]["down_payment"],
                o["monthly_payment"],
                _rate(o),
                q["amount_financed"],
                q["total_cost"],
            )
        console.print(grid)
        for o in rows:
            if o.get("changes"):
                text = "; ".join(c["zh-CN"] if key == "zh-CN" else c["text"] for c in o["changes"])
                console.print(f"  {o['rank']}. {t['changes']}: {text}")
    timings = record.get("timings_us") or {}
    if timings:
        console.print(
            f"{t['time']}: {timings.get('total', 0) / 1000:.2f} ms  "
            f"{t['versions']}: {record['version_digest'][:12]}"
        )


def decide_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE|-", help="application JSON, or - for standard input")
    ],
    table: Annotated[bool, typer.Option("--table", help="print a readable summary instead of JSON")] = False,
    lang: Annotated[str, typer.Option("--lang", help="summary language: en or zh-CN")] = "en",
    trace: Annotated[
        bool, typer.Option("--trace/--no-trace", help="include the full trace in the JSON")
    ] = True,
    models: Annotated[
        Path | None, typer.Option("--models", help="model registry (default $AUTOFIN_MODELS or ./models)")
    ] = None,
) -> None:
    """Decide one application: approve, counter-offer, refer or decline, with the offer menu."""
    from autofin.decision.affordability import is_zh_cn
    from autofin.errors import ValidationError

    def action() -> None:
        if lang.lower() != "en" and not is_zh_cn(lang):
            raise ValidationError("--lang", lang, "must be en or zh-CN")
        data = read_json(source)
        engine = build_engine(models)
        decision = engine.decide(data)
        record = decision.to_dict(trace=trace)
        if table:
            print_decision(record, lang)
        else:
            print_json(record)

    run_or_exit(action)
