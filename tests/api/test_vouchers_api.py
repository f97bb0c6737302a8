"""Voucher codes through HTTP: the public keys, and online verification of a code."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from builders import Clock, issue, training_world
from skillvoucher.api.app import create_app
from skillvoucher.application import lifecycle
from skillvoucher.application.context import AppContext
from skillvoucher.credentials.keys import load_public_keys_from_jwks


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture
def code(ctx: AppContext) -> str:
    world = training_world(ctx, people=1)
    return issue(ctx, world.scheme.code, world.people[0]).credential


def verify(client: TestClient, text: str) -> tuple[int, dict[str, object]]:
    answer = client.post("/api/v1/vouchers/verify", json={"code": text})
    return answer.status_code, answer.json()


def test_a_good_code_verifies_and_shows_its_status(client: TestClient, code: str) -> None:
    status, body = verify(client, code)
    assert status == 200, body
    assert body["status"] == "issued"
    assert body["value_fen"] == 150_000
    valid_until = datetime.fromisoformat(str(body["valid_until"]))
    assert valid_until.utcoffset() is not None  # timestamps carry their offset


def test_a_revoked_voucher_still_verifies_but_says_so(
    client: TestClient, ctx: AppContext, code: str
) -> None:
    voucher_id = verify(client, code)[1]["voucher_id"]
    lifecycle.revoke_voucher(ctx, uuid.UUID(str(voucher_id)), "test")
    assert verify(client, code)[1]["status"] == "revoked"


def test_forged_and_broken_codes_are_problems(client: TestClient, code: str) -> None:
    header, payload, signature = code.split(".")
    altered = (
        f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    )
    cases = {
        altered: ("credential_bad_signature", "credential_malformed"),
        "not a code": ("credential_malformed",),
        f"{header}.{payload}.": ("credential_malformed", "credential_bad_signature"),
    }
    for text, codes in cases.items():
        status, body = verify(client, text)
        assert status == 422, (text, body)
        assert body["code"] in codes, body


def test_an_expired_code_is_refused(client: TestClient, clock: Clock, code: str) -> None:
    clock.advance(timedelta(days=181))
    status, body = verify(client, code)
    assert (status, body["code"]) == (422, "credential_expired")


@pytest.mark.parametrize(
    "payload",
    [{"code": "x" * 5000}, {"code": "x", "extra": 1}, {"code": 7}, {}, [1, 2]],
)
def test_malformed_requests_are_problems(client: TestClient, payload: object) -> None:
    answer = client.post("/api/v1/vouchers/verify", json=payload)
    assert answer.status_code == 422
    assert answer.json()["code"] == "request_invalid"


def test_malformed_json_is_a_problem(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/vouchers/verify",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_public_keys_verify_offline(client: TestClient, code: str) -> None:
    jwks = client.get("/api/v1/keys").json()
    keys = load_public_keys_from_jwks(jwks)
    kid_of_code = verify(client, code)[1]
    assert keys
    assert kid_of_code["region_code"] in {k.split("-")[0] for k in keys}
