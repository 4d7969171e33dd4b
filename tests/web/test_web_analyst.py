"""The analyst dashboards: who may open them, both languages, the filters, and the numbers on the page
equal to direct counts from the store after seeding a small history."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from autofin.demo_history import seed_history
from autofin.store.models import ApplicationRow, ContractRow, DecisionRow, QuoteLogRow


def _seed(site: TestClient, applications: int = 30) -> None:
    state = site.app.state  # type: ignore[attr-defined]
    report = seed_history(
        state.sessions, state.engine, state.keys, applications=applications, days=25, seed=3
    )
    assert report.created == applications


def _stage(page: str, name: str) -> int:
    found = re.search(rf'data-stage="{name}">([\d,]+)<', page)
    assert found is not None, name
    return int(found.group(1).replace(",", ""))


def test_not_signed_in_goes_to_login(site: TestClient) -> None:
    site.cookies.clear()
    response = site.get("/analyst?days=90", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/analyst%3Fdays%3D90"


@pytest.mark.parametrize("name", ["dealer-001", "customer", "underwriter"])
def test_other_roles_are_forbidden(signed_in: Callable[[str], TestClient], name: str) -> None:
    page = signed_in(name).get("/analyst")
    assert page.status_code == 403


@pytest.mark.parametrize("name", ["analyst", "admin"])
def test_analyst_and_admin_see_the_dashboards(signed_in: Callable[[str], TestClient], name: str) -> None:
    page = signed_in(name).get("/analyst?lang=en")
    assert page.status_code == 200
    for title in ("Volume", "Funnel", "Segment mix", "Product mix", "Pricing"):
        assert f"<h2>{title}</h2>" in page.text
    assert page.text.count('data-chart="') == 5
    assert page.text.count("<caption>") == 5
    assert '<script src="/static/plotly.min.js" defer></script>' in page.text
    assert "<script>" not in page.text  # no inline script (CSP)


def test_numbers_on_the_page_equal_direct_counts(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("analyst")
    _seed(client)
    page = client.get("/analyst?days=30&lang=en")
    assert page.status_code == 200
    since = datetime.now(UTC) - timedelta(days=30)
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        apps = [a for a in s.scalars(select(ApplicationRow)) if a.submitted_at >= since]
        ids = {a.id for a in apps}
        latest: dict[str, DecisionRow] = {}
        for d in s.scalars(select(DecisionRow)):
            if d.application_id in ids and (
                d.application_id not in latest or d.decided_at >= latest[d.application_id].decided_at
            ):
                latest[d.application_id] = d
        booked = sum(c.application_id in ids for c in s.scalars(select(ContractRow)))
        quotes = sum(q.at >= since for q in s.scalars(select(QuoteLogRow)))
    approved = sum(d.outcome in ("approve", "counter_offer") for d in latest.values())
    assert len(apps) >= 30  # the history and the demo applications of the fixture
    assert _stage(page.text, "applications") == len(apps)
    assert _stage(page.text, "approved") == approved
    assert _stage(page.text, "booked") == booked > 0
    assert _stage(page.text, "quotes") == quotes > 0
    assert f'data-kpi="applications">{len(apps)}<' in page.text
    rate = f"{100 * approved / len(latest):.1f}%"
    assert f'data-kpi="approval_rate">{rate}<' in page.text


def test_dealer_filter_and_chinese(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("analyst")
    _seed(client, 20)
    page = client.get("/analyst?days=90&dealer=dealer-003&lang=zh-CN")
    assert page.status_code == 200
    assert "经营看板" in page.text and "转化漏斗" in page.text and "客群结构" in page.text
    for english in ("Volume", "Funnel", "Approval rate", "Applications"):
        assert english not in page.text
    with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        n = len(list(s.scalars(select(ApplicationRow).where(ApplicationRow.dealer_id == "dealer-003"))))
    assert _stage(page.text, "applications") == n > 0
    assert '<option value="dealer-003" selected>' in page.text


def test_bad_filters_rerender_with_the_message(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("analyst")
    page = client.get("/analyst?days=7&dealer=nobody&lang=en")
    assert page.status_code == 422
    assert re.search(r'id="days"[^>]*aria-invalid="true"[^>]*aria-describedby="days-error"', page.text)
    assert 'id="days-error">Choose one of the listed periods.' in page.text
    assert 'id="dealer-error">Choose a dealer from the list.' in page.text
    assert 'data-chart="' not in page.text
