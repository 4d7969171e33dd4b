"""Plain LightGBM: fixed, reasonable parameters and early stopping on a stratified 80/20 split of train.

No tuning and no monotone constraints: the baseline any challenger must beat. String columns become
pandas ``category`` columns (LightGBM's native categorical handling). Parameters: learning_rate 0.05,
num_leaves 31, min_child_samples 50, subsample 0.8 every round, colsample_bytree 0.8, up to 2,000
rounds, early stopping after 100 rounds without a better validation AUC, seed 42. The timed fit
includes the inner split and the early-stopped training. Threads follow ``OMP_NUM_THREADS`` (the
benchmark harness pins it to 1 for every model).
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from _common import Split, run
from sklearn.model_selection import train_test_split

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "auc",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "seed": 42,
    "verbosity": -1,
}


def _frame(split: Split, features: pd.DataFrame) -> pd.DataFrame:
    out = features.copy()
    for c in split.meta["string_columns"]:
        if c in out.columns:
            out[c] = pd.Categorical(out[c], categories=sorted(split.X_train[c].dropna().unique()))
    return out


def fit(split: Split) -> Any:
    x_fit, x_val, y_fit, y_val = train_test_split(
        _frame(split, split.X_train),
        split.y_train,
        test_size=0.2,
        stratify=split.y_train,
        random_state=42,
    )
    booster = lgb.train(
        PARAMS,
        lgb.Dataset(x_fit, y_fit),
        num_boost_round=2000,
        valid_sets=[lgb.Dataset(x_val, y_val)],
        callbacks=[lgb.early_stopping(100, verbose=False)],
    )
    return booster


def predict(booster: Any, split: Split) -> np.ndarray:
    return booster.predict(_frame(split, split.X_test), num_iteration=booster.best_iteration)


def extra(booster: Any, split: Split) -> dict[str, Any]:
    return {"best_iteration": booster.best_iteration}


if __name__ == "__main__":
    run(fit, predict, extra)
