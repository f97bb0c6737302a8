"""The public catalogue and health through HTTP, on both databases."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from builders import (
    deposit,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
)
from principals import worker_headers
from skillvoucher.api.app import create_app
from skillvoucher.application.context import AppContext


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


def seed_catalogue(ctx: AppContext) -> None:
    school = import_institution(ctx)
    for n in range(5):
        import_course(ctx, school, course_code=f"C{n}", price_fen=100_000 + n * 50_000)
    import_course(ctx, school, course_code="ONLINE", mode="online", skill_level="4")
    pending = import_institution(
        ctx, name="大同市待审职业培训学校", region="140200", approval_status="pending"
    )
    import_course(ctx, pending, course_code="HIDDEN")


def test_health_checks_the_database(client: TestClient, ctx: AppContext) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": ctx.engine.dialect.name}


def test_courses_of_approved_institutions_page_by_cursor(
    client: TestClient, ctx: AppContext
) -> None:
    seed_catalogue(ctx)

    first = client.get("/api/v1/courses", params={"limit": 4}).json()
    second = client.get("/api/v1/courses", params={"limit": 4, "cursor": first["next_cursor"]})

    codes = [c["course_code"] for c in first["items"] + second.json()["items"]]
    assert sorted(codes) == ["C0", "C1", "C2", "C3", "C4", "ONLINE"]  # HIDDEN is not approved
    assert second.json()["next_cursor"] is None
    assert all(isinstance(c["price_fen"], int) for c in first["items"])


def test_course_filters(client: TestClient, ctx: AppContext) -> None:
    seed_catalogue(ctx)

    def codes(**params: int | str) -> list[str]:
        answer = client.get("/api/v1/courses", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(c["course_code"] for c in answer.json()["items"])

    assert codes(mode="online") == ["ONLINE"]
    assert codes(level="4") == ["ONLINE"]
    assert codes(max_price_fen=150_000) == ["C0", "C1"]
    assert codes(region="140000") == codes(region="140100")
    assert codes(region="140200") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"level": "7"}, "level"),
        ({"region": "abc"}, "region"),
        ({"max_price_fen": -1}, "max_price_fen"),
        ({"max_price_fen": 10**30}, "max_price_fen"),
    ],
)
def test_bad_queries_are_problems_naming_the_field(
    client: TestClient, params: dict[str, int | str], field: str
) -> None:
    answer = client.get("/api/v1/courses", params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "request_invalid"
    assert any(field in e["field"] for e in body["errors"])


def test_domain_errors_are_problems_in_the_callers_language(client: TestClient) -> None:
    zh = client.get("/api/v1/courses", params={"cursor": "not-a-cursor"})
    en = client.get(
        "/api/v1/courses", params={"cursor": "not-a-cursor"}, headers={"Accept-Language": "en"}
    )
    assert (zh.status_code, en.status_code) == (422, 422)
    assert zh.json()["code"] == en.json()["code"] == "invalid_input"
    assert zh.json()["title"] == "输入有误"
    assert en.json()["title"] == "Invalid input"


def test_regions_and_openapi(client: TestClient) -> None:
    regions = {r["code"]: r for r in client.get("/api/v1/regions").json()}
    assert regions["140100"]["name"] == "太原市"
    assert regions["140100"]["parent_code"] == "140000"
    schema = client.get("/openapi.json").json()
    assert "/api/v1/courses" in schema["paths"]


def test_the_interactive_docs_need_no_network(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "https://" not in page.text.split("<body>", 1)[0]
    scripts = re.findall(r'src="([^"]+\.js)"', page.text)
    styles = re.findall(r'href="([^"]+\.css)"', page.text)
    assert scripts
    assert styles
    for asset in scripts + styles:
        assert asset.startswith("/"), asset  # served by us
        assert client.get(asset).status_code == 200, asset


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/api/v1/courses", params={"cursor": "x"})
    client.get("/no/such/page")

    text = client.get("/metrics").text

    assert (
        'skillvoucher_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    )
    assert 'route="/api/v1/courses",status="422"' in text
    assert 'route="unmatched",status="404"' in text
    assert "cursor" not in text  # query strings never become labels


def test_courses_usable_with_my_voucher(client: TestClient, ctx: AppContext) -> None:
    taiyuan = import_institution(ctx)
    datong = import_institution(ctx, region="140200", name="大同市职业培训学校")
    beijing = import_institution(ctx, region="110000", name="北京市职业培训学校")
    for school, code, level, mode in (
        (taiyuan, "T5-OFF", "5", "offline"),  # usable
        (taiyuan, "T4-ON", "4", "online"),  # the scheme pays for offline courses only
        (taiyuan, "T3-OFF", "3", "offline"),  # no value for level 3
        (datong, "D4-OFF", "4", "offline"),  # usable: same province
        (beijing, "B5-OFF", "5", "offline"),  # another province
    ):
        import_course(ctx, school, course_code=code, skill_level=level, mode=mode)
    holder, stranger = person(), person()
    import_people(ctx, [holder, stranger])
    deposit(ctx)
    scheme = make_scheme(
        ctx,
        face_value={"by_level": {"5": 100_000, "4": 150_000}},
        courses={"modes": ["offline"]},
    )
    voucher = str(issue(ctx, scheme.code, holder).voucher_id)

    def person_id(p: object) -> uuid.UUID:
        with ctx.unit_of_work() as uow:
            found = uow.people.by_digest(ctx.digest(p.resident_id))  # type: ignore[attr-defined]
            assert found is not None
            return found.id

    mine = worker_headers(ctx, person_id(holder))
    answer = client.get("/api/v1/courses", params={"usable_with_voucher": voucher}, headers=mine)
    assert answer.status_code == 200, answer.json()
    assert {c["course_code"] for c in answer.json()["items"]} == {"T5-OFF", "D4-OFF"}
    everything = client.get("/api/v1/courses", params={"limit": 200}).json()["items"]
    assert len(everything) == 5

    anonymous = client.get("/api/v1/courses", params={"usable_with_voucher": voucher})
    assert anonymous.status_code == 401
    theirs = worker_headers(ctx, person_id(stranger))
    other = client.get("/api/v1/courses", params={"usable_with_voucher": voucher}, headers=theirs)
    assert (other.status_code, other.json()["code"]) == (404, "not_found")


def test_approved_institutions_are_listed_by_region(client: TestClient, ctx: AppContext) -> None:
    seed_catalogue(ctx)  # one approved in Taiyuan, one pending in Datong
    import_institution(ctx, region="140200", name="大同市职业培训学校")
    listed = client.get("/api/v1/institutions").json()
    assert {i["region_code"] for i in listed["items"]} == {"140100", "140200"}
    assert len(listed["items"]) == 2  # the pending one is not there
    datong = client.get("/api/v1/institutions", params={"region": "140200"}).json()["items"]
    assert [i["name"] for i in datong] == ["大同市职业培训学校"]
    first = client.get("/api/v1/institutions", params={"limit": 1}).json()
    rest = client.get(
        "/api/v1/institutions", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert first["items"][0]["credit_code"] != rest["items"][0]["credit_code"]
    assert rest["next_cursor"] is None
