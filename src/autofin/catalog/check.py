"""Catalogue checks: contradictions between products, rate tables, services, promotions and the
settings in ``catalogue.yaml``, each reported with the file and line of the offending key.

Every finding has a stable ``code`` (listed with examples in docs/catalogue-checks.md) and a
``severity``: ``"error"`` (the catalogue contradicts itself or the law; ``autofin catalog check``
exits 1) or ``"warning"`` (legal but probably not meant).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from math import ceil, floor
from typing import Literal

from autofin.catalog.loader import CatalogueExtras, load_catalogue_with_extras
from autofin.catalog.models import (
    Catalogue,
    DateRange,
    Eligibility,
    Product,
    Promotion,
    PromotionKind,
    RateRow,
    RateTable,
    VehicleFilter,
)
from autofin.finance.terms import PaymentTiming, Repayment
from autofin.money import CURRENCIES

__all__ = ["CODES", "Finding", "Severity", "check_catalogue", "check_directory"]

Severity = Literal["error", "warning"]

#: every check code → what it catches (the docs page lists an example of each)
CODES: dict[str, str] = {
    "CURRENCY_UNKNOWN": "a currency autofin does not know",
    "CURRENCY_MISMATCH": "a product and its rate table, services or promotions in different currencies",
    "TERM_DUPLICATE": "a term listed twice in a product",
    "TERM_NOT_PRICED": "a product term outside every row of its rate table",
    "RATE_TABLE_UNKNOWN": "a product names a rate table that does not exist",
    "RATE_TABLE_GAP": "a score × term (× condition × LTV) cell of a rate table with no row",
    "RATE_ROW_SHADOWED": "a rate-table row that earlier rows cover entirely, so it never applies",
    "RATE_ROWS_OVERLAP": "two rate-table rows overlap with different rates (the first one wins)",
    "NO_SCORE_UNPRICED": "a rate table's no_score falls in no row",
    "EFFECTIVE_OUTSIDE_RATE_TABLE": "a product effective outside its rate table's effective window",
    "RATE_ABOVE_CAP": "a product rate (fixed or from its table, plus margin) above the legal cap",
    "DOWN_PAYMENT_RANGE": "a down-payment bound outside 0..1",
    "DOWN_PAYMENT_LTV": "the minimum down payment implies an LTV above max_ltv",
    "BALLOON_ABOVE_RESIDUAL_LIMIT": "a balloon maximum above the residual limit for its condition and term",
    "RESIDUAL_LIMIT_MISSING": "no residual limit for a term and condition a balloon or lease product offers",
    "LEASE_RESIDUAL_MISSING": "a closed-end lease without a residual for one of its terms",
    "LEASE_RESIDUAL_ABOVE_LIMIT": "a lease residual above the residual limit for its condition and term",
    "STRUCTURE_CONFLICT": "a payment shape that cannot take the product's balloon, steps, grace or floating",
    "GRACE_TOO_LONG": "a grace option as long as the product's shortest term",
    "SERVICE_UNKNOWN": "a product allows a service that does not exist",
    "SERVICE_FINANCE_FORBIDDEN": "a product forbids financing services but allows a financeable one",
    "SERVICE_TERM_UNPRICED": "a service priced by term has no price for a term of a product allowing it",
    "SEGMENT_UNKNOWN": "a segment not listed in catalogue.yaml segments",
    "UNKNOWN_BRAND": "a vehicle filter names a brand not in catalogue.yaml known_models",
    "UNKNOWN_MODEL": "a vehicle filter names a model not in known_models (or not of the brands named)",
    "PROMO_UNKNOWN_PRODUCT": "a promotion names a product that does not exist",
    "PROMO_UNKNOWN_SERVICE": "a free-service promotion names a service that does not exist",
    "PROMO_SERVICE_NOT_ALLOWED": "a free-service promotion gives a service its product does not allow",
    "PROMO_EFFECT_NOT_APPLICABLE": "a promotion effect its product cannot take (zero APR on a lease…)",
    "PROMO_RATE_ABOVE_CAP": "a promotional rate above the legal cap of its products' jurisdiction",
    "PROMO_OUTSIDE_PRODUCT_WINDOW": "a promotion valid outside the effective window of a product it names",
    "EXPIRED_REFERENCED": "an expired product or service still referenced by a live promotion or product",
    "PROMO_GROUP_OVERLAP": "two same-effect promotions of one group that can both apply to one deal",
    "PROMO_EXCLUSIVITY_ASYMMETRIC": "group A excludes group B but promotions of B do not exclude A",
    "PROMO_UNKNOWN_GROUP": "exclusive_with names a group no promotion belongs to",
}

CONDITIONS = ("new", "used")
_NEG, _POS = -(10**9), 10**9


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: its code, where it is (file relative to the catalogue, 1-based line), what is wrong."""

    code: str
    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.message}"


def check_directory(path: str | None = None, *, as_of: date | None = None) -> list[Finding]:
    """Load the catalogue in ``path`` and check it (raises ``CatalogueError`` if it does not load)."""
    catalogue, extras = load_catalogue_with_extras(path)
    return check_catalogue(catalogue, extras, as_of=as_of)


def check_catalogue(
    catalogue: Catalogue, extras: CatalogueExtras | None = None, *, as_of: date | None = None
) -> list[Finding]:
    """Every contradiction in ``catalogue``, sorted by file and line.

    ``extras`` carries the ``catalogue.yaml`` settings (residual limits, known models, segments, rate
    caps) and the key→line indexes; without it only the cross-reference checks run and findings point
    at each item's first line. ``as_of`` (default today) decides what is "expired" and "live".
    """
    checker = _Checker(catalogue, extras or CatalogueExtras(), as_of or date.today())
    checker.run()
    return sorted(checker.findings, key=lambda f: (f.file, f.line, f.code, f.message))


# -- helpers ---------------------------------------------------------------------------------------


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _window(r: DateRange) -> str:
    return f"{r.start}..{r.end or 'open'}"


def _within(inner: DateRange, outer: DateRange) -> bool:
    if inner.start < outer.start:
        return False
    if outer.end is None:
        return True
    return inner.end is not None and inner.end <= outer.end


def _overlap(a: DateRange, b: DateRange) -> bool:
    return (a.end is None or b.start <= a.end) and (b.end is None or a.start <= b.end)


def _meet(a: Sequence[object] | None, b: Sequence[object] | None) -> bool:
    return a is None or b is None or bool(set(a) & set(b))


def _conditions(p: Product) -> list[str]:
    v = p.eligibility.vehicle
    return list(v.condition) if v is not None and v.condition else list(CONDITIONS)


def _int_bounds(lo: Decimal | None, hi: Decimal | None) -> tuple[int, int]:
    return (_NEG if lo is None else ceil(lo)), (_POS if hi is None else floor(hi))


def _span(lo: int, hi: int) -> str:
    if lo <= _NEG and hi >= _POS:
        return "any"
    if lo <= _NEG:
        return f"≤{hi}"
    if hi >= _POS:
        return f"≥{lo}"
    return str(lo) if lo == hi else f"{lo}–{hi}"


@dataclass(frozen=True, slots=True)
class _Box:
    """A rate row as a box: integer score and term intervals, a set of conditions, an LTV interval."""

    score: tuple[int, int]
    term: tuple[int, int]
    conds: frozenset[str]
    ltv: tuple[Decimal | None, Decimal | None]

    @classmethod
    def of(cls, row: RateRow) -> _Box:
        ltv = (row.ltv.min, row.ltv.max) if row.ltv is not None else (None, None)
        return cls(
            _int_bounds(row.score.min, row.score.max),
            _int_bounds(row.term.min, row.term.max),
            frozenset(row.condition or CONDITIONS),
            ltv,
        )


def _int_atoms(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    points = sorted({p for lo, hi in spans for p in (lo, hi + 1)})
    return [(a, b - 1) for a, b in itertools.pairwise(points)]


def _ltv_atoms(spans: Iterable[tuple[Decimal | None, Decimal | None]]) -> list[tuple[Decimal, Decimal]]:
    big = Decimal(10**6)
    points = sorted({p for lo, hi in spans for p in (-big if lo is None else lo, big if hi is None else hi)})
    return list(itertools.pairwise(points))


def _covers_int(span: tuple[int, int], atom: tuple[int, int]) -> bool:
    return span[0] <= atom[0] and atom[1] <= span[1]


def _covers_ltv(span: tuple[Decimal | None, Decimal | None], atom: tuple[Decimal, Decimal]) -> bool:
    return (span[0] is None or span[0] <= atom[0]) and (span[1] is None or atom[1] <= span[1])


@dataclass(frozen=True, slots=True)
class _Cell:
    score: tuple[int, int]
    term: tuple[int, int]
    cond: str
    ltv: tuple[Decimal, Decimal]

    def inside(self, box: _Box) -> bool:
        return (
            _covers_int(box.score, self.score)
            and _covers_int(box.term, self.term)
            and self.cond in box.conds
            and _covers_ltv(box.ltv, self.ltv)
        )

    def describe(self, with_ltv: bool) -> str:
        text = f"score {_span(*self.score)} × term {_span(*self.term)} × {self.cond}"
        if with_ltv:
            lo, hi = self.ltv
            text += f" × LTV {_pct(lo) if abs(lo) < 10**5 else '-∞'}..{_pct(hi) if hi < 10**5 else '∞'}"
        return text


def _cells(boxes: Sequence[_Box]) -> list[_Cell]:
    scores = _int_atoms(b.score for b in boxes)
    terms = _int_atoms(b.term for b in boxes)
    conds = sorted(set().union(*(b.conds for b in boxes)))
    ltvs = _ltv_atoms(b.ltv for b in boxes)
    return [_Cell(s, t, c, v) for s in scores for t in terms for c in conds for v in ltvs]


# -- the checker -----------------------------------------------------------------------------------


class _Checker:
    def __init__(self, catalogue: Catalogue, extras: CatalogueExtras, as_of: date) -> None:
        self.c = catalogue
        self.x = extras
        self.as_of = as_of
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, int, str]] = set()

    # where things are
    def where(self, key: str, *path: object) -> tuple[str, int]:
        index = self.x.index.get(key)
        if index is not None:
            return index.file, index.line(*path)
        source = self.c.sources.get(key)
        if source is not None:
            file, _, line = source.rpartition(":")
            return file, int(line) if line.isdigit() else 1
        return key, 1

    def add(
        self, code: str, key: str, path: Sequence[object], message: str, severity: Severity = "error"
    ) -> None:
        file, line = self.where(key, *path)
        token = (code, file, line, message)
        if token not in self._seen:
            self._seen.add(token)
            self.findings.append(Finding(code, file, line, message, severity))

    def run(self) -> None:
        for tid, table in self.c.rate_tables.items():
            self.rate_table(tid, table)
        for pid, product in self.c.products.items():
            self.product(pid, product)
        for sid, service in self.c.services.items():
            key = f"service:{sid}"
            self.currency(key, service.currency)
            self.eligibility(key, service.eligibility)
        for mid, promo in self.c.promotions.items():
            self.promotion(mid, promo)
        self.stacking()

    # shared pieces
    def currency(self, key: str, code: str) -> None:
        if code not in CURRENCIES:
            self.add(
                "CURRENCY_UNKNOWN",
                key,
                ("currency",),
                f"currency {code!r} is not one of {', '.join(CURRENCIES)}",
            )

    def eligibility(self, key: str, el: Eligibility, base: tuple[str, ...] = ("eligibility",)) -> None:
        if self.x.segments is not None:
            for i, seg in enumerate(el.segments or []):
                if seg not in self.x.segments:
                    self.add("SEGMENT_UNKNOWN", key, (*base, "segments", i), self._segment_msg(seg))
        if el.vehicle is not None:
            self.vehicle(key, el.vehicle, (*base, "vehicle"))

    def _segment_msg(self, seg: str) -> str:
        return f"segment {seg!r} is not in catalogue.yaml segments ({', '.join(self.x.segments or [])})"

    def vehicle(self, key: str, v: VehicleFilter, base: tuple[str, ...]) -> None:
        known = self.x.known_models
        if not known:
            return
        for i, brand in enumerate(v.brands or []):
            if brand not in known:
                self.add(
                    "UNKNOWN_BRAND", key, (*base, "brands", i), f"brand {brand!r} is not in known_models"
                )
        brands = [b for b in (v.brands or []) if b in known] if v.brands else list(known)
        for i, model in enumerate(v.models or []):
            if any(model in known[b] for b in brands):
                continue
            owner = next((b for b, models in known.items() if model in models), None)
            if owner is None:
                msg = f"model {model!r} is not in known_models"
            else:
                msg = f"model {model!r} is a {owner} model, not of brands {', '.join(v.brands or [])}"
            if owner is None or v.brands:
                self.add("UNKNOWN_MODEL", key, (*base, "models", i), msg)

    def residual_limit(self, cond: str, term: int) -> Decimal | None:
        """The limit at ``term``, else at the next longer listed term (limits fall with term)."""
        limits = self.x.residual_limits.get(cond, {})
        longer = sorted(t for t in limits if t >= term)
        return limits[longer[0]] if longer else None

    # rate tables
    def rate_table(self, tid: str, table: RateTable) -> None:
        key = f"rate_table:{tid}"
        self.currency(key, table.currency)
        boxes = [_Box.of(r) for r in table.rows]
        if table.no_score is not None and not any(r.score.contains(table.no_score) for r in table.rows):
            self.add(
                "NO_SCORE_UNPRICED",
                key,
                ("no_score",),
                f"no_score {table.no_score} falls in no row's score range",
            )
        cells = _cells(boxes)
        with_ltv = any(r.ltv is not None for r in table.rows)
        # Gaps are holes inside the region each condition's rows span: a sheet whose used-car rows
        # stop at 72 months while new-car rows go to 84 has no gap, a missing band inside has one.
        gaps: list[_Cell] = []
        for cond in CONDITIONS:
            own = [b for b in boxes if cond in b.conds]
            if own:
                gaps += [
                    cell for cell in _cells(own) if cell.cond == cond and not any(cell.inside(b) for b in own)
                ]
        if gaps:
            shown = "; ".join(c.describe(with_ltv) for c in gaps[:3])
            more = f" (and {len(gaps) - 3} more cells)" if len(gaps) > 3 else ""
            self.add("RATE_TABLE_GAP", key, ("rows",), f"no row prices {shown}{more}")
        for j, (row, box) in enumerate(zip(table.rows, boxes, strict=True)):
            mine = [cell for cell in cells if cell.inside(box)]
            earlier = boxes[:j]
            if mine and all(any(cell.inside(b) for b in earlier) for cell in mine):
                self.add(
                    "RATE_ROW_SHADOWED",
                    key,
                    ("rows", j),
                    f"rows.{j} never applies: earlier rows cover all of it",
                )
                continue
            for i in range(j):
                other = table.rows[i]
                if other.rate == row.rate:
                    continue
                both = [cell for cell in mine if cell.inside(boxes[i])]
                if both:
                    self.add(
                        "RATE_ROWS_OVERLAP",
                        key,
                        ("rows", j),
                        f"rows.{j} (rate {_pct(row.rate)}) overlaps rows.{i} (rate {_pct(other.rate)}) at "
                        f"{both[0].describe(with_ltv)}; the first matching row wins",
                        "warning",
                    )

    # products
    def product(self, pid: str, p: Product) -> None:
        key = f"product:{pid}"
        self.currency(key, p.currency)
        cap = self._ceiling(p)
        seen: dict[int, int] = {}
        for i, t in enumerate(p.terms):
            if t in seen:
                self.add(
                    "TERM_DUPLICATE", key, ("terms", i), f"term {t} is listed twice (also terms.{seen[t]})"
                )
            seen.setdefault(t, i)

        # down payment and LTV
        dp = p.down_payment
        for bound in ("min", "max"):
            value: Decimal | None = getattr(dp, bound)
            if value is not None and not Decimal(0) <= value <= 1:
                self.add(
                    "DOWN_PAYMENT_RANGE",
                    key,
                    ("down_payment", bound),
                    f"down_payment.{bound} {_pct(value)} is outside 0..1",
                )
        if dp.min is not None and dp.min >= 1:
            self.add(
                "DOWN_PAYMENT_RANGE",
                key,
                ("down_payment", "min"),
                "down_payment.min leaves nothing to finance",
            )
        min_down = max(dp.min if dp.min is not None else Decimal(0), Decimal(0))
        if 1 - min_down > p.max_ltv:
            where = ("down_payment", "min") if dp.min is not None else ("max_ltv",)
            msg = (
                f"the minimum down payment {_pct(min_down)} allows LTV {_pct(1 - min_down)}, above "
                f"max_ltv {_pct(p.max_ltv)}"
            )
            if dp.max is not None and 1 - dp.max > p.max_ltv:
                msg += "; no down payment in range meets max_ltv"
            self.add("DOWN_PAYMENT_LTV", key, where, msg)

        # rate
        if p.rate.table is not None:
            table = self.c.rate_tables.get(p.rate.table)
            if table is None:
                self.add(
                    "RATE_TABLE_UNKNOWN",
                    key,
                    ("rate", "table"),
                    f"rate table {p.rate.table!r} does not exist",
                )
            else:
                self.product_table(key, p, table, cap)
        elif p.rate.fixed is not None and cap is not None and p.rate.fixed + p.rate.margin > cap:
            self.add(
                "RATE_ABOVE_CAP",
                key,
                ("rate", "fixed"),
                f"rate {_pct(p.rate.fixed + p.rate.margin)} is above the {p.jurisdiction} cap {_pct(cap)}",
            )

        self.structure(key, p)
        self.residuals(key, p)
        self.product_services(key, p)
        if self.x.segments is not None:
            for i, seg in enumerate(p.segments_served):
                if seg not in self.x.segments:
                    self.add("SEGMENT_UNKNOWN", key, ("segments_served", i), self._segment_msg(seg))
        self.eligibility(key, p.eligibility)

    def _ceiling(self, p: Product) -> Decimal | None:
        """The lowest fixed cap on ``p``'s rate: catalogue.yaml ``rate_caps`` and the fixed caps of its
        jurisdiction pack that bind the lender (benchmark-linked and state caps need a quote)."""
        caps = [c for c in (self.x.rate_caps.get(p.jurisdiction),) if c is not None]
        pack = self.c.jurisdictions.get(p.jurisdiction)
        if pack is not None:
            caps += [
                c.rate
                for c in pack.rate_caps
                if c.rate is not None
                and p.kind in c.kinds
                and (c.applies_to_licensed_lenders or not pack.licensed_lender)
            ]
        return min(caps, default=None)

    def product_table(self, key: str, p: Product, table: RateTable, cap: Decimal | None) -> None:
        tkey = f"rate_table:{table.id}"
        if table.currency != p.currency:
            self.add(
                "CURRENCY_MISMATCH",
                key,
                ("currency",),
                f"product is in {p.currency} but rate table {table.id!r} is in {table.currency}",
            )
        if not _within(p.effective, table.effective):
            self.add(
                "EFFECTIVE_OUTSIDE_RATE_TABLE",
                key,
                ("effective",),
                f"effective {_window(p.effective)} is not within rate table {table.id!r} "
                f"({_window(table.effective)})",
            )
        conds = _conditions(p)
        for i, t in enumerate(p.terms):
            missing = [
                c
                for c in conds
                if not any(
                    r.term.contains(t) and (r.condition is None or c in r.condition) for r in table.rows
                )
            ]
            if missing:
                which = "" if missing == conds else f" for {'/'.join(missing)} vehicles"
                self.add(
                    "TERM_NOT_PRICED",
                    key,
                    ("terms", i),
                    f"term {t} is in no row of rate table {table.id!r}{which}",
                )
        if cap is not None:
            for j, row in enumerate(table.rows):
                if row.rate + p.rate.margin > cap:
                    self.add(
                        "RATE_ABOVE_CAP",
                        tkey,
                        ("rows", j, "rate"),
                        f"rate {_pct(row.rate + p.rate.margin)} for product {p.id!r} "
                        f"(margin {_pct(p.rate.margin)}) is above the {p.jurisdiction} cap {_pct(cap)}",
                    )

    def structure(self, key: str, p: Product) -> None:
        def conflict(path: tuple[str, ...], msg: str) -> None:
            self.add("STRUCTURE_CONFLICT", key, path, msg)

        if p.balloon is not None and p.kind == "lease":
            conflict(("balloon",), "a lease has a residual, not a balloon; drop balloon")
        if p.balloon is not None and p.repayment is Repayment.BULLET:
            conflict(("balloon",), "a bullet loan already repays everything at the end; drop balloon")
        if p.repayment in (Repayment.FLAT, Repayment.BULLET):
            if p.steps is not None:
                conflict(("steps",), f"{p.repayment.value} loans take no steps")
            if p.grace:
                conflict(("grace",), f"{p.repayment.value} loans take no grace")
        if p.repayment is Repayment.EQUAL_PRINCIPAL and p.steps is not None:
            conflict(("steps",), "equal_principal loans take no steps")
        if p.floating is not None and p.repayment is Repayment.FLAT:
            conflict(("floating",), "flat loans cannot float")
        if p.floating is not None and p.kind == "lease":
            conflict(("floating",), "lease products do not float")
        shortest = min(p.terms)
        for i, g in enumerate(p.grace):
            if g.max_periods >= shortest:
                self.add(
                    "GRACE_TOO_LONG",
                    key,
                    ("grace", i, "max_periods"),
                    f"grace of up to {g.max_periods} periods does not fit the shortest term {shortest}",
                    "warning",
                )

    def residuals(self, key: str, p: Product) -> None:
        conds = _conditions(p)
        limited = bool(self.x.residual_limits)
        if p.balloon is not None and p.balloon.max_pct_of_price > 0 and limited:
            top = p.balloon.max_pct_of_price
            self.limits(
                key,
                p,
                ("balloon", "max_pct_of_price"),
                lambda _: top,
                conds,
                "BALLOON_ABOVE_RESIDUAL_LIMIT",
                "balloon up to",
            )
        if p.lease is not None and p.lease.type == "closed_end":
            residuals = p.lease.residual_pct_of_msrp
            for i, t in enumerate(p.terms):
                if t not in residuals:
                    self.add(
                        "LEASE_RESIDUAL_MISSING",
                        key,
                        ("terms", i),
                        f"term {t} has no lease.residual_pct_of_msrp",
                    )
            if limited:
                self.limits(
                    key,
                    p,
                    None,
                    residuals.get,
                    conds,
                    "LEASE_RESIDUAL_ABOVE_LIMIT",
                    "residual",
                )

    def limits(
        self,
        key: str,
        p: Product,
        path: tuple[str, ...] | None,
        value_at: Callable[[int], Decimal | None],
        conds: list[str],
        code: str,
        what: str,
    ) -> None:
        for cond in conds:
            if cond not in self.x.residual_limits:
                self.add(
                    "RESIDUAL_LIMIT_MISSING",
                    key,
                    path or ("lease", "residual_pct_of_msrp"),
                    f"catalogue.yaml residual_limits has no {cond!r} limits",
                    "warning",
                )
                continue
            for i, t in enumerate(p.terms):
                value = value_at(t)
                if value is None:
                    continue
                where = path or ("lease", "residual_pct_of_msrp", t)
                limit = self.residual_limit(cond, t)
                if limit is None:
                    self.add(
                        "RESIDUAL_LIMIT_MISSING",
                        key,
                        ("terms", i),
                        f"catalogue.yaml residual_limits.{cond} has no limit for term {t} or longer",
                        "warning",
                    )
                elif value > limit:
                    self.add(
                        code,
                        key,
                        where,
                        f"{what} {_pct(value)} of price at term {t} ({cond}) is above the residual limit "
                        f"{_pct(limit)}",
                    )

    def product_services(self, key: str, p: Product) -> None:
        for i, sid in enumerate(p.services.allowed or []):
            service = self.c.services.get(sid)
            where = ("services", "allowed", i)
            if service is None:
                self.add("SERVICE_UNKNOWN", key, where, f"service {sid!r} does not exist")
                continue
            if service.currency != p.currency:
                self.add(
                    "CURRENCY_MISMATCH",
                    key,
                    where,
                    f"service {sid!r} is in {service.currency}, the product in {p.currency}",
                )
            if not p.services.financeable and service.financeable:
                self.add(
                    "SERVICE_FINANCE_FORBIDDEN",
                    key,
                    ("services", "financeable"),
                    f"services.financeable is false but allowed service {sid!r} is financeable; "
                    "it will be sold for cash only",
                    "warning",
                )
            if service.price.by_term is not None:
                missing = [t for t in p.terms if t not in service.price.by_term]
                if missing:
                    self.add(
                        "SERVICE_TERM_UNPRICED",
                        key,
                        where,
                        f"service {sid!r} has no price for term {', '.join(map(str, missing))}",
                    )
            if self._expired(service.effective) and not self._expired(p.effective):
                self.add(
                    "EXPIRED_REFERENCED",
                    key,
                    where,
                    f"service {sid!r} expired on {service.effective.end} but this live product allows it",
                )

    def _expired(self, r: DateRange) -> bool:
        return r.end is not None and r.end < self.as_of

    # promotions
    def promotion(self, mid: str, m: Promotion) -> None:
        key = f"promotion:{mid}"
        self.currency(key, m.currency)
        self.eligibility(key, m.eligibility)
        el = m.eligibility
        products: list[Product] = []
        for i, pid in enumerate(el.products or []):
            product = self.c.products.get(pid)
            where = ("eligibility", "products", i)
            if product is None:
                self.add("PROMO_UNKNOWN_PRODUCT", key, where, f"product {pid!r} does not exist")
                continue
            products.append(product)
            if product.currency != m.currency:
                self.add(
                    "CURRENCY_MISMATCH",
                    key,
                    ("currency",),
                    f"promotion is in {m.currency} but product {pid!r} is in {product.currency}",
                )
            live = m.valid.contains(self.as_of) or m.valid.start > self.as_of
            if self._expired(product.effective) and live:
                self.add(
                    "EXPIRED_REFERENCED",
                    key,
                    where,
                    f"product {pid!r} expired on {product.effective.end} but this live promotion names it",
                )
            elif not _within(m.valid, product.effective):
                never = not _overlap(m.valid, product.effective)
                self.add(
                    "PROMO_OUTSIDE_PRODUCT_WINDOW",
                    key,
                    ("valid",),
                    f"valid {_window(m.valid)} {'never meets' if never else 'runs outside'} the "
                    f"effective window of product {pid!r} ({_window(product.effective)})",
                )
        scope = (
            products
            if el.products is not None
            else [p for p in self.c.products.values() if p.currency == m.currency]
        )
        self.effect(key, m, scope, named=el.products is not None)

    def effect(self, key: str, m: Promotion, products: list[Product], named: bool) -> None:
        e = m.effect
        kind = e.kind

        def not_applicable(path: tuple[str, ...], msg: str) -> None:
            self.add("PROMO_EFFECT_NOT_APPLICABLE", key, path, msg)

        if kind is PromotionKind.FREE_SERVICE and e.service is not None:
            service = self.c.services.get(e.service)
            if service is None:
                self.add(
                    "PROMO_UNKNOWN_SERVICE",
                    key,
                    ("effect", "service"),
                    f"service {e.service!r} does not exist",
                )
            else:
                if service.currency != m.currency:
                    self.add(
                        "CURRENCY_MISMATCH",
                        key,
                        ("effect", "service"),
                        f"service {e.service!r} is in {service.currency}, the promotion in {m.currency}",
                    )
                if self._expired(service.effective) and not self._expired(m.valid):
                    self.add(
                        "EXPIRED_REFERENCED",
                        key,
                        ("effect", "service"),
                        f"service {e.service!r} expired on {service.effective.end} "
                        "but this live promotion gives it",
                    )
                for p in products if named else []:
                    if p.services.allowed is not None and e.service not in p.services.allowed:
                        self.add(
                            "PROMO_SERVICE_NOT_ALLOWED",
                            key,
                            ("effect", "service"),
                            f"product {p.id!r} does not allow service {e.service!r}",
                        )
        # Kind-specific effects are checked against the products a promotion names; an unscoped
        # promotion applies to whichever products can take it.
        for p in products if named else []:
            if kind is PromotionKind.ZERO_APR and p.kind == "lease":
                not_applicable(("effect", "kind"), f"zero_apr cannot apply to lease product {p.id!r}")
            if kind is PromotionKind.DEFERRED_FIRST_PAYMENT and p.timing is PaymentTiming.ADVANCE:
                not_applicable(
                    ("effect", "kind"),
                    f"product {p.id!r} is paid in advance; the first payment cannot be deferred",
                )
            if kind is PromotionKind.EXTENDED_TERM and e.extra_months is not None:
                longest = max(p.terms) + e.extra_months
                if longest > 120:
                    not_applicable(
                        ("effect", "extra_months"),
                        f"product {p.id!r} term {max(p.terms)} + {e.extra_months} exceeds 120 months",
                    )
                else:
                    table = self.c.rate_tables.get(p.rate.table or "")
                    if table is not None and not all(
                        any(
                            r.term.contains(longest) and (r.condition is None or c in r.condition)
                            for r in table.rows
                        )
                        for c in _conditions(p)
                    ):
                        not_applicable(
                            ("effect", "extra_months"),
                            f"extended term {longest} of product {p.id!r} is in no row of "
                            f"rate table {table.id!r}",
                        )
            if kind is PromotionKind.RATE_BUYDOWN and e.rate is not None:
                standard = self._lowest_rate(p)
                if standard is not None and e.rate >= standard:
                    not_applicable(
                        ("effect", "rate"),
                        f"rate {_pct(e.rate)} buys nothing down: product {p.id!r} already charges from "
                        f"{_pct(standard)}",
                    )
        if kind is PromotionKind.RATE_BUYDOWN and e.rate is not None:
            for p in products:
                cap = self.x.rate_caps.get(p.jurisdiction)
                if cap is not None and e.rate > cap:
                    self.add(
                        "PROMO_RATE_ABOVE_CAP",
                        key,
                        ("effect", "rate"),
                        f"rate {_pct(e.rate)} is above the {p.jurisdiction} cap {_pct(cap)} "
                        f"(product {p.id!r})",
                    )

    def _lowest_rate(self, p: Product) -> Decimal | None:
        if p.rate.fixed is not None:
            return p.rate.fixed + p.rate.margin
        table = self.c.rate_tables.get(p.rate.table or "")
        if table is None:
            return None
        return min(r.rate for r in table.rows) + p.rate.margin

    def stacking(self) -> None:
        groups: dict[str, list[str]] = defaultdict(list)
        for mid, m in self.c.promotions.items():
            if m.stacking.group is not None:
                groups[m.stacking.group].append(mid)
        for mid, m in self.c.promotions.items():
            key = f"promotion:{mid}"
            mine = m.stacking.group
            for i, other_group in enumerate(m.stacking.exclusive_with):
                where = ("stacking", "exclusive_with", i)
                if other_group not in groups:
                    self.add(
                        "PROMO_UNKNOWN_GROUP",
                        key,
                        where,
                        f"no promotion is in group {other_group!r}",
                        "warning",
                    )
                    continue
                if mine is None or other_group == mine:
                    continue
                stackable = [
                    o for o in groups[other_group] if mine not in self.c.promotions[o].stacking.exclusive_with
                ]
                if stackable:
                    self.add(
                        "PROMO_EXCLUSIVITY_ASYMMETRIC",
                        key,
                        where,
                        f"group {mine!r} excludes {other_group!r}, but promotion(s) "
                        f"{', '.join(stackable)} in {other_group!r} do not exclude {mine!r}",
                    )
        for group, members in groups.items():
            for a, b in itertools.combinations(members, 2):
                pa, pb = self.c.promotions[a], self.c.promotions[b]
                # Different effects in one group are the designed "low APR *or* rebate" choice; the
                # same effect twice leaves undefined which one the engine applies.
                if pa.effect.kind != pb.effect.kind or not self._can_meet(pa, pb):
                    continue
                self.add(
                    "PROMO_GROUP_OVERLAP",
                    f"promotion:{b}",
                    ("stacking", "group"),
                    f"{b!r} and {a!r} are both in group {group!r} with the same effect "
                    f"({pb.effect.kind.value}) and can apply to the same deal: which one applies is "
                    "undefined",
                )

    def _can_meet(self, a: Promotion, b: Promotion) -> bool:
        if not _overlap(a.valid, b.valid) or a.currency != b.currency:
            return False
        ea, eb = a.eligibility, b.eligibility
        for name in ("products", "customer_types", "channels", "regions", "segments"):
            if not _meet(getattr(ea, name), getattr(eb, name)):
                return False
        va, vb = ea.vehicle, eb.vehicle
        if va is None or vb is None:
            return True
        for name in ("condition", "vehicle_class", "powertrain", "use", "brands", "models"):
            if not _meet(getattr(va, name), getattr(vb, name)):
                return False
        if va.price is not None and vb.price is not None:
            lo = max((x for x in (va.price.min, vb.price.min) if x is not None), default=None)
            hi = min((x for x in (va.price.max, vb.price.max) if x is not None), default=None)
            if lo is not None and hi is not None and hi < lo:
                return False
        return True
