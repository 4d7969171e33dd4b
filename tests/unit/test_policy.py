"""Credit policy decision tables (autofin.decision.policy): the tables' own test cases, the combination
of outcomes, versions, input validation and the zen-engine fast path."""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
import zen

from autofin.catalog.loader import OWNED_ELSEWHERE, default_catalogue_dir, load_catalogue
from autofin.decision import policy
from autofin.decision.policy import (
    TABLES,
    PolicyEngine,
    check_expected,
    default_policy_dir,
    load_table_cases,
)
from autofin.errors import ValidationError

CASES = load_table_cases()

CLEAN: dict[str, Any] = {
    "age_at_application": 35,
    "is_resident": True,
    "fraud_flag": False,
    "bankruptcy_flag": False,
    "watchlist_hit": False,
    "thin_file": False,
    "income_verified": True,
    "amount_financed": 120000,
    "segment": "prime_professional",
    "score": 710,
    "customer_type": "individual",
}


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load()


def _rule_ids(table: str, directory: Path | None = None) -> set[str]:
    root = directory or default_policy_dir()
    (path,) = root.glob(f"{table}@*.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    ids: set[str] = set()
    for node in doc["nodes"]:
        if node["type"] == "decisionTableNode":
            col = next(o["id"] for o in node["content"]["outputs"] if o["field"] == "rule_id")
            ids |= {rule[col].strip("'\"") for rule in node["content"]["rules"]}
    return ids


# -- the tables' own test cases (catalog/policy/tests/<table>.json) -----------------------------


@pytest.mark.parametrize("case", CASES, ids=[f"{c.table}::{c.name}" for c in CASES])
def test_table_case(engine: PolicyEngine, case: policy.TableCase) -> None:
    problem = check_expected(engine.evaluate_table(case.table, case.input), case.expected)
    assert problem is None, f"{case.table} / {case.name}: {problem}"


@pytest.mark.parametrize("table", TABLES)
def test_every_rule_of_every_table_is_exercised_by_a_case(engine: PolicyEngine, table: str) -> None:
    fired: set[str] = set()
    for case in (c for c in CASES if c.table == table):
        out = engine.evaluate_table(table, case.input)
        rows = out if isinstance(out, list) else [out]
        fired |= {str(r["rule_id"]) for r in rows if r}
    missing = _rule_ids(table) - fired
    assert not missing, f"{table}: no test case fires {sorted(missing)}; add one to tests/{table}.json"


def test_check_expected_reports_differences() -> None:
    assert check_expected([{"a": 1, "b": 2}], [{"a": 1}]) is None
    assert check_expected({"x": 0.2}, {"x": 0.20}) is None
    assert check_expected([], [{"a": 1}]) is not None
    assert check_expected({"a": "1"}, {"a": 1}) is not None
    assert check_expected({"a": True}, {"a": 1}) is not None
    assert check_expected({}, {"a": 1}) == "output.a: missing (got {})"


# -- combining the tables -----------------------------------------------------------------------


def test_clean_prime_applicant_is_approved_with_tier_limits(engine: PolicyEngine) -> None:
    result = engine.evaluate(CLEAN)
    assert result.outcome == "approve"
    assert result.reasons == ()
    assert result.limits == policy.PolicyLimits("A", Decimal("800000"), Decimal("0.15"))
    assert [d.code for d in result.documents] == ["identity_document"]
    assert result.trace == {
        "knockouts": (),
        "refer_rules": (),
        "score_cutoffs": ("SC-prime_professional-A",),
        "limits": ("LM-A",),
        "documents": ("DOC-01",),
    }


def test_decline_beats_refer_beats_approve_and_reasons_are_ordered(engine: PolicyEngine) -> None:
    ctx = {**CLEAN, "bankruptcy_flag": True, "thin_file": True, "amount_financed": 200000, "score": 580}
    result = engine.evaluate(ctx)
    assert result.outcome == "decline"
    # decline reasons first (knock-out, then the score), then refer reasons
    assert result.reason_codes == ("KO_BANKRUPTCY", "RF_THIN_FILE_HIGH_AMOUNT", "RF_SCORE_BORDERLINE")
    assert [r.outcome for r in result.reasons] == ["decline", "refer", "refer"]
    assert result.reasons[0].table == "knockouts" and result.reasons[0].rule_id == "KO-05"
    assert result.reasons[0].text  # specific adverse-action wording travels with the code


def test_refer_only(engine: PolicyEngine) -> None:
    result = engine.evaluate({**CLEAN, "income_verified": False, "amount_financed": 150000})
    assert result.outcome == "refer"
    assert result.reason_codes == ("RF_INCOME_NOT_VERIFIED",)
    assert [d.code for d in result.documents] == ["identity_document", "bank_statements"]


def test_score_decline_and_business_documents(engine: PolicyEngine) -> None:
    result = engine.evaluate(
        {**CLEAN, "segment": "small_business", "customer_type": "small_business", "score": 590}
    )
    assert result.outcome == "decline"
    assert result.reason_codes == ("DC_SCORE_BELOW_CUTOFF",)
    assert "business_licence" in [d.code for d in result.documents]
    assert result.limits is not None and result.limits.score_tier == "D"


def test_unknown_segment_uses_default_cutoffs(engine: PolicyEngine) -> None:
    assert engine.evaluate({**CLEAN, "segment": "nev_buyer", "score": 615}).outcome == "refer"


def test_decimal_inputs_are_accepted(engine: PolicyEngine) -> None:
    result = engine.evaluate({**CLEAN, "amount_financed": Decimal("150000.01"), "thin_file": True})
    assert result.reason_codes == ("RF_THIN_FILE_HIGH_AMOUNT",)
    assert engine.evaluate({**CLEAN, "score": Decimal("599.5")}).trace["limits"] == ("LM-D",)


def test_versions_name_the_file_version_and_its_content_hash(engine: PolicyEngine) -> None:
    result = engine.evaluate(CLEAN)
    assert set(result.versions) == set(TABLES)
    for table, v in result.versions.items():
        path = default_policy_dir() / v.file
        assert v.table == table and path.name == f"{table}@{v.version}.json"
        assert v.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_at_application", "35"),
        ("age_at_application", True),
        ("score", float("nan")),
        ("score", Decimal("NaN")),
        ("fraud_flag", 0),
        ("is_resident", "yes"),
        ("segment", ""),
        ("segment", 3),
        ("amount_financed", None),
    ],
)
def test_wrong_type_names_the_field(engine: PolicyEngine, field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        engine.evaluate({**CLEAN, field: value})
    assert info.value.field == field


@pytest.mark.parametrize("field", sorted(CLEAN))
def test_missing_field_names_it(engine: PolicyEngine, field: str) -> None:
    ctx = {k: v for k, v in CLEAN.items() if k != field}
    with pytest.raises(ValidationError) as info:
        engine.evaluate(ctx)
    assert info.value.field == field
    assert "required by the policy tables" in str(info.value)


def test_context_must_be_a_mapping(engine: PolicyEngine) -> None:
    with pytest.raises(ValidationError):
        engine.evaluate([("score", 700)])  # type: ignore[arg-type]


def test_evaluate_table_checks_only_that_tables_fields(engine: PolicyEngine) -> None:
    assert engine.evaluate_table("limits", {"score": 650})["score_tier"] == "B"
    with pytest.raises(ValidationError) as info:
        engine.evaluate_table("limits", {"scor": 650})
    assert info.value.field == "score"
    with pytest.raises(ValidationError):
        engine.evaluate_table("no_such_table", {})


def _copy_policy(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(default_policy_dir(), target)
    return target


def _edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(next(n for n in doc["nodes"] if n["type"] == "decisionTableNode")["content"])
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_load_rejects_a_table_reading_an_unknown_field(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    _edit(next(root.glob("limits@*.json")), lambda c: c["inputs"][0].update(field="scroe"))
    with pytest.raises(ValidationError, match="unknown context field"):
        PolicyEngine.load(root)


def test_load_rejects_missing_or_duplicate_rule_ids(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    path = next(root.glob("knockouts@*.json"))

    def dup(content: dict[str, Any]) -> None:
        content["rules"][1]["out_rule_id"] = content["rules"][0]["out_rule_id"]

    _edit(path, dup)
    with pytest.raises(ValidationError, match="unique"):
        PolicyEngine.load(root)


def test_load_rejects_bad_names_two_versions_and_missing_tables(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    src = next(root.glob("limits@*.json"))
    shutil.copy(src, root / "limits@2099.1.json")
    with pytest.raises(ValidationError, match="two versions"):
        PolicyEngine.load(root)
    (root / "limits@2099.1.json").rename(root / "limits.json")
    with pytest.raises(ValidationError, match="<table>@<version>"):
        PolicyEngine.load(root)
    (root / "limits.json").unlink()
    src.unlink()
    with pytest.raises(ValidationError, match="missing table"):
        PolicyEngine.load(root)


# -- the fast path: one ZenEngine, engine.evaluate(key, ctx), never create_decision ---------------


class _SpyEngine:
    instances: ClassVar[list[_SpyEngine]] = []

    def __init__(self, options: Any) -> None:
        self._real = _REAL_ZEN_ENGINE(options)
        self.evaluated: list[str] = []
        self.create_decision_calls = 0
        _SpyEngine.instances.append(self)

    def evaluate(self, key: str, context: Any, options: Any = None) -> Any:
        self.evaluated.append(key)
        return (
            self._real.evaluate(key, context)
            if options is None
            else self._real.evaluate(key, context, options)
        )

    def create_decision(self, content: Any) -> Any:  # pragma: no cover - must not be called
        self.create_decision_calls += 1
        return self._real.create_decision(content)

    def get_decision(self, key: str) -> Any:  # pragma: no cover - must not be called
        self.create_decision_calls += 1
        return self._real.get_decision(key)


_REAL_ZEN_ENGINE = zen.ZenEngine


def test_fast_path_one_engine_evaluate_by_key_no_create_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    _SpyEngine.instances.clear()
    monkeypatch.setattr(zen, "ZenEngine", _SpyEngine)  # policy.py looks up zen.ZenEngine
    engine = PolicyEngine.load()
    for _ in range(3):
        engine.evaluate(CLEAN)
    assert len(_SpyEngine.instances) == 1  # one engine per PolicyEngine, not per evaluation
    spy = _SpyEngine.instances[0]
    assert spy.evaluated == list(TABLES) * 3  # every table, by key, on each application
    assert spy.create_decision_calls == 0
    assert "trace" not in engine._engine.evaluate("limits", {"score": 700})  # no zen tracing on the hot path


# -- the catalogue loader leaves policy/ to this module --------------------------------------------


def test_catalogue_loader_skips_policy_dir() -> None:
    assert OWNED_ELSEWHERE["policy"] == "autofin.decision.policy"
    assert (default_catalogue_dir() / "policy").is_dir()
    load_catalogue(default_catalogue_dir())
