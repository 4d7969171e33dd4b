"""The application scorecard recovers the synthetic world's ground truth (docs/risk.md).

60,000 applicants (about 32,000 booked loans, 6 % realised default) are generated into a temporary
directory; the scorecard is trained on the booked loans' *realised* default (status ``default`` in the
performance table) with an out-of-time split by vintage, exactly as ``autofin model train`` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("autofin.risk.scorecard")
pytest.importorskip("optbinning")

from autofin.data.synth import synthesize
from autofin.data.world import load_world
from autofin.risk.train import TARGET, Split, fit, model_pd, synthetic_split

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Split, dict[str, float]]:
    out = tmp_path_factory.mktemp("world") / "w"
    synthesize(load_world(), applicants=60_000, months=36, seed=20_240_101, out=out)
    split = synthetic_split(out)
    model = fit("scorecard", split)
    truth = json.loads(Path(out, "truth.json").read_text())["credit"]["default_model"]["coefficients"]
    return model, split, truth


def test_out_of_time_split_is_by_vintage(trained: tuple[object, Split, dict[str, float]]) -> None:
    _, split, _ = trained
    assert split.train["vintage"].max() < split.test["vintage"].min()
    assert 0.2 <= split.test.height / (split.train.height + split.test.height) <= 0.4


def test_pd_calibrated_by_score_decile(trained: tuple[object, Split, dict[str, float]]) -> None:
    """Observed vs predicted bad rate per PD decile of the out-of-time holdout.

    Tolerance per decile: max(2 pp, 3 binomial standard errors sqrt(p(1-p)/n)). With ~860 loans a
    decile the standard error of an observed rate is 0.2 pp (PD 0.3 %) to 1.5 pp (PD 25 %): 3 SE keeps
    the chance that a correctly calibrated decile fails at ~0.3 % each (~3 % over ten), and the 2 pp
    floor allows for what the model cannot know — the macro factor of the later vintages (an offset of
    ±0.2 on the log-odds in this world, not a scorecard feature) and the bin-level (step) PD. A
    miscalibrated model — e.g. PD off by a factor 1.5 in the riskiest decile (≈ 12 pp there) — fails.
    """
    model, split, _ = trained
    pd_ = model_pd(model, split.test.select(split.features))
    y = split.test[TARGET].to_numpy()
    order = np.argsort(pd_, kind="stable")
    failures = []
    for decile, idx in enumerate(np.array_split(order, 10)):
        predicted, observed, n = pd_[idx].mean(), y[idx].mean(), idx.size
        tolerance = max(0.02, 3 * np.sqrt(predicted * (1 - predicted) / n))
        if abs(observed - predicted) > tolerance:
            failures.append((decile, round(predicted, 4), round(observed, 4), round(tolerance, 4)))
    assert not failures, f"deciles outside tolerance (decile, predicted, observed, tolerance): {failures}"
    # and overall: mean PD within 1 pp of the holdout bad rate
    assert abs(pd_.mean() - y.mean()) < 0.01


def test_every_selected_driver_has_the_true_direction(
    trained: tuple[object, Split, dict[str, float]],
) -> None:
    """Points must fall as risk rises: for each selected feature, the correlation between its value and
    its points (training loans) has the sign opposite to the true coefficient in truth.json."""
    model, split, truth = trained
    features = model.features_  # type: ignore[attr-defined]
    points = model.points(split.train.select(split.features))  # type: ignore[attr-defined]
    wrong = []
    for j, f in enumerate(features):
        x = split.train[f].to_numpy()
        if np.ptp(x) == 0 or np.ptp(points[:, j]) == 0:
            continue
        risk_direction = -np.sign(np.corrcoef(x, points[:, j])[0, 1])
        if risk_direction != np.sign(truth[f]):
            wrong.append((f, truth[f], risk_direction))
    assert not wrong, f"features whose scorecard direction contradicts the truth: {wrong}"


def test_main_drivers_are_selected(trained: tuple[object, Split, dict[str, float]]) -> None:
    model, _split, _ = trained
    selected = set(model.features_)  # type: ignore[attr-defined]
    assert "score_z" in selected
    assert selected & {"dti", "pti"}
    assert "ltv" in selected
    assert "delinquencies_24m" in selected


def test_holdout_discrimination(trained: tuple[object, Split, dict[str, float]]) -> None:
    from autofin.risk.validation import auc

    model, split, _ = trained
    assert auc(split.test[TARGET].to_numpy(), model_pd(model, split.test.select(split.features))) > 0.72
