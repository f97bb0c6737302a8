"""The public catalogue and health through HTTP, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from builders import import_course, import_institution
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
    assert client.get("/docs").status_code == 200


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
