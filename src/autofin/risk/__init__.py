"""Credit risk: application scorecards, ML challengers, calibrated PD, reason codes, validation,
fairness and a model registry. See docs/risk.md."""
