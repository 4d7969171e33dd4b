"""Shared by the ``run_*.py`` peer runners (executed with a peer environment's Python, not autofin's).

Only numpy, pandas and scikit-learn are assumed here: every peer environment has them.

Protocol: ``python run_X.py SPLIT_DIR DATASET [--repeat N] [--budget S] [--variant V]`` reads
``SPLIT_DIR/DATASET/{train,test}.csv`` and ``meta.json`` (written by
:func:`benchmarks.risk_bench.export_splits`), fits the peer's standard recipe on the train rows up to
``N`` times, stopping once ``S`` seconds of fitting are spent (each fit timed alone with
:func:`time.perf_counter`, data loading excluded), scores the test rows with the last fit and prints
one JSON line (``--variant`` selects a runner's documented alternative recipe, if it has one)::

    {"auc": 0.79, "ks": 0.45, "fit_seconds": 0.21, "fit_seconds_best": 0.20, "repeat": 5, ...}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve


class Split:
    """One data set's stratified 70/30 split as pandas frames (features only) and 0/1 targets."""

    def __init__(self, split_dir: Path, dataset: str) -> None:
        root = split_dir / dataset
        self.meta: dict[str, Any] = json.loads((root / "meta.json").read_text())
        self.target: str = self.meta["target"]
        self.features: list[str] = list(self.meta["features"])
        self.categorical: list[str] = list(self.meta["categorical"])
        dtypes = dict.fromkeys(self.meta["string_columns"], str)
        train = pd.read_csv(root / "train.csv", dtype=dtypes, keep_default_na=True)
        test = pd.read_csv(root / "test.csv", dtype=dtypes, keep_default_na=True)
        self.train_frame = train  # features + target, as the data-frame-first libraries want it
        self.test_frame = test
        self.X_train = train[self.features]
        self.X_test = test[self.features]
        self.y_train = train[self.target].to_numpy().astype(int)
        self.y_test = test[self.target].to_numpy().astype(int)
        self.variant = "standard"


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score distributions of bads and goods."""
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def run(
    fit: Callable[[Split], Any],
    predict: Callable[[Any, Split], np.ndarray],
    extra: Callable[[Any, Split], dict[str, Any]] | None = None,
) -> None:
    """Parse the command line, time ``fit`` (see the module protocol), score the test set, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("split_dir", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("--repeat", type=int, default=1, help="fit at most this many times")
    parser.add_argument("--budget", type=float, default=0.0, help="stop repeating after this many seconds")
    parser.add_argument("--variant", default="standard", help="a runner-specific variant of the recipe")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    split = Split(args.split_dir, args.dataset)
    split.variant = args.variant
    samples: list[float] = []
    model: Any = None
    while True:
        start = time.perf_counter()
        model = fit(split)
        samples.append(time.perf_counter() - start)
        if len(samples) >= args.repeat or 0 < args.budget <= sum(samples):
            break
    pd_test = np.asarray(predict(model, split), dtype=float)
    result: dict[str, Any] = {
        "auc": float(roc_auc_score(split.y_test, pd_test)),
        "ks": ks_statistic(split.y_test, pd_test),
        "fit_seconds": statistics.median(samples),
        "fit_seconds_best": min(samples),
        "repeat": len(samples),
        "n_train": len(split.y_train),
        "n_test": len(split.y_test),
    }
    if extra is not None:
        result.update(extra(model, split))
    sys.stdout.write(json.dumps(result) + "\n")
