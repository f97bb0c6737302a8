"""Staff sign-in through HTTP: tokens, cookies with CSRF, lockout, the second factor."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient

from builders import Clock
from principals import PASSWORD, bearer, staff_account
from skillvoucher.application.context import AppContext
from skillvoucher.application.idempotency import purge_expired
from skillvoucher.application.sign_in import purge_ended_sessions
from skillvoucher.domain.access import Role


def sign_in(client: TestClient, username: str, password: str = PASSWORD, **extra: object):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/auth/sign-in", json={"username": username, "password": password, **extra}
    )


def test_a_token_signs_in_and_out(client: TestClient, ctx: AppContext) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    answer = sign_in(client, username)
    assert answer.status_code == 200, answer.json()
    token = answer.json()["token"]
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert (me["role"], me["region_prefix"]) == ("city_admin", "1401")
    assert "settlement:approve" in me["permissions"]
    assert client.post("/api/v1/auth/sign-out", headers=bearer(token)).status_code == 204
    gone = client.get("/api/v1/auth/me", headers=bearer(token))
    assert (gone.status_code, gone.json()["code"]) == (401, "not_authenticated")
    assert gone.headers["www-authenticate"] == "Bearer"


def test_no_credential_is_401_not_403(client: TestClient) -> None:
    answer = client.get("/api/v1/auth/me")
    assert (answer.status_code, answer.json()["code"]) == (401, "not_authenticated")
    forged = client.get("/api/v1/auth/me", headers=bearer("svs_forged"))
    assert forged.status_code == 401
    forged_key = client.get("/api/v1/auth/me", headers=bearer("svk_0123456789ab_nope"))
    assert forged_key.status_code == 401


def test_a_wrong_password_and_an_unknown_user_answer_alike(
    client: TestClient, ctx: AppContext
) -> None:
    username = staff_account(ctx, Role.AUDITOR)
    wrong = sign_in(client, username, "wrong password 1")
    unknown = sign_in(client, "nobody-here", "wrong password 1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "sign_in_failed"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_repeated_failures_lock_the_account_for_a_while(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    codes = [sign_in(client, username, "wrong password 1").json()["code"] for _ in range(5)]
    assert codes == ["sign_in_failed"] * 4 + ["account_locked"]
    # Locked: even the right password is refused until the lock ends.
    assert sign_in(client, username).json()["code"] == "account_locked"
    clock.advance(timedelta(minutes=16))
    assert sign_in(client, username).status_code == 200


def test_a_cookie_session_needs_the_csrf_token_to_change_anything(
    client: TestClient, ctx: AppContext
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    answer = sign_in(client, username, cookie=True)
    set_cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "samesite=lax" in set_cookie.lower()
    csrf = answer.json()["csrf_token"]
    assert client.get("/api/v1/auth/me").status_code == 200  # reading needs no CSRF token
    refused = client.post("/api/v1/auth/sign-out")
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")
    assert client.post("/api/v1/auth/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_second_factor_is_required_once_confirmed_and_codes_are_single_use(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    username = staff_account(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    headers = bearer(sign_in(client, username).json()["token"])
    secret = client.post("/api/v1/auth/totp", headers=headers).json()["secret"]
    totp = pyotp.TOTP(secret)
    code = totp.at(clock.now)
    confirmed = client.post("/api/v1/auth/totp/confirm", headers=headers, json={"code": code})
    assert confirmed.status_code == 204, confirmed.json()

    assert sign_in(client, username).json()["code"] == "second_factor_required"
    # The code used to confirm was consumed: it cannot sign in.
    assert sign_in(client, username, totp_code=code).json()["code"] == "second_factor_required"
    clock.advance(timedelta(seconds=30))
    assert sign_in(client, username, totp_code=totp.at(clock.now)).status_code == 200


def test_ended_sessions_and_old_idempotent_answers_are_purged(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    old = bearer(sign_in(client, staff_account(ctx, Role.CITY_ADMIN)).json()["token"])
    kept = client.post("/api/v1/auth/totp", headers={**old, "Idempotency-Key": "k1"})
    assert kept.status_code == 200
    clock.advance(timedelta(days=2))
    fresh = bearer(sign_in(client, staff_account(ctx, Role.CITY_ADMIN)).json()["token"])

    assert purge_ended_sessions(ctx) == 1
    assert purge_expired(ctx) == 1
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert (purge_ended_sessions(ctx), purge_expired(ctx)) == (0, 0)  # re-runnable
