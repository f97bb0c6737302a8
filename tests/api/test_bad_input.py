"""Bad input of every kind answers 4xx with a problem body, never 500, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from principals import staff_headers
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

PROBLEM = "application/problem+json"


@pytest.fixture
def admin(ctx: AppContext) -> dict[str, str]:
    return staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")


def _is_problem(answer: object, status: int, code: str | None = None) -> None:
    from httpx2 import Response

    assert isinstance(answer, Response)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    if code is not None:
        assert answer.json()["code"] == code


def test_a_declared_huge_body_is_refused_before_it_is_read(
    client: TestClient, admin: dict[str, str]
) -> None:
    huge = b'{"reason": "' + b"x" * (1 << 20) + b'"}'
    answer = client.post(
        "/api/v1/funds/transfers",
        headers={**admin, "Content-Type": "application/json"},
        content=huge,
    )
    _is_problem(answer, 413, "payload_too_large")


def test_a_huge_body_without_a_length_is_refused_too(
    client: TestClient, admin: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(20_000):
            yield b'{"enrolment_id": null, "source": "face", "minutes": 1},'
        yield b"]}"

    answer = client.post(
        "/api/v1/attendance/bulk",
        headers={**admin, "Content-Type": "application/json"},
        content=chunks(),
    )
    _is_problem(answer, 413, "payload_too_large")


def test_a_huge_body_with_an_idempotency_key_is_refused_and_not_kept(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = b'{"reason": "' + b"x" * (2 << 20) + b'"}'
    headers = {**admin, "Content-Type": "application/json", "Idempotency-Key": "big"}
    for _ in range(2):
        _is_problem(client.post("/api/v1/funds/transfers", headers=headers, content=body), 413)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"from_region": "140100", "to_region": 7}', "application/json"),
        (
            b'{"from_region": "140100", "to_region": "140200", "amount_fen": 1.5, "reason": "r"}',
            "application/json",
        ),
        (
            b'{"from_region": "140100", "to_region": "140200", "amount_fen": 1, "reason": "r", '
            b'"extra": true}',
            "application/json",
        ),
        (
            b'{"from_region": "140100", "to_region": "140200", "amount_fen": -1, "reason": "r"}',
            "application/json",
        ),
        (b"[1, 2, 3]", "application/json"),
        ("\u4e2d".encode("utf-16"), "application/json"),
        (b"from_region=140100", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "malformed",
        "wrong-type",
        "fractional-fen",
        "unknown-field",
        "negative",
        "array",
        "not-utf8",
        "form",
    ],
)
def test_malformed_requests_are_422_problems(
    client: TestClient, admin: dict[str, str], content: bytes, content_type: str
) -> None:
    answer = client.post(
        "/api/v1/funds/transfers", headers={**admin, "Content-Type": content_type}, content=content
    )
    _is_problem(answer, 422)
    listed = client.get("/api/v1/funds/transfers", headers=admin).json()["items"]
    assert listed == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/vouchers/not-a-uuid",
        "/api/v1/people/%00",
        "/api/v1/settlement/batches/" + "9" * 400,
        "/api/v1/funds/1401/ledger",
    ],
)
def test_malformed_paths_are_4xx_problems(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    answer = client.get(path, headers=admin)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_forged_qr_codes_are_refused_with_a_reason(client: TestClient) -> None:
    forged = [
        "eyJhbGciOiJub25lIn0.eyJ2b3VjaGVyX2lkIjoiMSJ9.",  # alg none
        "a.b.c",
        "x" * 4000,
        "\u0000\u0001",
    ]
    for code in forged:
        answer = client.post("/api/v1/vouchers/verify", json={"code": code})
        _is_problem(answer, 422)
        assert answer.json()["code"].startswith("credential_")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/people", "GET"),
        ("GET", "/api/v1/people/search", "POST"),
        ("PUT", "/api/v1/schemes", "GET, POST"),
        ("DELETE", "/healthz", "GET"),
    ],
)
def test_a_wrong_method_is_405_naming_the_right_ones(
    client: TestClient, admin: dict[str, str], method: str, path: str, allow: str
) -> None:
    answer = client.request(method, path, headers=admin)
    _is_problem(answer, 405)
    assert answer.headers["allow"] == allow
