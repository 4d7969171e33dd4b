"""Training pipelines: from a synthetic world or a public data set to a fitted model, its metrics and
the registry metadata that identifies the data it was trained on.

Every pipeline has three steps, each usable alone:

1. a **split** (:class:`Split`): training and holdout frames, the feature list, the target definition
   and a JSON ``data`` spec from which :func:`split_from_spec` rebuilds the same split later (so
   ``autofin model validate`` can re-validate a registered model on its own holdout);
2. :func:`fit` of a model kind (``scorecard``, ``challenger``, ``behaviour``);
3. :func:`evaluate` on the holdout (AUC, Gini, KS, bad rates, mean PD).

Splits:

* **synthetic application** (:func:`synthetic_split`): one row per booked loan with the 18
  :data:`~autofin.data.credit.DEFAULT_FEATURES` (``default_features``), ``bad`` = the loan reached
  status ``default`` in its observed performance (the *realised* default, not the ground truth), and an
  **out-of-time** split by vintage: the latest vintages holding about ``oot_share`` of the loans are the
  holdout, everything before is training;
* **synthetic behaviour** (:func:`behaviour_split`): :func:`autofin.risk.behaviour.behaviour_dataset`
  snapshots, trained at one observation month and tested at a later one (out of time);
* **public** (:func:`public_split`): German Credit, Give Me Some Credit or Taiwan default, features =
  the data set's ``model_columns`` (protected columns removed), a stratified random split (these data
  sets carry no dates).

``train_scorecard_synthetic(world_dir)`` and ``train_public(name)`` chain the three steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from autofin.errors import ValidationError
from autofin.risk.registry import ModelMeta, frame_sha256

__all__ = [
    "PUBLIC_DATASETS",
    "Split",
    "behaviour_split",
    "evaluate",
    "fit",
    "model_pd",
    "public_split",
    "split_from_spec",
    "synthetic_split",
    "train",
    "train_public",
    "train_scorecard_synthetic",
]

FloatArray = NDArray[np.float64]
TARGET: Final = "bad"
#: Short names of the public data sets accepted by :func:`public_split` → ``autofin.data.public.load`` names.
PUBLIC_DATASETS: Final[Mapping[str, str]] = {
    "german": "german_credit",
    "gmsc": "give_me_some_credit",
    "taiwan": "taiwan_default",
}
SYNTHETIC_TARGET: Final = "realised default: status 'default' within the loan's observed performance"


@dataclass(frozen=True)
class Split:
    """Training and holdout data of one pipeline.

    ``train`` and ``test`` hold the ``features``, ``bad`` (Int8, 1 = bad) and, when known, ``vintage``
    (or ``observation``) and ``loan_id``. ``data`` is the JSON spec :func:`split_from_spec` rebuilds it
    from; ``protected`` lists columns a model must refuse (public data sets' flagged columns).
    """

    train: pl.DataFrame
    test: pl.DataFrame
    features: tuple[str, ...]
    target: str
    data: dict[str, Any]
    protected: tuple[str, ...] = ()
    categorical: tuple[str, ...] = field(default=())

    @property
    def period_column(self) -> str | None:
        """The time column of an out-of-time split (``vintage`` or ``observation``), if any."""
        for c in ("vintage", "observation"):
            if c in self.test.columns:
                return c
        return None

    def training_sha256(self) -> str:
        """SHA-256 of the training frame's features and target (:func:`frame_sha256`)."""
        return frame_sha256(self.train.select(*self.features, TARGET))


def _world_dir(world_dir: str | Path) -> Path:
    root = Path(world_dir)
    if not (root / "manifest.json").is_file():
        raise ValidationError("world_dir", str(root), "holds no generated world (manifest.json missing)")
    return root


def synthetic_frame(world_dir: str | Path) -> pl.DataFrame:
    """One row per booked loan: ``loan_id``, ``vintage``, the default features and ``bad``."""
    from autofin.data.credit import DEFAULT_FEATURES, default_features
    from autofin.data.synth import load, scan
    from autofin.data.world import load_world

    root = _world_dir(world_dir)
    world = load_world(root / "world.yaml")
    tables = {t: load(root, t) for t in ("loans", "applicants", "bureau", "vehicles")}
    features = default_features(world.credit, tables)
    bad = (
        scan(root, "performance")
        .group_by("loan_id")
        .agg((pl.col("status") == "default").any().cast(pl.Int8).alias(TARGET))
        .collect()
    )
    return (
        tables["loans"]
        .select("loan_id", "vintage")
        .join(features.select("loan_id", *DEFAULT_FEATURES), on="loan_id", how="left", maintain_order="left")
        .join(bad, on="loan_id", how="left", maintain_order="left")
        .with_columns(pl.col(TARGET).fill_null(0))
    )


def synthetic_split(world_dir: str | Path, oot_share: float = 0.25) -> Split:
    """Application split of a synthetic world: out of time by vintage (about ``oot_share`` held out)."""
    from autofin.data.credit import DEFAULT_FEATURES

    if not 0.05 <= oot_share <= 0.5:
        raise ValidationError("oot_share", oot_share, "must be between 0.05 and 0.5")
    frame = synthetic_frame(world_dir)
    counts = frame.group_by("vintage").len().sort("vintage", descending=True)
    cum = counts["len"].cum_sum().to_numpy() / frame.height
    # The earliest vintage such that it and everything after hold at least oot_share of the loans.
    k = int(np.searchsorted(cum, oot_share))
    first_oot = str(counts["vintage"][min(k, counts.height - 1)])
    train = frame.filter(pl.col("vintage") < first_oot)
    test = frame.filter(pl.col("vintage") >= first_oot)
    if train.height == 0 or train[TARGET].n_unique() < 2 or test[TARGET].n_unique() < 2:
        raise ValidationError(
            "world_dir", str(world_dir), "too few loans or vintages for an out-of-time split"
        )
    return Split(
        train,
        test,
        tuple(DEFAULT_FEATURES),
        SYNTHETIC_TARGET,
        {
            "source": "synthetic",
            "path": str(Path(world_dir).resolve()),
            "split": "vintage",
            "first_oot": first_oot,
        },
    )


def behaviour_split(
    world_dir: str | Path,
    train_observation: str | None = None,
    test_observation: str | None = None,
    horizon: int = 12,
) -> Split:
    """Behaviour split of a synthetic world: snapshots at ``train_observation`` (default: two months
    after the last vintage) and ``test_observation`` (default: six months later)."""
    from autofin.data.synth import load, scan
    from autofin.risk.behaviour import BEHAVIOUR_FEATURES, behaviour_dataset

    root = _world_dir(world_dir)
    loans = load(root, "loans")
    if train_observation is None:
        last = str(loans["vintage"].max())
        idx = int(last[:4]) * 12 + int(last[5:]) - 1 + 2
        train_observation = f"{idx // 12:04d}-{idx % 12 + 1:02d}"
    if test_observation is None:
        idx = int(train_observation[:4]) * 12 + int(train_observation[5:]) - 1 + 6
        test_observation = f"{idx // 12:04d}-{idx % 12 + 1:02d}"
    perf = scan(root, "performance")
    train = behaviour_dataset(perf, loans, train_observation, horizon)
    test = behaviour_dataset(perf, loans, test_observation, horizon)
    for name, part in (("train_observation", train), ("test_observation", test)):
        if part.height == 0 or part[TARGET].n_unique() < 2:
            raise ValidationError(name, part.height, "has too few eligible loans or no bads")
    return Split(
        train,
        test,
        BEHAVIOUR_FEATURES,
        f"90+ days past due or default within {horizon} months after the observation month",
        {
            "source": "synthetic-behaviour",
            "path": str(root.resolve()),
            "train_observation": train_observation,
            "test_observation": test_observation,
            "horizon": horizon,
        },
    )


def public_split(name: str, test_share: float = 0.3, seed: int = 0) -> Split:
    """Stratified random split of a public data set (``german``, ``gmsc``, ``taiwan``)."""
    from sklearn.model_selection import train_test_split

    from autofin.data import public

    full = PUBLIC_DATASETS.get(name, name)
    if full not in PUBLIC_DATASETS.values():
        raise ValidationError("data", name, f"must be one of {', '.join(PUBLIC_DATASETS)}")
    ds = public.load(full)
    frame = ds.frame.rename({ds.target_column: TARGET}).with_row_index("row_id")
    y = frame[TARGET].to_numpy()
    idx_train, idx_test = train_test_split(
        np.arange(frame.height), test_size=test_share, stratify=y, random_state=seed
    )
    features = ds.model_columns
    return Split(
        frame[np.sort(idx_train)],
        frame[np.sort(idx_test)],
        features,
        ds.description,
        {"source": "public", "name": full, "split": "stratified", "test_share": test_share, "seed": seed},
        protected=ds.protected_columns,
        categorical=tuple(c for c in ds.categorical_columns if c in features),
    )


def split_from_spec(data: Mapping[str, Any]) -> Split:
    """Rebuild the split described by a model's ``meta.data`` (for re-validation)."""
    source = data.get("source")
    if source == "synthetic":
        return (
            synthetic_split(data["path"], oot_share=0.25) if "first_oot" not in data else _synthetic_at(data)
        )
    if source == "synthetic-behaviour":
        return behaviour_split(
            data["path"], data["train_observation"], data["test_observation"], int(data["horizon"])
        )
    if source == "public":
        return public_split(str(data["name"]), float(data["test_share"]), int(data["seed"]))
    raise ValidationError("meta.data.source", source, "must be synthetic, synthetic-behaviour or public")


def _synthetic_at(data: Mapping[str, Any]) -> Split:
    from autofin.data.credit import DEFAULT_FEATURES

    frame = synthetic_frame(data["path"])
    first = str(data["first_oot"])
    return Split(
        frame.filter(pl.col("vintage") < first),
        frame.filter(pl.col("vintage") >= first),
        tuple(DEFAULT_FEATURES),
        SYNTHETIC_TARGET,
        dict(data),
    )


def fit(kind: str, split: Split, params: Mapping[str, Any] | None = None) -> Any:
    """Fit a ``scorecard``, ``challenger`` or ``behaviour`` model on ``split.train``."""
    params = dict(params or {})
    X = split.train.select(split.features)  # noqa: N806
    y = split.train[TARGET]
    if kind == "scorecard":
        from autofin.risk.scorecard import Scorecard

        return Scorecard(protected=list(split.protected), **params).fit(X, y)
    if kind == "challenger":
        from autofin.risk.challenger import Challenger

        params.setdefault("num_threads", 2)
        return Challenger(protected_columns=split.protected, **params).fit(X, y)
    if kind == "behaviour":
        from autofin.risk.behaviour import BehaviourModel

        horizon = int(split.data.get("horizon", 12))
        return BehaviourModel(horizon_months=horizon, features=split.features, **params).fit(X, y)
    raise ValidationError("kind", kind, "must be scorecard, challenger or behaviour")


def model_pd(model: Any, X: pl.DataFrame) -> FloatArray:  # noqa: N803
    """The model's probability of default: ``pd(X)`` when it has one (calibrated), else
    ``predict_proba(X)[:, 1]``."""
    if hasattr(model, "pd") and callable(model.pd):
        return np.asarray(model.pd(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def evaluate(model: Any, split: Split) -> dict[str, float | int | str | None]:
    """Holdout metrics: rows, bad rates, mean PD, AUC, Gini, KS (and training AUC)."""
    from autofin.risk import validation as v

    p_test = model_pd(model, split.test.select(split.features))
    p_train = model_pd(model, split.train.select(split.features))
    y_test = split.test[TARGET].to_numpy()
    y_train = split.train[TARGET].to_numpy()
    ks = v.ks(y_test, p_test)
    test_auc = v.auc(y_test, p_test)
    return {
        "n_train": int(split.train.height),
        "n_test": int(split.test.height),
        "bad_rate_train": float(y_train.mean()),
        "bad_rate_test": float(y_test.mean()),
        "mean_pd_test": float(p_test.mean()),
        "auc_train": float(v.auc(y_train, p_train)),
        "auc_test": float(test_auc),
        "gini_test": float(2 * test_auc - 1),
        "ks_test": float(ks.statistic),
    }


def selected_features(model: Any, split: Split) -> tuple[str, ...]:
    """The features the fitted model reads (a scorecard's selection, else every candidate)."""
    for attr in ("features_",):
        value = getattr(model, attr, None)
        if value:
            return tuple(value)
    scorecard = getattr(model, "scorecard_", None)
    if scorecard is not None and scorecard.features_:
        return tuple(scorecard.features_)
    return split.features


def train(
    kind: str, split: Split, params: Mapping[str, Any] | None = None, description: str = ""
) -> tuple[Any, dict[str, float | int | str | None], ModelMeta]:
    """Fit, evaluate and describe: ``(model, metrics, meta)`` ready for :meth:`Registry.register`."""
    model = fit(kind, split, params)
    metrics = evaluate(model, split)
    meta = ModelMeta(
        kind=kind,  # type: ignore[arg-type]
        features=selected_features(model, split),
        target=split.target,
        training_data_sha256=split.training_sha256(),
        metrics=metrics,
        description=description
        or f"{kind} trained {dt.date.today().isoformat()} on {split.data.get('source')}",
        data=split.data,
    )
    return model, metrics, meta


def train_scorecard_synthetic(
    world_dir: str | Path, oot_share: float = 0.25, **scorecard_params: Any
) -> tuple[Any, dict[str, float | int | str | None]]:
    """Application scorecard on a synthetic world's booked loans (realised default, out-of-time split)."""
    model, metrics, _ = train("scorecard", synthetic_split(world_dir, oot_share), scorecard_params)
    return model, metrics


def train_public(
    name: str, kind: str = "scorecard", **params: Any
) -> tuple[Any, dict[str, float | int | str | None]]:
    """A model on a public data set (``german``, ``gmsc``, ``taiwan``), stratified 70/30 split."""
    model, metrics, _ = train(kind, public_split(name), params)
    return model, metrics
