"""The sign-in page, the language switch, CSRF on page forms and HTML error pages."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from builders import import_institution
from pages import ENGLISH, csrf_of, sign_in_staff_page, text_of
from principals import PASSWORD, staff_account
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role


def test_start_page_sends_visitors_to_sign_in(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in"


def test_sign_in_page_is_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    chinese = client.get("/sign-in")
    assert chinese.status_code == 200
    assert '<html lang="zh-CN">' in chinese.text
    assert "电子社保卡" in text_of(chinese.text)
    assert "script-src 'self'" in chinese.headers["content-security-policy"]

    english = client.get("/sign-in", headers=ENGLISH)
    assert '<html lang="en">' in english.text
    assert "Sign in with the e-SSC" in text_of(english.text)


def test_language_switch_is_remembered(client: TestClient) -> None:
    answer = client.post(
        "/language", data={"lang": "en", "next": "/sign-in"}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in"
    assert '<html lang="en">' in client.get("/sign-in").text
    # An absolute URL is never followed: no open redirect.
    away = client.post(
        "/language",
        data={"lang": "zh-CN", "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"


def test_empty_sign_in_form_shows_field_errors_in_the_visitors_language(
    client: TestClient,
) -> None:
    chinese = client.post("/sign-in", data={"username": "", "password": ""})
    assert chinese.status_code == 422
    assert chinese.text.count('aria-invalid="true"') == 2
    assert "此项为必填项" in text_of(chinese.text)

    english = client.post("/sign-in", data={"username": "x", "password": ""}, headers=ENGLISH)
    assert english.text.count('aria-invalid="true"') == 1
    assert "This field is required." in text_of(english.text)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient, ctx: AppContext
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    answer = client.post("/sign-in", data={"username": username, "password": "wrong 12345"})
    assert answer.status_code == 401
    assert "用户名或密码错误" in text_of(answer.text)
    assert client.cookies.get("sv_session") is None


def test_staff_sign_in_lands_on_their_portal_and_sign_out_needs_the_csrf_token(
    client: TestClient, ctx: AppContext
) -> None:
    code = import_institution(ctx)
    username = staff_account(
        ctx,
        Role.INSTITUTION_STAFF,
        region_code=None,
        institution_id=institution_id_by_code(ctx, code),
    )
    answer = client.post(
        "/sign-in", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/institution"
    assert client.get("/", follow_redirects=False).headers["location"] == "/institution"

    forged = client.post("/sign-out", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/institution"

    done = client.post("/sign-out", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_sign_in_returns_to_the_page_asked_for(client: TestClient, ctx: AppContext) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD, "next": "/admin/settlement"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/admin/settlement"


def test_unknown_page_is_an_html_page_but_the_api_keeps_problem_json(
    client: TestClient, ctx: AppContext
) -> None:
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    page = client.get("/admin/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "未找到" in text_of(page.text)
    api = client.get("/api/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_demo_accounts_are_listed_only_when_the_demo_ran_in_development(
    client: TestClient, ctx: AppContext
) -> None:
    assert "demo-institution" not in client.get("/sign-in").text
    folder = ctx.settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "walkthrough.json").write_text(
        json.dumps(
            {
                "passwords": {"demo-institution": "pw-1", "demo-taiyuan-admin": "pw-2"},
                "worker_id_number": "140105199001011234",
                "worker_name": "张三",
            }
        ),
        encoding="utf-8",
    )
    page = text_of(client.get("/sign-in").text)
    assert "demo-institution" in page
    assert "pw-2" in page
    assert "140105199001011234" in page
