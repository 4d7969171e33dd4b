"""optbinning's own Scorecard: BinningProcess (optimal binning of every feature) + LogisticRegression.

Recipe as in optbinning's "Tutorial: Scorecard with binary target" and its tests::

    Scorecard(binning_process=BinningProcess(variable_names, categorical_variables=...),
              estimator=LogisticRegression(), scaling_method="min_max",
              scaling_method_params={"min": 300, "max": 850})

with library defaults otherwise: default ``OptimalBinning`` settings (CART prebinning, monotonic trend
"auto") and ``LogisticRegression`` (lbfgs, L2, C=1). The tutorial's ``selection_criteria`` (IV in
[0.02, 1], quality score >= 0.01) and FICO special codes are left out, as in optbinning's tests: an IV
cap of 1 could drop a data set's strongest feature. Scaling does not change the ranking, so AUC and KS
use ``predict_proba``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _common import Split, run
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression


def fit(split: Split) -> Any:
    process = BinningProcess(split.features, categorical_variables=split.categorical or None)
    card = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(),
        scaling_method="min_max",
        scaling_method_params={"min": 300, "max": 850},
    )
    return card.fit(split.X_train, split.y_train)


def predict(card: Any, split: Split) -> np.ndarray:
    return card.predict_proba(split.X_test)[:, 1]


def extra(card: Any, split: Split) -> dict[str, Any]:
    used = card.binning_process_.get_support(names=True)
    return {"n_features_used": len(used)}


if __name__ == "__main__":
    run(fit, predict, extra)
