"""Issuance through HTTP: a worker's claim, an administrator's push, an enterprise's roster, each
within the caller's scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    credit_code,
    deposit,
    import_people,
    make_scheme,
    person,
)
from principals import PASSWORD, bearer, staff_account, staff_headers, worker_headers
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.access import Role
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.vouchers import PUSHED_ACTION
from skillvoucher.persistence.tables import Scheme, Voucher

PUSH = "TY-2026-PUSH"
CLAIM = "TY-2026-CLAIM"
ENTERPRISE = "TY-2026-ENT"


def person_id_of(ctx: AppContext, holder: SyntheticPerson) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(holder.resident_id))
    assert found is not None
    return found.id


def problem_code(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    code: str = answer.json()["code"]
    return code


def vouchers_of(ctx: AppContext, scheme_code: str) -> list[Voucher]:
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(Voucher)
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(Scheme.code == scheme_code)
            .order_by(Voucher.id)
        )
        return list(uow.session.scalars(stmt))


@pytest.fixture
def funded(ctx: AppContext) -> None:
    deposit(ctx)
    deposit(ctx, region=OTHER_CITY)


# --- Claims ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("funded")
def test_a_worker_claims_once(client: TestClient, ctx: AppContext) -> None:
    make_scheme(ctx, code=CLAIM, issuance="claim")
    worker = person()
    import_people(ctx, [worker])
    worker_id = person_id_of(ctx, worker)
    me = worker_headers(ctx, worker_id)

    answer = client.post(f"/api/v1/schemes/{CLAIM}/claims", headers=me)
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["scheme_code"], body["status"], body["value_fen"]) == (CLAIM, "issued", 150_000)
    assert body["credential"].count(".") == 2
    verified = client.post("/api/v1/vouchers/verify", json={"code": body["credential"]})
    assert verified.json()["voucher_id"] == body["voucher_id"]
    mine = client.get("/api/v1/vouchers/mine", headers=me).json()["items"]
    assert [v["voucher_id"] for v in mine] == [body["voucher_id"]]
    with ctx.unit_of_work() as uow:
        events = uow.audit.for_entity("voucher", body["voucher_id"])
    assert [(e.action, e.actor) for e in events] == [("voucher.issued", f"worker:{worker_id}")]

    again = client.post(f"/api/v1/schemes/{CLAIM}/claims", headers=me)
    assert problem_code(again, 409) == "already_exists"
    assert len(vouchers_of(ctx, CLAIM)) == 1


@pytest.mark.usefixtures("funded")
def test_an_ineligible_worker_is_told_why(client: TestClient, ctx: AppContext) -> None:
    make_scheme(ctx, eligibility={"target_groups": ["school_leaver"]})
    worker = person(groups=[TargetGroup.UNEMPLOYED])
    import_people(ctx, [worker])
    me = worker_headers(ctx, person_id_of(ctx, worker))

    answer = client.post("/api/v1/schemes/TY-2026-IND/claims", headers=me)
    assert problem_code(answer, 422) == "not_eligible"
    assert "target groups" in answer.json()["detail"]
    assert worker.resident_id not in answer.text


@pytest.mark.usefixtures("funded")
def test_claims_of_what_cannot_be_claimed(client: TestClient, ctx: AppContext) -> None:
    make_scheme(ctx, code=PUSH, issuance="push")
    worker = person()
    import_people(ctx, [worker])
    me = worker_headers(ctx, person_id_of(ctx, worker))

    unknown = client.post("/api/v1/schemes/NO-SUCH/claims", headers=me)
    assert problem_code(unknown, 404) == "not_found"
    pushed_only = client.post(f"/api/v1/schemes/{PUSH}/claims", headers=me)
    assert problem_code(pushed_only, 422) == "invalid_input"
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    assert problem_code(client.post(f"/api/v1/schemes/{PUSH}/claims", headers=admin), 403) == (
        "access_denied"
    )
    assert problem_code(client.post(f"/api/v1/schemes/{PUSH}/claims"), 401) == ("not_authenticated")


# --- Push --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("funded")
def test_an_administrator_pushes_within_their_city(client: TestClient, ctx: AppContext) -> None:
    make_scheme(ctx, code=PUSH, issuance="push", quota=10)
    import_people(ctx, [person() for _ in range(3)])
    import_people(ctx, [person(region=OTHER_CITY)])  # outside the scheme's households

    datong = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    hidden = client.post(f"/api/v1/schemes/{PUSH}/push", headers=datong)
    assert problem_code(hidden, 404) == "not_found"
    hr = staff_headers(
        ctx, Role.ENTERPRISE_HR, employer_credit_code=credit_code(CITY, "enterprise")
    )
    assert problem_code(client.post(f"/api/v1/schemes/{PUSH}/push", headers=hr), 404) == (
        "not_found"
    )
    auditor = staff_headers(ctx, Role.AUDITOR)
    assert problem_code(client.post(f"/api/v1/schemes/{PUSH}/push", headers=auditor), 403) == (
        "access_denied"
    )
    assert vouchers_of(ctx, PUSH) == []

    username = staff_account(ctx, Role.CITY_ADMIN)
    admin = bearer(sign_in_staff(ctx, username, PASSWORD).token)
    answer = client.post(f"/api/v1/schemes/{PUSH}/push", headers=admin)
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"issued": 3, "eligible_left": 0, "quota_left": 7}
    pushed = vouchers_of(ctx, PUSH)
    assert len(pushed) == 3
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(PUSH)
        assert scheme is not None
        # One event for the chunk, naming the administrator and the vouchers it issued.
        events = uow.audit.for_entity("scheme", scheme.id)
    [event] = [e for e in events if e.action == PUSHED_ACTION]
    assert event.actor == f"staff:{username}"
    assert event.payload["vouchers"] == 3
    assert event.payload["first_voucher"] == str(min(v.id for v in pushed))
    assert event.payload["last_voucher"] == str(max(v.id for v in pushed))
    assert event.payload["first_holder"] == str(min(v.person_id for v in pushed))
    assert event.payload["last_holder"] == str(max(v.person_id for v in pushed))

    again = client.post(f"/api/v1/schemes/{PUSH}/push", headers=admin)
    assert again.json() == {"issued": 0, "eligible_left": 0, "quota_left": 7}


@pytest.mark.usefixtures("funded")
def test_push_refuses_a_scheme_that_is_not_a_push_scheme(
    client: TestClient, ctx: AppContext
) -> None:
    make_scheme(ctx)
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    answer = client.post("/api/v1/schemes/TY-2026-IND/push", headers=admin)
    assert problem_code(answer, 422) == "invalid_input"
    shanxi = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    unknown = client.post("/api/v1/schemes/NO-SUCH/push", headers=shanxi)
    assert problem_code(unknown, 404) == "not_found"


# --- Enterprise rosters ------------------------------------------------------------------------


@pytest.fixture
def enterprises(ctx: AppContext, funded: None) -> tuple[str, str]:
    make_scheme(
        ctx,
        code=ENTERPRISE,
        type="enterprise",
        issuance="application",
        eligibility={"target_groups": ["employee"]},
    )
    return credit_code(CITY, "enterprise"), credit_code(CITY, "enterprise")


def test_enterprise_hr_issues_to_their_own_staff(
    client: TestClient, ctx: AppContext, enterprises: tuple[str, str]
) -> None:
    ours, theirs = enterprises
    our_staff = [person(groups=[TargetGroup.EMPLOYEE], employer=ours) for _ in range(2)]
    their_staff = person(groups=[TargetGroup.EMPLOYEE], employer=theirs)
    import_people(ctx, [*our_staff, their_staff])
    hr = staff_headers(ctx, Role.ENTERPRISE_HR, employer_credit_code=ours)

    roster = [p.resident_id for p in [*our_staff, their_staff]] + ["123", our_staff[0].resident_id]
    answer = client.post(
        f"/api/v1/schemes/{ENTERPRISE}/enterprise-issuance",
        headers=hr,
        json={"resident_ids": roster},
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["issued"], body["refused"]) == (2, 3)
    lines = body["lines"]
    assert [line["line"] for line in lines] == [1, 2, 3, 4, 5]
    assert [line["voucher_id"] is not None for line in lines] == [True, True, False, False, False]
    assert "not an employee" in lines[2]["problem"]
    assert lines[3]["holder_id_masked"] == "-"
    assert "already holds" in lines[4]["problem"]
    for p in [*our_staff, their_staff]:
        assert p.resident_id not in answer.text
    assert {v.person_id for v in vouchers_of(ctx, ENTERPRISE)} == {
        person_id_of(ctx, p) for p in our_staff
    }
    # The HR department now sees what it issued.
    seen = client.get("/api/v1/vouchers", headers=hr).json()["items"]
    assert {v["voucher_id"] for v in seen} == {line["voucher_id"] for line in lines[:2]}


def test_enterprise_hr_cannot_act_for_another_enterprise_or_city(
    client: TestClient, ctx: AppContext, enterprises: tuple[str, str]
) -> None:
    ours, theirs = enterprises
    their_staff = person(groups=[TargetGroup.EMPLOYEE], employer=theirs)
    import_people(ctx, [their_staff])
    roster = {"resident_ids": [their_staff.resident_id]}
    url = f"/api/v1/schemes/{ENTERPRISE}/enterprise-issuance"

    other_hr = staff_headers(ctx, Role.ENTERPRISE_HR, employer_credit_code=ours)
    naming_theirs = client.post(
        url, headers=other_hr, json={**roster, "enterprise_credit_code": theirs}
    )
    assert problem_code(naming_theirs, 403) == "access_denied"
    own_name = client.post(url, headers=other_hr, json=roster)
    assert own_name.json()["issued"] == 0  # their staff are not ours

    far_hr = staff_headers(
        ctx, Role.ENTERPRISE_HR, region_code=OTHER_CITY, employer_credit_code=theirs
    )
    assert problem_code(client.post(url, headers=far_hr, json=roster), 404) == "not_found"
    datong = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    hidden = client.post(url, headers=datong, json={**roster, "enterprise_credit_code": theirs})
    assert problem_code(hidden, 404) == "not_found"
    assert vouchers_of(ctx, ENTERPRISE) == []


def test_an_administrator_names_the_enterprise(
    client: TestClient, ctx: AppContext, enterprises: tuple[str, str]
) -> None:
    _, theirs = enterprises
    their_staff = person(groups=[TargetGroup.EMPLOYEE], employer=theirs)
    import_people(ctx, [their_staff])
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    url = f"/api/v1/schemes/{ENTERPRISE}/enterprise-issuance"
    roster = {"resident_ids": [their_staff.resident_id]}

    unnamed = client.post(url, headers=admin, json=roster)
    assert problem_code(unnamed, 422) == "invalid_input"
    bad_code = client.post(url, headers=admin, json={**roster, "enterprise_credit_code": "X" * 18})
    assert problem_code(bad_code, 422) == "invalid_credit_code"
    named = client.post(url, headers=admin, json={**roster, "enterprise_credit_code": theirs})
    assert named.json()["issued"] == 1, named.json()

    make_scheme(ctx, code="TY-IND")
    individual = client.post(
        "/api/v1/schemes/TY-IND/enterprise-issuance",
        headers=admin,
        json={**roster, "enterprise_credit_code": theirs},
    )
    assert problem_code(individual, 422) == "invalid_input"


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"resident_ids": []},
        {"resident_ids": ["110101199001011234"] * 5001},
        {"resident_ids": ["x" * 25]},
        {"resident_ids": [7]},
        {"resident_ids": "110101199001011234"},
        {"resident_ids": ["110101199001011234"], "extra": 1},
        {"resident_ids": ["110101199001011234"], "enterprise_credit_code": "short"},
        [1, 2],
    ],
)
def test_malformed_rosters_are_problems(
    client: TestClient, ctx: AppContext, enterprises: tuple[str, str], body: object
) -> None:
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    answer = client.post(
        f"/api/v1/schemes/{ENTERPRISE}/enterprise-issuance", headers=admin, json=body
    )
    assert problem_code(answer, 422) == "request_invalid"


def test_bad_scheme_codes_and_bodies_are_problems(client: TestClient, ctx: AppContext) -> None:
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    lower = client.post("/api/v1/schemes/ty-2026/push", headers=admin)
    assert problem_code(lower, 422) == "request_invalid"
    not_json = client.post(
        f"/api/v1/schemes/{ENTERPRISE}/enterprise-issuance",
        headers={**admin, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert problem_code(not_json, 422) == "request_invalid"
