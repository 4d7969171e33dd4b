"""The site frame: languages, sign-in and sign-out, role checks, static files, page headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from autofin.errors import ValidationError
from autofin.web.i18n import Messages, messages, money, negotiate, percent
from autofin.web.session import safe_next


def test_home_in_both_languages(site: TestClient) -> None:
    en = site.get("/?lang=en")
    assert en.status_code == 200
    assert '<html lang="en">' in en.text and "Auto finance, decided in seconds" in en.text
    zh = site.get("/?lang=zh-CN")
    assert '<html lang="zh-CN">' in zh.text and "汽车金融，秒级审批" in zh.text
    # the choice is remembered by the cookie
    assert site.get("/").text.count('lang="zh-CN"') >= 1
    assert "default-src 'self'" in zh.headers["content-security-policy"]


def test_accept_language_chooses_chinese(site: TestClient) -> None:
    site.cookies.clear()
    page = site.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in page.text


def test_sign_in_rejects_unknown_token(site: TestClient) -> None:
    page = site.post("/login", data={"token": "not-a-token-0123456789", "next": ""})
    assert page.status_code == 401
    assert "autofin_session" not in page.headers.get("set-cookie", "")


def test_sign_in_sets_a_strict_http_only_cookie(site: TestClient) -> None:
    from web_support import token_of

    response = site.post(
        "/login", data={"token": token_of("analyst"), "next": "/analyst"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/analyst"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_sign_in_refuses_a_foreign_origin(site: TestClient) -> None:
    from web_support import token_of

    response = site.post(
        "/login",
        data={"token": token_of("analyst"), "next": ""},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:x"])
def test_no_open_redirect_after_sign_in(target: str) -> None:
    assert safe_next(target, "/dealer") == "/dealer"
    assert safe_next("/analyst?x=1", "/dealer") == "/analyst?x=1"


def test_sign_out_forgets_the_session(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("analyst")
    assert "analyst" in client.get("/").text
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert (
        'autofin_session=""' in response.headers["set-cookie"]
        or "max-age=0" in response.headers["set-cookie"].lower()
    )


def test_plotly_served_from_the_installed_package(site: TestClient) -> None:
    from autofin.web.site import plotly_js_path

    js = site.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.content == plotly_js_path().read_bytes()
    assert "site-packages" in str(plotly_js_path()) or "plotly" in str(plotly_js_path().parent.parent)
    assert site.get("/static/charts.js").status_code == 200


def test_pages_stay_out_of_the_openapi_document(site: TestClient) -> None:
    paths = site.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/v1/") for p in paths), sorted(paths)


def test_every_message_has_both_languages() -> None:
    catalogue = messages()
    assert catalogue.texts
    for key, texts in catalogue.texts.items():
        assert set(texts) == {"en", "zh-CN"}, key


def test_message_catalogue_errors_name_file_and_key() -> None:
    with pytest.raises(ValidationError, match=r"a\.yaml:k"):
        Messages.from_yaml({"a.yaml": "k: {en: only}"})
    with pytest.raises(ValidationError, match=r"already defined in a\.yaml"):
        Messages.from_yaml({"a.yaml": "k: {en: x, zh-CN: y}", "b.yaml": "k: {en: x, zh-CN: y}"})


def test_formatting_follows_the_locale() -> None:
    from decimal import Decimal

    assert money(Decimal("179800.00"), "CNY", "zh-CN") == "¥179,800.00"
    assert money(Decimal("1234.5"), "CNY", "en") == "CN¥1,234.50"
    assert percent(Decimal("0.0599"), "en") == "5.99%"
    assert negotiate(None, None, "en-GB,zh;q=0.8") == "en"
    assert negotiate("zh", None, "en") == "zh-CN"
