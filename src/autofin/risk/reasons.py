"""Adverse-action reason codes: specific reasons, in English and Simplified Chinese, ranked per applicant.

US Regulation B (12 CFR 1002.9(b)(2)) requires the *specific principal reasons* for adverse action;
statements that the decision rested on "internal standards or policies" or that the applicant
"failed to achieve a qualifying score" are insufficient, and the Official Interpretation (comment
9(b)(2)-1) adds that more than four reasons are not likely to be helpful. The CFPB's sample
notification form (Appendix C, form C-1) lists reasons of the kind this module holds ("Length of
employment", "Number of recent inquiries on credit bureau report", ...); CFPB Circulars 2022-03 and
2023-03 apply the same rule to complex (ML) models.

* :class:`Reason` - one reason given to one applicant, with its ``impact`` (points lost on a scorecard,
  or the PD / log-odds contribution of an ML model: larger = hurt more).
* :class:`ReasonCatalog` - feature -> (code, English text, zh-CN text). Every entry is checked by
  :func:`validate_reason_text` when the catalog is built; :meth:`ReasonCatalog.default` covers the
  synthetic world's features and the public data sets' non-protected features.
* :func:`rank_reasons` - vectorised ranking of an ``(n, k)`` impact matrix into at most four reasons
  per row; protected attributes are refused.

Features that share a code (``PAY_0`` ... ``PAY_6`` all mean "delinquent card payments") give one
reason: their positive impacts are summed, and the reason names the feature that contributed most.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import yaml

from autofin.data.schemas import assert_no_protected
from autofin.errors import ValidationError

__all__ = [
    "MAX_REASONS",
    "Reason",
    "ReasonCatalog",
    "ReasonEntry",
    "rank_reasons",
    "validate_reason_text",
]

#: Reg B commentary 9(b)(2)-1: "disclosure of more than four reasons is not likely to be helpful".
MAX_REASONS: Final = 4


@dataclass(frozen=True)
class Reason:
    """One specific reason for one applicant.

    Attributes:
        code: stable reason code (``"UTILISATION"``); several features may share one.
        feature: the model feature behind the reason (the largest contributor if several share the code).
        en: the reason in English, as printed on the notice.
        zh_cn: the reason in Simplified Chinese.
        impact: how much the reason hurt: scorecard points lost against the feature's maximum points,
            or an ML model's PD / log-odds contribution. Always > ``min_impact`` (so > 0 by default).
    """

    code: str
    feature: str
    en: str
    zh_cn: str
    impact: float


@dataclass(frozen=True)
class ReasonEntry:
    """The reason a feature gives when it hurts an applicant: ``code``, ``en`` and ``zh_cn`` texts."""

    code: str
    en: str
    zh_cn: str


# --- text rules ------------------------------------------------------------------------------------------

_MIN_EN_CHARS: Final = 8
_MIN_ZH_CHARS: Final = 2

# Statements Reg B 1002.9(b)(2) and its commentary call insufficient, and their usual disguises.
_BANNED_EN: Final[tuple[tuple[str, str], ...]] = (
    (
        r"\binternal\s+(standard|polic|rule|criteri|guideline|requirement)",
        "names internal standards or policies",
    ),
    (r"\bqualifying\s+score\b", "says only that a qualifying score was not reached"),
    (r"\bfail(ed|s)?\s+to\s+(achieve|attain|reach|meet|obtain)\b", "says only that a threshold was not met"),
    (r"\b(does|did|do)\s*(not|n't)\s+(meet|satisfy|qualify)\b", "says only that criteria were not met"),
    (r"\bscor(e|ing)\s+(system|model)\b", "refers to the scoring system instead of a factor"),
    (r"\bother\s+(reasons?|factors?|causes?)\b", "gives 'other' instead of a reason"),
    (r"^\s*other\b\W*(specify\W*)?$", "gives 'other' instead of a reason"),
    (r"\bspecify\b", "is an unfilled template ('specify')"),
)
_BANNED_ZH: Final[tuple[tuple[str, str], ...]] = (
    (r"内部(标准|政策|规定|要求|规则)", "names internal standards or policies (内部标准/政策)"),
    (r"综合评分", "gives an overall score instead of a factor (综合评分)"),
    (r"评分不足|分数不足|评分不够|分数不够", "says only that the score was insufficient (评分不足)"),
    (r"未(达到|达|满足).{0,6}(评分|分数|标准|要求|条件)", "says only that a threshold was not met (未达到)"),
    (r"不符合.{0,8}(要求|标准|条件|政策|规定)", "says only that criteria were not met (不符合)"),
    (r"其[他它](原因|因素|情况)?[。.]?$", "gives 'other' instead of a reason (其他)"),
    (r"资质不(足|符|够)", "says only that the applicant's qualification was insufficient (资质不足)"),
)
# Words that, on their own, name no factor: a text made only of these is vague ("Insufficient credit",
# "Your credit score is too low", "Other").
_VAGUE_EN: Final = frozenset(
    {
        "a",
        "an",
        "the",
        "your",
        "you",
        "our",
        "we",
        "us",
        "my",
        "me",
        "of",
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "being",
        "not",
        "no",
        "nor",
        "did",
        "does",
        "do",
        "has",
        "have",
        "had",
        "too",
        "very",
        "so",
        "and",
        "or",
        "but",
        "as",
        "this",
        "that",
        "it",
        "its",
        "due",
        "credit",
        "score",
        "scores",
        "scoring",
        "rating",
        "ratings",
        "low",
        "lower",
        "poor",
        "bad",
        "weak",
        "insufficient",
        "inadequate",
        "unsatisfactory",
        "unacceptable",
        "adverse",
        "negative",
        "qualify",
        "qualifying",
        "qualified",
        "qualification",
        "meet",
        "met",
        "meets",
        "requirement",
        "requirements",
        "criteria",
        "criterion",
        "standard",
        "standards",
        "policy",
        "policies",
        "internal",
        "guideline",
        "guidelines",
        "rule",
        "rules",
        "other",
        "others",
        "reason",
        "reasons",
        "factor",
        "factors",
        "cause",
        "causes",
        "specify",
        "information",
        "info",
        "profile",
        "overall",
        "general",
        "risk",
        "risky",
        "denied",
        "declined",
        "decline",
        "rejected",
        "rejection",
        "approval",
        "approve",
        "approved",
        "decision",
        "result",
        "results",
        "level",
        "threshold",
        "minimum",
        "required",
        "cutoff",
        "enough",
        "sufficient",
        "unable",
    }
)
_VAGUE_ZH: Final[tuple[str, ...]] = (
    "您的",
    "你的",
    "我们的",
    "我司",
    "本公司",
    "我行",
    "本行",
    "信用",
    "评分",
    "分数",
    "得分",
    "不足",
    "不够",
    "较低",
    "过低",
    "太低",
    "偏低",
    "不符合",
    "不满足",
    "未满足",
    "未达到",
    "要求",
    "标准",
    "条件",
    "综合",
    "资质",
    "其他",
    "其它",
    "原因",
    "因素",
    "政策",
    "规定",
    "内部",
    "审批",
    "审核",
    "未通过",
    "申请",
    "被拒",
    "拒绝",
    "风险",
    "较高",
    "过高",
    "不良",
    "较差",
    "情况",
    "的",
    "低",
    "高",
    "差",
)
_CJK: Final = re.compile(r"[\u4e00-\u9fff]")
_WORD: Final = re.compile(r"[a-z]+|\d+")


def validate_reason_text(en: str, zh_cn: str) -> None:
    """Check that a reason is specific enough for an adverse-action notice, in both languages.

    Rejected (Reg B 1002.9(b)(2) and comment 9(b)(2)-1, CFPB Circular 2022-03): empty or very short
    texts (English under 8 characters, Chinese under 2 or without Chinese characters); statements that
    the decision rested on internal standards or policies, on failing to achieve a qualifying score or
    on not meeting criteria; "other" reasons and unfilled templates ("Other, specify"); and texts made
    only of words that name no factor ("Insufficient", "Low credit score", "信用评分低", "综合评分不足").

    Raises:
        ValidationError: ``field="reason"``, the offending text and the rule it breaks.
    """
    if not isinstance(en, str) or not isinstance(zh_cn, str):
        raise ValidationError("reason", (en, zh_cn), "reason texts must be strings")
    en_text, zh_text = en.strip(), zh_cn.strip()
    if len(en_text) < _MIN_EN_CHARS:
        raise ValidationError(
            "reason", en, f"English text must name a specific factor (at least {_MIN_EN_CHARS} characters)"
        )
    if len(zh_text) < _MIN_ZH_CHARS or not _CJK.search(zh_text):
        raise ValidationError(
            "reason",
            zh_cn,
            f"zh-CN text must name a specific factor in Chinese (at least {_MIN_ZH_CHARS} characters)",
        )
    lowered = en_text.lower()
    for pattern, rule in _BANNED_EN:
        if re.search(pattern, lowered):
            raise ValidationError(
                "reason", en, f"is not a specific reason under Reg B 1002.9(b)(2): it {rule}"
            )
    if all(word in _VAGUE_EN or word.isdigit() for word in _WORD.findall(lowered)):
        raise ValidationError(
            "reason", en, "is not a specific reason under Reg B 1002.9(b)(2): it names no factor"
        )
    for pattern, rule in _BANNED_ZH:
        if re.search(pattern, zh_text):
            raise ValidationError(
                "reason", zh_cn, f"is not a specific reason under Reg B 1002.9(b)(2): it {rule}"
            )
    rest = zh_text
    for word in _VAGUE_ZH:
        rest = rest.replace(word, "")
    if len(_CJK.findall(rest)) < _MIN_ZH_CHARS:
        raise ValidationError(
            "reason", zh_cn, "is not a specific reason under Reg B 1002.9(b)(2): it names no factor"
        )


# --- the catalog -----------------------------------------------------------------------------------------

_CODE: Final = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


class ReasonCatalog(Mapping[str, ReasonEntry]):
    """Feature name -> :class:`ReasonEntry`. Immutable; every entry validated when the catalog is built.

    Build it from a mapping (:meth:`from_dict`), a YAML file (:meth:`from_yaml`) or take
    :meth:`default`. Two forms are accepted::

        # per feature
        bureau_score: {code: CREDIT_SCORE, en: "...", zh_cn: "..."}

        # or reasons once, then features pointing at them (the top-level keys are exactly these two)
        reasons:  {CREDIT_SCORE: {en: "...", zh_cn: "..."}}
        features: {bureau_score: CREDIT_SCORE, score_z: CREDIT_SCORE}

    Rules: codes match ``[A-Z][A-Z0-9_]+``; one code has one text (features sharing a code share it);
    texts pass :func:`validate_reason_text`; no feature is a protected attribute.
    ``catalog[feature]`` raises ``KeyError`` like any mapping; :meth:`entry` and :meth:`require` raise
    :class:`~autofin.errors.ValidationError` naming the features that have no reason.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, ReasonEntry]) -> None:
        checked: dict[str, ReasonEntry] = {}
        by_code: dict[str, ReasonEntry] = {}
        for feature, entry in entries.items():
            if not isinstance(feature, str) or not feature:
                raise ValidationError("reason_catalog", feature, "feature names must be non-empty strings")
            if not isinstance(entry, ReasonEntry):
                raise ValidationError(f"reason_catalog.{feature}", entry, "must be a ReasonEntry")
            if not isinstance(entry.code, str) or not _CODE.match(entry.code):
                raise ValidationError(
                    f"reason_catalog.{feature}.code", entry.code, "must match [A-Z][A-Z0-9_]{1,39}"
                )
            validate_reason_text(entry.en, entry.zh_cn)
            seen = by_code.setdefault(entry.code, entry)
            if seen != entry:
                raise ValidationError(
                    f"reason_catalog.{feature}",
                    entry.code,
                    "features sharing a reason code must share its texts",
                )
            checked[feature] = entry
        assert_no_protected(list(checked))
        self._entries = checked

    # Mapping protocol
    def __getitem__(self, feature: str) -> ReasonEntry:
        return self._entries[feature]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ReasonCatalog({len(self)} features, {len(self.codes())} codes)"

    def codes(self) -> dict[str, ReasonEntry]:
        """Every reason code with its texts, in first-seen order."""
        out: dict[str, ReasonEntry] = {}
        for entry in self._entries.values():
            out.setdefault(entry.code, entry)
        return out

    def entry(self, feature: str) -> ReasonEntry:
        """The reason of ``feature``; :class:`ValidationError` if the catalog has none."""
        self.require([feature])
        return self._entries[feature]

    def require(self, features: Sequence[str]) -> None:
        """Raise :class:`ValidationError` listing every feature of ``features`` without a reason."""
        missing = [f for f in features if f not in self._entries]
        if missing:
            raise ValidationError(
                "features",
                missing,
                "have no specific reason in the reason catalog; add one (code, en, zh_cn) for each "
                "(Reg B 1002.9(b)(2) needs specific reasons, so there is no generic fallback)",
            )

    def merged(self, other: Mapping[str, ReasonEntry]) -> ReasonCatalog:
        """A new catalog with ``other``'s entries added (they win over this catalog's)."""
        return ReasonCatalog({**self._entries, **dict(other)})

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The per-feature form, ready for JSON or YAML."""
        return {f: {"code": e.code, "en": e.en, "zh_cn": e.zh_cn} for f, e in self._entries.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReasonCatalog:
        """Build from either documented form (see the class docstring)."""
        if not isinstance(data, Mapping):
            raise ValidationError("reason_catalog", type(data).__name__, "must be a mapping")
        if set(data) == {"reasons", "features"}:
            reasons, features = data["reasons"], data["features"]
            if not isinstance(reasons, Mapping) or not isinstance(features, Mapping):
                raise ValidationError("reason_catalog", "reasons/features", "must both be mappings")
            entries = {}
            for feature, code in features.items():
                if code not in reasons:
                    raise ValidationError(
                        f"reason_catalog.features.{feature}", code, "is not a listed reason"
                    )
                texts = reasons[code]
                entries[feature] = cls._entry(f"reason_catalog.reasons.{code}", {"code": code, **texts})
            return cls(entries)
        return cls({feature: cls._entry(f"reason_catalog.{feature}", raw) for feature, raw in data.items()})

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ReasonCatalog:
        """Build from a YAML file in either documented form."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ValidationError(
                "reason_catalog", str(path), f"must be a readable YAML file: {exc}"
            ) from exc
        return cls.from_dict(data)

    @staticmethod
    def _entry(where: str, raw: Any) -> ReasonEntry:
        if not isinstance(raw, Mapping) or set(raw) != {"code", "en", "zh_cn"}:
            raise ValidationError(where, raw, "must have exactly the keys code, en, zh_cn")
        return ReasonEntry(code=raw["code"], en=raw["en"], zh_cn=raw["zh_cn"])

    @classmethod
    def default(cls) -> ReasonCatalog:
        """autofin's catalog: the synthetic world's features and the public data sets' model features.

        Deliberately absent: protected attributes and their direct proxies (sex, age, marital status,
        race, national origin: ``age``, ``AGE``, ``age_in_years``, ``personal_status_and_sex``,
        ``foreign_worker``, ``SEX``, ``MARRIAGE_*``, ``afam``, ``single``) and geography (``region``,
        ``area``, ``addr_state``), which proxies for protected attributes; a model that uses a feature
        without an entry gets a clear error from :func:`rank_reasons`, never a generic reason.
        """
        return cls.from_dict(
            {
                "reasons": {code: {"en": en, "zh_cn": zh} for code, (en, zh) in _DEFAULT_REASONS.items()},
                "features": _DEFAULT_FEATURES,
            }
        )


# Reason texts follow the CFPB sample form C-1 wording where one fits.
_DEFAULT_REASONS: Final[dict[str, tuple[str, str]]] = {
    # bureau
    "CREDIT_SCORE": ("Credit bureau score is below the level we approve", "征信评分低于审批标准"),
    "LIMITED_CREDIT": ("Limited credit experience", "信用记录时间短、记录较少"),
    "NO_CREDIT_FILE": ("No credit file at the credit bureau", "征信机构无信用记录"),
    "INQUIRIES": ("Number of recent inquiries on credit bureau report", "近期征信查询次数过多"),
    "INQUIRIES_FINANCE": ("Number of recent personal-finance inquiries", "近期个人金融类征信查询次数过多"),
    "DELINQUENCY": ("Delinquency in the past 24 months", "近24个月内有逾期还款记录"),
    "DELINQUENCY_30_59": ("Number of payments 30 to 59 days past due", "逾期30至59天的还款次数"),
    "DELINQUENCY_60_89": ("Number of payments 60 to 89 days past due", "逾期60至89天的还款次数"),
    "DELINQUENCY_90": ("Number of payments 90 or more days past due", "逾期90天及以上的还款次数"),
    "CURRENT_DELINQUENCY": ("Accounts currently delinquent", "目前有处于逾期状态的账户"),
    "DELINQUENT_AMOUNT": ("Amount past due on delinquent accounts", "逾期账户的逾期金额"),
    "CREDIT_HISTORY": ("Delinquent past or present credit obligations", "过去或当前的信贷还款存在逾期"),
    "CONSUMER_CREDIT_HISTORY": ("Delinquent consumer credit payment history", "消费信贷还款记录有逾期"),
    "MORTGAGE_HISTORY": ("Delinquent mortgage payment history", "住房贷款还款记录有逾期"),
    "PUBLIC_RECORD": (
        "Public record of bankruptcy, judgment or collection",
        "有破产、法院判决或催收等公共记录",
    ),
    "UTILISATION": (
        "Proportion of revolving balances to credit limits is too high",
        "循环授信已用额度占授信额度比例过高",
    ),
    "UTILISATION_ALL": (
        "Balances on all accounts are too high relative to credit limits",
        "全部账户余额占授信额度比例过高",
    ),
    "OPEN_ACCOUNTS": ("Number of open credit lines and loans", "未结清的授信及贷款账户数量"),
    "EXISTING_CREDITS": ("Number of existing credits with us", "在本机构现有贷款笔数"),
    "OTHER_INSTALMENTS": ("Existing instalment plans with other lenders", "在其他机构有分期还款计划"),
    "RECENT_INSTALMENT_ACCOUNTS": (
        "Number of instalment accounts opened recently",
        "近期新开分期贷款账户数量较多",
    ),
    "INSTALMENT_ACCOUNTS": ("Number of instalment accounts", "分期贷款账户数量"),
    "INSTALMENT_BALANCE": ("Balance owed on instalment accounts", "分期贷款账户未偿余额"),
    "INSTALMENT_LIMIT": ("Total credit limit of instalment accounts", "分期贷款账户总授信额度"),
    "REAL_ESTATE_LOANS": ("Number of real estate loans or lines", "房地产贷款或授信笔数"),
    "CREDIT_LIMIT": ("Credit limit on existing card account", "现有信用卡账户授信额度"),
    "CARD_DELINQUENCY": (
        "Delinquent payments on the card account in recent months",
        "近几个月信用卡账户有逾期还款",
    ),
    "CARD_BALANCE": ("Amount of outstanding card balances", "信用卡账单未偿金额"),
    "CARD_PAYMENTS": ("Amount of recent payments on card balances", "近期信用卡还款金额"),
    # capacity
    "DTI": ("Debt payments are too high relative to income", "负债还款额相对收入过高"),
    "PTI": ("Proposed loan payment is too high relative to income", "拟申请贷款的月供相对收入过高"),
    "HOUSING_EXPENSE": ("Housing expense is too high relative to income", "住房支出相对收入过高"),
    "INCOME": ("Income insufficient for amount of credit requested", "收入不足以支持所申请的贷款金额"),
    "INCOME_VERIFICATION": ("Unable to verify income", "无法核实收入"),
    "DEPENDENTS": ("Number of dependents relative to income", "需供养人数相对收入较多"),
    "SAVINGS": ("Amount of savings and investments", "储蓄及投资资产金额"),
    "CHECKING_ACCOUNT": ("Balance or status of existing checking account", "现有支票账户的余额或状态"),
    "PROPERTY": ("Value or type of property owned", "名下财产的价值或类型"),
    # stability
    "EMPLOYMENT_TENURE": ("Length of employment", "工作年限较短"),
    "EMPLOYMENT_TYPE": ("Temporary or irregular employment", "工作性质临时或收入不固定"),
    "JOB": ("Type of job or skill level", "职业类型或技能等级"),
    "INDUSTRY_UNEMPLOYMENT": ("Unemployment rate in the applicant's industry", "申请人所在行业失业率"),
    "RESIDENCE_TENURE": ("Too short a period of residence", "现住址居住时间过短"),
    "RESIDENCE_TYPE": (
        "Type of residence (own, mortgage, rent or with family)",
        "居住类型（自有、按揭、租住或与家人同住）",
    ),
    "EDUCATION": ("Level of education", "受教育程度"),
    "TELEPHONE": ("No telephone registered in the applicant's name", "申请人名下无登记电话"),
    "GUARANTOR": ("No co-applicant or guarantor on the application", "无共同申请人或担保人"),
    "FIRST_TIME_BUYER": ("No previous auto loan or lease", "此前无汽车贷款或租赁记录"),
    "CUSTOMER_TYPE": ("Type of customer (individual, business or fleet)", "客户类型（个人、企业或车队）"),
    "CHANNEL": ("Channel through which the application was made", "提交申请的渠道"),
    # the credit requested
    "AMOUNT": ("Amount of credit requested is too high", "所申请的贷款金额过高"),
    "TERM": ("Requested loan term is too long", "所申请的贷款期限过长"),
    "LTV": ("Amount financed is too high relative to the vehicle's value", "贷款金额相对车辆价值过高"),
    "LTV_PROPERTY": ("Loan amount is too high relative to the property's value", "贷款金额相对房产价值过高"),
    "DOWN_PAYMENT": ("Down payment is too small", "首付比例过低"),
    "PAYMENT": ("Monthly payment on the requested credit is too high", "所申请贷款的月供过高"),
    "INTEREST_RATE": ("Interest rate on the requested credit", "所申请贷款的利率水平"),
    "LOAN_GRADE": ("Loan grade assigned to the requested credit", "所申请贷款的定级"),
    "PURPOSE": ("Purpose of the credit requested", "贷款用途"),
    "PRODUCT": ("Type of finance product requested", "所申请的金融产品类型"),
    "BALLOON": ("Balloon payment at the end of the contract", "合同到期时的尾款（气球贷）"),
    "LEASE": ("Lease requested instead of a loan", "申请融资租赁而非贷款"),
    "MORTGAGE_INSURANCE": ("Mortgage insurance was denied", "按揭保险申请被拒"),
    "PROPERTY_TYPE": ("Type of property (condominium)", "房产类型（公寓）"),
    # the vehicle (collateral)
    "VEHICLE_CONDITION": ("Condition of the vehicle (new or used)", "车辆新旧状况"),
    "VEHICLE_CLASS": ("Class of the vehicle", "车辆级别"),
    "VEHICLE_POWERTRAIN": (
        "Powertrain of the vehicle (combustion, hybrid or electric)",
        "车辆动力类型（燃油、混动或新能源）",
    ),
    "VEHICLE_USE": ("Commercial use of the vehicle", "车辆用于商业用途"),
    "VEHICLE_MAKE": ("Make of the vehicle", "车辆品牌"),
    "VEHICLE_PRICE": ("Price of the vehicle", "车辆价格"),
    "VEHICLE_AGE": ("Age of the vehicle", "车龄"),
    "VEHICLE_MILEAGE": ("Mileage of the vehicle", "车辆行驶里程"),
    "VEHICLE_RESIDUAL": ("Expected value of the vehicle at the end of the term", "车辆到期时的预计残值"),
}

_DEFAULT_FEATURES: Final[dict[str, str]] = {
    # synthetic world: tables (autofin.data.schemas) and the default model's derived features
    "bureau_score": "CREDIT_SCORE",
    "score_z": "CREDIT_SCORE",
    "thin_file": "LIMITED_CREDIT",
    "no_file": "NO_CREDIT_FILE",
    "inquiries_6m": "INQUIRIES",
    "delinquencies_24m": "DELINQUENCY",
    "revolving_utilisation": "UTILISATION",
    "monthly_debt_payments": "DTI",
    "dti": "DTI",
    "pti": "PTI",
    "pti_pct": "PTI",
    "ltv": "LTV",
    "term_years": "TERM",
    "term_months": "TERM",
    "monthly_income": "INCOME",
    "log_income": "INCOME",
    "employment_tenure_months": "EMPLOYMENT_TENURE",
    "tenure_years": "EMPLOYMENT_TENURE",
    "employment_type": "EMPLOYMENT_TYPE",
    "residence_type": "RESIDENCE_TYPE",
    "residence_tenure_months": "RESIDENCE_TENURE",
    "dependents": "DEPENDENTS",
    "first_time_buyer": "FIRST_TIME_BUYER",
    "customer_type": "CUSTOMER_TYPE",
    "channel": "CHANNEL",
    "condition": "VEHICLE_CONDITION",
    "used": "VEHICLE_CONDITION",
    "vehicle_class": "VEHICLE_CLASS",
    "powertrain": "VEHICLE_POWERTRAIN",
    "nev": "VEHICLE_POWERTRAIN",
    "use": "VEHICLE_USE",
    "commercial": "VEHICLE_USE",
    "brand": "VEHICLE_MAKE",
    "msrp": "VEHICLE_PRICE",
    "invoice": "VEHICLE_PRICE",
    "price": "VEHICLE_PRICE",
    "age_years": "VEHICLE_AGE",
    "mileage_km": "VEHICLE_MILEAGE",
    "residual_36m": "VEHICLE_RESIDUAL",
    "amount_financed": "AMOUNT",
    "down_payment": "DOWN_PAYMENT",
    "down_share": "DOWN_PAYMENT",
    "monthly_payment": "PAYMENT",
    "annual_rate": "INTEREST_RATE",
    "rate_pct": "INTEREST_RATE",
    "product": "PRODUCT",
    "balloon": "BALLOON",
    "lease": "LEASE",
    # German credit (UCI Statlog)
    "status_of_existing_checking_account": "CHECKING_ACCOUNT",
    "duration_in_month": "TERM",
    "credit_history": "CREDIT_HISTORY",
    "purpose": "PURPOSE",
    "credit_amount": "AMOUNT",
    "savings_account_and_bonds": "SAVINGS",
    "present_employment_since": "EMPLOYMENT_TENURE",
    "installment_rate_in_percentage_of_disposable_income": "PTI",
    "other_debtors_or_guarantors": "GUARANTOR",
    "present_residence_since": "RESIDENCE_TENURE",
    "property": "PROPERTY",
    "other_installment_plans": "OTHER_INSTALMENTS",
    "housing": "RESIDENCE_TYPE",
    "number_of_existing_credits_at_this_bank": "EXISTING_CREDITS",
    "job": "JOB",
    "number_of_people_being_liable_to_provide_maintenance_for": "DEPENDENTS",
    "telephone": "TELEPHONE",
    # Give Me Some Credit
    "RevolvingUtilizationOfUnsecuredLines": "UTILISATION",
    "NumberOfTime30-59DaysPastDueNotWorse": "DELINQUENCY_30_59",
    "DebtRatio": "DTI",
    "MonthlyIncome": "INCOME",
    "NumberOfOpenCreditLinesAndLoans": "OPEN_ACCOUNTS",
    "NumberOfTimes90DaysLate": "DELINQUENCY_90",
    "NumberRealEstateLoansOrLines": "REAL_ESTATE_LOANS",
    "NumberOfTime60-89DaysPastDueNotWorse": "DELINQUENCY_60_89",
    "NumberOfDependents": "DEPENDENTS",
    # Taiwan credit-card default
    "LIMIT_BAL": "CREDIT_LIMIT",
    **{f"PAY_{m}": "CARD_DELINQUENCY" for m in (0, 2, 3, 4, 5, 6)},
    **{f"BILL_AMT{m}": "CARD_BALANCE" for m in range(1, 7)},
    **{f"PAY_AMT{m}": "CARD_PAYMENTS" for m in range(1, 7)},
    **{f"EDUCATION_{m}": "EDUCATION" for m in range(7)},
    # Lending Club sample
    "funded_amnt": "AMOUNT",
    "term": "TERM",
    "int_rate": "INTEREST_RATE",
    "sub_grade": "LOAN_GRADE",
    "verification_status": "INCOME_VERIFICATION",
    "annual_inc": "INCOME",
    "emp_length": "EMPLOYMENT_TENURE",
    "delinq_2yrs": "DELINQUENCY",
    "inq_last_6mths": "INQUIRIES",
    "inq_last_12m": "INQUIRIES",
    "inq_fi": "INQUIRIES_FINANCE",
    "revol_util": "UTILISATION",
    "all_util": "UTILISATION_ALL",
    "acc_now_delinq": "CURRENT_DELINQUENCY",
    "delinq_amnt": "DELINQUENT_AMOUNT",
    "open_il_6m": "RECENT_INSTALMENT_ACCOUNTS",
    "open_il_12m": "RECENT_INSTALMENT_ACCOUNTS",
    "open_il_24m": "RECENT_INSTALMENT_ACCOUNTS",
    "total_bal_il": "INSTALMENT_BALANCE",
    "num_il_tl": "INSTALMENT_ACCOUNTS",
    "total_il_high_credit_limit": "INSTALMENT_LIMIT",
    # Boston HMDA (a decision target; reasons for completeness)
    "pirat": "DTI",
    "hirat": "HOUSING_EXPENSE",
    "lvrat": "LTV_PROPERTY",
    "chist": "CONSUMER_CREDIT_HISTORY",
    "mhist": "MORTGAGE_HISTORY",
    "phist": "PUBLIC_RECORD",
    "unemp": "INDUSTRY_UNEMPLOYMENT",
    "selfemp": "EMPLOYMENT_TYPE",
    "insurance": "MORTGAGE_INSURANCE",
    "condomin": "PROPERTY_TYPE",
    "hschool": "EDUCATION",
}


# --- ranking ---------------------------------------------------------------------------------------------


def rank_reasons(
    impacts: np.ndarray[Any, Any],
    features: Sequence[str],
    catalog: ReasonCatalog,
    max_reasons: int = MAX_REASONS,
    min_impact: float = 0.0,
) -> list[list[Reason]]:
    """The principal reasons of each row, largest impact first.

    Args:
        impacts: ``(n, k)`` array; ``impacts[i, j]`` is how much feature ``j`` hurt applicant ``i``
            (scorecard points lost, or an ML model's PD / log-odds contribution; larger = hurt more).
        features: the ``k`` feature names, in column order. Protected attributes are refused.
        catalog: where each feature's reason text comes from; every feature must have an entry.
        max_reasons: reasons per applicant, 1 to 4 (Reg B comment 9(b)(2)-1).
        min_impact: only impacts strictly above this are reasons (0: only what actually hurt).

    Features sharing a reason code count once: their positive impacts are summed and the reason names
    the feature that contributed most. Ties keep column order (stable sort).

    Returns:
        one list per row, at most ``max_reasons`` :class:`Reason` each (empty when nothing hurt).
    """
    names = list(features)
    assert_no_protected(names)
    if len(set(names)) != len(names):
        raise ValidationError("features", names, "must not repeat a feature")
    if isinstance(max_reasons, bool) or not isinstance(max_reasons, int | np.integer):
        raise ValidationError("max_reasons", max_reasons, "must be an integer from 1 to 4")
    if not 1 <= max_reasons <= MAX_REASONS:
        raise ValidationError(
            "max_reasons", max_reasons, "must be from 1 to 4 (Reg B: more than four is not likely helpful)"
        )
    if not np.isfinite(min_impact) or min_impact < 0:
        raise ValidationError("min_impact", min_impact, "must be a finite number >= 0")
    values = np.asarray(impacts, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(names):
        raise ValidationError(
            "impacts", values.shape, f"must be a 2-D array with one column per feature ({len(names)})"
        )
    if not np.isfinite(values).all():
        raise ValidationError("impacts", "non-finite values", "must be finite (no NaN or inf)")
    catalog.require(names)

    entries = [catalog[f] for f in names]
    codes = list(dict.fromkeys(e.code for e in entries))
    group = np.array([codes.index(e.code) for e in entries], dtype=np.intp)
    n, m = values.shape[0], len(codes)
    if m == len(names):  # one feature per code: rank the features themselves
        totals = values
        top_feature = np.broadcast_to(np.arange(m), (n, m))
    else:
        positive = np.where(values > 0.0, values, 0.0)
        totals = np.zeros((n, m))
        top_feature = np.empty((n, m), dtype=np.intp)
        for g in range(m):
            members = np.flatnonzero(group == g)
            if members.size == 1:
                totals[:, g] = values[:, members[0]]
                top_feature[:, g] = members[0]
            else:
                totals[:, g] = positive[:, members].sum(axis=1)
                top_feature[:, g] = members[np.argmax(values[:, members], axis=1)]
    take = min(max_reasons, m)
    order = np.argsort(-totals, axis=1, kind="stable")[:, :take]
    top = np.take_along_axis(totals, order, axis=1)
    feat = np.take_along_axis(top_feature, order, axis=1)
    keep = top > min_impact

    out: list[list[Reason]] = []
    for i in range(n):
        row: list[Reason] = []
        for r in range(take):
            if not keep[i, r]:
                break
            j = int(feat[i, r])
            e = entries[j]
            row.append(Reason(e.code, names[j], e.en, e.zh_cn, float(top[i, r])))
        out.append(row)
    return out
