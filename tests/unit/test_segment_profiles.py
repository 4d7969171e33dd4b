"""Need profiles (autofin.segments.profiles) on tiny hand-made frames: every number worked by hand.

The world below has five applicants in two segments (A = 1, 2; B = 3, 4, 5), six quotes and three
loans whose performance is written out month by month, so each expected value is a line of arithmetic
in the test that checks it.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from autofin.data.credit import TAKEUP_FEATURES, ground_truth, load_credit_world
from autofin.data.world import default_world_path
from autofin.errors import ValidationError
from autofin.segments import profiles as prof
from autofin.segments.profiles import (
    ELASTICITIES,
    REFERENCE_QUOTE,
    SUMMARY_COLUMNS,
    loan_outcomes,
    loan_profitability,
    profile_segments,
    takeup_sensitivity,
    wilson_interval,
)

FUNDING, OPEX = 0.024, 0.012


def tiny_tables(services: bool = True) -> dict[str, pl.DataFrame]:
    tables = {
        "applicants": pl.DataFrame(
            {
                "applicant_id": [1, 2, 3, 4, 5],
                "age": [30, 40, 50, 60, 70],
                "monthly_income": [10_000.0, 20_000.0, 5_000.0, 7_000.0, 9_000.0],
            }
        ),
        "bureau": pl.DataFrame(
            {
                "applicant_id": [1, 2, 3, 4, 5],
                "bureau_score": [700, None, 600, 650, 620],
                "thin_file": [False, False, True, False, False],
                "no_file": [False, True, False, False, False],
            }
        ),
        "vehicles": pl.DataFrame(
            {
                "applicant_id": [1, 2, 3, 4, 5],
                "condition": ["new", "used", "new", "new", "used"],
                "vehicle_class": ["economy", "mid", "luxury", "economy", "economy"],
                "powertrain": ["nev", "ice", "ice", "hybrid", "nev"],
                "use": ["passenger", "passenger", "commercial", "passenger", "passenger"],
                "price": [100_000.0, 50_000.0, 200_000.0, 80_000.0, 40_000.0],
            }
        ),
        # PTI = payment / income; down share = down / price (see each line)
        "quotes": pl.DataFrame(
            {
                "quote_id": [1, 2, 3, 4, 5, 6],
                "applicant_id": [1, 1, 2, 3, 4, 5],
                "product": ["loan", "balloon", "loan", "loan", "lease", "loan"],
                "annual_rate": [0.05, 0.06, 0.07, 0.08, 0.09, 0.10],
                "term_months": [36, 48, 24, 36, 36, 24],
                "down_payment": [30_000.0, 20_000.0, 10_000.0, 60_000.0, 16_000.0, 8_000.0],
                "monthly_payment": [2_000.0, 1_500.0, 4_000.0, 1_000.0, 2_100.0, 900.0],
                "taken": [False, True, True, False, True, True],
            }
        ),
        # applicant 2 took quote 3 but was declined: no loan
        "loans": pl.DataFrame(
            {
                "loan_id": [10, 11, 12],
                "applicant_id": [1, 4, 5],
                "product": ["balloon", "lease", "loan"],
                "amount_financed": [1_000.0, 2_000.0, 3_000.0],
                "term_months": [12, 24, 24],
                "pti": [0.15, 0.30, 0.10],
            }
        ),
        "performance": pl.DataFrame(
            {
                "loan_id": [10, 10, 10, 11, 11, 11, 11, 11, 11, 12, 12],
                "month_on_book": [1, 2, 3, 1, 2, 3, 4, 5, 6, 1, 2],
                "status": [
                    *("current", "current", "prepaid"),
                    *("current", "dpd30", "dpd60", "dpd90", "default", "recovered"),
                    *("current", "current"),
                ],
                "balance": [
                    900.0,
                    800.0,
                    0.0,
                    1_800.0,
                    1_800.0,
                    1_800.0,
                    1_800.0,
                    0.0,
                    0.0,
                    2_800.0,
                    2_600.0,
                ],
                "payment": [110.0, 110.0, 0.0, 250.0, 0.0, 0.0, 0.0, 0.0, 0.0, 300.0, 300.0],
                "prepayment": [0.0, 0.0, 800.0, *[0.0] * 8],
                "default_amount": [*[0.0] * 7, 1_800.0, 0.0, 0.0, 0.0],
                "recovery": [*[0.0] * 8, 900.0, 0.0, 0.0],
            }
        ),
    }
    if services:
        tables["services"] = pl.DataFrame(
            {
                "loan_id": [10, 10, 11],
                "service": ["comprehensive_insurance", "roadside", "comprehensive_insurance"],
                "price": [500.0, 100.0, 800.0],
            }
        )
    return tables


SEGMENTS = pl.DataFrame({"applicant_id": [1, 2, 3, 4, 5], "segment": ["A", "A", "B", "B", "B"]})


def _profile(**kwargs: object) -> prof.Profiles:
    options: dict[str, object] = {
        "funding_rate": FUNDING,
        "opex_rate": OPEX,
        "pti_edges": (0.0, 0.1, 0.2, 0.3),
    }
    options |= kwargs
    tables = options.pop("tables", tiny_tables())
    segments = options.pop("segments", SEGMENTS)
    return profile_segments(tables, segments, **options)  # type: ignore[arg-type]


def _row(p: prof.Profiles, segment: str) -> dict[str, object]:
    return p.summary.filter(pl.col("segment") == segment).row(0, named=True)


# ---------------------------------------------------------------------------------------------------
# who the segments are
# ---------------------------------------------------------------------------------------------------


def test_size_income_age_vehicles_and_bureau() -> None:
    p = _profile()
    a, b = _row(p, "A"), _row(p, "B")
    assert list(p.summary.columns[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
    assert (a["n_applicants"], b["n_applicants"]) == (2, 3)
    assert a["share"] == pytest.approx(0.4) and b["share"] == pytest.approx(0.6)
    # A incomes 10k, 20k: linear quartiles 12.5k / 15k / 17.5k; B 5k, 7k, 9k: 6k / 7k / 8k
    assert (a["income_p25"], a["income_median"], a["income_p75"]) == pytest.approx((12_500, 15_000, 17_500))
    assert (b["income_p25"], b["income_median"], b["income_p75"]) == pytest.approx((6_000, 7_000, 8_000))
    assert (a["age_mean"], b["age_mean"]) == pytest.approx((35.0, 60.0))
    assert (a["share_new"], a["share_used"], b["share_new"]) == pytest.approx((0.5, 0.5, 2 / 3))
    assert (a["share_economy"], a["share_mid"], a["share_luxury"]) == pytest.approx((0.5, 0.5, 0.0))
    assert (b["share_economy"], b["share_luxury"]) == pytest.approx((2 / 3, 1 / 3))
    assert (a["share_nev"], b["share_nev"], a["share_commercial"], b["share_commercial"]) == pytest.approx(
        (0.5, 1 / 3, 0.0, 1 / 3)
    )
    assert (a["price_mean"], b["price_mean"]) == pytest.approx((75_000.0, 320_000.0 / 3))
    # the no-file applicant has no score: the median is of scored applicants only
    assert (a["bureau_score_median"], b["bureau_score_median"]) == (700.0, 620.0)
    assert (a["share_no_file"], a["share_thin_file"], b["share_thin_file"]) == pytest.approx(
        (0.5, 0.0, 1 / 3)
    )


def test_takeup_booking_and_preferences() -> None:
    p = _profile()
    a, b = _row(p, "A"), _row(p, "B")
    assert (a["n_quotes"], a["n_taken"], a["n_booked"]) == (3, 2, 1)
    assert (b["n_quotes"], b["n_taken"], b["n_booked"]) == (3, 2, 2)
    assert (a["takeup_per_quote"], a["takeup_per_applicant"]) == pytest.approx((2 / 3, 1.0))
    assert (b["takeup_per_quote"], b["takeup_per_applicant"]) == pytest.approx((2 / 3, 2 / 3))
    # A: applicant 2's taken quote was declined → approval 1/2, look-to-book 1 loan / 2 applicants
    assert (a["approval_rate"], a["look_to_book"]) == pytest.approx((0.5, 0.5))
    assert (b["approval_rate"], b["look_to_book"]) == pytest.approx((1.0, 2 / 3))
    # taken terms A 48, 24 (tie → shorter is the mode), B 36, 24
    assert (a["term_mode_months"], a["term_mean_months"]) == (24, pytest.approx(36.0))
    assert (b["term_mode_months"], b["term_mean_months"]) == (24, pytest.approx(30.0))
    # taken down shares: A 20k/100k, 10k/50k; B 16k/80k, 8k/40k
    assert (a["down_share_mean"], b["down_share_mean"]) == pytest.approx((0.2, 0.2))
    assert (a["product_share_loan"], a["product_share_balloon"], a["product_share_lease"]) == pytest.approx(
        (0.5, 0.5, 0.0)
    )
    assert (b["product_share_loan"], b["product_share_balloon"], b["product_share_lease"]) == pytest.approx(
        (0.5, 0.0, 0.5)
    )


def test_affordability_pti() -> None:
    p = _profile()
    a, b = _row(p, "A"), _row(p, "B")
    # quoted PTI A: 0.20, 0.15, 0.20 → median 0.20, p90 0.20; B: 0.20, 0.30, 0.10 → 0.20, 0.28
    assert (a["pti_quoted_median"], a["pti_quoted_p90"]) == pytest.approx((0.20, 0.20))
    assert (b["pti_quoted_median"], b["pti_quoted_p90"]) == pytest.approx((0.20, 0.28))
    # booked PTI A: 0.15; B: 0.30, 0.10 → median 0.20, p90 0.10 + 0.9 × 0.20 = 0.28
    assert (a["pti_booked_median"], a["pti_booked_p90"]) == pytest.approx((0.15, 0.15))
    assert (b["pti_booked_median"], b["pti_booked_p90"]) == pytest.approx((0.20, 0.28))


def test_pti_histogram() -> None:
    h = _profile().pti_distribution
    assert h.columns == ["segment", "population", "bin", "bin_low", "bin_high", "count", "share"]

    def counts(segment: str, population: str) -> list[int]:
        part = h.filter((pl.col("segment") == segment) & (pl.col("population") == population)).sort("bin")
        return part["count"].to_list()

    # edges 0, 0.1, 0.2, 0.3 → bins [0, .1), [.1, .2), [.2, .3), [.3, ∞)
    assert counts("A", "booked") == [0, 1, 0, 0]
    assert counts("B", "booked") == [0, 1, 0, 1]
    assert counts("A", "quoted") == [0, 1, 2, 0]
    assert counts("B", "quoted") == [0, 1, 1, 1]
    last = h.filter(pl.col("bin") == 3)
    assert last["bin_high"].is_null().all() and (last["bin_low"] == 0.3).all()
    shares = h.group_by("segment", "population").agg(pl.col("share").sum())["share"]
    assert shares.to_list() == pytest.approx([1.0] * 4)


# ---------------------------------------------------------------------------------------------------
# risk and value
# ---------------------------------------------------------------------------------------------------


def test_loan_outcomes_full_window() -> None:
    t = tiny_tables()
    out = loan_outcomes(t["loans"], t["performance"], window_months=36).sort("loan_id")
    # 10 prepaid (closed, no default), 11 defaulted in month 5 ≤ min(24, 36), 12 seen 2 of 24 months
    assert out["full_window"].to_list() == [True, True, False]
    assert out["defaulted"].to_list() == [False, True, False]
    assert out["observed_months"].to_list() == [3, 6, 2]
    # a window of 4 months: loan 11's default in month 5 falls outside it; loan 12 still censored
    short = loan_outcomes(t["loans"], t["performance"], window_months=4).sort("loan_id")
    assert short["defaulted"].to_list() == [False, False, False]
    assert short["full_window"].to_list() == [True, True, False]


def test_default_rate_with_wilson_interval_and_model_pd() -> None:
    pd_frame = pl.DataFrame({"applicant_id": [1, 4, 5], "pd": [0.02, 0.10, 0.04]})
    p = _profile(pd=pd_frame)
    a, b = _row(p, "A"), _row(p, "B")
    assert (a["n_full_window"], a["n_defaulted"], a["default_rate"]) == (1, 0, 0.0)
    assert (b["n_full_window"], b["n_defaulted"], b["default_rate"]) == (1, 1, 1.0)
    z2 = 1.959963984540054**2
    assert (a["default_rate_low"], a["default_rate_high"]) == pytest.approx((0.0, z2 / (1 + z2)))
    assert (b["default_rate_low"], b["default_rate_high"]) == pytest.approx((1 / (1 + z2), 1.0))
    assert (a["n_pd"], a["pd_mean"], b["n_pd"], b["pd_mean"]) == (
        1,
        pytest.approx(0.02),
        2,
        pytest.approx(0.07),
    )
    no_pd = _profile()
    assert no_pd.summary["pd_mean"].is_null().all()
    assert any("no model PD" in n for n in no_pd.notes)


def test_wilson_interval_published_examples() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat. Med. 17:857,
    # Table I, method 3 (score interval without continuity correction)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert wilson_interval(0, 0) == (None, None)
    with pytest.raises(ValidationError, match="successes"):
        wilson_interval(3, 2)


def test_profitability_per_loan() -> None:
    t = tiny_tables()
    out = loan_profitability(t["loans"], t["performance"], funding_rate=FUNDING, opex_rate=OPEX).sort(
        "loan_id"
    )
    # loan 10: cash 110 + 110 + 800 = 1020, principal repaid 1000 → interest 20; opening balances
    # 1000 + 900 + 800 = 2700 CNY-months → funding 2700 × 2.4 %/12 = 5.4, opex 2.7; profit 11.9
    # loan 11: cash 250, principal repaid 2000 − 1800 charged off = 200 → interest 50; opening
    # 2000 + 4 × 1800 + 0 = 9200 → funding 18.4, opex 9.2; net loss 1800 − 900 = 900; profit −877.6
    # loan 12: cash 600, principal repaid 3000 − 2600 = 400 → interest 200; opening 5800 → 11.6, 5.8
    assert out["interest"].to_list() == pytest.approx([20.0, 50.0, 200.0])
    assert out["funding_cost"].to_list() == pytest.approx([5.4, 18.4, 11.6])
    assert out["opex"].to_list() == pytest.approx([2.7, 9.2, 5.8])
    assert out["net_credit_loss"].to_list() == pytest.approx([0.0, 900.0, 0.0])
    assert out["profit"].to_list() == pytest.approx([11.9, -877.6, 182.6])
    assert out["balance_years"].to_list() == pytest.approx([225.0, 9200 / 12, 5800 / 12])


def test_profitability_per_segment() -> None:
    p = _profile()
    a, b = _row(p, "A"), _row(p, "B")
    assert (a["profit_per_loan"], a["interest_per_loan"]) == pytest.approx((11.9, 20.0))
    assert a["profit_per_cny_financed"] == pytest.approx(11.9 / 1_000)
    assert a["return_on_balance_annual"] == pytest.approx(11.9 / 225)
    assert (b["profit_per_loan"], b["net_credit_loss_per_loan"]) == pytest.approx((-347.5, 450.0))
    assert (b["funding_cost_per_loan"], b["opex_per_loan"]) == pytest.approx((15.0, 7.5))
    assert b["profit_per_cny_financed"] == pytest.approx(-695 / 5_000)
    assert b["return_on_balance_annual"] == pytest.approx(-695 / ((9_200 + 5_800) / 12))


def test_service_attach_rates() -> None:
    p = _profile()
    a, b = _row(p, "A"), _row(p, "B")
    assert (a["attach_comprehensive_insurance"], a["attach_roadside"]) == pytest.approx((1.0, 1.0))
    assert (b["attach_comprehensive_insurance"], b["attach_roadside"]) == pytest.approx((0.5, 0.0))
    assert (a["service_revenue_per_loan"], b["service_revenue_per_loan"]) == pytest.approx((600.0, 400.0))
    s = p.services.filter((pl.col("segment") == "B") & (pl.col("service") == "comprehensive_insurance"))
    assert s.select("n_loans", "attached").row(0) == (2, 1)
    assert s["revenue_per_loan"][0] == pytest.approx(400.0)
    assert (s["attach_low"][0], s["attach_high"][0]) == pytest.approx(wilson_interval(1, 2))
    # kinds asked for but never attached are reported as 0, not left out
    more = _profile(service_kinds=["comprehensive_insurance", "roadside", "maintenance"])
    assert _row(more, "A")["attach_maintenance"] == 0.0


def test_services_absent_gives_null_attach_rates_and_a_note() -> None:
    p = _profile(tables=tiny_tables(services=False))
    assert p.services.height == 0
    assert p.summary["service_revenue_per_loan"].is_null().all()
    assert not [c for c in p.summary.columns if c.startswith("attach_")]
    assert any("no services table" in n for n in p.notes)


def test_to_dict_is_json_ready() -> None:
    import json

    d = _profile().to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "NaN" not in text
    assert {r["segment"] for r in d["summary"]} == {"A", "B"}
    assert d["parameters"]["reference_quote"] == REFERENCE_QUOTE.model_dump()
    # the tiny world has too few quotes to fit a take-up model: said so, numbers null
    assert all(r["status"].startswith("not fitted") for r in d["takeup"])
    assert all(r["elasticity_rate"] is None for r in d["takeup"])


def test_unlabelled_applicants_are_left_out_with_a_note() -> None:
    p = _profile(segments=SEGMENTS.filter(pl.col("applicant_id") != 5))
    b = _row(p, "B")
    assert (b["n_applicants"], b["n_booked"], b["n_quotes"]) == (2, 1, 2)
    assert b["share"] == pytest.approx(0.5)
    assert any("1 applicant(s) without a segment label" in n for n in p.notes)


def test_any_segment_column_and_dtype() -> None:
    clusters = SEGMENTS.select("applicant_id", pl.col("segment").replace({"A": "0", "B": "1"}).cast(pl.Int64))
    p = _profile(segments=clusters.rename({"segment": "cluster"}), segment_column="cluster")
    assert p.summary["segment"].to_list() == ["0", "1"]
    assert p.summary["n_applicants"].to_list() == [2, 3]


# ---------------------------------------------------------------------------------------------------
# take-up sensitivity
# ---------------------------------------------------------------------------------------------------


def test_elasticities_reuse_the_data_package_definition() -> None:
    world = load_credit_world(default_world_path())
    truth = ground_truth(world)["takeup_model"]["elasticities_at_reference"]
    for segment, coefs in world.takeup.coefficients.items():
        got = prof._elasticities(coefs.model_dump(), world.takeup.reference)
        assert got == pytest.approx(truth[segment], rel=1e-12)


def _synthetic_takeup(n: int, beta: dict[str, float], seed: int, lease: bool = True) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = {
        "rate_pct": rng.uniform(3, 12, n),
        "pti_pct": rng.uniform(5, 45, n),
        "term_years": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n),
        "down_share": rng.choice([0.2, 0.3, 0.4, 0.5], n),
        "balloon": (rng.random(n) < 0.25).astype(float),
        "lease": ((rng.random(n) < 0.15) & lease).astype(float),
    }
    x["lease"] = np.where(x["balloon"] > 0, 0.0, x["lease"])
    eta = beta["intercept"] + sum(beta[f] * x[f] for f in TAKEUP_FEATURES)
    taken = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pl.DataFrame({"segment": "S", "reached": True, **x, "taken": taken})


BETA = {
    "intercept": 0.8,
    "rate_pct": -0.10,
    "pti_pct": -0.075,
    "term_years": 0.45,
    "down_share": -2.2,
    "balloon": 0.3,
    "lease": 0.4,
}


def test_takeup_fit_recovers_coefficients_and_elasticities() -> None:
    frame = _synthetic_takeup(40_000, BETA, seed=3)
    # unreached quotes are ignored: add rows that would wreck the fit if they were used
    junk = frame.head(5_000).with_columns(pl.lit(False).alias("reached"), pl.lit(True).alias("taken"))
    out = takeup_sensitivity(pl.concat([frame, junk]), reference=REFERENCE_QUOTE)
    row = out.row(0, named=True)
    assert (row["status"], row["n_reached"]) == ("fitted", 40_000)
    for name, true in BETA.items():
        assert abs(row[f"coef_{name}"] - true) <= 4 * row[f"se_{name}"], name
    truth = prof._elasticities(BETA, REFERENCE_QUOTE)
    for e in ELASTICITIES:
        assert abs(row[f"elasticity_{e}"] - truth[e]) <= 4 * row[f"elasticity_{e}_se"], e


def test_delta_method_se_of_p_take_matches_the_closed_form() -> None:
    # p = logistic(xᵀβ) at the reference ⇒ SE(p) = p(1 − p)·√(xᵀ Σ x), x = (1, 6, 20, 3, 0.3, 0, 0)
    frame = _synthetic_takeup(20_000, BETA, seed=5)
    row = takeup_sensitivity(frame).row(0, named=True)
    x = pl.DataFrame(frame.select(TAKEUP_FEATURES)).to_numpy()
    _, cov = prof.fit_takeup(x, frame["taken"].to_numpy())
    ref = np.array([1.0, 6.0, 20.0, 3.0, 0.3, 0.0, 0.0])
    p = row["elasticity_p_take_at_reference"]
    assert row["elasticity_p_take_at_reference_se"] == pytest.approx(
        p * (1 - p) * math.sqrt(ref @ cov @ ref), rel=1e-5
    )


def test_constant_feature_is_left_out_and_small_segments_are_not_fitted() -> None:
    no_lease = _synthetic_takeup(5_000, BETA, seed=7, lease=False)
    row = takeup_sensitivity(no_lease).row(0, named=True)
    assert row["status"] == "fitted" and row["coef_lease"] is None and row["coef_balloon"] is not None
    small = takeup_sensitivity(no_lease.head(50), min_reached=200).row(0, named=True)
    assert small["status"].startswith("not fitted: 50 reached quotes")
    assert small["elasticity_rate"] is None
    one_class = takeup_sensitivity(no_lease.with_columns(pl.lit(False).alias("taken"))).row(0, named=True)
    assert one_class["status"].startswith("not fitted: needs both taken and untaken")


# ---------------------------------------------------------------------------------------------------
# errors name the field
# ---------------------------------------------------------------------------------------------------


def test_missing_table_and_missing_column() -> None:
    t = tiny_tables()
    del t["performance"]
    with pytest.raises(ValidationError, match="performance") as exc:
        profile_segments(t, SEGMENTS)
    assert exc.value.field == "tables"
    t = tiny_tables()
    t["quotes"] = t["quotes"].drop("taken")
    with pytest.raises(ValidationError) as exc:
        profile_segments(t, SEGMENTS)
    assert exc.value.field == "tables.quotes" and exc.value.value == ["taken"]
    t = tiny_tables()
    t["services"] = t["services"].drop("price")
    with pytest.raises(ValidationError) as exc:
        profile_segments(t, SEGMENTS)
    assert exc.value.field == "tables.services"
    with pytest.raises(ValidationError) as exc:
        takeup_sensitivity(pl.DataFrame({"segment": ["S"]}))
    assert exc.value.field == "takeup_features"


@pytest.mark.parametrize(
    ("segments", "column", "field", "rule"),
    [
        (SEGMENTS, "cluster", "segments.cluster", "is not a column"),
        (SEGMENTS.drop("applicant_id"), "segment", "segments.applicant_id", "is required"),
        (SEGMENTS.head(0), "segment", "segments", "at least one applicant"),
        (
            SEGMENTS.with_columns(pl.col("segment").cast(pl.Enum(["A", "B", "C"]))),
            "segment",
            "segments.segment",
            "no applicants",
        ),
        (
            SEGMENTS.with_columns(pl.lit(None, pl.String).alias("segment")),
            "segment",
            "segments.segment",
            "null",
        ),
        (SEGMENTS.with_columns(pl.lit(" ").alias("segment")), "segment", "segments.segment", "empty label"),
        (pl.concat([SEGMENTS, SEGMENTS.head(1)]), "segment", "segments.applicant_id", "once"),
        (
            pl.concat([SEGMENTS, pl.DataFrame({"applicant_id": [99], "segment": ["A"]})]),
            "segment",
            "segments.applicant_id",
            "not in tables.applicants",
        ),
    ],
)
def test_bad_segment_labelling(segments: pl.DataFrame, column: str, field: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as exc:
        profile_segments(tiny_tables(), segments, segment_column=column)
    assert exc.value.field == field


def test_bad_parameters() -> None:
    with pytest.raises(ValidationError) as exc:
        _profile(pd=pl.DataFrame({"applicant_id": [1], "pd": [1.5]}))
    assert exc.value.field == "pd.pd"
    with pytest.raises(ValidationError) as exc:
        _profile(pd=pl.DataFrame({"applicant_id": [1]}))
    assert exc.value.field == "pd"
    with pytest.raises(ValidationError) as exc:
        _profile(pti_edges=(0.2, 0.1))
    assert exc.value.field == "pti_edges"
    with pytest.raises(ValidationError) as exc:
        _profile(funding_rate=-0.01)
    assert exc.value.field == "funding_rate"
    with pytest.raises(ValidationError) as exc:
        _profile(window_months=0)
    assert exc.value.field == "window_months"


def test_profile_world_refuses_a_missing_directory(tmp_path: object) -> None:
    with pytest.raises(ValidationError) as exc:
        prof.profile_world("/nonexistent/world", "truth")
    assert exc.value.field == "world_dir"
