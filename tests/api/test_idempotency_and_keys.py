"""API keys and accounts handed out within scope; Idempotency-Key retries through HTTP."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from builders import OTHER_CITY, import_institution
from principals import bearer, staff_headers
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role, Scope


def _institution_id(ctx: AppContext, code: str) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(code)
        assert institution is not None
        return institution.id


def key_request(institution_id: uuid.UUID, name: str = "check-in gate 1") -> dict[str, object]:
    return {
        "name": name,
        "role": "institution_staff",
        "scopes": ["attendance:record"],
        "institution_id": str(institution_id),
    }


def _key_count(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return len(uow.accounts.api_keys(Scope()))


def test_an_institution_key_acts_within_its_scopes_and_dies_when_revoked(
    client: TestClient, ctx: AppContext
) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    created = client.post("/api/v1/api-keys", headers=admin, json=key_request(institution_id))
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    secret = key.rsplit("_", 1)[1]
    with ctx.unit_of_work() as uow:  # only a digest of the secret is kept
        (row,) = uow.accounts.api_keys(Scope())
        assert secret not in (row.secret_digest, row.prefix)

    me = client.get("/api/v1/auth/me", headers=bearer(key)).json()
    assert (me["kind"], me["permissions"]) == ("partner", ["attendance:record"])

    key_id = created.json()["api_key"]["id"]
    revoked = client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/auth/me", headers=bearer(key)).status_code == 401


def test_nobody_hands_out_more_than_they_hold(client: TestClient, ctx: AppContext) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    city_admin = staff_headers(ctx, Role.CITY_ADMIN)
    other_city_admin = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    # Another city's institution: refused, and the key is not made.
    refused = client.post(
        "/api/v1/api-keys", headers=other_city_admin, json=key_request(institution_id)
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")
    # A permission the role lacks.
    beyond = {**key_request(institution_id), "scopes": ["settlement:approve"]}
    answer = client.post("/api/v1/api-keys", headers=city_admin, json=beyond)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert _key_count(ctx) == 0
    # A city administrator cannot create a province administrator.
    province = {
        "username": "would-be-boss",
        "password": "a long password 1",
        "role": "province_admin",
        "region_code": "140000",
    }
    answer = client.post("/api/v1/accounts", headers=city_admin, json=province)
    assert answer.status_code == 403
    # An auditor holds no account:manage at all.
    auditor = staff_headers(ctx, Role.AUDITOR)
    clerk = {
        **province,
        "role": "institution_staff",
        "region_code": None,
        "institution_id": str(institution_id),
    }
    assert client.post("/api/v1/accounts", headers=auditor, json=clerk).status_code == 403
    created = client.post("/api/v1/accounts", headers=city_admin, json=clerk)
    assert created.status_code == 201, created.json()
    assert created.json()["region_code"] == "140100"  # the institution's region


def test_a_retry_with_the_same_key_gets_the_first_answer_and_does_nothing_twice(
    client: TestClient, ctx: AppContext
) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    admin = {**staff_headers(ctx, Role.CITY_ADMIN), "Idempotency-Key": "gate-1-2026-12-04"}
    first = client.post("/api/v1/api-keys", headers=admin, json=key_request(institution_id))
    again = client.post("/api/v1/api-keys", headers=admin, json=key_request(institution_id))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _key_count(ctx) == 1

    # The same key for a different request is refused, and does nothing.
    other = client.post(
        "/api/v1/api-keys", headers=admin, json=key_request(institution_id, "gate 2")
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert _key_count(ctx) == 1


def test_keys_belong_to_their_caller(client: TestClient, ctx: AppContext) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    same_key = {"Idempotency-Key": "shared-key"}
    for _ in range(2):  # two administrators, one key: two different keys made
        headers = {**staff_headers(ctx, Role.CITY_ADMIN), **same_key}
        answer = client.post("/api/v1/api-keys", headers=headers, json=key_request(institution_id))
        assert answer.status_code == 201, answer.json()
    assert _key_count(ctx) == 2


def test_concurrent_retries_do_the_work_once(client: TestClient, ctx: AppContext) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    admin = {**staff_headers(ctx, Role.CITY_ADMIN), "Idempotency-Key": "burst"}

    def attempt(_: int) -> tuple[int, str]:
        answer = client.post("/api/v1/api-keys", headers=admin, json=key_request(institution_id))
        return answer.status_code, answer.json().get("key") or answer.json()["code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    made = {text for status, text in outcomes if status == 201}
    waited = [text for status, text in outcomes if status != 201]
    assert len(made) == 1  # every 201 is the same answer
    assert set(waited) <= {"idempotent_request_in_flight"}
    assert _key_count(ctx) == 1


def test_malformed_keys_are_refused(client: TestClient, ctx: AppContext) -> None:
    institution_id = _institution_id(ctx, import_institution(ctx))
    admin = {**staff_headers(ctx, Role.CITY_ADMIN), "Idempotency-Key": "x" * 101}
    answer = client.post("/api/v1/api-keys", headers=admin, json=key_request(institution_id))
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert _key_count(ctx) == 0
