"""The fast paths of a decision's JSON (autofin.decision.engine.to_dict, autofin.catalog.presentation
.quote_json, autofin.finance.contract) give exactly what the general paths give: the loan disclosure a
quote already carries is reused only when it is the quote's own, schedule rows and plain values convert
as :func:`~autofin.finance.contract.jsonable` converts them, and the trace and its failure codes are
written from the screen's records as from the built :class:`~autofin.decision.menu.Tried` rows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from autofin.catalog.presentation import quote_json
from autofin.decision.engine import (
    Decision,
    DecisionEngine,
    _menu_codes_json,
    _trace_json,
    _tried_json,
    menu_codes,
)
from autofin.decision.menu import Trace
from autofin.finance.apr import AprMethod
from autofin.finance.contract import _row_json, jsonable, loan_contract
from autofin.finance.disclosure import disclose_loan
from autofin.finance.schedule import Row, RowKind, Schedule
from decision_support import FixedScorer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@cache
def _decisions() -> tuple[Decision, ...]:
    engine = DecisionEngine.load(FixedScorer(700.0))
    out = []
    for name in ("approve", "counter_offer", "prime", "decline"):
        data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
        out.append(engine.decide(data))
    return tuple(out)


def _quotes() -> list[Any]:
    quotes = [o.quote for d in _decisions() for o in d.offers]
    quotes += [c.offer.quote for d in _decisions() for c in d.counter_offers]
    assert any(isinstance(q.contract, Schedule) for q in quotes)
    return quotes


def test_a_quotes_own_disclosure_gives_the_recomputed_contract() -> None:
    for q in _quotes():
        if not isinstance(q.contract, Schedule):
            continue
        recomputed = loan_contract(q.contract, [AprMethod(m) for m in q.rates])
        assert quote_json(q)["contract"] == recomputed
        assert json.dumps(quote_json(q)["contract"]) == json.dumps(recomputed)


def test_a_disclosure_that_is_not_the_quotes_own_is_not_reused() -> None:
    q = next(q for q in _quotes() if isinstance(q.contract, Schedule))
    assert q.disclosure is not None
    stale = replace(q.disclosure, amount_financed=q.disclosure.amount_financed + 1)
    out = quote_json(replace(q, disclosure=stale))["contract"]["disclosure"]
    assert out["amount_financed"] == str(q.disclosure.amount_financed)
    other = disclose_loan(q.contract, [AprMethod.EU_APRC])
    assert quote_json(replace(q, disclosure=other)) == quote_json(q)


def _general_row(r: Row) -> dict[str, Any]:
    return {**jsonable(r), "total_due": str(r.total_due)}


def test_schedule_rows_convert_as_jsonable_converts_them() -> None:
    for q in _quotes():
        if isinstance(q.contract, Schedule):
            for r in q.contract.rows:
                assert json.dumps(_row_json(r)) == json.dumps(_general_row(r))
    odd = Row(1, date(2026, 1, 31), RowKind.FINAL, Decimal("-0.00000000001"), Decimal("1.10"),
              Decimal(0), Decimal("1.1"), Decimal("5"), 0, Decimal("0.00"))  # type: ignore[arg-type]  # fmt: skip
    assert _row_json(odd) == _general_row(odd)
    assert _row_json(odd)["annual_rate"] == 0.0 and _row_json(odd)["fees"] == 0


def test_jsonable_fast_paths_keep_rates_money_and_plain_values() -> None:
    data = {"apr": Decimal("0.05991234567891"), "fee": Decimal("1.50"), "n": 3, "s": "x", "b": True}
    assert jsonable(data) == {"apr": 0.0599123457, "fee": "1.50", "n": 3, "s": "x", "b": True}
    assert jsonable({AprMethod.CN_IRR: {"apr": Decimal("-0")}}) == {"cn_irr": {"apr": 0.0}}
    assert jsonable([None, 1.5, date(2026, 2, 1)]) == [None, 1.5, "2026-02-01"]


def test_the_trace_is_written_as_its_built_rows() -> None:
    checked = 0
    for d in _decisions():
        if d.menu is None:
            continue
        tried = d.menu.tried
        assert isinstance(tried, Trace)
        fast = _trace_json(tried)
        assert fast == [_tried_json(t) for t in tried]
        assert _trace_json(tuple(tried)) == fast
        assert _menu_codes_json(d.menu) == {
            "asked": list(menu_codes(d.menu, asked_only=True)),
            "all": list(menu_codes(d.menu, asked_only=False)),
        }
        checked += len(fast)
    assert checked > 0
