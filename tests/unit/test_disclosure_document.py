"""The disclosure document's pure renderers: every number shown is the stored contract's (loan and
lease), both languages, escaping, masking as given, and deterministic PDF bytes."""

from __future__ import annotations

import base64
import copy
import json
import re
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from autofin.decision.engine import DecisionEngine
from autofin.documents.disclosure import (
    disclosure_html,
    disclosure_pdf,
    document_model,
    money_text,
    rate_text,
)
from autofin.errors import ValidationError
from decision_support import FixedScorer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "decisions"


@pytest.fixture(scope="module")
def engine() -> DecisionEngine:
    return DecisionEngine.load(FixedScorer(700.0))


def _contract(engine: DecisionEngine, ownership: str = "loan", rank: int = 1) -> dict[str, Any]:
    data = json.loads((EXAMPLES / "approve.json").read_text(encoding="utf-8"))
    data["wishes"]["ownership"] = ownership
    record = engine.decide(data).to_dict(trace=False, timings=False)
    offer = (
        next(o for o in record["offers"] if o["quote"]["kind"] == ownership)
        if ownership == "lease"
        else record["offers"][rank - 1]
    )
    return {
        "id": "c-1",
        "application_id": "a-1",
        "client_application_id": "demo-approve-0001",
        "dealer_id": "D1",
        "decision_id": "d-1",
        "product_id": offer["quote"]["product"]["id"],
        "created_at": "2026-11-28T10:00:00+00:00",
        "offer": offer,
        "customer": {"name": "张*", "masked": True},
    }


def _number(text: str) -> Decimal:
    return Decimal(text.split()[0].replace(",", "").rstrip("%"))


def test_formatting() -> None:
    assert money_text("126259.00", "CNY") == "126,259.00 CNY"
    assert money_text("0.5") == "0.5"
    assert rate_text(0.0418999719) == "4.19%"
    assert rate_text(0.04125) == "4.13%"  # half up
    assert rate_text(None) == "—"


def test_loan_key_terms_equal_the_stored_disclosure(engine: DecisionEngine) -> None:
    contract = _contract(engine)
    quote = contract["offer"]["quote"]
    disclosure = quote["contract"]["disclosure"]
    terms = {t.key: t.value for t in document_model(contract, "en").key_terms}
    for key in ("amount_financed", "finance_charge", "total_of_payments", "down_payment", "upfront_fees"):
        assert _number(terms[key]) == Decimal(disclosure[key]), key
    assert _number(terms["regular_payment"]) == Decimal(quote["monthly_payment"])
    assert terms["rate:cn_irr"] == rate_text(disclosure["rates"]["cn_irr"]["apr"])
    assert int(terms["number_of_payments"]) == len(quote["contract"]["schedule"]) == quote["term"]
    doc = document_model(contract, "en")
    assert any("PBoC" in n for n in doc.notes)  # the rate's method is stated
    total = sum((_number(r[doc.schedule_headers.index("Total due")]) for r in doc.schedule), Decimal(0))
    assert total == Decimal(disclosure["total_of_payments"])


def test_lease_document(engine: DecisionEngine) -> None:
    contract = _contract(engine, "lease")
    quote = contract["offer"]["quote"]
    doc = document_model(contract, "zh-CN")
    terms = {t.key: t.value for t in doc.key_terms}
    assert _number(terms["amount_financed"]) == Decimal(quote["amount_financed"])
    assert _number(terms["total_of_payments"]) == Decimal(quote["contract"]["total_rent"])
    assert len(doc.schedule) == len(quote["contract"]["rows"])
    assert "租金" in doc.schedule_headers
    assert disclosure_pdf(contract, "en").startswith(b"%PDF-")


def test_html_languages_escaping_and_masking(engine: DecisionEngine) -> None:
    contract = _contract(engine)
    en = disclosure_html(contract, "en")
    zh = disclosure_html(contract, "zh-CN")
    assert '<html lang="en">' in en and "Amount financed" in en and "@media print" in en
    assert '<html lang="zh-CN">' in zh and "融资金额" in zh and "还款计划" in zh
    assert "张* (masked)" in en and "张*（已隐藏）" in zh
    hostile = copy.deepcopy(contract)
    hostile["dealer_id"] = "<script>alert(1)</script>"
    page = disclosure_html(hostile, "en")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    with pytest.raises(ValidationError) as err:
        disclosure_html(contract, "fr")
    assert err.value.field == "lang"


def _pdf_text(pdf: bytes) -> str:
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = m.group(1).strip()
        out.append(
            (zlib.decompress(base64.a85decode(data[:-2])) if data.endswith(b"~>") else data).decode("latin-1")
        )
    return "\n".join(out)


def test_pdf_is_deterministic_and_holds_the_numbers(engine: DecisionEngine) -> None:
    contract = _contract(engine)
    disclosure = contract["offer"]["quote"]["contract"]["disclosure"]
    pdf = disclosure_pdf(contract, "en", compress=False)
    assert pdf.startswith(b"%PDF-") and pdf == disclosure_pdf(contract, "en", compress=False)
    text = _pdf_text(pdf)
    assert money_text(disclosure["amount_financed"], "CNY") in text
    assert rate_text(disclosure["rates"]["cn_irr"]["apr"]) in text
    assert money_text(disclosure["finance_charge"], "CNY") in text
    other = copy.deepcopy(contract)
    other["offer"]["quote"]["contract"]["disclosure"]["amount_financed"] = "1.00"
    assert money_text("1.00", "CNY") in _pdf_text(disclosure_pdf(other, "en", compress=False))
    zh = disclosure_pdf(contract, "zh-CN")
    assert zh.startswith(b"%PDF-") and b"STSong-Light" in zh and zh == disclosure_pdf(contract, "zh-CN")
