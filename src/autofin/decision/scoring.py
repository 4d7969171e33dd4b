"""The application risk score: scorecard points, PD and reason codes for one application, fast.

This is the "risk: PD, score, reason codes" step of a decision (DESIGN.md, "One request, end to end").
It reads only what an :class:`~autofin.decision.application.Application` carries - the applicant, the
vehicle, the wishes and the platform's bureau block - turned into :data:`APPLICATION_FEATURES` by
:func:`application_features`, and scores them with a fitted :class:`autofin.risk.scorecard.Scorecard`
(optimal monotonic WOE bins, logistic regression, points on the default scale: 600 points at 19:1
good:bad odds, 50 points to double the odds - the scale the policy tables' cut-offs expect).

* :class:`ApplicationScorer` wraps a fitted scorecard and its registry reference (``"name:version"``,
  with ``@`` and 16 hex digits of the artefact's SHA-256 when it comes from the registry).
  :meth:`ApplicationScorer.assess` scores one application in pure Python from lookup tables compiled
  once from the scorecard's own published bins (:meth:`Scorecard.to_json`): no polars frame per call.
  :meth:`ApplicationScorer.assess_frame` scores a frame with the scorecard's vectorised path; a test
  holds the two equal (points to 1e-9, the same reasons).
* :func:`train_application_scorecard` fits the scorecard on a synthetic world's booked loans, with the
  application features their applicants had when they applied (:mod:`autofin.decision.synthetic`),
  the realised default as target and the out-of-time split by vintage of
  :func:`autofin.risk.train.synthetic_split`.
* :func:`demo_scorer` gives a ready scorer from a :class:`~autofin.risk.registry.Registry`: the
  champion of ``pd-application``, trained on a seeded synthetic world and registered on first use.

Units: points are scorecard points (higher = safer); PD is a probability (0-1) of default within the
loan's observation window; reasons carry the points lost against the feature's best bin. The guide is
docs/decisions-scoring.md.
"""

from __future__ import annotations

import bisect
import json
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from autofin.errors import ValidationError
from autofin.risk.reasons import MAX_REASONS, Reason, ReasonCatalog

if TYPE_CHECKING:
    from autofin.decision.application import Application
    from autofin.risk.registry import ModelMeta, Registry
    from autofin.risk.scorecard import Scorecard

__all__ = [
    "APPLICATION_FEATURES",
    "APPLICATION_MIN_IV",
    "APPLICATION_REASONS",
    "CATEGORICAL_FEATURES",
    "DEMO_APPLICANTS",
    "DEMO_MODEL_NAME",
    "DEMO_SEED",
    "FEATURE_SCHEMA",
    "FEATURE_TRENDS",
    "ApplicationScorer",
    "RiskAssessment",
    "application_feature_frame",
    "application_features",
    "demo_scorer",
    "train_application_scorecard",
]

#: The application-time features, in frame column order. Every one is computable from an
#: :class:`Application` alone and exists with the same meaning in the synthetic world's tables
#: (``applicants``, ``bureau``, ``vehicles`` and the applicant's first quote):
#:
#: * ``bureau_score`` (points, null = no score), ``thin_file``, ``no_file`` (0/1);
#: * ``inquiries_6m``, ``delinquencies_24m`` (counts), ``revolving_utilisation`` (fraction) from the
#:   bureau block (null when the application has none);
#: * ``debt_to_income``: existing monthly debt payments / gross monthly income (fraction; the new
#:   loan's payment is not known yet);
#: * ``requested_ltv``: (price - wished down payment) / price (fraction); ``requested_pti``:
#:   (price - wished down payment) / wished term / gross monthly income (fraction; the payment at
#:   0 % interest, a lower bound of the true PTI). Both null when no down payment is wished: the
#:   product's minimum is not known before the offer menu, so the scorecard's *missing* bin applies
#:   (no training record has it, so its WOE is 0: the feature's average risk);
#: * ``term_months`` (wished term, months), ``monthly_income`` (gross, currency units per month),
#:   ``employment_tenure_months`` (months);
#: * ``condition``, ``powertrain``, ``use``, ``customer_type`` (categories).
#:
#: Left out on purpose: protected attributes and their proxies - ``age`` (a prohibited basis under
#: Reg B, and :meth:`ReasonCatalog.default` deliberately gives it no reason), ``region`` and ``area``
#: (geography) - and what the world does not carry at application time (the payment, the rate).
APPLICATION_FEATURES: Final[tuple[str, ...]] = (
    "bureau_score",
    "thin_file",
    "no_file",
    "inquiries_6m",
    "delinquencies_24m",
    "revolving_utilisation",
    "debt_to_income",
    "requested_ltv",
    "requested_pti",
    "term_months",
    "monthly_income",
    "employment_tenure_months",
    "condition",
    "powertrain",
    "use",
    "customer_type",
)
#: The features binned as categories (compared as strings).
CATEGORICAL_FEATURES: Final[tuple[str, ...]] = ("condition", "powertrain", "use", "customer_type")
#: Column dtypes of :func:`application_feature_frame`: numbers as Float64, categories as String.
FEATURE_SCHEMA: Final[Mapping[str, type[pl.DataType]]] = {
    f: (pl.String if f in CATEGORICAL_FEATURES else pl.Float64) for f in APPLICATION_FEATURES
}
#: The business-sense direction of each numerical feature's bad rate (optbinning's ``monotonic_trend``,
#: passed as the scorecard's ``trend_overrides``): riskier with more inquiries, delinquencies,
#: utilisation, debt, LTV, PTI and term; safer with a higher score, income and employment tenure.
FEATURE_TRENDS: Final[Mapping[str, str]] = {
    "bureau_score": "descending",
    "inquiries_6m": "ascending",
    "delinquencies_24m": "ascending",
    "revolving_utilisation": "ascending",
    "debt_to_income": "ascending",
    "requested_ltv": "ascending",
    "requested_pti": "ascending",
    "term_months": "ascending",
    "monthly_income": "descending",
    "employment_tenure_months": "descending",
}
#: Minimum information value of a feature in the application scorecard (the Scorecard default is 0.02).
#: Lower on purpose: in the synthetic world the capacity drivers (debt-to-income, LTV, PTI, term) are
#: weak *univariately* - cheap cars go with low incomes - yet carry signal once score and income are
#: in (holdout AUC 0.807 → 0.813 on the demo world); the sign check keeps only sensible drivers.
APPLICATION_MIN_IV: Final = 0.005
#: autofin's reason catalog plus the application features' own names, pointing at the existing
#: codes (``DTI``, ``LTV``, ``PTI``): the texts are the default catalog's, so they pass its validator.
APPLICATION_REASONS: Final[ReasonCatalog] = ReasonCatalog.default().merged(
    {
        "debt_to_income": ReasonCatalog.default()["dti"],
        "requested_ltv": ReasonCatalog.default()["ltv"],
        "requested_pti": ReasonCatalog.default()["pti"],
    }
)
#: The demo model: its registry name, and the seeded synthetic world it is trained on.
DEMO_MODEL_NAME: Final = "pd-application"
DEMO_SEED: Final = 20261128
DEMO_APPLICANTS: Final = 20_000
DEMO_MONTHS: Final = 36

FeatureValue = float | str | None
_DESCRIPTION: Final = "application scorecard (autofin.decision.scoring) on a synthetic world's booked loans"


# -- features ----------------------------------------------------------------------------------------


def application_features(app: Application) -> dict[str, FeatureValue]:
    """The :data:`APPLICATION_FEATURES` of one application (numbers as floats, categories as strings,
    ``None`` for missing). Money ratios are computed in float from the application's Decimal amounts."""
    a, v, w, b = app.applicant, app.vehicle, app.wishes, app.bureau
    income = float(a.monthly_income)
    price = float(v.price)
    down = app.down_payment_amount
    if down is None:
        ltv: float | None = None
        pti: float | None = None
    else:
        financed = price - float(down)
        ltv = financed / price
        pti = financed / w.term_months / income
    return {
        "bureau_score": None if a.bureau_score is None else float(a.bureau_score),
        "thin_file": 1.0 if a.thin_file else 0.0,
        "no_file": 1.0 if a.no_file else 0.0,
        "inquiries_6m": None if b is None or b.inquiries_6m is None else float(b.inquiries_6m),
        "delinquencies_24m": None if b is None or b.delinquencies_24m is None else float(b.delinquencies_24m),
        "revolving_utilisation": (
            None if b is None or b.revolving_utilisation is None else float(b.revolving_utilisation)
        ),
        "debt_to_income": float(a.monthly_debt_payments) / income,
        "requested_ltv": ltv,
        "requested_pti": pti,
        "term_months": float(w.term_months),
        "monthly_income": income,
        "employment_tenure_months": float(a.employment_tenure_months),
        "condition": v.condition,
        "powertrain": v.powertrain,
        "use": v.use,
        "customer_type": a.customer_type,
    }


def application_feature_frame(apps: Iterable[Application]) -> pl.DataFrame:
    """:func:`application_features` of many applications as a frame (columns and dtypes of
    :data:`FEATURE_SCHEMA`, one row per application, in order)."""
    rows = [application_features(app) for app in apps]
    return pl.DataFrame(rows, schema=dict(FEATURE_SCHEMA), orient="row")


# -- the assessment ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The risk of one application.

    Attributes:
        points: scorecard score in points (higher = safer; 600 points at 19:1 good:bad odds, 50 points
            to double the odds unless the scorecard says otherwise).
        pd: probability of default (0-1) within the observation window the model was trained on.
        reasons: at most four principal reasons, largest first; each :class:`Reason` has the code, the
            English and zh-CN texts and ``impact`` = points lost against the feature's best bin.
        model: the scorecard's registry reference, ``"name:version"``.
    """

    points: float
    pd: float
    reasons: tuple[Reason, ...]
    model: str

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes, largest impact first."""
        return tuple(r.code for r in self.reasons)


@dataclass(frozen=True, slots=True)
class _CompiledFeature:
    """One feature's bins as plain Python lookups (the layout of the scorecard's ``_FeatureBins``:
    regular bins, then special bins, then missing, then unknown category)."""

    name: str
    categorical: bool
    splits: tuple[float, ...]
    special: tuple[tuple[int, frozenset[float]], ...]
    categories: Mapping[str, int]
    missing: int
    unknown: int
    points: tuple[float, ...]
    woe: tuple[float, ...]
    coefficient: float
    max_points: float

    def index(self, value: FeatureValue) -> int:
        """The bin of ``value`` (equal to ``_FeatureBins.bin_indices`` on a one-row column)."""
        if value is None:
            return self.missing
        if self.categorical:
            return self.categories.get(str(value), self.unknown)
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValidationError(self.name, value, "must be a number (numerical feature)") from None
        if math.isnan(x):
            return self.missing
        idx = bisect.bisect_right(self.splits, x)
        for b, values in self.special:
            if x in values:
                idx = b
        return idx


def _compile_feature(doc: Mapping[str, Any]) -> _CompiledFeature:
    categorical = doc["dtype"] == "categorical"
    splits = tuple(float(s) for s in doc["splits"])
    n_regular = len(doc["categories"]) if categorical else len(splits) + 1
    special = tuple(
        (n_regular + s, frozenset(float(v) for v in entry["values"]))
        for s, entry in enumerate(doc["special"])
        if not categorical
    )
    table: dict[str, int] = {}
    if categorical:
        for b, cats in enumerate(doc["categories"]):
            for c in cats:
                table[str(c)] = b
        for s, entry in enumerate(doc["special"]):
            for v in entry["values"]:
                table[str(v)] = n_regular + s
    missing = n_regular + len(doc["special"])
    counts = [g + b for g, b in zip(doc["n_good"], doc["n_bad"], strict=True)]
    points = tuple(float(p) for p in doc["points"])
    seen = [p for p, c in zip(points, counts, strict=False) if c > 0]
    return _CompiledFeature(
        name=str(doc["name"]),
        categorical=categorical,
        splits=splits,
        special=special,
        categories=table,
        missing=missing,
        unknown=missing + 1,
        points=points,
        woe=tuple(float(w) for w in doc["woe"]),
        coefficient=float(doc["coefficient"]),
        max_points=max(seen),
    )


class ApplicationScorer:
    """Scores applications with a fitted application scorecard.

    Args:
        scorecard: a fitted :class:`~autofin.risk.scorecard.Scorecard` whose features are (a subset of)
            :data:`APPLICATION_FEATURES`, e.g. from :func:`train_application_scorecard` or a registry.
        model: its registry reference ``"name:version"`` (carried on every assessment, so a decision
            can be replayed with the same model).

    The scorecard's bins, points, WOE and coefficients are read once from its published JSON
    (:meth:`Scorecard.to_json`) into per-feature lookups, so :meth:`assess` needs no DataFrame. Its
    reason catalog (fit it with :data:`APPLICATION_REASONS`, as :func:`train_application_scorecard`
    does) must give every feature a reason; otherwise :class:`~autofin.errors.ValidationError`.
    """

    def __init__(self, scorecard: Scorecard, model: str) -> None:
        if not isinstance(model, str) or not model:
            raise ValidationError("model", model, "must be the registry reference 'name:version'")
        doc = json.loads(scorecard.to_json())
        # The single-row path adds coefficient x WOE per bin; it does not derive family summaries or
        # add per-bin deviations, so a scorecard fitted with either is refused rather than misscored.
        if doc.get("families") or any(f.get("deviation") for f in doc["features"]):
            raise ValidationError(
                "scorecard",
                model,
                "the application scorer reads plain WOE scorecards (no deviation_C, no column families)",
            )
        features = [f["name"] for f in doc["features"]]
        unknown = sorted(set(features) - set(APPLICATION_FEATURES))
        if unknown:
            raise ValidationError(
                "scorecard.features", unknown, "must be application features (APPLICATION_FEATURES)"
            )
        # The scorecard's own catalog, with its own fallback, so both paths give the same reasons.
        catalog = scorecard.reason_catalog
        if catalog is None:
            catalog = ReasonCatalog.default()
        catalog.require(features)
        self._scorecard = scorecard
        self.model = model
        self._features = tuple(_compile_feature(f) for f in doc["features"])
        self._intercept = float(doc["intercept"])
        entries = [catalog[f] for f in features]
        codes = list(dict.fromkeys(e.code for e in entries))
        self._entries = tuple(entries)
        self._groups = tuple(tuple(j for j, e in enumerate(entries) if e.code == code) for code in codes)
        self._one_per_code = len(codes) == len(features)

    def __repr__(self) -> str:
        return f"ApplicationScorer({self.model!r}, features={list(self.features)})"

    @classmethod
    def from_registry(
        cls, registry: Registry, name: str = DEMO_MODEL_NAME, version: int | str = "champion"
    ) -> ApplicationScorer:
        """The scorer of a registered scorecard (``version``: a number, ``"champion"`` or
        ``"challenger"``); refuses a model that is not a scorecard."""
        meta = registry.meta(name, version)
        if meta.kind != "scorecard":
            raise ValidationError("kind", meta.kind, f"{name}:{meta.version} must be a scorecard")
        ref = f"{name}:{meta.version}"
        if meta.model_sha256 is not None:  # the artefact's content, so the stamp tells models apart
            ref = f"{ref}@{meta.model_sha256[:16]}"
        return cls(registry.load(name, meta.version or version), ref)

    @property
    def scorecard(self) -> Scorecard:
        """The wrapped scorecard."""
        return self._scorecard

    @property
    def features(self) -> tuple[str, ...]:
        """The scorecard's features, in model order."""
        return tuple(f.name for f in self._features)

    def assess(self, app: Application) -> RiskAssessment:
        """Points, PD and up to four reasons of one application (pure Python; see the class)."""
        return self.assess_features(application_features(app))

    def assess_features(self, row: Mapping[str, FeatureValue]) -> RiskAssessment:
        """Like :meth:`assess`, from a feature mapping (:func:`application_features`)."""
        total = 0.0
        logit = self._intercept
        lost: list[float] = []
        for f in self._features:
            if f.name not in row:
                raise ValidationError("features", f.name, "is a model feature missing from the row")
            i = f.index(row[f.name])
            p = f.points[i]
            total += p
            logit += f.woe[i] * f.coefficient
            lost.append(f.max_points - p)
        pd_ = 1.0 / (1.0 + math.exp(-logit))
        return RiskAssessment(points=total, pd=pd_, reasons=self._rank(lost), model=self.model)

    def _rank(self, lost: Sequence[float]) -> tuple[Reason, ...]:
        """:func:`autofin.risk.reasons.rank_reasons` for one row, in plain Python (same order, same
        grouping of features that share a code, same ties)."""
        if self._one_per_code:
            totals = list(lost)
            tops = list(range(len(lost)))
        else:
            totals, tops = [], []
            for members in self._groups:
                if len(members) == 1:
                    totals.append(lost[members[0]])
                    tops.append(members[0])
                else:
                    totals.append(sum(lost[j] for j in members if lost[j] > 0.0))
                    tops.append(max(members, key=lambda j: (lost[j], -j)))
        order = sorted(range(len(totals)), key=lambda g: -totals[g])[:MAX_REASONS]
        out: list[Reason] = []
        for g in order:
            if not totals[g] > 0.0:
                break
            j = tops[g]
            e = self._entries[j]
            out.append(Reason(e.code, self._features[j].name, e.en, e.zh_cn, float(totals[g])))
        return tuple(out)

    def assess_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Vectorised: ``points``, ``pd`` and ``reason_1`` … ``reason_4`` (codes, null when fewer) of
        every row of a feature frame (:func:`application_feature_frame` columns), in row order."""
        card = self._scorecard
        points = card.score(frame)
        pd_ = card.predict_proba(frame)[:, 1]
        reasons = card.reasons(frame)
        codes = {
            f"reason_{k + 1}": [r[k].code if len(r) > k else None for r in reasons]
            for k in range(MAX_REASONS)
        }
        return pl.DataFrame(
            {"points": points, "pd": pd_, **codes},
            schema={"points": pl.Float64, "pd": pl.Float64, **dict.fromkeys(codes, pl.String)},
        )


# -- training and the demo model ---------------------------------------------------------------------


def train_application_scorecard(
    world_dir: str | Path,
    *,
    oot_share: float = 0.25,
    check_signs: bool = True,
    **scorecard_params: Any,
) -> tuple[Scorecard, dict[str, float | int | str | None], ModelMeta]:
    """Fit the application scorecard on a synthetic world: ``(scorecard, holdout metrics, meta)``.

    Rows are the world's booked loans with the :data:`APPLICATION_FEATURES` their applicants had when
    they applied (:func:`autofin.decision.synthetic.world_feature_frame`: wishes = the first quote).
    Target and split are :func:`autofin.risk.train.synthetic_split`'s: ``bad`` = the realised default
    (:data:`autofin.risk.train.SYNTHETIC_TARGET`), out of time by vintage (the latest vintages holding
    about ``oot_share`` of the loans are the holdout). Fitting and metrics are
    :func:`autofin.risk.train.train`'s. ``scorecard_params`` go to :class:`Scorecard`; the defaults are
    the candidate ``features`` (all application features), the :data:`CATEGORICAL_FEATURES`, the
    business-sense bad-rate trends of :data:`FEATURE_TRENDS`, :data:`APPLICATION_REASONS` and
    ``min_iv`` = :data:`APPLICATION_MIN_IV`.

    With ``check_signs`` (default), a selected feature whose coefficient is not negative (its points
    run *against* its own bad rates once the other features are in: e.g. used cars scoring better than
    new ones because cheap used cars come with low incomes) is dropped and the scorecard refitted,
    until every driver's sign is sensible; the dropped features are listed in ``meta.data``.
    ``meta`` is ready for :meth:`Registry.register` (training-data SHA-256, features, metrics).
    """
    from autofin.data.synth import load
    from autofin.decision.synthetic import world_feature_frame
    from autofin.risk import train as training

    base = training.synthetic_split(world_dir, oot_share)
    root = Path(world_dir)
    link = load(root, "loans").select("loan_id", "applicant_id")
    features = world_feature_frame(root)

    def with_features(part: pl.DataFrame) -> pl.DataFrame:
        return (
            part.select("loan_id", "vintage", training.TARGET)
            .join(link, on="loan_id", how="left", maintain_order="left")
            .join(features, on="applicant_id", how="left", maintain_order="left")
        )

    split = training.Split(
        with_features(base.train),
        with_features(base.test),
        APPLICATION_FEATURES,
        training.SYNTHETIC_TARGET,
        {
            **base.data,
            "source": "synthetic-application",
            "features": "autofin.decision.scoring.APPLICATION_FEATURES",
            "wishes": "first quote of each applicant",
        },
        categorical=CATEGORICAL_FEATURES,
    )
    candidates = list(scorecard_params.pop("features", None) or APPLICATION_FEATURES)
    unknown = sorted(set(candidates) - set(APPLICATION_FEATURES))
    if unknown:
        raise ValidationError("features", unknown, "must be application features (APPLICATION_FEATURES)")
    dropped: list[str] = []
    while True:
        params: dict[str, Any] = {
            "features": candidates,
            "categorical_features": [f for f in CATEGORICAL_FEATURES if f in candidates],
            "trend_overrides": {f: t for f, t in FEATURE_TRENDS.items() if f in candidates},
            "reason_catalog": APPLICATION_REASONS,
            "min_iv": APPLICATION_MIN_IV,
            **scorecard_params,
        }
        card, metrics, meta = training.train(
            "scorecard",
            split,
            params,
            description=_DESCRIPTION,
        )
        wrong = [f for f, c in zip(card.features_, card.coef_, strict=True) if c >= 0.0]
        if not check_signs or not wrong or len(wrong) == len(candidates):
            break
        dropped.extend(wrong)
        candidates = [f for f in candidates if f not in wrong]
    meta = meta.model_copy(update={"data": {**meta.data, "dropped_for_sign": dropped}})
    return card, metrics, meta


def demo_scorer(registry: Registry, *, name: str = DEMO_MODEL_NAME) -> ApplicationScorer:
    """The champion ``name`` of ``registry`` as a scorer, trained and registered first if missing.

    With no champion, a synthetic world is generated in a temporary directory (the shipped world file,
    :data:`DEMO_APPLICANTS` applicants, seed :data:`DEMO_SEED`, :data:`DEMO_MONTHS` months), the
    scorecard is trained on it (:func:`train_application_scorecard`), registered with its
    training-data hash, features and holdout metrics, and promoted to champion. Deterministic: the
    same code gives the same model JSON in every fresh registry.
    """
    if registry.versions(name) and registry.roles(name).get("champion") is not None:
        return ApplicationScorer.from_registry(registry, name)
    from autofin.data.synth import synthesize
    from autofin.data.world import load_world

    world = load_world()
    with tempfile.TemporaryDirectory(prefix="autofin-demo-world-") as tmp:
        out = Path(tmp) / "world"
        synthesize(world, applicants=DEMO_APPLICANTS, months=DEMO_MONTHS, seed=DEMO_SEED, out=out)
        card, _metrics, meta = train_application_scorecard(out)
    data = {
        **{k: v for k, v in meta.data.items() if k != "path"},
        "world": f"{world.world.name}@{world.world.version}",
        "seed": DEMO_SEED,
        "applicants": DEMO_APPLICANTS,
        "months": DEMO_MONTHS,
    }
    version = registry.register(name, card, meta.model_copy(update={"data": data}))
    registry.promote(name, version, by="autofin.decision.scoring.demo_scorer")
    return ApplicationScorer.from_registry(registry, name)
