"""Champion/challenger strategies, deterministic assignment and version stamps (autofin.decision.strategy)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from autofin.decision.policy import TableVersion
from autofin.decision.strategy import (
    COMMIT_ENV,
    CodeVersion,
    ModelRef,
    PolicyTableRef,
    Strategy,
    StrategySet,
    VersionStamp,
    assign,
    bucket,
    code_version,
    stamp_for,
)
from autofin.errors import ValidationError

SHA_A = "a" * 64
SHA_B = "b" * 64
N_KEYS = 100_000
KEYS = [f"APP-{i:07d}" for i in range(N_KEYS)]


def _strategy(name: str, share: str | float | Decimal = 1, /, **changes: object) -> Strategy:
    base: dict[str, object] = {
        "name": name,
        "description": f"{name} strategy",
        "catalogue_version": "2026.07",
        "policy_tables": {"knockouts": PolicyTableRef("3", SHA_A), "cutoffs": PolicyTableRef("7", SHA_B)},
        "risk_model": ModelRef("pd-scorecard", 3),
        "pricing_version": "cn-2026h2:4",
        "segment_scheme_version": "segments-2026.1",
        "share": share,
    }
    return Strategy(**(base | changes))  # type: ignore[arg-type]


def _set(shares: dict[str, str], salt: str = "exp-2026-07") -> StrategySet:
    (champ, share), *rest = shares.items()
    return StrategySet(_strategy(champ, share), tuple(_strategy(n, s) for n, s in rest), salt=salt)


def _assignments(ss: StrategySet) -> list[str]:
    return [assign(k, ss).name for k in KEYS]


# ------------------------------------------------------------------------------------- validation


def test_strategy_normalises_inputs() -> None:
    s = _strategy(
        "ch",
        0.1,
        risk_model="pd-scorecard:4",
        policy_tables={"b": "2", "a": {"version": "1", "sha256": SHA_A}},
    )
    assert s.risk_model == ModelRef("pd-scorecard", 4)
    assert str(s.risk_model) == "pd-scorecard:4"
    assert list(s.policy_tables) == ["a", "b"]
    assert s.policy_tables["b"] == PolicyTableRef("2")
    assert s.share == Decimal("0.1")  # exactly, not 0.1000000000000000055…
    tv = TableVersion(table="a", version="9", sha256=SHA_B, file="a.v9.json")
    assert _strategy("x", policy_tables={"a": tv}).policy_tables["a"] == PolicyTableRef("9", SHA_B)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "bad name"}, "name"),
        ({"catalogue_version": ""}, "catalogue_version"),
        ({"risk_model": "pd-scorecard"}, "risk_model"),
        ({"risk_model": 3}, "risk_model"),
        ({"pricing_version": " "}, "pricing_version"),
        ({"segment_scheme_version": 3}, "segment_scheme_version"),
        ({"share": 0}, "share"),
        ({"share": "1.5"}, "share"),
        ({"share": "nan"}, "share"),
        ({"share": True}, "share"),
        ({"policy_tables": {"t": {"version": "1", "sha256": "xyz"}}}, "policy_tables.sha256"),
        ({"policy_tables": ["t"]}, "policy_tables"),
    ],
)
def test_strategy_rejects_bad_fields(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _strategy("s", **changes)
    assert info.value.field == field


def test_model_ref_validates() -> None:
    assert ModelRef.parse("a.b-c:12") == ModelRef("a.b-c", 12)
    for bad in ("nocolon", "x:", "x:1.5", ":3"):
        with pytest.raises(ValidationError):
            ModelRef.parse(bad)
    with pytest.raises(ValidationError, match="version"):
        ModelRef("pd", 0)


def test_model_ref_can_pin_the_artefact_content() -> None:
    ref = ModelRef.parse("pd:3@0123456789abcdef")
    assert ref == ModelRef("pd", 3, "0123456789abcdef") and str(ref) == "pd:3@0123456789abcdef"
    for bad in ("pd:3@", "pd:3@0123", "pd:3@0123456789ABCDEF", "pd@0123456789abcdef"):
        with pytest.raises(ValidationError):
            ModelRef.parse(bad)
    # A reference without content names any artefact of that name and version; with content, only one.
    assert ModelRef("pd", 3).pins(ref) and ref.pins(ref)
    assert not ref.pins(ModelRef("pd", 3, "fedcba9876543210")) and not ref.pins(ModelRef("pd", 3))
    assert not ModelRef("pd", 2).pins(ref)


def test_shares_must_sum_to_one_with_a_clear_error() -> None:
    with pytest.raises(ValidationError) as info:
        _set({"champ": "0.9", "ch1": "0.2"})
    assert info.value.field == "share"
    assert info.value.value == "1.1"
    assert "must sum to exactly 1" in info.value.rule
    assert "champ 0.9 + ch1 0.2" in info.value.rule
    # float shares are read through str, so 0.7 + 0.2 + 0.1 is exactly 1
    StrategySet(_strategy("c", 0.7), (_strategy("a", 0.2), _strategy("b", 0.1)))


def test_set_rejects_duplicate_names_and_bad_salt() -> None:
    with pytest.raises(ValidationError, match="unique"):
        StrategySet(_strategy("c", "0.5"), (_strategy("c", "0.5"),))
    for salt in ("", "a\x00b"):
        with pytest.raises(ValidationError) as info:
            StrategySet(_strategy("c"), salt=salt)
        assert info.value.field == "salt"
    with pytest.raises(ValidationError, match="application_key"):
        assign("", StrategySet(_strategy("c")))


def test_intervals_put_champion_at_the_bottom_and_challengers_from_the_top() -> None:
    ss = _set({"champ": "0.8", "ch1": "0.15", "ch2": "0.05"})
    got = [(s.name, lo, hi) for s, lo, hi in ss.intervals()]
    assert got == [
        ("champ", Decimal(0), Decimal("0.8")),
        ("ch1", Decimal("0.85"), Decimal(1)),
        ("ch2", Decimal("0.8"), Decimal("0.85")),
    ]
    for key in KEYS[:2000]:
        u = Decimal(bucket(key, ss.salt))
        name = assign(key, ss).name
        lo, hi = next((lo, hi) for s, lo, hi in ss.intervals() if s.name == name)
        assert lo <= u < hi


# ------------------------------------------------------------------------------------- assignment


def test_assignment_is_deterministic_and_pinned() -> None:
    ss = _set({"champ": "0.5", "ch1": "0.5"})
    again = _set({"champ": "0.5", "ch1": "0.5"})
    assert _assignments(ss)[:5000] == _assignments(again)[:5000]
    # pinned: SHA-256("exp-2026-07\0APP-0000000")[:8] / 2**64 — changes here break replay of old decisions
    assert bucket("APP-0000000", "exp-2026-07") == pytest.approx(
        int.from_bytes(__import__("hashlib").sha256(b"exp-2026-07\x00APP-0000000").digest()[:8], "big")
        / 2**64,
        abs=0,
    )
    assert 0 <= bucket("x", "y") < 1
    # the strategies' descriptions and versions do not influence assignment, only names' positions and shares
    other = StrategySet(
        _strategy("champ", "0.5", description="changed"),
        (_strategy("ch1", "0.5", catalogue_version="x"),),
        ss.salt,
    )
    assert _assignments(other)[:5000] == _assignments(ss)[:5000]


def test_changing_the_salt_reshuffles() -> None:
    a = _assignments(_set({"champ": "0.5", "ch1": "0.5"}, salt="one"))
    b = _assignments(_set({"champ": "0.5", "ch1": "0.5"}, salt="two"))
    agree = sum(x == y for x, y in zip(a, b, strict=True)) / N_KEYS
    assert abs(agree - 0.5) < 4 * math.sqrt(0.25 / N_KEYS)  # independent: agree half the time


@pytest.mark.parametrize(
    "shares",
    [
        {"champ": "0.9", "ch1": "0.1"},
        {"champ": "0.8", "ch1": "0.15", "ch2": "0.05"},
        {"champ": "0.5", "ch1": "0.25", "ch2": "0.25"},
        {"champ": "1"},
    ],
)
def test_realised_split_is_within_four_standard_errors(shares: dict[str, str]) -> None:
    counts = Counter(_assignments(_set(shares)))
    for name, share in shares.items():
        p = float(share)
        se = math.sqrt(p * (1 - p) / N_KEYS)
        assert abs(counts[name] / N_KEYS - p) <= 4 * se + 1e-12, (name, counts[name])


def test_reducing_a_challengers_share_keeps_champion_keys_in_the_champion() -> None:
    before = _assignments(_set({"champ": "0.8", "ch1": "0.15", "ch2": "0.05"}))
    for reduced in (
        {"champ": "0.85", "ch1": "0.10", "ch2": "0.05"},
        {"champ": "0.82", "ch1": "0.15", "ch2": "0.03"},
    ):
        after = _assignments(_set(reduced))
        assert all(a == "champ" for b, a in zip(before, after, strict=True) if b == "champ")
        # and nobody moves *into* the shrunken challenger
        shrunk = next(n for n in ("ch1", "ch2") if reduced[n] != {"ch1": "0.15", "ch2": "0.05"}[n])
        assert all(b == shrunk for b, a in zip(before, after, strict=True) if a == shrunk)
    # shrinking the last-listed challenger moves only its own keys, and only to the champion
    after = _assignments(_set({"champ": "0.82", "ch1": "0.15", "ch2": "0.03"}))
    moved = Counter((b, a) for b, a in zip(before, after, strict=True) if b != a)
    assert set(moved) == {("ch2", "champ")}


def test_adding_a_challenger_only_moves_keys_out_of_the_champion() -> None:
    before = _assignments(_set({"champ": "0.9", "ch1": "0.1"}))
    after = _assignments(_set({"champ": "0.8", "ch1": "0.1", "ch2": "0.1"}))
    moved = Counter((b, a) for b, a in zip(before, after, strict=True) if b != a)
    assert set(moved) == {("champ", "ch2")}
    assert abs(moved[("champ", "ch2")] / N_KEYS - 0.1) < 4 * math.sqrt(0.09 / N_KEYS)


def test_strategy_set_round_trips_and_looks_up() -> None:
    ss = _set({"champ": "0.9", "ch1": "0.1"})
    data = json.loads(json.dumps(ss.to_dict()))
    again = StrategySet.from_dict(data)
    assert again == ss
    assert again.get("ch1").share == Decimal("0.1")
    assert ss.assign("APP-1") is assign("APP-1", ss)
    with pytest.raises(ValidationError, match="no such strategy"):
        ss.get("nope")
    with pytest.raises(ValidationError) as info:
        StrategySet.from_dict({"champion": ss.champion.to_dict(), "challenger": []})
    assert info.value.field == "strategy_set.challenger"
    bad = ss.champion.to_dict()
    del bad["risk_model"]
    with pytest.raises(ValidationError) as info:
        Strategy.from_dict(bad)
    assert info.value.field == "strategy.risk_model"
    assert hash(ss.champion) == hash(Strategy.from_dict(ss.champion.to_dict()))
    assert ss.champion.with_share("0.5").share == Decimal("0.5")


def test_verify_policy_checks_the_loaded_tables() -> None:
    s = _strategy("champ")
    loaded = {
        "knockouts": TableVersion("knockouts", "3", SHA_A, "knockouts.v3.json"),
        "cutoffs": TableVersion("cutoffs", "7", SHA_B, "cutoffs.v7.json"),
    }
    s.verify_policy(loaded)
    with pytest.raises(ValidationError, match="pins 7"):
        s.verify_policy(loaded | {"cutoffs": TableVersion("cutoffs", "7", SHA_A, "cutoffs.v7.json")})
    with pytest.raises(ValidationError, match="not loaded"):
        s.verify_policy({"knockouts": loaded["knockouts"]})
    with pytest.raises(ValidationError, match="not pinned"):
        s.verify_policy(loaded | {"extra": TableVersion("extra", "1", SHA_A, "extra.v1.json")})


# ---------------------------------------------------------------------------------- version stamp


def _stamp(**changes: object) -> VersionStamp:
    base = stamp_for(_strategy("champ"), CodeVersion("0.1.0", "0123abc"))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_stamp_for_copies_the_strategy_versions() -> None:
    s = _strategy("champ")
    st = stamp_for(s, CodeVersion("0.1.0", "0123abc"), extra_models=(ModelRef("take-up", 2),))
    assert st.strategy == "champ"
    assert st.catalogue == "2026.07"
    assert st.policy_tables == s.policy_tables
    assert [str(m) for m in st.models] == ["pd-scorecard:3", "take-up:2"]
    assert st.pricing == "cn-2026h2:4"
    assert st.segments == "segments-2026.1"
    assert st.code == CodeVersion("0.1.0", "0123abc")


def test_canonical_json_is_stable_across_dict_ordering() -> None:
    st = _stamp()
    data = st.to_dict()
    reordered = {k: data[k] for k in reversed(list(data))}
    reordered["policy_tables"] = {k: data["policy_tables"][k] for k in reversed(list(data["policy_tables"]))}
    back = VersionStamp.from_dict(json.loads(json.dumps(reordered)))
    assert back.canonical_json() == st.canonical_json()
    assert back.digest == st.digest
    assert back == st and hash(back) == hash(st)
    assert len({st, back}) == 1
    text = st.canonical_json()
    assert " " not in text and text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert json.loads(text)["schema"] == 1
    # model order given by the caller does not matter either
    a = _stamp(models=(ModelRef("b", 1), ModelRef("a", 2)))
    b = _stamp(models=(ModelRef("a", 2), ModelRef("b", 1)))
    assert a.digest == b.digest


@pytest.mark.parametrize(
    "changes",
    [
        {"strategy": "ch1"},
        {"catalogue": "2026.08"},
        {"policy_tables": {"knockouts": PolicyTableRef("4", SHA_A), "cutoffs": PolicyTableRef("7", SHA_B)}},
        {"policy_tables": {"knockouts": PolicyTableRef("3", SHA_B), "cutoffs": PolicyTableRef("7", SHA_B)}},
        {"policy_tables": {"knockouts": PolicyTableRef("3", SHA_A)}},
        {"models": (ModelRef("pd-scorecard", 4),)},
        {"models": (ModelRef("pd-lgbm", 3),)},
        {"pricing": "cn-2026h2:5"},
        {"segments": "segments-2026.2"},
        {"code": CodeVersion("0.1.1", "0123abc")},
        {"code": CodeVersion("0.1.0", "0123abd")},
        {"code": CodeVersion("0.1.0", None)},
    ],
)
def test_digest_changes_when_any_version_changes(changes: dict[str, object]) -> None:
    base = _stamp()
    changed = _stamp(**changes)
    assert changed.digest != base.digest
    assert changed != base


def test_stamp_from_dict_rejects_bad_input() -> None:
    data = _stamp().to_dict()
    with pytest.raises(ValidationError) as info:
        VersionStamp.from_dict(data | {"schema": 2})
    assert info.value.field == "schema"
    with pytest.raises(ValidationError) as info:
        VersionStamp.from_dict({k: v for k, v in data.items() if k != "pricing"})
    assert info.value.field == "version_stamp.pricing"
    with pytest.raises(ValidationError, match="once"):
        VersionStamp.from_dict(data | {"models": ["pd:1", "pd:2"]})
    with pytest.raises(ValidationError) as info:
        VersionStamp.from_dict(data | {"code": {"package": "0.1.0", "commit": "not-hex"}})
    assert info.value.field == "code.commit"


def test_code_version_reads_metadata_and_commit_without_shelling_out() -> None:
    cv = code_version(environ={})
    assert cv.package  # the installed distribution's version (or autofin.__version__ from a source tree)
    assert cv.commit is None
    assert code_version(environ={COMMIT_ENV: "ABCDEF1234\n"}).commit == "abcdef1234"
    assert code_version("0123abc", environ={COMMIT_ENV: "ffffffff"}).commit == "0123abc"
    with pytest.raises(ValidationError):
        code_version(environ={COMMIT_ENV: "dirty-tree"})
