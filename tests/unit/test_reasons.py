"""Reason codes: specific texts (Reg B 12 CFR 1002.9(b)(2) and comment 9(b)(2)-1), the catalog, ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autofin.data.public import load_german_credit
from autofin.data.schemas import PROTECTED_COLUMNS
from autofin.errors import ValidationError
from autofin.risk.reasons import (
    MAX_REASONS,
    Reason,
    ReasonCatalog,
    ReasonEntry,
    rank_reasons,
    validate_reason_text,
)

# Protected attributes of the public data sets (autofin.data.public), named literally to stay offline.
PUBLIC_PROTECTED = (
    "personal_status_and_sex",
    "age_in_years",
    "foreign_worker",
    "age",
    "SEX",
    "AGE",
    "MARRIAGE_0",
    "MARRIAGE_1",
    "MARRIAGE_2",
    "MARRIAGE_3",
    "afam",
    "single",
)
GMSC_MODEL_COLUMNS = (
    "RevolvingUtilizationOfUnsecuredLines",
    "NumberOfTime30-59DaysPastDueNotWorse",
    "DebtRatio",
    "MonthlyIncome",
    "NumberOfOpenCreditLinesAndLoans",
    "NumberOfTimes90DaysLate",
    "NumberRealEstateLoansOrLines",
    "NumberOfTime60-89DaysPastDueNotWorse",
    "NumberOfDependents",
)


@pytest.fixture(scope="module")
def catalog() -> ReasonCatalog:
    return ReasonCatalog.default()


# --- texts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "en",
    [
        "",
        "   ",
        "Other",
        "Other, specify: ____",
        "Other reasons",
        "Insufficient",
        "Insufficient credit",
        "Credit score",
        "Low credit score",
        "Your credit score is too low",
        "Failed to achieve the qualifying score on our credit scoring system",
        "You did not meet our internal standards",
        "Based on our internal policies",
        "Does not meet our credit criteria",
    ],
)
def test_vague_english_reasons_are_rejected(en: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_reason_text(en, "工作年限较短")
    assert err.value.field == "reason"
    assert err.value.value == en


@pytest.mark.parametrize(
    "zh",
    [
        "",
        "其他",
        "其他原因",
        "综合评分不足",
        "信用评分低",
        "评分不足",
        "不符合我行内部标准",
        "未达到审批要求",
        "资质不足",
        "Length",
    ],
)
def test_vague_chinese_reasons_are_rejected(zh: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_reason_text("Length of employment", zh)
    assert err.value.field == "reason"
    assert err.value.value == zh


@pytest.mark.parametrize(
    ("en", "zh"),
    [  # CFPB sample form C-1 reasons (12 CFR 1002 Appendix C) and the catalog's own examples
        ("Length of employment", "工作年限较短"),
        ("Income insufficient for amount of credit requested", "收入不足以支持所申请的贷款金额"),
        ("Number of recent inquiries on credit bureau report", "近期征信查询次数过多"),
        ("Bankruptcy", "破产记录"),
        ("Credit bureau score is below the level we approve", "征信评分低于审批标准"),
    ],
)
def test_specific_reasons_pass(en: str, zh: str) -> None:
    validate_reason_text(en, zh)


# --- the catalog -----------------------------------------------------------------------------------------


def test_default_catalog_covers_the_worlds_and_public_features(catalog: ReasonCatalog) -> None:
    for feature in (
        "bureau_score",
        "revolving_utilisation",
        "delinquencies_24m",
        "dti",
        "ltv",
        "employment_tenure_months",
        "score_z",
        "tenure_years",
        *GMSC_MODEL_COLUMNS,
        *load_german_credit().model_columns,
    ):
        entry = catalog.entry(feature)
        validate_reason_text(entry.en, entry.zh_cn)
    assert catalog["bureau_score"].en == "Credit bureau score is below the level we approve"
    assert catalog["bureau_score"].zh_cn == "征信评分低于审批标准"
    assert (
        catalog["revolving_utilisation"].en == "Proportion of revolving balances to credit limits is too high"
    )


def test_default_catalog_holds_no_protected_attribute(catalog: ReasonCatalog) -> None:
    assert not set(catalog) & (set(PROTECTED_COLUMNS) | set(PUBLIC_PROTECTED))


def test_catalog_rejects_vague_text_protected_features_and_bad_codes() -> None:
    ok = {"code": "TENURE", "en": "Length of employment", "zh_cn": "工作年限较短"}
    with pytest.raises(ValidationError) as err:
        ReasonCatalog.from_dict({"x": {**ok, "en": "Other"}})
    assert err.value.field == "reason"
    with pytest.raises(ValidationError) as err:
        ReasonCatalog.from_dict({"gender": ok})
    assert err.value.field == "features"
    with pytest.raises(ValidationError) as err:
        ReasonCatalog.from_dict({"x": {**ok, "code": "bad code"}})
    assert err.value.field == "reason_catalog.x.code"
    with pytest.raises(ValidationError):  # one code, two texts
        ReasonCatalog.from_dict({"x": ok, "y": {**ok, "en": "Too short a period of residence"}})
    with pytest.raises(ValidationError):  # missing key
        ReasonCatalog.from_dict({"x": {"code": "TENURE", "en": "Length of employment"}})


def test_catalog_yaml_both_forms(tmp_path: Path, catalog: ReasonCatalog) -> None:
    per_feature = tmp_path / "per_feature.yaml"
    per_feature.write_text(
        "tenure:\n  code: TENURE\n  en: Length of employment\n  zh_cn: 工作年限较短\n", encoding="utf-8"
    )
    assert ReasonCatalog.from_yaml(per_feature)["tenure"] == ReasonEntry(
        "TENURE", "Length of employment", "工作年限较短"
    )
    compact = tmp_path / "compact.yaml"
    compact.write_text(
        "reasons:\n  TENURE: {en: Length of employment, zh_cn: 工作年限较短}\n"
        "features: {tenure: TENURE, months_employed: TENURE}\n",
        encoding="utf-8",
    )
    loaded = ReasonCatalog.from_yaml(compact)
    assert loaded["months_employed"] == loaded["tenure"]
    assert ReasonCatalog.from_dict(catalog.to_dict()) == catalog


def test_unknown_feature_is_a_clear_error(catalog: ReasonCatalog) -> None:
    with pytest.raises(ValidationError) as err:
        catalog.entry("shoe_size")
    assert err.value.field == "features"
    assert err.value.value == ["shoe_size"]
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.ones((1, 2)), ["dti", "shoe_size"], catalog)
    assert err.value.value == ["shoe_size"]


# --- ranking ---------------------------------------------------------------------------------------------

FEATURES = ["bureau_score", "revolving_utilisation", "delinquencies_24m", "dti", "ltv", "tenure_years"]


def brute_force(row: np.ndarray, catalog: ReasonCatalog, max_reasons: int, min_impact: float) -> list[Reason]:
    ranked = sorted(range(len(FEATURES)), key=lambda j: -row[j])  # sorted() is stable: ties keep order
    out = []
    for j in ranked[:max_reasons]:
        if row[j] > min_impact:
            e = catalog[FEATURES[j]]
            out.append(Reason(e.code, FEATURES[j], e.en, e.zh_cn, float(row[j])))
    return out


@pytest.mark.parametrize(("max_reasons", "min_impact"), [(4, 0.0), (2, 0.0), (4, 0.5), (1, 0.0)])
def test_rank_reasons_matches_brute_force(
    catalog: ReasonCatalog, max_reasons: int, min_impact: float
) -> None:
    rng = np.random.default_rng(7)
    impacts = rng.normal(size=(200, len(FEATURES)))
    impacts[:5] = -1.0  # nothing hurt: no reason
    impacts[5] = [1.0, 1.0, 1.0, 0.5, 0.5, 0.0]  # ties keep column order
    got = rank_reasons(impacts, FEATURES, catalog, max_reasons=max_reasons, min_impact=min_impact)
    assert got == [brute_force(row, catalog, max_reasons, min_impact) for row in impacts]
    assert all(len(r) <= max_reasons for r in got)
    assert all(reason.impact > min_impact for r in got for reason in r)
    assert got[0] == []


def test_features_sharing_a_code_give_one_reason(catalog: ReasonCatalog) -> None:
    features = ["PAY_0", "PAY_2", "LIMIT_BAL"]  # PAY_* share CARD_DELINQUENCY
    impacts = np.array([[3.0, 2.0, 4.0], [0.5, -9.0, 0.1]])
    got = rank_reasons(impacts, features, catalog)
    assert [(r.code, r.feature, r.impact) for r in got[0]] == [
        ("CARD_DELINQUENCY", "PAY_0", 5.0),
        ("CREDIT_LIMIT", "LIMIT_BAL", 4.0),
    ]
    assert [(r.code, r.feature, r.impact) for r in got[1]] == [
        ("CARD_DELINQUENCY", "PAY_0", 0.5),
        ("CREDIT_LIMIT", "LIMIT_BAL", 0.1),
    ]


def test_rank_reasons_refuses_protected_attributes_and_bad_arguments(catalog: ReasonCatalog) -> None:
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.ones((1, 2)), ["dti", "gender"], catalog)
    assert err.value.field == "features"
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.ones((1, 2)), ["dti", "ltv"], catalog, max_reasons=MAX_REASONS + 1)
    assert err.value.field == "max_reasons"
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.ones((1, 3)), ["dti", "ltv"], catalog)
    assert err.value.field == "impacts"
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.array([[np.nan, 1.0]]), ["dti", "ltv"], catalog)
    assert err.value.field == "impacts"
    with pytest.raises(ValidationError) as err:
        rank_reasons(np.ones((1, 2)), ["dti", "ltv"], catalog, min_impact=-1.0)
    assert err.value.field == "min_impact"
