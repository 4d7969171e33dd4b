"""Credit side of the synthetic world (autofin.data.credit): schemas, reproducibility, consistency of
the monthly performance, and realism against the targets in worlds/default.yaml (``credit.targets``,
justified in docs/data-credit.md)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from autofin.data import schemas
from autofin.data.credit import (
    DEFAULT_FEATURES,
    CreditWorld,
    generate_credit,
    ground_truth,
    load_credit_world,
    takeup_features,
)
from autofin.errors import ValidationError

WORLD_FILE = Path(__file__).parents[2] / "src" / "autofin" / "data" / "worlds" / "default.yaml"
SEGMENTS = ("young_urban", "family_mainstream", "prime_professional", "small_business", "value_used")


def fake_population(n: int, seed: int = 7, first_id: int = 0) -> dict[str, pl.DataFrame]:
    """A stand-in for autofin.data.population: ``applicants``, ``bureau``, ``vehicles`` conforming to
    schemas.py, and ``segments`` (the true latent segment). CN-like levels: income ~ lognormal around
    CNY 11,000 a month, prices CNY 100k (economy) to 320k (luxury), 6 % without a bureau file."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    seg = rng.choice(5, n, p=[0.2, 0.3, 0.2, 0.1, 0.2])
    young = seg == 0
    age = np.clip(np.where(young, rng.normal(28, 4, n), rng.normal(41, 10, n)), 18, 75).astype(np.int64)
    income = np.exp(rng.normal(np.log(11_000), 0.45, n) + 0.5 * (seg == 2) - 0.2 * (seg == 4))
    app_date = np.datetime64("2022-01-01") + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")
    employment = np.array(["salaried", "self_employed", "civil_servant"])
    applicants = pl.DataFrame(
        {
            "applicant_id": ids,
            "application_date": pl.Series(app_date, dtype=pl.Date),
            "region": rng.choice(["tier1", "tier2", "tier3", "tier4"], n),
            "area": rng.choice(["urban", "suburban", "rural"], n),
            "channel": rng.choice(["dealer", "online", "branch"], n),
            "customer_type": np.where(seg == 3, "small_business", "individual"),
            "age": age,
            "monthly_income": np.round(income, 2),
            "employment_type": np.where(seg == 3, "business_owner", employment[rng.integers(0, 3, n)]),
            "employment_tenure_months": rng.integers(0, 240, n).astype(np.int64),
            "residence_type": rng.choice(["own", "mortgage", "rent", "family"], n),
            "residence_tenure_months": rng.integers(0, 240, n).astype(np.int64),
            "dependents": rng.integers(0, 4, n).astype(np.int64),
            "first_time_buyer": rng.random(n) < 0.4,
        }
    )
    no_file = rng.random(n) < 0.06
    thin = ~no_file & (rng.random(n) < 0.12)
    score = np.clip(rng.normal(680 + 25 * (seg == 2) - 20 * (seg == 4), 60, n), 300, 900).astype(np.int64)
    bureau = pl.DataFrame(
        {
            "applicant_id": ids,
            "bureau_score": pl.Series(score).set(pl.Series(no_file), None),
            "inquiries_6m": rng.poisson(1.2, n).astype(np.int64),
            "delinquencies_24m": rng.poisson(0.3, n).astype(np.int64),
            "revolving_utilisation": np.clip(rng.beta(2, 4, n) * 1.2, 0, 1.5),
            "thin_file": thin,
            "no_file": no_file,
            "monthly_debt_payments": np.round(income * rng.beta(1.5, 8, n), 2),
        }
    )
    used = (seg == 4) | (rng.random(n) < 0.1)
    vclass = np.where(
        seg == 2, rng.choice(["mid", "luxury"], n), rng.choice(["economy", "mid"], n, p=[0.6, 0.4])
    )
    msrp = np.select([vclass == "economy", vclass == "mid"], [100_000.0, 180_000.0], 320_000.0)
    msrp = msrp * np.exp(rng.normal(0, 0.2, n))
    age_years = np.where(used, rng.integers(1, 8, n), 0).astype(np.int64)
    vehicles = pl.DataFrame(
        {
            "applicant_id": ids,
            "condition": np.where(used, "used", "new"),
            "vehicle_class": vclass,
            "powertrain": rng.choice(["ice", "hybrid", "nev"], n, p=[0.55, 0.15, 0.30]),
            "use": np.where((seg == 3) & (rng.random(n) < 0.6), "commercial", "passenger"),
            "brand": rng.choice(["BYD", "Geely", "VW", "Toyota", "BMW"], n),
            "msrp": np.round(msrp, 2),
            "invoice": np.round(msrp * 0.9, 2),
            "price": np.round(msrp * np.where(used, 0.85**age_years, 0.95), 2),
            "age_years": age_years,
            "mileage_km": (age_years * 15_000).astype(np.int64),
            "residual_36m": np.clip(rng.normal(0.55, 0.06, n), 0.3, 0.8),
        }
    )
    segments = pl.DataFrame({"applicant_id": ids, "segment": np.array(SEGMENTS)[seg]})
    return {"applicants": applicants, "bureau": bureau, "vehicles": vehicles, "segments": segments}


@pytest.fixture(scope="module")
def world() -> CreditWorld:
    return load_credit_world(WORLD_FILE)


@pytest.fixture(scope="module")
def population() -> dict[str, pl.DataFrame]:
    return fake_population(60_000)


@pytest.fixture(scope="module")
def out(world: CreditWorld, population: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return generate_credit(
        world, population, np.random.SeedSequence(5), 36, first_quote_id=30, first_loan_id=7
    )


# ---------------------------------------------------------------- world file


def test_fixture_population_conforms_to_schemas(population: dict[str, pl.DataFrame]) -> None:
    for name in ("applicants", "bureau", "vehicles"):
        schemas.validate(name, population[name])


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(WORLD_FILE.read_text())
    mutate(data["credit"])  # type: ignore[operator]
    path = tmp_path / "credit.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c["pricing"].__setitem__("cap", 1.5), "credit.pricing.cap"),
        (lambda c: c["default"]["coefficients"].pop("ltv"), "credit.default.coefficients.ltv"),
        (lambda c: c["recovery"].__setitem__("lag_months", 0), "credit.recovery.lag_months"),
        (lambda c: c["offers"]["terms"]["loan"].__setitem__(120, 0.1), "credit.offers.terms.loan.120.[key]"),
        (lambda c: c["default"]["macro"].__setitem__("start", "2022-13"), "credit.default.macro.start"),
        (lambda c: c.__setitem__("surprise", 1), "credit.surprise"),
        (lambda c: c["pricing"]["base_rate"].pop("no_file"), "credit"),
    ],
)
def test_bad_world_values_name_the_field(tmp_path: Path, mutate: object, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_credit_world(_write(tmp_path, mutate))
    assert err.value.field == field


def test_world_file_must_have_credit_key(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("population: {}\n")
    with pytest.raises(ValidationError, match="top-level key 'credit'"):
        load_credit_world(path)


def test_world_is_frozen(world: CreditWorld) -> None:
    with pytest.raises(Exception, match="frozen"):
        world.pricing.cap = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------- tables


def test_tables_validate_against_declared_schemas(out: dict[str, pl.DataFrame]) -> None:
    for name in ("quotes", "loans", "performance"):
        schemas.validate(name, out[name])
    assert out["truth_defaults"].columns == ["loan_id", "p_default", "will_default", "default_month"]
    assert out["truth_takeup"].columns == ["quote_id", "p_take"]
    assert out["truth_defaults"].height == out["loans"].height
    assert out["truth_takeup"].height == out["quotes"].height


def test_ids_start_where_asked(out: dict[str, pl.DataFrame]) -> None:
    assert out["quotes"]["quote_id"].min() == 30
    assert out["loans"]["loan_id"].min() == 7
    assert out["loans"]["loan_id"].to_list() == list(range(7, 7 + out["loans"].height))


def test_reproducible_and_seed_sensitive(world: CreditWorld) -> None:
    pop = fake_population(3_000, seed=3)
    seed = np.random.SeedSequence(123)
    a = generate_credit(world, pop, seed, 24)
    b = generate_credit(world, pop, seed, 24)  # the SeedSequence is not consumed
    c = generate_credit(world, pop, np.random.SeedSequence(124), 24)
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["quotes"].equals(c["quotes"])
    d = generate_credit(world, pop, 123, 24)
    assert d["performance"].equals(a["performance"])


def test_quotes_structure(
    world: CreditWorld, out: dict[str, pl.DataFrame], population: dict[str, pl.DataFrame]
) -> None:
    q = out["quotes"].join(population["vehicles"], on="applicant_id")
    per_app = q.group_by("applicant_id").agg(pl.len().alias("n"), pl.col("taken").sum().alias("k"))
    assert per_app["n"].is_between(1, 3).all()
    assert (per_app["k"] <= 1).all()
    assert per_app.height == population["applicants"].height
    assert q.filter(pl.col("product") == "lease")["use"].eq("passenger").all()
    assert (q.filter(pl.col("product") == "loan")["balloon"] == 0).all()
    assert (q["amount_financed"] + q["down_payment"] - q["price"]).abs().max() < 0.011  # type: ignore[operator]
    # LTV within the CN caps (used 70 %, new passenger ICE 80 %)
    ltv = q["amount_financed"] / q["price"]
    assert (ltv.filter(q["condition"] == "used") <= world.offers.ltv_caps.used + 1e-6).all()
    assert (ltv <= world.offers.ltv_caps.passenger_nev + 1e-6).all()
    # payment = annuity with the balloon as a final payment
    i = q["annual_rate"].to_numpy() / 12
    n = q["term_months"].to_numpy()
    v = (1 + i) ** -n
    expected = (q["amount_financed"].to_numpy() - q["balloon"].to_numpy() * v) * i / (1 - v)
    assert np.max(np.abs(expected - q["monthly_payment"].to_numpy())) <= 0.005 + 1e-9
    assert q["annual_rate"].is_between(world.pricing.floor, world.pricing.cap).all()


def test_loans_are_approved_taken_quotes(world: CreditWorld, out: dict[str, pl.DataFrame]) -> None:
    loans = out["loans"]
    taken = out["quotes"].filter("taken")
    assert set(loans["quote_id"].to_list()) <= set(taken["quote_id"].to_list())
    assert (loans["pti"] <= world.approval.max_pti + 1e-12).all()
    assert (loans["dti"] <= world.approval.max_dti + 1e-12).all()
    same = loans.join(taken, on="quote_id", suffix="_q")
    for col in ("annual_rate", "term_months", "monthly_payment", "balloon", "amount_financed", "product"):
        assert (same[col] == same[f"{col}_q"]).all(), col
    assert (loans["vintage"] == loans["origination_date"].dt.strftime("%Y-%m")).all()


def test_performance_rows_are_consistent(world: CreditWorld, out: dict[str, pl.DataFrame]) -> None:
    perf = out["performance"]
    assert (
        perf.select(pl.col("balance", "payment", "prepayment", "default_amount", "recovery").min()).row(0)
    ) >= (0,) * 5
    # consecutive months from 1, one row per month
    shape = perf.group_by("loan_id").agg(
        pl.len().alias("n"),
        pl.col("month_on_book").min().alias("lo"),
        pl.col("month_on_book").max().alias("hi"),
    )
    assert (shape["lo"] == 1).all() and (shape["n"] == shape["hi"]).all()
    assert shape.height == out["loans"].height
    assert perf["month_on_book"].max() <= 36
    # closing statuses are each loan's last row
    last = perf.group_by("loan_id").agg(pl.col("status").last(), pl.col("month_on_book").max())
    closing = perf.filter(pl.col("status").is_in(["prepaid", "matured", "recovered"]))
    assert (
        closing.join(last, on="loan_id", suffix="_last")
        .select((pl.col("month_on_book") == pl.col("month_on_book_last")).all())
        .item()
    )
    closed = perf.filter(pl.col("status").is_in(["prepaid", "matured", "default", "recovered"]))
    assert (closed["balance"] == 0).all()
    # matured loans pay the balloon at maturity and reach their term
    mat = perf.filter(pl.col("status") == "matured").join(out["loans"], on="loan_id")
    assert (mat["month_on_book"] == mat["term_months"]).all()
    assert ((mat["payment"] - mat["balloon"]) >= mat["monthly_payment"] - 0.011).all()


def test_defaulters_go_30_60_90_then_default_then_recover(
    world: CreditWorld, out: dict[str, pl.DataFrame]
) -> None:
    perf = out["performance"]
    lag = world.recovery.lag_months
    d = (
        perf.filter(pl.col("status") == "default")
        .group_by("loan_id")
        .agg(pl.col("month_on_book").min().alias("tau"))
    )
    assert d.height > 100
    path = perf.join(d, on="loan_id").with_columns((pl.col("month_on_book") - pl.col("tau")).alias("rel"))
    expect = {-3: ("dpd30", 30), -2: ("dpd60", 60), -1: ("dpd90", 90), 0: ("default", 120)}
    for rel, (status, dpd) in expect.items():
        rows = path.filter(pl.col("rel") == rel)
        assert rows.height == d.height, rel
        assert (rows["status"] == status).all() and (rows["days_past_due"] == dpd).all()
    assert (path.filter(pl.col("rel") < -3)["status"] == "current").all()
    assert (path.filter(pl.col("rel") == 0)["default_amount"] > 0).all()
    assert (path.filter(pl.col("rel") != 0)["default_amount"] == 0).all()
    # no payment while delinquent; the charged-off amount is the balance left at the first missed payment
    assert (path.filter(pl.col("rel").is_between(-3, 0))["payment"] == 0).all()
    bal = path.filter(pl.col("rel") == -3).select("loan_id", "balance")
    chg = path.filter(pl.col("rel") == 0).select("loan_id", "default_amount")
    assert (
        bal.join(chg, on="loan_id").select((pl.col("balance") - pl.col("default_amount")).abs().max()).item()
    ) < 0.011
    # recoveries exactly lag months after default, only there, below the charged-off amount
    rec = path.filter(pl.col("recovery") > 0)
    assert (rec["rel"] == lag).all() and (rec["status"] == "recovered").all()
    seen = path.filter(pl.col("tau") + lag <= 36)
    assert seen.filter(pl.col("rel") == lag).height == seen["loan_id"].n_unique()
    pair = rec.select("loan_id", "recovery").join(chg, on="loan_id")
    assert (pair["recovery"] < pair["default_amount"]).all()
    # only defaulters ever reach 90 DPD
    dpd90 = perf.filter(pl.col("status") == "dpd90")["loan_id"].unique()
    assert set(dpd90.to_list()) <= set(d["loan_id"].to_list())
    truth = out["truth_defaults"].filter("will_default")
    assert set(truth["loan_id"].to_list()) == set(d["loan_id"].to_list())


def test_transient_delinquencies_cure(out: dict[str, pl.DataFrame]) -> None:
    perf = out["performance"]
    truth = out["truth_defaults"].filter(~pl.col("will_default"))
    nd = perf.join(truth.select("loan_id"), on="loan_id")
    assert nd.filter(pl.col("status") == "dpd30").height > 0
    assert not nd["status"].is_in(["dpd90", "default", "recovered"]).any()
    # a cure pays the arrears: payment = 2 or 3 instalments
    nxt = nd.with_columns(pl.col("status").shift(1).over("loan_id").alias("prev")).filter(
        (pl.col("status") == "current") & (pl.col("prev") == "dpd60")
    )
    pay = nxt.join(out["loans"].select("loan_id", "monthly_payment"), on="loan_id")
    assert ((pay["payment"] / pay["monthly_payment"]).round(2) == 3.0).all()


def test_months_argument_truncates(world: CreditWorld) -> None:
    pop = fake_population(2_000, seed=9)
    res = generate_credit(world, pop, 1, 6)
    assert res["performance"]["month_on_book"].max() <= 6
    schemas.validate("performance", res["performance"])
    with pytest.raises(ValidationError, match="months"):
        generate_credit(world, pop, 1, 0)


def test_unknown_segment_is_rejected(world: CreditWorld) -> None:
    pop = fake_population(100, seed=1)
    pop["segments"] = pop["segments"].with_columns(pl.lit("martians").alias("segment"))
    with pytest.raises(ValidationError, match="take-up"):
        generate_credit(world, pop, 1, 12)


def test_ground_truth_is_json_ready_and_complete(world: CreditWorld) -> None:
    truth = ground_truth(world)
    text = json.dumps(truth)
    back = json.loads(text)
    dm = back["default_model"]
    assert set(dm["coefficients"]) == set(DEFAULT_FEATURES)
    assert set(dm["features"]) == {*DEFAULT_FEATURES, "macro"}
    assert len(dm["macro_by_vintage"]) == len(world.default.macro.values)
    assert set(back["takeup_model"]["coefficients"]) == set(world.takeup.coefficients)
    el = back["takeup_model"]["elasticities_at_reference"]
    for seg in world.takeup.coefficients:
        # demand responds more to maturity than to rate (Attanasio, Goldberg, Kyriazidou 2008)
        assert abs(el[seg]["term_total"]) > abs(el[seg]["rate_total"]), seg
    assert (
        CreditWorld.model_validate(
            {
                k: back[k]
                for k in (
                    "score_bands",
                    "offers",
                    "pricing",
                    "approval",
                    "delinquency",
                    "prepayment",
                    "recovery",
                    "targets",
                )
            }
            | {
                "takeup": world.takeup.model_dump(mode="json"),
                "default": world.default.model_dump(mode="json"),
                "services": {k: back["services"][k] for k in ("price", "attach_probability")},
            }
        )
        == world
    )


# ---------------------------------------------------------------- realism (credit.targets)


def _inside(value: float, rng: object, what: str) -> None:
    low, high = rng.low, rng.high  # type: ignore[attr-defined]
    assert low <= value <= high, f"{what} = {value:.4f} outside [{low}, {high}]"


def test_realism_targets(
    world: CreditWorld, out: dict[str, pl.DataFrame], population: dict[str, pl.DataFrame]
) -> None:
    t = world.targets
    loans, quotes, perf = out["loans"], out["quotes"], out["performance"]
    defaulted = perf.filter(pl.col("status") == "default")["loan_id"].n_unique()
    _inside(defaulted / loans.height, t.cumulative_default_rate, "cumulative default rate")
    _inside(float((loans["term_months"] > 36).mean()), t.term_share_over_36, "term share > 36m")  # type: ignore[arg-type]
    booked = quotes.filter("taken").join(loans.select("quote_id"), on="quote_id")
    down_share = booked["down_payment"] / (booked["down_payment"] + booked["amount_financed"])
    _inside(float(down_share.mean()), t.mean_down_share, "mean down-payment share")  # type: ignore[arg-type]
    _inside(float(quotes["taken"].mean()), t.quote_takeup_rate, "take-up per quote")  # type: ignore[arg-type]
    _inside(loans.height / population["applicants"].height, t.look_to_book, "look-to-book")
    _inside(float(loans["annual_rate"].mean()), t.mean_booked_rate, "mean booked rate")  # type: ignore[arg-type]

    # prepayment speed: SMM by age among loans performing at the start of the month, as % ABS
    open_prev = perf.with_columns(pl.col("status").shift(1).over("loan_id").alias("prev")).filter(
        pl.col("prev").is_null() | pl.col("prev").is_in(["current", "dpd30", "dpd60"])
    )
    by_age = (
        open_prev.filter(pl.col("month_on_book").is_between(3, 24))
        .group_by("month_on_book")
        .agg((pl.col("status") == "prepaid").mean().alias("smm"))
        .with_columns((pl.col("smm") / (1 + pl.col("smm") * (pl.col("month_on_book") - 1))).alias("abs"))
    )
    _inside(float(by_age["abs"].mean()), t.abs_speed, "prepayment speed (% ABS)")  # type: ignore[arg-type]

    # default rate falls monotonically from the lowest to the highest score band
    bands = sorted(world.score_bands, key=lambda b: b.min_score)
    cuts = [b.min_score for b in bands[1:]]
    rates = (
        loans.join(population["bureau"], on="applicant_id")
        .join(out["truth_defaults"], on="loan_id")
        .filter(pl.col("bureau_score").is_not_null())
        .with_columns(pl.sum_horizontal([pl.col("bureau_score") >= c for c in cuts]).alias("band"))
        .group_by("band")
        .agg(pl.col("will_default").mean())
        .sort("band")["will_default"]
        .to_list()
    )
    assert len(rates) == len(bands)
    assert all(a > b for a, b in itertools.pairwise(rates)), rates


def test_takeup_features_reached_flag(
    out: dict[str, pl.DataFrame], population: dict[str, pl.DataFrame]
) -> None:
    tf = takeup_features(population | out)
    # after the taken quote an applicant's later quotes are not reached; before it they all are
    per_app = tf.group_by("applicant_id").agg(
        pl.col("taken").any().alias("any"),
        (~pl.col("reached")).sum().alias("unreached"),
        pl.len().alias("n"),
        pl.col("taken").arg_max().alias("pos"),
    )
    took = per_app.filter("any")
    assert (took["unreached"] == took["n"] - took["pos"] - 1).all()
    assert (per_app.filter(~pl.col("any"))["unreached"] == 0).all()
