"""Schemes through HTTP: region scoping, preview, the life cycle audited in the caller's name."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    deposit,
    import_institution,
    import_people,
    make_scheme,
    person,
    scheme_document,
)
from principals import PASSWORD, bearer, staff_account, staff_headers, worker_headers
from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import eligible_count
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.domain.access import Role
from skillvoucher.domain.people import TargetGroup

PROVINCE = "140000"
HERE = "TY-2026-IND"
THERE = "DT-2026-IND"


def admin(ctx: AppContext, region: str = CITY) -> dict[str, str]:
    role = Role.PROVINCE_ADMIN if region.endswith("0000") else Role.CITY_ADMIN
    return staff_headers(ctx, role, region_code=region)


def signed_in(ctx: AppContext, role: Role, region: str = CITY) -> tuple[str, dict[str, str]]:
    """The audit label and bearer headers of a new staff member."""
    username = staff_account(ctx, role, region_code=region)
    return f"staff:{username}", bearer(sign_in_staff(ctx, username, PASSWORD).token)


@pytest.fixture
def two_cities(ctx: AppContext) -> None:
    """A launched scheme in each city."""
    deposit(ctx)
    deposit(ctx, region=OTHER_CITY)
    make_scheme(ctx, code=HERE)
    make_scheme(ctx, code=THERE, region=OTHER_CITY, name="大同市重点群体培训券")


def codes_listed(client: TestClient, headers: dict[str, str], **params: str) -> set[str]:
    answer = client.get("/api/v1/schemes", params=params, headers=headers)
    assert answer.status_code == 200, answer.json()
    return {item["code"] for item in answer.json()["items"]}


def audit_trail(ctx: AppContext, code: str) -> list[tuple[str, str]]:
    with ctx.unit_of_work() as uow:
        return [(e.action, e.actor) for e in uow.audit.for_entity("scheme", code)]


# --- Reading --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_cities")
def test_each_city_sees_its_own_schemes_and_the_province_both(
    client: TestClient, ctx: AppContext
) -> None:
    assert codes_listed(client, admin(ctx)) == {HERE}
    assert codes_listed(client, admin(ctx, OTHER_CITY)) == {THERE}
    assert codes_listed(client, admin(ctx, PROVINCE)) == {HERE, THERE}
    statistician = staff_headers(ctx, Role.NATIONAL_STATISTICIAN, region_code=None)
    assert codes_listed(client, statistician) == {HERE, THERE}
    assert codes_listed(client, staff_headers(ctx, Role.AUDITOR)) == {HERE}
    assert codes_listed(client, admin(ctx, PROVINCE), status="draft") == set()

    shown = client.get(f"/api/v1/schemes/{HERE}", headers=admin(ctx))
    assert shown.status_code == 200, shown.json()
    body = shown.json()
    assert (body["region_code"], body["status"], body["budget_fen"]) == (CITY, "active", 20_000_000)
    assert body["document"]["face_value"]["fixed_fen"] == 150_000
    assert body["launched_at"].endswith("Z") or "+" in body["launched_at"]


@pytest.mark.usefixtures("two_cities")
def test_another_city_s_scheme_answers_404_like_a_missing_one(
    client: TestClient, ctx: AppContext
) -> None:
    hidden = client.get(f"/api/v1/schemes/{HERE}", headers=admin(ctx, OTHER_CITY))
    missing = client.get("/api/v1/schemes/NO-SUCH-SCHEME", headers=admin(ctx, OTHER_CITY))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    for action in ("launch", "pause", "close"):
        moved = client.post(f"/api/v1/schemes/{HERE}/{action}", headers=admin(ctx, OTHER_CITY))
        assert (moved.status_code, moved.json()["code"]) == (404, "not_found"), action
    assert client.get(f"/api/v1/schemes/{HERE}", headers=admin(ctx)).json()["status"] == "active"


def test_the_list_pages_with_a_cursor(client: TestClient, ctx: AppContext) -> None:
    for i in range(5):
        make_scheme(ctx, code=f"TY-2026-{i:03d}", launch=False)
    headers = admin(ctx)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/schemes", params=params, headers=headers).json()
        seen += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"TY-2026-{i:03d}" for i in range(5)]


# --- Preview --------------------------------------------------------------------------------------


def test_the_preview_counts_what_a_push_would_reach(client: TestClient, ctx: AppContext) -> None:
    import_people(
        ctx,
        [
            *(person(groups=[TargetGroup.UNEMPLOYED]) for _ in range(4)),
            person(groups=[TargetGroup.EMPLOYEE]),
            person(groups=[TargetGroup.UNEMPLOYED], region=OTHER_CITY),
        ],
    )
    document = scheme_document(
        issuance="push", quota=3, eligibility={"target_groups": ["unemployed"]}
    )
    headers = admin(ctx)
    answer = client.post("/api/v1/scheme-previews", json=document, headers=headers)
    assert answer.status_code == 200, answer.json()
    preview = answer.json()
    assert preview == {
        "eligible": 4,
        "reachable": 3,
        "budget_needed_fen": 3 * 150_000,
        "budget_fen": 20_000_000,
        "budget_covers": True,
    }
    # Nothing was written; once created, the push's own count agrees with the preview.
    assert client.get(f"/api/v1/schemes/{HERE}", headers=headers).status_code == 404
    assert audit_trail(ctx, HERE) == []
    assert client.post("/api/v1/schemes", json=document, headers=headers).status_code == 201
    assert eligible_count(ctx, HERE) == preview["eligible"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"region": OTHER_CITY},
        {"region": PROVINCE},
        {"eligibility": {"household_regions": [OTHER_CITY]}},
    ],
)
def test_a_scheme_outside_the_callers_region_is_refused(
    client: TestClient, ctx: AppContext, overrides: dict[str, Any]
) -> None:
    document = scheme_document(**overrides)
    for path in ("/api/v1/scheme-previews", "/api/v1/schemes"):
        answer = client.post(path, json=document, headers=admin(ctx))
        assert (answer.status_code, answer.json()["code"]) == (403, "access_denied"), path
    assert audit_trail(ctx, HERE) == []
    # The province may.
    province = admin(ctx, PROVINCE)
    assert (
        client.post("/api/v1/scheme-previews", json=document, headers=province).status_code == 200
    )


# --- Life cycle -----------------------------------------------------------------------------------


def test_create_launch_pause_close_audited_as_the_caller(
    client: TestClient, ctx: AppContext
) -> None:
    label, headers = signed_in(ctx, Role.CITY_ADMIN)
    created = client.post("/api/v1/schemes", json=scheme_document(), headers=headers)
    assert created.status_code == 201, created.json()
    assert (created.json()["status"], created.json()["launched_at"]) == ("draft", None)

    unfunded = client.post(f"/api/v1/schemes/{HERE}/launch", headers=headers)
    assert (unfunded.status_code, unfunded.json()["code"]) == (409, "insufficient_funds")
    deposit(ctx)
    statuses = []
    for action in ("launch", "pause", "launch", "close"):
        answer = client.post(f"/api/v1/schemes/{HERE}/{action}", headers=headers)
        assert answer.status_code == 200, (action, answer.json())
        statuses.append(answer.json()["status"])
    assert statuses == ["active", "paused", "active", "closed"]
    launched = client.get(f"/api/v1/schemes/{HERE}", headers=headers).json()
    assert launched["available_fen"] == 20_000_000  # the budget was allocated on launch
    assert audit_trail(ctx, HERE) == [
        ("scheme.created", label),
        ("scheme.launched", label),
        ("scheme.paused", label),
        ("scheme.resumed", label),
        ("scheme.closed", label),
    ]


def test_created_and_launched_at_once(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx)
    answer = client.post(
        "/api/v1/schemes", params={"launch": "true"}, json=scheme_document(), headers=admin(ctx)
    )
    assert (answer.status_code, answer.json()["status"]) == (201, "active")


def test_a_launched_scheme_is_topped_up_from_its_fund(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx, amount_fen=25_000_000)
    make_scheme(ctx)  # allocates its 20,000,000 fen budget at launch
    label, headers = signed_in(ctx, Role.CITY_ADMIN)

    topped = client.post(
        f"/api/v1/schemes/{HERE}/allocations", json={"amount_fen": 3_000_000}, headers=headers
    )
    assert topped.status_code == 200, topped.json()
    assert (topped.json()["budget_fen"], topped.json()["available_fen"]) == (23_000_000,) * 2
    listed = client.get("/api/v1/funds", headers=headers).json()["items"]
    funds = {f["region_code"]: f["balances"] for f in listed}
    assert funds[CITY]["fund_available"] == 2_000_000

    short = client.post(
        f"/api/v1/schemes/{HERE}/allocations", json={"amount_fen": 2_000_001}, headers=headers
    )
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_funds")
    shown = client.get(f"/api/v1/schemes/{HERE}", headers=headers).json()
    assert shown["budget_fen"] == 23_000_000  # nothing moved
    assert ("scheme.budget_allocated", label) in audit_trail(ctx, HERE)
    assert ledger_problems(ctx) == []

    elsewhere = client.post(
        f"/api/v1/schemes/{HERE}/allocations",
        json={"amount_fen": 1},
        headers=admin(ctx, OTHER_CITY),
    )
    assert elsewhere.status_code == 404
    for bad in ({"amount_fen": 0}, {"amount_fen": 1.5}, {}, {"amount_fen": 1, "x": 1}):
        answer = client.post(f"/api/v1/schemes/{HERE}/allocations", json=bad, headers=headers)
        assert answer.status_code == 422, bad


def test_illegal_moves_are_409(client: TestClient, ctx: AppContext) -> None:
    headers = admin(ctx)
    make_scheme(ctx, launch=False)
    for action in ("pause", "close"):
        answer = client.post(f"/api/v1/schemes/{HERE}/{action}", headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "illegal_transition"), action
    deposit(ctx)
    client.post(f"/api/v1/schemes/{HERE}/launch", headers=headers)
    assert client.post(f"/api/v1/schemes/{HERE}/close", headers=headers).status_code == 200
    for action in ("launch", "pause", "close"):
        answer = client.post(f"/api/v1/schemes/{HERE}/{action}", headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "illegal_transition"), action
    again = client.post("/api/v1/schemes", json=scheme_document(), headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_exists")


def _without(key: str) -> dict[str, Any]:
    document = scheme_document()
    del document[key]
    return document


@pytest.mark.parametrize(
    "document",
    [
        _without("settlement"),
        scheme_document(quota="many"),
        scheme_document(quota=0),
        scheme_document(quota=10**12),
        scheme_document(budget_fen=10**30),
        scheme_document(face_value={"fixed_fen": 10**20}),
        scheme_document(face_value={"by_level": {"5": 10**20}}),
        scheme_document(face_value={}),
        scheme_document(region="99"),
        scheme_document(code="lower case"),
        scheme_document(colour="blue"),
        scheme_document(settlement={"stages": [{"evidence": "enrolment", "percent": 50}]}),
        scheme_document(eligibility={"min_age": 60, "max_age": 20}),
        scheme_document(eligibility={"household_regions": ["nowhere"]}),
        scheme_document(eligibility={"max_vouchers_per_year": 10**20}),
        scheme_document(courses={"occupations": ["x"] * 5000}),
        scheme_document(type="enterprise", issuance="push"),
        [],
        "a scheme",
    ],
)
def test_malformed_documents_are_422_problems(
    client: TestClient, ctx: AppContext, document: object
) -> None:
    headers = admin(ctx)
    for path in ("/api/v1/scheme-previews", "/api/v1/schemes"):
        answer = client.post(path, json=document, headers=headers)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "request_invalid"
    assert codes_listed(client, headers) == set()


def test_malformed_json_is_a_problem(client: TestClient, ctx: AppContext) -> None:
    answer = client.post(
        "/api/v1/schemes",
        content=b'{"code": ',
        headers={**admin(ctx), "content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_unknown_region_is_404(client: TestClient, ctx: AppContext) -> None:
    # Well-formed, within the province's prefix, but not a region this deployment knows.
    answer = client.post(
        "/api/v1/scheme-previews",
        json=scheme_document(region="149900"),
        headers=admin(ctx, PROVINCE),
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert answer.headers["content-type"] == "application/problem+json"


# --- Who may -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_cities")
def test_roles_without_schemes_are_refused(client: TestClient, ctx: AppContext) -> None:
    holder = person()
    import_people(ctx, [holder])
    institution = import_institution(ctx)
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution_by_code(institution)
        registered = uow.people.by_digest(ctx.digest(holder.resident_id))
        assert found is not None
        assert registered is not None
    callers = {
        "worker": worker_headers(ctx, registered.id),
        "institution": staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=found.id),
        "enterprise": staff_headers(ctx, Role.ENTERPRISE_HR, employer_credit_code=institution),
    }
    document = scheme_document(code="TY-2026-NEW")
    for who, headers in callers.items():
        answers = [
            client.get("/api/v1/schemes", headers=headers),
            client.get(f"/api/v1/schemes/{HERE}", headers=headers),
            client.post("/api/v1/scheme-previews", json=document, headers=headers),
            client.post("/api/v1/schemes", json=document, headers=headers),
            client.post(f"/api/v1/schemes/{HERE}/pause", headers=headers),
        ]
        for answer in answers:
            assert (answer.status_code, answer.json()["code"]) == (403, "access_denied"), who
    # Readers who may not manage: 403 for an in-scope and an out-of-scope scheme alike.
    for reader in (
        staff_headers(ctx, Role.AUDITOR),
        staff_headers(ctx, Role.NATIONAL_STATISTICIAN, region_code=None),
    ):
        for code in (HERE, THERE, "NO-SUCH-SCHEME"):
            answer = client.post(f"/api/v1/schemes/{code}/close", headers=reader)
            assert (answer.status_code, answer.json()["code"]) == (403, "access_denied")
        refused = client.post("/api/v1/schemes", json=document, headers=reader)
        assert refused.status_code == 403
    assert client.get("/api/v1/schemes").status_code == 401
    assert codes_listed(client, admin(ctx, PROVINCE)) == {HERE, THERE}
    assert audit_trail(ctx, "TY-2026-NEW") == []


def test_an_unknown_scheme_code_shape_is_a_problem(client: TestClient, ctx: AppContext) -> None:
    answer = client.get(f"/api/v1/schemes/{uuid.uuid4()}", headers=admin(ctx))
    assert (answer.status_code, answer.json()["code"]) == (422, "request_invalid")
