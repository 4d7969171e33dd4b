"""scorecardpy 0.1.9.7: the README's "Traditional Credit Scoring Using Logistic Regression" recipe.

``var_filter`` (missing rate, IV, identical-value rate; defaults iv_limit=0.02, missing_limit=0.95,
identical_limit=0.95) → ``woebin`` (default tree-like optimal binning) → ``woebin_ply`` →
``LogisticRegression(penalty="l1", C=0.9, solver="liblinear")``. Two deliberate departures from the
README: binning is fitted on the train rows only (the README bins the whole data before scoring the
test part, which leaks), and the README's hand-made German-credit break adjustments
(``breaks_adj``) are not applied: the benchmark times the automatic recipe on every data set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scorecardpy as sc
from _common import Split, run
from sklearn.linear_model import LogisticRegression


def fit(split: Split) -> Any:
    train = split.train_frame
    kept = sc.var_filter(train, y=split.target)
    bins = sc.woebin(kept, y=split.target)
    train_woe = sc.woebin_ply(kept, bins)
    columns = [c for c in train_woe.columns if c != split.target]
    lr = LogisticRegression(penalty="l1", C=0.9, solver="liblinear")
    lr.fit(train_woe[columns], train_woe[split.target])
    return bins, columns, lr


def predict(model: Any, split: Split) -> np.ndarray:
    bins, columns, lr = model
    test_woe = sc.woebin_ply(split.test_frame, bins)
    return lr.predict_proba(test_woe[columns])[:, 1]


def extra(model: Any, split: Split) -> dict[str, Any]:
    return {"n_features_used": len(model[1])}


if __name__ == "__main__":
    run(fit, predict, extra)
