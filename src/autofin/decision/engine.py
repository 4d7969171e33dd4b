"""The decision flow: one application in, approve / counter-offer / refer / decline out, with the menu,
at most four specific reasons, the full trace, the time spent in each stage and the versions used.

Stages (each timed; see docs/decisions.md)::

    validate ─► segment ─► score ─► policy ─► menu ─► decide

1. **validate**: :func:`~autofin.decision.application.parse_application` against the catalogue (currency
   of the jurisdiction pack, known services, known brand and model). A bad application raises
   :class:`~autofin.errors.ValidationError` naming the field; no decision is made, nothing is recorded.
2. **segment**: the rule scheme (:mod:`autofin.segments.rules`); its ``strategy`` dimension is the
   catalogue segment the policy and the affordability limits are keyed on; every assigned key that is a
   catalogue segment (``nev_buyer``, ``first_time_buyer`` …) opens the products that serve it.
3. **score**: the application scorecard (:mod:`autofin.decision.scoring`): points, PD, reasons.
4. **policy**: the JDM tables (:mod:`autofin.decision.policy`): knock-outs, refer rules, score cut-off by
   segment, limits by score tier, documents. The amount the tables see is the amount *requested*:
   price − the wished down payment (0 when none was wished), services excluded.
5. **menu**: :func:`~autofin.decision.menu.solve_menu` with the policy limits, the jurisdiction pack's
   affordability limits for the segment, the pricing assumptions and the PD (lender value in the ranking).
   Skipped after a policy decline.
6. **decide**:

   * policy ``decline`` → ``decline``; the reasons are the knock-outs, and a score decline shows the
     scorecard's key factors instead of "score below cut-off" (Regulation B, 12 CFR 1002.9(b)(2) and its
     commentary: the factors, not the fact of a low score);
   * policy ``refer`` → ``refer`` (the menu is attached for the underwriter);
   * the request as asked passes on some product → ``approve`` with the menu;
   * it does not, but other structures pass → ``counter_offer``: the counter-offers say what changed,
     the reasons say why the request as asked failed;
   * nothing passes → ``decline`` with the most frequent reasons the structures failed for.

A :class:`Decision` serialises to JSON (:meth:`Decision.to_dict`) with the application, so that
:func:`autofin.decision.replay.replay_record` can re-run it; its :attr:`Decision.digest` covers
everything but the timings, so an exact replay has the same digest. Pure computation apart from the
clock: no I/O once the engine is built.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal, Protocol

import yaml

from autofin.catalog.loader import CatalogueExtras, default_catalogue_dir, load_catalogue_with_extras
from autofin.catalog.models import Catalogue
from autofin.catalog.presentation import quote_json
from autofin.catalog.quote_types import Market
from autofin.decision.affordability import AffordabilityLimits, is_zh_cn, limits_for
from autofin.decision.application import (
    Application,
    parse_application,
    to_policy_context,
    to_segment_row,
)
from autofin.decision.menu import CounterOffer, Menu, Offer, Structure, Trace, Tried, solve_menu
from autofin.decision.policy import PolicyEngine, PolicyLimits, PolicyResult
from autofin.decision.strategy import (
    CodeVersion,
    ModelRef,
    PolicyTableRef,
    Strategy,
    StrategySet,
    VersionStamp,
    code_version,
    stamp_for,
)
from autofin.errors import ValidationError
from autofin.pricing.buildup import PricingAssumptions
from autofin.segments.rules import SegmentScheme

__all__ = [
    "COUNTER_SPARE",
    "MAX_REASONS",
    "STAGES",
    "Decision",
    "DecisionEngine",
    "DecisionReason",
    "ReasonTexts",
    "Redecision",
    "Router",
    "Scorer",
    "applied_application",
    "applied_structure",
    "load_reason_texts",
    "menu_codes",
    "menu_key",
]

Outcome = Literal["approve", "counter_offer", "refer", "decline"]
ReasonSource = Literal["policy", "score", "affordability", "menu"]

#: A decision carries at most this many principal reasons (Regulation B commentary to 1002.9(b)(2):
#: more than four is unlikely to be helpful).
MAX_REASONS: Final = 4
#: Counter-offers asked of the menu beyond ``max_counter_offers``, as spares for those dropped after
#: re-scoring.
COUNTER_SPARE: Final = 2
#: The timed stages, in order.
STAGES: Final = ("validate", "segment", "score", "policy", "menu", "decide")
#: Menu codes that say nothing specific about the applicant; never shown as a principal reason when a
#: more specific one exists.
_GENERIC: Final = frozenset(
    {"NOT_EFFECTIVE", "NOT_ELIGIBLE", "QUOTE_REFUSED", "RATE_REFUSED", "SERVICE_REFUSED", "NO_DISCLOSURE"}
)


# -- reasons -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionReason:
    """One principal reason: its code, texts in English and Simplified Chinese, and where it came from."""

    code: str
    en: str
    zh_cn: str
    source: ReasonSource

    def text(self, locale: str = "en") -> str:
        return self.zh_cn if is_zh_cn(locale) else self.en

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "source": self.source, "en": self.en, "zh-CN": self.zh_cn}


@dataclass(frozen=True)
class ReasonTexts:
    """Code → (en, zh-CN) by source, from ``catalog/policy/reasons.yaml``."""

    texts: Mapping[str, Mapping[str, tuple[str, str]]]
    sha256: str

    def reason(self, source: ReasonSource, code: str, fallback_en: str = "") -> DecisionReason:
        """The reason for ``code``; a code without texts keeps ``fallback_en`` (or the code) in both
        languages rather than failing a live decision — the catalogue test catches missing texts."""
        en_zh = self.texts.get(source, {}).get(code)
        if en_zh is None:
            text = fallback_en or code
            return DecisionReason(code, text, text, source)
        return DecisionReason(code, en_zh[0], en_zh[1], source)

    def codes(self, source: str) -> frozenset[str]:
        return frozenset(self.texts.get(source, {}))


def load_reason_texts(path: str | Path | None = None) -> ReasonTexts:
    """Read the reason texts (default: ``policy/reasons.yaml`` of the default catalogue)."""
    file = Path(path) if path is not None else default_catalogue_dir() / "policy" / "reasons.yaml"
    try:
        raw_bytes = file.read_bytes()
    except OSError as exc:
        raise ValidationError("reasons", str(file), f"cannot be read ({exc.strerror})") from None
    data = yaml.safe_load(raw_bytes)
    if not isinstance(data, Mapping):
        raise ValidationError("reasons", str(file), "must map a source to {code: {en, zh-CN}}")
    texts: dict[str, dict[str, tuple[str, str]]] = {}
    for source, codes in data.items():
        if source not in ("policy", "affordability", "menu") or not isinstance(codes, Mapping):
            raise ValidationError(
                f"reasons.{source}", source, "must be policy, affordability or menu: {code: …}"
            )
        for code, entry in codes.items():
            if not isinstance(entry, Mapping) or not entry.get("en") or not entry.get("zh-CN"):
                raise ValidationError(f"reasons.{source}.{code}", entry, "needs non-empty en and zh-CN texts")
            texts.setdefault(source, {})[str(code)] = (str(entry["en"]), str(entry["zh-CN"]))
    return ReasonTexts(texts, hashlib.sha256(raw_bytes).hexdigest())


# -- the risk model's interface ------------------------------------------------------------------------


class _ScoreReason(Protocol):
    code: str
    en: str
    zh_cn: str


class _Risk(Protocol):
    @property
    def points(self) -> float: ...
    @property
    def pd(self) -> float: ...
    @property
    def reasons(self) -> Sequence[Any]: ...
    @property
    def model(self) -> str: ...


class Scorer(Protocol):
    """What the engine needs of a risk model (:class:`autofin.decision.scoring.ApplicationScorer`)."""

    model: str
    """The registry reference ``"name:version"`` of the model."""

    def assess(self, app: Application) -> Any: ...


# -- the decision --------------------------------------------------------------------------------------


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def application_json(app: Application) -> dict[str, Any]:
    """The application as canonical JSON-ready data (what a decision record stores and replays)."""
    data: dict[str, Any] = app.model_dump(mode="json", exclude_none=False)
    return data


def _structure_json(offer: Offer) -> dict[str, Any]:
    s = offer.structure
    return {
        "product": s.product_id,
        "term": s.term,
        "down_payment": str(s.down_payment),
        "balloon_pct": None if s.balloon_pct is None else str(s.balloon_pct),
    }


def offer_json(offer: Offer, rank: int) -> dict[str, Any]:
    """One offer: rank, structure, payment, affordability measures, lender NPV and the full quote
    (schedule, rates, disclosure) as :func:`autofin.catalog.presentation.quote_json` gives it."""
    return {
        "rank": rank,
        "structure": _structure_json(offer),
        "monthly_payment": str(offer.payment),
        "headline_rate": _rate(offer.quote.headline_rate),
        "rate_method": offer.quote.rate_label,
        "pti": str(offer.pti),
        "dti": str(offer.dti),
        "ltv": str(offer.ltv),
        "fit_score": round(offer.score, 9),
        "npv": None if offer.npv is None else round(offer.npv, 6),
        "quote": quote_json(offer.quote),
    }


def _rate(rate: Decimal | None) -> float | None:
    """A rate for JSON: a number rounded to 1e-10 (the disclosure's own precision is in the quote)."""
    return None if rate is None else float(rate.quantize(Decimal("1e-10")))


def _counter_json(c: CounterOffer, rank: int) -> dict[str, Any]:
    return {
        **offer_json(c.offer, rank),
        "changes": [
            {
                "field": ch.field,
                "asked": _plain(ch.asked),
                "offered": _plain(ch.offered),
                "text": ch.text,
                "zh-CN": change_text_zh(ch.field, ch.asked, ch.offered, c.offer),
            }
            for ch in c.changes
        ],
        "distance": round(c.distance, 9),
    }


_OWNERSHIP_ZH: Final = {"loan": "贷款", "balloon": "弹性尾款贷款", "lease": "租赁", "any": "任意方式"}


def change_text_zh(field_name: str, asked: object, offered: object, offer: Offer) -> str:
    """A counter-offer's change in Simplified Chinese (the English text comes with the menu's Change)."""
    ccy = offer.quote.currency
    if field_name == "down_payment":
        if asked is None:
            return f"首付 {offered} {ccy}"
        more = Decimal(str(offered)) > Decimal(str(asked))
        return f"{'增加' if more else '减少'}首付：{offered} {ccy}（原为 {asked}）"
    if field_name == "term":
        longer = int(str(offered)) > int(str(asked))
        return f"{'延长' if longer else '缩短'}期限：{offered} 个月（原为 {asked} 个月）"
    if field_name == "balloon":
        return f"尾款为车价的 {Decimal(str(offered)) * 100:.0f}%"
    got = _OWNERSHIP_ZH.get(str(offered), str(offered))
    was = _OWNERSHIP_ZH.get(str(asked), str(asked))
    return f"改为{got}（{offer.product_id}），而非{was}"


def _solved_counter_json(c: CounterOffer) -> dict[str, Any]:
    """A counter-offer as the menu solved it, before the re-check: its structure and what the re-check
    and a comparison read of its quote."""
    q = c.offer.quote
    return {
        **_structure_json(c.offer),
        "amount_financed": str(q.amount_financed),
        "quoted_down_payment": str(q.down_payment),
        "price": str(q.price),
        "headline_rate": _rate(q.headline_rate),
        "currency": q.currency,
    }


def menu_key(
    engine_key: str,
    application: Mapping[str, Any],
    start_date: date | None,
    segment: str,
    catalogue_segments: Sequence[str],
    limits: AffordabilityLimits,
    policy_limits: PolicyLimits | None,
    pd: float | None,
) -> str:
    """SHA-256 of every input of one offer menu: the engine-level ones
    (:attr:`DecisionEngine.menu_engine_key`), the application (:func:`application_json`), the contract
    start date, the segment and catalogue segments, the affordability limits, the policy limits of the
    score tier and the PD the ranking uses (exact float). Equal keys ⇔ the same menu."""
    text = "\x1f".join(
        (
            engine_key,
            _canonical(application),
            "" if start_date is None else start_date.isoformat(),
            segment,
            ",".join(catalogue_segments),
            repr(limits),
            repr(policy_limits),
            repr(pd),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: object) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _tried_json(t: Tried) -> dict[str, Any]:
    s = t.structure
    return {
        "stage": t.stage,
        "product": t.product_id,
        "term": None if s is None else s.term,
        "down_payment": None if s is None else str(s.down_payment),
        "balloon_pct": None if s is None or s.balloon_pct is None else str(s.balloon_pct),
        "passed": t.passed,
        "reasons": list(t.reasons),
        "message": t.message,
        "payment": None if t.payment is None else str(t.payment),
    }


def _trace_json(tried: Sequence[Tried]) -> list[dict[str, Any]]:
    """``[_tried_json(t) for t in tried]``; a :class:`Trace`'s screened rows are written from its own
    records (:meth:`Trace.screened`) without building their :class:`Tried` first (the same output)."""
    if not isinstance(tried, Trace):
        return [_tried_json(t) for t in tried]
    out: list[dict[str, Any]] = []
    append = out.append
    for row in tried.screened():
        if type(row) is not tuple:
            append(_tried_json(row))  # type: ignore[arg-type]
            continue
        pid, term, down, balloon_pct, passed, reasons, message, payment = row
        append(
            {
                "stage": "screen",
                "product": pid,
                "term": term,
                "down_payment": str(down),
                "balloon_pct": None if balloon_pct is None else str(balloon_pct),
                "passed": passed,
                "reasons": list(reasons),
                "message": message,
                "payment": None if payment is None else str(payment),
            }
        )
    return out


@dataclass(frozen=True)
class Decision:
    """One decision with everything needed to explain it and to replay it.

    ``outcome``: approve / counter_offer / refer / decline. ``reasons``: at most :data:`MAX_REASONS`,
    most important first (empty on approve). ``segments``: the rule scheme's assignment (dimension →
    key or keys); ``segment`` the catalogue segment (``strategy`` dimension). ``risk``: the scorer's
    assessment (points, PD, reasons, model). ``policy``: the tables' verdict with the rules that fired.
    ``menu``: offers, counter-offers and every structure tried (``None`` after a policy decline).
    ``stamp``: the versions used. ``start_date``: the contract start date when the caller set one
    (``None``: the submission date). ``timings_us``: microseconds per stage (not part of :attr:`digest`).
    """

    application: Application
    outcome: Outcome
    reasons: tuple[DecisionReason, ...]
    segment: str
    segments: Mapping[str, str | list[str]]
    catalogue_segments: tuple[str, ...]
    risk: Any
    policy: PolicyResult
    menu: Menu | None
    stamp: VersionStamp
    start_date: date | None = None
    timings_us: Mapping[str, float] = field(default_factory=dict)
    #: Counter-offers the menu found that would not pass the whole flow once applied, with why.
    dropped_counter_offers: tuple[tuple[CounterOffer, str], ...] = ()
    #: The menu's inputs beyond the application (for :meth:`DecisionEngine.decide`'s ``reuse``).
    menu_limits: AffordabilityLimits | None = field(default=None, repr=False, compare=False)
    menu_pd: float | None = field(default=None, repr=False, compare=False)
    menu_context: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    #: The menu as solved, before counter-offers were re-checked against this decision's policy and
    #: model: what a reuse takes, so another policy re-checks the same candidates a fresh solve would.
    solved_menu: Menu | None = field(default=None, repr=False, compare=False)
    #: :attr:`DecisionEngine.menu_engine_key` of the engine that decided (for :attr:`menu_key`).
    menu_engine_key: str = field(default="", repr=False, compare=False)

    def menu_key(self, application: Mapping[str, Any] | None = None) -> str | None:
        """:func:`menu_key` of this decision's menu (``None`` without a menu); ``application``: its
        :func:`application_json` when the caller already has it."""
        if self.solved_menu is None or self.menu_limits is None:
            return None
        return menu_key(
            self.menu_engine_key,
            application_json(self.application) if application is None else application,
            self.start_date, self.segment, self.catalogue_segments, self.menu_limits,
            self.policy.limits, self.menu_pd,
        )  # fmt: skip

    @property
    def offers(self) -> tuple[Offer, ...]:
        return () if self.menu is None else self.menu.offers

    @property
    def counter_offers(self) -> tuple[CounterOffer, ...]:
        return () if self.menu is None else self.menu.counter_offers

    def to_dict(self, *, trace: bool = True, timings: bool = True) -> dict[str, Any]:
        """JSON-ready: money as strings, rates as numbers. ``trace`` adds every rule fired and every
        structure tried; ``timings`` the stage times (leave them out to compare records)."""
        risk = self.risk
        out: dict[str, Any] = {
            "schema": 1,
            "application_id": self.application.application_id,
            "application": application_json(self.application),
            "start_date": None if self.start_date is None else self.start_date.isoformat(),
            "outcome": self.outcome,
            "reasons": [r.to_dict() for r in self.reasons],
            "segment": self.segment,
            "catalogue_segments": list(self.catalogue_segments),
            "score": {
                "points": round(float(risk.points), 6),
                "pd": round(float(risk.pd), 9),
                "model": risk.model,
                "reasons": [_score_reason_json(r) for r in risk.reasons],
            },
            "policy": {
                "outcome": self.policy.outcome,
                "reasons": [
                    {
                        "code": r.code,
                        "text": r.text,
                        "outcome": r.outcome,
                        "table": r.table,
                        "rule": r.rule_id,
                    }
                    for r in self.policy.reasons
                ],
                "limits": None
                if self.policy.limits is None
                else {
                    "score_tier": self.policy.limits.score_tier,
                    "max_amount_financed": str(self.policy.limits.max_amount_financed),
                    "min_down_payment_ratio": str(self.policy.limits.min_down_payment_ratio),
                },
                "documents": [{"code": d.code, "description": d.description} for d in self.policy.documents],
            },
            "offers": [offer_json(o, i + 1) for i, o in enumerate(self.offers)],
            "counter_offers": [_counter_json(c, i + 1) for i, c in enumerate(self.counter_offers)],
            "request_passed": None if self.menu is None else self.menu.request_passed,
            "versions": self.stamp.to_dict(),
            "version_digest": self.stamp.digest,
        }
        if trace:
            out["trace"] = {
                "segments": {k: v for k, v in self.segments.items()},
                "rules_fired": {k: list(v) for k, v in self.policy.trace.items()},
                "structures_screened": None if self.menu is None else self.menu.screened,
                "exact_quotes": None if self.menu is None else self.menu.exact_quotes,
                "tried": [] if self.menu is None else _trace_json(self.menu.tried),
                "counter_offers_dropped": [
                    {**_structure_json(c.offer), "why": why} for c, why in self.dropped_counter_offers
                ],
                # What a candidate engine needs to decide again without solving the menu (redecide).
                "menu_key": self.menu_key(out["application"]),
                "menu_codes": None if self.menu is None else _menu_codes_json(self.menu),
                "counter_offers_solved": []
                if self.solved_menu is None
                else [_solved_counter_json(c) for c in self.solved_menu.counter_offers],
            }
        if timings:
            out["timings_us"] = {k: round(v, 1) for k, v in self.timings_us.items()}
        return out

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` without timings: equal digests ⇔ the same
        decision on the same application with the same versions."""
        return hashlib.sha256(_canonical(self.to_dict(timings=False)).encode()).hexdigest()

    def to_json(self, *, trace: bool = True) -> str:
        return json.dumps(self.to_dict(trace=trace), ensure_ascii=False, indent=2, allow_nan=False)


def _score_reason_json(r: Any) -> dict[str, Any]:
    if hasattr(r, "to_dict"):
        d: dict[str, Any] = r.to_dict()
        return d
    return {"code": r.code, "en": r.en, "zh-CN": r.zh_cn}


# -- the engine ----------------------------------------------------------------------------------------


def _score_reason(r: Any) -> DecisionReason:
    return DecisionReason(str(r.code), str(r.en), str(r.zh_cn), "score")


@dataclass
class DecisionEngine:
    """Everything one strategy decides with, loaded once; :meth:`decide` is then pure and fast.

    ``catalogue`` and ``extras`` from :func:`~autofin.catalog.loader.load_catalogue_with_extras`;
    ``policy`` a :class:`~autofin.decision.policy.PolicyEngine`; ``scorer`` the application risk model;
    ``scheme`` the rule segment scheme; ``market`` the benchmark paths floating products are priced on
    (``None``: floating products are refused, traced); ``assumptions`` the lender's pricing assumptions
    (``None``: the menu ranks without lender value); ``strategy``: the versions this engine must run —
    checked against what was loaded (a mismatch raises); ``None`` builds one named ``default`` from what
    was loaded. ``check_known_vehicle``: refuse brands and models the catalogue's ``known_models`` does
    not list (turn it off only for data that names no models, such as the synthetic world). ``top_n``
    offers, ``max_counter_offers``, ``max_exact`` as in :func:`solve_menu`.
    """

    catalogue: Catalogue
    extras: CatalogueExtras
    policy: PolicyEngine
    scorer: Scorer
    scheme: SegmentScheme
    market: Market | None = None
    assumptions: PricingAssumptions | None = None
    pricing_version: str = "none"
    strategy: Strategy | None = None
    reason_texts: ReasonTexts | None = None
    code: CodeVersion | None = None
    check_known_vehicle: bool = True
    top_n: int = 3
    max_counter_offers: int = 3
    max_exact: int = 40
    clock: Callable[[], int] = time.perf_counter_ns

    def __post_init__(self) -> None:
        if self.reason_texts is None:
            self.reason_texts = load_reason_texts()
        if self.code is None:
            self.code = code_version()
        loaded = Strategy(
            name=self.strategy.name if self.strategy is not None else "default",
            description=self.strategy.description if self.strategy is not None else "what the engine loaded",
            catalogue_version=self.catalogue.version,
            policy_tables={k: PolicyTableRef.of(v) for k, v in self.policy.versions.items()},
            risk_model=ModelRef.parse(self.scorer.model),
            pricing_version=self.pricing_version,
            segment_scheme_version=self.scheme.version,
            share=self.strategy.share if self.strategy is not None else Decimal(1),
        )
        if self.strategy is not None:
            self.strategy.verify_policy(self.policy.versions)
            if not self.strategy.risk_model.pins(loaded.risk_model):
                raise ValidationError(
                    "strategy.risk_model",
                    str(loaded.risk_model),
                    f"strategy {self.strategy.name!r} pins {self.strategy.risk_model}, "
                    f"loaded {loaded.risk_model}",
                )
            # The stamp names the model as loaded: with its content digest, pinned or not.
            self.strategy = replace(self.strategy, risk_model=loaded.risk_model)
            for name, pinned, got in (
                ("catalogue_version", self.strategy.catalogue_version, loaded.catalogue_version),
                ("pricing_version", self.strategy.pricing_version, loaded.pricing_version),
                (
                    "segment_scheme_version",
                    self.strategy.segment_scheme_version,
                    loaded.segment_scheme_version,
                ),
            ):
                if pinned != got:
                    raise ValidationError(
                        f"strategy.{name}",
                        got,
                        f"strategy {self.strategy.name!r} pins {pinned}, loaded {got}",
                    )
        else:
            self.strategy = loaded
        self.stamp: VersionStamp = stamp_for(self.strategy, self.code)
        self._limits: dict[tuple[str, str | None], AffordabilityLimits] = {}
        self._segment_keys = frozenset(self.extras.segments or ())
        # Engine-level inputs of the menu: a reused menu must come from an engine that agrees on all.
        self._menu_context: tuple[Any, ...] = (
            self.catalogue,
            self.market,
            self.assumptions,
            self.pricing_version,
            self.top_n,
            self.max_counter_offers,
            self.max_exact,
        )
        self._agrees: dict[int, tuple[tuple[Any, ...], bool]] = {}

    @cached_property
    def menu_engine_key(self) -> str:
        """SHA-256 of what every menu of this engine depends on besides the application: the catalogue's
        content (not only its version), the market, the pricing assumptions, the menu settings and the
        code version. Computed once."""
        assert self.code is not None
        parts = {
            "catalogue": hashlib.sha256(self.catalogue.model_dump_json().encode()).hexdigest(),
            "market": None if self.market is None else self.market.model_dump_json(),
            "pricing": self.pricing_version,
            "assumptions": None
            if self.assumptions is None
            else hashlib.sha256(repr(self.assumptions).encode()).hexdigest(),
            "menu": [self.top_n, self.max_counter_offers, COUNTER_SPARE, self.max_exact],
            "code": self.code.to_dict(),
        }
        return hashlib.sha256(_canonical(parts).encode()).hexdigest()

    def _same_menu_inputs(self, other: Decision) -> bool:
        """Whether ``other`` was decided by an engine with the same catalogue, market, pricing and menu
        settings (identical objects, or equal ones — compared once per engine)."""
        ctx = other.menu_context
        seen = self._agrees.get(id(ctx))
        if seen is not None and seen[0] is ctx:
            return seen[1]
        got = len(ctx) == len(self._menu_context) and all(
            a is b or a == b for a, b in zip(ctx, self._menu_context, strict=True)
        )
        self._agrees[id(ctx)] = (ctx, got)  # keeps ctx alive, so its id cannot be reused
        return got

    # -- construction --------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        scorer: Scorer,
        *,
        catalogue_dir: str | Path | None = None,
        policy_dir: str | Path | None = None,
        scheme_path: str | Path | None = None,
        assumptions_path: str | Path | None = None,
        market: Market | None = None,
        strategy: Strategy | None = None,
        **options: Any,
    ) -> DecisionEngine:
        """An engine from files: the catalogue (default: the demo catalogue), its ``policy/`` tables,
        its ``segments/default.yaml`` scheme and its ``pricing/assumptions.yaml``; ``market`` defaults to
        the catalogue's sample market (:data:`autofin.catalog.quote.SAMPLE_MARKET`)."""
        from autofin.catalog.quote import SAMPLE_MARKET
        from autofin.pricing.spec import parse_assumptions
        from autofin.segments.rules import load_scheme

        root = Path(catalogue_dir) if catalogue_dir is not None else default_catalogue_dir()
        catalogue, extras = load_catalogue_with_extras(root)
        policy = PolicyEngine.load(policy_dir if policy_dir is not None else root / "policy")
        scheme = load_scheme(scheme_path if scheme_path is not None else root / "segments" / "default.yaml")
        a_path = (
            Path(assumptions_path) if assumptions_path is not None else root / "pricing" / "assumptions.yaml"
        )
        assumptions: PricingAssumptions | None = None
        pricing_version = "none"
        if a_path.is_file():
            raw = a_path.read_bytes()
            assumptions = parse_assumptions(yaml.safe_load(raw))
            pricing_version = f"{a_path.stem}@{hashlib.sha256(raw).hexdigest()[:16]}"
        texts = root / "policy" / "reasons.yaml"
        return cls(
            catalogue=catalogue,
            extras=extras,
            policy=policy,
            scorer=scorer,
            scheme=scheme,
            market=SAMPLE_MARKET if market is None else market,
            assumptions=assumptions,
            pricing_version=pricing_version,
            strategy=strategy,
            reason_texts=load_reason_texts(texts) if texts.is_file() else None,
            **options,
        )

    # -- one decision --------------------------------------------------------------------------------

    def limits(self, jurisdiction: str, segment: str | None) -> AffordabilityLimits:
        """The jurisdiction pack's affordability limits for a segment (cached)."""
        key = (jurisdiction, segment)
        got = self._limits.get(key)
        if got is None:
            got = limits_for(self.catalogue.jurisdictions.get(jurisdiction), segment)
            self._limits[key] = got
        return got

    def parse(self, data: Any) -> Application:
        """Validate an application against this engine's catalogue (field-level errors)."""
        extras = self.extras if self.check_known_vehicle else None
        return parse_application(data, catalogue=self.catalogue, extras=extras)

    def decide(self, data: Any, *, start_date: date | None = None, reuse: Decision | None = None) -> Decision:
        """Decide one application (a mapping, JSON text or :class:`Application`); see the module docstring.

        ``reuse``: an earlier decision on the same application (e.g. the baseline's, when replaying a
        candidate policy or model). Its menu is taken instead of solving again when — and only when —
        every input of the menu is the same: the application and start date, this engine's catalogue,
        market, pricing assumptions and menu settings, the segment and catalogue segments, the
        affordability limits, the policy limits and the PD the ranking uses. Otherwise it is ignored.

        Raises :class:`~autofin.errors.ValidationError` for a bad application, before any decision.
        """
        clock = self.clock
        t0 = clock()
        app = self.parse(data)
        t1 = clock()

        labels, segment, cat_segments = self._segment(app)
        t2 = clock()

        risk = self.scorer.assess(app)
        t3 = clock()

        policy = self._policy(app, risk, segment)
        t4 = clock()

        menu: Menu | None = None
        limits = self.limits(app.jurisdiction, segment or None)
        pd = float(risk.pd) if self.assumptions is not None else None
        if (
            policy.outcome != "decline"
            and reuse is not None
            and reuse.solved_menu is not None
            and reuse.application == app
            and reuse.start_date == start_date
            and (segment, cat_segments, limits, policy.limits, pd)
            == (
                reuse.segment,
                reuse.catalogue_segments,
                reuse.menu_limits,
                reuse.policy.limits,
                reuse.menu_pd,
            )
            and self._same_menu_inputs(reuse)
        ):
            menu = reuse.solved_menu
        if policy.outcome != "decline" and menu is None:
            menu = solve_menu(
                app,
                self.catalogue,
                self.market,
                limits,
                policy_limits=policy.limits,
                segments=cat_segments,
                top_n=self.top_n,
                # A few spare: counter-offers that would not pass the whole flow are dropped below.
                max_counter_offers=self.max_counter_offers + COUNTER_SPARE,
                max_exact=self.max_exact,
                assumptions=self.assumptions,
                pd=pd,
                start_date=start_date,
            )
        t5 = clock()

        solved = menu
        dropped: tuple[tuple[CounterOffer, str], ...] = ()
        if menu is not None and menu.counter_offers:
            kept, dropped = self._check_counters(app, segment, menu.counter_offers)
            menu = replace(menu, counter_offers=kept)
        outcome, reasons = self._outcome(policy, risk, menu)
        assert self.strategy is not None
        decision = Decision(
            application=app,
            outcome=outcome,
            reasons=reasons,
            segment=segment,
            segments=labels,
            catalogue_segments=cat_segments,
            risk=risk,
            policy=policy,
            menu=menu,
            stamp=self.stamp,
            start_date=start_date,
            dropped_counter_offers=dropped,
            menu_limits=limits,
            menu_pd=pd,
            menu_context=self._menu_context,
            solved_menu=solved,
            menu_engine_key=self.menu_engine_key,
        )
        t6 = clock()
        marks = (t0, t1, t2, t3, t4, t5, t6)
        timings = {stage: (marks[i + 1] - marks[i]) / 1000.0 for i, stage in enumerate(STAGES)}
        timings["total"] = (t6 - t0) / 1000.0
        object.__setattr__(decision, "timings_us", timings)
        return decision

    def redecide(
        self, app: Application, start_date: date | None, record: Mapping[str, Any]
    ) -> Redecision | None:
        """This engine's outcome for ``app`` when a stored record (:meth:`Decision.to_dict` with its
        trace) of the same application can stand in for the menu: the segment, score and policy stages
        run as in :meth:`decide`; after a policy decline or refer the menu is not needed; otherwise the
        record's menu is taken when its ``menu_key`` equals this engine's (:func:`menu_key`: same
        application, start date, catalogue content, market, pricing, menu settings, code, segment,
        limits, policy limits and PD), and its solved counter-offers are re-checked against this
        engine's model and policy exactly as :meth:`_check_counters` does.

        Returns ``None`` when the record cannot stand in (no trace, another menu): call :meth:`decide`.
        The outcome and reasons are those :meth:`decide` gives (``tests/integration/test_decision_world.py``).
        """
        trace = record.get("trace")
        if not isinstance(trace, Mapping) or "menu_key" not in trace:
            return None
        _, segment, cat_segments = self._segment(app)
        risk = self.scorer.assess(app)
        policy = self._policy(app, risk, segment)
        decided = self._policy_outcome(policy, risk)
        if decided is not None:
            return Redecision(decided[0], decided[1], float(risk.pd), segment)
        key = trace["menu_key"]
        if key is None:
            return None
        pd = float(risk.pd) if self.assumptions is not None else None
        limits = self.limits(app.jurisdiction, segment or None)
        mine = menu_key(self.menu_engine_key, application_json(app), start_date, segment, cat_segments,
                        limits, policy.limits, pd)  # fmt: skip
        if key != mine:
            return None
        kept: list[Mapping[str, Any]] = []
        for c in trace["counter_offers_solved"]:
            if len(kept) >= self.max_counter_offers:
                break
            balloon = c["balloon_pct"]
            structure = Structure(
                c["product"], int(c["term"]), Decimal(c["down_payment"]),
                None if balloon is None else Decimal(balloon),
            )  # fmt: skip
            why = self._counter_verdict(
                app, segment, structure, self.catalogue.products[structure.product_id].kind,
                Decimal(c["amount_financed"]), Decimal(c["quoted_down_payment"]), Decimal(c["price"]),
            )  # fmt: skip
            if not why:
                kept.append(c)
        offers = record.get("offers") or []
        codes = trace["menu_codes"]
        outcome, reasons = self._menu_outcome(
            bool(record["request_passed"]), bool(offers), bool(kept),
            lambda asked_only: codes["asked" if asked_only else "all"],
        )  # fmt: skip
        top: Mapping[str, Any] | None = None
        if outcome in ("approve", "counter_offer"):
            top = offers[0] if offers else kept[0]
        return Redecision(outcome, reasons, float(risk.pd), segment, top, top is not None and bool(offers))

    def _segment(self, app: Application) -> tuple[Mapping[str, str | list[str]], str, tuple[str, ...]]:
        """The segment stage: the scheme's labels, the catalogue segment (``strategy`` dimension) and the
        assigned keys that are catalogue segments (sorted)."""
        labels = self.scheme.assign(to_segment_row(app))
        segment = str(labels.get("strategy", ""))
        assigned: list[str] = []
        for value in labels.values():
            assigned.extend([value] if isinstance(value, str) else value)
        return labels, segment, tuple(sorted({k for k in assigned if k in self._segment_keys}))

    def _policy(self, app: Application, risk: Any, segment: str) -> PolicyResult:
        """The policy stage on the amount requested (price − the wished down payment)."""
        requested = app.vehicle.price - (app.down_payment_amount or Decimal(0))
        return self.policy.evaluate(
            to_policy_context(
                app, score=round(float(risk.points), 6), segment=segment, amount_financed=requested
            )
        )

    def _check_counters(
        self, app: Application, segment: str, counters: Sequence[CounterOffer]
    ) -> tuple[tuple[CounterOffer, ...], tuple[tuple[CounterOffer, str], ...]]:
        """Keep the counter-offers that pass the whole flow once applied (at most ``max_counter_offers``).

        The menu checks a counter-offer's affordability and the policy limits of the applicant's score
        tier; but the score itself reads the requested structure (LTV, payment, term), so accepting a
        counter-offer can move the score — below a cut-off, into the refer band, or into a tier with
        other limits. Each counter-offer is therefore applied (:func:`applied_application`), re-scored
        and re-run through the policy tables; it is kept only if the policy approves and its structure is
        within the new tier's limits. Affordability does not depend on the score, so it still holds.
        """
        kept: list[CounterOffer] = []
        dropped: list[tuple[CounterOffer, str]] = []
        for c in counters:
            if len(kept) >= self.max_counter_offers:
                break
            q = c.offer.quote
            why = self._counter_verdict(
                app, segment, c.offer.structure, self.catalogue.products[c.offer.product_id].kind,
                q.amount_financed, q.down_payment, q.price,
            )  # fmt: skip
            if why:
                dropped.append((c, why))
            else:
                kept.append(c)
        return tuple(kept), tuple(dropped)

    def _counter_verdict(
        self,
        app: Application,
        segment: str,
        structure: Structure,
        kind: str,
        amount_financed: Decimal,
        down_payment: Decimal,
        price: Decimal,
    ) -> str:
        """Why one counter-offer (its structure, product kind and quoted amounts) would fail once applied
        and re-scored; ``""`` when it passes (see :meth:`_check_counters`)."""
        new = applied_structure(app, structure, kind)
        risk = self.scorer.assess(new)
        verdict = self._policy(new, risk, segment)
        if verdict.outcome != "approve":
            codes = ", ".join(verdict.reason_codes) or verdict.outcome
            points = round(float(risk.points), 6)
            return f"once applied the score is {points:.0f} and the policy says {verdict.outcome} ({codes})"
        tier = verdict.limits
        if tier is not None:
            if amount_financed > tier.max_amount_financed:
                return f"amount financed above the new tier's limit {tier.max_amount_financed}"
            if down_payment < tier.min_down_payment_ratio * price:
                return f"down payment below the new tier's minimum share {tier.min_down_payment_ratio}"
        return ""

    def _outcome(
        self, policy: PolicyResult, risk: Any, menu: Menu | None
    ) -> tuple[Outcome, tuple[DecisionReason, ...]]:
        decided = self._policy_outcome(policy, risk)
        if decided is not None:
            return decided
        assert menu is not None
        return self._menu_outcome(
            menu.request_passed, bool(menu.offers), bool(menu.counter_offers),
            lambda asked_only: menu_codes(menu, asked_only=asked_only),
        )  # fmt: skip

    def _policy_outcome(
        self, policy: PolicyResult, risk: Any
    ) -> tuple[Outcome, tuple[DecisionReason, ...]] | None:
        """The outcome when the policy tables decline or refer; ``None`` when they approve (the menu
        decides)."""
        texts = self.reason_texts
        assert texts is not None
        if policy.outcome == "decline":
            reasons: list[DecisionReason] = []
            score_decline = False
            for r in policy.reasons:
                if r.outcome != "decline":
                    continue
                if r.code == "DC_SCORE_BELOW_CUTOFF":
                    score_decline = True
                    continue
                reasons.append(texts.reason("policy", r.code, r.text))
            if score_decline:
                factors = [_score_reason(r) for r in risk.reasons]
                reasons.extend(factors or [texts.reason("policy", "DC_SCORE_BELOW_CUTOFF")])
            return "decline", _first(reasons)
        if policy.outcome == "refer":
            refer = [texts.reason("policy", r.code, r.text) for r in policy.reasons if r.outcome == "refer"]
            return "refer", _first(refer)
        return None

    def _menu_outcome(
        self,
        request_passed: bool,
        has_offers: bool,
        has_counters: bool,
        codes: Callable[[bool], Sequence[str]],
    ) -> tuple[Outcome, tuple[DecisionReason, ...]]:
        """The outcome when the policy approves: from whether the request as asked passed, whether
        there are offers and (re-checked) counter-offers, and ``codes(asked_only)`` (:func:`menu_codes`)."""
        texts = self.reason_texts
        assert texts is not None
        if request_passed and has_offers:
            return "approve", ()
        why = self._code_reasons(codes(True))
        if not why:  # nothing of the wished ownership was eligible, so nothing was asked
            why = (texts.reason("menu", "OWNERSHIP_NOT_OFFERED"),)
        if has_counters or has_offers:
            return "counter_offer", why
        why = self._code_reasons(codes(False))
        if not why:
            why = (texts.reason("menu", "NO_AFFORDABLE_STRUCTURE"),)
        return "decline", why

    def _code_reasons(self, codes: Sequence[str]) -> tuple[DecisionReason, ...]:
        texts = self.reason_texts
        assert texts is not None
        afford = texts.codes("affordability")
        return _first([texts.reason("affordability" if c in afford else "menu", c) for c in codes])


def menu_codes(menu: Menu, *, asked_only: bool) -> tuple[str, ...]:
    """The failure codes of the request as asked (``asked_only``) or of every structure tried, most
    frequent first (ties in first-seen order), specific codes before generic ones (the generic ones
    only when nothing else failed); at most :data:`MAX_REASONS`."""
    counts: Counter[str] = Counter()
    tried = menu.tried
    rows = tried.verdicts() if isinstance(tried, Trace) else ((t.stage, t.passed, t.reasons) for t in tried)
    for stage, passed, reasons in rows:
        if passed or (asked_only and stage != "asked"):
            continue
        counts.update(dict.fromkeys(reasons, 1))
    return _ranked_codes(counts)


def _menu_codes_json(menu: Menu) -> dict[str, list[str]]:
    """``{"asked": menu_codes(menu, asked_only=True), "all": menu_codes(menu, asked_only=False)}`` as
    lists, counted in one pass over the trace (the same counts in the same first-seen order)."""
    asked: Counter[str] = Counter()
    every: Counter[str] = Counter()
    tried = menu.tried
    rows = tried.verdicts() if isinstance(tried, Trace) else ((t.stage, t.passed, t.reasons) for t in tried)
    for stage, passed, reasons in rows:
        if passed:
            continue
        once = dict.fromkeys(reasons, 1)
        every.update(once)
        if stage == "asked":
            asked.update(once)
    return {"asked": list(_ranked_codes(asked)), "all": list(_ranked_codes(every))}


def _ranked_codes(counts: Counter[str]) -> tuple[str, ...]:
    """:func:`menu_codes`'s order of counted codes: most frequent first (ties in first-seen order),
    specific codes before generic ones (the generic ones only when nothing else failed)."""
    order = sorted(counts, key=lambda c: (c in _GENERIC, -counts[c]))
    if any(c not in _GENERIC for c in order):
        order = [c for c in order if c not in _GENERIC]
    return tuple(order[:MAX_REASONS])


@dataclass(frozen=True, slots=True)
class Redecision:
    """What :meth:`DecisionEngine.redecide` gives: the outcome and reasons :meth:`DecisionEngine.decide`
    would give, the PD, the catalogue segment and the top offer — an offer of the record (``full``: as
    :func:`offer_json` wrote it) or a re-checked solved counter-offer (structure, amount financed,
    quoted down payment, price, headline rate, currency); ``None`` unless approved."""

    outcome: Outcome
    reasons: tuple[DecisionReason, ...]
    pd: float
    segment: str
    top: Mapping[str, Any] | None = None
    full: bool = False


def _first(reasons: Sequence[DecisionReason]) -> tuple[DecisionReason, ...]:
    """At most :data:`MAX_REASONS`, without repeating a code, in order."""
    seen: dict[str, DecisionReason] = {}
    for r in reasons:
        seen.setdefault(r.code, r)
    return tuple(list(seen.values())[:MAX_REASONS])


def applied_application(app: Application, offer: Offer, kind: str) -> Application:
    """The application as it is resubmitted when the customer takes a counter-offer: the offer's term,
    down payment and balloon share, and the offer's ownership (``lease`` for a lease, ``balloon`` for a
    loan with a balloon, else ``loan``) unless the customer wished ``any``. Budget and services stay."""
    return applied_structure(app, offer.structure, kind)


def applied_structure(app: Application, s: Structure, kind: str) -> Application:
    """:func:`applied_application` from the structure alone (``kind``: the product's kind)."""
    ownership = app.wishes.ownership
    if ownership != "any":
        ownership = "lease" if kind == "lease" else "balloon" if s.balloon_pct else "loan"
    update = {
        "term_months": s.term,
        "down_payment": s.down_payment,
        "down_payment_pct": None,
        "ownership": ownership,
        "balloon_pct": s.balloon_pct if kind == "loan" and s.balloon_pct else None,
    }
    return app.model_copy(update={"wishes": app.wishes.model_copy(update=update)})


# -- champion / challenger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Router:
    """Sends each application to its strategy's engine (deterministic assignment by application key).

    ``engines`` maps every strategy name of ``strategies`` to an engine built for that strategy.
    Applications without an ``application_id`` go to the champion (nothing stable to hash).
    """

    strategies: StrategySet
    engines: Mapping[str, DecisionEngine]

    def __post_init__(self) -> None:
        for s in self.strategies.strategies:
            engine = self.engines.get(s.name)
            if engine is None:
                raise ValidationError("engines", s.name, "every strategy needs an engine")
            if engine.strategy is None or engine.strategy.name != s.name:
                raise ValidationError(f"engines.{s.name}", getattr(engine.strategy, "name", None),
                                      "the engine was built for another strategy")  # fmt: skip

    def engine_for(self, app: Application) -> DecisionEngine:
        if app.application_id is None:
            return self.engines[self.strategies.champion.name]
        return self.engines[self.strategies.assign(app.application_id).name]

    def decide(self, data: Any, *, start_date: date | None = None) -> Decision:
        first = self.engines[self.strategies.champion.name]
        app = first.parse(data)
        return self.engine_for(app).decide(app, start_date=start_date)
