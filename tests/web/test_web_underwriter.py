"""The underwriter queue: referred applications, the unmasked application page, approve and decline
with reason codes and a note; validation, conflicts, role separation and both languages.

A referred application: the example application with ``income verified`` unticked refers under the
policy table ``refer_rules`` (RF-02: income not verified and more than 100,000 financed)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_web_dealer import form_values, new_form, submit

from autofin.store.models import DecisionRow


def referred(client: TestClient) -> str:
    """Submit, as dealer-001, an application the policy refers; returns its id."""
    client.cookies.clear()
    from web_support import token_of

    client.post("/login", data={"token": token_of("dealer-001"), "next": ""})
    values = new_form(client)
    values.pop("applicant.income_verified")
    response = submit(client, values)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).rsplit("/", 1)[1]


def decisions(client: TestClient, app_id: str) -> int:
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        query = select(func.count()).select_from(DecisionRow).where(DecisionRow.application_id == app_id)
        return int(session.scalar(query) or 0)


def review_form(client: TestClient, app_id: str) -> dict[str, list[str]]:
    page = client.get(f"/underwriter/applications/{app_id}")
    assert page.status_code == 200
    return form_values(page.text, f"/underwriter/applications/{app_id}")


def post_review(client: TestClient, app_id: str, **values: str | list[str]) -> object:
    data = review_form(client, app_id)
    data.update({k: v if isinstance(v, list) else [v] for k, v in values.items()})
    return client.post(f"/underwriter/applications/{app_id}", data=data, follow_redirects=False)


def test_queue_lists_referred_applications_with_reasons(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    page = client.get("/underwriter?lang=en")
    assert page.status_code == 200
    assert f'href="/underwriter/applications/{app_id}"' in page.text
    assert "Income could not be verified for the amount requested" in page.text
    assert "RF_INCOME_NOT_VERIFIED" in page.text and "dealer-001" in page.text
    assert re.search(r"\d+ min", page.text)
    assert "demo-approve-0001" not in page.text  # not referred


def test_application_page_shows_personal_data_unmasked(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    dealer_view = site.get(f"/dealer/applications/{app_id}?lang=en")
    assert "outcome-refer" in dealer_view.text and "110101199003071234" not in dealer_view.text
    client = signed_in("underwriter")
    page = client.get(f"/underwriter/applications/{app_id}?lang=en")
    assert page.status_code == 200
    for shown in ("110101199003071234", "张三", "13800001234", "Demo Employer Co.", "PS-2026-11"):
        assert shown in page.text, shown
    assert "<dt>Risk score (points)</dt><dd>700 " in page.text
    assert "<dt>Probability of default</dt><dd>3.00%</dd>" in page.text
    assert "Income could not be verified" in page.text
    assert 'name="reason_codes" value="DC_SCORE_BELOW_CUTOFF"' in page.text
    assert 'maxlength="2000"' in page.text


def test_decline_needs_a_reason_code_and_stores_nothing_without(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    before = decisions(client, app_id)
    page = post_review(client, app_id, action="decline", note="kept")
    assert page.status_code == 422  # type: ignore[attr-defined]
    text = page.text  # type: ignore[attr-defined]
    assert 'id="err-reason_codes">A decline needs at least one reason code.' in text
    assert 'aria-invalid="true"' in text and ">kept</textarea>" in text
    assert decisions(client, app_id) == before
    long_note = post_review(client, app_id, action="approve", note="x" * 2001)
    assert long_note.status_code == 422 and 'id="err-note"' in long_note.text  # type: ignore[attr-defined]
    no_action = post_review(client, app_id)
    assert no_action.status_code == 422 and 'id="err-action"' in no_action.text  # type: ignore[attr-defined]
    assert decisions(client, app_id) == before


def test_approve_goes_back_to_the_queue_and_opens_the_menu(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    done = post_review(client, app_id, action="approve", note="payslip checked by phone")
    assert done.status_code == 303  # type: ignore[attr-defined]
    location = done.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/underwriter?reviewed=")
    queue = client.get(location + "&lang=en")
    assert f"Application {app_id} approved." in queue.text
    assert f'href="/underwriter/applications/{app_id}"' not in queue.text
    decided = client.get(f"/underwriter/applications/{app_id}?lang=en")
    assert 'name="action"' not in decided.text and "payslip checked by phone" in decided.text
    dealer = signed_in("dealer-001")
    page = dealer.get(f"/dealer/applications/{app_id}?lang=en")
    assert "outcome-approve" in page.text and "Choose this offer" in page.text
    assert "An underwriter reviewed this application." in page.text


def test_decline_with_codes_reaches_the_dealer(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    form = review_form(client, app_id)
    data = {
        **form,
        "action": ["decline"],
        "reason_codes": ["RF_INCOME_NOT_VERIFIED", "DTI_HIGH"],
        "note": [""],
    }
    first = client.post(f"/underwriter/applications/{app_id}", data=data, follow_redirects=False)
    second = client.post(f"/underwriter/applications/{app_id}", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303  # the same review twice is stored once
    assert decisions(client, app_id) == 2
    page = client.get(f"/underwriter/applications/{app_id}?lang=en")
    assert "not waiting for a review" in page.text and 'name="action"' not in page.text
    dealer = signed_in("dealer-001")
    page = dealer.get(f"/dealer/applications/{app_id}?lang=zh-CN")
    assert "outcome-decline" in page.text and "无法核实与申请金额相符的收入" in page.text


def test_a_second_different_review_is_a_conflict(
    site: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    form = review_form(client, app_id)
    approve = {**form, "action": ["approve"], "note": [""]}
    assert (
        client.post(f"/underwriter/applications/{app_id}", data=approve, follow_redirects=False).status_code
        == 303
    )
    decline = {**form, "action": ["decline"], "reason_codes": ["DTI_HIGH"], "note": [""]}
    page = client.post(f"/underwriter/applications/{app_id}", data=decline, follow_redirects=False)
    assert page.status_code == 409 and "someone else decided it first" in page.text
    assert decisions(client, app_id) == 2


def test_roles(site: TestClient, signed_in: Callable[[str], TestClient]) -> None:
    app_id = referred(site)
    for name in ("dealer-001", "customer", "analyst"):
        client = signed_in(name)
        assert client.get("/underwriter").status_code == 403, name
        assert client.get(f"/underwriter/applications/{app_id}").status_code == 403, name
        assert (
            client.post(f"/underwriter/applications/{app_id}", data={"action": "approve"}).status_code == 403
        )
    site.cookies.clear()
    response = site.get("/underwriter", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/underwriter"
    admin = signed_in("admin")
    assert admin.get(f"/underwriter/applications/{app_id}").status_code == 200
    assert admin.get("/underwriter/applications/missing").status_code == 404


def test_chinese_queue_and_review_page(site: TestClient, signed_in: Callable[[str], TestClient]) -> None:
    app_id = referred(site)
    client = signed_in("underwriter")
    queue = client.get("/underwriter?lang=zh-CN")
    assert "待人工审核的申请" in queue.text and "无法核实与申请金额相符的收入" in queue.text
    assert "Referred applications" not in queue.text and "Why referred" not in queue.text
    page = client.get(f"/underwriter/applications/{app_id}?lang=zh-CN")
    assert "申请人个人信息" in page.text and "提交审核决定" in page.text and "信贷政策" in page.text
    assert "Record the decision" not in page.text and "Reason codes" not in page.text
