"""Catalogue loading and checks: every check code on a tiny catalogue with exactly that mistake, and
malformed YAML reported with file, line and field (never a traceback)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autofin.catalog.check import CODES, Finding, check_catalogue
from autofin.catalog.loader import (
    CatalogueError,
    default_catalogue_dir,
    load_catalogue,
    load_catalogue_with_extras,
)
from autofin.cli.catalog import catalog_app
from autofin.errors import ValidationError

AS_OF = date(2026, 5, 1)
REPO_CATALOG = Path(__file__).resolve().parents[2] / "catalog"

BASE: dict[str, str] = {
    "catalogue.yaml": """\
version: "2026.11.1"
residual_limits:
  new: {36: 0.55, 48: 0.45, 60: 0.35}
  used: {36: 0.40, 48: 0.30, 60: 0.20}
known_models:
  BYD: [Seal, Dolphin]
  Tesla: [Model 3]
segments: [prime, near_prime]
rate_caps: {CN: 0.24, US: 0.36}
""",
    "rate_tables/std.yaml": """\
id: std
version: 1
currency: CNY
effective: {from: 2026-01-01}
no_score: 600
rows:
  - score: {max: 649}
    term: {min: 12, max: 60}
    rate: 0.089
  - score: {min: 650}
    term: {min: 12, max: 60}
    rate: 0.059
""",
    "products/loan.yaml": """\
id: loan
version: 1
name: {en: Loan, zh-CN: 贷款}
description: {en: A loan, zh-CN: 一笔贷款}
jurisdiction: CN
currency: CNY
effective: {from: 2026-01-01, to: 2026-12-31}
segments_served: [prime]
terms: [36, 48, 60]
down_payment: {min: 0.2, max: 0.8}
max_ltv: 0.8
balloon: {max_pct_of_price: 0.3}
rate: {table: std}
services:
  allowed: [gap]
eligibility:
  vehicle:
    condition: [new]
    brands: [BYD]
""",
    "products/lease.yaml": """\
id: lease
version: 1
name: {en: Lease, zh-CN: 租赁}
description: {en: A closed-end lease, zh-CN: 封闭式租赁}
jurisdiction: US
currency: USD
effective: {from: 2026-01-01, to: 2026-12-31}
kind: lease
timing: advance
terms: [36]
max_ltv: 1.2
rate: {fixed: 0.05}
eligibility:
  vehicle:
    condition: [new]
lease:
  type: closed_end
  residual_pct_of_msrp: {36: 0.52}
""",
    "services/gap.yaml": """\
id: gap
version: 1
kind: gap_insurance
name: {en: GAP, zh-CN: 差额险}
description: {en: GAP cover, zh-CN: 车辆差额保险}
currency: CNY
effective: {from: 2026-01-01}
price: {flat: 1200}
""",
    "promotions/byd-low.yaml": """\
id: byd-low
version: 1
name: {en: BYD low rate, zh-CN: 比亚迪低息}
description: {en: 1.99 percent on a Seal, zh-CN: 海豹低息}
currency: CNY
valid: {from: 2026-03-01, to: 2026-06-30}
eligibility:
  products: [loan]
  vehicle:
    brands: [BYD]
    models: [Seal]
effect: {kind: rate_buydown, rate: 0.0199}
stacking: {group: rate}
""",
}

# A second promotion in the same currency, used by the stacking cases.
REBATE = """\
id: byd-cash
version: 1
name: {en: BYD rebate, zh-CN: 比亚迪返现}
description: {en: Cash back, zh-CN: 现金返还}
currency: CNY
valid: {from: 2026-03-01, to: 2026-06-30}
eligibility:
  products: [loan]
effect: {kind: cash_rebate, amount: 5000}
stacking: {group: cash}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def line_of(text: str, marker: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in fixture")


def edit(file: str, old: str, new: str) -> dict[str, str]:
    assert old in BASE[file], old
    return {file: BASE[file].replace(old, new, 1)}


def run_checks(tmp_path: Path, changes: dict[str, str]) -> tuple[list[Finding], dict[str, str]]:
    files = {**BASE, **changes}
    catalogue, extras = load_catalogue_with_extras(write(tmp_path, files))
    return check_catalogue(catalogue, extras, as_of=AS_OF), files


# -- the base catalogue is clean ---------------------------------------------------------------------


def test_base_catalogue_loads_and_is_clean(tmp_path: Path) -> None:
    findings, _ = run_checks(tmp_path, {})
    assert findings == []
    catalogue = load_catalogue(tmp_path)
    assert catalogue.version == "2026.11.1"
    assert set(catalogue.products) == {"loan", "lease"}
    assert catalogue.sources["product:loan"] == "products/loan.yaml:1"
    assert catalogue.sources["promotion:byd-low"] == "promotions/byd-low.yaml:1"


# -- one case per check code: (code, changed files, file the finding points at, marker on its line) ---

CASES: list[tuple[str, dict[str, str], str, str]] = [
    (
        "CURRENCY_UNKNOWN",
        edit("services/gap.yaml", "currency: CNY", "currency: XYZ"),
        "services/gap.yaml",
        "currency",
    ),
    (
        "CURRENCY_MISMATCH",
        edit("rate_tables/std.yaml", "currency: CNY", "currency: USD"),
        "products/loan.yaml",
        "currency",
    ),
    (
        "TERM_DUPLICATE",
        edit("products/loan.yaml", "terms: [36, 48, 60]", "terms: [36, 48,\n  48, 60]"),
        "products/loan.yaml",
        "  48, 60]",
    ),
    (
        "TERM_NOT_PRICED",
        edit("products/loan.yaml", "terms: [36, 48, 60]", "terms:\n  - 36\n  - 72\n"),
        "products/loan.yaml",
        "- 72",
    ),
    (
        "RATE_TABLE_UNKNOWN",
        edit("products/loan.yaml", "rate: {table: std}", "rate: {table: nope}"),
        "products/loan.yaml",
        "table: nope",
    ),
    (
        "RATE_TABLE_GAP",
        edit("rate_tables/std.yaml", "score: {min: 650}", "score: {min: 680}"),
        "rate_tables/std.yaml",
        "rows:",
    ),
    (
        "RATE_ROW_SHADOWED",
        edit(
            "rate_tables/std.yaml",
            "    rate: 0.059\n",
            "    rate: 0.059\n  - score: {min: 700}\n    term: {min: 24, max: 48}\n    rate: 0.039\n",
        ),
        "rate_tables/std.yaml",
        "score: {min: 700}",
    ),
    (
        "RATE_ROWS_OVERLAP",
        edit("rate_tables/std.yaml", "score: {min: 650}", "score: {min: 640}"),
        "rate_tables/std.yaml",
        "score: {min: 640}",
    ),
    (
        "NO_SCORE_UNPRICED",
        edit("rate_tables/std.yaml", "score: {max: 649}", "score: {min: 620, max: 649}"),
        "rate_tables/std.yaml",
        "no_score",
    ),
    (
        "EFFECTIVE_OUTSIDE_RATE_TABLE",
        edit("rate_tables/std.yaml", "effective: {from: 2026-01-01}", "effective: {from: 2026-02-01}"),
        "products/loan.yaml",
        "effective",
    ),
    (
        "RATE_ABOVE_CAP",
        edit("rate_tables/std.yaml", "rate: 0.089", "rate: 0.259"),
        "rate_tables/std.yaml",
        "rate: 0.259",
    ),
    (
        "DOWN_PAYMENT_RANGE",
        edit(
            "products/loan.yaml",
            "down_payment: {min: 0.2, max: 0.8}",
            "down_payment:\n  min: 0.2\n  max: 1.2",
        ),
        "products/loan.yaml",
        "max: 1.2",
    ),
    (
        "DOWN_PAYMENT_LTV",
        edit(
            "products/loan.yaml",
            "down_payment: {min: 0.2, max: 0.8}",
            "down_payment:\n  min: 0.1\n  max: 0.8",
        ),
        "products/loan.yaml",
        "min: 0.1",
    ),
    (
        "BALLOON_ABOVE_RESIDUAL_LIMIT",
        edit("products/loan.yaml", "balloon: {max_pct_of_price: 0.3}", "balloon: {max_pct_of_price: 0.4}"),
        "products/loan.yaml",
        "balloon",
    ),
    (
        "RESIDUAL_LIMIT_MISSING",
        edit("products/loan.yaml", "terms: [36, 48, 60]", "terms: [36, 48, 60,\n  72]"),
        "products/loan.yaml",
        "  72]",
    ),
    (
        "LEASE_RESIDUAL_MISSING",
        edit("products/lease.yaml", "terms: [36]", "terms: [36, 48]"),
        "products/lease.yaml",
        "terms",
    ),
    (
        "LEASE_RESIDUAL_ABOVE_LIMIT",
        edit(
            "products/lease.yaml", "residual_pct_of_msrp: {36: 0.52}", "residual_pct_of_msrp:\n    36: 0.60"
        ),
        "products/lease.yaml",
        "36: 0.60",
    ),
    (
        "STRUCTURE_CONFLICT",
        edit("products/loan.yaml", "max_ltv: 0.8\n", "max_ltv: 0.8\nrepayment: bullet\n"),
        "products/loan.yaml",
        "balloon",
    ),
    (
        "GRACE_TOO_LONG",
        {
            "products/loan.yaml": BASE["products/loan.yaml"]
            .replace("terms: [36, 48, 60]", "terms: [24, 36, 48, 60]")
            .replace("max_ltv: 0.8\n", "max_ltv: 0.8\ngrace:\n  - kind: interest_only\n    max_periods: 24\n")
        },
        "products/loan.yaml",
        "max_periods",
    ),
    (
        "SERVICE_UNKNOWN",
        edit("products/loan.yaml", "allowed: [gap]", "allowed: [gap, tyres]"),
        "products/loan.yaml",
        "allowed",
    ),
    (
        "SERVICE_FINANCE_FORBIDDEN",
        edit("products/loan.yaml", "  allowed: [gap]\n", "  allowed: [gap]\n  financeable: false\n"),
        "products/loan.yaml",
        "financeable",
    ),
    (
        "SERVICE_TERM_UNPRICED",
        edit("services/gap.yaml", "price: {flat: 1200}", "price:\n  by_term: {36: 900, 48: 1100}"),
        "products/loan.yaml",
        "allowed",
    ),
    (
        "SEGMENT_UNKNOWN",
        edit("products/loan.yaml", "segments_served: [prime]", "segments_served: [prime, subprime]"),
        "products/loan.yaml",
        "segments_served",
    ),
    (
        "UNKNOWN_BRAND",
        edit("products/loan.yaml", "brands: [BYD]", "brands: [BYD, Volvo]"),
        "products/loan.yaml",
        "brands",
    ),
    (
        "UNKNOWN_MODEL",
        edit("promotions/byd-low.yaml", "models: [Seal]", "models: [Model 3]"),
        "promotions/byd-low.yaml",
        "models",
    ),
    (
        "PROMO_UNKNOWN_PRODUCT",
        edit("promotions/byd-low.yaml", "products: [loan]", "products:\n    - loan\n    - laon"),
        "promotions/byd-low.yaml",
        "- laon",
    ),
    (
        "PROMO_UNKNOWN_SERVICE",
        edit(
            "promotions/byd-low.yaml",
            "effect: {kind: rate_buydown, rate: 0.0199}",
            "effect: {kind: free_service, service: wash}",
        ),
        "promotions/byd-low.yaml",
        "effect",
    ),
    (
        "PROMO_SERVICE_NOT_ALLOWED",
        {
            **edit(
                "promotions/byd-low.yaml",
                "effect: {kind: rate_buydown, rate: 0.0199}",
                "effect:\n  kind: free_service\n  service: care",
            ),
            "services/care.yaml": BASE["services/gap.yaml"]
            .replace("id: gap", "id: care")
            .replace("gap_insurance", "maintenance"),
        },
        "promotions/byd-low.yaml",
        "service: care",
    ),
    (
        "PROMO_EFFECT_NOT_APPLICABLE",
        {
            "promotions/byd-low.yaml": BASE["promotions/byd-low.yaml"]
            .replace("currency: CNY", "currency: USD")
            .replace("products: [loan]", "products: [lease]")
            .replace("    brands: [BYD]\n    models: [Seal]\n", "    condition: [new]\n")
            .replace("effect: {kind: rate_buydown, rate: 0.0199}", "effect: {kind: zero_apr}")
        },
        "promotions/byd-low.yaml",
        "effect",
    ),
    (
        "PROMO_RATE_ABOVE_CAP",
        {
            "rate_tables/std.yaml": BASE["rate_tables/std.yaml"]
            .replace("0.089", "0.29")
            .replace("0.059", "0.27"),
            **edit(
                "promotions/byd-low.yaml",
                "effect: {kind: rate_buydown, rate: 0.0199}",
                "effect: {kind: rate_buydown, rate: 0.25}",
            ),
        },
        "promotions/byd-low.yaml",
        "effect",
    ),
    (
        "PROMO_OUTSIDE_PRODUCT_WINDOW",
        edit(
            "promotions/byd-low.yaml",
            "valid: {from: 2026-03-01, to: 2026-06-30}",
            "valid: {from: 2026-11-01, to: 2027-01-31}",
        ),
        "promotions/byd-low.yaml",
        "valid",
    ),
    (
        "EXPIRED_REFERENCED",
        edit(
            "products/loan.yaml",
            "effective: {from: 2026-01-01, to: 2026-12-31}",
            "effective: {from: 2026-01-01, to: 2026-03-31}",
        ),
        "promotions/byd-low.yaml",
        "products: [loan]",
    ),
    (
        "PROMO_GROUP_OVERLAP",
        {
            "promotions/byd-cash.yaml": REBATE.replace(
                "effect: {kind: cash_rebate, amount: 5000}", "effect: {kind: rate_buydown, rate: 0.0299}"
            ).replace("stacking: {group: cash}", "stacking: {group: rate}")
        },
        "promotions/byd-low.yaml",
        "stacking",
    ),
    (
        "PROMO_EXCLUSIVITY_ASYMMETRIC",
        {
            "promotions/byd-cash.yaml": REBATE,
            **edit(
                "promotions/byd-low.yaml",
                "stacking: {group: rate}",
                "stacking:\n  group: rate\n  exclusive_with: [cash]",
            ),
        },
        "promotions/byd-low.yaml",
        "exclusive_with",
    ),
    (
        "PROMO_UNKNOWN_GROUP",
        edit(
            "promotions/byd-low.yaml",
            "stacking: {group: rate}",
            "stacking:\n  group: rate\n  exclusive_with: [cahs]",
        ),
        "promotions/byd-low.yaml",
        "exclusive_with",
    ),
]


def test_every_code_has_a_case() -> None:
    assert sorted(code for code, *_ in CASES) == sorted(CODES)
    assert len(CODES) >= 12


@pytest.mark.parametrize(("code", "changes", "file", "marker"), CASES, ids=[c[0] for c in CASES])
def test_check_code(tmp_path: Path, code: str, changes: dict[str, str], file: str, marker: str) -> None:
    findings, files = run_checks(tmp_path, changes)
    hits = [f for f in findings if f.code == code]
    assert hits, f"{code} not found in {[str(f) for f in findings]}"
    expected = (file, line_of(files[file], marker))
    assert expected in {(f.file, f.line) for f in hits}, [str(f) for f in hits]
    assert all(f.message for f in hits)


def test_each_mistake_yields_only_its_own_codes(tmp_path: Path) -> None:
    """A single term outside the table is reported once, with nothing else."""
    findings, _ = run_checks(
        tmp_path, edit("products/loan.yaml", "terms: [36, 48, 60]", "terms: [36, 48, 60, 72]")
    )
    assert {f.code for f in findings} <= {"TERM_NOT_PRICED", "RESIDUAL_LIMIT_MISSING"}
    assert [f.code for f in findings if f.severity == "error"] == ["TERM_NOT_PRICED"]


def test_low_apr_or_rebate_in_one_group_is_clean(tmp_path: Path) -> None:
    """Different effects in one group are the customer's choice, not a contradiction."""
    findings, _ = run_checks(
        tmp_path, {"promotions/byd-cash.yaml": REBATE.replace("group: cash", "group: rate")}
    )
    assert findings == []


def test_same_group_promotions_that_cannot_meet_are_clean(tmp_path: Path) -> None:
    other = (
        REBATE.replace(
            "effect: {kind: cash_rebate, amount: 5000}", "effect: {kind: rate_buydown, rate: 0.0299}"
        )
        .replace("group: cash", "group: rate")
        .replace("valid: {from: 2026-03-01, to: 2026-06-30}", "valid: {from: 2026-07-01, to: 2026-09-30}")
    )
    findings, _ = run_checks(tmp_path, {"promotions/byd-cash.yaml": other})
    assert findings == []


def test_symmetric_exclusivity_is_clean(tmp_path: Path) -> None:
    changes = {
        "promotions/byd-cash.yaml": REBATE.replace(
            "stacking: {group: cash}", "stacking: {group: cash, exclusive_with: [rate]}"
        ),
        **edit(
            "promotions/byd-low.yaml",
            "stacking: {group: rate}",
            "stacking: {group: rate, exclusive_with: [cash]}",
        ),
    }
    findings, _ = run_checks(tmp_path, changes)
    assert findings == []


def test_finding_str_is_file_line_code_message() -> None:
    f = Finding("TERM_NOT_PRICED", "products/x.yaml", 9, "term 72 is in no row")
    assert str(f) == "products/x.yaml:9: TERM_NOT_PRICED term 72 is in no row"


# -- malformed files: CatalogueError with file, line and field --------------------------------------


def load_error(tmp_path: Path, changes: dict[str, str]) -> CatalogueError:
    write(tmp_path, {**BASE, **changes})
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path)
    assert isinstance(info.value, ValidationError)
    return info.value


def test_bad_indentation_gives_file_line_and_field(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace("  allowed: [gap]\n", "  allowed: [gap]\n financeable: false\n")
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert err.file == "products/loan.yaml"
    assert err.line == line_of(text, " financeable: false")
    assert err.field.endswith("financeable")
    assert err.message.startswith(f"products/loan.yaml:{err.line}: ")


def test_wrong_type_gives_file_line_and_field(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace("terms: [36, 48, 60]", "terms:\n  - 36\n  - 48\n  - 150")
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert (err.file, err.line, err.field) == ("products/loan.yaml", line_of(text, "- 150"), "terms.2")
    assert err.message == (
        f"products/loan.yaml:{err.line}: terms.2: Input should be less than or equal to 120 (got 150)"
    )


def test_wrong_kind_of_value(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace("max_ltv: 0.8", "max_ltv: lots")
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert (err.line, err.field) == (line_of(text, "max_ltv"), "max_ltv")


def test_unknown_key_gives_its_line(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace(
        "balloon: {max_pct_of_price: 0.3}", "balloon: {max_pct_of_price: 0.3}\nballon_max: 0.4"
    )
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert (err.line, err.field) == (line_of(text, "ballon_max"), "ballon_max")
    assert "Extra inputs are not permitted" in err.rule


def test_missing_required_field_names_it(tmp_path: Path) -> None:
    text = BASE["services/gap.yaml"].replace("kind: gap_insurance\n", "")
    err = load_error(tmp_path, {"services/gap.yaml": text})
    assert (err.file, err.field) == ("services/gap.yaml", "kind")
    assert "Field required" in err.rule


def test_nested_model_rule_points_at_its_key(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace(
        "effective: {from: 2026-01-01, to: 2026-12-31}", "effective:\n  from: 2026-06-01\n  to: 2026-01-01"
    )
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert (err.line, err.field) == (line_of(text, "effective:"), "effective")
    assert "'to' must not be before 'from'" in err.rule


def test_yaml_syntax_error_gives_the_mark_line(tmp_path: Path) -> None:
    text = BASE["rate_tables/std.yaml"].replace("rate: 0.059", "rate: [0.059")
    err = load_error(tmp_path, {"rate_tables/std.yaml": text})
    assert err.file == "rate_tables/std.yaml"
    assert err.line >= line_of(text, "rate: [0.059")


def test_impossible_date_gives_its_line(tmp_path: Path) -> None:
    text = BASE["services/gap.yaml"].replace(
        "effective: {from: 2026-01-01}", "effective:\n  from: 2026-13-01"
    )
    err = load_error(tmp_path, {"services/gap.yaml": text})
    assert (err.line, err.field) == (line_of(text, "2026-13-01"), "effective.from")


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"] + "max_ltv: 0.9\n"
    err = load_error(tmp_path, {"products/loan.yaml": text})
    assert (err.line, err.field) == (len(text.splitlines()), "max_ltv")


def test_id_must_match_file_name(tmp_path: Path) -> None:
    err = load_error(
        tmp_path, {"products/loan.yaml": BASE["products/loan.yaml"].replace("id: loan", "id: loan-2")}
    )
    assert (err.file, err.line, err.field) == ("products/loan.yaml", 1, "id")


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    err = load_error(tmp_path, {"services/gap.yml": BASE["services/gap.yaml"]})
    assert err.field == "id"
    assert "duplicate" in err.rule
    assert "services/gap.yaml:1" in err.rule


def test_missing_catalogue_file_and_strays(tmp_path: Path) -> None:
    write(tmp_path, {"products/loan.yaml": BASE["products/loan.yaml"]})
    with pytest.raises(CatalogueError, match=r"catalogue\.yaml"):
        load_catalogue(tmp_path)
    other = tmp_path / "other"
    write(other, {**BASE, "product/x.yaml": "id: x\n"})
    with pytest.raises(CatalogueError, match="unknown catalogue directory"):
        load_catalogue(other)


def test_catalogue_settings_are_validated(tmp_path: Path) -> None:
    text = BASE["catalogue.yaml"].replace("used: {36: 0.40", "usd: {36: 0.40")
    err = load_error(tmp_path, {"catalogue.yaml": text})
    assert (err.file, err.line) == ("catalogue.yaml", line_of(text, "usd:"))


def test_default_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOFIN_CATALOG", str(tmp_path))
    assert default_catalogue_dir() == tmp_path
    monkeypatch.delenv("AUTOFIN_CATALOG")
    assert default_catalogue_dir() == REPO_CATALOG


# -- the command --------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_clean_catalogue_exits_0(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    result = runner.invoke(catalog_app, ["check", str(tmp_path), "--as-of", "2026-05-01"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].endswith("0 error(s), 0 warning(s)")


def test_cli_reports_findings_and_exits_1(tmp_path: Path) -> None:
    write(tmp_path, {**BASE, **edit("products/loan.yaml", "rate: {table: std}", "rate: {table: nope}")})
    result = runner.invoke(catalog_app, ["check", str(tmp_path), "--as-of", "2026-05-01"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    line = line_of(BASE["products/loan.yaml"], "rate: {table: std}")
    assert lines[0].startswith(f"products/loan.yaml:{line}: RATE_TABLE_UNKNOWN ")
    assert "1 error(s)" in lines[-1]


def test_cli_load_error_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    text = BASE["products/loan.yaml"].replace("terms: [36, 48, 60]", "terms: [36, 48, 150]")
    write(tmp_path, {**BASE, "products/loan.yaml": text})
    result = runner.invoke(catalog_app, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: products/loan.yaml:{line_of(text, 'terms')}: terms.2: Input should be less than or equal to 120 (got 150)"
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text",
    [
        "id: loan\n  version: 1\n",  # bad indentation
        "- just\n- a list\n",  # not a mapping
        "",  # empty
        "id: [unclosed\n",  # syntax
    ],
)
def test_cli_never_prints_a_traceback(tmp_path: Path, text: str) -> None:
    write(tmp_path, {**BASE, "products/loan.yaml": text})
    result = runner.invoke(catalog_app, ["check", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: products/loan.yaml:")


# -- the demo catalogue in the repository -------------------------------------------------------------


def test_repository_catalogue_loads_and_checks_clean() -> None:
    if not (REPO_CATALOG / "catalogue.yaml").is_file():
        pytest.skip("the demo catalogue (catalog/ at the repository root) is not there yet")
    catalogue, extras = load_catalogue_with_extras(REPO_CATALOG)
    findings = check_catalogue(catalogue, extras, as_of=date(2026, 11, 1))
    errors = [str(f) for f in findings if f.severity == "error"]
    assert errors == []
