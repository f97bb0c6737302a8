"""Enrolments through HTTP: a worker or an institution enrols with the holder's consent code,
institutions and administrators cancel within their scope, and lists show only the caller's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import (
    OTHER_CITY,
    TrainingWorld,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from principals import (
    PASSWORD,
    api_key_headers,
    bearer,
    staff_account,
    staff_headers,
    worker_headers,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import grant_consent
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.domain.access import Permission, Role

P = Permission
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Stage:
    world: TrainingWorld
    institution_id: uuid.UUID
    course_id: uuid.UUID
    vouchers: list[uuid.UUID]
    holders: list[uuid.UUID]
    other_institution: str
    other_institution_id: uuid.UUID
    other_course_id: uuid.UUID


def _institution(ctx: AppContext, code: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The institution's id and the id of its course C1."""
    with ctx.unit_of_work() as uow:
        institution = uow.catalogue.institution_by_code(code)
        assert institution is not None
        course = uow.catalogue.course_by_code(institution.id, "C1")
        assert course is not None
        return institution.id, course.id


def _holder(ctx: AppContext, voucher_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return voucher.person_id


@pytest.fixture
def stage(ctx: AppContext) -> Stage:
    world = training_world(ctx, people=3)
    vouchers = [issue(ctx, world.scheme.code, p).voucher_id for p in world.people]
    other = import_institution(ctx, name="太原市另一家培训学校")
    import_course(ctx, other)
    institution_id, course_id = _institution(ctx, world.institution)
    other_id, other_course = _institution(ctx, other)
    return Stage(
        world,
        institution_id,
        course_id,
        vouchers,
        [_holder(ctx, v) for v in vouchers],
        other,
        other_id,
        other_course,
    )


def _audit(ctx: AppContext, voucher_id: uuid.UUID, action: str) -> list[str]:
    """The actors of ``action`` events on the voucher."""
    with ctx.unit_of_work() as uow:
        return [e.actor for e in uow.audit.for_entity("voucher", voucher_id) if e.action == action]


def _key_label(headers: dict[str, str]) -> str:
    prefix = headers["Authorization"].removeprefix("Bearer svk_").split("_")[0]
    return f"key:{prefix}"


def post_enrol(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/api/v1/enrolments",
        json={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in body.items()},
        headers=headers,
    )


def test_a_worker_enrols_their_own_voucher_with_a_consent_code(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    voucher, holder = stage.vouchers[0], stage.holders[0]
    headers = worker_headers(ctx, holder)
    code = grant_consent(ctx, voucher).code

    answer = post_enrol(
        client, headers, voucher_id=voucher, course_id=stage.course_id, consent_code=code
    )

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["voucher_id"] == str(voucher)
    assert (body["status"], body["voucher_status"]) == ("active", "enrolled")
    assert body["course"]["course_id"] == str(stage.course_id)
    assert body["course"]["course_code"] == "C1"
    assert body["institution"]["credit_code"] == stage.world.institution
    assert (body["voucher_pays_fen"], body["holder_pays_fen"]) == (150_000, 10_000)
    assert datetime.fromisoformat(body["enrolled_at"]).utcoffset() is not None
    assert "*" in body["holder_id_masked"]
    assert _audit(ctx, voucher, "voucher.enrolled") == [f"worker:{holder}"]

    again = post_enrol(
        client, headers, voucher_id=voucher, course_id=stage.course_id, consent_code=code
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_enrolled")
    assert again.headers["content-type"] == PROBLEM_JSON


def test_a_wrong_consent_code_is_403_and_changes_nothing(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    voucher = stage.vouchers[0]
    real = grant_consent(ctx, voucher).code
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    answer = post_enrol(
        client,
        worker_headers(ctx, stage.holders[0]),
        voucher_id=voucher,
        course_id=stage.course_id,
        consent_code=wrong,
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "consent_invalid")
    assert _audit(ctx, voucher, "voucher.enrolled") == []
    with ctx.unit_of_work() as uow:
        assert uow.vouchers.active_enrolment(voucher) is None


def test_a_worker_cannot_enrol_someone_elses_voucher(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    someone_else = stage.vouchers[1]
    code = grant_consent(ctx, someone_else).code
    headers = worker_headers(ctx, stage.holders[0])
    hidden = post_enrol(
        client, headers, voucher_id=someone_else, course_id=stage.course_id, consent_code=code
    )
    missing_id = uuid.uuid4()
    missing = post_enrol(
        client, headers, voucher_id=missing_id, course_id=stage.course_id, consent_code=code
    )
    assert hidden.status_code == missing.status_code == 404
    # Word for word as for a voucher that does not exist, but for the id itself.
    assert hidden.json()["detail"] == missing.json()["detail"].replace(
        str(missing_id), str(someone_else)
    )


def test_an_institution_key_enrols_a_consenting_holder_on_its_own_course(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    voucher = stage.vouchers[0]
    headers = api_key_headers(
        ctx, Role.INSTITUTION_STAFF, [P.ENROLMENT_CREATE], institution_id=stage.institution_id
    )
    code = grant_consent(ctx, voucher).code

    # Its own institution is understood when only the course code is given.
    answer = post_enrol(client, headers, voucher_id=voucher, course_code="C1", consent_code=code)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["institution"]["credit_code"] == stage.world.institution
    assert _audit(ctx, voucher, "voucher.enrolled") == [_key_label(headers)]


def test_another_institution_cannot_enrol_on_a_course_not_its_own(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    voucher = stage.vouchers[0]
    headers = staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=stage.other_institution_id)
    code = grant_consent(ctx, voucher).code
    by_id = post_enrol(
        client, headers, voucher_id=voucher, course_id=stage.course_id, consent_code=code
    )
    by_code = post_enrol(
        client,
        headers,
        voucher_id=voucher,
        institution_code=stage.world.institution,
        course_code="C1",
        consent_code=code,
    )
    unknown = post_enrol(
        client,
        headers,
        voucher_id=voucher,
        institution_code=stage.world.institution,
        course_code="NOPE",
        consent_code=code,
    )
    assert by_id.status_code == by_code.status_code == unknown.status_code == 404
    assert by_code.json()["detail"] == unknown.json()["detail"].replace("NOPE", "C1")
    assert _audit(ctx, voucher, "voucher.enrolled") == []
    # Its own course still works with the same code: nothing was spent.
    own = post_enrol(
        client, headers, voucher_id=voucher, course_id=stage.other_course_id, consent_code=code
    )
    assert own.status_code == 201, own.json()


def test_roles_without_enrolment_create_are_403_and_strangers_401(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    voucher = stage.vouchers[0]
    code = grant_consent(ctx, voucher).code
    body = {"voucher_id": voucher, "course_id": stage.course_id, "consent_code": code}
    admin = post_enrol(client, staff_headers(ctx, Role.CITY_ADMIN), **body)
    assert (admin.status_code, admin.json()["code"]) == (403, "access_denied")
    nobody = post_enrol(client, {}, **body)
    assert (nobody.status_code, nobody.json()["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize(
    "change",
    [
        {"course_code": "C1"},  # both ways of naming the course
        {"course_id": None},  # neither
        {"unexpected": 1},
        {"consent_code": ""},
        {"consent_code": "1" * 50},
        {"voucher_id": "not-a-uuid"},
        {"institution_code": "short", "course_id": None, "course_code": "C1"},
    ],
)
def test_malformed_enrolments_are_422_problems(
    client: TestClient, ctx: AppContext, stage: Stage, change: dict[str, Any]
) -> None:
    body: dict[str, Any] = {
        "voucher_id": str(stage.vouchers[0]),
        "course_id": str(stage.course_id),
        "consent_code": "123456",
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    answer = client.post(
        "/api/v1/enrolments", json=body, headers=worker_headers(ctx, stage.holders[0])
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "request_invalid"
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_a_worker_must_name_the_institution_with_a_course_code(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    answer = post_enrol(
        client,
        worker_headers(ctx, stage.holders[0]),
        voucher_id=stage.vouchers[0],
        course_code="C1",
        consent_code="123456",
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")


# --- Cancelling ----------------------------------------------------------------------------------


def cancel(client: TestClient, headers: dict[str, str], enrolment_id: object) -> Any:
    return client.post(
        f"/api/v1/enrolments/{enrolment_id}/cancel", json={"reason": "改期"}, headers=headers
    )


def test_a_city_admin_cancels_only_within_their_city(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    enrolment_id = enrol(ctx, stage.vouchers[0], stage.world.institution).enrolment_id
    elsewhere = cancel(
        client, staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY), enrolment_id
    )
    missing = cancel(client, staff_headers(ctx, Role.CITY_ADMIN), uuid.uuid4())
    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.json()["code"] == "not_found"
    assert _audit(ctx, stage.vouchers[0], "voucher.enrolment_cancelled") == []

    username = staff_account(ctx, Role.CITY_ADMIN)
    headers = bearer(sign_in_staff(ctx, username, PASSWORD).token)
    answer = cancel(client, headers, enrolment_id)
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["status"], answer.json()["voucher_status"]) == ("cancelled", "issued")
    assert answer.json()["ended_at"] is not None
    assert _audit(ctx, stage.vouchers[0], "voucher.enrolment_cancelled") == [f"staff:{username}"]
    twice = cancel(client, headers, enrolment_id)
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")


def test_an_institution_cancels_its_own_enrolments_only(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    enrolment_id = enrol(ctx, stage.vouchers[0], stage.world.institution).enrolment_id
    other = staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=stage.other_institution_id)
    assert cancel(client, other, enrolment_id).status_code == 404
    worker = worker_headers(ctx, stage.holders[0])
    assert cancel(client, worker, enrolment_id).json()["code"] == "access_denied"
    own = staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=stage.institution_id)
    assert cancel(client, own, enrolment_id).status_code == 200


# --- Listing -------------------------------------------------------------------------------------


def listing(client: TestClient, headers: dict[str, str], **query: Any) -> list[str]:
    answer = client.get("/api/v1/enrolments", params=query, headers=headers)
    assert answer.status_code == 200, answer.json()
    return [item["enrolment_id"] for item in answer.json()["items"]]


def test_lists_show_only_the_callers_enrolments(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    first = str(enrol(ctx, stage.vouchers[0], stage.world.institution).enrolment_id)
    second = str(enrol(ctx, stage.vouchers[1], stage.other_institution).enrolment_id)
    # A voucher of another city, trained by the Taiyuan institution (same province).
    datong = person(region=OTHER_CITY, name="大同学员")
    import_people(ctx, [datong])
    deposit(ctx, region=OTHER_CITY)
    scheme = make_scheme(ctx, code="DT-2026-IND", region=OTHER_CITY)
    third = str(
        enrol(ctx, issue(ctx, scheme.code, datong).voucher_id, stage.world.institution).enrolment_id
    )

    assert listing(client, worker_headers(ctx, stage.holders[0])) == [first]
    assert listing(client, worker_headers(ctx, stage.holders[2])) == []
    own = staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=stage.institution_id)
    assert listing(client, own) == [first, third]
    other = api_key_headers(
        ctx, Role.INSTITUTION_STAFF, [P.ENROLMENT_READ], institution_id=stage.other_institution_id
    )
    assert listing(client, other) == [second]
    assert listing(client, staff_headers(ctx, Role.CITY_ADMIN)) == [first, second]
    assert listing(client, staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)) == [third]
    assert listing(client, staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")) == [
        first,
        second,
        third,
    ]


def test_lists_filter_and_page(client: TestClient, ctx: AppContext, stage: Stage) -> None:
    ids = [str(enrol(ctx, v, stage.world.institution).enrolment_id) for v in stage.vouchers]
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    cancel(client, admin, ids[1])
    assert listing(client, admin, status="active") == [ids[0], ids[2]]
    assert listing(client, admin, status="cancelled") == [ids[1]]
    assert listing(client, admin, course_id=str(stage.other_course_id)) == []

    seen: list[str] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/enrolments", params=query, headers=admin).json()
        seen += [item["enrolment_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    for bad in ({"cursor": "nope"}, {"limit": 0}, {"limit": 201}, {"status": "done"}):
        answer = client.get("/api/v1/enrolments", params=bad, headers=admin)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == PROBLEM_JSON
