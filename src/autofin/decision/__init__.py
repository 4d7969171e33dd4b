"""Decisions: policy rules, affordability, offer menus, counter-offers, decision flow and trace.

Credit policy (knock-outs, refer rules, score cut-offs, limits, documents) lives in GoRules JDM decision
tables under the catalogue's ``policy/`` directory and runs through :mod:`autofin.decision.policy`.
"""

from autofin.decision.policy import (
    DocumentRequirement,
    PolicyEngine,
    PolicyLimits,
    PolicyReason,
    PolicyResult,
    TableVersion,
)

__all__ = [
    "DocumentRequirement",
    "PolicyEngine",
    "PolicyLimits",
    "PolicyReason",
    "PolicyResult",
    "TableVersion",
]
