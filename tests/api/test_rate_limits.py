"""Rate limits on what can be guessed or flooded, in memory and in Redis (shared by processes)."""

from __future__ import annotations

import os
import uuid

import pytest
from fastapi.testclient import TestClient

from builders import issue, training_world
from principals import PASSWORD, staff_account, worker_headers
from skillvoucher.application.context import AppContext
from skillvoucher.application.rate_limits import (
    Limit,
    MemoryCounter,
    RateLimited,
    RateLimiter,
    RedisCounter,
)
from skillvoucher.domain.access import Role

REDIS_URL = os.environ.get("SKILLVOUCHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_sign_in_attempts_per_user_are_limited_with_retry_after(
    client: TestClient, ctx: AppContext
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    codes = []
    for _ in range(11):
        answer = client.post(
            "/api/v1/auth/sign-in", json={"username": username, "password": "wrong password 1"}
        )
        codes.append(answer.json()["code"])
    assert codes[-1] == "rate_limited"
    assert "rate_limited" not in codes[:10]
    limited = client.post("/api/v1/auth/sign-in", json={"username": username, "password": PASSWORD})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 61


def test_consent_codes_and_their_tries_are_limited_per_voucher(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, people=1)
    voucher = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(world.people[0].resident_id))
        assert found is not None
    holder = worker_headers(ctx, found.id)
    grants = [
        client.post(f"/api/v1/vouchers/{voucher}/consent", headers=holder).status_code
        for _ in range(6)
    ]
    assert grants == [201] * 5 + [429]

    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(world.institution)
        assert institution is not None
        course = uow.catalogue.course_by_code(institution.id, "C1")
        assert course is not None
    guesses = []
    for n in range(11):  # guessing the six digits
        answer = client.post(
            "/api/v1/enrolments",
            headers=holder,
            json={
                "voucher_id": str(voucher),
                "course_id": str(course.id),
                "consent_code": f"{n:06d}",
            },
        )
        guesses.append(answer.json()["code"])
    assert set(guesses[:10]) == {"consent_invalid"}
    assert guesses[10] == "rate_limited"


def test_the_memory_counter_counts_per_window() -> None:
    now = [1000.0]
    limiter = RateLimiter(MemoryCounter(clock=lambda: now[0]))
    limit = Limit("test", 2, 60)
    limiter.check(limit, "a")
    limiter.check(limit, "a")
    limiter.check(limit, "b")  # another subject counts apart
    with pytest.raises(RateLimited) as refused:
        limiter.check(limit, "a")
    assert refused.value.retry_after_seconds == 21  # the window ends at 1020
    now[0] = 1021.0
    limiter.check(limit, "a")  # a new window


def test_redis_counts_are_shared_between_processes() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    limit = Limit(f"test-{uuid.uuid4()}", 3, 60)
    # Two limiters stand for two server processes: the count is one.
    first, second = (RateLimiter(RedisCounter(REDIS_URL)) for _ in range(2))
    first.check(limit, "x")
    second.check(limit, "x")
    first.check(limit, "x")
    with pytest.raises(RateLimited):
        second.check(limit, "x")
