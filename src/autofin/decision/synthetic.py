"""The synthetic world as applications: every applicant who came through the door, and what happened.

:func:`world_applications` turns a generated world (:func:`autofin.data.synth.synthesize`) into
validated :class:`~autofin.decision.application.Application` objects - booked, declined by the world's
own policy and walked away alike, since the ``applicants`` table holds every application -, and
:func:`world_outcomes` gives, per applicant, what the world says happened: quoted, taken, booked,
the true default probability and the realised default. With them the decision flow can be run on the
whole world and its approval rate and the bad rates of what it approves and declines reported.

Mapping (world table → application field); all amounts CNY, major units, already whole cents:

* ``applicants``: ``age``, ``region`` (city tier), ``area``, ``channel``, ``customer_type``,
  ``monthly_income``, ``employment_type``, ``employment_tenure_months``, ``residence_type``,
  ``residence_tenure_months``, ``dependents``, ``first_time_buyer`` as they are;
  ``application_date`` → ``submitted_at`` = that date at 00:00 China Standard Time (UTC+08:00);
* ``bureau``: ``bureau_score``, ``thin_file``, ``no_file`` and ``monthly_debt_payments`` → the
  applicant; ``inquiries_6m``, ``delinquencies_24m``, ``revolving_utilisation`` → the bureau block;
* ``vehicles``: ``condition``, ``vehicle_class``, ``powertrain``, ``use``, ``brand``, ``msrp``,
  ``price``, ``age_years``, ``mileage_km`` as they are;
* ``quotes``: the world records no requested structure, only the offers shown; the applicant's
  **first quote** (lowest ``quote_id``, shown before any take-up decision) stands for the wishes:
  ``term_months``, ``down_payment`` (an amount) and ``ownership`` = its product (loan, balloon,
  lease). No ``budget_monthly_payment`` and no services are wished.

Not in the world, filled with fixed documented values: ``jurisdiction`` CN and ``currency`` CNY (the
world's); ``application_id`` = ``world-<applicant_id>``; ``vehicle.model`` = :data:`MODEL_PLACEHOLDER`
(the world draws brands only, and many of them are not in the catalogue's ``known_models``: parse
world applications without ``extras``); ``resident`` true; ``income_verified`` true (the world
models no verification failures, and an unverified income would send every application above
100,000 to an underwriter by refer rule RF-02); ``fraud_flag``, ``bankruptcy_flag``, ``watchlist_hit``
false; ``city`` and ``household_size`` null (household =
dependents + 1); ``inventory_age_days`` 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from autofin.decision.application import Application, parse_application
from autofin.errors import ValidationError

__all__ = [
    "CHINA_STANDARD_TIME",
    "MODEL_PLACEHOLDER",
    "world_applications",
    "world_feature_frame",
    "world_outcomes",
]

#: The world does not name vehicle models; every world application carries this model name.
MODEL_PLACEHOLDER: Final = "unspecified (synthetic world)"
#: CN applications are submitted in China Standard Time.
CHINA_STANDARD_TIME: Final = dt.timezone(dt.timedelta(hours=8), "CST")

_APPLICANT_COLUMNS: Final = (
    "customer_type",
    "age",
    "region",
    "area",
    "channel",
    "monthly_income",
    "employment_type",
    "employment_tenure_months",
    "residence_type",
    "residence_tenure_months",
    "dependents",
    "first_time_buyer",
)
_VEHICLE_COLUMNS: Final = (
    "condition",
    "vehicle_class",
    "powertrain",
    "use",
    "brand",
    "price",
    "msrp",
    "age_years",
    "mileage_km",
)


def _root(world_dir: str | Path) -> Path:
    root = Path(world_dir)
    if not (root / "manifest.json").is_file():
        raise ValidationError("world_dir", str(root), "holds no generated world (manifest.json missing)")
    return root


def _first_quotes(root: Path) -> pl.DataFrame:
    from autofin.data.synth import load

    return (
        load(root, "quotes")
        .sort("quote_id")
        .group_by("applicant_id", maintain_order=True)
        .first()
        .select(
            "applicant_id",
            pl.col("quote_id").alias("first_quote_id"),
            pl.col("product").alias("ownership"),
            pl.col("term_months").alias("wished_term_months"),
            pl.col("down_payment").alias("wished_down_payment"),
            pl.col("monthly_payment").alias("first_quote_payment"),
            pl.col("amount_financed").alias("first_quote_financed"),
        )
    )


def _world_frame(root: Path, limit: int | None = None) -> pl.DataFrame:
    """Applicants joined to their bureau, vehicle and first quote, ``applicant_id`` order."""
    from autofin.data.synth import load

    applicants = load(root, "applicants").sort("applicant_id")
    if limit is not None:
        applicants = applicants.head(limit)
    bureau = load(root, "bureau")
    vehicles = load(root, "vehicles").select("applicant_id", *_VEHICLE_COLUMNS)
    frame = (
        applicants.join(bureau, on="applicant_id", how="left", maintain_order="left")
        .join(vehicles, on="applicant_id", how="left", maintain_order="left")
        .join(_first_quotes(root), on="applicant_id", how="left", maintain_order="left")
    )
    lost = frame.filter(
        pl.col("price").is_null() | pl.col("first_quote_id").is_null() | pl.col("no_file").is_null()
    )
    if lost.height:
        raise ValidationError(
            "world_dir",
            lost["applicant_id"].head(5).to_list(),
            "every applicant needs a bureau row, a vehicle and at least one quote",
        )
    return frame


def _money(value: float) -> Decimal:
    """A currency amount as Decimal (the world's floats are whole cents; ``repr`` round-trips)."""
    return Decimal(repr(float(value))).quantize(Decimal("0.01"))


def _application(row: dict[str, Any]) -> Application:
    applicant = {c: row[c] for c in _APPLICANT_COLUMNS}
    applicant.update(
        monthly_income=_money(row["monthly_income"]),
        monthly_debt_payments=_money(row["monthly_debt_payments"]),
        bureau_score=row["bureau_score"],
        thin_file=row["thin_file"],
        no_file=row["no_file"],
        resident=True,
        income_verified=True,
    )
    vehicle = {c: row[c] for c in _VEHICLE_COLUMNS}
    vehicle.update(model=MODEL_PLACEHOLDER, price=_money(row["price"]), msrp=_money(row["msrp"]))
    day: dt.date = row["application_date"]
    data = {
        "application_id": f"world-{row['applicant_id']}",
        "submitted_at": dt.datetime(day.year, day.month, day.day, tzinfo=CHINA_STANDARD_TIME),
        "jurisdiction": "CN",
        "currency": "CNY",
        "applicant": applicant,
        "vehicle": vehicle,
        "wishes": {
            "term_months": row["wished_term_months"],
            "down_payment": _money(row["wished_down_payment"]),
            "ownership": row["ownership"],
        },
        "bureau": {
            "inquiries_6m": row["inquiries_6m"],
            "delinquencies_24m": row["delinquencies_24m"],
            "revolving_utilisation": Decimal(repr(float(row["revolving_utilisation"]))),
        },
    }
    return parse_application(data)


def world_applications(world_dir: str | Path, *, limit: int | None = None) -> list[tuple[str, Application]]:
    """Every applicant of a generated world as ``(application_id, Application)``, in applicant order
    (the first ``limit`` applicants when given). ``application_id`` is ``world-<applicant_id>``, as in
    :func:`world_outcomes`. See the module docstring for the mapping. Raises
    :class:`~autofin.errors.ValidationError` naming the applicant and the field if a row does not
    make a valid application."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError("limit", limit, "must be None or an integer >= 0")
    frame = _world_frame(_root(world_dir), limit)
    out: list[tuple[str, Application]] = []
    for row in frame.iter_rows(named=True):
        try:
            app = _application(row)
        except ValidationError as exc:
            raise ValidationError(
                f"applicant_id={row['applicant_id']}: {exc.field}", exc.value, exc.rule
            ) from None
        out.append((str(app.application_id), app))
    return out


def world_feature_frame(world_dir: str | Path) -> pl.DataFrame:
    """``applicant_id`` and the :data:`~autofin.decision.scoring.APPLICATION_FEATURES` of every
    applicant, computed vectorised from the world's tables with the mapping of
    :func:`world_applications` - equal to
    :func:`~autofin.decision.scoring.application_feature_frame` of those applications (a test holds
    this)."""
    from autofin.decision.scoring import APPLICATION_FEATURES, FEATURE_SCHEMA

    frame = _world_frame(_root(world_dir))
    financed = pl.col("price") - pl.col("wished_down_payment")
    num = pl.Float64
    return frame.select(
        "applicant_id",
        pl.col("bureau_score").cast(num),
        pl.col("thin_file").cast(num),
        pl.col("no_file").cast(num),
        pl.col("inquiries_6m").cast(num),
        pl.col("delinquencies_24m").cast(num),
        pl.col("revolving_utilisation").cast(num),
        (pl.col("monthly_debt_payments") / pl.col("monthly_income")).alias("debt_to_income"),
        (financed / pl.col("price")).alias("requested_ltv"),
        (financed / pl.col("wished_term_months") / pl.col("monthly_income")).alias("requested_pti"),
        pl.col("wished_term_months").cast(num).alias("term_months"),
        pl.col("monthly_income").cast(num),
        pl.col("employment_tenure_months").cast(num),
        pl.col("condition").cast(pl.String),
        pl.col("powertrain").cast(pl.String),
        pl.col("use").cast(pl.String),
        pl.col("customer_type").cast(pl.String),
    ).cast({f: FEATURE_SCHEMA[f] for f in APPLICATION_FEATURES})


def world_outcomes(world_dir: str | Path) -> pl.DataFrame:
    """What happened to every applicant of a generated world, one row each, ``applicant_id`` order.

    Columns: ``applicant_id`` (Int64), ``application_id`` (``world-<id>``, as in
    :func:`world_applications`), ``segment`` (the true segment), ``quotes`` (offers shown),
    ``taken`` (the applicant took one), ``booked`` (the world's policy approved it: a row in
    ``loans``), ``declined`` (taken but refused by the world's policy), ``loan_id`` (null unless
    booked), ``true_pd`` (the ground truth ``p_default`` of the booked loan, null otherwise),
    ``true_pd_first_quote`` (the ground-truth default model evaluated for every applicant at the first
    quote's structure - product, term, LTV, PTI, DTI - and the application month's macro factor: the
    expected bad rate of applicants the world never booked, an approximation since a booked loan's
    vintage is its origination month, 0-14 days later), and ``bad`` (realised default: status
    ``default`` in the loan's observed performance; null unless booked).
    """
    from autofin.data.credit import DEFAULT_FEATURES, default_features
    from autofin.data.synth import load, scan
    from autofin.data.world import load_world

    root = _root(world_dir)
    world = load_world(root / "world.yaml")
    frame = _world_frame(root)
    quotes = load(root, "quotes")
    loans = load(root, "loans")
    per_applicant = quotes.group_by("applicant_id").agg(
        pl.len().cast(pl.Int64).alias("quotes"), pl.col("taken").any().alias("taken")
    )
    truth = load(root, "truth/defaults").select("loan_id", pl.col("p_default").alias("true_pd"))
    bad = (
        scan(root, "performance")
        .group_by("loan_id")
        .agg((pl.col("status") == "default").any().alias("bad"))
        .collect()
    )
    # The ground-truth default model at the first quote: a pseudo loan per applicant.
    pseudo = frame.select(
        pl.col("applicant_id").alias("loan_id"),
        "applicant_id",
        pl.col("ownership").alias("product"),
        pl.col("application_date").dt.strftime("%Y-%m").alias("vintage"),
        pl.col("wished_term_months").alias("term_months"),
        (pl.col("first_quote_financed") / pl.col("price")).alias("ltv"),
        (pl.col("first_quote_payment") / pl.col("monthly_income")).alias("pti"),
        ((pl.col("first_quote_payment") + pl.col("monthly_debt_payments")) / pl.col("monthly_income")).alias(
            "dti"
        ),
    )
    tables = {
        "loans": pseudo,
        "applicants": load(root, "applicants"),
        "bureau": load(root, "bureau"),
        "vehicles": load(root, "vehicles"),
    }
    x = default_features(world.credit, tables)
    model = world.credit.default
    beta = np.array([getattr(model.coefficients, f) for f in DEFAULT_FEATURES])
    eta = model.intercept + x.select(DEFAULT_FEATURES).to_numpy() @ beta + x["macro"].to_numpy()
    first_pd = pl.DataFrame({"applicant_id": x["loan_id"], "true_pd_first_quote": 1.0 / (1.0 + np.exp(-eta))})
    return (
        frame.select("applicant_id")
        .with_columns((pl.lit("world-") + pl.col("applicant_id").cast(pl.String)).alias("application_id"))
        .join(load(root, "truth/segments"), on="applicant_id", how="left", maintain_order="left")
        .join(per_applicant, on="applicant_id", how="left", maintain_order="left")
        .join(loans.select("applicant_id", "loan_id"), on="applicant_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("quotes").fill_null(0),
            pl.col("taken").fill_null(False),
            pl.col("loan_id").is_not_null().alias("booked"),
        )
        .with_columns((pl.col("taken") & ~pl.col("booked")).alias("declined"))
        .join(truth, on="loan_id", how="left", maintain_order="left")
        .join(first_pd, on="applicant_id", how="left", maintain_order="left")
        .join(bad, on="loan_id", how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("booked")).then(pl.col("bad").fill_null(False)).alias("bad"))
        .select(
            "applicant_id",
            "application_id",
            "segment",
            "quotes",
            "taken",
            "booked",
            "declined",
            "loan_id",
            "true_pd",
            "true_pd_first_quote",
            "bad",
        )
    )
