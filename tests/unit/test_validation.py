"""Tests for autofin.risk.validation: every metric on a hand-computable or published example.

Hand examples are worked in the comments. The published example is Hanley & McNeil (1982), "The
meaning and use of the area under a receiver operating characteristic (ROC) curve", Radiology 143,
29-36, Table 1: CT ratings of 109 patients (58 normal, 51 abnormal) on a 5-point scale; area 0.893.
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from autofin.errors import ValidationError
from autofin.risk import validation as v

# The tiny example: bads score 0.3, 0.5, 0.6; goods 0.1, 0.2, 0.4.
Y = [0, 0, 1, 0, 1, 1]
S = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


# --- discrimination -----------------------------------------------------------------------------------------


def test_auc_and_gini_by_hand() -> None:
    # 9 bad-good pairs; 0.3 beats 0.1 and 0.2 (2), 0.5 and 0.6 beat all three goods (3 + 3): 8/9.
    assert v.auc(Y, S) == pytest.approx(8 / 9)
    assert v.gini(Y, S) == pytest.approx(2 * 8 / 9 - 1)
    # Reversed orientation (a points score: higher = safer).
    assert v.auc(Y, [-s for s in S], higher_is_bad=False) == pytest.approx(8 / 9)
    assert v.auc(Y, [-s for s in S]) == pytest.approx(1 / 9)


def test_auc_counts_ties_as_one_half() -> None:
    # bads 0.5, 0.7; goods 0.5, 0.2: pairs (0.5,0.5)=1/2, (0.5,0.2)=1, (0.7,0.5)=1, (0.7,0.2)=1 -> 3.5/4.
    assert v.auc([1, 0, 1, 0], [0.5, 0.5, 0.7, 0.2]) == pytest.approx(0.875)


def test_auc_matches_hanley_mcneil_1982_table_1() -> None:
    normal = [33, 6, 6, 11, 2]  # ratings 1 (definitely normal) .. 5 (definitely abnormal)
    abnormal = [3, 2, 2, 11, 33]
    rating = np.r_[np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    y = np.r_[np.zeros(58), np.ones(51)]
    area = v.auc(y, rating)
    assert round(area, 3) == 0.893  # published
    assert area == pytest.approx(roc_auc_score(y, rating))


def test_roc_points_by_hand() -> None:
    roc = v.roc_points(Y, S)
    # Thresholds 0.6, 0.5, 0.4, 0.3, 0.2, 0.1 flag 1..6 cases (score >= t).
    assert roc.thresholds[0] == math.inf
    assert roc.thresholds[1:] == pytest.approx((0.6, 0.5, 0.4, 0.3, 0.2, 0.1))
    assert roc.tpr == pytest.approx((0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1))
    assert roc.fpr == pytest.approx((0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1))
    assert json.dumps(roc.to_dict(), allow_nan=False)
    assert np.trapezoid(roc.tpr, roc.fpr) == pytest.approx(v.auc(Y, S))


def test_roc_points_group_tied_scores() -> None:
    roc = v.roc_points([1, 0, 1, 0], [0.5, 0.5, 0.7, 0.2])
    assert roc.thresholds[1:] == pytest.approx((0.7, 0.5, 0.2))
    assert roc.tpr == pytest.approx((0, 0.5, 1, 1))
    assert roc.fpr == pytest.approx((0, 0, 0.5, 1))


def test_ks_by_hand() -> None:
    # |TPR - FPR| at 0.6, 0.5, 0.4, 0.3, 0.2, 0.1: 1/3, 2/3, 1/3, 2/3, 1/3, 0 -> 2/3, first at 0.5.
    result = v.ks(Y, S)
    assert result.statistic == pytest.approx(2 / 3)
    assert result.threshold == 0.5
    assert result.bad_share == pytest.approx(2 / 3)
    assert result.good_share == 0.0
    assert v.ks(Y, [-s for s in S], higher_is_bad=False).threshold == -0.5


def test_ks_equals_the_two_sample_ks_statistic() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = y * 0.8 + rng.normal(size=400)
    from scipy import stats  # type: ignore[import-untyped]

    expected = stats.ks_2samp(s[y == 1], s[y == 0]).statistic
    assert v.ks(y, s).statistic == pytest.approx(expected)


def test_inputs_are_checked() -> None:
    with pytest.raises(ValidationError, match="one bad and one good"):
        v.auc([0, 0], [0.1, 0.2])
    with pytest.raises(ValidationError, match="as many values"):
        v.auc([0, 1], [0.1])
    with pytest.raises(ValidationError, match="0 \\(good\\) or 1"):
        v.auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValidationError, match="no nulls"):
        v.ks([0, 1], [0.1, float("nan")])
    with pytest.raises(ValidationError, match="probabilities"):
        v.calibration_by_band([0.1, 1.2], [0, 1], 2)


# --- calibration --------------------------------------------------------------------------------------------

PD6 = [0.1, 0.1, 0.3, 0.3, 0.5, 0.5]
Y6 = [0, 1, 0, 0, 1, 1]


def test_calibration_by_band_by_hand() -> None:
    table = v.calibration_by_band(PD6, Y6, [0.2, 0.4])
    assert table["count"].to_list() == [2, 2, 2]
    assert table["bads"].to_list() == [1, 0, 2]
    assert table["expected_bads"].to_list() == pytest.approx([0.2, 0.6, 1.0])
    assert table["expected_bad_rate"].to_list() == pytest.approx([0.1, 0.3, 0.5])
    assert table["observed_bad_rate"].to_list() == pytest.approx([0.5, 0.0, 1.0])
    # z = (O - E) / sqrt(sum pd(1 - pd)): (1 - 0.2)/sqrt(0.18), (0 - 0.6)/sqrt(0.42), (2 - 1)/sqrt(0.5).
    assert table["z"].to_list() == pytest.approx(
        [0.8 / math.sqrt(0.18), -0.6 / math.sqrt(0.42), 1 / math.sqrt(0.5)]
    )
    assert table["lower"][0] == -math.inf and table["upper"][2] == math.inf


def test_calibration_quantile_bands_cover_everything() -> None:
    rng = np.random.default_rng(0)
    pd_ = rng.uniform(0, 0.3, 1000)
    y = (rng.uniform(size=1000) < pd_).astype(int)
    table = v.calibration_by_band(pd_, y, 10)
    assert table.height == 10
    assert table["count"].sum() == 1000
    assert table["bads"].sum() == y.sum()
    assert table["count"].to_list() == [100] * 10


def test_hosmer_lemeshow_by_hand() -> None:
    # H = 0.8²/(0.2·0.9) + 0.6²/(0.6·0.7) + 1²/(1·0.5) = 3.5556 + 0.8571 + 2 = 6.4127 on 3 − 2 = 1 df.
    result = v.hosmer_lemeshow(PD6, Y6, [0.2, 0.4])
    expected = 0.64 / 0.18 + 0.36 / 0.42 + 2.0
    assert result.statistic == pytest.approx(expected)
    assert result.df == 1
    # χ² with 1 df: P(X > h) = erfc(sqrt(h / 2)).
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(expected / 2)))
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_hosmer_lemeshow_does_not_reject_a_true_model() -> None:
    rng = np.random.default_rng(11)
    pd_ = rng.uniform(0.01, 0.4, 5000)
    y = (rng.uniform(size=5000) < pd_).astype(int)
    assert v.hosmer_lemeshow(pd_, y).p_value > 0.01
    assert v.hosmer_lemeshow(np.clip(pd_ * 2, 0, 1), y).p_value < 1e-6


# --- distributions and bands --------------------------------------------------------------------------------


def test_score_distribution_by_hand() -> None:
    table = v.score_distribution([1, 2, 3, 4], [0, 0, 1, 1], [2.5])
    assert table["goods"].to_list() == [2, 0]
    assert table["bads"].to_list() == [0, 2]
    assert table["good_share"].to_list() == [1.0, 0.0]
    equal_width = v.score_distribution([0, 1, 2, 3, 4], [0, 0, 1, 1, 1], 2)
    # Bins (0, 2] and (2, 4]; the minimum joins the first bin.
    assert equal_width["lower"].to_list() == [0, 2] and equal_width["upper"].to_list() == [2, 4]
    assert equal_width["goods"].to_list() == [2, 0]
    assert equal_width["bads"].to_list() == [1, 2]


def test_bad_rate_by_band_by_hand() -> None:
    table = v.bad_rate_by_band(S, Y, [0.25, 0.45])
    # (−inf, 0.25]: 0.1, 0.2 goods; (0.25, 0.45]: 0.3 bad, 0.4 good; (0.45, inf): 0.5, 0.6 bads.
    assert table["count"].to_list() == [2, 2, 2]
    assert table["bad_rate"].to_list() == pytest.approx([0.0, 0.5, 1.0])
    assert table["population_share"].to_list() == pytest.approx([1 / 3] * 3)
    assert table["bad_share"].to_list() == pytest.approx([0.0, 1 / 3, 2 / 3])


def test_lift_and_gains_by_hand() -> None:
    score = list(range(10, 0, -1))  # already riskiest first
    y = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]  # overall bad rate 0.4
    table = v.lift_and_gains(score, y, deciles=5)
    assert table["count"].to_list() == [2] * 5
    assert table["bads"].to_list() == [2, 1, 1, 0, 0]
    assert table["lift"].to_list() == pytest.approx([2.5, 1.25, 1.25, 0.0, 0.0])
    assert table["gains"].to_list() == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert table["cum_lift"].to_list() == pytest.approx([2.5, 1.875, 1 / 0.6, 1 / 0.8, 1.0])
    reversed_points = v.lift_and_gains([-s for s in score], y, deciles=5, higher_is_bad=False)
    assert reversed_points["bads"].to_list() == [2, 1, 1, 0, 0]


# --- stability ----------------------------------------------------------------------------------------------


def test_psi_by_hand_with_given_edges() -> None:
    # Expected shares 25/25/25/25 %, actual 10/20/30/40 % in bins split at 1.5, 2.5, 3.5.
    expected = np.repeat([1.0, 2.0, 3.0, 4.0], 25)
    actual = np.repeat([1.0, 2.0, 3.0, 4.0], [10, 20, 30, 40])
    result = v.psi(expected, actual, [1.5, 2.5, 3.5])
    by_hand = sum((a - 0.25) * math.log(a / 0.25) for a in (0.1, 0.2, 0.3, 0.4))
    assert by_hand == pytest.approx(0.2282, abs=1e-4)
    assert result.value == pytest.approx(by_hand)
    assert result.band == "moderate"
    assert result.table["expected_count"].to_list() == [25] * 4
    assert result.table["actual_count"].to_list() == [10, 20, 30, 40]
    assert result.table["contribution"].sum() == pytest.approx(by_hand)


def test_psi_bands_and_identity() -> None:
    x = np.arange(100.0)
    same = v.psi(x, x)
    assert same.value == pytest.approx(0.0)
    assert same.band == "stable"
    assert same.table.height == 10  # deciles of the expected sample
    assert v.psi_band(0.0999) == "stable"
    assert v.psi_band(0.10) == "moderate"
    assert v.psi_band(0.25) == "major"


def test_psi_floors_empty_bins_and_handles_categories_and_nulls() -> None:
    result = v.psi([1.0, 2.0], [1.0, 1.0], [1.5])
    floor = v.PSI_FLOOR
    by_hand = (1 - 0.5) * math.log(1 / 0.5) + (floor - 0.5) * math.log(floor / 0.5)
    assert result.value == pytest.approx(by_hand)
    assert result.band == "major"
    cat = v.psi(pl.Series(["a", "a", "b", None]), pl.Series(["a", "b", "b", "b"]))
    assert cat.table["bin"].to_list() == ["a", "b", "missing"]
    assert cat.table["expected_share"].to_list() == pytest.approx([0.5, 0.25, 0.25])
    assert cat.table["actual_share"].to_list() == pytest.approx([0.25, 0.75, 0.0])


def test_csi_is_psi_per_feature() -> None:
    rng = np.random.default_rng(5)
    dev = pl.DataFrame({"ltv": rng.uniform(0.5, 1.0, 500), "channel": rng.choice(["dealer", "online"], 500)})
    later = pl.DataFrame(
        {"ltv": rng.uniform(0.7, 1.2, 400), "channel": rng.choice(["dealer", "online"], 400)}
    )
    table = v.csi(dev, later)
    assert table["feature"].to_list() == ["ltv", "channel"]  # largest shift first
    assert table.filter(pl.col("feature") == "ltv")["csi"][0] == pytest.approx(
        v.psi(dev["ltv"], later["ltv"]).value
    )
    assert table.filter(pl.col("feature") == "ltv")["band"][0] == "major"
    assert table.filter(pl.col("feature") == "channel")["band"][0] == "stable"
    with pytest.raises(ValidationError, match="both"):
        v.csi(dev, later, ["price"])


# --- champion vs challenger ---------------------------------------------------------------------------------


def _delong_naive(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) straight from the definitions, O(m·n)."""
    k = len(scores)
    x = [s[y == 1] for s in scores]
    z = [s[y == 0] for s in scores]
    m, n = x[0].size, z[0].size
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    aucs = np.empty(k)
    for r in range(k):
        psi = (x[r][:, None] > z[r][None, :]) + 0.5 * (x[r][:, None] == z[r][None, :])
        aucs[r] = psi.mean()
        v10[r] = psi.mean(axis=1)
        v01[r] = psi.mean(axis=0)
    return aucs, np.cov(v10) / m + np.cov(v01) / n


def test_delong_matches_the_definition() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 150)
    a = np.round(y + rng.normal(size=150), 1)  # rounded: ties exercise the midranks
    b = np.round(0.5 * y + rng.normal(size=150), 1)
    aucs, cov = v.auc_delong(y, [a, b])
    naive_aucs, naive_cov = _delong_naive(y, [a, b])
    assert aucs == pytest.approx(naive_aucs)
    assert cov == pytest.approx(naive_cov)


def test_compare_models_delong_and_bootstrap_agree() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    champion = y + rng.normal(0, 1, 500)
    challenger = y + rng.normal(0, 1.5, 500)
    delong = v.compare_models(y, {"champion": champion, "challenger": challenger})
    assert delong.champion == "champion"
    assert [m.model for m in delong.models] == ["champion", "challenger"]
    (diff,) = delong.comparisons
    assert diff.difference == pytest.approx(v.auc(y, challenger) - v.auc(y, champion))
    _, cov = v.auc_delong(y, [champion, challenger])
    assert diff.se == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    assert diff.z == pytest.approx(diff.difference / diff.se)
    assert diff.p_value == pytest.approx(math.erfc(abs(diff.z) / math.sqrt(2)))
    assert diff.ci_lower == pytest.approx(diff.difference - 1.959964 * diff.se, rel=1e-5)
    assert delong.models[0].gini == pytest.approx(2 * delong.models[0].auc - 1)
    boot = v.compare_models(
        y, {"champion": champion, "challenger": challenger}, method="bootstrap", n_boot=200
    )
    assert boot.comparisons[0].difference == pytest.approx(diff.difference)
    assert boot.comparisons[0].se == pytest.approx(diff.se, rel=0.25)
    assert boot.models[0].se == pytest.approx(delong.models[0].se, rel=0.25)
    assert json.dumps(delong.to_dict(), allow_nan=False)


def test_compare_models_checks_its_arguments() -> None:
    with pytest.raises(ValidationError, match="champion"):
        v.compare_models(Y, {"a": S}, champion="b")
    with pytest.raises(ValidationError, match="method"):
        v.compare_models(Y, {"a": S}, method="wald")
    same = v.compare_models(Y, {"a": S, "b": S})
    assert same.comparisons[0].difference == 0.0
    assert same.to_dict()["comparisons"][0]["p_value"] is None


# --- out of time --------------------------------------------------------------------------------------------


def test_out_of_time_by_hand() -> None:
    y = [0, 1, 0, 1, 0, 0]
    pd_ = [0.1, 0.3, 0.2, 0.1, 0.05, 0.15]
    vintage = ["2024-02", "2024-02", "2024-02", "2024-01", "2024-01", "2024-03"]
    table = v.out_of_time(y, pd_, vintage)
    assert table["vintage"].to_list() == ["2024-01", "2024-02", "2024-03"]
    assert table["count"].to_list() == [2, 3, 1]
    assert table["bads"].to_list() == [1, 1, 0]
    assert table["bad_rate"].to_list() == pytest.approx([0.5, 1 / 3, 0.0])
    assert table["mean_pd"].to_list() == pytest.approx([0.075, 0.2, 0.15])
    # 2024-01: the bad (0.1) outranks the good (0.05): AUC 1. 2024-02: bad 0.3 beats 0.1, 0.2: AUC 1.
    assert table["auc"].to_list() == [1.0, 1.0, None]
    assert table["gini"].to_list() == [1.0, 1.0, None]
    assert table["ks"].to_list() == [1.0, 1.0, None]
    assert json.dumps(v.frame_to_dict(table), allow_nan=False)
