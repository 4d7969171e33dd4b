"""Shared by the decision tests (unit, property, integration, CLI): stand-in scorers, so the decision
flow can be driven to each outcome on purpose without training a model, and the independent re-check of
an offer that every decision test applies.

Importable from any test module because pyproject.toml puts ``tests`` on pytest's ``pythonpath``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from autofin.catalog.jurisdictions import check_quote_caps
from autofin.catalog.loader import default_catalogue_dir
from autofin.catalog.quote import quote
from autofin.decision.affordability import assess
from autofin.decision.application import (
    Application,
    quote_affordability,
    to_quote_inputs,
    to_structure_request,
)
from autofin.decision.engine import Decision, DecisionEngine
from autofin.decision.menu import Offer, has_disclosure


@dataclass(frozen=True)
class FakeReason:
    code: str
    en: str
    zh_cn: str


@dataclass(frozen=True)
class FakeRisk:
    points: float
    pd: float
    reasons: tuple[FakeReason, ...]
    model: str


#: Five key factors, in the order a fixed scorer reports them.
FACTORS = (
    FakeReason("BUREAU_SCORE", "Credit bureau score too low", "征信评分偏低"),
    FakeReason("DELINQUENCIES_24M", "Delinquent past credit obligations", "过去有逾期记录"),
    FakeReason("INQUIRIES_6M", "Too many recent credit inquiries", "近期查询次数过多"),
    FakeReason("REVOLVING_UTILISATION", "Revolving balances too high", "循环额度使用率过高"),
    FakeReason("TENURE", "Length of employment", "工作年限较短"),
)


class FixedScorer:
    """Gives every application the same points (to reach each policy outcome on purpose) and the first
    four :data:`FACTORS` as reasons."""

    def __init__(self, points: float, pd: float = 0.03, model: str = "pd-test:1") -> None:
        self.points, self.pd, self.model = points, pd, model

    def assess(self, app: Application) -> FakeRisk:
        return FakeRisk(self.points, self.pd, FACTORS[:4], self.model)


class BureauScorer:
    """Points from the bureau score alone (600 points at 19:1 odds, 50 points to double them) and one
    reason: a deterministic stand-in for the application scorecard."""

    def __init__(self, model: str = "pd-fake:1") -> None:
        self.model = model

    def assess(self, app: Application) -> FakeRisk:
        points = 300.0 + 0.5 * float(app.applicant.bureau_score or 550)
        pd = 1.0 / (1.0 + 19.0 * 2.0 ** ((points - 600.0) / 50.0))
        return FakeRisk(points, pd, (FakeReason("BUREAU_SCORE", "Credit score", "信用评分"),), self.model)


def assert_offer_sound(engine: DecisionEngine, d: Decision, offer: Offer, start: date | None = None) -> None:
    """Re-check one offer of decision ``d`` independently of the solver: it re-quotes to the same payment
    and amount, is within the rate caps, carries its disclosure, passes affordability under the engine's
    limits for the decision's segment, and lies within the policy limits of the score tier.
    ``start``: the contract start the decision used (default: the decision's own)."""
    app, cat = d.application, engine.catalogue
    applicant, vehicle = to_quote_inputs(app, segments=d.catalogue_segments)
    request = offer.structure.request(to_structure_request(app, start_date=start or d.start_date))
    q = offer.quote
    again = quote(cat, offer.product_id, vehicle, request, applicant, engine.market)
    assert again.monthly_payment == q.monthly_payment == offer.payment
    assert again.amount_financed == q.amount_financed
    assert q.basis is not None
    check_quote_caps(cat, q, engine.market, q.basis.quoted_on)  # raises if a cap is broken
    assert has_disclosure(q)
    result = assess(*quote_affordability(app, q), engine.limits(app.jurisdiction, d.segment or None))
    assert result.passed, result.codes
    limits = d.policy.limits
    assert limits is not None
    assert q.amount_financed <= limits.max_amount_financed
    assert q.down_payment >= limits.min_down_payment_ratio * q.price


def shifted_cutoffs(tmp_path: Path, points: int) -> Path:
    """A copy of the demo policy tables in ``tmp_path/policy`` with every score cut-off moved by
    ``points`` (a candidate policy for replay and compare tests)."""
    policy = tmp_path / "policy"
    shutil.copytree(default_catalogue_dir() / "policy", policy)
    (path,) = policy.glob("score_cutoffs@*.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    for node in doc["nodes"]:
        for rule in node.get("content", {}).get("rules", []):
            cell = rule.get("in_score", "")
            if cell.startswith(">= "):
                rule["in_score"] = f">= {int(cell[3:]) + points}"
            elif cell.startswith("["):
                lo, hi = cell[1:-1].split("..")
                rule["in_score"] = f"[{int(lo) + points}..{int(hi) + points})"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return policy
