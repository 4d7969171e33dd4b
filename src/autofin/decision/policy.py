"""Credit policy as decision tables: knock-outs, refer rules, score cut-offs, limits and documents.

The tables are GoRules JDM files (JSON Decision Model) under the catalogue's ``policy/`` directory, so a
risk manager edits them in the open JDM editor and the same file runs here on zen-engine (Rust). The
guide is docs/decisions-policy.md.

Layout::

    catalog/policy/
      knockouts@2026.11.1.json      one decision table per file: <table>@<version>.json
      refer_rules@2026.11.1.json
      score_cutoffs@2026.11.1.json
      limits@2026.11.1.json
      documents@2026.11.1.json
      tests/<table>.json            the table's own test cases: input → expected output

Every table's decision-table node has a ``rule_id`` output column; its value for each rule that fires is
the trace (no zen tracing needed, which would double the time). Tables that produce reasons have
``reason_code`` and ``reason`` columns; the score cut-off table a ``decision`` column; the limit table
``score_tier``, ``max_amount_financed`` (CNY) and ``min_down_payment_ratio`` (fraction of the vehicle
price); the documents table ``document`` and ``description``.

Speed: one :class:`zen.ZenEngine` per :class:`PolicyEngine`, whose loader hands back pre-parsed content
by key, and ``engine.evaluate(key, context)`` per table (≈ 10–20 µs each). ``create_decision(...)``
is about ten times slower in zen-engine 2.x (gorules/zen#441) and is not used; a test pins this.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import zen

from autofin.errors import ValidationError

__all__ = [
    "CONTEXT_FIELDS",
    "TABLES",
    "DocumentRequirement",
    "PolicyEngine",
    "PolicyLimits",
    "PolicyReason",
    "PolicyResult",
    "TableCase",
    "TableVersion",
    "check_expected",
    "default_policy_dir",
    "load_table_cases",
]

Outcome = Literal["approve", "refer", "decline"]
_PRECEDENCE: dict[str, int] = {"approve": 0, "refer": 1, "decline": 2}

#: The tables a policy directory must hold, in evaluation order.
TABLES: tuple[str, ...] = ("knockouts", "refer_rules", "score_cutoffs", "limits", "documents")

_Kind = Literal["number", "bool", "str"]

#: Every context field a table may test, with its kind and meaning (units in the description). A table
#: that names any other field fails to load: a misspelt column must not silently never match.
CONTEXT_FIELDS: Mapping[str, tuple[_Kind, str]] = MappingProxyType(
    {
        "age_at_application": ("number", "applicant's age in years on the application date"),
        "is_resident": ("bool", "resident of the lending jurisdiction"),
        "fraud_flag": ("bool", "identity/fraud checks raised a flag"),
        "bankruptcy_flag": ("bool", "bankruptcy on the applicant's record"),
        "watchlist_hit": ("bool", "match on a sanctions or watch list"),
        "thin_file": ("bool", "bureau file thin or absent"),
        "income_verified": ("bool", "income verified (electronically or by document)"),
        "amount_financed": ("number", "amount financed requested, in the contract currency (CNY)"),
        "segment": ("str", "segment key from the catalogue (young_urban, …)"),
        "score": ("number", "application credit score in scorecard points"),
        "customer_type": ("str", "individual, small_business, fleet or government"),
    }
)

_FILE_NAME = re.compile(r"^(?P<table>[a-z][a-z0-9_]*)@(?P<version>[0-9A-Za-z][0-9A-Za-z._-]*)\.json$")


def default_policy_dir() -> Path:
    """The ``policy/`` directory of the default catalogue."""
    from autofin.catalog.loader import default_catalogue_dir

    return default_catalogue_dir() / "policy"


@dataclass(frozen=True, slots=True)
class TableVersion:
    """Which table ran: the version declared in its file name and the SHA-256 of the file's bytes."""

    table: str
    version: str
    sha256: str
    file: str


@dataclass(frozen=True, slots=True)
class PolicyReason:
    """One rule that pushed the outcome away from approve (a Reg B-style specific reason)."""

    code: str
    text: str
    outcome: Outcome
    table: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class PolicyLimits:
    """Limits by score tier. ``max_amount_financed`` in the contract currency; the minimum down
    payment as a fraction of the vehicle price (``0.2`` = 20 %)."""

    score_tier: str
    max_amount_financed: Decimal
    min_down_payment_ratio: Decimal


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    """A document the applicant must provide before funding."""

    code: str
    description: str


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The policy's verdict on one application.

    ``reasons`` are ordered decline first, then refer, each in table order. US adverse-action notices
    should carry at most four specific reasons (Reg B §1002.9 commentary) and, for a score decline, the
    scorecard's key factors rather than ``DC_SCORE_BELOW_CUTOFF`` alone.
    """

    outcome: Outcome
    reasons: tuple[PolicyReason, ...]
    limits: PolicyLimits | None
    documents: tuple[DocumentRequirement, ...]
    trace: Mapping[str, tuple[str, ...]]
    versions: Mapping[str, TableVersion]

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The codes of :attr:`reasons`, without duplicates, in order."""
        return tuple(dict.fromkeys(r.code for r in self.reasons))


@dataclass(frozen=True, slots=True)
class _Table:
    key: str
    version: TableVersion
    fields: tuple[str, ...]
    content: Any  # zen.ZenDecisionContent, parsed once


@dataclass(frozen=True, slots=True)
class TableCase:
    """One test case of a table: ``input`` (a partial context) → ``expected`` (a subset of the output)."""

    table: str
    name: str
    input: Mapping[str, Any]
    expected: Any


class PolicyEngine:
    """The credit policy tables of one directory, loaded once, evaluated by one zen engine."""

    def __init__(self, tables: Mapping[str, _Table], directory: Path) -> None:
        self.directory = directory
        self._tables = dict(tables)
        self._engine = zen.ZenEngine({"loader": self._load})
        self._fields = tuple(dict.fromkeys(f for t in self._tables.values() for f in t.fields))
        self.versions: Mapping[str, TableVersion] = MappingProxyType(
            {k: t.version for k, t in self._tables.items()}
        )

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | Path | None = None) -> PolicyEngine:
        """Read and check every ``<table>@<version>.json`` of ``directory`` (default: the catalogue's
        ``policy/``). Raises :class:`~autofin.errors.ValidationError` naming the file on any problem."""
        root = Path(directory) if directory is not None else default_policy_dir()
        if not root.is_dir():
            raise ValidationError("policy", str(root), "policy directory does not exist")
        tables: dict[str, _Table] = {}
        for path in sorted(root.glob("*.json")):
            table = _read_table(path)
            if table.key in tables:
                raise ValidationError(
                    path.name,
                    table.key,
                    f"two versions of table {table.key!r} ({tables[table.key].version.file}); keep one",
                )
            tables[table.key] = table
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise ValidationError("policy", str(root), f"missing table(s) {', '.join(missing)}")
        extra = [t for t in tables if t not in TABLES]
        if extra:
            raise ValidationError(extra[0], str(root), f"unknown table; expected one of {', '.join(TABLES)}")
        return cls({k: tables[k] for k in TABLES}, root)

    def _load(self, key: str) -> Any:
        # zen calls this on every evaluate (it does not cache), so hand back content parsed at load.
        table = self._tables.get(key)
        if table is None:
            raise KeyError(f"unknown policy table {key!r}")
        return table.content

    @property
    def fields(self) -> tuple[str, ...]:
        """The context fields the loaded tables read."""
        return self._fields

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, context: Mapping[str, Any]) -> PolicyResult:
        """Run every table on ``context`` (see :data:`CONTEXT_FIELDS`) and combine the outcomes:
        decline > refer > approve. A missing or mistyped field raises ValidationError naming it."""
        ctx = _clean_context(context, self._fields)
        outputs = {key: self._engine.evaluate(key, ctx)["result"] for key in self._tables}
        return self._combine(outputs)

    def evaluate_table(self, table: str, context: Mapping[str, Any]) -> Any:
        """Run one table on a context holding (at least) the fields it reads; returns its raw output:
        a list of rows for a ``collect`` table, one row (``{}`` if none fired) for a ``first`` table."""
        if table not in self._tables:
            raise ValidationError("table", table, f"unknown table; expected one of {', '.join(self._tables)}")
        ctx = _clean_context(context, self._tables[table].fields)
        return self._engine.evaluate(table, ctx)["result"]

    def _combine(self, outputs: Mapping[str, Any]) -> PolicyResult:
        trace = {key: tuple(str(row["rule_id"]) for row in _rows(out)) for key, out in outputs.items()}
        reasons: list[PolicyReason] = []
        for row in _rows(outputs["knockouts"]):
            reasons.append(_reason(row, "decline", "knockouts"))
        for row in _rows(outputs["refer_rules"]):
            reasons.append(_reason(row, "refer", "refer_rules"))
        cutoff = outputs["score_cutoffs"]
        if not cutoff:
            raise ValidationError(
                "score", None, "no score cut-off rule matched; the table needs a default row"
            )
        decision = str(cutoff["decision"])
        if decision not in _PRECEDENCE:
            raise ValidationError("score_cutoffs.decision", decision, "must be approve, refer or decline")
        if decision != "approve":
            reasons.append(_reason(cutoff, "refer" if decision == "refer" else "decline", "score_cutoffs"))
        outcome: Outcome = "approve"
        for r in reasons:
            if _PRECEDENCE[r.outcome] > _PRECEDENCE[outcome]:
                outcome = r.outcome
        reasons.sort(key=lambda r: -_PRECEDENCE[r.outcome])  # stable: table order within an outcome
        lim = outputs["limits"]
        limits = (
            PolicyLimits(
                score_tier=str(lim["score_tier"]),
                max_amount_financed=_decimal(lim["max_amount_financed"]),
                min_down_payment_ratio=_decimal(lim["min_down_payment_ratio"]),
            )
            if lim
            else None
        )
        documents = tuple(
            dict.fromkeys(
                DocumentRequirement(str(row["document"]), str(row.get("description", "")))
                for row in _rows(outputs["documents"])
            )
        )
        return PolicyResult(
            outcome=outcome,
            reasons=tuple(reasons),
            limits=limits,
            documents=documents,
            trace=MappingProxyType(trace),
            versions=self.versions,
        )


# -- helpers ------------------------------------------------------------------------------------


def _rows(output: Any) -> list[Mapping[str, Any]]:
    if isinstance(output, list):
        return output
    return [output] if output else []


def _reason(row: Mapping[str, Any], outcome: Outcome, table: str) -> PolicyReason:
    return PolicyReason(
        code=str(row.get("reason_code") or f"{table.upper()}_{row['rule_id']}"),
        text=str(row.get("reason") or ""),
        outcome=outcome,
        table=table,
        rule_id=str(row["rule_id"]),
    )


def _decimal(value: Any) -> Decimal:
    # zen returns numbers as float or int; go through str so 0.15 stays 0.15.
    return Decimal(str(value))


def _clean_context(context: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(context, Mapping):
        raise ValidationError("context", type(context).__name__, "must be a mapping of field → value")
    ctx: dict[str, Any] = {}
    for name in fields:
        if name not in context:
            raise ValidationError(name, None, f"required by the policy tables ({CONTEXT_FIELDS[name][1]})")
        ctx[name] = _check(name, context[name])
    return ctx


def _check(name: str, value: Any) -> Any:
    kind = CONTEXT_FIELDS[name][0]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValidationError(name, value, "must be true or false")
    if kind == "str":
        if isinstance(value, str) and value:
            return value
        raise ValidationError(name, value, "must be a non-empty string")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(name, value, "must be a number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(name, value, "must be a finite number")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(name, value, "must be a finite number")
    return value


def _read_table(path: Path) -> _Table:
    m = _FILE_NAME.match(path.name)
    if m is None:
        raise ValidationError(
            path.name,
            path.name,
            "policy files are named <table>@<version>.json, e.g. knockouts@2026.11.1.json",
        )
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(path.name, str(exc), "not valid JSON") from exc
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("nodes"), list)
        or not isinstance(doc.get("edges"), list)
    ):
        raise ValidationError(path.name, None, "not a JDM graph (needs 'nodes' and 'edges' lists)")
    nodes = [n for n in doc["nodes"] if isinstance(n, dict)]
    kinds = [n.get("type") for n in nodes]
    if "inputNode" not in kinds or "outputNode" not in kinds:
        raise ValidationError(path.name, kinds, "a JDM graph needs an inputNode and an outputNode")
    tables = [n for n in nodes if n.get("type") == "decisionTableNode"]
    if not tables:
        raise ValidationError(path.name, kinds, "needs at least one decisionTableNode")
    fields: list[str] = []
    for node in tables:
        fields.extend(_check_table_node(path.name, node))
    content = zen.ZenDecisionContent(raw.decode("utf-8"))
    version = TableVersion(
        table=m["table"], version=m["version"], sha256=hashlib.sha256(raw).hexdigest(), file=path.name
    )
    return _Table(key=m["table"], version=version, fields=tuple(dict.fromkeys(fields)), content=content)


def _check_table_node(file: str, node: Mapping[str, Any]) -> Iterator[str]:
    content = node.get("content") or {}
    where = f"{file}: {node.get('name', node.get('id'))}"
    if content.get("hitPolicy") not in ("first", "collect"):
        raise ValidationError(where, content.get("hitPolicy"), "hitPolicy must be 'first' or 'collect'")
    outputs = {o.get("id"): o.get("field") for o in content.get("outputs", [])}
    rule_col = next((i for i, f in outputs.items() if f == "rule_id"), None)
    if rule_col is None:
        raise ValidationError(where, list(outputs.values()), "needs a 'rule_id' output column (the trace)")
    seen: set[str] = set()
    for n, rule in enumerate(content.get("rules", []), 1):
        rid = str(rule.get(rule_col, "")).strip()
        if rid in ("", "''", '""'):
            raise ValidationError(f"{where}: rule {n}", rid, "rule_id is empty")
        if rid in seen:
            raise ValidationError(f"{where}: rule {n}", rid, "rule_id must be unique in the table")
        seen.add(rid)
    for inp in content.get("inputs", []):
        name = inp.get("field")
        if name not in CONTEXT_FIELDS:
            raise ValidationError(
                f"{where}: input {inp.get('name')!r}", name, "unknown context field; see CONTEXT_FIELDS"
            )
        yield name


# -- table test cases ---------------------------------------------------------------------------


def load_table_cases(directory: str | Path | None = None) -> list[TableCase]:
    """Read ``tests/<table>.json`` files: ``{"cases": [{"name", "input", "expected"}, …]}``."""
    root = (Path(directory) if directory is not None else default_policy_dir()) / "tests"
    cases: list[TableCase] = []
    for path in sorted(root.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for n, case in enumerate(doc.get("cases", []), 1):
            cases.append(
                TableCase(
                    table=path.stem,
                    name=str(case.get("name", f"case {n}")),
                    input=case["input"],
                    expected=case["expected"],
                )
            )
    return cases


def check_expected(actual: Any, expected: Any, path: str = "") -> str | None:
    """``None`` if ``actual`` matches ``expected``, else what differs. Mappings match on the keys the
    expectation names (extra keys in ``actual`` are ignored); lists match element by element and in
    length; numbers match by value (``0.2`` equals ``0.20``)."""
    where = path or "output"
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing (got {dict(actual)!r})"
            problem = check_expected(actual[key], value, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: expected {len(expected)} row(s), got {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            problem = check_expected(a, e, f"{where}[{i}]")
            if problem:
                return problem
        return None
    number = (int, float, Decimal)
    if isinstance(expected, number) and not isinstance(expected, bool):
        ok = (
            isinstance(actual, number)
            and not isinstance(actual, bool)
            and _decimal(actual) == _decimal(expected)
        )
    else:
        ok = actual == expected and type(actual) is type(expected)
    return None if ok else f"{where}: expected {expected!r}, got {actual!r}"
